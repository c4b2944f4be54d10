//! The Azure Functions custom-handler adapter: envelopes in, `Outputs`/`Logs` out.
//!
//! The host POSTs one JSON envelope per invocation to `/<FunctionName>` and polls `GET /` for
//! readiness (docs/protocol.md §8). This module maps the three functions declared under
//! `function/` onto the pipeline: `callout` (HTTP trigger, queue output) accepts LCW callouts,
//! `entitlement` (the same bindings) accepts Entitlement Management callouts onto the same queue,
//! and `process` (queue trigger) processes both. It owns no business rule: the answer to the host is derived from the pipeline's
//! result in one place per function.

mod entitlement;
mod envelope;
mod envelope_http;
mod envelope_reply;
mod host_json;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

use crate::body_limit::{LimitedBody, read_limited};
use crate::callout_reply::CalloutReply;
use crate::pipeline::{Accepted, Attempt, Disposition, Pipeline, Refused, TooLarge};

pub use envelope::{
    EnvelopeError, HttpTriggerData, InvocationRequest, InvocationResponse, decode_value,
    envelope_limit,
};
pub use envelope_http::HttpTrigger;
pub use envelope_reply::CalloutResponse;
pub use host_json::{DEFAULT_MAX_DEQUEUE_COUNT, HostJson, HostJsonError};

/// The HTTP-triggered function (folder `function/callout`).
pub const CALLOUT_FUNCTION: &str = "callout";
/// The HTTP-triggered function for Entitlement Management callouts (folder
/// `function/entitlement`); same bindings as [`CALLOUT_FUNCTION`], same queue.
pub const ENTITLEMENT_FUNCTION: &str = "entitlement";
/// The queue-triggered function (folder `function/process`).
pub const PROCESS_FUNCTION: &str = "process";
/// The `callout` function's HTTP trigger binding.
pub const HTTP_TRIGGER_BINDING: &str = "req";
/// The `callout` function's HTTP output binding.
pub const HTTP_OUTPUT_BINDING: &str = "res";
/// The `callout` function's queue output binding.
pub const QUEUE_OUTPUT_BINDING: &str = "task";
/// The `process` function's queue trigger binding.
pub const QUEUE_TRIGGER_BINDING: &str = "workItem";
/// The queue between the two functions.
pub const TASK_QUEUE: &str = "lcw-tasks";
/// The header carrying the invocation id.
pub const INVOCATION_ID_HEADER: &str = "x-azure-functions-invocationid";

/// What the adapter needs per request.
#[derive(Clone)]
pub struct HostState {
    pipeline: Pipeline,
    max_attempts: u32,
    processing: tokio::runtime::Handle,
}

impl HostState {
    /// State for `pipeline`, with the attempt limit from `host.json`. Processing runs on the
    /// current runtime until [`with_processing_runtime`](Self::with_processing_runtime) says
    /// otherwise.
    pub fn new(pipeline: Pipeline, host_json: HostJson) -> HostState {
        HostState {
            pipeline,
            max_attempts: host_json.max_dequeue_count,
            processing: tokio::runtime::Handle::current(),
        }
    }

    /// Runs `process` invocations (user code, Graph calls, retries) on another runtime, so a
    /// busy or misbehaving task can never queue ahead of a callout's acknowledgement.
    pub fn with_processing_runtime(mut self, processing: tokio::runtime::Handle) -> HostState {
        self.processing = processing;
        self
    }
}

/// The handler's HTTP surface as the host sees it. The `callout` envelope is read with a limit
/// of its own ([`envelope_limit`]), so an oversized callout gets our `413` inside a good
/// envelope reply, never the router's plain-text one.
pub fn router(state: HostState) -> Router {
    Router::new()
        .route("/", get(ready).head(ready))
        .route(
            &format!("/{CALLOUT_FUNCTION}"),
            post(callout).layer(DefaultBodyLimit::disable()),
        )
        .route(
            &format!("/{ENTITLEMENT_FUNCTION}"),
            post(entitlement::entitlement).layer(DefaultBodyLimit::disable()),
        )
        .route(&format!("/{PROCESS_FUNCTION}"), post(process))
        .fallback(unknown_function)
        .with_state(Arc::new(state))
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: HostState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Readiness and health: any answer counts, so answer at once.
async fn ready() -> &'static str {
    "lcw-handler ready"
}

async fn unknown_function() -> Response {
    reply(
        StatusCode::NOT_FOUND,
        json!({"error": {"code": "unknown_function", "message": "this handler serves the functions callout, entitlement and process"}}),
    )
}

