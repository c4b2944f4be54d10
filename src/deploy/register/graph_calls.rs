//! Sending the planned requests to Graph, with the handler's shared HTTP client and the crate's
//! one retry policy.
//!
//! Throttling (`429`) is retried for every call, since Graph did not act on it. Server errors
//! and lost connections are retried only for idempotent calls (`GET`, `PATCH`): after an
//! ambiguous failure a repeated `POST` could create a second extension or workflow version.
//! Those failures are reported instead, and a re-run, which finds what the first run made,
//! is the retry.

use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use serde_json::Value;
use tokio::time::Instant;

use super::graph_error::{GraphCallError, ODataError, Operation};
use super::plan::{GRAPH_VERSION, GraphUrls, Method, PlannedRequest};
use crate::config::GraphSettings;
use crate::graph::{GraphClient, GraphError};
use crate::retry::{GaveUp, RetryPolicy, Try, parse_retry_after, retry};

/// How long one call keeps retrying transient failures.
const RETRY_WINDOW: Duration = Duration::from_secs(60);
/// Graph's correlation header.
const REQUEST_ID_HEADER: &str = "request-id";

/// A success answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body (`Null` for none, e.g. `204`).
    pub body: Value,
}

/// Graph, as registration uses it.
#[derive(Debug, Clone)]
pub struct RegistrationClient {
    graph: GraphClient,
    urls: GraphUrls,
    sign_in_hint: &'static str,
}

impl RegistrationClient {
    /// A client for `graph_url`, authenticated by `credential`; `sign_in_hint` is added to
    /// token failures.
    pub fn new(
        graph_url: &str,
        credential: Arc<dyn TokenCredential>,
        sign_in_hint: &'static str,
    ) -> RegistrationClient {
        let settings = GraphSettings {
            base_url: graph_url.trim_end_matches('/').to_owned(),
            version: GRAPH_VERSION,
        };
        RegistrationClient {
            graph: GraphClient::new(&settings, credential),
            urls: GraphUrls::new(graph_url),
            sign_in_hint,
        }
    }

    /// The URLs this client calls.
    pub fn urls(&self) -> &GraphUrls {
        &self.urls
    }

    /// Sends `request`, retrying as the module docs say.
    pub async fn send(
        &self,
        operation: Operation,
        request: &PlannedRequest,
    ) -> Result<Answer, GraphCallError> {
        let stop_at = Instant::now() + RETRY_WINDOW;
        let outcome = retry(RetryPolicy::default(), stop_at, |_| {
            self.try_once(operation, request)
        })
        .await;
        match outcome {
            Ok(answer) => Ok(answer),
            Err(GaveUp::Permanent(error)) | Err(GaveUp::OutOfTime { last: error, .. }) => {
                Err(error)
            }
        }
    }

    async fn try_once(
        &self,
        operation: Operation,
        request: &PlannedRequest,
    ) -> Try<Answer, GraphCallError> {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
        };
        let builder = match self.graph.request_url(method, &request.url).await {
            Ok(builder) => builder,
            Err(GraphError::Token(reason)) => {
                return Try::Permanent(GraphCallError::Token(format!(
                    "{reason}; {}",
                    self.sign_in_hint
                )));
            }
        };
        let builder = match &request.body {
            Some(body) => builder.json(body),
            None => builder,
        };
        let idempotent = request.method.is_idempotent();
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => {
                let error = GraphCallError::Transport {
                    operation,
                    reason: e.to_string(),
                };
                return if idempotent {
                    Try::Transient {
                        error,
                        retry_after: None,
                    }
                } else {
                    Try::Permanent(error)
                };
            }
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = header(REQUEST_ID_HEADER);
        let retry_after =
            parse_retry_after(header(reqwest::header::RETRY_AFTER.as_str()).as_deref());
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => {
                let error = GraphCallError::Transport {
                    operation,
                    reason: format!("the answer could not be read ({e})"),
                };
                return if idempotent {
                    Try::Transient {
                        error,
                        retry_after: None,
                    }
                } else {
                    Try::Permanent(error)
                };
            }
        };
        if (200..300).contains(&status) {
            let body = if bytes.is_empty() {
                Value::Null
            } else {
                match serde_json::from_slice(&bytes) {
                    Ok(body) => body,
                    Err(e) => {
                        return Try::Permanent(GraphCallError::UnexpectedAnswer {
                            operation,
                            problem: format!("is not JSON ({e})"),
                        });
                    }
                }
            };
            return Try::Done(Answer { status, body });
        }
        let odata = ODataError::from_answer(&bytes, request_id.as_deref());
        let error = if status == 403 {
            GraphCallError::Forbidden { operation, odata }
        } else {
            GraphCallError::Status {
                operation,
                status,
                odata,
            }
        };
        match status {
            429 => Try::Transient { error, retry_after },
            500..=599 if idempotent => Try::Transient { error, retry_after },
            _ => Try::Permanent(error),
        }
    }
}
