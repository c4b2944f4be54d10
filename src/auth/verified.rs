//! Remembering tokens that already passed, so a callout pays for one signature, not two.
//!
//! LCW reuses its access token for many callouts (MSAL caches it until shortly before expiry)
//! and signs each request with the same key. Verifying that same token and parsing that same
//! key again for every callout doubles the RSA work on the acknowledgement path. A token that
//! passed every check with the same expectations is remembered — by its full text, so no
//! collision can stand in for a signature — until its `exp`; its lifetime is re-checked on
//! every use. Failures are never cached: an attacker learns nothing from the cache and a
//! transient key problem is retried.

use std::sync::{Arc, Mutex};

use jsonwebtoken::DecodingKey;

use super::access_token::{CLOCK_SKEW_SECONDS, VerifiedToken};
use crate::bounded::BoundedMap;

/// Tokens remembered (a tenant has one LCW token at a time; this leaves room for several).
const TOKEN_CAPACITY: usize = 256;
/// Request keys remembered.
const KEY_CAPACITY: usize = 64;

/// A verified token and the times that bound its use.
#[derive(Debug, Clone)]
struct Remembered {
    token: VerifiedToken,
    exp: i64,
    nbf: Option<i64>,
}

/// A parsed PoP request key and its RFC 7638 thumbprint.
#[derive(Clone)]
pub(crate) struct RequestKey {
    pub key: Arc<DecodingKey>,
    pub thumbprint: String,
}

/// The caches of one authenticator. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Verified {
    tokens: Arc<Mutex<BoundedMap<String, Remembered>>>,
    keys: Arc<Mutex<BoundedMap<String, RequestKey>>>,
}

impl Default for Verified {
    fn default() -> Self {
        Verified {
            tokens: Arc::new(Mutex::new(BoundedMap::new(TOKEN_CAPACITY))),
            keys: Arc::new(Mutex::new(BoundedMap::new(KEY_CAPACITY))),
        }
    }
}

impl Verified {
    /// A token verified before under `profile`, if it is still within its lifetime at `now`.
    pub(crate) fn token(&self, profile: &str, token: &str, now: i64) -> Option<VerifiedToken> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let remembered = tokens.get(&cache_key(profile, token))?;
        let skew = CLOCK_SKEW_SECONDS as i64;
        let current =
            now <= remembered.exp + skew && remembered.nbf.is_none_or(|nbf| nbf - skew <= now);
        current.then(|| remembered.token.clone())
    }

    /// Remembers a token that passed every check under `profile`.
    pub(crate) fn remember_token(&self, profile: &str, token: &str, verified: &VerifiedToken) {
        let Some(exp) = verified
            .claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
        else {
            return;
        };
        let nbf = verified
            .claims
            .get("nbf")
            .and_then(serde_json::Value::as_i64);
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.insert_new(
            cache_key(profile, token),
            Remembered {
                token: verified.clone(),
                exp,
                nbf,
            },
        );
    }

    /// A request key parsed before from this exact JWK text.
    pub(crate) fn request_key(&self, jwk_text: &str) -> Option<RequestKey> {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.get(&jwk_text.to_owned()).cloned()
    }

    /// Remembers a parsed request key.
    pub(crate) fn remember_request_key(&self, jwk_text: String, key: RequestKey) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.insert_new(jwk_text, key);
    }
}

fn cache_key(profile: &str, token: &str) -> String {
    format!("{profile}\n{token}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EXP: i64 = 1_900_000_000;

    fn verified(claims: serde_json::Value) -> VerifiedToken {
        VerifiedToken {
            claims: claims.as_object().cloned().unwrap_or_default(),
            caller_app_id: "app".to_owned(),
        }
    }

    #[test]
    fn a_remembered_token_is_served_only_within_its_lifetime() {
        let cache = Verified::default();
        cache.remember_token(
            "bearer",
            "t",
            &verified(json!({"exp": EXP, "nbf": EXP - 3600})),
        );
        let skew = CLOCK_SKEW_SECONDS as i64;
        assert!(cache.token("bearer", "t", EXP - 60).is_some());
        assert!(cache.token("bearer", "t", EXP + skew).is_some(), "skew");
        assert!(
            cache.token("bearer", "t", EXP + skew + 1).is_none(),
            "past exp (and the skew) the token must be verified again, and fail"
        );
        assert!(
            cache.token("bearer", "t", EXP - 3600 - skew - 1).is_none(),
            "before nbf"
        );
    }

    #[test]
    fn a_token_verified_for_one_scheme_is_not_served_for_another() {
        let cache = Verified::default();
        cache.remember_token("pop", "t", &verified(json!({"exp": EXP})));
        assert!(cache.token("pop", "t", EXP - 60).is_some());
        assert!(
            cache.token("bearer", "t", EXP - 60).is_none(),
            "checked against PoP's expectations, not the bearer audience"
        );
    }

    #[test]
    fn a_token_without_exp_is_never_remembered() {
        let cache = Verified::default();
        cache.remember_token("bearer", "t", &verified(json!({})));
        assert!(cache.token("bearer", "t", 0).is_none());
    }
}
