//! Retention: records unchanged for `LCW_LEDGER_RETENTION_DAYS` are deleted, at start and then
//! every few hours, by each serving process (purging twice is harmless).

use std::time::Duration;

use time::OffsetDateTime;
use tracing::{info, warn};

use super::steps::Ledger;

/// Time between two purges.
pub const PURGE_EVERY: Duration = Duration::from_secs(6 * 3600);

/// Purges now and every [`PURGE_EVERY`] until the runtime stops.
pub fn spawn_purger(ledger: Ledger) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match ledger.purge_expired(OffsetDateTime::now_utc()).await {
                Ok(0) => {}
                Ok(purged) => info!(
                    purged,
                    retention_days = ledger.retention().as_secs() / 86_400,
                    "ledger records past their retention deleted"
                ),
                Err(error) => warn!(%error, "ledger retention purge failed; trying again later"),
            }
            tokio::time::sleep(PURGE_EVERY).await;
        }
    })
}
