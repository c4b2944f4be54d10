//! Phase two: work item → task → resume.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::Instant;
use tracing::{Instrument, debug, error, info, info_span, warn};

use super::Pipeline;
use super::bookkeeping::{Start, answer_of, recorded};
use super::run_task::{TaskResult, run_task};
use crate::ledger::GraphAnswer;
use crate::resume::{OperationStatus, ResumeError};
use crate::task::{Outcome, TaskContext};
use crate::work_item::WorkItem;

/// Which delivery of a work item this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// From 1 (the host's `DequeueCount`).
    pub number: u32,
    /// The last attempt's number (the host's `maxDequeueCount`).
    pub max: u32,
}

impl Attempt {
    /// Whether no delivery follows this one.
    pub fn is_last(self) -> bool {
        self.number >= self.max
    }
}

/// One delivery, as processing sees it.
struct Delivery<'a> {
    attempt: Attempt,
    invocation_id: &'a str,
    message_id: Option<&'a str>,
    started: Instant,
}

/// What the transport should do with the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Delete it: the task is finished (resumed, or nothing more can be done).
    Finished,
    /// Deliver it again later (the host: answer non-2xx; standalone: requeue).
    RetryLater,
}

/// The result of processing one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessReport {
    /// What to do with the message.
    pub disposition: Disposition,
    /// The status resumed, if a resume was accepted by Graph.
    pub resumed: Option<OperationStatus>,
    /// One line for the invocation's `Logs`.
    pub summary: String,
}

impl ProcessReport {
    pub(super) fn finished(resumed: Option<OperationStatus>, summary: String) -> ProcessReport {
        ProcessReport {
            disposition: Disposition::Finished,
            resumed,
            summary,
        }
    }

    pub(super) fn retry_later(summary: String) -> ProcessReport {
        ProcessReport {
            disposition: Disposition::RetryLater,
            resumed: None,
            summary,
        }
    }
}

impl Pipeline {
    /// Processes one delivery of a work item whose queue message id is unknown.
    pub async fn process(
        &self,
        message: Value,
        attempt: Attempt,
        invocation_id: &str,
    ) -> ProcessReport {
        self.process_message(message, attempt, invocation_id, None)
            .await
    }

    /// Processes one delivery of a work item. `message_id` (the queue message's id) lets the
    /// task ledger tell a redelivery of one message from a duplicate message.
    pub async fn process_message(
        &self,
        message: Value,
        attempt: Attempt,
        invocation_id: &str,
        message_id: Option<&str>,
    ) -> ProcessReport {
        // Entitlement Management items share the queue; they say so in `kind`.
        if crate::entitlement::is_entitlement_item(&message) {
            return self
                .process_entitlement(message, attempt, invocation_id)
                .await;
        }
        let started = Instant::now();
        let (item, callout) = match WorkItem::decode(message) {
            Ok(decoded) => decoded,
            Err(e) => {
                // Retrying cannot repair it, but failing the delivery lets the host move the
                // message to the poison queue where an operator sees it; deleting it would
                // silently drop a task.
                error!(invocation_id, attempt = attempt.number, error = %e, "malformed work item");
                return ProcessReport::retry_later(format!("malformed work item: {e}"));
            }
        };
        let span = info_span!(
            "process",
            invocation_id,
            task_processing_result_id = %callout.task_processing_result.id,
            attempt = attempt.number,
        );
        let delivery = Delivery {
            attempt,
            invocation_id,
            message_id,
            started,
        };
        self.process_item(item, Arc::new(callout), delivery)
            .instrument(span)
            .await
    }

