//! What the Graph fake observed ([`RecordedResume`]) and what a test or demo told it to answer
//! ([`ScriptedResponse`]).
//!
//! Recording *every* request, rejected ones included, is what lets a test assert on the
//! handler's retry behaviour (a 429 followed by a 204 is two records).

use std::time::{Duration, SystemTime};

/// One resume request as received by the Graph fake.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedResume {
    /// `v1.0` or `beta`, as in the URL.
    pub api_version: String,
    /// Workflow id from the URL.
    pub workflow_id: String,
    /// Task id from the URL.
    pub task_id: String,
    /// Task processing result id from the URL.
    pub task_processing_result_id: String,
    /// `data.operationStatus` as sent, if the body had one.
    pub operation_status: Option<String>,
    /// The request body (`Null` if it was not JSON).
    pub body: serde_json::Value,
    /// Whether the bearer token was one the identity endpoint issued for Graph and unexpired.
    pub authorized: bool,
    /// The status code the fake answered.
    pub status: u16,
    /// When the request arrived.
    pub received_at: SystemTime,
}

/// A scripted answer for one resume call of one task processing result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedResponse {
    /// Status to answer. A `2xx` status means "behave normally" (validate, record, `204`).
    pub status: u16,
    /// `Retry-After` header value, in seconds.
    pub retry_after_secs: Option<u64>,
    /// Delay before answering.
    pub delay: Duration,
}

impl ScriptedResponse {
    /// Answer with `status` (an OData error body for non-2xx) at once.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            retry_after_secs: None,
            delay: Duration::ZERO,
        }
    }

    /// Answer `429 Too Many Requests` with `Retry-After: retry_after_secs`.
    pub fn throttled(retry_after_secs: u64) -> Self {
        Self {
            status: 429,
            retry_after_secs: Some(retry_after_secs),
            delay: Duration::ZERO,
        }
    }

    /// Wait `delay`, then behave normally (`204` for a valid first resume).
    pub fn slow(delay: Duration) -> Self {
        Self {
            status: 204,
            retry_after_secs: None,
            delay,
        }
    }

    /// Whether this entry defers to the fake's normal behaviour.
    pub(crate) fn is_normal(&self) -> bool {
        (200..300).contains(&self.status)
    }
}
