//! A time limit for anything that waits on another process: the integration tests of this
//! workspace wrap their bodies in [`within`], so a handler that waits too long (a `Retry-After`
//! misread as minutes, a token fetch that never gives up, a queue that never drains) fails the
//! test with a message naming it, instead of hanging CI until its own timeout.
//!
//! Dropping the timed-out future drops what it owns (hosts, tenants), and their `Drop` kills the
//! child processes, so a failed test leaves nothing running.

use std::future::Future;
use std::time::Duration;

/// The limit for one integration test: far above what any test needs on a loaded 2-core
/// machine, far below CI's own timeout.
pub const TEST_TIME_LIMIT: Duration = Duration::from_secs(180);

/// Runs `work` for at most `limit`; past it, panics naming `what` and the limit.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// let answer = lcw_emulator::time_limit::within(Duration::from_secs(1), "the answer", async { 42 }).await;
/// assert_eq!(answer, 42);
/// # }
/// ```
pub async fn within<T>(limit: Duration, what: &str, work: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, work).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {limit:?}; failing instead of hanging"),
    }
}

/// [`within`] with [`TEST_TIME_LIMIT`]: the body of an integration test.
pub async fn test_body<T>(test: &str, body: impl Future<Output = T>) -> T {
    within(TEST_TIME_LIMIT, test, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "stuck did not finish within 5s")]
    async fn a_future_past_its_limit_fails_with_its_name() {
        within(
            Duration::from_secs(5),
            "stuck",
            std::future::pending::<()>(),
        )
        .await;
    }

    #[tokio::test]
    async fn a_prompt_future_gives_its_value() {
        assert_eq!(
            within(Duration::from_secs(5), "prompt", async { 7 }).await,
            7
        );
    }
}
