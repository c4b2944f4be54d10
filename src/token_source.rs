//! The outbound token as the runtime uses it: never waited for past a stop instant, and
//! renewable once Graph has refused it.
//!
//! **Bounded.** `azure_identity` caches the token and, on a miss, fetches it while holding the
//! cache's write lock; every other caller waits on that lock. With the SDK's default retry
//! (about 82 s against a failing endpoint) a managed-identity outage therefore queued
//! concurrent invocations one behind another for minutes. The credential is now built without
//! the SDK's retry ([`crate::credential`]), and every wait here is cut at the caller's stop
//! instant (the end of its retry window, or the task's deadline, whichever is first): a fetch
//! that cannot finish in time fails the attempt at once, the invocation hands the task back to
//! the queue, and the host redelivers it. Retrying is the caller's one retry policy
//! ([`crate::retry`]), which already runs until that same instant.
//!
//! **Renewable.** `azure_identity` 1.0 has no way to make a credential drop its cached token
//! (`TokenRequestOptions` carries no refresh flag, the cache is private), and a token Graph
//! refuses with `401` (revoked, or issued before a role change) would otherwise be served from
//! the cache until five minutes before it expires. So the source keeps the means to build a
//! credential and, when told a token was refused, builds a fresh instance: its empty cache
//! makes the next request fetch a new token. Building one reads the environment and sets up a
//! pipeline, no network. Each token is handed out with the [`Generation`] of the instance that
//! issued it, so many requests refused at once renew once, not once each. Nothing else ever
//! replaces the instance: in the normal case a process fetches one token, as before.
//!
//! A renewal bypasses the SDK's cache only: the App Service token service keeps its own
//! (about 8 h per resource, docs/protocol.md §9.1) and may hand back the same token. A `401`
//! that survives the renewal is therefore treated as an outage by the resume (handed back to
//! the queue, poisoned after the last attempt), never as a reason to drop the task.
//!
//! Errors never contain a token: they carry the credential's own message, which describes
//! the endpoint's answer.

use std::fmt;
use std::sync::{Arc, RwLock};

use azure_core::credentials::{AccessToken, TokenCredential};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::credential::CredentialError;

/// Which credential instance issued a token. Compared, never interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

/// Builds a fresh credential instance.
type Build = dyn Fn() -> Result<Arc<dyn TokenCredential>, CredentialError> + Send + Sync;

/// Why no token was had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The credential failed (the identity endpoint answered an error, or could not be reached).
    #[error("the managed identity gave no token: {0}")]
    Failed(String),
    /// The stop instant came first.
    #[error(
        "no token from the managed identity before this attempt's time ran out ({waited_ms} ms)"
    )]
    OutOfTime {
        /// How long this request waited.
        waited_ms: u128,
    },
}

struct Current {
    credential: Arc<dyn TokenCredential>,
    generation: Generation,
}

/// Tokens from one credential, bounded and renewable. Cheap to clone.
#[derive(Clone)]
pub struct TokenSource {
    current: Arc<RwLock<Current>>,
    build: Option<Arc<Build>>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("generation", &self.read().generation)
            .field("renewable", &self.build.is_some())
            .finish()
    }
}

impl TokenSource {
    /// Tokens from `credential`, which is never replaced (a test's fake, a user's own).
    pub fn fixed(credential: Arc<dyn TokenCredential>) -> TokenSource {
        TokenSource {
            current: Arc::new(RwLock::new(Current {
                credential,
                generation: Generation(0),
            })),
            build: None,
        }
    }

