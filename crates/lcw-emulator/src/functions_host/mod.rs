//! An Azure Functions host stand-in that drives a *real* custom-handler executable exactly as
//! the host does (docs/protocol.md §8).
//!
//! Azure Functions Core Tools cannot run here (no .NET, no CDN), and mocking the handler's own
//! envelope code would only test it against itself. So this module plays the host: it reads
//! `host.json` and the `function.json` files, spawns the handler with the host's environment,
//! waits for readiness, wraps public HTTP requests and queue messages in JSON-protocol
//! envelopes (double-encoded values and all), interprets the replies (`Outputs`, `Logs`, the
//! base64 pitfall), and runs queues with visibility timeouts, dequeue counts and poison
//! queues: in memory by default, or real Storage queues on Azurite ([`QueueBackend`]).
//!
//! Layout: `config` (host.json, function.json), `process` (spawn, readiness, restarts),
//! `envelope` (invocation requests), `outputs` (invocation replies), `invocation` (one call),
//! `http` (routing public requests), `queues` (in memory: `queue`; on Storage:
//! `storage_queue`), `dispatcher` (queue triggers).
//! Forwarding/proxying modes (docs/protocol.md §8.8) are not emulated: a function that would use them is a
//! start-up error rather than a silently different protocol.

mod config;
mod dispatcher;
mod envelope;
mod error;
mod http;
mod invocation;
mod outputs;
mod process;
mod queue;
mod queues;
mod storage_queue;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use error::HostError;
pub use queue::QueueStatus;
pub use queues::QueueBackend;

use config::{FunctionConfig, HostConfig, Settings, Trigger};
use process::{HandlerProcess, HandlerState, LaunchSpec};
use queues::Queues;

/// Default readiness timeout (the host's 30 s).
const DEFAULT_READINESS_TIMEOUT: Duration = Duration::from_secs(30);

/// How to run the host.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Folder with `host.json`; the child's `FUNCTIONS_APP_ROOT_PATH` and working directory.
    pub app_root: PathBuf,
    /// Folder holding one sub-folder per function; defaults to `app_root`.
    pub functions_dir: Option<PathBuf>,
    /// Overrides `customHandler.description.defaultExecutablePath`.
    pub executable: Option<PathBuf>,
    /// App settings, added to the child's environment (and used for `%VAR%` expansion).
    pub env: Vec<(String, String)>,
    /// Overrides `extensions.queues.visibilityTimeout`.
    pub visibility_timeout: Option<Duration>,
    /// How long to wait for the handler to answer `GET /`.
    pub readiness_timeout: Duration,
    /// Where the queues live: in memory (default) or on a Storage account such as Azurite.
    pub queues: QueueBackend,
}

impl Default for HostOptions {
    /// The app in the current directory, with the host's defaults.
    fn default() -> Self {
        Self::new(".")
    }
}

impl HostOptions {
    /// Options for the app in `app_root`, with defaults for everything else.
    pub fn new(app_root: impl Into<PathBuf>) -> Self {
        Self {
            app_root: app_root.into(),
            functions_dir: None,
            executable: None,
            env: Vec::new(),
            visibility_timeout: None,
            readiness_timeout: DEFAULT_READINESS_TIMEOUT,
            queues: QueueBackend::InMemory,
        }
    }
}

/// A public HTTP request to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// e.g. `POST`.
    pub method: String,
    /// e.g. `/api/lifecycle/callout?x=1`.
    pub path_and_query: String,
    /// Header name/value pairs; a repeated name is a repeated header.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// The host's public HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header name/value pairs.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub(crate) fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One invocation sent to the handler.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationRecord {
    /// The function (folder) name.
    pub function: String,
    /// `X-Azure-Functions-InvocationId`.
    pub invocation_id: String,
    /// The handler's HTTP status, if it answered.
    pub handler_status: Option<u16>,
    /// Whether the invocation succeeded.
    pub succeeded: bool,
    /// `Logs` (recorded only for 2xx, valid JSON replies).
    pub logs: Vec<String>,
    /// `Outputs` as sent (`ReturnValue` appears as `$return`); `Null` if there was no valid reply.
    pub outputs: serde_json::Value,
    /// `DequeueCount` for queue triggers.
    pub dequeue_count: Option<u32>,
    /// The queue message text that triggered it, for queue triggers (lets a test or the demo
    /// tell which task a delivery was for).
    pub trigger_message: Option<String>,
    /// Time from sending the envelope to the end of output handling.
    pub duration: Duration,
    /// Why the invocation failed.
    pub error: Option<String>,
}

