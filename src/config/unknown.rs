//! `LCW_*` variables the handler does not read.
//!
//! A misspelt setting (`LCW_WEBHOOK_TIMEOUT_SECOND`) is otherwise ignored without a word and
//! its default silently applies. It is not an error, because a newer setting left in an app's
//! configuration must not stop an older binary from starting; it is a warning, at start-up and
//! in `check`, naming the closest setting we do know.

use std::fmt;

use super::closest::closest;
use crate::settings::KNOWN;

/// The prefix of every setting this handler owns; other variables are none of our business.
const PREFIX: &str = "LCW_";

/// An `LCW_*` variable that no setting of this handler has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSetting {
    /// The variable's name, as set.
    pub name: String,
    /// The known setting it most likely meant.
    pub suggestion: Option<&'static str>,
}

impl fmt::Display for UnknownSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not a setting of lcw-handler and is ignored",
            self.name
        )?;
        match self.suggestion {
            Some(known) => write!(f, "; did you mean {known}?"),
            None => Ok(()),
        }
    }
}

/// The `LCW_*` names among `names` that [`KNOWN`] does not list, sorted.
pub fn unknown_settings(names: impl IntoIterator<Item = String>) -> Vec<UnknownSetting> {
    let mut unknown: Vec<UnknownSetting> = names
        .into_iter()
        .filter(|name| name.to_ascii_uppercase().starts_with(PREFIX))
        .filter(|name| !KNOWN.contains(&name.as_str()))
        .map(|name| UnknownSetting {
            suggestion: closest(&name, KNOWN),
            name,
        })
        .collect();
    unknown.sort_by(|a, b| a.name.cmp(&b.name));
    unknown
}

/// [`unknown_settings`] of the process environment.
pub fn unknown_settings_in_env() -> Vec<UnknownSetting> {
    unknown_settings(std::env::vars_os().filter_map(|(name, _)| name.into_string().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn a_misspelt_setting_is_reported_with_the_closest_known_name() {
        let found = unknown_settings(names(&[
            "LCW_WEBHOOK_TIMEOUT_SECOND",
            "LCW_TASK",
            "PATH",
            "LCW_COMPLETELY_DIFFERENT_THING",
        ]));
        assert_eq!(
            found,
            [
                UnknownSetting {
                    name: "LCW_COMPLETELY_DIFFERENT_THING".to_owned(),
                    suggestion: None,
                },
                UnknownSetting {
                    name: "LCW_WEBHOOK_TIMEOUT_SECOND".to_owned(),
                    suggestion: Some("LCW_WEBHOOK_TIMEOUT_SECONDS"),
                },
            ]
        );
        assert_eq!(
            found[1].to_string(),
            "LCW_WEBHOOK_TIMEOUT_SECOND is not a setting of lcw-handler and is ignored; did you mean LCW_WEBHOOK_TIMEOUT_SECONDS?"
        );
    }

    #[test]
    fn a_lower_case_spelling_is_caught_too() {
        let found = unknown_settings(names(&["lcw_log"]));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].suggestion, Some("LCW_LOG"));
    }

    #[test]
    fn every_known_setting_passes() {
        let all: Vec<String> = KNOWN.iter().map(|n| (*n).to_owned()).collect();
        assert!(unknown_settings(all).is_empty());
    }
}
