//! What Graph answered, classified once: done, transient, or rejected.

use std::fmt;
use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde::Deserialize;

use super::OperationStatus;
use crate::retry::{Try, parse_retry_after};

/// A resume that reached Graph and was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeReport {
    /// What was reported.
    pub status: OperationStatus,
    /// Requests sent, the successful one included.
    pub tries: u32,
    /// Time from the first request to the answer.
    pub elapsed: Duration,
    /// The HTTP status Graph accepted the resume with.
    pub http_status: u16,
    /// Graph's `request-id` header on the accepted request, for a support case.
    pub request_id: Option<String>,
}

/// One failed resume request, as far as it is safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphFailure {
    /// HTTP status, or `None` when no answer came.
    pub status: Option<u16>,
    /// Graph's `error.code`, when it sent one.
    pub code: Option<String>,
    /// Graph's `request-id` header, for a support case.
    pub request_id: Option<String>,
    /// Graph's `error.message`, or the transport error.
    pub message: String,
}

impl GraphFailure {
    pub(super) fn transport(message: String) -> GraphFailure {
        GraphFailure {
            status: None,
            code: None,
            request_id: None,
            message,
        }
    }
}

impl fmt::Display for GraphFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "HTTP {status}")?,
            None => write!(f, "no answer")?,
        }
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if self.message.trim().is_empty() {
            write!(f, ": (Graph sent no message)")?;
        } else {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request-id {id})")?;
        }
        Ok(())
    }
}

/// Why a resume did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    /// Graph refused the request; retrying the same request cannot help.
    #[error("Graph rejected the resume: {0}")]
    Rejected(GraphFailure),
    /// Throttling or outage outlasted the time this invocation may spend.
    #[error("resume not delivered after {tries} tries: {last}")]
    OutOfTime {
        /// The last failure.
        last: GraphFailure,
        /// Requests sent.
        tries: u32,
    },
    /// Graph answered `403` until the time this invocation may spend ran out. Most likely the
    /// managed identity is not (yet) in the extension's `callbackConfiguration.authorizedApps`:
    /// it takes a while to propagate after registration (docs/protocol.md §5.4), so the task is
    /// handed back to the queue, not dropped.
    #[error("Graph refused the resume with 403 Forbidden, {tries} tries: {last}")]
    Forbidden {
        /// The last failure.
        last: GraphFailure,
        /// Requests sent.
        tries: u32,
    },
}

impl ResumeError {
    /// How the retry loop's verdict reads for the caller: running out of time while Graph
    /// answered `403` is a permission problem, not an outage.
    pub(super) fn out_of_time(last: GraphFailure, tries: u32) -> ResumeError {
        if last.status == Some(StatusCode::FORBIDDEN.as_u16()) {
            ResumeError::Forbidden { last, tries }
        } else {
            ResumeError::OutOfTime { last, tries }
        }
    }
}

#[derive(Deserialize)]
struct ODataError {
    error: ODataErrorBody,
}

#[derive(Deserialize)]
struct ODataErrorBody {
    code: Option<String>,
    message: Option<String>,
}

/// 2xx is done; 429, 5xx and 408 are transient; so are 401 (the token is renewed first, see
/// [`super::Resumer`]) and 403 (`authorizedApps` propagating); every other status is a
/// rejection. Done carries the status and Graph's `request-id`.
pub(super) async fn classify(response: Response) -> Try<(u16, Option<String>), GraphFailure> {
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if status.is_success() {
        return Try::Done((status.as_u16(), header("request-id")));
    }
    let retry_after = parse_retry_after(header("retry-after").as_deref());
    let request_id = header("request-id");
    let body = response.bytes().await.unwrap_or_default();
    let (code, message) = match serde_json::from_slice::<ODataError>(&body) {
        Ok(e) => (e.error.code, e.error.message.unwrap_or_default()),
        Err(_) => (None, status.canonical_reason().unwrap_or("").to_owned()),
    };
    let failure = GraphFailure {
        status: Some(status.as_u16()),
        code,
        request_id,
        message,
    };
    if status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::UNAUTHORIZED
        || status == StatusCode::FORBIDDEN
        || status.is_server_error()
    {
        Try::Transient {
            error: failure,
            retry_after,
        }
    } else {
        Try::Permanent(failure)
    }
}
