//! The App Service / Functions managed-identity token endpoint (docs/protocol.md §9.1, api-version
//! `2019-08-01`), as reached through `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
//!
//! Tokens are opaque random strings remembered in the tenant's token table, so the Graph fake
//! can tell an issued, unexpired Graph token from anything else. They are never logged.
//! Identities are known by client id only: `object_id`, `principal_id` and `mi_res_id`
//! selectors are understood but never match, and get the service's "Unable to load the proper
//! Managed Identity." answer. Outages (`identity_outage`) are decided before anything else: a
//! token service that is down does not validate requests first.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::json;

use super::identity_outage::IdentityAnswer;
use super::{IssuedToken, TenantState};

/// Path of the token endpoint under the emulator's address.
pub(crate) const TOKEN_PATH: &str = "/MSI/token";
/// The only api-version this endpoint speaks (the one `azure_identity` 1.0 sends).
const API_VERSION: &str = "2019-08-01";
/// The anti-SSRF header carrying `IDENTITY_HEADER`; header names are case-insensitive.
const IDENTITY_HEADER_NAME: &str = "x-identity-header";
/// Query parameters that select a user-assigned identity; at most one may be given.
const SELECTORS: [&str; 4] = ["client_id", "object_id", "principal_id", "mi_res_id"];

/// Resource identifiers accepted as "Microsoft Graph" by the Graph fake.
pub(crate) const GRAPH_RESOURCES: [&str; 3] = [
    "https://graph.microsoft.com",
    "https://graph.microsoft.com/",
    "00000003-0000-0000-c000-000000000000",
];

/// A random alphanumeric string, for secrets and tokens.
pub(crate) fn random_secret(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// `GET /MSI/token?resource=…&api-version=2019-08-01[&client_id=…]`.
pub(crate) async fn token(
    State(state): State<Arc<TenantState>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let (delay, failure) = match state.identity.answer() {
        IdentityAnswer::Issue { delay } => (delay, None),
        IdentityAnswer::Fail { status, delay } => (delay, Some(status)),
    };
    if !delay.is_zero() {
        state.identity.hold(delay).await;
    }
    if let Some(status) = failure {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return app_service_error(status, "The managed identity token service is unavailable.");
    }
    let Ok(Query(params)) = query else {
        return app_service_error(StatusCode::BAD_REQUEST, "The query string is malformed.");
    };
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };

    match headers.get(IDENTITY_HEADER_NAME).map(HeaderValue::to_str) {
        None => {
            return app_service_error(
                StatusCode::BAD_REQUEST,
                "The request is missing the X-IDENTITY-HEADER header.",
            );
        }
        Some(Ok(value)) if value == state.identity_header => {}
        Some(_) => {
            return app_service_error(
                StatusCode::UNAUTHORIZED,
                "The X-IDENTITY-HEADER value is not valid.",
            );
        }
    }

    match param("api-version") {
        Some(API_VERSION) => {}
        Some(other) => {
            return api_version_error(
                "UnsupportedApiVersion",
                &format!(
                    "The HTTP resource that matches the request URI does not support the API version '{other}'."
                ),
            );
        }
        None => {
            return api_version_error(
                "ApiVersionUnspecified",
                "An API version is required, but was not specified.",
            );
        }
    }

    let Some(resource) = param("resource").filter(|r| !r.is_empty()) else {
        return app_service_error(
            StatusCode::BAD_REQUEST,
            "The 'resource' query parameter is required.",
        );
    };

    let selected: Vec<(&str, &str)> = SELECTORS
        .iter()
        .filter_map(|name| param(name).map(|v| (*name, v)))
        .collect();
    let client_id = match selected.as_slice() {
        [] => state.options.managed_identity_client_id.clone(),
        [("client_id", id)]
            if state
                .options
                .user_assigned_client_ids
                .iter()
                .any(|known| known.eq_ignore_ascii_case(id)) =>
        {
            (*id).to_owned()
        }
        [_] => {
            return app_service_error(
                StatusCode::BAD_REQUEST,
                "Unable to load the proper Managed Identity.",
            );
        }
        _ => {
            return app_service_error(
                StatusCode::BAD_REQUEST,
                "Only one of client_id, object_id, principal_id or mi_res_id may be specified.",
            );
        }
    };

    let expires_at = SystemTime::now() + state.options.token_lifetime;
    let expires_on = expires_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let access_token = random_secret(64);
    state.tokens().insert(
        access_token.clone(),
        IssuedToken {
            resource: resource.to_owned(),
            expires_at,
        },
    );
    state.token_fetches.fetch_add(1, Ordering::SeqCst);
    tracing::debug!(%resource, %client_id, "issued managed-identity token");

    json_response(
        StatusCode::OK,
        json!({
            "access_token": access_token,
            // A string of epoch seconds, as App Service sends it (docs/protocol.md §9.1).
            "expires_on": expires_on.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        }),
    )
}

/// The App Service token service's error shape.
fn app_service_error(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        json!({
            "statusCode": status.as_u16(),
            "message": message,
            "correlationId": uuid::Uuid::new_v4().to_string(),
        }),
    )
}

/// The ASP.NET API-versioning error shape the service answers for a bad `api-version`.
fn api_version_error(code: &str, message: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({ "error": { "code": code, "message": message, "innerError": null } }),
    )
}

/// Every answer closes its connection, so a refused-port outage is seen by the next request
/// (see `identity_outage`).
fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (header::CONNECTION, "close"),
        ],
        body.to_string(),
    )
        .into_response()
}
