//! `POST /api/entitlement/callout`: Entitlement Management callouts without the Functions host,
//! accepted exactly as the `entitlement` function accepts them and queued on the same worker
//! pool (whose `process` tells the two kinds of work item apart).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;
use tracing::{info, warn};

use super::{AppState, QUEUE_CAPACITY, read_callout, to_response};
use crate::callout_reply::CalloutReply;
use crate::pipeline::{AcceptedEntitlement, Refused};

/// The public route of Entitlement Management callouts, the same as under the Functions host.
pub const ENTITLEMENT_ROUTE: &str = "/api/entitlement/callout";

pub(super) async fn entitlement(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match read_callout(&state, body, "entitlement").await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let accepted = state
        .pipeline
        .accept_entitlement(authorization, &body, OffsetDateTime::now_utc())
        .await;
    let (item, callout) = match accepted {
        Ok(AcceptedEntitlement::New { item, callout }) => (item, callout),
        Ok(AcceptedEntitlement::Duplicate { callout }) => {
            info!(custom_extension_stage_instance_id = %callout.stage_instance_id, "entitlement callout repeated by the caller; acknowledged, not enqueued again");
            return to_response(&CalloutReply::accepted());
        }
        Ok(AcceptedEntitlement::ConnectionTest) => {
            info!("Entitlement Management connection test acknowledged");
            return to_response(&CalloutReply::accepted());
        }
        Err(refused) => {
            if let Refused::Invalid(error) = &refused {
                warn!(%error, "entitlement callout refused: invalid body");
            }
            return to_response(&CalloutReply::refused(&refused));
        }
    };
    if state.pool.submit(item.into_value(), 1).is_err() {
        warn!(custom_extension_stage_instance_id = %callout.stage_instance_id, capacity = QUEUE_CAPACITY, "queue full; refusing the entitlement callout");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1"), (header::CONTENT_TYPE, "application/json")],
            json!({"error": {"code": "queue_full", "message": "too many tasks in flight; try again"}}).to_string(),
        )
            .into_response();
    }
    info!(custom_extension_stage_instance_id = %callout.stage_instance_id, stage = %callout.stage, waits_for_resume = callout.waits_for_resume, "entitlement callout accepted");
    to_response(&CalloutReply::accepted())
}
