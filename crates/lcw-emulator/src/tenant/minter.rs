//! Mints what Lifecycle Workflows presents on a callout (docs/protocol.md §3): Entra access tokens signed
//! with the tenant's published key, and PoP signed HTTP requests (SHRs) signed with the caller's
//! own key. It is also the forging kit for tests: [`Minter::sign`] signs any header and claims,
//! *as given*, with a tenant key, an unpublished key, an HMAC secret, no key at all, or a caller
//! key, and the claim templates return plain JSON so one claim can be changed before signing.
//!
//! Claim sets follow docs/protocol.md §3.3/§3.4 and the shape of Entra's app-only tokens: `iat`/`nbf` one
//! minute in the past (Entra back-dates by a few minutes), one-hour lifetime, opaque `aio`/`uti`,
//! `oid` = `sub` = the caller's service principal in the tenant. The SHR follows
//! draft-ietf-oauth-signed-http-request-03 as MSAL builds it: header `{alg, kid = RFC 7638
//! thumbprint, typ: "pop"}`, payload `{at, ts, nonce, cnf: {jwk}, m, u, p}`, no `q`/`h`/`b`.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::discovery::{v1_issuer, v2_issuer};
use super::jws::{CallerKey, compact, hmac_sha256, random_b64url, signing_input};
use super::keys::{KeyStore, TenantKey};

/// App id of Lifecycle Workflows (docs/protocol.md §3.5): `appid` (v1) or `azp` (v2) of its tokens.
pub const LIFECYCLE_WORKFLOWS_APP_ID: &str = "ce79fdc4-cd1d-4ea5-8139-e74d7dbe0bb7";
/// App id of Entitlement Management's custom extensions (docs/protocol.md §3.5, §7.4).
pub const ENTITLEMENT_MANAGEMENT_APP_ID: &str = "810dcf14-1858-4bf2-8134-4c369fa3235b";
/// `aud` of LCW's PoP access token: Azure Resource Manager, without trailing slash.
pub const ARM_AUDIENCE: &str = "https://management.azure.com";
/// Object id of the caller's service principal in the emulated tenant (fictitious), sent as
/// `oid` and `sub`.
pub const CALLER_SERVICE_PRINCIPAL_ID: &str = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";

/// How far `iat`/`nbf` lie in the past.
const BACKDATE_SECS: i64 = 60;
/// Access-token lifetime.
const LIFETIME_SECS: i64 = 3600;

/// What [`Minter::sign`] signs with.
#[derive(Clone)]
pub enum SigningKey {
    /// The tenant's current (published) key. Put its kid in the header yourself, or use
    /// [`Minter::access_token`].
    Tenant,
    /// A well-formed RSA key whose kid ([`Minter::unpublished_kid`]) is not in the JWKS.
    Unpublished,
    /// HS256 with this secret: the algorithm-confusion forge.
    Hmac(Vec<u8>),
    /// No signature: the token ends with `.` (for `"alg": "none"` forges).
    Unsigned,
    /// A caller's PoP key (RS256 or ES256, by the key's type).
    Caller(CallerKey),
}

/// Does not show an HMAC secret.
impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigningKey::Tenant => f.write_str("Tenant"),
            SigningKey::Unpublished => f.write_str("Unpublished"),
            SigningKey::Hmac(secret) => write!(f, "Hmac(<{} bytes>)", secret.len()),
            SigningKey::Unsigned => f.write_str("Unsigned"),
            SigningKey::Caller(key) => f.debug_tuple("Caller").field(key).finish(),
        }
    }
}

/// The fields of one signed HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopRequest {
    /// The access token (`at`).
    pub at: String,
    /// Creation time, Unix seconds (`ts`).
    pub ts: i64,
    /// `nonce`.
    pub nonce: String,
    /// HTTP method (`m`), omitted when `None`.
    pub m: Option<String>,
    /// Host (`u`), omitted when `None`.
    pub u: Option<String>,
    /// Path (`p`), omitted when `None`.
    pub p: Option<String>,
}

