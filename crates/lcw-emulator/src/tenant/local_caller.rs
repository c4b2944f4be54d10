//! The Lifecycle Workflows caller, reachable over HTTP by other processes on this machine.
//!
//! A handler started against this tenant (`lcw-handler serve --with-local-tenant`) trusts only
//! this tenant's keys, which live in the tenant's process. A separate tool that wants to post a
//! callout the way LCW does (`lcw-handler send`) asks here for a freshly signed `Authorization`
//! value — a PoP signed request with the tenant's LCW key and default `u`/`p`, exactly what
//! [`LcwCaller`](super::LcwCaller) would attach — and sends the body itself. LCW does not sign
//! the body (docs/protocol.md §3.2), so any body can go with it. Real Entra has no such door; it exists
//! because the tenant is a stand-in on loopback.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::TenantState;
use super::caller_auth::{LcwAuth, PopSettings};
use super::lcw::LcwCaller;
use super::minter::Minter;

/// `POST` here answers `200` with a fresh `Authorization` value as plain text.
pub const AUTHORIZATION_PATH: &str = "/emulator/lcw/authorization";

pub(crate) async fn authorization(State(state): State<Arc<TenantState>>) -> Response {
    let minter = Minter::new(&state.options.tenant_id, state.keys.clone());
    let caller = LcwCaller::new(&state.options.tenant_id, minter).with_auth(LcwAuth::Pop(
        PopSettings::with_key(state.keys.lcw_caller_key()),
    ));
    match caller.authorization() {
        Some(value) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            value,
        )
            .into_response(),
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the tenant could not sign a PoP request",
        )
            .into_response(),
    }
}
