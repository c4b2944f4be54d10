//! The ledger as standalone mode's durable queue: tasks are recorded at accept, work item
//! included, and a handler that starts again drives every unfinished task again.

use time::OffsetDateTime;
use tracing::{error, info, warn};

use super::workers::WorkerPool;
use crate::callout::Callout;
use crate::ledger::{Ledger, Stage, StoreError, TaskFacts, TaskKey, TaskRecord};
use crate::work_item::WorkItem;

/// Records an accepted callout. `None` when the task is new; the known task's stage otherwise.
pub(super) async fn record_accepted(
    ledger: &Ledger,
    item: &WorkItem,
    callout: &Callout,
) -> Result<Option<Stage>, StoreError> {
    let now = OffsetDateTime::now_utc();
    let mut record = TaskRecord::new(
        TaskKey::lcw(&callout.task_processing_result.id),
        TaskFacts::of(callout),
        item.accepted_at,
        item.deadline,
        now,
    );
    record.work_item = Some(item.clone().into_value());
    ledger.record_accepted(&record).await
}

/// At start: releases the leases of a previous run of this handler (when this process is the
/// ledger's only user) and queues every unfinished task again.
pub(super) async fn redrive(ledger: &Ledger, pool: &WorkerPool, max_attempts: u32) {
    let now = OffsetDateTime::now_utc();
    if ledger.sole_user() {
        match ledger.release_orphans(now).await {
            Ok(0) => {}
            Ok(released) => {
                info!(
                    released,
                    "leases of the previous run of this handler released"
                )
            }
            Err(error) => {
                warn!(%error, "could not release the previous run's leases; its tasks wait for their leases to expire")
            }
        }
    } else {
        warn!(ledger = %ledger.store().describe(), "another process serves this ledger too; tasks a dead process held wait for their leases to expire");
    }
    let unfinished = match ledger.unfinished(now).await {
        Ok(unfinished) => unfinished,
        Err(error) => {
            error!(%error, "cannot read unfinished tasks from the ledger; they are not driven again until the next start");
            return;
        }
    };
    if unfinished.is_empty() {
        return;
    }
    let mut queued = 0;
    for record in unfinished {
        let Some(item) = record.work_item else {
            continue;
        };
        let attempt = (record.deliveries + 1).min(max_attempts);
        if pool.submit(item, attempt).is_err() {
            warn!(
                task_processing_result_id = %record.key.id,
                "queue full while driving unfinished tasks again; the rest wait for the next start"
            );
            break;
        }
        queued += 1;
    }
    info!(
        tasks = queued,
        "unfinished tasks from the ledger queued again"
    );
}
