//! Runs the user's task so that nothing it does can take the handler down: a panic or an
//! overrun becomes an outcome.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;

use crate::task::{Outcome, Task, TaskContext};

/// What one run of the task came to, from the runtime's point of view.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TaskResult {
    /// Report this outcome.
    Final(Outcome),
    /// The task asked to be tried again later.
    Retry(String),
}

/// Runs `task` for at most `limit`.
pub(super) async fn run_task(task: &dyn Task, ctx: TaskContext, limit: Duration) -> TaskResult {
    let run = AssertUnwindSafe(task.run(ctx)).catch_unwind();
    match tokio::time::timeout(limit, run).await {
        Err(_) => TaskResult::Final(Outcome::failed(format!(
            "the task did not finish within {}s",
            limit.as_secs()
        ))),
        Ok(Err(panic)) => TaskResult::Final(Outcome::failed(format!(
            "the task panicked: {}",
            panic_message(panic.as_ref())
        ))),
        Ok(Ok(Ok(outcome))) => TaskResult::Final(outcome),
        Ok(Ok(Err(error))) => TaskResult::Retry(error.message().to_owned()),
    }
}

pub(super) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
