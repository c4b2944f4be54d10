//! From a configured backend to a [`Ledger`].

use std::sync::Arc;

use super::blob::{BlobAuth, BlobStore};
use super::setting::{LedgerBackend, LedgerSettings};
use super::sqlite::SqliteStore;
use super::steps::Ledger;
use super::store::StoreError;
use crate::config::IdentitySettings;
use crate::credential::managed_identity;

/// Why a ledger could not be opened. The message names `LCW_LEDGER`.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The backend's settings are incomplete (e.g. no storage account for `blob`).
    #[error("LCW_LEDGER={backend}: {problem}")]
    Settings {
        /// The backend.
        backend: LedgerBackend,
        /// What is missing or wrong, naming the setting.
        problem: String,
    },
    /// The store could not be opened.
    #[error("LCW_LEDGER={backend}: {error}")]
    Store {
        /// The backend.
        backend: LedgerBackend,
        /// What failed.
        error: StoreError,
    },
}

/// Opens `backend` with the ledger `settings` (retention, the Blob location) and, for `blob`,
/// the app's managed identity; `None` when it is `off`. A server (`serve_here`) also tries to
/// become the store's sole user (see [`Ledger::sole_user`]); `history` and `explain` only read.
pub fn open(
    backend: &LedgerBackend,
    settings: &LedgerSettings,
    identity: &IdentitySettings,
    serve_here: bool,
) -> Result<Option<Ledger>, OpenError> {
    let retention = settings.retention;
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
        LedgerBackend::Blob => {
            let problem = |problem: String| OpenError::Settings {
                backend: backend.clone(),
                problem,
            };
            let blob = &settings.blob;
            let service = blob.require_service().map_err(|e| problem(e.to_string()))?;
            let credential = match blob.auth {
                BlobAuth::ManagedIdentity => {
                    Some(managed_identity(identity).map_err(|e| problem(e.to_string()))?)
                }
                BlobAuth::Sas(_) => None,
            };
            let store =
                BlobStore::new(blob, service, credential).map_err(|e| problem(e.to_string()))?;
            // Many instances share the container: none is its sole user, so orphaned leases
            // are left to expire rather than released at start.
            Ok(Some(Ledger::new(Arc::new(store), retention)))
        }
    }
}