/// State shared by the public API, the HTTP path and the dispatchers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) host: HostConfig,
    pub(crate) functions: Vec<Arc<FunctionConfig>>,
    pub(crate) process: HandlerProcess,
    pub(crate) queues: Queues,
    pub(crate) client: reqwest::Client,
    pub(crate) readiness_timeout: Duration,
    pub(crate) visibility_timeout: Duration,
    /// Queues some function triggers on: the ones `wait_until_idle` waits to drain.
    trigger_queues: Vec<String>,
    invocations: Mutex<Vec<InvocationRecord>>,
    /// Woken whenever an invocation is recorded.
    invocation_recorded: tokio::sync::Notify,
    http_in_flight: AtomicUsize,
    /// Writes started by [`FunctionsHost::enqueue`] on Storage queues and not finished yet.
    background_writes: AtomicUsize,
}

/// Counts an HTTP invocation as in flight until dropped.
pub(crate) struct InFlight<'a>(&'a Shared);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.http_in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.queues.changed.notify_waiters();
    }
}

impl Shared {
    pub(crate) fn record(&self, record: InvocationRecord) {
        self.invocations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record);
        self.invocation_recorded.notify_waiters();
    }

    pub(crate) fn http_in_flight(&self) -> InFlight<'_> {
        self.http_in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self)
    }
}

/// A running Functions host stand-in with its handler process.
#[derive(Debug)]
pub struct FunctionsHost {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    dispatchers: Vec<JoinHandle<()>>,
}

