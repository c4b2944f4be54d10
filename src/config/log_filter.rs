//! `LCW_LOG`: a `tracing` env-filter, checked before anything is logged.
//!
//! The env-filter syntax reads a bare word as a *target*: `LCW_LOG=verbose` is valid to the
//! parser and means "only events from a module called `verbose`", so the handler starts and
//! logs nothing at all — not even the warnings meant to protect it. A bare word must therefore
//! be a level; a target needs `target=level`. The rest of the syntax is left to the parser
//! itself, so nothing it accepts is refused here.

use std::str::FromStr;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use super::ConfigError;
use super::closest::closest;
use crate::settings::LCW_LOG;

/// The default filter.
pub const DEFAULT_LOG_FILTER: &str = "info";

const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];

/// Checks a filter as `LCW_LOG` would use it, naming the setting when it is unusable.
pub fn log_filter(text: &str) -> Result<String, ConfigError> {
    let invalid = |problem: String| ConfigError::Invalid {
        setting: LCW_LOG,
        value: text.to_owned(),
        problem,
    };
    for directive in text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let names_a_target = directive.contains('=') || directive.contains('[');
        if !names_a_target && LevelFilter::from_str(directive).is_err() {
            let hint = match closest(directive, LEVELS) {
                Some(level) => format!("did you mean {level}? "),
                None => String::new(),
            };
            return Err(invalid(format!(
                "`{directive}` is not a level; {hint}use one of {} (e.g. info), or target=level for one module (e.g. lcw_handler=debug,info)",
                LEVELS.join(", ")
            )));
        }
    }
    EnvFilter::builder().parse(text).map_err(|e| {
        invalid(format!(
            "not a log filter ({e}); e.g. info, or lcw_handler=debug,info"
        ))
    })?;
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_directives_pass() {
        for ok in [
            "info",
            "DEBUG",
            "warn,lcw_handler=debug",
            "lcw_handler::auth=trace",
            "off",
        ] {
            assert_eq!(log_filter(ok).as_deref(), Ok(ok));
        }
    }

    #[test]
    fn a_word_that_is_not_a_level_is_refused_with_the_levels() {
        let err = log_filter("verbose").unwrap_err().to_string();
        assert!(err.contains("LCW_LOG") && err.contains("verbose"), "{err}");
        assert!(
            err.contains("trace") && err.contains("target=level"),
            "{err}"
        );
        let err = log_filter("inf").unwrap_err().to_string();
        assert!(err.contains("did you mean info?"), "{err}");
    }

    #[test]
    fn a_directive_the_parser_refuses_is_refused() {
        let err = log_filter("lcw_handler=loud").unwrap_err().to_string();
        assert!(err.contains("LCW_LOG"), "{err}");
    }
}
