//! How the Lifecycle Workflows caller authenticates its callouts (docs/protocol.md §3): no header, a
//! PoP signed HTTP request, or a v1/v2 bearer token.
//!
//! Like LCW (and MSAL underneath it), a caller gets one access token and reuses it for every
//! callout until it is within [`REFRESH_MARGIN_SECS`] of expiry; only the PoP wrapper (`ts`,
//! `nonce`, signature) is fresh per callout. Clones of a caller share that token.

use std::fmt;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use super::jws::CallerKey;
use super::minter::{CnfForm, Minter, PopRequest, cnf, now_secs};

/// `u` LCW's PoP policy pins: ARM's host (docs/protocol.md §3.3).
pub const DEFAULT_POP_HOST: &str = "management.azure.com";
/// `p` the caller signs by default: the ARM path of a fictitious Logic App, standing in for the
/// one named in the extension's `endpointConfiguration` (docs/protocol.md §3.3).
pub const DEFAULT_POP_PATH: &str = "/subscriptions/0b1c2d3e-4f50-4a61-8b72-9c8d7e6f5a4b/resourceGroups/rg-lcw/providers/Microsoft.Logic/workflows/lcw-handler";

/// An access token is replaced when it has less than this left: MSAL's refresh margin.
const REFRESH_MARGIN_SECS: i64 = 5 * 60;

/// How a caller authenticates its callouts.
#[derive(Debug, Clone, Default)]
pub enum LcwAuth {
    /// No `Authorization` header (the default, and what some AADPOP-protected Logic Apps have
    /// been seen to accept: a validator must reject it).
    #[default]
    None,
    /// `Authorization: PoP <signed HTTP request>` with an ARM access token bound to the key.
    Pop(PopSettings),
    /// `Authorization: Bearer <v1 token for audience>`.
    BearerV1 {
        /// `aud`, the app id of the extension's `resourceId`.
        audience: String,
    },
    /// `Authorization: Bearer <v2 token for audience>`.
    BearerV2 {
        /// `aud`, the app id of the extension's `resourceId`.
        audience: String,
    },
}

/// What the caller signs into its PoP requests.
#[derive(Debug, Clone)]
pub struct PopSettings {
    /// `u`, the host (default [`DEFAULT_POP_HOST`]).
    pub u: String,
    /// `p`, the ARM path (default [`DEFAULT_POP_PATH`]).
    pub p: String,
    /// The caller's key. [`Default`] uses one key per process;
    /// [`TenantEmulator::pop_settings`](super::TenantEmulator::pop_settings) uses the tenant's
    /// LCW key.
    pub key: CallerKey,
    /// How the access token's `cnf` references the key (default [`CnfForm::Kid`]).
    pub cnf: CnfForm,
}

impl PopSettings {
    /// Defaults with a given key.
    pub fn with_key(key: CallerKey) -> Self {
        Self {
            u: DEFAULT_POP_HOST.to_owned(),
            p: DEFAULT_POP_PATH.to_owned(),
            key,
            cnf: CnfForm::default(),
        }
    }
}

impl Default for PopSettings {
    fn default() -> Self {
        // `Default` cannot see a tenant, so the default key is one per process, generated once:
        // a validator cannot tell (PoP binds through `cnf`, nothing registers LCW's key).
        static PROCESS_KEY: OnceLock<CallerKey> = OnceLock::new();
        Self::with_key(PROCESS_KEY.get_or_init(CallerKey::rsa).clone())
    }
}

/// What a caller puts in `Authorization`.
#[derive(Clone)]
pub(crate) enum Authorization {
    Auth(LcwAuth),
    Raw(String),
}

/// Does not show a raw header value: it may be a captured real token.
impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Authorization::Auth(auth) => f.debug_tuple("Auth").field(auth).finish(),
            Authorization::Raw(_) => f.write_str("Raw(<redacted>)"),
        }
    }
}

