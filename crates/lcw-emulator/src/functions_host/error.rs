//! Errors of the Functions host emulator itself (configuration, process, emulator faults).
//!
//! A *failed invocation* is not one of these: the real host answers the public caller `500`
//! and retries queue messages, and the emulator does the same and records the failure in an
//! [`InvocationRecord`](super::InvocationRecord). These errors are for what would stop a real
//! host from starting or serving at all.

use std::path::PathBuf;
use std::time::Duration;

/// Why the host emulator could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A configuration file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A configuration file is not valid JSON.
    #[error("{} is not valid JSON: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A configuration key is missing or has an unusable value.
    #[error("{}: `{key}` {reason}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// The key, dotted (`customHandler.description.defaultExecutablePath`).
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `enableForwardingHttpRequest`/`enableProxyingHttpRequest` applies to a function; the
    /// emulator only speaks the JSON protocol.
    #[error(
        "function `{function}` qualifies for HTTP forwarding/proxying (host.json `customHandler.{setting}`), which is not emulated; this emulator speaks the JSON protocol only"
    )]
    ForwardingNotEmulated {
        /// The function.
        function: String,
        /// The host.json setting that enabled it.
        setting: String,
    },
    /// The handler executable could not be spawned.
    #[error("cannot start custom handler {}: {source}", executable.display())]
    Spawn {
        /// The executable.
        executable: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The handler did not answer `GET /` within the readiness timeout.
    #[error(
        "custom handler did not answer GET / within {timeout:?}; last stderr lines: {stderr_tail:?}"
    )]
    ReadinessTimeout {
        /// The readiness timeout.
        timeout: Duration,
        /// The last (at most 3) stderr lines.
        stderr_tail: Vec<String>,
    },
    /// The handler exited before it became ready.
    #[error(
        "custom handler exited with {status} before it was ready; last stderr lines: {stderr_tail:?}"
    )]
    ExitedBeforeReady {
        /// The exit status, as text.
        status: String,
        /// The last (at most 3) stderr lines.
        stderr_tail: Vec<String>,
    },
    /// The host is no longer serving (stopped, or shut down after repeated handler errors).
    #[error("the Functions host is not running: {reason}")]
    NotRunning {
        /// Why.
        reason: String,
    },
    /// A public request could not be understood (e.g. an invalid method or path).
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// Why.
        reason: String,
    },
    /// A Storage queue operation failed (queues on a Storage account only).
    #[error("Storage queue operation failed: {reason}")]
    Queue {
        /// What failed, naming the queue and the operation.
        reason: String,
    },
    /// [`FunctionsHost::wait_until_idle`](super::FunctionsHost::wait_until_idle) timed out.
    #[error("the Functions host was not idle after {timeout:?}: {pending}")]
    NotIdle {
        /// The timeout.
        timeout: Duration,
        /// What was still pending.
        pending: String,
    },
}
