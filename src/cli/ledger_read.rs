//! Opening the task ledger to read it (`history`, `explain`): `--ledger`, else `LCW_LEDGER`,
//! else the file standalone mode keeps by default. Reading never takes the owner lock, so it
//! works while a handler serves the same ledger.

use crate::config::IdentitySettings;
use crate::ledger::setting::{LedgerSettings, parse};
use crate::ledger::{Ledger, LedgerBackend, open};
use crate::settings::{AZURE_CLIENT_ID, IDENTITY_ENDPOINT, IDENTITY_HEADER, LCW_LEDGER};

/// The `--ledger` flag.
#[derive(Debug, clap::Args)]
pub(super) struct LedgerArg {
    /// The ledger to read: sqlite:<file>, sqlite (the default file) or blob [default: LCW_LEDGER,
    /// else the file `serve` keeps]
    #[arg(long, value_name = "LEDGER")]
    ledger: Option<String>,
}

impl LedgerArg {
    /// Opens the ledger for reading.
    pub(super) fn open(&self) -> Result<Ledger, String> {
        let get = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let settings = LedgerSettings::from_lookup(&get).map_err(|e| e.to_string())?;
        let backend = match &self.ledger {
            Some(text) => parse(text, &settings.default_sqlite)
                .map_err(|e| e.to_string().replace(LCW_LEDGER, "--ledger"))?,
            None => settings.for_standalone(),
        };
        if let LedgerBackend::Sqlite(path) = &backend
            && !path.exists()
        {
            return Err(format!(
                "no ledger at {}: a handler writes it once it has seen a task; name another with --ledger sqlite:<file> or {LCW_LEDGER}",
                path.display()
            ));
        }
        // `blob` reads with the managed identity where one exists, or LCW_LEDGER_BLOB_SAS.
        let identity = IdentitySettings {
            endpoint: get(IDENTITY_ENDPOINT),
            header_present: get(IDENTITY_HEADER).is_some(),
            client_id: get(AZURE_CLIENT_ID),
        };
        match open(&backend, &settings, &identity, false) {
            Ok(Some(ledger)) => Ok(ledger),
            Ok(None) => Err(format!(
                "{LCW_LEDGER}=off: no ledger is kept; name one with --ledger sqlite:<file>"
            )),
            Err(e) => Err(e.to_string()),
        }
    }
}
