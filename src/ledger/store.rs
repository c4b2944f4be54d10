//! The storage contract every ledger backend implements, and nothing more.
//!
//! A backend stores [`TaskRecord`]s by [`TaskKey`] and guards every write with a
//! compare-and-set on an opaque [`Version`] (a SQLite row version, a blob's ETag). That one
//! guarantee is what lets two workers race on one task and have exactly one of them win: the
//! rules ([`super::rules`], [`super::Ledger`]) read a record, decide, and write it back only if
//! nobody wrote in between. Backends contain no rules, and the rules never know the backend.
//!
//! # Implementing a backend
//!
//! - [`create`](LedgerStore::create) must fail with [`StoreError::Conflict`] when a record
//!   with the key exists (blob: `If-None-Match: *`).
//! - [`replace`](LedgerStore::replace) must fail with [`StoreError::Conflict`] when the
//!   stored version differs from `expected` or the record is gone (blob: `If-Match: <ETag>`).
//! - Every successful write returns the new version; versions of one key never repeat.
//! - [`list`](LedgerStore::list) and [`purge`](LedgerStore::purge) go by
//!   [`TaskRecord::updated_at`]; they need not be atomic with respect to writers.
//! - Transient failures are [`StoreError::Unavailable`], with a message that names no secret.
//!
//! `tests/ledger_suite/` checks all of this, and the rules on top, for every backend.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::record::{TaskKey, TaskRecord};

/// The stored version of a record, opaque to the rules: compare only for equality.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(pub String);

/// A record and the version it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The record.
    pub record: TaskRecord,
    /// Its version, for the next [`LedgerStore::replace`].
    pub version: Version,
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The compare-and-set failed: someone else wrote first (or the record exists, on create).
    #[error("the ledger record was changed by another worker")]
    Conflict,
    /// The store could not be reached or refused the operation; retrying later may help.
    #[error("the ledger store is unavailable: {0}")]
    Unavailable(String),
    /// A stored record cannot be read by this release.
    #[error("the ledger record {key} cannot be read: {problem}")]
    Corrupt {
        /// The record's key.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Durable storage of task records with compare-and-set writes. See the module docs for the
/// contract.
#[async_trait]
pub trait LedgerStore: Send + Sync + 'static {
    /// Where the records live, for `check`, logs and `history` (never a secret).
    fn describe(&self) -> String;

    /// The record of `key` and its version, or `None` when there is none.
    async fn get(&self, key: &TaskKey) -> Result<Option<Versioned>, StoreError>;

    /// Stores a new record; [`StoreError::Conflict`] when its key already has one.
    async fn create(&self, record: &TaskRecord) -> Result<Version, StoreError>;

    /// Replaces the record of `record.key` if it is still at `expected`;
    /// [`StoreError::Conflict`] otherwise.
    async fn replace(&self, record: &TaskRecord, expected: &Version)
    -> Result<Version, StoreError>;

    /// Every record whose `updated_at` is at or after `since`, in no particular order.
    async fn list(&self, since: OffsetDateTime) -> Result<Vec<TaskRecord>, StoreError>;

    /// Deletes every record whose `updated_at` is before `before`; returns how many.
    async fn purge(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
