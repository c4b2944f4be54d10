//! [`Ledger`]: the rules applied through a store, each step a compare-and-set.
//!
//! A worker [`begin`](Ledger::begin)s a task: the ledger reads the record, asks
//! [`rules::verdict`] what this worker may do, and writes the claim back only if nobody wrote in
//! between (otherwise it reads again and decides again). The winner holds a [`Claim`] and
//! records each later step through it ([`Ledger::update`]); a step that finds the record
//! changed under it has lost its lease to a takeover and must stop.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::record::{Lease, RecordedOutcome, Stage, TaskKey, TaskRecord};
use super::rules::{self, Verdict};
use super::store::{LedgerStore, StoreError, Version, Versioned};

/// Read-decide-write rounds before [`Ledger::begin`] gives up on a contended record.
const MAX_ROUNDS: usize = 16;

/// Default of `LCW_LEDGER_RETENTION_DAYS`.
pub const DEFAULT_RETENTION_DAYS: u64 = 30;

/// The task ledger: a store and the rules. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    store: Arc<dyn LedgerStore>,
    instance: String,
    retention: Duration,
    /// Held while this process is the store's only server (see [`Ledger::sole_user`]).
    sole_user: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

/// A worker's hold on a task: the record as this worker last wrote it, and its version.
#[derive(Debug, Clone)]
pub struct Claim {
    current: Versioned,
}

impl Claim {
    /// The record as last written by this worker.
    pub fn record(&self) -> &TaskRecord {
        &self.current.record
    }
}

/// What [`Ledger::begin`] allows a worker to do.
#[derive(Debug)]
pub enum Begin {
    /// Run the logic, then record its steps through the claim.
    RunLogic(Claim),
    /// Only send the resume, with this outcome recorded earlier.
    SendResume(Claim, RecordedOutcome),
    /// Nothing to do: the task is final.
    AlreadyDone(Stage),
    /// Another worker holds a live lease: retry later.
    HeldElsewhere(Lease),
    /// Another worker holds a live lease for another queue message: this one is a duplicate.
    DuplicateOf(Lease),
}

impl Ledger {
    /// A ledger on `store`, keeping records `retention` after their last change. This process
    /// gets an instance id of its own, the first part of every lease holder it writes.
    pub fn new(store: Arc<dyn LedgerStore>, retention: Duration) -> Ledger {
        Ledger {
            store,
            instance: format!("{:016x}", rand::random::<u64>()),
            retention,
            sole_user: None,
        }
    }

    /// Marks this process as the store's only server for as long as `guard` lives (the
    /// backend's lock, e.g. [`super::sqlite::OwnerLock`]): leases of other process instances
    /// are then orphans ([`Ledger::release_orphans`]).
    pub fn with_sole_user_guard(mut self, guard: impl std::any::Any + Send + Sync) -> Ledger {
        self.sole_user = Some(Arc::new(guard));
        self
    }

    /// Whether this process holds the store's owner lock.
    pub fn sole_user(&self) -> bool {
        self.sole_user.is_some()
    }

    /// This process's instance id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The store, for reading (`history`, `explain`).
    pub fn store(&self) -> &Arc<dyn LedgerStore> {
        &self.store
    }

    /// How long records are kept after their last change.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// Records a task at accept time (where the ledger is also the queue). `None` when the
    /// record is new; the stage of the known task otherwise (a duplicate callout).
    pub async fn record_accepted(&self, record: &TaskRecord) -> Result<Option<Stage>, StoreError> {
        match self.store.create(record).await {
            Ok(_) => Ok(None),
            Err(StoreError::Conflict) => match self.store.get(&record.key).await? {
                Some(known) => Ok(Some(known.record.stage)),
                // Purged between the two calls: it was final and old.
                None => Ok(Some(Stage::GivenUp)),
            },
            Err(e) => Err(e),
        }
    }

