//! The Graph `resume` call that tells Lifecycle Workflows how a task ended (docs/protocol.md §5).
//!
//! It owns the URL, the body, and the classification of Graph's answers into "done", "retry"
//! and "give up". It does not know how the token is obtained: it is handed a [`GraphClient`].
//!
//! Two answers need more than a retry. A `401` means Graph no longer takes the token: the
//! first one in a resume renews it (the next request fetches a fresh token) and retries at
//! once; later ones back off like an outage, so a persistent `401` ends the invocation without
//! deleting the task. A `403` is retried with backoff until the stop instant (the identity is
//! most likely still propagating into `authorizedApps`) and then reported as
//! [`ResumeError::Forbidden`], which the pipeline hands back to the queue, never drops.

mod outcome;
mod request;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use tracing::{info, warn};

use crate::callout::Callout;
use crate::graph::GraphClient;
use crate::retry::{GaveUp, RetryPolicy, Try, retry};
use crate::token_source::Generation;

pub use outcome::{GraphFailure, ResumeError, ResumeReport};
pub use request::{OperationStatus, RESUME_SOURCE, resume_body, resume_url};

/// A resume Graph accepted, as [`Resumer::post`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// Requests sent, the successful one included.
    pub tries: u32,
    /// Graph's success status.
    pub http_status: u16,
    /// Graph's `request-id`, when it sent one.
    pub request_id: Option<String>,
}

/// Sends resumes through Graph with the project's retry policy.
#[derive(Debug, Clone)]
pub struct Resumer {
    graph: GraphClient,
    policy: RetryPolicy,
}

impl Resumer {
    /// A resumer using `graph` for URL and token.
    pub fn new(graph: GraphClient) -> Resumer {
        Resumer {
            graph,
            policy: RetryPolicy::default(),
        }
    }

    /// Uses another backoff shape (tests and benchmarks).
    pub fn with_policy(mut self, policy: RetryPolicy) -> Resumer {
        self.policy = policy;
        self
    }

    /// Resumes the task of `callout` with `status`, retrying throttling and outages until
    /// `stop_at`, which also bounds the wait for a token. A rejection (a 4xx other than 401,
    /// 403, 408 and 429) is not retried.
    pub async fn resume(
        &self,
        callout: &Callout,
        status: OperationStatus,
        stop_at: Instant,
    ) -> Result<ResumeReport, ResumeError> {
        let url = resume_url(self.graph.base_url(), self.graph.version(), callout);
        let body = resume_body(status);
        let started = Instant::now();
        let posted = self.post(&url, &body, stop_at).await?;
        let report = ResumeReport {
            status,
            tries: posted.tries,
            elapsed: started.elapsed(),
            http_status: posted.http_status,
            request_id: posted.request_id,
        };
        info!(
            operation_status = status.as_str(),
            tries = report.tries,
            "resumed"
        );
        Ok(report)
    }

    /// POSTs `body` to the resume `url` with the same rules as [`resume`](Self::resume) — the
    /// retry policy until `stop_at`, one token renewal after a `401`, `403` retried then
    /// reported as [`ResumeError::Forbidden`]. The Entitlement Management resume goes through
    /// here too.
    pub async fn post(
        &self,
        url: &str,
        body: &serde_json::Value,
        stop_at: Instant,
    ) -> Result<Posted, ResumeError> {
        let renewed = AtomicBool::new(false);
        let result = retry(self.policy, stop_at, |attempt| {
            let renewed = &renewed;
            async move {
                match self.send_once(url, body, stop_at).await {
                    (Try::Done(answer), _) => Try::Done((attempt, answer)),
                    (Try::Transient { error, .. }, Some(token))
                        if error.status == Some(401) && !renewed.swap(true, Ordering::Relaxed) =>
                    {
                        let renewing = self.graph.token_refused(token);
                        warn!(attempt, %error, renewing, "Graph refused the token; retrying at once with a fresh one");
                        Try::Transient {
                            error,
                            retry_after: Some(Duration::ZERO),
                        }
                    }
                    (Try::Transient { error, retry_after }, _) => {
                        warn!(attempt, %error, retry_after_secs = retry_after.map(|d| d.as_secs()), "resume failed, will retry if time allows");
                        Try::Transient { error, retry_after }
                    }
                    (Try::Permanent(error), _) => Try::Permanent(error),
                }
            }
        })
        .await;
        match result {
            Ok((tries, (http_status, request_id))) => Ok(Posted {
                tries,
                http_status,
                request_id,
            }),
            Err(GaveUp::Permanent(failure)) => Err(ResumeError::Rejected(failure)),
            Err(GaveUp::OutOfTime { last, tries }) => Err(ResumeError::out_of_time(last, tries)),
        }
    }

    /// One POST, classified, with the generation of the token it carried (none when no token
    /// could be had by `stop_at`).
    async fn send_once(
        &self,
        url: &str,
        body: &serde_json::Value,
        stop_at: Instant,
    ) -> (Try<(u16, Option<String>), GraphFailure>, Option<Generation>) {
        let authorized = match self
            .graph
            .authorized(reqwest::Method::POST, url, stop_at)
            .await
        {
            Ok(authorized) => authorized,
            Err(e) => {
                let error = GraphFailure::transport(e.to_string());
                return (
                    Try::Transient {
                        error,
                        retry_after: None,
                    },
                    None,
                );
            }
        };
        let answer = match authorized.request.json(body).send().await {
            Ok(response) => outcome::classify(response).await,
            Err(e) => Try::Transient {
                error: GraphFailure::transport(without_url(e)),
                retry_after: None,
            },
        };
        (answer, Some(authorized.token))
    }
}

/// reqwest errors print the URL; ours carry only ids, but keep messages short and uniform.
fn without_url(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    format!("{kind}: {}", error.without_url())
}
