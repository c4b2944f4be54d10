//! Standalone mode: the same pipeline without the Functions host, for local runs and containers.
//!
//! `POST /api/lifecycle/callout` accepts exactly as the `callout` function does; a bounded
//! in-memory queue and a fixed pool of workers stand in for the Storage queue and the host's
//! queue trigger, with the same retry and last-attempt semantics (`LCW_MAX_ATTEMPTS`,
//! `LCW_RETRY_DELAY_SECONDS`).
//!
//! With a task ledger (the default: a SQLite file, see `LCW_LEDGER`) the queue is durable:
//! each task is recorded in the ledger, work item included, before the callout is answered
//! `202`, and a handler started again (after a crash or SIGKILL too) drives every unfinished
//! task again. A repeated callout for a task the ledger knows is acknowledged and enqueues
//! nothing. With `LCW_LEDGER=off` the queue is in memory only: tasks still queued when the
//! process stops are lost, and the log says how many.

mod durable;
mod entitlement;
mod workers;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::body_limit::{LimitedBody, read_limited};
use crate::callout_reply::CalloutReply;
use crate::pipeline::{Accepted, Pipeline, Refused, TooLarge};

pub use entitlement::ENTITLEMENT_ROUTE;
pub use workers::{QUEUE_CAPACITY, SHUTDOWN_GRACE, WorkerPool};

/// The public route of the callout, the same as under the Functions host.
pub const CALLOUT_ROUTE: &str = "/api/lifecycle/callout";

#[derive(Clone)]
struct AppState {
    pipeline: Pipeline,
    pool: WorkerPool,
}

/// The standalone HTTP surface.
pub fn router(pipeline: Pipeline, pool: WorkerPool) -> Router {
    Router::new()
        .route("/", get(|| async { "lcw-handler ready" }))
        // The body limit is LCW_MAX_CALLOUT_BYTES, answered as JSON by the handler.
        .route(
            CALLOUT_ROUTE,
            post(callout).layer(DefaultBodyLimit::disable()),
        )
        .route(
            ENTITLEMENT_ROUTE,
            post(entitlement::entitlement).layer(DefaultBodyLimit::disable()),
        )
        .with_state(Arc::new(AppState { pipeline, pool }))
}

/// Serves until `shutdown` completes, then gives in-flight tasks [`SHUTDOWN_GRACE`] to finish.
pub async fn serve(
    listener: TcpListener,
    pipeline: Pipeline,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let pool = WorkerPool::start(pipeline.clone());
    let durable = pipeline.ledger().is_some();
    if let Some(ledger) = pipeline.ledger() {
        durable::redrive(ledger, &pool, pipeline.config().standalone.max_attempts).await;
    }
    axum::serve(listener, router(pipeline, pool.clone()))
        .with_graceful_shutdown(shutdown)
        .await?;
    pool.drain(SHUTDOWN_GRACE, durable).await;
    Ok(())
}

/// Reads a callout's body within `LCW_MAX_CALLOUT_BYTES`; what is over it or unreadable is
/// already answered.
async fn read_callout(
    state: &AppState,
    body: Body,
    callout_kind: &'static str,
) -> Result<axum::body::Bytes, Response> {
    let limit = state.pipeline.config().max_callout_bytes;
    match read_limited(body, limit).await {
        Ok(LimitedBody::Within(body)) => Ok(body),
        Ok(LimitedBody::Over) => {
            let error = TooLarge::Callout { limit };
            warn!(callout_kind, %error, "callout refused: too large");
            Err(to_response(&CalloutReply::too_large(&error)))
        }
        Err(_) => Err(StatusCode::BAD_REQUEST.into_response()),
    }
}

async fn callout(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let body = match read_callout(&state, body, "lifecycle").await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let accepted = state
        .pipeline
        .accept(authorization, &body, OffsetDateTime::now_utc())
        .await;
    let (item, callout) = match accepted {
        Ok(Accepted::New { item, callout }) => (item, callout),
        Ok(Accepted::Duplicate { callout }) => {
            info!(task_processing_result_id = %callout.task_processing_result.id, "callout repeated by the caller; acknowledged, not enqueued again");
            return to_response(&CalloutReply::accepted());
        }
        Err(refused) => {
            if let Refused::Invalid(error) = &refused {
                warn!(%error, "callout refused: invalid body");
            }
            return to_response(&CalloutReply::refused(&refused));
        }
    };
    let id = callout.task_processing_result.id.clone();
    if !state.pool.has_room() {
        warn!(task_processing_result_id = %id, capacity = QUEUE_CAPACITY, "queue full; refusing the callout");
        return unavailable("queue_full", "too many tasks in flight; try again");
    }
    if let Some(ledger) = state.pipeline.ledger() {
        match durable::record_accepted(ledger, &item, &callout).await {
            Ok(None) => {}
            Ok(Some(stage)) => {
                info!(task_processing_result_id = %id, stage = stage.as_str(), "callout for a task the ledger knows; acknowledged, not enqueued again");
                return to_response(&CalloutReply::accepted());
            }
            Err(error) => {
                warn!(task_processing_result_id = %id, %error, "the task ledger cannot record the callout; refusing it so LCW retries");
                return unavailable(
                    "ledger_unavailable",
                    "the task ledger is unavailable; try again",
                );
            }
        }
    }
    if state.pool.submit(item.into_value(), 1).is_err() {
        // Filled between the check above and now. A task already in the ledger stays there
        // and is driven again at the next start.
        warn!(task_processing_result_id = %id, capacity = QUEUE_CAPACITY, "queue full; refusing the callout");
        return unavailable("queue_full", "too many tasks in flight; try again");
    }
    info!(task_processing_result_id = %id, launch_and_wait = callout.launch_and_wait, "callout accepted");
    to_response(&CalloutReply::accepted())
}

/// `503` with `Retry-After`: LCW retries the callout once.
fn unavailable(code: &str, message: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::RETRY_AFTER, "1"),
            (header::CONTENT_TYPE, "application/json"),
        ],
        json!({"error": {"code": code, "message": message}}).to_string(),
    )
        .into_response()
}

fn to_response(reply: &CalloutReply) -> Response {
    let mut response = (
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        reply.body.clone(),
    )
        .into_response();
    for (name, value) in &reply.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}
