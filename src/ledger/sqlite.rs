//! The embedded ledger backend: one SQLite file (rusqlite, SQLite compiled in).
//!
//! Why SQLite (see docs/ledger.md): a transactional file store that several processes may open
//! at once (the handler writes while `lcw-handler history` reads), whose conditional
//! `UPDATE … WHERE version = ?` is exactly the compare-and-set the trait asks for, and which
//! builds from source with a C compiler only (`bundled`), so the glibc-2.28 production build
//! needs no system library.
//!
//! The file runs in WAL mode with `synchronous=NORMAL`: a commit survives the process being
//! killed (SIGKILL included); only a power loss may roll back the last commits. Each record is
//! one row: its key, a version counter, `updated_at` for listing and retention, and the record
//! as JSON.
//!
//! [`SqliteStore::try_own`] takes the *owner lock*, a write lock held for the life of the
//! process on a companion file `<ledger>.owner`. The operating system drops it when the process
//! dies, however it dies; so a handler that gets it knows every lease written by another
//! process instance is an orphan (see [`super::Ledger::release_orphans`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::record::{TaskKey, TaskRecord};
use super::store::{LedgerStore, StoreError, Version, Versioned};

/// How long a writer waits for another process's transaction before reporting the store busy.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tasks (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS tasks_updated_at ON tasks (updated_at);
";

/// A ledger in one SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    connection: Arc<Mutex<Connection>>,
}

/// Held for as long as this process is the ledger's only server (see the module docs).
pub struct OwnerLock {
    // Never used again: holding it open holds the lock. A mutex makes the guard `Sync`.
    _connection: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed, with its folder) the ledger at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let connection = Connection::open(path).map_err(|e| unavailable(path, e))?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .and_then(|()| connection.pragma_update(None, "journal_mode", "WAL"))
            .and_then(|()| connection.pragma_update(None, "synchronous", "NORMAL"))
            .and_then(|()| connection.execute_batch(SCHEMA))
            .map_err(|e| unavailable(path, e))?;
        Ok(SqliteStore {
            path: path.to_owned(),
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Takes the owner lock, or `None` when another live process holds it.
    pub fn try_own(&self) -> Result<Option<OwnerLock>, StoreError> {
        let mut owner = self.path.clone().into_os_string();
        owner.push(".owner");
        let owner = PathBuf::from(owner);
        let connection = Connection::open(&owner).map_err(|e| unavailable(&owner, e))?;
        connection
            .pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(|e| unavailable(&owner, e))?;
        match connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS owner (pid INTEGER); BEGIN EXCLUSIVE; DELETE FROM owner;",
        ) {
            Ok(()) => Ok(Some(OwnerLock {
                _connection: Mutex::new(connection),
            })),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                Ok(None)
            }
            Err(e) => Err(unavailable(&owner, e)),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            // A poisoned lock means a panic inside rusqlite mid-call; the connection itself is
            // still usable (SQLite rolls back an unfinished statement).
            let connection = connection.lock().unwrap_or_else(|p| p.into_inner());
            work(&connection)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("the ledger thread stopped: {e}")))?
    }
}

fn unavailable(path: &Path, error: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("SQLite ledger {}: {error}", path.display()))
}

fn sql(error: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("SQLite: {error}"))
}

fn nanos(at: OffsetDateTime) -> i64 {
    // i64 nanoseconds reach the year 2262.
    i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

fn encode(record: &TaskRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(|e| StoreError::Corrupt {
        key: record.key.to_string(),
        problem: e.to_string(),
    })
}

fn decode(key: &str, text: &str) -> Result<TaskRecord, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        key: key.to_owned(),
        problem: e.to_string(),
    })
}

#[async_trait]
impl LedgerStore for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    async fn get(&self, key: &TaskKey) -> Result<Option<Versioned>, StoreError> {
        let key = key.clone();
        self.with(move |c| {
            let row: Option<(i64, String)> = c
                .query_row(
                    "SELECT version, record FROM tasks WHERE kind = ?1 AND id = ?2",
                    params![key.kind.as_str(), key.id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(sql)?;
            row.map(|(version, text)| {
                Ok(Versioned {
                    record: decode(&key.to_string(), &text)?,
                    version: Version(version.to_string()),
                })
            })
            .transpose()
        })
        .await
    }

    async fn create(&self, record: &TaskRecord) -> Result<Version, StoreError> {
        let text = encode(record)?;
        let (key, updated_at) = (record.key.clone(), nanos(record.updated_at));
        self.with(move |c| {
            let inserted = c
                .execute(
                    "INSERT INTO tasks (kind, id, version, updated_at, record) VALUES (?1, ?2, 1, ?3, ?4)
                     ON CONFLICT (kind, id) DO NOTHING",
                    params![key.kind.as_str(), key.id, updated_at, text],
                )
                .map_err(sql)?;
            match inserted {
                0 => Err(StoreError::Conflict),
                _ => Ok(Version("1".to_owned())),
            }
        })
        .await
    }

    async fn replace(
        &self,
        record: &TaskRecord,
        expected: &Version,
    ) -> Result<Version, StoreError> {
        let Ok(expected) = expected.0.parse::<i64>() else {
            return Err(StoreError::Conflict);
        };
        let text = encode(record)?;
        let (key, updated_at) = (record.key.clone(), nanos(record.updated_at));
        self.with(move |c| {
            let updated = c
                .execute(
                    "UPDATE tasks SET version = version + 1, updated_at = ?3, record = ?4
                     WHERE kind = ?1 AND id = ?2 AND version = ?5",
                    params![key.kind.as_str(), key.id, updated_at, text, expected],
                )
                .map_err(sql)?;
            match updated {
                0 => Err(StoreError::Conflict),
                _ => Ok(Version((expected + 1).to_string())),
            }
        })
        .await
    }

    async fn list(&self, since: OffsetDateTime) -> Result<Vec<TaskRecord>, StoreError> {
        let since = nanos(since);
        self.with(move |c| {
            let mut statement = c
                .prepare("SELECT kind, id, record FROM tasks WHERE updated_at >= ?1")
                .map_err(sql)?;
            let rows = statement
                .query_map(params![since], |row| {
                    Ok((
                        format!("{}/{}", row.get::<_, String>(0)?, row.get::<_, String>(1)?),
                        row.get::<_, String>(2)?,
                    ))
                })
                .map_err(sql)?;
            let mut records = Vec::new();
            for row in rows {
                let (key, text) = row.map_err(sql)?;
                records.push(decode(&key, &text)?);
            }
            Ok(records)
        })
        .await
    }

    async fn purge(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let before = nanos(before);
        self.with(move |c| {
            c.execute("DELETE FROM tasks WHERE updated_at < ?1", params![before])
                .map(|n| n as u64)
                .map_err(sql)
        })
        .await
    }
}
