//! Proving the caller is Lifecycle Workflows, in-process, before anything is enqueued.
//!
//! Two schemes (docs/protocol.md §3): `PoP` signed requests — the default for every extension
//! created since GA — and `Bearer` tokens (v1 or v2) for legacy extensions. Both rest on an
//! Entra access token checked against the tenant's signing keys ([`keys`]), with an exact
//! issuer, audience, tenant and caller application. Everything fails closed: no header, an
//! unknown scheme or a disabled scheme is a `401`, never a pass.
//!
//! This module knows nothing about the callout body, the host or user code; it answers
//! "who is calling" and the pipeline decides what to do with that.

mod access_token;
mod diagnostics;
mod jws;
pub mod keys;
mod pop;
mod reason;
mod replay;
mod verified;

use serde_json::Value;
use tracing::warn;

use crate::config::AuthSettings;

pub use access_token::CLOCK_SKEW_SECONDS;
pub use jws::MAX_TOKEN_BYTES;
pub use keys::{KEY_WAIT_BUDGET, KeyCache, KeySet};
pub use pop::TIMESTAMP_TOLERANCE_SECONDS;
pub use reason::{AuthError, KeysUnavailable, Reason, Rejection};
pub use replay::{NonceCache, NonceUse};

/// The realm named in `WWW-Authenticate`.
const REALM: &str = "lcw-handler";

/// How the caller proved itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: PoP …`.
    Pop,
    /// `Authorization: Bearer …`.
    Bearer,
}

/// A caller that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The scheme used.
    pub scheme: Scheme,
    /// The calling application (`appid` or `azp`).
    pub app_id: String,
    /// The PoP nonce, for replay detection once the callout is known.
    pub nonce: Option<String>,
}

/// Validates `Authorization` headers against the configured tenant and schemes.
#[derive(Clone)]
pub struct Authenticator {
    settings: AuthSettings,
    keys: KeyCache,
    verified: verified::Verified,
}

impl Authenticator {
    /// An authenticator using `keys` for the tenant's signing keys.
    pub fn new(settings: AuthSettings, keys: KeyCache) -> Authenticator {
        Authenticator {
            settings,
            keys,
            verified: verified::Verified::default(),
        }
    }

    /// An authenticator for another caller of the same tenant (the `entitlement` function's
    /// Entitlement Management app): it shares this one's signing keys, so the tenant's keys are
    /// fetched once, but checks `settings` and remembers verified tokens separately, so a token
    /// accepted for one caller is never taken as proven for the other.
    pub fn for_caller(&self, settings: AuthSettings) -> Authenticator {
        Authenticator::new(settings, self.keys.clone())
    }

    /// Starts fetching the tenant's keys in the background and returns at once.
    pub fn start(settings: AuthSettings) -> Authenticator {
        let keys = KeyCache::start(&settings.authority_url, &settings.tenant_id);
        Authenticator::new(settings, keys)
    }

    /// Authenticates one request at time `now` (Unix seconds). A refusal is logged here, once,
    /// with the check that failed (and, with `LCW_AUTH_DIAGNOSTICS=1`, the claims that matter
    /// for setup — never the token or a signature).
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        now: i64,
    ) -> Result<Caller, Rejection> {
        let result = self.check(authorization, now).await;
        if let Err(rejection) = &result {
            match rejection {
                Rejection::Unauthorized(error) => {
                    warn!(reason = error.reason.code(), detail = %error.detail, "callout refused: caller not authenticated")
                }
                Rejection::Unavailable(error) => {
                    warn!(%error, "callout refused for now: signing keys unavailable")
                }
            }
            if self.settings.diagnostics
                && let Some(header) = authorization
            {
                warn!(claims = %diagnostics::setup_claims(header), "rejected token's setup claims (LCW_AUTH_DIAGNOSTICS)");
            }
        }
        result
    }

    async fn check(&self, authorization: Option<&str>, now: i64) -> Result<Caller, Rejection> {
        let header = authorization
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                AuthError::new(Reason::MissingAuthorization, "no Authorization header")
            })?;
        if header.len() > MAX_TOKEN_BYTES * 2 {
            return Err(AuthError::new(
                Reason::OversizedHeader,
                "the Authorization header is too large",
            )
            .into());
        }
        let (scheme, credentials) = header.split_once(' ').unwrap_or((header, ""));
        let credentials = credentials.trim();
        let scheme = if scheme.eq_ignore_ascii_case("pop") {
            Scheme::Pop
        } else if scheme.eq_ignore_ascii_case("bearer") {
            Scheme::Bearer
        } else {
            return Err(AuthError::new(
                Reason::UnsupportedScheme,
                "the Authorization scheme is neither PoP nor Bearer",
            )
            .into());
        };
        let settings = &self.settings;
        match scheme {
            Scheme::Pop if settings.pop => {
                let expect = pop::PopExpectations {
                    tenant_id: &settings.tenant_id,
                    caller_app_ids: &settings.caller_app_ids,
                    host: &settings.pop_host,
                    path: settings.pop_path.as_deref().unwrap_or_default(),
                };
                let verified =
                    pop::verify_pop(credentials, &expect, &self.keys, &self.verified, now).await?;
                Ok(Caller {
                    scheme,
                    app_id: verified.token.caller_app_id,
                    nonce: Some(verified.nonce),
                })
            }
            Scheme::Bearer if settings.bearer => {
                let expect = access_token::Expectations {
                    tenant_id: &settings.tenant_id,
                    audiences: &settings.audiences,
                    caller_app_ids: &settings.caller_app_ids,
                    allow_v2: true,
                };
                let token = access_token::verify_remembered(
                    credentials,
                    "bearer token",
                    "bearer",
                    &expect,
                    &self.keys,
                    &self.verified,
                    now,
                )
                .await?;
                Ok(Caller {
                    scheme,
                    app_id: token.caller_app_id,
                    nonce: None,
                })
            }
            _ => Err(AuthError::new(
                Reason::SchemeNotAllowed,
                "this scheme is not enabled by LCW_AUTH",
            )
            .into()),
        }
    }

    /// The `WWW-Authenticate` value for a refusal: one challenge per enabled scheme.
    pub fn challenge(&self, reason: Reason) -> String {
        let mut challenges = Vec::new();
        if self.settings.pop {
            challenges.push(format!(
                r#"PoP realm="{REALM}", error="invalid_token", error_description="{}""#,
                reason.code()
            ));
        }
        if self.settings.bearer {
            challenges.push(format!(
                r#"Bearer realm="{REALM}", error="invalid_token", error_description="{}""#,
                reason.code()
            ));
        }
        challenges.join(", ")
    }

    /// The public body of a `401`.
    pub fn refusal_body(reason: Reason) -> Value {
        serde_json::json!({ "error": { "code": "unauthorized", "reason": reason.code() } })
    }
}