    async fn process_item(
        &self,
        item: WorkItem,
        callout: Arc<crate::callout::Callout>,
        delivery: Delivery<'_>,
    ) -> ProcessReport {
        let Delivery {
            attempt,
            invocation_id,
            message_id,
            started,
        } = delivery;
        let begun = self
            .begin_task(&item, &callout, invocation_id, message_id)
            .await;
        let (mut claim, resend) = match begun {
            Start::RunLogic(claim) => (claim, None),
            Start::SendResume(claim, status) => (Some(claim), Some(status)),
            Start::Stop(report) => return report,
        };
        let now = OffsetDateTime::now_utc();
        let Some(time_left) = positive(item.deadline - now) else {
            error!(deadline = %item.deadline, "the task's deadline has passed; Lifecycle Workflows no longer waits for it");
            let _ = self
                .record(&mut claim, |r, now| {
                    r.give_up("deadline passed before the task could finish", None, now)
                })
                .await;
            return ProcessReport::finished(None, "deadline passed: nothing reported".to_owned());
        };
        let deadline_at = Instant::now() + time_left;
        let retry_until = (started + self.config.retry_window).min(deadline_at);
        let status = match resend {
            Some(status) => status,
            None => {
                let ran = self
                    .run_logic(
                        &item,
                        &callout,
                        attempt,
                        invocation_id,
                        retry_until,
                        time_left,
                    )
                    .await;
                let (status, reason) = match ran {
                    Ok(outcome) => outcome,
                    Err(reason) => {
                        let _ = self
                            .record(&mut claim, |r, now| r.retry_logic(&reason, now))
                            .await;
                        return ProcessReport::retry_later(format!(
                            "attempt {}/{} will be retried: {reason}",
                            attempt.number, attempt.max
                        ));
                    }
                };
                let finished = recorded(status, reason);
                if self
                    .record(&mut claim, |r, now| r.finish_logic(finished, now))
                    .await
                    .is_err()
                {
                    return ProcessReport::retry_later("lease lost to another worker".to_owned());
                }
                status
            }
        };

        if !callout.launch_and_wait {
            info!(
                outcome = status.as_str(),
                "launch-and-continue: nothing to resume"
            );
            let _ = self.record(&mut claim, |r, now| r.no_resume(now)).await;
            return ProcessReport::finished(
                None,
                format!("task {}; launch-and-continue, not resumed", status.as_str()),
            );
        }
        let result = self.resumer.resume(&callout, status, retry_until).await;
        self.resume_result(result, status, &mut claim, attempt, deadline_at)
            .await
    }

    /// Runs the logic once: the status to resume with (and a failure's reason), or why the
    /// task asked to be retried.
    async fn run_logic(
        &self,
        item: &WorkItem,
        callout: &Arc<crate::callout::Callout>,
        attempt: Attempt,
        invocation_id: &str,
        retry_until: Instant,
        time_left: Duration,
    ) -> Result<(OperationStatus, Option<String>), String> {
        debug!(
            upn = callout.subject.user_principal_name.as_deref().unwrap_or(""),
            workflow = callout.workflow.display_name.as_deref().unwrap_or(""),
            "running task"
        );
        let ctx = TaskContext {
            callout: callout.clone(),
            raw_callout: Arc::new(item.callout.clone()),
            attempt: attempt.number,
            max_attempts: attempt.max,
            deadline: item.deadline,
            retry_until,
            invocation_id: invocation_id.into(),
            graph: self.graph.clone(),
        };
        let limit = self.config.task_timeout.min(time_left);
        match run_task(self.task.as_ref(), ctx, limit).await {
            TaskResult::Final(Outcome::Completed) => Ok((OperationStatus::Completed, None)),
            TaskResult::Final(Outcome::Failed { reason }) => {
                warn!(%reason, "task failed");
                Ok((OperationStatus::Failed, Some(reason)))
            }
            TaskResult::Retry(reason) if attempt.is_last() => {
                warn!(%reason, "task failed on its last attempt; reporting failed");
                Ok((
                    OperationStatus::Failed,
                    Some(format!("last attempt asked for a retry: {reason}")),
                ))
            }
            TaskResult::Retry(reason) => {
                warn!(%reason, "task will be retried");
                Err(reason)
            }
        }
    }