    /// Tokens from credentials made by `build`: one now, a fresh one after each refusal.
    pub fn renewable(
        build: impl Fn() -> Result<Arc<dyn TokenCredential>, CredentialError> + Send + Sync + 'static,
    ) -> Result<TokenSource, CredentialError> {
        let credential = build()?;
        let mut source = TokenSource::fixed(credential);
        source.build = Some(Arc::new(build));
        Ok(source)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Current> {
        // Poisoning means a panic while swapping two fields; the data is still a valid pair.
        self.current.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A token for `scope`, waiting no later than `stop_at`. A cached token is returned even
    /// when `stop_at` has passed: the credential answers it without waiting.
    pub async fn token(
        &self,
        scope: &str,
        stop_at: Instant,
    ) -> Result<(AccessToken, Generation), TokenError> {
        let (credential, generation) = {
            let current = self.read();
            (current.credential.clone(), current.generation)
        };
        let started = Instant::now();
        // `timeout_at` polls the fetch before looking at the clock, so a cached token wins.
        match tokio::time::timeout_at(stop_at, credential.get_token(&[scope], None)).await {
            Ok(Ok(token)) => Ok((token, generation)),
            Ok(Err(error)) => Err(TokenError::Failed(error.to_string())),
            Err(_) => Err(TokenError::OutOfTime {
                waited_ms: started.elapsed().as_millis(),
            }),
        }
    }

    /// Graph refused a token of `generation`: the next request gets a freshly fetched one.
    /// Returns whether that will happen (a fixed credential cannot renew).
    pub fn renew_after_refusal(&self, generation: Generation) -> bool {
        let Some(build) = &self.build else {
            return false;
        };
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        if current.generation != generation {
            return true; // another refused request renewed it already
        }
        match build() {
            Ok(credential) => {
                current.credential = credential;
                current.generation = Generation(generation.0 + 1);
                info!(
                    "Graph refused the managed identity's token; the next request fetches a fresh one"
                );
                true
            }
            Err(error) => {
                warn!(%error, "cannot renew the managed identity after Graph refused its token; keeping the current one");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use azure_core::credentials::{Secret, TokenRequestOptions};
    use azure_core::time::OffsetDateTime;

    /// A credential that caches its first token forever, like the SDK's between refreshes,
    /// and counts fetches across instances.
    #[derive(Debug)]
    struct Caching {
        fetches: Arc<AtomicUsize>,
        cached: tokio::sync::OnceCell<AccessToken>,
    }

    #[async_trait::async_trait]
    impl TokenCredential for Caching {
        async fn get_token(
            &self,
            _scopes: &[&str],
            _options: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            let token = self
                .cached
                .get_or_init(|| async {
                    let n = self.fetches.fetch_add(1, Ordering::SeqCst);
                    AccessToken::new(
                        Secret::new(format!("token-{n}")),
                        OffsetDateTime::now_utc() + Duration::from_secs(3600),
                    )
                })
                .await;
            Ok(token.clone())
        }
    }

    /// A credential whose endpoint never answers.
    #[derive(Debug)]
    struct Hanging;

    #[async_trait::async_trait]
    impl TokenCredential for Hanging {
        async fn get_token(
            &self,
            _scopes: &[&str],
            _options: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            std::future::pending().await
        }
    }

    fn caching_source() -> (TokenSource, Arc<AtomicUsize>) {
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let source = TokenSource::renewable(move || {
            Ok(Arc::new(Caching {
                fetches: counter.clone(),
                cached: Default::default(),
            }) as Arc<dyn TokenCredential>)
        })
        .unwrap();
        (source, fetches)
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[tokio::test]
    async fn one_fetch_serves_every_request_until_a_refusal() {
        let (source, fetches) = caching_source();
        for _ in 0..3 {
            let (token, _) = source.token("s", far()).await.unwrap();
            assert_eq!(token.token.secret(), "token-0");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_refusal_renews_once_however_many_requests_saw_it() {
        let (source, fetches) = caching_source();
        let (_, refused) = source.token("s", far()).await.unwrap();
        assert!(source.renew_after_refusal(refused));
        assert!(source.renew_after_refusal(refused), "already renewed");
        let (token, generation) = source.token("s", far()).await.unwrap();
        assert_eq!(token.token.secret(), "token-1", "a freshly fetched token");
        assert_ne!(generation, refused);
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_fixed_credential_cannot_renew() {
        let source = TokenSource::fixed(Arc::new(Caching {
            fetches: Default::default(),
            cached: Default::default(),
        }));
        let (_, generation) = source.token("s", far()).await.unwrap();
        assert!(!source.renew_after_refusal(generation));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_endpoint_is_waited_for_until_the_stop_instant_only() {
        let source = TokenSource::fixed(Arc::new(Hanging));
        let started = Instant::now();
        let error = source
            .token("s", started + Duration::from_secs(2))
            .await
            .unwrap_err();
        assert_eq!(error, TokenError::OutOfTime { waited_ms: 2000 });
        assert_eq!(Instant::now() - started, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cached_token_is_served_even_past_the_stop_instant() {
        let (source, _) = caching_source();
        source.token("s", far()).await.unwrap();
        let past = Instant::now();
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(source.token("s", past).await.is_ok());
    }
}
