//! Why Azurite could not be started: each error says what to do about it, because the usual
//! cause is a machine where `.ci/install-tools` has not run yet.

use std::path::PathBuf;
use std::time::Duration;

/// Why [`Azurite::start`](super::Azurite::start) failed.
#[derive(Debug, thiserror::Error)]
pub enum AzuriteError {
    /// `tools/node_modules/azurite` is not there.
    #[error(
        "Azurite is not installed: none of {searched:?} exists; run `.ci/install-tools` in the lcw-handler checkout (it installs Azurite {AZURITE_VERSION} into tools/node_modules)"
    )]
    NotInstalled {
        /// The `azurite.js` paths looked at, in order.
        searched: Vec<PathBuf>,
    },
    /// `node` could not be run.
    #[error(
        "cannot start Azurite with `node` ({source}); Node.js must be on PATH (`.ci/install-tools` needs it too)"
    )]
    Spawn {
        /// The I/O error.
        source: std::io::Error,
    },
    /// The temporary data folder could not be created.
    #[error("cannot create Azurite's data folder {}: {source}", path.display())]
    DataFolder {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Azurite exited before all of its services listened.
    #[error("Azurite exited before it was ready ({status}); last stderr lines: {stderr_tail:?}")]
    ExitedBeforeReady {
        /// The exit status, as text.
        status: String,
        /// The last stderr lines.
        stderr_tail: Vec<String>,
    },
    /// Azurite did not announce its services in time.
    #[error(
        "Azurite did not announce its blob, queue and table services within {timeout:?}; last stderr lines: {stderr_tail:?}"
    )]
    ReadinessTimeout {
        /// How long was waited.
        timeout: Duration,
        /// The last stderr lines.
        stderr_tail: Vec<String>,
    },
}

/// The Azurite version `tools/package.json` pins (and `.ci/install-tools` installs).
pub const AZURITE_VERSION: &str = "3.37.0";
