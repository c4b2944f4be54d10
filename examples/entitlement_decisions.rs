//! An Entitlement Management decision in a few lines, and a fixture for the integration tests:
//! the target user's display name picks what happens.
//!
//! - at the dynamic-approval stage, the approvers are named (a fixed approver, escalating to
//!   another after a day);
//! - `Risky …` → denied (allowed when the request is created or approved; at any other stage
//!   the runtime refuses to send it and says why);
//! - `Broken …` → a transient error on every attempt (on the last, the request is denied where
//!   the stage allows it: fail closed);
//! - anything else → continue, with a detail text for approvers.
//!
//! `cargo run --example entitlement_decisions -- serve` serves it.

use std::process::ExitCode;
use std::time::Duration;

use lcw_handler::entitlement::{ApprovalStage, Approver, Decision, StageKind};
use lcw_handler::task::TaskError;
use lcw_handler::task::builtin::Complete;
use lcw_handler::task::entitlement::{EntitlementContext, decision_fn};

/// The approver named at the dynamic-approval stage.
pub const APPROVER: &str = "7c1e4a52-0f3b-4a8e-9d6c-2b5f8e1a3c70";
/// Asked when the approver does not answer within a day.
pub const ESCALATION_APPROVER: &str = "9a3f6d21-8b4c-4e7a-b1d0-5c2e7f9a4b86";

async fn decide(ctx: EntitlementContext) -> Result<Decision, TaskError> {
    let name = ctx
        .target()
        .and_then(|t| t.display_name.clone())
        .unwrap_or_default();
    if ctx.stage().kind() == StageKind::DeterminingApprovalRequirements {
        let stage = ApprovalStage::new(vec![Approver::user(APPROVER)])
            .escalate_to([ESCALATION_APPROVER], Duration::from_secs(86_400));
        return Ok(Decision::approval(stage).with_detail(format!("approvers for {name}")));
    }
    match name.split_whitespace().next().unwrap_or("") {
        "Risky" => Ok(Decision::deny("separation-of-duties conflict")),
        "Broken" => Err(TaskError::new("scripted outage of the SoD service")),
        _ => Ok(Decision::continue_with("checked by lcw-handler")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    lcw_handler::run_with_entitlement(Complete, decision_fn(decide)).await
}