    /// The report of a resume, and its record in the ledger.
    async fn resume_result(
        &self,
        result: Result<crate::resume::ResumeReport, ResumeError>,
        status: OperationStatus,
        claim: &mut Option<crate::ledger::Claim>,
        attempt: Attempt,
        deadline_at: Instant,
    ) -> ProcessReport {
        match result {
            Ok(report) => {
                let answer = GraphAnswer {
                    status: Some(report.http_status),
                    request_id: report.request_id.clone(),
                    code: None,
                    at: OffsetDateTime::now_utc(),
                };
                let _ = self
                    .record(claim, |r, now| r.resumed(report.tries, answer, now))
                    .await;
                ProcessReport::finished(
                    Some(status),
                    format!(
                        "resumed {} after {} request(s)",
                        status.as_str(),
                        report.tries
                    ),
                )
            }
            Err(ResumeError::Rejected(failure)) => {
                error!(
                    http_status = failure.status,
                    graph_code = failure.code.as_deref().unwrap_or(""),
                    request_id = failure.request_id.as_deref().unwrap_or(""),
                    message = %failure.message,
                    "Graph rejected the resume; not retrying"
                );
                let reason = format!("resume rejected: {failure}");
                let _ = self
                    .record(claim, |r, now| {
                        r.resume_tries += 1;
                        r.give_up(&reason, Some(answer_of(&failure, now)), now)
                    })
                    .await;
                ProcessReport::finished(None, reason)
            }
            Err(e @ ResumeError::Forbidden { .. })
                if attempt.is_last() || Instant::now() >= deadline_at =>
            {
                error!(
                    error = %e,
                    managed_identity_client_id = %self.config.identity.client_id_for_logs(),
                    "Graph refused every resume with 403 Forbidden: put the managed identity's client id (AZURE_CLIENT_ID) in the custom task extension's callbackConfiguration.authorizedApps; the message goes to the poison queue"
                );
                let reason = format!(
                    "resume forbidden (403): the managed identity is not in the extension's authorizedApps; the message goes to the poison queue: {e}"
                );
                self.record_not_accepted(claim, &e, &reason).await;
                ProcessReport::retry_later(format!("resume forbidden: {e}"))
            }
            Err(e @ ResumeError::OutOfTime { .. }) if Instant::now() >= deadline_at => {
                error!(error = %e, "deadline reached while resuming");
                let reason = format!("deadline reached while resuming: {e}");
                let last = match &e {
                    ResumeError::OutOfTime { last, .. } => {
                        Some(answer_of(last, OffsetDateTime::now_utc()))
                    }
                    _ => None,
                };
                let _ = self
                    .record(claim, |r, now| r.give_up(&reason, last, now))
                    .await;
                ProcessReport::finished(None, format!("deadline reached: {e}"))
            }
            Err(e) => {
                if attempt.is_last() {
                    error!(error = %e, "resume not delivered on the last attempt; the message goes to the poison queue");
                } else {
                    warn!(error = %e, "resume not delivered in this invocation; handing back to the queue");
                }
                let reason = format!("resume not delivered: {e}");
                self.record_not_accepted(claim, &e, &reason).await;
                ProcessReport::retry_later(reason)
            }
        }
    }

    async fn record_not_accepted(
        &self,
        claim: &mut Option<crate::ledger::Claim>,
        error: &ResumeError,
        reason: &str,
    ) {
        let (last, tries) = match error {
            ResumeError::Forbidden { last, tries } | ResumeError::OutOfTime { last, tries } => {
                (last, *tries)
            }
            ResumeError::Rejected(last) => (last, 1),
        };
        let _ = self
            .record(claim, |r, now| {
                r.resume_not_accepted(tries, answer_of(last, now), reason, now)
            })
            .await;
    }
}

fn positive(d: time::Duration) -> Option<Duration> {
    Duration::try_from(d).ok().filter(|d| !d.is_zero())
}
