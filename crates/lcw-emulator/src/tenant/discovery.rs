//! Entra's OpenID Connect discovery documents and published signing keys (docs/protocol.md §3.6 step 4:
//! the validator finds `jwks_uri` through the tenant's OpenID configuration).
//!
//! Routes, all `GET`, with `{tenant}` the tenant id (any case) or `common`/`organizations`:
//!
//! - `/{tenant}/v2.0/.well-known/openid-configuration`: v2 issuer
//!   `https://login.microsoftonline.com/<tid>/v2.0`, `jwks_uri` `…/{tenant}/discovery/v2.0/keys`;
//! - `/{tenant}/.well-known/openid-configuration`: v1 issuer `https://sts.windows.net/<tid>/`,
//!   `jwks_uri` `…/common/discovery/keys` (Entra points v1 at the common key set);
//! - `/{tenant}/discovery/v2.0/keys` and `/{tenant}/discovery/keys`: the JWKS.
//!
//! Issuers are the real Entra strings, since tokens carry them; every URL in the documents
//! points at this emulator (the *authority*). For `common`, issuers carry the literal
//! `{tenantid}` template, as Entra's multi-tenant documents do. Any other tenant gets Entra's
//! `400 invalid_tenant` (`AADSTS90002`); domain names (`contoso.onmicrosoft.com`) are not
//! resolved.
//!
//! Fault injection applies to every route here, in this order: the request is counted, the
//! configured delay elapses, then an unavailable service answers `503`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::TenantState;

/// Multi-tenant path segments Entra accepts in place of a tenant id.
const MULTI_TENANT_SEGMENTS: [&str; 2] = ["common", "organizations"];
/// The placeholder Entra's multi-tenant documents put where the tenant id goes.
const TENANT_TEMPLATE: &str = "{tenantid}";

/// Whose documents a path asks for.
enum Tenant {
    /// This tenant: issuers carry its id.
    Own(String),
    /// `common` or `organizations` (as spelled): issuers carry `{tenantid}`.
    Multi(String),
}

impl Tenant {
    /// The path segment the document's URLs use.
    fn segment(&self) -> &str {
        match self {
            Tenant::Own(id) | Tenant::Multi(id) => id,
        }
    }

    /// The tenant id to put in issuers.
    fn issuer_id(&self) -> &str {
        match self {
            Tenant::Own(id) => id,
            Tenant::Multi(_) => TENANT_TEMPLATE,
        }
    }
}

/// `https://sts.windows.net/<tid>/`: the v1 issuer, trailing slash included.
pub(crate) fn v1_issuer(tenant_id: &str) -> String {
    format!("https://sts.windows.net/{tenant_id}/")
}

/// `https://login.microsoftonline.com/<tid>/v2.0`.
pub(crate) fn v2_issuer(tenant_id: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant_id}/v2.0")
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub(crate) async fn openid_configuration_v2(
    State(state): State<Arc<TenantState>>,
    Path(tenant): Path<String>,
) -> Response {
    serve(&state, &tenant, |tenant| {
        let base = format!("{}/{}", state.authority, tenant.segment());
        openid_document(
            v2_issuer(tenant.issuer_id()),
            format!("{base}/discovery/v2.0/keys"),
            format!("{base}/oauth2/v2.0/token"),
            format!("{base}/oauth2/v2.0/authorize"),
            format!("{base}/oauth2/v2.0/logout"),
        )
    })
    .await
}

/// `GET /{tenant}/.well-known/openid-configuration` (v1).
pub(crate) async fn openid_configuration_v1(
    State(state): State<Arc<TenantState>>,
    Path(tenant): Path<String>,
) -> Response {
    serve(&state, &tenant, |tenant| {
        let base = format!("{}/{}", state.authority, tenant.segment());
        openid_document(
            v1_issuer(tenant.issuer_id()),
            format!("{}/common/discovery/keys", state.authority),
            format!("{base}/oauth2/token"),
            format!("{base}/oauth2/authorize"),
            format!("{base}/oauth2/logout"),
        )
    })
    .await
}

/// `GET /{tenant}/discovery/v2.0/keys`: keys tagged with their v2 issuer, as Entra does.
pub(crate) async fn keys_v2(
    State(state): State<Arc<TenantState>>,
    Path(tenant): Path<String>,
) -> Response {
    serve(&state, &tenant, |tenant| {
        state.keys.jwks(Some(&v2_issuer(tenant.issuer_id())))
    })
    .await
}

/// `GET /{tenant}/discovery/keys` (v1, also reached as `/common/discovery/keys`).
pub(crate) async fn keys_v1(
    State(state): State<Arc<TenantState>>,
    Path(tenant): Path<String>,
) -> Response {
    serve(&state, &tenant, |_| state.keys.jwks(None)).await
}

/// Counts, delays, refuses when unavailable, resolves the tenant, then renders `document`.
async fn serve(
    state: &TenantState,
    tenant: &str,
    document: impl FnOnce(&Tenant) -> Value,
) -> Response {
    state.keys.requests.fetch_add(1, Ordering::SeqCst);
    let delay = state.keys.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if !state.keys.available.load(Ordering::SeqCst) {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({
                "error": "temporarily_unavailable",
                "error_description": "The service is temporarily unavailable.",
            }),
        );
    }
    let resolved = if tenant.eq_ignore_ascii_case(&state.options.tenant_id) {
        Tenant::Own(state.options.tenant_id.clone())
    } else if let Some(multi) = MULTI_TENANT_SEGMENTS
        .iter()
        .find(|m| m.eq_ignore_ascii_case(tenant))
    {
        Tenant::Multi((*multi).to_owned())
    } else {
        return invalid_tenant(tenant);
    };
    json_response(StatusCode::OK, &document(&resolved))
}

/// The fields of Entra's discovery document that a validator or client may read; the endpoint
/// URLs point at the emulator, which serves only `jwks_uri`.
fn openid_document(
    issuer: String,
    jwks_uri: String,
    token_endpoint: String,
    authorization_endpoint: String,
    end_session_endpoint: String,
) -> Value {
    json!({
        "token_endpoint": token_endpoint,
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": jwks_uri,
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": authorization_endpoint,
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": end_session_endpoint,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    })
}

/// Entra's answer for a tenant it does not know.
fn invalid_tenant(tenant: &str) -> Response {
    let trace_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let timestamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default();
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({
            "error": "invalid_tenant",
            "error_description": format!(
                "AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"
            ),
            "error_codes": [90002],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": "https://login.microsoftonline.com/error?code=90002",
        }),
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}
