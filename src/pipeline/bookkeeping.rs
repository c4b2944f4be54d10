//! What processing writes in the task ledger, and what it learns from it.
//!
//! Each delivery first asks the ledger what it may do ([`Pipeline::begin_task`]): run the
//! logic, only resend the resume, or nothing (a duplicate, or a task another worker holds).
//! Later steps are recorded through the delivery's claim. A store that fails at the start makes
//! the delivery retry later (deciding blind could run the logic twice); a store that fails
//! after the logic ran is logged and does not stop the resume (the workflow matters more than
//! the record).

use std::time::Duration;

use time::OffsetDateTime;
use tracing::{error, info, warn};

use super::Pipeline;
use super::process::ProcessReport;
use crate::callout::Callout;
use crate::ledger::{
    Begin, Claim, GraphAnswer, RecordedOutcome, RecordedStatus, StoreError, TaskFacts, TaskKey,
    TaskRecord,
};
use crate::resume::{GraphFailure, OperationStatus};
use crate::work_item::WorkItem;

/// Added to the longest an invocation may act on a task, to form its lease.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// How a delivery starts, as the ledger decides.
pub(super) enum Start {
    /// Run the logic (with the claim when a ledger is kept).
    RunLogic(Option<Claim>),
    /// The logic already finished: resume with this status only.
    SendResume(Claim, OperationStatus),
    /// Nothing to run: answer the transport with this.
    Stop(ProcessReport),
}

/// The claim was lost to another worker's takeover: stop acting on the task.
pub(super) struct LeaseLost;

impl Pipeline {
    /// How long a worker's hold on a task lasts: the longest an invocation runs the logic and
    /// resumes, plus a margin.
    pub(super) fn lease_for(&self) -> Duration {
        self.config.task_timeout + self.config.retry_window + LEASE_MARGIN
    }

    /// Asks the ledger (if any) what this delivery may do, and claims the task when it may act.
    pub(super) async fn begin_task(
        &self,
        item: &WorkItem,
        callout: &Callout,
        invocation_id: &str,
        message_id: Option<&str>,
    ) -> Start {
        let Some(ledger) = &self.ledger else {
            return Start::RunLogic(None);
        };
        let now = OffsetDateTime::now_utc();
        let key = TaskKey::lcw(&callout.task_processing_result.id);
        let first_seen = || {
            TaskRecord::new(
                key.clone(),
                TaskFacts::of(callout),
                item.accepted_at,
                item.deadline,
                now,
            )
        };
        match ledger
            .begin(
                &key,
                first_seen,
                invocation_id,
                message_id,
                self.lease_for(),
                now,
            )
            .await
        {
            Ok(Begin::RunLogic(claim)) => Start::RunLogic(Some(claim)),
            Ok(Begin::SendResume(claim, outcome)) => {
                info!(
                    outcome = outcome.status.as_str(),
                    "the logic already finished in an earlier delivery; sending the resume only"
                );
                Start::SendResume(claim, operation_status(outcome.status))
            }
            Ok(Begin::AlreadyDone(stage)) => {
                info!(
                    stage = stage.as_str(),
                    "duplicate delivery of a finished task; nothing to do"
                );
                Start::Stop(ProcessReport::finished(
                    None,
                    format!("duplicate: the task is already {}", stage.as_str()),
                ))
            }
            Ok(Begin::HeldElsewhere(lease)) => {
                warn!(holder = %lease.holder, until = %lease.expires_at, "another worker holds this task; this delivery retries later");
                Start::Stop(ProcessReport::retry_later(format!(
                    "held by {} until {}",
                    lease.holder, lease.expires_at
                )))
            }
            Ok(Begin::DuplicateOf(lease)) => {
                info!(holder = %lease.holder, "duplicate queue message of a task another worker holds; dropped (the holder's own message carries the task)");
                Start::Stop(ProcessReport::finished(
                    None,
                    format!("duplicate message: {} holds the task", lease.holder),
                ))
            }
            Err(error) => {
                error!(%error, ledger = %ledger.store().describe(), "the task ledger cannot be read; the delivery retries later");
                Start::Stop(ProcessReport::retry_later(format!(
                    "task ledger unavailable: {error}"
                )))
            }
        }
    }

    /// Records a step through `claim` (nothing without a ledger).
    pub(super) async fn record(
        &self,
        claim: &mut Option<Claim>,
        step: impl FnOnce(&mut TaskRecord, OffsetDateTime),
    ) -> Result<(), LeaseLost> {
        let (Some(ledger), Some(claim)) = (&self.ledger, claim.as_mut()) else {
            return Ok(());
        };
        let now = OffsetDateTime::now_utc();
        match ledger.update(claim, |record| step(record, now)).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict) => {
                error!(
                    "another worker took this task over (this delivery's lease expired); stopping here"
                );
                Err(LeaseLost)
            }
            Err(error) => {
                warn!(%error, "the task ledger could not record a step; carrying on");
                Ok(())
            }
        }
    }
}

/// The ledger's form of an outcome.
pub(super) fn recorded(status: OperationStatus, reason: Option<String>) -> RecordedOutcome {
    RecordedOutcome {
        status: match status {
            OperationStatus::Completed => RecordedStatus::Completed,
            OperationStatus::Failed => RecordedStatus::Failed,
        },
        reason,
    }
}

fn operation_status(status: RecordedStatus) -> OperationStatus {
    match status {
        RecordedStatus::Completed => OperationStatus::Completed,
        RecordedStatus::Failed => OperationStatus::Failed,
    }
}

/// Graph's failed answer, as the ledger keeps it.
pub(super) fn answer_of(failure: &GraphFailure, at: OffsetDateTime) -> GraphAnswer {
    GraphAnswer {
        status: failure.status,
        request_id: failure.request_id.clone(),
        code: failure.code.clone(),
        at,
    }
}