impl FunctionsHost {
    /// Reads the configuration, starts the handler and waits until it answers `GET /`, then
    /// starts the queue dispatchers.
    pub async fn start(options: HostOptions) -> Result<FunctionsHost, HostError> {
        crate::keep_linked_marker();
        let app_root = std::path::absolute(&options.app_root).unwrap_or(options.app_root.clone());
        let settings = Settings {
            app_settings: options.env.clone(),
        };
        let host = config::load_host(&app_root, &settings)?;
        let functions_dir = options
            .functions_dir
            .clone()
            .unwrap_or_else(|| app_root.clone());
        let functions = config::load_functions(&functions_dir, &settings)?;
        if let Some(setting) = host.forwarding_setting
            && let Some(function) = functions.iter().find(|f| f.qualifies_for_forwarding())
        {
            return Err(HostError::ForwardingNotEmulated {
                function: function.name.clone(),
                setting: setting.to_owned(),
            });
        }

        let program = match &options.executable {
            Some(executable) => executable.clone(),
            None => resolve_executable(&host.executable, &app_root),
        };
        let working_dir = host
            .working_directory
            .as_ref()
            .map(|dir| app_root.join(dir))
            .unwrap_or_else(|| app_root.clone());
        let process = HandlerProcess::start(LaunchSpec {
            program,
            args: host.arguments.clone(),
            working_dir,
            app_root: app_root.clone(),
            env: options.env.clone(),
            readiness_timeout: options.readiness_timeout,
        })
        .await?;

        let visibility_timeout = options
            .visibility_timeout
            .unwrap_or(host.queues.visibility_timeout);
        let functions: Vec<Arc<FunctionConfig>> = functions.into_iter().map(Arc::new).collect();
        let mut trigger_queues: Vec<String> = functions
            .iter()
            .filter_map(|f| match &f.trigger {
                Trigger::Queue(q) => Some(q.queue_name.clone()),
                Trigger::Http(_) => None,
            })
            .collect();
        trigger_queues.sort();
        trigger_queues.dedup();
        tracing::info!(
            functions = functions.len(),
            startup = ?process.startup_time,
            "functions host emulator started"
        );
        let queues = Queues::new(&options.queues, host.queues.message_encoding);
        let shared = Arc::new(Shared {
            host,
            functions: functions.clone(),
            process,
            queues,
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap_or_default(),
            readiness_timeout: options.readiness_timeout,
            visibility_timeout,
            trigger_queues,
            invocations: Mutex::new(Vec::new()),
            invocation_recorded: tokio::sync::Notify::new(),
            http_in_flight: AtomicUsize::new(0),
            background_writes: AtomicUsize::new(0),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let dispatchers = functions
            .iter()
            .filter(|f| matches!(f.trigger, Trigger::Queue(_)))
            .map(|f| {
                tokio::spawn(dispatcher::run(
                    shared.clone(),
                    f.clone(),
                    shutdown_rx.clone(),
                ))
            })
            .collect();
        Ok(FunctionsHost {
            shared,
            shutdown,
            dispatchers,
        })
    }

    /// The handler's process id while it runs (for measuring its memory from outside).
    pub fn handler_pid(&self) -> Option<u32> {
        self.shared.process.pid()
    }

    /// SIGKILLs the handler process now, mid-invocation or not, as an out-of-memory kill or a
    /// crashed worker ends it; returns its process id once it is dead (`None` when no handler
    /// was running). The host restarts it as after any unexpected exit, and counts the exit
    /// as a handler error: the third within 30 minutes shuts the host down, as in Azure.
    /// Invocations in flight fail (a queue message comes back after `visibilityTimeout`).
    pub async fn kill_handler(&self) -> Option<u32> {
        self.shared.process.kill().await
    }

    /// Waits up to `wait` until the handler is ready (after a restart), and returns its
    /// process id; `Err` says why it is not (still starting, exited, the host shut down).
    pub async fn wait_for_handler(&self, wait: Duration) -> Result<Option<u32>, String> {
        self.shared.process.port(wait).await?;
        Ok(self.shared.process.pid())
    }

    /// Time from spawning the handler to its first answered `GET /`.
    pub fn startup_time(&self) -> Duration {
        self.shared.process.startup_time
    }

    /// Sends a public HTTP request, e.g. `POST /api/lifecycle/callout`. A failed invocation is
    /// `Ok` with status `500`, as the real host answers; `Err` means the host itself could not
    /// serve.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HostError> {
        if let HandlerState::ShutDown { reason } = self.shared.process.state() {
            return Err(HostError::NotRunning { reason });
        }
        http::handle(&self.shared, request).await
    }

    /// Adds a message to a queue, as another producer writing to the storage account would.
    /// On Storage queues the write is started here and finishes in the background (it counts
    /// as pending for [`wait_until_idle`](Self::wait_until_idle) meanwhile); use
    /// [`put_message`](Self::put_message) to wait for it and see a failure.
    pub fn enqueue(&self, queue: &str, text: &str) {
        if self.shared.queues.put_in_memory(queue, text) {
            return;
        }
        let shared = self.shared.clone();
        let (queue, text) = (queue.to_owned(), text.to_owned());
        shared.background_writes.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            if let Err(error) = shared.queues.put(&queue, &text).await {
                tracing::warn!(%queue, %error, "enqueue failed");
            }
            shared.background_writes.fetch_sub(1, Ordering::SeqCst);
            shared.queues.changed.notify_waiters();
        });
    }

    /// Adds a message to a queue and waits until it is stored.
    pub async fn put_message(&self, queue: &str, text: &str) -> Result<(), HostError> {
        self.shared
            .queues
            .put(queue, text)
            .await
            .map_err(|reason| HostError::Queue { reason })
    }

    /// Waits until every queue a function triggers on is empty (invisible messages included)
    /// and no HTTP invocation is in flight. Queues nothing reads, such as poison queues, are
    /// not waited for: nothing would ever drain them.
    pub async fn wait_until_idle(&self, timeout: Duration) -> Result<(), HostError> {
        let shared = &self.shared;
        let idle = async {
            loop {
                let changed = shared.queues.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                let pending = shared.queues.pending(&shared.trigger_queues)
                    + shared.background_writes.load(Ordering::SeqCst);
                let in_flight = shared.http_in_flight.load(Ordering::SeqCst);
                if pending == 0 && in_flight == 0 {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(timeout, idle)
            .await
            .map_err(|_| HostError::NotIdle {
                timeout,
                pending: format!(
                    "{} queued message(s), {} HTTP invocation(s) in flight",
                    shared.queues.pending(&shared.trigger_queues),
                    shared.http_in_flight.load(Ordering::SeqCst)
                ),
            })
    }

    /// Current message texts of a queue (visible or not), oldest first.
    pub fn queue_messages(&self, queue: &str) -> Vec<String> {
        self.shared.queues.texts(queue)
    }

    /// How the messages of `queue` stand now: ready, in delivery, or awaiting a retry.
    pub fn queue_status(&self, queue: &str) -> QueueStatus {
        self.shared.queues.status(queue)
    }

    /// Every invocation sent to the handler, in completion order.
    pub fn invocations(&self) -> Vec<InvocationRecord> {
        self.shared
            .invocations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until at least `count` recorded invocations satisfy `matches`, and returns those,
    /// in completion order; `None` on timeout. Lets a test wait for "the host redelivered" or
    /// "the first delivery failed" as events rather than sleeping.
    pub async fn wait_for_invocations(
        &self,
        count: usize,
        timeout: Duration,
        matches: impl Fn(&InvocationRecord) -> bool,
    ) -> Option<Vec<InvocationRecord>> {
        let shared = &self.shared;
        let found = async {
            loop {
                let recorded = shared.invocation_recorded.notified();
                tokio::pin!(recorded);
                // Register before looking, so a record added in between is not missed.
                recorded.as_mut().enable();
                let matching: Vec<InvocationRecord> = self
                    .invocations()
                    .into_iter()
                    .filter(|r| matches(r))
                    .collect();
                if matching.len() >= count {
                    return matching;
                }
                recorded.await;
            }
        };
        tokio::time::timeout(timeout, found).await.ok()
    }

    /// Captured stdout lines of the handler (all restarts).
    pub fn handler_stdout(&self) -> Vec<String> {
        self.shared.process.output.stdout()
    }

    /// Captured stderr lines of the handler (all restarts).
    pub fn handler_stderr(&self) -> Vec<String> {
        self.shared.process.output.stderr()
    }

    /// Waits until `needle` occurs in at least `occurrences` captured handler lines (stdout and
    /// stderr, all restarts). Returns `false` on timeout.
    pub async fn wait_for_handler_line(
        &self,
        needle: &str,
        occurrences: usize,
        timeout: Duration,
    ) -> bool {
        tokio::time::timeout(
            timeout,
            self.shared
                .process
                .output
                .wait_for_line(needle, occurrences),
        )
        .await
        .is_ok()
    }

    /// Stops the dispatchers and kills the handler with SIGKILL, as the host does (no SIGTERM,
    /// no grace period).
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        self.shared.process.stop().await;
        for dispatcher in std::mem::take(&mut self.dispatchers) {
            let _ = dispatcher.await;
        }
    }
}

impl Drop for FunctionsHost {
    /// A host dropped without [`stop`](Self::stop) still stops its dispatchers and kills the
    /// handler, so no process outlives the emulator.
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.shared.process.request_stop();
    }
}

/// The host's executable lookup: a relative path that exists under the app root is used,
/// otherwise the name is looked up on `PATH` (which `Command` does for a bare name).
fn resolve_executable(executable: &str, app_root: &Path) -> PathBuf {
    let path = Path::new(executable);
    if path.is_absolute() {
        return path.to_owned();
    }
    let under_root = app_root.join(path);
    if under_root.exists() {
        under_root
    } else {
        path.to_owned()
    }
}
