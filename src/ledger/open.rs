//! From a configured backend to a [`Ledger`].

use std::sync::Arc;
use std::time::Duration;

use super::setting::LedgerBackend;
use super::sqlite::SqliteStore;
use super::steps::Ledger;
use super::store::StoreError;

/// Why a ledger could not be opened. The message names `LCW_LEDGER`.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The backend is not part of this build.
    #[error("LCW_LEDGER={0}: this backend is not available in this build")]
    NotBuilt(LedgerBackend),
    /// The store could not be opened.
    #[error("LCW_LEDGER={backend}: {error}")]
    Store {
        /// The backend.
        backend: LedgerBackend,
        /// What failed.
        error: StoreError,
    },
}

/// Opens `backend`; `None` when it is `off`. A server (`serve_here`) also tries to become the
/// store's sole user (see [`Ledger::sole_user`]); `history` and `explain` only read.
pub fn open(
    backend: &LedgerBackend,
    retention: Duration,
    serve_here: bool,
) -> Result<Option<Ledger>, OpenError> {
    let failed = |error| OpenError::Store {
        backend: backend.clone(),
        error,
    };
    match backend {
        LedgerBackend::Off => Ok(None),
        LedgerBackend::Sqlite(path) => {
            let store = SqliteStore::open(path).map_err(failed)?;
            let owner = match serve_here {
                true => store.try_own().map_err(failed)?,
                false => None,
            };
            let ledger = Ledger::new(Arc::new(store), retention);
            Ok(Some(match owner {
                Some(owner) => ledger.with_sole_user_guard(owner),
                None => ledger,
            }))
        }
        LedgerBackend::Blob => Err(OpenError::NotBuilt(backend.clone())),
    }
}