impl PopRequest {
    /// A request as LCW sends it now: `ts` = now, a fresh nonce, `m` = `POST`, `u` and `p`.
    pub fn post(at: impl Into<String>, u: impl Into<String>, p: impl Into<String>) -> Self {
        Self {
            at: at.into(),
            ts: now_secs(),
            nonce: new_nonce(),
            m: Some("POST".to_owned()),
            u: Some(u.into()),
            p: Some(p.into()),
        }
    }
}

/// How the access token's `cnf` claim references the caller's key (docs/protocol.md §3.2: the exact
/// form Entra uses for LCW is unverified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CnfForm {
    /// `{"kid": <thumbprint>}`: what MSAL asks for with `req_cnf`.
    #[default]
    Kid,
    /// `{"jwk": <public JWK>}`.
    Jwk,
    /// `{"jkt": <thumbprint>}` (RFC 9449 style).
    Jkt,
}

/// The access token's `cnf` claim binding it to `key`.
pub fn cnf(key: &CallerKey, form: CnfForm) -> Value {
    match form {
        CnfForm::Kid => json!({ "kid": key.thumbprint() }),
        CnfForm::Jwk => json!({ "jwk": key.public_jwk() }),
        CnfForm::Jkt => json!({ "jkt": key.thumbprint() }),
    }
}

/// Mints and forges tokens for one tenant. Obtain one from
/// [`TenantEmulator::minter`](super::TenantEmulator::minter); clones share the tenant's keys, so
/// a rotation is seen by every handle.
#[derive(Debug, Clone)]
pub struct Minter {
    tenant_id: String,
    keys: Arc<KeyStore>,
}

