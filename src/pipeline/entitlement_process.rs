//! Phase two for Entitlement Management: work item → decision → resume, under the rules of
//! LCW processing (`process.rs`): the deadline (EM's own window, up to 14 days), the retry
//! window, the attempt limit, and never dropping a task silently.
//!
//! What EM changes:
//!
//! - **The last attempt fails closed.** LCW's resume can say `failed`; EM's cannot. A task that
//!   keeps failing (or panics, or overruns) has its request **denied** where the stage allows a
//!   denial — a request whose check could not run is not let through — with a generic detail
//!   (the reason stays in our log: the detail is shown to requestors and approvers). Where no
//!   denial is possible, nothing is sent and EM's timeout ends the wait; the log says so.
//! - **Decisions the stage does not permit** are our error, named with the stage
//!   (`DecisionError`), never sent to Graph.
//! - **Fire-and-forget stages** (before expiry) run the task and send nothing back.
//! - **Graph's `UnknownError` with an empty message**, the one real EM resume error seen, is
//!   logged with what usually causes it and the request id for a support case.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::Instant;
use tracing::{Instrument, error, info, info_span, warn};

use super::Pipeline;
use super::process::{Attempt, Disposition, ProcessReport};
use super::run_decision::{DecisionResult, run_decision};
use crate::entitlement::{Decision, EntitlementCallout, EntitlementWorkItem, resume_request};
use crate::resume::{GraphFailure, ResumeError};
use crate::task::entitlement::EntitlementContext;

/// The detail sent with a denial the runtime makes because the task could not decide.
pub const FAILED_CHECK_DETAIL: &str =
    "The automated check for this request could not be completed, so the request was denied.";

fn finished(summary: String) -> ProcessReport {
    ProcessReport {
        disposition: Disposition::Finished,
        resumed: None,
        summary,
    }
}

fn retry_later(summary: String) -> ProcessReport {
    ProcessReport {
        disposition: Disposition::RetryLater,
        resumed: None,
        summary,
    }
}

impl Pipeline {
    /// Processes one delivery of an EM work item.
    pub async fn process_entitlement(
        &self,
        message: Value,
        attempt: Attempt,
        invocation_id: &str,
    ) -> ProcessReport {
        let started = Instant::now();
        let (item, callout) = match EntitlementWorkItem::decode(message) {
            Ok(decoded) => decoded,
            Err(e) => {
                // As for LCW items: fail the delivery so the message reaches the poison queue.
                error!(invocation_id, attempt = attempt.number, error = %e, "malformed Entitlement Management work item");
                return retry_later(format!("malformed work item: {e}"));
            }
        };
        let span = info_span!(
            "process_entitlement",
            invocation_id,
            custom_extension_stage_instance_id = %callout.stage_instance_id,
            stage = %callout.stage,
            attempt = attempt.number,
        );
        self.process_entitlement_item(item, Arc::new(callout), attempt, invocation_id, started)
            .instrument(span)
            .await
    }

