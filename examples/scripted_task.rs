//! A task whose behaviour is chosen by the user's display name — a fixture for replaying every
//! failure path through the real binary (the integration tests use it; so can you, to see how
//! the runtime reacts). The display name's first word picks the behaviour:
//!
//! - `Fail …` → `Outcome::Failed`;
//! - `Panic …` → the task panics;
//! - `Flaky …` → a transient error (`Err`) on every attempt but the last;
//! - `Broken …` → a transient error on every attempt;
//! - `Slow …` → sleeps past `LCW_TASK_TIMEOUT_SECONDS`;
//! - anything else → `Outcome::Completed`.

use std::process::ExitCode;
use std::time::Duration;

use lcw_handler::task::{Outcome, TaskContext, TaskError, task_fn};

async fn scripted(ctx: TaskContext) -> Result<Outcome, TaskError> {
    let name = ctx.subject().display_name.clone().unwrap_or_default();
    match name.split_whitespace().next().unwrap_or("") {
        "Fail" => Ok(Outcome::failed("scripted failure")),
        "Panic" => panic!("scripted panic"),
        "Flaky" if !ctx.is_last_attempt() => Err(TaskError::new("scripted transient error")),
        "Broken" => Err(TaskError::new("scripted permanent outage")),
        "Slow" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(Outcome::Completed)
        }
        _ => Ok(Outcome::Completed),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    lcw_handler::run(task_fn(scripted)).await
}
