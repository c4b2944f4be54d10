//! The one retry policy: exponential backoff with full jitter, honouring `Retry-After`, bounded
//! by a stop instant.
//!
//! Both outbound calls that can fail transiently (Graph resume and the webhook task) go through
//! [`retry`], so their behaviour under throttling is the same and is tested once. In-process
//! retries are deliberately short: queue redelivery is the outer loop (docs/protocol.md §5.6, §8.10).

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

/// Backoff shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay cap for the first retry; doubles with each further one.
    pub base_delay: Duration,
    /// No backoff wait is longer than this (a server's `Retry-After` is honoured as given).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// What one try of an operation came to.
#[derive(Debug)]
pub enum Try<T, E> {
    /// It worked.
    Done(T),
    /// It failed in a way that retrying cannot fix.
    Permanent(E),
    /// It failed in a way that may pass; `retry_after` is the server's request, if any.
    Transient {
        /// The failure.
        error: E,
        /// How long the server asked us to wait.
        retry_after: Option<Duration>,
    },
}

/// Why [`retry`] gave up.
#[derive(Debug, PartialEq, Eq)]
pub enum GaveUp<E> {
    /// A try failed permanently.
    Permanent(E),
    /// The stop instant came (or a requested wait would pass it) while failures were transient.
    OutOfTime {
        /// The last transient failure.
        last: E,
        /// How many tries were made.
        tries: u32,
    },
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based): the server's `Retry-After` when given,
    /// else a random delay up to `base_delay * 2^(retry-1)`, capped at `max_delay`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait;
        }
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(20))
            .min(self.max_delay);
        let millis = ceiling.as_millis().max(1) as u64;
        Duration::from_millis(rand::rng().random_range(millis / 2..=millis))
    }
}

/// Runs `attempt` until it is done, fails permanently, or `stop_at` leaves no room for the next
/// wait. The first try is always made, even if `stop_at` has passed, so an invocation that
/// spent its window in user code still gets one chance to report.
pub async fn retry<T, E, F, Fut>(
    policy: RetryPolicy,
    stop_at: Instant,
    mut attempt: F,
) -> Result<T, GaveUp<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Try<T, E>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt(tries).await {
            Try::Done(value) => return Ok(value),
            Try::Permanent(error) => return Err(GaveUp::Permanent(error)),
            Try::Transient { error, retry_after } => {
                let wait = policy.delay(tries, retry_after);
                if Instant::now() + wait >= stop_at {
                    return Err(GaveUp::OutOfTime { last: error, tries });
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Reads a `Retry-After` header: delta-seconds (Graph's form). HTTP dates are not used by Graph
/// and are ignored, which falls back to backoff.
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        for retry in 1..=12 {
            let ceiling = (Duration::from_millis(500) * 2u32.pow(retry - 1)).min(policy.max_delay);
            let d = policy.delay(retry, None);
            assert!(
                d <= ceiling && d >= ceiling / 2,
                "retry {retry}: {d:?} vs {ceiling:?}"
            );
        }
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_failures_until_done() {
        let calls = AtomicU32::new(0);
        let result = retry(
            RetryPolicy::default(),
            Instant::now() + Duration::from_secs(60),
            |_| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 3 {
                        Try::Transient {
                            error: "busy",
                            retry_after: None,
                        }
                    } else {
                        Try::Done(n)
                    }
                }
            },
        )
        .await;
        assert_eq!(result, Ok(3));
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after() {
        let start = Instant::now();
        let result = retry(
            RetryPolicy::default(),
            start + Duration::from_secs(60),
            |n| async move {
                if n == 1 {
                    Try::Transient {
                        error: "throttled",
                        retry_after: Some(Duration::from_secs(5)),
                    }
                } else {
                    Try::Done(())
                }
            },
        )
        .await;
        assert_eq!(result, Ok(()));
        assert_eq!(
            Instant::now() - start,
            Duration::from_secs(5),
            "waited exactly Retry-After"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stops_at_the_stop_instant() {
        let start = Instant::now();
        let result: Result<(), _> = retry(
            RetryPolicy::default(),
            start + Duration::from_secs(10),
            |_| async {
                Try::Transient {
                    error: "down",
                    retry_after: None,
                }
            },
        )
        .await;
        let Err(GaveUp::OutOfTime { tries, .. }) = result else {
            panic!("expected OutOfTime, got {result:?}");
        };
        assert!(tries > 2, "retried a few times first ({tries})");
        assert!(Instant::now() - start < Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_past_the_stop_ends_at_once() {
        let start = Instant::now();
        let result: Result<(), _> = retry(
            RetryPolicy::default(),
            start + Duration::from_secs(10),
            |_| async {
                Try::Transient {
                    error: "throttled",
                    retry_after: Some(Duration::from_secs(30)),
                }
            },
        )
        .await;
        assert_eq!(
            result,
            Err(GaveUp::OutOfTime {
                last: "throttled",
                tries: 1
            })
        );
        assert_eq!(Instant::now(), start, "did not sleep");
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_failures_are_not_retried() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retry(
            RetryPolicy::default(),
            Instant::now() + Duration::from_secs(60),
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Try::Permanent("bad request") }
            },
        )
        .await;
        assert_eq!(result, Err(GaveUp::Permanent("bad request")));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn retry_after_header_forms() {
        assert_eq!(parse_retry_after(Some("3")), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(Some(" 10 ")),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2026 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None), None);
    }
}
