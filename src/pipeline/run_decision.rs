//! Runs the user's Entitlement Management task so that nothing it does can take the handler
//! down: a panic or an overrun becomes a failure, as for Lifecycle Workflows tasks
//! (`run_task`).

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;

use super::run_task::panic_message;
use crate::entitlement::Decision;
use crate::task::entitlement::{EntitlementContext, EntitlementTask};

/// What one run of an EM task came to.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum DecisionResult {
    /// Send this decision.
    Decided(Decision),
    /// The task panicked or overran: final, like a last failed attempt.
    Failed(String),
    /// The task asked to be tried again later.
    Retry(String),
}

/// Runs `task` for at most `limit`.
pub(super) async fn run_decision(
    task: &dyn EntitlementTask,
    ctx: EntitlementContext,
    limit: Duration,
) -> DecisionResult {
    let run = AssertUnwindSafe(task.decide(ctx)).catch_unwind();
    match tokio::time::timeout(limit, run).await {
        Err(_) => DecisionResult::Failed(format!(
            "the task did not finish within {}s",
            limit.as_secs()
        )),
        Ok(Err(panic)) => DecisionResult::Failed(format!(
            "the task panicked: {}",
            panic_message(panic.as_ref())
        )),
        Ok(Ok(Ok(decision))) => DecisionResult::Decided(decision),
        Ok(Ok(Err(error))) => DecisionResult::Retry(error.message().to_owned()),
    }
}