    async fn process_entitlement_item(
        &self,
        item: EntitlementWorkItem,
        callout: Arc<EntitlementCallout>,
        attempt: Attempt,
        invocation_id: &str,
        started: Instant,
    ) -> ProcessReport {
        let now = OffsetDateTime::now_utc();
        let Some(time_left) = Duration::try_from(item.deadline - now)
            .ok()
            .filter(|d| !d.is_zero())
        else {
            error!(deadline = %item.deadline, "the callout's deadline has passed; Entitlement Management no longer waits for it");
            return finished("deadline passed: nothing sent back".to_owned());
        };
        let deadline_at = Instant::now() + time_left;
        let retry_until = (started + self.config.retry_window).min(deadline_at);
        let ctx = EntitlementContext {
            callout: callout.clone(),
            raw_callout: Arc::new(item.callout),
            attempt: attempt.number,
            max_attempts: attempt.max,
            deadline: item.deadline,
            retry_until,
            invocation_id: invocation_id.into(),
            graph: self.graph.clone(),
        };
        let limit = self.config.task_timeout.min(time_left);
        let decision = match run_decision(self.entitlement_task.as_ref(), ctx, limit).await {
            DecisionResult::Decided(decision) => decision,
            DecisionResult::Failed(reason) => match self.failed_check(&callout, &reason) {
                Some(decision) => decision,
                None => return finished(format!("task failed: {reason}; nothing sent back")),
            },
            DecisionResult::Retry(reason) if attempt.is_last() => {
                warn!(%reason, "the task failed on its last attempt");
                match self.failed_check(&callout, &reason) {
                    Some(decision) => decision,
                    None => return finished(format!("task failed: {reason}; nothing sent back")),
                }
            }
            DecisionResult::Retry(reason) => {
                warn!(%reason, "task will be retried");
                return retry_later(format!(
                    "attempt {}/{} will be retried: {reason}",
                    attempt.number, attempt.max
                ));
            }
        };

        if !callout.waits_for_resume {
            info!(
                decision = decision.name(),
                "Entitlement Management does not wait at this stage: nothing sent back"
            );
            return finished(format!(
                "{} at {}: fire-and-forget, not resumed",
                decision.name(),
                callout.stage
            ));
        }
        let resume = match resume_request::build(
            self.graph.base_url(),
            self.graph.version(),
            &callout,
            &decision,
        ) {
            Ok(resume) => resume,
            Err(e) => {
                error!(error = %e, decision = decision.name(), "the task's decision cannot be sent at this stage; nothing is sent back and the request waits for Entitlement Management's timeout");
                return finished(format!("decision not sent: {e}"));
            }
        };

        match self
            .resumer
            .post(&resume.url, &resume.body, retry_until)
            .await
        {
            Ok(posted) => {
                let tries = posted.tries;
                info!(
                    decision = decision.name(),
                    tries,
                    request_id = posted.request_id.as_deref().unwrap_or(""),
                    "resumed"
                );
                finished(format!(
                    "resumed {} at {} after {tries} request(s)",
                    decision.name(),
                    callout.stage
                ))
            }
            Err(ResumeError::Rejected(failure)) => {
                error!(
                    http_status = failure.status,
                    graph_code = failure.code.as_deref().unwrap_or(""),
                    request_id = failure.request_id.as_deref().unwrap_or(""),
                    message = %failure.message,
                    hint = rejection_hint(&failure),
                    decision = decision.name(),
                    "Graph rejected the Entitlement Management resume; not retrying"
                );
                finished(format!("resume rejected: {failure}"))
            }
            Err(e @ ResumeError::Forbidden { .. })
                if attempt.is_last() || Instant::now() >= deadline_at =>
            {
                error!(
                    error = %e,
                    managed_identity_client_id = %self.config.identity.client_id_for_logs(),
                    "Graph refused every Entitlement Management resume with 403 Forbidden: EM has no authorizedApps; give the managed identity EntitlementManagement.ReadWrite.All, or the Access package assignment manager role on the catalog; the message goes to the poison queue"
                );
                retry_later(format!("resume forbidden: {e}"))
            }
            Err(e @ ResumeError::OutOfTime { .. }) if Instant::now() >= deadline_at => {
                error!(error = %e, "deadline reached while resuming");
                finished(format!("deadline reached: {e}"))
            }
            Err(e) => {
                if attempt.is_last() {
                    error!(error = %e, "resume not delivered on the last attempt; the message goes to the poison queue");
                } else {
                    warn!(error = %e, "resume not delivered in this invocation; handing back to the queue");
                }
                retry_later(format!("resume not delivered: {e}"))
            }
        }
    }

    /// What to send when the task could not decide: a denial where the stage allows one,
    /// otherwise nothing (EM's timeout ends the wait). Logged either way, with the reason.
    fn failed_check(&self, callout: &EntitlementCallout, reason: &str) -> Option<Decision> {
        if callout.waits_for_resume && callout.stage.allows_deny() {
            error!(%reason, "the task could not decide; denying the request (fail closed)");
            Some(Decision::deny(FAILED_CHECK_DETAIL))
        } else {
            error!(%reason, "the task could not decide, and this stage allows no denial: nothing is sent back; Entitlement Management records the callout as timed out");
            None
        }
    }
}

/// What usually lies behind a rejection, for the log line. EM's only observed resume error is
/// `UnknownError` with an empty message (docs/protocol.md §7.5).
fn rejection_hint(failure: &GraphFailure) -> &'static str {
    let unknown = failure
        .code
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("UnknownError"));
    if unknown && failure.message.trim().is_empty() {
        "Graph gave no reason (UnknownError, empty message): usually the request is no longer WaitingForCallback (already resumed, timed out, or cancelled), or Graph refused the stage or body; check the request's customExtensionCalloutInstances status, and quote the request-id in a support case"
    } else if failure.status == Some(404) {
        "the assignment request does not exist (anymore) under this Graph version"
    } else {
        "see Graph's code and message"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_unknown_error_gets_a_useful_hint() {
        let failure = GraphFailure {
            status: Some(400),
            code: Some("UnknownError".to_owned()),
            request_id: Some("r-1".to_owned()),
            message: String::new(),
        };
        assert!(rejection_hint(&failure).contains("WaitingForCallback"));
        assert!(failure.to_string().contains("no message"), "{failure}");
        assert!(failure.to_string().contains("r-1"), "{failure}");
    }
}
