//! The task ledger of a local run (`demo`, `demo --chaos`): where it lives, how the handler is
//! told, and reading it back for the report.
//!
//! The run's handler keeps a SQLite ledger (`LCW_LEDGER=sqlite:<file>`), by default in the
//! run's temporary app root, so it goes with it. The report reads it while the handler still
//! runs (SQLite in WAL mode lets a reader in beside the writer): the reasons in the table and
//! the story of a task that did not complete come from there, as an operator's would.

use std::path::{Path, PathBuf};

use super::explain::story;
use crate::ledger::sqlite::SqliteStore;
use crate::ledger::{LedgerStore, TaskRecord};
use crate::settings::LCW_LEDGER;

/// The ledger file's name inside a run's app root.
const FILE_NAME: &str = "ledger.sqlite";

/// The default ledger file of a run whose app root is `app_root`.
pub(super) fn in_app_root(app_root: &Path) -> PathBuf {
    app_root.join(FILE_NAME)
}

/// The app setting that points the handler at `file`.
pub(super) fn setting(file: &Path) -> (String, String) {
    (LCW_LEDGER.to_owned(), format!("sqlite:{}", file.display()))
}

/// Every record of the ledger in `file`, oldest accepted first.
pub(super) async fn records(file: &Path) -> Result<Vec<TaskRecord>, String> {
    let store = SqliteStore::open(file)
        .map_err(|e| format!("cannot open the run's ledger {}: {e}", file.display()))?;
    let mut records = store
        .list(time::OffsetDateTime::UNIX_EPOCH)
        .await
        .map_err(|e| format!("cannot read the run's ledger {}: {e}", file.display()))?;
    records.sort_by_key(|r| r.accepted_at);
    Ok(records)
}

/// Prints the story of each task in `ids` (taskProcessingResult ids), from its record, as
/// `lcw-handler explain` tells it; a task the ledger never saw is said to be missing.
pub(super) fn print_stories(records: &[TaskRecord], ids: &[&str], out: &mut dyn FnMut(String)) {
    for id in ids {
        match records.iter().find(|r| r.key.id == *id) {
            Some(record) => {
                for line in story(record).lines() {
                    out(format!("    {line}").trim_end().to_owned());
                }
            }
            None => out(format!(
                "    task           {id}: not in the ledger (no delivery reached the handler)"
            )),
        }
        out(String::new());
    }
}
