//! Logs: one JSON object per line on stdout.
//!
//! The Functions host ships a custom handler's stdout to Application Insights line by line
//! (docs/protocol.md §8.12), so every event is one self-describing JSON line carrying the span's
//! invocation id and taskProcessingResult id. Tokens and signatures are never logged; UPNs and
//! e-mail addresses only at debug level.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber with `filter` (env-filter syntax). An invalid filter falls
/// back to `info` and says so, rather than starting without logs.
pub fn init_json(filter: &str) {
    let (filter, problem) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e.to_string())),
    };
    let _ = tracing_subscriber::fmt()
        .json()
        .with_ansi(false)
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(std::io::stdout)
        .try_init();
    if let Some(problem) = problem {
        tracing::warn!(setting = crate::settings::LCW_LOG, %problem, "invalid log filter; using info");
    }
}

/// Human-readable logs on stderr, for interactive commands such as `demo` and `check`.
/// Colours only on a terminal: in a file or a CI log, escape codes are noise.
pub fn init_human(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
