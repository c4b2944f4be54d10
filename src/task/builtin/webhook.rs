//! `LCW_TASK=webhook`: hand each task to another system over HTTP.
//!
//! The task is POSTed as JSON; the answer decides the outcome: 2xx → `completed`, 4xx →
//! `failed` (the receiver refused it; retrying the same request cannot help), 5xx, 408, 429,
//! timeouts and connection errors → retried with the shared policy until the invocation's
//! retry window or the deadline, then handed back to the queue.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{StatusCode, Url};
use serde_json::json;

use crate::retry::{GaveUp, RetryPolicy, Try, parse_retry_after, retry};
use crate::task::{Outcome, Task, TaskContext, TaskError};

/// Header carrying the idempotency key, so the receiver can drop a repeat.
pub const IDEMPOTENCY_HEADER: &str = "x-lcw-task-processing-result-id";

/// POSTs each task to a URL.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub(super) url: Url,
    pub(super) timeout: Duration,
    pub(super) policy: RetryPolicy,
}

impl Webhook {
    /// A webhook task posting to `url`, each request bounded by `timeout`.
    pub fn new(url: Url, timeout: Duration) -> Webhook {
        Webhook {
            url,
            timeout,
            policy: RetryPolicy::default(),
        }
    }

    async fn post_once(&self, ctx: &TaskContext, body: &serde_json::Value) -> Try<Outcome, String> {
        let key = &ctx.task_processing_result().id;
        match self.post(IDEMPOTENCY_HEADER, key, body).await {
            Answer::Accepted(_) => Try::Done(Outcome::Completed),
            Answer::Refused(status) => Try::Done(Outcome::failed(format!(
                "webhook refused the task: {status}"
            ))),
            Answer::Transient { error, retry_after } => Try::Transient { error, retry_after },
        }
    }

    /// POSTs `body` once, with `key` in the idempotency header `key_header`, and sorts the
    /// answer the way both kinds of task read it.
    pub(super) async fn post(
        &self,
        key_header: &'static str,
        key: &str,
        body: &serde_json::Value,
    ) -> Answer {
        let sent = crate::http_client::shared()
            .post(self.url.clone())
            .timeout(self.timeout)
            .header(key_header, key)
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                return Answer::Transient {
                    error: format!("webhook unreachable: {}", e.without_url()),
                    retry_after: None,
                };
            }
        };
        let status = response.status();
        if status.is_success() {
            // An unreadable body reads as empty: for LCW it is ignored, for EM it means "continue".
            Answer::Accepted(
                response
                    .bytes()
                    .await
                    .map(|b| b.to_vec())
                    .unwrap_or_default(),
            )
        } else if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            let retry_after = parse_retry_after(
                response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()),
            );
            Answer::Transient {
                error: format!("webhook answered {status}"),
                retry_after,
            }
        } else {
            Answer::Refused(status)
        }
    }
}

/// How the receiver answered one POST.
pub(super) enum Answer {
    /// 2xx, with the body it sent.
    Accepted(Vec<u8>),
    /// Another 4xx: the receiver refused; the same request cannot succeed later.
    Refused(StatusCode),
    /// 5xx, 408, 429, or no answer: worth retrying, after `retry_after` if it said so.
    Transient {
        error: String,
        retry_after: Option<Duration>,
    },
}

#[async_trait]
impl Task for Webhook {
    async fn run(&self, ctx: TaskContext) -> Result<Outcome, TaskError> {
        let body = json!({
            "taskProcessingResultId": ctx.task_processing_result().id,
            "attempt": ctx.attempt(),
            "maxAttempts": ctx.max_attempts(),
            "deadline": ctx.deadline().format(&time::format_description::well_known::Rfc3339).ok(),
            "callout": ctx.raw_callout(),
        });
        match retry(self.policy, ctx.retry_until(), |_| {
            self.post_once(&ctx, &body)
        })
        .await
        {
            Ok(outcome) => Ok(outcome),
            Err(GaveUp::Permanent(reason)) => Ok(Outcome::failed(reason)),
            Err(GaveUp::OutOfTime { last, tries }) => {
                Err(TaskError::new(format!("{last} (after {tries} tries)")))
            }
        }
    }

    fn name(&self) -> &str {
        "webhook"
    }
}