impl Minter {
    pub(crate) fn new(tenant_id: &str, keys: Arc<KeyStore>) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            keys,
        }
    }

    /// The tenant id put in `tid` and the issuers.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// Kid of the key tokens are currently signed with.
    pub fn current_kid(&self) -> String {
        self.keys.current().kid.clone()
    }

    /// Kid of [`SigningKey::Unpublished`], to put in a forged header.
    pub fn unpublished_kid(&self) -> String {
        self.keys.unpublished().kid.clone()
    }

    /// The tenant's published signing keys, as its v2 key-set endpoint serves them (for a
    /// validator given fixed keys instead of discovering them).
    pub fn jwks(&self) -> Value {
        self.keys.jwks(None)
    }

    /// Lifecycle Workflows' PoP key in this tenant (generated once per tenant).
    pub fn lcw_caller_key(&self) -> CallerKey {
        self.keys.lcw_caller_key()
    }

    /// Signs `header` and `claims` exactly as given; only the signature comes from `key`.
    pub fn sign(&self, header: Value, claims: Value, key: &SigningKey) -> String {
        let input = signing_input(&header, &claims);
        let signature = match key {
            SigningKey::Tenant => self.keys.current().key.sign(input.as_bytes()),
            SigningKey::Unpublished => self.keys.unpublished().key.sign(input.as_bytes()),
            SigningKey::Hmac(secret) => hmac_sha256(secret, input.as_bytes()),
            SigningKey::Unsigned => Vec::new(),
            SigningKey::Caller(key) => key.sign(input.as_bytes()),
        };
        compact(input, &signature)
    }

    /// The header Entra puts on access tokens, for the current key:
    /// `{"typ": "JWT", "alg": "RS256", "kid": <kid>, "x5t": <kid>}`.
    pub fn access_token_header(&self) -> Value {
        token_header(&self.keys.current())
    }

    /// `claims` signed RS256 with the current tenant key, under
    /// [`access_token_header`](Self::access_token_header).
    pub fn access_token(&self, claims: Value) -> String {
        // One read of the current key, so a concurrent rotation cannot split kid and signature.
        let key = self.keys.current();
        let input = signing_input(&token_header(&key), &claims);
        let signature = key.key.sign(input.as_bytes());
        compact(input, &signature)
    }

    /// Claims of LCW's PoP access token (docs/protocol.md §3.3): v1 issuer with trailing slash,
    /// `aud` = ARM, `appid` = Lifecycle Workflows, `appidacr` `"2"`, `ver` `"1.0"`, and `cnf`
    /// as given (see [`cnf`]).
    pub fn pop_access_token_claims(&self, cnf: Value) -> Value {
        let mut claims = self.bearer_v1_claims(ARM_AUDIENCE);
        claims["cnf"] = cnf;
        claims
    }

    /// Claims of a v1 bearer token LCW gets for `audience` (docs/protocol.md §3.4): v1 issuer,
    /// `appid` = Lifecycle Workflows, `ver` `"1.0"`.
    pub fn bearer_v1_claims(&self, audience: &str) -> Value {
        let issuer = v1_issuer(&self.tenant_id);
        let mut claims = self.common_claims(audience, &issuer);
        claims["idp"] = json!(issuer);
        claims["appid"] = json!(LIFECYCLE_WORKFLOWS_APP_ID);
        claims["appidacr"] = json!("2");
        claims["ver"] = json!("1.0");
        claims
    }

    /// Claims of the v1 token a managed identity gets from the platform's token endpoint for
    /// `audience` (for example a Logic App forwarding callouts with its user-assigned identity):
    /// v1 issuer, `appid` = the identity's client id, `idtyp` `"app"`, `oid` = `sub` = its
    /// principal id, `ver` `"1.0"`. Resources without an app registration of their own, such as
    /// ARM, get v1 tokens.
    pub fn managed_identity_v1_claims(
        &self,
        client_id: &str,
        principal_id: &str,
        audience: &str,
    ) -> Value {
        let issuer = v1_issuer(&self.tenant_id);
        let mut claims = self.common_claims(audience, &issuer);
        claims["idp"] = json!(issuer);
        claims["appid"] = json!(client_id);
        claims["appidacr"] = json!("2");
        claims["idtyp"] = json!("app");
        claims["oid"] = json!(principal_id);
        claims["sub"] = json!(principal_id);
        claims["ver"] = json!("1.0");
        claims
    }

    /// Claims of a v2 bearer token LCW gets for `audience` (docs/protocol.md §3.4):
    /// `https://login.microsoftonline.com/<tid>/v2.0`, `azp` = Lifecycle Workflows, `azpacr`
    /// `"2"`, `ver` `"2.0"`, no `appid`.
    pub fn bearer_v2_claims(&self, audience: &str) -> Value {
        let mut claims = self.common_claims(audience, &v2_issuer(&self.tenant_id));
        claims["azp"] = json!(LIFECYCLE_WORKFLOWS_APP_ID);
        claims["azpacr"] = json!("2");
        claims["ver"] = json!("2.0");
        claims
    }

    /// The SHR header MSAL writes: `{"alg": key.alg(), "kid": key.thumbprint(), "typ": "pop"}`.
    pub fn signed_http_request_header(&self, key: &CallerKey) -> Value {
        json!({ "alg": key.alg(), "kid": key.thumbprint(), "typ": "pop" })
    }

    /// The SHR payload: `at`, `ts`, `nonce`, `cnf: {jwk}`, and `m`/`u`/`p` when set.
    pub fn signed_http_request_claims(&self, key: &CallerKey, request: &PopRequest) -> Value {
        let mut claims = json!({
            "at": request.at,
            "ts": request.ts,
            "nonce": request.nonce,
            "cnf": { "jwk": key.public_jwk() },
        });
        for (name, value) in [("m", &request.m), ("u", &request.u), ("p", &request.p)] {
            if let Some(value) = value {
                claims[name] = json!(value);
            }
        }
        claims
    }

    /// The compact SHR that follows `PoP ` in `Authorization`, signed with `key`.
    pub fn signed_http_request(&self, key: &CallerKey, request: &PopRequest) -> String {
        self.sign(
            self.signed_http_request_header(key),
            self.signed_http_request_claims(key, request),
            &SigningKey::Caller(key.clone()),
        )
    }

    /// Claims every app-only token carries.
    fn common_claims(&self, audience: &str, issuer: &str) -> Value {
        let now = now_secs();
        json!({
            "aud": audience,
            "iss": issuer,
            "iat": now - BACKDATE_SECS,
            "nbf": now - BACKDATE_SECS,
            "exp": now + LIFETIME_SECS,
            "aio": random_b64url(48),
            "oid": CALLER_SERVICE_PRINCIPAL_ID,
            "sub": CALLER_SERVICE_PRINCIPAL_ID,
            "tid": self.tenant_id,
            "uti": random_b64url(16),
        })
    }
}

