//! `LCW_LEDGER` and `LCW_LEDGER_RETENTION_DAYS`: which ledger a handler keeps, and how long.
//!
//! - `sqlite:<path>` — the embedded backend, in that file (`sqlite` alone: the default file);
//! - `blob` — Azure Blob Storage, the function app's own storage account;
//! - `off` — no ledger: duplicates are recognised only by the PoP nonce, as before the ledger.
//!
//! Unset, the default depends on the mode: standalone (`serve`) keeps a SQLite file in the
//! user's data folder ([`default_sqlite_path`]), since its queue lives there too; under the
//! Functions host it is `off` unless set (the infra sets `blob`): a local file on one instance of
//! a scaled-out app would see only that instance's deliveries, and `blob` needs the app's storage
//! account (`AzureWebJobsStorage__accountName`, see [`super::blob::settings`]).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::blob::BlobSettings;
use super::steps::DEFAULT_RETENTION_DAYS;
use crate::config::ConfigError;
use crate::settings::{LCW_LEDGER, LCW_LEDGER_RETENTION_DAYS};

/// Longest retention accepted, in days (ten years).
pub const MAX_RETENTION_DAYS: u64 = 3650;

/// A ledger backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerBackend {
    /// No ledger.
    Off,
    /// SQLite, in this file.
    Sqlite(PathBuf),
    /// Azure Blob Storage (the function app's storage account).
    Blob,
}

impl fmt::Display for LedgerBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerBackend::Off => f.write_str("off"),
            LedgerBackend::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            LedgerBackend::Blob => f.write_str("blob"),
        }
    }
}

/// The ledger settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerSettings {
    /// What `LCW_LEDGER` names; `None` when unset (the mode's default applies).
    pub configured: Option<LedgerBackend>,
    /// The SQLite file used when `LCW_LEDGER` is unset in standalone mode or is `sqlite`.
    pub default_sqlite: PathBuf,
    /// How long a record is kept after its last change.
    pub retention: Duration,
    /// Where the `blob` backend lives and how it signs in (`LCW_LEDGER_BLOB_*`, the Functions
    /// storage connection).
    pub blob: BlobSettings,
}

impl LedgerSettings {
    /// Reads both settings (and the folders the default file goes in) through `get`.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let default_sqlite = default_sqlite_path(get);
        let configured = match get(LCW_LEDGER) {
            None => None,
            Some(text) => Some(parse(&text, &default_sqlite)?),
        };
        let retention_days = match get(LCW_LEDGER_RETENTION_DAYS) {
            None => DEFAULT_RETENTION_DAYS,
            Some(text) => match text.parse::<u64>() {
                Ok(days) if (1..=MAX_RETENTION_DAYS).contains(&days) => days,
                _ => {
                    return Err(ConfigError::Invalid {
                        setting: LCW_LEDGER_RETENTION_DAYS,
                        value: text,
                        problem: format!(
                            "expected a whole number of days from 1 to {MAX_RETENTION_DAYS}"
                        ),
                    });
                }
            },
        };
        let blob = BlobSettings::from_lookup(get)?;
        if configured == Some(LedgerBackend::Blob) {
            blob.require_service()?;
        }
        Ok(LedgerSettings {
            configured,
            default_sqlite,
            retention: Duration::from_secs(retention_days * 86_400),
            blob,
        })
    }

    /// The backend a handler under the Functions host uses.
    pub fn for_host(&self) -> LedgerBackend {
        self.configured.clone().unwrap_or(LedgerBackend::Off)
    }

    /// The backend standalone mode (and `history`, `explain`) uses.
    pub fn for_standalone(&self) -> LedgerBackend {
        self.configured
            .clone()
            .unwrap_or_else(|| LedgerBackend::Sqlite(self.default_sqlite.clone()))
    }

    /// Retention in whole days, for `check`.
    pub fn retention_days(&self) -> u64 {
        self.retention.as_secs() / 86_400
    }
}

/// Parses an `LCW_LEDGER` value.
pub fn parse(text: &str, default_sqlite: &std::path::Path) -> Result<LedgerBackend, ConfigError> {
    let invalid = |problem: &str| ConfigError::Invalid {
        setting: LCW_LEDGER,
        value: text.to_owned(),
        problem: problem.to_owned(),
    };
    match text.trim() {
        "off" | "none" => Ok(LedgerBackend::Off),
        "blob" => Ok(LedgerBackend::Blob),
        "sqlite" => Ok(LedgerBackend::Sqlite(default_sqlite.to_owned())),
        other => match other.strip_prefix("sqlite:") {
            Some(path) if !path.trim().is_empty() => {
                Ok(LedgerBackend::Sqlite(PathBuf::from(path.trim())))
            }
            Some(_) => Err(invalid(
                "name the file after sqlite:, e.g. sqlite:/home/site/data/ledger.sqlite",
            )),
            None => Err(invalid(
                "use sqlite:<file>, sqlite (the default file), blob, or off",
            )),
        },
    }
}

/// `<data folder>/lcw-handler/ledger.sqlite`, the data folder being `XDG_DATA_HOME`,
/// `~/.local/share`, `LOCALAPPDATA` (Windows), or the temporary folder, the first that is set.
pub fn default_sqlite_path(get: &impl Fn(&str) -> Option<String>) -> PathBuf {
    let data = get("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| get("HOME").map(|home| PathBuf::from(home).join(".local").join("share")))
        .or_else(|| get("LOCALAPPDATA").map(PathBuf::from))
        .unwrap_or_else(std::env::temp_dir);
    data.join("lcw-handler").join("ledger.sqlite")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<LedgerSettings, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LedgerSettings::from_lookup(&|name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_depend_on_the_mode() {
        let s = settings(&[("HOME", "/home/ann")]).unwrap();
        assert_eq!(s.for_host(), LedgerBackend::Off);
        assert_eq!(
            s.for_standalone(),
            LedgerBackend::Sqlite("/home/ann/.local/share/lcw-handler/ledger.sqlite".into())
        );
        assert_eq!(s.retention_days(), 30);
    }

    #[test]
    fn reads_each_form() {
        let s = settings(&[
            ("LCW_LEDGER", "sqlite:/tmp/l.sqlite"),
            ("LCW_LEDGER_RETENTION_DAYS", "7"),
        ])
        .unwrap();
        assert_eq!(s.for_host(), LedgerBackend::Sqlite("/tmp/l.sqlite".into()));
        assert_eq!(s.retention, Duration::from_secs(7 * 86_400));
        let blob = settings(&[
            ("LCW_LEDGER", "blob"),
            ("AzureWebJobsStorage__accountName", "lcwapp"),
        ])
        .unwrap();
        assert_eq!(blob.for_standalone(), LedgerBackend::Blob);
        let no_account = settings(&[("LCW_LEDGER", "blob")]).unwrap_err().to_string();
        assert!(
            no_account.contains("AzureWebJobsStorage__accountName"),
            "{no_account}"
        );
        let off = settings(&[("LCW_LEDGER", "off")]).unwrap();
        assert_eq!(off.for_standalone(), LedgerBackend::Off);
    }

    #[test]
    fn errors_name_the_setting() {
        for (name, value) in [
            ("LCW_LEDGER", "postgres://x"),
            ("LCW_LEDGER", "sqlite:"),
            ("LCW_LEDGER_RETENTION_DAYS", "0"),
            ("LCW_LEDGER_RETENTION_DAYS", "a week"),
        ] {
            let error = settings(&[(name, value)]).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
        }
    }
}
