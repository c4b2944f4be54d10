//! The embedded backend for the suite: a SQLite file in a fresh temp folder.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lcw_handler::ledger::sqlite::SqliteStore;

use crate::Fresh;

/// A new, empty SQLite ledger; its folder goes with the guard.
pub async fn fresh() -> Fresh {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "lcw-ledger-suite-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&dir.join("ledger.sqlite")).expect("a fresh SQLite ledger opens");
    Fresh {
        store: Arc::new(store),
        guard: Box::new(RemoveOnDrop(dir)),
    }
}

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
