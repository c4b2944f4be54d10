//! The tenant's token-signing keys: discovered, cached, refreshed, never waited on for long.
//!
//! Keys are fetched in the background from the moment the handler starts, so readiness never
//! waits on the network. A callout only waits when it names a key we have not seen (Entra
//! rotates keys) or when the first fetch has not finished — and then for at most
//! [`KEY_WAIT_BUDGET`], well inside LCW's one-second acknowledgement window. A failed refresh
//! keeps the last good set; on-demand refreshes are rate-limited so a flood of forged `kid`s
//! cannot turn the handler into a load generator against the authority.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use serde::Deserialize;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tracing::{info, warn};

use super::reason::KeysUnavailable;

/// The longest a callout waits for keys.
pub const KEY_WAIT_BUDGET: Duration = Duration::from_millis(500);
/// Routine refresh interval (Entra publishes new keys well before using them).
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(3600);
/// At most one refresh for an unknown `kid` per this interval.
pub const ON_DEMAND_REFRESH_GAP: Duration = Duration::from_secs(60);
/// Timeout of one discovery or key-set request.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The keys we hold, by `kid`.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, Arc<DecodingKey>>,
}

impl KeySet {
    /// Builds a set from a JWKS, keeping RSA signing keys that have a `kid`.
    pub fn from_jwks(jwks: &JwkSet) -> KeySet {
        let keys = jwks
            .keys
            .iter()
            .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some((kid, Arc::new(key)))
            })
            .collect();
        KeySet { keys }
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is usable.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// What a key lookup found.
pub(crate) enum Lookup {
    /// The key.
    Found(Arc<DecodingKey>),
    /// We hold keys, and none has this `kid`.
    Unknown,
}

struct Shared {
    current: watch::Sender<Option<Arc<KeySet>>>,
    refresh: Notify,
    last_on_demand: Mutex<Option<Instant>>,
}

/// Handle to the key cache. Cheap to clone.
#[derive(Clone)]
pub struct KeyCache {
    shared: Arc<Shared>,
}

#[derive(Deserialize)]
struct OpenIdConfiguration {
    jwks_uri: String,
}

impl KeyCache {
    /// Starts fetching the keys of `tenant_id` from `authority_url` in the background.
    pub fn start(authority_url: &str, tenant_id: &str) -> KeyCache {
        let cache = KeyCache::empty();
        let discovery =
            format!("{authority_url}/{tenant_id}/v2.0/.well-known/openid-configuration");
        tokio::spawn(refresh_loop(cache.shared.clone(), discovery));
        cache
    }

    /// A cache that holds `keys` and never fetches (tests, benchmarks).
    pub fn fixed(keys: KeySet) -> KeyCache {
        let cache = KeyCache::empty();
        cache.shared.current.send_replace(Some(Arc::new(keys)));
        cache
    }

    fn empty() -> KeyCache {
        let (current, _) = watch::channel(None);
        KeyCache {
            shared: Arc::new(Shared {
                current,
                refresh: Notify::new(),
                last_on_demand: Mutex::new(None),
            }),
        }
    }

    /// The key named `kid`, refreshing once (rate-limited) if it is unknown, and waiting at
    /// most `budget` for keys to arrive.
    pub(crate) async fn key(&self, kid: &str, budget: Duration) -> Result<Lookup, KeysUnavailable> {
        let mut updates = self.shared.current.subscribe();
        let deadline = Instant::now() + budget;
        let mut asked = false;
        loop {
            let current = updates.borrow_and_update().clone();
            match current {
                Some(set) => {
                    if let Some(key) = set.keys.get(kid) {
                        return Ok(Lookup::Found(key.clone()));
                    }
                    if asked || !self.request_on_demand_refresh() {
                        return Ok(Lookup::Unknown);
                    }
                    asked = true;
                }
                None => {
                    if Instant::now() >= deadline {
                        return Err(KeysUnavailable(
                            "the first key fetch has not succeeded".to_owned(),
                        ));
                    }
                }
            }
            match tokio::time::timeout_at(deadline, updates.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) | Err(_) => {
                    return match self.shared.current.borrow().as_ref() {
                        Some(set) => Ok(set
                            .keys
                            .get(kid)
                            .map_or(Lookup::Unknown, |k| Lookup::Found(k.clone()))),
                        None => Err(KeysUnavailable(
                            "the first key fetch has not succeeded".to_owned(),
                        )),
                    };
                }
            }
        }
    }

    fn request_on_demand_refresh(&self) -> bool {
        let mut last = self
            .shared
            .last_on_demand
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|at| at.elapsed() < ON_DEMAND_REFRESH_GAP) {
            return false;
        }
        *last = Some(Instant::now());
        self.shared.refresh.notify_one();
        true
    }
}

async fn refresh_loop(shared: Arc<Shared>, discovery: String) {
    let http = crate::http_client::shared();
    let mut failures = 0u32;
    loop {
        match fetch(&http, &discovery).await {
            Ok(set) => {
                info!(keys = set.len(), "signing keys loaded");
                shared.current.send_replace(Some(Arc::new(set)));
                failures = 0;
            }
            Err(error) => {
                failures += 1;
                let holding = shared.current.borrow().is_some();
                warn!(%error, url = %discovery, keeping_last_good = holding, "signing key fetch failed");
            }
        }
        let wait = if failures == 0 {
            REFRESH_INTERVAL
        } else {
            Duration::from_secs(2u64.saturating_pow(failures.min(8))).min(Duration::from_secs(300))
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shared.refresh.notified() => {}
        }
    }
}

async fn fetch(http: &reqwest::Client, discovery: &str) -> Result<KeySet, String> {
    let configuration: OpenIdConfiguration = get_json(http, discovery).await?;
    let jwks: JwkSet = get_json(http, &configuration.jwks_uri).await?;
    let set = KeySet::from_jwks(&jwks);
    if set.is_empty() {
        return Err(format!(
            "{} holds no usable RSA signing key",
            configuration.jwks_uri
        ));
    }
    Ok(set)
}

async fn get_json<T: for<'de> Deserialize<'de>>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    let response = http
        .get(url)
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("{url}: {}", e.without_url()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url} answered {status}"));
    }
    response
        .json()
        .await
        .map_err(|e| format!("{url}: unexpected document ({})", e.without_url()))
}