fn token_header(key: &TenantKey) -> Value {
    json!({ "typ": "JWT", "alg": "RS256", "kid": key.kid, "x5t": key.kid })
}

/// Unix seconds now.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// A fresh SHR nonce: 16 random bytes, `base64url`.
fn new_nonce() -> String {
    random_b64url(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minter() -> Minter {
        Minter::new("tid-1", Arc::new(KeyStore::generate().unwrap()))
    }

    fn part(token: &str, index: usize) -> Value {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(index).unwrap())
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn header_is_signed_as_given() {
        let minter = minter();
        let header = json!({"alg": "HS512", "kid": "nope", "typ": "weird"});
        let token = minter.sign(header.clone(), json!({"a": 1}), &SigningKey::Tenant);
        assert_eq!(part(&token, 0), header);
        assert_eq!(part(&token, 1), json!({"a": 1}));
    }

    #[test]
    fn hmac_forge_is_reproducible() {
        let minter = minter();
        let key = SigningKey::Hmac(b"secret".to_vec());
        let a = minter.sign(json!({"alg": "HS256"}), json!({}), &key);
        let b = minter.sign(json!({"alg": "HS256"}), json!({}), &key);
        assert_eq!(a, b);
        assert_eq!(a.rsplit('.').next().unwrap().len(), 43);
        assert_eq!(format!("{key:?}"), "Hmac(<6 bytes>)");
    }

    #[test]
    fn sign_with_omits_absent_request_fields() {
        let minter = minter();
        let key = CallerKey::ec_p256();
        let request = PopRequest {
            at: "at".into(),
            ts: 1,
            nonce: "n".into(),
            m: None,
            u: Some("host".into()),
            p: None,
        };
        let claims = minter.signed_http_request_claims(&key, &request);
        assert_eq!(
            claims,
            json!({"at": "at", "ts": 1, "nonce": "n", "u": "host", "cnf": {"jwk": key.public_jwk()}})
        );
    }

    #[test]
    fn managed_identity_tokens_name_the_identity_not_lifecycle_workflows() {
        let minter = minter();
        let claims = minter.managed_identity_v1_claims("client-1", "principal-1", ARM_AUDIENCE);
        assert_eq!(claims["appid"], "client-1");
        assert_eq!(claims["oid"], "principal-1");
        assert_eq!(claims["sub"], "principal-1");
        assert_eq!(claims["aud"], ARM_AUDIENCE);
        assert_eq!(claims["iss"], v1_issuer("tid-1"));
        assert_eq!(claims["idtyp"], "app");
        assert_eq!(claims["ver"], "1.0");
        assert!(
            claims.get("azp").is_none(),
            "v1 tokens name the caller in appid only"
        );
    }

    #[test]
    fn access_token_header_names_the_current_kid() {
        let minter = minter();
        let token = minter.access_token(json!({}));
        let header = part(&token, 0);
        assert_eq!(header["kid"], minter.current_kid());
        assert_eq!(header["x5t"], minter.current_kid());
        assert_eq!(minter.access_token_header(), header);
    }
}
