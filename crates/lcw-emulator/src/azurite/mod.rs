//! Starts the real Azurite (the Azure Storage emulator, from npm) for tests and the local flow.
//!
//! Issue 8 asks for tests against real Storage, "started by the tests/CI as a user would run
//! it". So this is no stand-in: it runs the Azurite that `.ci/install-tools` installs into
//! `tools/node_modules` ([`AZURITE_VERSION`]), with
//!
//! - **free ports**: it asks for port 0 and reads the ports Azurite announces, so tests run in
//!   parallel and never collide with a developer's own Azurite on 10000–10002;
//! - **a temporary data folder**, removed when it stops;
//! - **readiness as an event**: the start returns once Azurite has printed "successfully
//!   listening" for the blob, queue and table services (no sleep, no polling);
//! - **no leaked processes**: [`Drop`] kills the server and waits for it, so a test that panics
//!   (its values are dropped while unwinding) or times out under
//!   [`time_limit`](crate::time_limit) leaves no `node` behind.
//!
//! Clients reach it with the account SAS of [`Azurite::account_sas`] (see `sas` for why).

mod error;
mod locate;
mod sas;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

pub use error::{AZURITE_VERSION, AzuriteError};
pub use sas::ACCOUNT_NAME;

/// How long Azurite may take to announce its services: about 3 s on an idle 2-core machine,
/// far more while a build runs beside it.
const READINESS_TIMEOUT: Duration = Duration::from_secs(90);
/// Lifetime of the SAS handed to clients: longer than any run.
const SAS_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// Stderr lines kept for error messages.
const STDERR_TAIL: usize = 10;
/// What Azurite prints once a service listens: `Azurite Queue service is successfully
/// listening at http://127.0.0.1:41234`.
const LISTENING: &str = " service is successfully listening at ";

/// The three services' base addresses.
#[derive(Debug, Clone, Default)]
struct Endpoints {
    blob: Option<String>,
    queue: Option<String>,
    table: Option<String>,
}

impl Endpoints {
    /// Records an announcement line; `true` once every service has been announced.
    fn record(&mut self, line: &str) -> bool {
        if let Some((service, address)) = line.split_once(LISTENING) {
            let address = address.trim().trim_end_matches('/').to_owned();
            match service.trim_start_matches("Azurite ") {
                "Blob" => self.blob = Some(address),
                "Queue" => self.queue = Some(address),
                "Table" => self.table = Some(address),
                _ => {}
            }
        }
        self.blob.is_some() && self.queue.is_some() && self.table.is_some()
    }
}

