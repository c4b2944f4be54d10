//! Logs: one JSON object per line on stdout.
//!
//! The Functions host ships a custom handler's stdout to Application Insights line by line
//! (docs/protocol.md §8.12), so every event is one self-describing JSON line carrying the span's
//! invocation id and taskProcessingResult id. Tokens and signatures are never logged; UPNs and
//! e-mail addresses only at debug level.
//!
//! The lines are written by a thread of their own (`tracing_appender::non_blocking`): a callout
//! is acknowledged without waiting for stdout, which the host reads at its own pace. Each line
//! is formatted whole before it is queued, so lines never interleave. The queue never drops a
//! line (it blocks the logger when full, which at 128,000 queued lines means stdout has stopped
//! being read), and [`LogGuard`] writes out what is queued when the process stops.

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Keeps the log writer thread running. Dropping it writes every line still queued (waiting up
/// to a second) and stops the thread: hold it until nothing more will be logged.
#[must_use = "dropping the guard stops the log writer; hold it until the process ends"]
pub struct LogGuard {
    _writer: WorkerGuard,
}

/// Installs the JSON subscriber with `filter` (env-filter syntax). An invalid filter falls
/// back to `info` and says so, rather than starting without logs.
pub fn init_json(filter: &str) -> LogGuard {
    let (filter, problem) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e.to_string())),
    };
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("lcw-log")
        .finish(std::io::stdout());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_ansi(false)
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer)
        .try_init();
    if let Some(problem) = problem {
        tracing::warn!(setting = crate::settings::LCW_LOG, %problem, "invalid log filter; using info");
    }
    LogGuard { _writer: guard }
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
