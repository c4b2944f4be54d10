//! The Graph `resume` call that tells Lifecycle Workflows how a task ended (docs/protocol.md §5).
//!
//! It owns the URL, the body, and the classification of Graph's answers into "done", "retry"
//! and "give up". It does not know how the token is obtained: it is handed a [`GraphClient`].

mod outcome;
mod request;

use tokio::time::Instant;
use tracing::{info, warn};

use crate::callout::Callout;
use crate::graph::GraphClient;
use crate::retry::{GaveUp, RetryPolicy, Try, retry};

pub use outcome::{GraphFailure, ResumeError, ResumeReport};
pub use request::{OperationStatus, resume_body, resume_url};

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
    /// `stop_at`. A rejection (a 4xx other than 429) is not retried.
    pub async fn resume(
        &self,
        callout: &Callout,
        status: OperationStatus,
        stop_at: Instant,
    ) -> Result<ResumeReport, ResumeError> {
        let url = resume_url(self.graph.base_url(), self.graph.version(), callout);
        let body = resume_body(status);
        let started = Instant::now();
        let result = retry(self.policy, stop_at, |attempt| {
            let url = &url;
            let body = &body;
            async move {
                match self.send_once(url, body).await {
                    Try::Done(()) => Try::Done(attempt),
                    Try::Transient { error, retry_after } => {
                        warn!(attempt, %error, retry_after_secs = retry_after.map(|d| d.as_secs()), "resume failed, will retry if time allows");
                        Try::Transient { error, retry_after }
                    }
                    Try::Permanent(error) => Try::Permanent(error),
                }
            }
        })
        .await;
        match result {
            Ok(tries) => {
                let report = ResumeReport {
                    status,
                    tries,
                    elapsed: started.elapsed(),
                };
                info!(operation_status = status.as_str(), tries, "resumed");
                Ok(report)
            }
            Err(GaveUp::Permanent(failure)) => Err(ResumeError::Rejected(failure)),
            Err(GaveUp::OutOfTime { last, tries }) => Err(ResumeError::OutOfTime { last, tries }),
        }
    }

    /// One POST, classified.
    async fn send_once(&self, url: &str, body: &serde_json::Value) -> Try<(), GraphFailure> {
        let request = match self.graph.request_url(reqwest::Method::POST, url).await {
            Ok(request) => request,
            Err(e) => {
                return Try::Transient {
                    error: GraphFailure::transport(e.to_string()),
                    retry_after: None,
                };
            }
        };
        match request.json(body).send().await {
            Ok(response) => outcome::classify(response).await,
            Err(e) => Try::Transient {
                error: GraphFailure::transport(without_url(e)),
                retry_after: None,
            },
        }
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
