//! The bounded in-memory queue and worker pool of standalone mode.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Mutex, Notify, mpsc};
use tracing::{error, warn};

use crate::pipeline::{Attempt, Disposition, Pipeline};

/// Tasks accepted but not finished, at most. Past it, callouts get `503` + `Retry-After`
/// (LCW retries once) rather than the process growing without bound.
pub const QUEUE_CAPACITY: usize = 10_000;

/// How long a stopping server waits for in-flight tasks.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

struct Job {
    item: Value,
    attempt: u32,
    id: u64,
}

impl Job {
    /// The `taskProcessingResultId` the work item names (for the ledger).
    fn task_id(&self) -> Option<&str> {
        self.item
            .get("taskProcessingResultId")
            .and_then(Value::as_str)
    }
}

/// The queue refused a task because it is full.
#[derive(Debug)]
pub struct QueueFull;

/// Handle to the pool. Cheap to clone.
#[derive(Clone)]
pub struct WorkerPool {
    tx: mpsc::Sender<Job>,
    pending: Arc<AtomicUsize>,
    idle: Arc<Notify>,
    next_id: Arc<AtomicU64>,
}

impl WorkerPool {
    /// Starts `LCW_WORKERS` workers for `pipeline`.
    pub fn start(pipeline: Pipeline) -> WorkerPool {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let pool = WorkerPool {
            tx,
            pending: Arc::new(AtomicUsize::new(0)),
            idle: Arc::new(Notify::new()),
            next_id: Arc::new(AtomicU64::new(1)),
        };
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..pipeline.config().standalone.workers {
            tokio::spawn(worker(pipeline.clone(), rx.clone(), pool.clone()));
        }
        pool
    }

    /// Whether a new task would fit in the queue now.
    pub fn has_room(&self) -> bool {
        self.pending() < QUEUE_CAPACITY
    }

    /// Queues a work item for its `attempt` (1 for a new task; more for a task driven again
    /// after a restart).
    pub fn submit(&self, item: Value, attempt: u32) -> Result<(), QueueFull> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // Counted before sending, so a worker finishing at once never sees the count below zero.
        self.pending.fetch_add(1, Ordering::SeqCst);
        self.tx.try_send(Job { item, attempt, id }).map_err(|_| {
            self.finished();
            QueueFull
        })
    }

    /// Tasks accepted and not yet finished.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Waits until every accepted task is finished, or `grace` passes. `durable`: the tasks
    /// are in the ledger too, so those left over are driven again at the next start.
    pub async fn drain(&self, grace: Duration, durable: bool) {
        let waited = tokio::time::timeout(grace, async {
            while self.pending() > 0 {
                self.idle.notified().await;
            }
        })
        .await;
        if waited.is_err() && durable {
            warn!(
                unfinished = self.pending(),
                "stopping with tasks unfinished; they stay in the task ledger and are driven again at the next start"
            );
        } else if waited.is_err() {
            error!(
                lost = self.pending(),
                "stopping with tasks still queued; they are lost (standalone mode keeps its queue in memory)"
            );
        }
    }

    fn finished(&self) {
        self.pending.fetch_sub(1, Ordering::SeqCst);
        self.idle.notify_waiters();
    }
}

async fn worker(pipeline: Pipeline, rx: Arc<Mutex<mpsc::Receiver<Job>>>, pool: WorkerPool) {
    loop {
        let Some(job) = rx.lock().await.recv().await else {
            return;
        };
        let max = pipeline.config().standalone.max_attempts;
        let attempt = Attempt {
            number: job.attempt,
            max,
        };
        let invocation_id = format!("standalone-{}-{}", job.id, job.attempt);
        let report = pipeline
            .process_message(
                job.item.clone(),
                attempt,
                &invocation_id,
                // Job ids restart with the process: the ledger instance makes them unique.
                Some(&format!(
                    "standalone-{}-{}",
                    pipeline.ledger().map_or("", |l| l.instance()),
                    job.id
                )),
            )
            .await;
        match report.disposition {
            Disposition::Finished => pool.finished(),
            Disposition::RetryLater if attempt.is_last() => {
                error!(invocation_id, summary = %report.summary, "task exhausted its attempts; dropped (dead letter)");
                if let (Some(ledger), Some(id)) = (pipeline.ledger(), job.task_id()) {
                    let reason = format!(
                        "attempts exhausted ({max} of LCW_MAX_ATTEMPTS): {}",
                        report.summary
                    );
                    let key = crate::ledger::TaskKey::lcw(id);
                    if let Err(error) = ledger
                        .abandon(&key, &reason, time::OffsetDateTime::now_utc())
                        .await
                    {
                        warn!(invocation_id, %error, "the ledger could not record the dead letter");
                    }
                }
                pool.finished();
            }
            Disposition::RetryLater => {
                let delay = pipeline.config().standalone.retry_delay;
                let tx = pool.tx.clone();
                let again = Job {
                    attempt: job.attempt + 1,
                    ..job
                };
                let pool = pool.clone();
                // The job already holds a place in `pending`, so this spawn is bounded by
                // QUEUE_CAPACITY like the queue itself.
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    if tx.send(again).await.is_err() {
                        warn!("worker pool stopped before a retry could be queued");
                        pool.finished();
                    }
                });
            }
        }
    }
}
