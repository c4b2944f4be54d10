//! The `entitlement` function (folder `function/entitlement`): Entitlement Management callouts
//! through the Functions host.
//!
//! Its envelope, bindings and answers are the `callout` function's (HTTP trigger `req`, HTTP
//! output `res`, queue output `task` onto the same work queue); only the pipeline entry differs
//! (EM's caller list, EM's callout shapes, the connection test). A connection test is answered
//! `202` with no queue output.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use time::OffsetDateTime;
use tracing::{debug, info, warn};

use super::{
    HTTP_OUTPUT_BINDING, HTTP_TRIGGER_BINDING, HostState, HttpTrigger, InvocationResponse,
    QUEUE_OUTPUT_BINDING, bad_envelope, invocation_id, read_invocation, refusal_reply, reply,
};
use crate::callout_reply::CalloutReply;
use crate::pipeline::{AcceptedEntitlement, Refused};

pub(super) async fn entitlement(
    State(state): State<Arc<HostState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let invocation_id = invocation_id(&headers);
    let body = match read_invocation(&state, body, &invocation_id, "entitlement").await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let request = match HttpTrigger::parse(&body, HTTP_TRIGGER_BINDING) {
        Ok(request) => request,
        Err(e) => return bad_envelope(&invocation_id, e),
    };
    let accepted = state
        .pipeline
        .accept_entitlement(
            request.authorization(),
            request.body(),
            OffsetDateTime::now_utc(),
        )
        .await;
    let response = match accepted {
        Ok(AcceptedEntitlement::New { item, callout }) => {
            info!(
                invocation_id,
                custom_extension_stage_instance_id = %callout.stage_instance_id,
                stage = %callout.stage,
                waits_for_resume = callout.waits_for_resume,
                "entitlement callout accepted"
            );
            debug!(
                invocation_id,
                target = callout
                    .target()
                    .and_then(|t| t.principal_name.as_deref().or(t.email.as_deref()))
                    .unwrap_or(""),
                "entitlement callout target"
            );
            with_reply(InvocationResponse::default(), &CalloutReply::accepted())
                .output(QUEUE_OUTPUT_BINDING, item.into_value())
                .log(format!(
                    "lcw-handler accepted Entitlement Management stage {} (instance {})",
                    callout.stage, callout.stage_instance_id
                ))
        }
        Ok(AcceptedEntitlement::Duplicate { callout }) => {
            info!(
                invocation_id,
                custom_extension_stage_instance_id = %callout.stage_instance_id,
                "entitlement callout repeated by the caller; acknowledged, not enqueued again"
            );
            with_reply(InvocationResponse::default(), &CalloutReply::accepted()).log(format!(
                "lcw-handler acknowledged a repeat of Entitlement Management instance {}",
                callout.stage_instance_id
            ))
        }
        Ok(AcceptedEntitlement::ConnectionTest) => {
            info!(
                invocation_id,
                "Entitlement Management connection test acknowledged"
            );
            with_reply(InvocationResponse::default(), &CalloutReply::accepted())
                .log("lcw-handler acknowledged an Entitlement Management connection test")
        }
        Err(refused) => {
            match &refused {
                Refused::Invalid(error) => {
                    warn!(invocation_id, %error, "entitlement callout refused: invalid body")
                }
                Refused::TooLarge(error) => {
                    warn!(invocation_id, %error, "entitlement callout refused: too large")
                }
                _ => {}
            }
            return refusal_reply(&refused);
        }
    };
    reply(StatusCode::OK, response.into_json())
}

/// Puts the public reply into the `res` output.
fn with_reply(response: InvocationResponse, reply: &CalloutReply) -> InvocationResponse {
    let headers: Vec<(&str, &str)> = reply
        .headers
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    response.http_output(
        HTTP_OUTPUT_BINDING,
        reply.status,
        &headers,
        reply.body.clone(),
    )
}