/// A caller's authentication and the access token it reuses.
#[derive(Debug)]
pub(crate) struct CallerAuth {
    authorization: Authorization,
    token: Mutex<Option<CachedToken>>,
    /// The calling application put in `appid` (v1) or `azp` (v2); `None` keeps the minter's
    /// (Lifecycle Workflows). Entitlement Management's caller sets its own.
    app_id: Option<String>,
}

struct CachedToken {
    token: String,
    expires_at: i64,
}

/// Shows when the token expires, never the token.
impl fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl CallerAuth {
    pub(crate) fn new(authorization: Authorization) -> Self {
        Self {
            authorization,
            token: Mutex::new(None),
            app_id: None,
        }
    }

    /// The same authentication, as another calling application.
    pub(crate) fn for_app(authorization: Authorization, app_id: &str) -> Self {
        Self {
            app_id: Some(app_id.to_owned()),
            ..Self::new(authorization)
        }
    }

    /// The `Authorization` value for the next callout, if any.
    pub(crate) fn header_value(&self, minter: &Minter) -> Option<String> {
        match &self.authorization {
            Authorization::Raw(value) => Some(value.clone()),
            Authorization::Auth(LcwAuth::None) => None,
            Authorization::Auth(LcwAuth::Pop(settings)) => {
                let at = self.access_token(minter, || {
                    minter.pop_access_token_claims(cnf(&settings.key, settings.cnf))
                });
                let request = PopRequest::post(at, &settings.u, &settings.p);
                Some(format!(
                    "PoP {}",
                    minter.signed_http_request(&settings.key, &request)
                ))
            }
            Authorization::Auth(LcwAuth::BearerV1 { audience }) => Some(format!(
                "Bearer {}",
                self.access_token(minter, || minter.bearer_v1_claims(audience))
            )),
            Authorization::Auth(LcwAuth::BearerV2 { audience }) => Some(format!(
                "Bearer {}",
                self.access_token(minter, || minter.bearer_v2_claims(audience))
            )),
        }
    }

    /// The cached token, or a new one minted from `claims` when none is cached or it is about
    /// to expire.
    fn access_token(&self, minter: &Minter, claims: impl FnOnce() -> Value) -> String {
        let mut cached = self.token.lock().unwrap_or_else(|e| e.into_inner());
        let now = now_secs();
        if let Some(token) = cached.as_ref()
            && token.expires_at - now > REFRESH_MARGIN_SECS
        {
            return token.token.clone();
        }
        let mut claims = claims();
        if let Some(app_id) = &self.app_id {
            for claim in ["appid", "azp"] {
                if claims.get(claim).is_some() {
                    claims[claim] = Value::String(app_id.clone());
                }
            }
        }
        let expires_at = claims["exp"].as_i64().unwrap_or(now);
        let token = minter.access_token(claims);
        *cached = Some(CachedToken {
            token: token.clone(),
            expires_at,
        });
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Arc;

    use serde_json::json;

    use crate::tenant::keys::KeyStore;

    #[test]
    fn token_is_reused_until_near_expiry() {
        let minter = Minter::new("tid", Arc::new(KeyStore::generate().unwrap()));
        let auth = CallerAuth::new(Authorization::Auth(LcwAuth::None));
        let long = || json!({"exp": now_secs() + 3600, "n": uuid::Uuid::new_v4().to_string()});
        let first = auth.access_token(&minter, long);
        assert_eq!(auth.access_token(&minter, long), first);

        let auth = CallerAuth::new(Authorization::Auth(LcwAuth::None));
        let short = || json!({"exp": now_secs() + 60, "n": uuid::Uuid::new_v4().to_string()});
        let first = auth.access_token(&minter, short);
        assert_ne!(auth.access_token(&minter, short), first);
    }

    #[test]
    fn debug_never_shows_tokens() {
        let raw = CallerAuth::new(Authorization::Raw("Bearer secret-token".into()));
        assert!(!format!("{raw:?}").contains("secret-token"));
        let cached = CachedToken {
            token: "secret-token".into(),
            expires_at: 1,
        };
        assert!(!format!("{cached:?}").contains("secret-token"));
    }
}
