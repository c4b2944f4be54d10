//! The tenant's token-signing keys, as Entra publishes them in its JWKS, plus the keys the
//! emulator signs with but never publishes.
//!
//! Entra signs with one key at a time and publishes a few, so that tokens signed before a
//! rotation still validate; [`KeyStore::rotate`] and [`KeyStore::retire_old`] reproduce that
//! window. The `kid` is 20 random bytes in `base64url` (27 characters), the shape of Entra's
//! kids, which are SHA-1 certificate thumbprints; `x5t` carries the same value, as in Entra.
//!
//! The store also owns the fault-injection switches of the discovery endpoints (availability,
//! delay, request count), because they describe the same published-key service.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};

use super::jws::{CallerKey, RsaKey, random_b64url};

/// Bytes of randomness in a kid: 20, the length of the SHA-1 thumbprints Entra uses.
const KID_BYTES: usize = 20;

/// One RSA signing key with its key id.
pub(crate) struct TenantKey {
    pub(crate) kid: String,
    pub(crate) key: RsaKey,
}

impl TenantKey {
    pub(crate) fn generate() -> Result<Self, aws_lc_rs::error::Unspecified> {
        Ok(Self {
            kid: random_b64url(KID_BYTES),
            key: RsaKey::generate()?,
        })
    }

    /// The JWK Entra publishes for a signing key. `x5c` (the self-signed certificate chain) is
    /// left out: building X.509 certificates would need an ASN.1 writer, and validators take
    /// `n`/`e` (docs/protocol.md §3.6 only needs the key).
    fn jwk(&self, issuer: Option<&str>) -> Value {
        let mut jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": self.key.n_b64(),
            "e": self.key.e_b64(),
        });
        if let Some(issuer) = issuer {
            jwk["issuer"] = json!(issuer);
        }
        jwk
    }
}

/// Published and unpublished keys, and the discovery endpoints' fault injection.
pub(crate) struct KeyStore {
    /// Published keys, oldest first; the last one signs.
    published: Mutex<Vec<Arc<TenantKey>>>,
    /// A well-formed RSA key whose kid is never published, generated on first use.
    unpublished: OnceLock<Arc<TenantKey>>,
    /// Lifecycle Workflows' own PoP key for this tenant, generated on first use.
    lcw_caller_key: OnceLock<CallerKey>,
    pub(crate) available: AtomicBool,
    delay: Mutex<Duration>,
    pub(crate) requests: AtomicUsize,
}

impl KeyStore {
    /// A store with one fresh signing key.
    pub(crate) fn generate() -> Result<Self, aws_lc_rs::error::Unspecified> {
        Ok(Self {
            published: Mutex::new(vec![Arc::new(TenantKey::generate()?)]),
            unpublished: OnceLock::new(),
            lcw_caller_key: OnceLock::new(),
            available: AtomicBool::new(true),
            delay: Mutex::new(Duration::ZERO),
            requests: AtomicUsize::new(0),
        })
    }

    fn published(&self) -> MutexGuard<'_, Vec<Arc<TenantKey>>> {
        // Poisoning only means a panic elsewhere mid-update; the list is still consistent,
        // since every update is a single push or truncation.
        self.published.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key tokens are signed with.
    pub(crate) fn current(&self) -> Arc<TenantKey> {
        // The list is never empty: it starts with one key and retiring keeps the last.
        self.published()
            .last()
            .cloned()
            .expect("at least one signing key")
    }

    /// Kids of the published keys, oldest first.
    pub(crate) fn published_kids(&self) -> Vec<String> {
        self.published().iter().map(|k| k.kid.clone()).collect()
    }

    /// Adds a key, makes it current, keeps the others published; returns the new kid.
    pub(crate) fn rotate(&self) -> String {
        // Key generation fails only on an internal error of the crypto library.
        let key = Arc::new(TenantKey::generate().expect("RSA-2048 key generation"));
        let kid = key.kid.clone();
        self.published().push(key);
        kid
    }

    /// Unpublishes every key but the current one.
    pub(crate) fn retire_old(&self) {
        let mut published = self.published();
        let keep = published.len().saturating_sub(1);
        published.drain(..keep);
    }

    /// The unpublished key (generated on first use, then stable for the tenant).
    pub(crate) fn unpublished(&self) -> Arc<TenantKey> {
        self.unpublished
            .get_or_init(|| {
                // Key generation fails only on an internal error of the crypto library.
                Arc::new(TenantKey::generate().expect("RSA-2048 key generation"))
            })
            .clone()
    }

    /// Lifecycle Workflows' PoP key for this tenant (generated on first use).
    pub(crate) fn lcw_caller_key(&self) -> CallerKey {
        self.lcw_caller_key.get_or_init(CallerKey::rsa).clone()
    }

    /// `{"keys": [...]}`, each key tagged with `issuer` when given (Entra's v2 key sets carry
    /// one; the v1 set does not).
    pub(crate) fn jwks(&self, issuer: Option<&str>) -> Value {
        let keys: Vec<Value> = self.published().iter().map(|k| k.jwk(issuer)).collect();
        json!({ "keys": keys })
    }

    pub(crate) fn delay(&self) -> Duration {
        *self.delay.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_delay(&self, delay: Duration) {
        *self.delay.lock().unwrap_or_else(|e| e.into_inner()) = delay;
    }

    pub(crate) fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }

    pub(crate) fn request_count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Names kids only, never key material.
impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyStore")
            .field("published_kids", &self.published_kids())
            .field("available", &self.available.load(Ordering::SeqCst))
            .field("requests", &self.request_count())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kids_look_like_entra_kids() {
        let store = KeyStore::generate().unwrap();
        let kid = &store.published_kids()[0];
        assert_eq!(kid.len(), 27);
        assert!(
            kid.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn rotation_keeps_old_keys_until_retired() {
        let store = KeyStore::generate().unwrap();
        let first = store.current().kid.clone();
        let second = store.rotate();
        assert_eq!(store.current().kid, second);
        assert_eq!(store.published_kids(), vec![first, second.clone()]);
        store.retire_old();
        assert_eq!(store.published_kids(), vec![second]);
        store.retire_old();
        assert_eq!(store.published_kids().len(), 1);
    }

    #[test]
    fn unpublished_key_is_stable_and_never_in_the_jwks() {
        let store = KeyStore::generate().unwrap();
        let kid = store.unpublished().kid.clone();
        assert_eq!(store.unpublished().kid, kid);
        assert!(!store.jwks(None).to_string().contains(&kid));
    }
}
