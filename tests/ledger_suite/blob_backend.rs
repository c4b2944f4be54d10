//! The Blob backend for the suite: a fresh container in a real Azurite, reached the way a
//! deployment configured for Azurite reaches it (`LCW_LEDGER_BLOB_SERVICE_URL` and
//! `LCW_LEDGER_BLOB_SAS`).
//!
//! The checks of one test binary share one Azurite while any of them runs (each in its own
//! container); the last guard dropped stops it, so no server outlives the binary.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use lcw_emulator::azurite::Azurite;
use lcw_handler::ledger::blob::{BlobSettings, BlobStore};
use tokio::sync::Mutex;

use crate::Fresh;

#[path = "../common/azurite.rs"]
#[allow(dead_code)] // the REST helpers serve other test binaries
mod azurite;

/// A new, empty container in a running Azurite.
pub async fn fresh() -> Fresh {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let azurite = shared_azurite().await;
    let container = format!(
        "suite-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let settings = [
        (
            "LCW_LEDGER_BLOB_SERVICE_URL",
            azurite.blob_endpoint().to_owned(),
        ),
        ("LCW_LEDGER_BLOB_SAS", azurite.account_sas().to_owned()),
        ("LCW_LEDGER_BLOB_CONTAINER", container),
    ];
    let settings = BlobSettings::from_lookup(&|name: &str| {
        settings
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .expect("the Azurite settings are valid");
    let service = settings.require_service().expect("a blob service is set");
    let store = BlobStore::new(&settings, service, None).expect("the Blob store is set up");
    Fresh {
        store: Arc::new(store),
        guard: Box::new(azurite),
    }
}

/// The Azurite the running checks share, started when none runs.
async fn shared_azurite() -> Arc<Azurite> {
    static SHARED: Mutex<Weak<Azurite>> = Mutex::const_new(Weak::new());
    let mut shared = SHARED.lock().await;
    if let Some(running) = shared.upgrade() {
        return running;
    }
    let started = Arc::new(azurite::start().await);
    *shared = Arc::downgrade(&started);
    started
}