fn invocation_id(headers: &HeaderMap) -> String {
    headers
        .get(INVOCATION_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_owned()
}

/// A JSON reply to the host (the host requires a JSON content type).
fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// An envelope the host should never send: fail the invocation so it shows as an error.
fn bad_envelope(invocation_id: &str, error: EnvelopeError) -> Response {
    warn!(invocation_id, %error, "unusable invocation request");
    reply(
        StatusCode::BAD_REQUEST,
        json!({"error": {"code": "bad_envelope", "message": error.to_string()}}),
    )
}

/// Reads an HTTP-triggered invocation's request within the callout size limit (plus the
/// envelope around it); what is over it or unreadable is already answered.
async fn read_invocation(
    state: &HostState,
    body: Body,
    invocation_id: &str,
    callout_kind: &'static str,
) -> Result<Bytes, Response> {
    let max_callout_bytes = state.pipeline.config().max_callout_bytes;
    match read_limited(body, envelope_limit(max_callout_bytes)).await {
        Ok(LimitedBody::Within(body)) => Ok(body),
        Ok(LimitedBody::Over) => {
            let error = TooLarge::Callout {
                limit: max_callout_bytes,
            };
            warn!(invocation_id, callout_kind, %error, "callout refused: too large");
            Err(refusal_reply(&Refused::TooLarge(error)))
        }
        Err(e) => {
            warn!(invocation_id, error = %e, "the invocation request could not be read");
            Err(reply(
                StatusCode::BAD_REQUEST,
                json!({"error": {"code": "bad_envelope", "message": "the invocation request could not be read"}}),
            ))
        }
    }
}

async fn callout(State(state): State<Arc<HostState>>, headers: HeaderMap, body: Body) -> Response {
    let invocation_id = invocation_id(&headers);
    let body = match read_invocation(&state, body, &invocation_id, "lifecycle").await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let request = match HttpTrigger::parse(&body, HTTP_TRIGGER_BINDING) {
        Ok(request) => request,
        Err(e) => return bad_envelope(&invocation_id, e),
    };
    let accepted = state
        .pipeline
        .accept(
            request.authorization(),
            request.body(),
            OffsetDateTime::now_utc(),
        )
        .await;
    // The envelope itself succeeds even when the callout is refused: the host requires a 2xx
    // to deliver `res` (docs/protocol.md §8.6).
    match accepted {
        Ok(Accepted::New { item, callout }) => {
            info!(
                invocation_id,
                task_processing_result_id = %callout.task_processing_result.id,
                launch_and_wait = callout.launch_and_wait,
                "callout accepted"
            );
            debug!(
                invocation_id,
                upn = callout.subject.user_principal_name.as_deref().unwrap_or(""),
                "callout subject"
            );
            let log = format!(
                "lcw-handler accepted taskProcessingResult {}",
                callout.task_processing_result.id
            );
            callout_response(CalloutResponse {
                reply: &CalloutReply::accepted(),
                work_item: Some(&item),
                log: &log,
            })
        }
        Ok(Accepted::Duplicate { callout }) => {
            info!(
                invocation_id,
                task_processing_result_id = %callout.task_processing_result.id,
                "callout repeated by the caller; acknowledged, not enqueued again"
            );
            let log = format!(
                "lcw-handler acknowledged a repeat of taskProcessingResult {}",
                callout.task_processing_result.id
            );
            callout_response(CalloutResponse {
                reply: &CalloutReply::accepted(),
                work_item: None,
                log: &log,
            })
        }
        Err(refused) => {
            match &refused {
                Refused::Invalid(error) => {
                    warn!(invocation_id, %error, "callout refused: invalid body")
                }
                Refused::TooLarge(error) => {
                    warn!(invocation_id, %error, "callout refused: too large")
                }
                _ => {}
            }
            refusal_reply(&refused)
        }
    }
}

/// The `callout` function's envelope reply (always `200`: the callout's own status is in `res`).
fn callout_response(response: CalloutResponse<'_>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        response.to_json(),
    )
        .into_response()
}

/// A refused callout: the refusal in `res`, inside a successful envelope reply.
fn refusal_reply(refused: &Refused) -> Response {
    let reply = CalloutReply::refused(refused);
    let log = format!("lcw-handler refused a callout with {}", reply.status);
    callout_response(CalloutResponse {
        reply: &reply,
        work_item: None,
        log: &log,
    })
}

async fn process(State(state): State<Arc<HostState>>, headers: HeaderMap, body: Bytes) -> Response {
    let invocation_id = invocation_id(&headers);
    let envelope = match InvocationRequest::parse(&body) {
        Ok(envelope) => envelope,
        Err(e) => return bad_envelope(&invocation_id, e),
    };
    let message = match envelope.data(QUEUE_TRIGGER_BINDING) {
        Ok(value) => decode_value(value),
        Err(e) => return bad_envelope(&invocation_id, e),
    };
    let number = envelope.dequeue_count().unwrap_or_else(|| {
        warn!(
            invocation_id,
            "Metadata.DequeueCount is missing or not a number; assuming the first attempt"
        );
        1
    });
    let attempt = Attempt {
        number,
        max: state.max_attempts,
    };
    // The queue message's id: tells the ledger a redelivery of one message from a duplicate.
    let message_id = match envelope.metadata("Id") {
        Some(Value::String(id)) => Some(id),
        _ => None,
    };
    let pipeline = state.pipeline.clone();
    let id = invocation_id.clone();
    let processed = state
        .processing
        .spawn(async move {
            pipeline
                .process_message(message, attempt, &id, message_id.as_deref())
                .await
        })
        .await;
    let report = match processed {
        Ok(report) => report,
        // `process` turns task panics into outcomes; this is a bug in the runtime itself.
        Err(error) => {
            tracing::error!(invocation_id, %error, "processing stopped unexpectedly; the delivery fails and is retried");
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": {"code": "processing_failed", "message": "processing stopped unexpectedly"}}),
            );
        }
    };
    let body = InvocationResponse::default()
        .log(format!(
            "lcw-handler attempt {number}/{}: {}",
            attempt.max, report.summary
        ))
        .into_json();
    match report.disposition {
        Disposition::Finished => reply(StatusCode::OK, body),
        // A non-2xx fails the invocation, so the host makes the message visible again after
        // `visibilityTimeout`, and poisons it after `maxDequeueCount` deliveries.
        Disposition::RetryLater => reply(StatusCode::INTERNAL_SERVER_ERROR, body),
    }
}

#[cfg(test)]
mod tests;
