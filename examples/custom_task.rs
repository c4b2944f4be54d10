//! A custom task, written the way you would write yours.
//!
//! Joiner workflows often need a sponsor: the new hire's manager receives the welcome pack and
//! approves first-day access. This task checks that the user has a manager and an e-mail
//! address, and fails the workflow task (so an admin sees it in the workflow's history) when
//! either is missing. A real task would go on to call Graph through `ctx.graph()`.
//!
//! Run it end to end on this machine: `cargo run --example custom_task -- demo`.
//! Deploy it: build it for Linux and ship the binary as `lcw-handler` beside `host.json`.

use std::process::ExitCode;

use lcw_handler::task::{Outcome, TaskContext, TaskError, task_fn};

/// The business logic: one async function.
async fn require_sponsor(ctx: TaskContext) -> Result<Outcome, TaskError> {
    let subject = ctx.subject();
    let Some(manager) = &subject.manager else {
        return Ok(Outcome::failed(
            "the new hire has no manager in Entra ID; set one and rerun the workflow",
        ));
    };
    if subject.email.is_none() {
        return Ok(Outcome::failed("the new hire has no mail address yet"));
    }
    // Display names are fine at info level; UPNs and mail addresses only at debug.
    tracing::info!(
        user = subject.display_name.as_deref().unwrap_or("(unnamed)"),
        sponsor = manager.display_name.as_deref().unwrap_or("(unnamed)"),
        "sponsor found"
    );
    Ok(Outcome::Completed)
}

#[tokio::main]
async fn main() -> ExitCode {
    lcw_handler::run(task_fn(require_sponsor)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use lcw_handler::callout::Callout;

    fn context(fixture: &[u8]) -> TaskContext {
        TaskContext::for_callout(Callout::parse(fixture).expect("fixture parses"))
    }

    #[tokio::test]
    async fn a_joiner_with_a_manager_completes() {
        let ctx = context(include_bytes!(
            "../tests/fixtures/callouts/launch-and-wait.json"
        ));
        assert_eq!(require_sponsor(ctx).await.unwrap(), Outcome::Completed);
    }

    #[tokio::test]
    async fn a_joiner_without_a_manager_fails_with_a_reason() {
        let ctx = context(include_bytes!("../tests/fixtures/callouts/no-manager.json"));
        let Outcome::Failed { reason } = require_sponsor(ctx).await.unwrap() else {
            panic!("expected a failure");
        };
        assert!(reason.contains("no manager"), "{reason}");
    }
}