    /// Decides what the worker `invocation`, processing queue message `message` (when known),
    /// may do with the task `key`, and claims it when it may act. `first_seen` makes the record
    /// of a task the ledger has not seen before.
    pub async fn begin(
        &self,
        key: &TaskKey,
        first_seen: impl Fn() -> TaskRecord,
        invocation: &str,
        message: Option<&str>,
        lease_for: Duration,
        now: OffsetDateTime,
    ) -> Result<Begin, StoreError> {
        let holder = format!("{}/{invocation}", self.instance);
        let lease = Lease {
            holder: holder.clone(),
            expires_at: now + lease_for,
            message: message.map(str::to_owned),
        };
        for _ in 0..MAX_ROUNDS {
            let Some(Versioned {
                mut record,
                version,
            }) = self.store.get(key).await?
            else {
                let mut record = first_seen();
                let verdict = Verdict::RunLogic { taken_over: None };
                record.claim(&verdict, lease.clone(), now);
                match self.store.create(&record).await {
                    Ok(version) => return Ok(Begin::RunLogic(claim(record, version))),
                    Err(StoreError::Conflict) => continue,
                    Err(e) => return Err(e),
                }
            };
            let verdict = rules::verdict(&record, &holder, message, now);
            match verdict {
                Verdict::AlreadyDone(stage) => {
                    record.note_duplicate(
                        &format!(
                            "delivery to {holder}: already {}; nothing to do",
                            stage.as_str()
                        ),
                        now,
                    );
                    // Best effort: the story gains a line; losing a race here changes nothing.
                    let _ = self.store.replace(&record, &version).await;
                    return Ok(Begin::AlreadyDone(stage));
                }
                Verdict::HeldElsewhere(lease) => return Ok(Begin::HeldElsewhere(lease)),
                Verdict::DuplicateOf(lease) => return Ok(Begin::DuplicateOf(lease)),
                Verdict::RunLogic { .. } | Verdict::SendResume(_) => {
                    record.claim(&verdict, lease.clone(), now);
                    match self.store.replace(&record, &version).await {
                        Ok(version) => {
                            let claim = claim(record, version);
                            return Ok(match verdict {
                                Verdict::SendResume(outcome) => Begin::SendResume(claim, outcome),
                                _ => Begin::RunLogic(claim),
                            });
                        }
                        Err(StoreError::Conflict) => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Err(StoreError::Conflict)
    }

    /// Records a step of a claimed task. [`StoreError::Conflict`] means another worker took
    /// the task over (this worker's lease expired): stop acting on it.
    pub async fn update(
        &self,
        claim: &mut Claim,
        step: impl FnOnce(&mut TaskRecord),
    ) -> Result<(), StoreError> {
        let mut record = claim.current.record.clone();
        step(&mut record);
        let version = self.store.replace(&record, &claim.current.version).await?;
        claim.current = Versioned { record, version };
        Ok(())
    }

    /// Unfinished tasks that carry their work item, for a restarted standalone handler.
    pub async fn unfinished(&self, now: OffsetDateTime) -> Result<Vec<TaskRecord>, StoreError> {
        let mut records = self.store.list(now - self.retention).await?;
        records.retain(|r| !r.stage.is_final() && r.work_item.is_some());
        records.sort_by_key(|r| r.accepted_at);
        Ok(records)
    }

    /// Releases the leases of every other process instance: call it only when this process
    /// is known to be the ledger's only user (it holds the store's owner lock), so those
    /// holders are dead. Returns how many leases were released.
    pub async fn release_orphans(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let mut released = 0;
        for record in self.store.list(now - self.retention).await? {
            let orphaned = |r: &TaskRecord| {
                !r.stage.is_final()
                    && r.lease
                        .as_ref()
                        .is_some_and(|l| l.instance() != self.instance && l.is_live(now))
            };
            if !orphaned(&record) {
                continue;
            }
            let Some(Versioned {
                mut record,
                version,
            }) = self.store.get(&record.key).await?
            else {
                continue;
            };
            if !orphaned(&record) {
                continue;
            }
            if let Some(lease) = record.lease.as_mut() {
                let what = format!(
                    "holder {} is gone (the handler restarted); its lease is released",
                    lease.holder
                );
                lease.expires_at = now;
                record.updated_at = now;
                record.note(now, what);
            }
            match self.store.replace(&record, &version).await {
                Ok(_) => released += 1,
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(released)
    }

    /// The transport stopped delivering the task (standalone: attempts exhausted): gives it up
    /// unless it is already final. Returns whether the record changed.
    pub async fn abandon(
        &self,
        key: &TaskKey,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        for _ in 0..MAX_ROUNDS {
            let Some(Versioned {
                mut record,
                version,
            }) = self.store.get(key).await?
            else {
                return Ok(false);
            };
            if record.stage.is_final() {
                return Ok(false);
            }
            record.give_up(reason, None, now);
            match self.store.replace(&record, &version).await {
                Ok(_) => return Ok(true),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }

    /// Deletes records unchanged for longer than the retention. Returns how many.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.store.purge(now - self.retention).await
    }
}

fn claim(record: TaskRecord, version: Version) -> Claim {
    Claim {
        current: Versioned { record, version },
    }
}
