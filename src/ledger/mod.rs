//! The durable task ledger: nothing lost, nothing twice.
//!
//! Queues deliver at least once, Lifecycle Workflows retries callouts, and processes die
//! mid-task. The ledger records each task's life, keyed by [`TaskKey`] (for LCW the
//! `taskProcessingResult.id`): received → running (lease holder, expiry) → logic finished
//! (outcome, reason) → resume sent → resumed | given up, each step with its time, the attempt
//! counts, and Graph's status and `request-id`. Every write is a compare-and-set, so of two
//! workers racing on one task exactly one runs the logic.
//!
//! - [`store`]: the contract a backend implements ([`LedgerStore`]), small on purpose;
//! - [`record`]: the record every backend stores;
//! - [`rules`]: what a worker may do given a record, and how each step changes it;
//! - [`Ledger`] (in `steps`): the rules applied through a store;
//! - [`sqlite`]: the embedded backend (standalone mode, the demo, tests);
//! - [`blob`]: Azure Blob Storage, the function app's own account (the backend in Azure);
//! - `retention`: the purge of records past `LCW_LEDGER_RETENTION_DAYS`;
//! - [`query`]: the filters and rows of `lcw-handler history`;
//! - [`setting`]: `LCW_LEDGER`, `LCW_LEDGER_RETENTION_DAYS` and each mode's default.
//!
//! The pipeline consults the ledger at process time, never on the acknowledgement path under
//! the Functions host (docs/ledger.md says why); standalone mode also records each task at
//! accept, because there the ledger is the queue's durable copy.

pub mod blob;
mod open;
pub mod query;
pub mod record;
mod retention;
pub mod rules;
pub mod setting;
pub mod sqlite;
mod steps;
pub mod store;

pub use open::{OpenError, open};
pub use record::{
    GraphAnswer, RecordedOutcome, RecordedStatus, Stage, TaskFacts, TaskKey, TaskKind, TaskRecord,
};
pub use retention::{PURGE_EVERY, spawn_purger};
pub use setting::{LedgerBackend, LedgerSettings};
pub use steps::{Begin, Claim, DEFAULT_RETENTION_DAYS, Ledger};
pub use store::{LedgerStore, StoreError, Version, Versioned};