/// A running Azurite, killed (and its data folder removed) when dropped.
pub struct Azurite {
    child: Child,
    data_dir: PathBuf,
    blob: String,
    queue: String,
    table: String,
    sas: String,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl std::fmt::Debug for Azurite {
    /// Without the SAS: signatures are never printed, even for the development account.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Azurite")
            .field("pid", &self.child.id())
            .field("blob", &self.blob)
            .field("queue", &self.queue)
            .field("table", &self.table)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Azurite {
    /// Starts Azurite on free loopback ports with a fresh data folder and waits until its
    /// services listen.
    pub async fn start() -> Result<Azurite, AzuriteError> {
        crate::keep_linked_marker();
        let entry = locate::azurite_entry()?;
        let data_dir = std::env::temp_dir().join(format!("lcw-azurite-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&data_dir).map_err(|source| AzuriteError::DataFolder {
            path: data_dir.clone(),
            source,
        })?;
        let spawned = Command::new("node")
            .arg(&entry)
            .args(["--silent", "--disableTelemetry", "--skipApiVersionCheck"])
            .arg("--location")
            .arg(&data_dir)
            .args(["--blobHost", "127.0.0.1", "--blobPort", "0"])
            .args(["--queueHost", "127.0.0.1", "--queuePort", "0"])
            .args(["--tableHost", "127.0.0.1", "--tablePort", "0"])
            .current_dir(&data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(source) => {
                let _ = std::fs::remove_dir_all(&data_dir);
                return Err(AzuriteError::Spawn { source });
            }
        };
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(pipe) = child.stderr.take() {
            let tail = stderr.clone();
            std::thread::spawn(move || keep_tail(pipe, &tail));
        }
        let (lines, mut announced) = mpsc::unbounded_channel();
        if let Some(pipe) = child.stdout.take() {
            // Reads until Azurite exits; after readiness the lines are only drained.
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = lines.send(line);
                }
            });
        }
        // From here on the guard owns the child: an early return kills it.
        let mut azurite = Azurite {
            child,
            data_dir,
            blob: String::new(),
            queue: String::new(),
            table: String::new(),
            sas: sas::account_sas(SAS_LIFETIME),
            stderr,
        };
        let mut endpoints = Endpoints::default();
        let ready = tokio::time::timeout(READINESS_TIMEOUT, async {
            while let Some(line) = announced.recv().await {
                if endpoints.record(&line) {
                    return true;
                }
            }
            false
        })
        .await;
        match ready {
            Ok(true) => {}
            Ok(false) => {
                let status = azurite
                    .child
                    .wait()
                    .map_or_else(|e| e.to_string(), |s| s.to_string());
                return Err(AzuriteError::ExitedBeforeReady {
                    status,
                    stderr_tail: azurite.stderr_tail(),
                });
            }
            Err(_) => {
                return Err(AzuriteError::ReadinessTimeout {
                    timeout: READINESS_TIMEOUT,
                    stderr_tail: azurite.stderr_tail(),
                });
            }
        }
        let account =
            |address: Option<String>| format!("{}/{ACCOUNT_NAME}", address.unwrap_or_default());
        azurite.blob = account(endpoints.blob);
        azurite.queue = account(endpoints.queue);
        azurite.table = account(endpoints.table);
        tracing::info!(pid = azurite.pid(), queue = %azurite.queue, blob = %azurite.blob, "Azurite started");
        Ok(azurite)
    }

    /// The blob service of the development account: `http://127.0.0.1:<port>/devstoreaccount1`.
    pub fn blob_endpoint(&self) -> &str {
        &self.blob
    }

    /// The queue service of the development account.
    pub fn queue_endpoint(&self) -> &str {
        &self.queue
    }

    /// The table service of the development account.
    pub fn table_endpoint(&self) -> &str {
        &self.table
    }

    /// An account SAS (query string without `?`) for all three services, valid for a week.
    pub fn account_sas(&self) -> &str {
        &self.sas
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data folder (removed when Azurite stops).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The last lines Azurite wrote to stderr.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Stops Azurite now (the same as dropping it).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Azurite {
    /// SIGKILL, then wait, so the process is gone (and reaped) when this returns; then the data
    /// folder goes.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Keeps the last [`STDERR_TAIL`] lines of a stream until it ends.
fn keep_tail(pipe: impl Read, tail: &Mutex<VecDeque<String>>) {
    for line in BufReader::new(pipe).lines().map_while(Result::ok) {
        let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.len() == STDERR_TAIL {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_give_the_ports() {
        let mut endpoints = Endpoints::default();
        assert!(!endpoints.record("Azurite Blob service is starting at http://127.0.0.1:0"));
        assert!(
            !endpoints
                .record("Azurite Blob service is successfully listening at http://127.0.0.1:32931")
        );
        assert!(
            !endpoints.record(
                "Azurite Queue service is successfully listening at http://127.0.0.1:37877"
            )
        );
        assert!(
            endpoints.record(
                "Azurite Table service is successfully listening at http://127.0.0.1:34373"
            )
        );
        assert_eq!(endpoints.queue.as_deref(), Some("http://127.0.0.1:37877"));
        assert_eq!(endpoints.blob.as_deref(), Some("http://127.0.0.1:32931"));
    }
}
