//! Runs the custom-handler process the way the Functions host does (docs/protocol.md §8.3, §8.9):
//! environment, readiness polling of `GET /` every 25 ms, stdout/stderr capture, restarts and
//! SIGKILL.
//!
//! A supervisor task owns the child. Its state is published on a `watch` channel so
//! invocations wait for readiness instead of polling:
//!
//! - exit code `0`: not restarted; later invocations fail;
//! - exit code `200`: restarted, not counted as an error;
//! - any other exit, or a readiness timeout during a restart: restarted and counted; the
//!   third error within 30 minutes shuts the host down;
//! - a stop, or an invocation exceeding `functionTimeout`: `SIGKILL` (no SIGTERM, no grace),
//!   then a restart in the timeout case;
//! - a kill from outside ([`HandlerProcess::kill`], e.g. a chaos run standing in for an
//!   out-of-memory kill or a crashed worker): `SIGKILL`, then handled as any other unexpected
//!   exit — restarted and counted as an error.
//!
//! Output is captured by one task per stream. A child that writes its last words to stderr and
//! exits makes two events ready at once, the pipe and the exit; whichever task runs first wins.
//! So before anything reads the captured lines because the child exited (the stderr tail of an
//! exit error, the warning of a restart), the capture tasks are drained to end-of-file, bounded
//! by [`DRAIN_TIMEOUT`]: otherwise "the handler said why it stopped" would depend on scheduling.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::HostError;

/// Readiness polling period of the host.
const READINESS_POLL: Duration = Duration::from_millis(25);
/// Per-probe timeout, so one hung probe cannot stall readiness polling for long.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Window in which three handler errors shut the host down.
const ERROR_WINDOW: Duration = Duration::from_secs(30 * 60);
const MAX_ERRORS_IN_WINDOW: usize = 3;
/// Exit code a handler uses to ask for a restart without it counting as an error.
const RESTART_EXIT_CODE: i32 = 200;
/// Stderr lines attached to exit errors, as the host logs them.
const STDERR_TAIL: usize = 3;
/// Bound on captured lines per stream; older lines are dropped first.
const MAX_CAPTURED_LINES: usize = 100_000;
/// How long an exited child's output may take to reach end-of-file. The pipes close when the
/// child exits, unless a grandchild inherited them; then the tail is read as far as it got.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything needed to (re)start the handler.
#[derive(Debug, Clone)]
pub(crate) struct LaunchSpec {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) working_dir: PathBuf,
    pub(crate) app_root: PathBuf,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) readiness_timeout: Duration,
}

/// What invocations see of the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HandlerState {
    Starting,
    Ready {
        port: u16,
        /// The child's process id, for measuring it (RSS) from outside.
        pid: Option<u32>,
    },
    /// Exited with code 0: the host does not restart it.
    Exited {
        reason: String,
    },
    /// The host stopped, or shut down after repeated handler errors.
    ShutDown {
        reason: String,
    },
}

enum Control {
    /// Kill and restart (an invocation exceeded `functionTimeout`).
    Restart,
    /// Kill as a crash would (the exit counts as an error and the handler is restarted);
    /// answers with the killed process id once it is dead.
    Crash(tokio::sync::oneshot::Sender<Option<u32>>),
    Stop,
}

/// Captured stdout and stderr lines.
#[derive(Debug, Default)]
pub(crate) struct CapturedOutput {
    stdout: Mutex<VecDeque<String>>,
    stderr: Mutex<VecDeque<String>>,
    /// Woken on every captured line.
    appended: Notify,
}

impl CapturedOutput {
    fn lock(stream: &Mutex<VecDeque<String>>) -> MutexGuard<'_, VecDeque<String>> {
        stream.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(stream: &Mutex<VecDeque<String>>, line: String) {
        let mut lines = Self::lock(stream);
        if lines.len() == MAX_CAPTURED_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// Waits until `needle` occurs in at least `occurrences` captured lines (either stream).
    pub(crate) async fn wait_for_line(&self, needle: &str, occurrences: usize) {
        loop {
            let appended = self.appended.notified();
            tokio::pin!(appended);
            appended.as_mut().enable();
            let count = Self::lock(&self.stdout)
                .iter()
                .chain(Self::lock(&self.stderr).iter())
                .filter(|line| line.contains(needle))
                .count();
            if count >= occurrences {
                return;
            }
            appended.await;
        }
    }

    pub(crate) fn stdout(&self) -> Vec<String> {
        Self::lock(&self.stdout).iter().cloned().collect()
    }

    pub(crate) fn stderr(&self) -> Vec<String> {
        Self::lock(&self.stderr).iter().cloned().collect()
    }

    fn stderr_tail(&self) -> Vec<String> {
        let lines = Self::lock(&self.stderr);
        lines
            .iter()
            .skip(lines.len().saturating_sub(STDERR_TAIL))
            .cloned()
            .collect()
    }
}

/// The supervised handler process.
#[derive(Debug)]
pub(crate) struct HandlerProcess {
    state: watch::Receiver<HandlerState>,
    commands: mpsc::Sender<Control>,
    supervisor: Mutex<Option<JoinHandle<()>>>,
    pub(crate) output: Arc<CapturedOutput>,
    pub(crate) startup_time: Duration,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Control::Restart => "Restart",
            Control::Crash(_) => "Crash",
            Control::Stop => "Stop",
        })
    }
}

/// The tasks copying a child's stdout and stderr into [`CapturedOutput`].
struct Capture {
    tasks: Vec<JoinHandle<()>>,
}

impl Capture {
    /// Waits until both streams reached end-of-file (the child exited and nothing else holds
    /// its pipes), at most [`DRAIN_TIMEOUT`], so every line the child wrote is captured.
    async fn drained(&mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        let all = async {
            for task in tasks {
                let _ = task.await;
            }
        };
        if tokio::time::timeout(DRAIN_TIMEOUT, all).await.is_err() {
            tracing::debug!(
                "custom handler output still open after it exited; reading what arrived"
            );
        }
    }
}

/// A started, ready child.
struct Running {
    child: Child,
    capture: Capture,
    startup: Duration,
    port: u16,
}

impl HandlerProcess {
    /// Starts the handler and waits until it is ready. A failed first start is an error (the
    /// caller decides), not a restart loop.
    pub(crate) async fn start(spec: LaunchSpec) -> Result<Self, HostError> {
        let output = Arc::new(CapturedOutput::default());
        let client = probe_client();
        let running = launch(&spec, &output, &client).await?;
        let startup_time = running.startup;
        let (state_tx, state) = watch::channel(HandlerState::Ready {
            port: running.port,
            pid: running.child.id(),
        });
        let (commands, command_rx) = mpsc::channel(8);
        let supervisor = tokio::spawn(supervise(
            spec,
            output.clone(),
            client,
            state_tx,
            command_rx,
            running,
        ));
        Ok(Self {
            state,
            commands,
            supervisor: Mutex::new(Some(supervisor)),
            output,
            startup_time,
        })
    }

    /// The running child's process id.
    pub(crate) fn pid(&self) -> Option<u32> {
        match &*self.state.borrow() {
            HandlerState::Ready { pid, .. } => *pid,
            _ => None,
        }
    }

    /// The current state.
    pub(crate) fn state(&self) -> HandlerState {
        self.state.borrow().clone()
    }

    /// The port of a ready handler, waiting up to `wait` while it (re)starts.
    pub(crate) async fn port(&self, wait: Duration) -> Result<u16, String> {
        let mut state = self.state.clone();
        let settled = tokio::time::timeout(
            wait,
            state.wait_for(|s| !matches!(s, HandlerState::Starting)),
        )
        .await;
        match settled {
            Err(_) => Err(format!("the custom handler was not ready within {wait:?}")),
            Ok(Err(_)) => Err("the host is shutting down".to_owned()),
            Ok(Ok(state)) => match &*state {
                HandlerState::Ready { port, .. } => Ok(*port),
                HandlerState::Exited { reason } | HandlerState::ShutDown { reason } => {
                    Err(reason.clone())
                }
                HandlerState::Starting => Err("the custom handler is starting".to_owned()),
            },
        }
    }

    /// Kills and restarts the handler (after an invocation exceeded `functionTimeout`).
    pub(crate) fn request_restart(&self) {
        let _ = self.commands.try_send(Control::Restart);
    }

    /// Kills the handler with SIGKILL as a crash would end it, and returns its process id once
    /// it is dead (`None` when no handler was running). The supervisor then treats the exit
    /// like any unexpected one: it restarts the handler and counts an error, so the third
    /// within 30 minutes shuts the host down, as in Azure.
    pub(crate) async fn kill(&self) -> Option<u32> {
        let (reply, killed) = tokio::sync::oneshot::channel();
        self.commands.send(Control::Crash(reply)).await.ok()?;
        killed.await.ok().flatten()
    }

    /// Asks the supervisor to kill the handler, without waiting (for `Drop`).
    pub(crate) fn request_stop(&self) {
        let _ = self.commands.try_send(Control::Stop);
    }

    /// Kills the handler with SIGKILL and waits for the supervisor to finish.
    pub(crate) async fn stop(&self) {
        let _ = self.commands.send(Control::Stop).await;
        let supervisor = self
            .supervisor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(supervisor) = supervisor {
            let _ = supervisor.await;
        }
    }
}

fn probe_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(PROBE_TIMEOUT)
        .build()
        .unwrap_or_default()
}

/// Picks a free port the way the host does: bind `127.0.0.1:0`, read it, release it.
fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// Spawns the child and polls `GET /` every 25 ms until any HTTP answer.
async fn launch(
    spec: &LaunchSpec,
    output: &Arc<CapturedOutput>,
    client: &reqwest::Client,
) -> Result<Running, HostError> {
    let spawn_error = |source| HostError::Spawn {
        executable: spec.program.clone(),
        source,
    };
    let port = free_port().map_err(spawn_error)?;
    let worker_id = uuid::Uuid::new_v4().to_string();
    let port_text = port.to_string();
    let app_root = spec.app_root.to_string_lossy().into_owned();
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .current_dir(&spec.working_dir)
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", &port_text)
        .env("FUNCTIONS_CUSTOMHANDLER_WORKER_ID", &worker_id)
        .env("FUNCTIONS_HTTPWORKER_PORT", &port_text)
        .env("FUNCTIONS_HTTPWORKER_ID", &worker_id)
        .env("FUNCTIONS_APP_ROOT_PATH", &app_root)
        .env("FUNCTIONS_WORKER_RUNTIME", "custom")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = command.spawn().map_err(spawn_error)?;
    tracing::debug!(program = %spec.program.display(), port, "custom handler spawned");
    let mut capture = Capture { tasks: Vec::new() };
    if let Some(stdout) = child.stdout.take() {
        capture
            .tasks
            .push(tokio::spawn(capture_lines(stdout, output.clone(), false)));
    }
    if let Some(stderr) = child.stderr.take() {
        capture
            .tasks
            .push(tokio::spawn(capture_lines(stderr, output.clone(), true)));
    }

    let deadline = started + spec.readiness_timeout;
    let url = format!("http://127.0.0.1:{port}/");
    let mut ticks = tokio::time::interval(READINESS_POLL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            status = child.wait() => {
                let status = status.map(|s| describe(&s)).unwrap_or_else(|e| e.to_string());
                capture.drained().await;
                return Err(HostError::ExitedBeforeReady { status, stderr_tail: output.stderr_tail() });
            }
            _ = tokio::time::sleep_until(deadline) => {
                let _ = child.kill().await;
                capture.drained().await;
                return Err(HostError::ReadinessTimeout {
                    timeout: spec.readiness_timeout,
                    stderr_tail: output.stderr_tail(),
                });
            }
            _ = ticks.tick() => {
                // Any HTTP answer counts, 404 included; connection refused means keep polling.
                if client.get(&url).send().await.is_ok() {
                    let startup = started.elapsed();
                    tracing::debug!(port, ?startup, "custom handler ready");
                    return Ok(Running { child, capture, startup, port });
                }
            }
        }
    }
}

async fn capture_lines(
    stream: impl AsyncRead + Unpin,
    output: Arc<CapturedOutput>,
    is_stderr: bool,
) {
    let mut reader = BufReader::new(stream);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buffer)
                    .trim_end_matches(['\r', '\n'])
                    .to_owned();
                if is_stderr {
                    tracing::debug!(target: "lcw_emulator::handler::stderr", "{line}");
                    CapturedOutput::push(&output.stderr, line);
                } else {
                    tracing::debug!(target: "lcw_emulator::handler::stdout", "{line}");
                    CapturedOutput::push(&output.stdout, line);
                }
                output.appended.notify_waiters();
            }
        }
    }
}

fn describe(status: &ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => format!("{status}"),
    }
}

/// Counts handler errors in the 30-minute window; `true` when the host must shut down.
fn count_error(errors: &mut VecDeque<Instant>) -> bool {
    let now = Instant::now();
    while errors
        .front()
        .is_some_and(|t| now.duration_since(*t) > ERROR_WINDOW)
    {
        errors.pop_front();
    }
    errors.push_back(now);
    errors.len() >= MAX_ERRORS_IN_WINDOW
}

async fn supervise(
    spec: LaunchSpec,
    output: Arc<CapturedOutput>,
    client: reqwest::Client,
    state: watch::Sender<HandlerState>,
    mut commands: mpsc::Receiver<Control>,
    mut running: Running,
) {
    let mut errors = VecDeque::new();
    loop {
        let exit = tokio::select! {
            status = running.child.wait() => status,
            command = commands.recv() => {
                if let Some(Control::Crash(reply)) = command {
                    let pid = running.child.id();
                    let status = running.child.kill().await.and(running.child.wait().await);
                    // Invocations must not reach the dead child's port while it restarts.
                    state.send_replace(HandlerState::Starting);
                    tracing::info!(?pid, "custom handler killed (SIGKILL) from outside");
                    let _ = reply.send(pid);
                    status
                } else {
                let _ = running.child.kill().await;
                match command {
                    Some(Control::Restart) => {
                        tracing::warn!("function timeout: custom handler killed, restarting");
                        state.send_replace(HandlerState::Starting);
                        match relaunch(&spec, &output, &client, &state, &mut errors).await {
                            Some(next) => { running = next; continue; }
                            None => return,
                        }
                    }
                    Some(Control::Stop | Control::Crash(_)) | None => {
                        state.send_replace(HandlerState::ShutDown { reason: "the host was stopped".to_owned() });
                        return;
                    }
                }
                }
            }
        };
        running.capture.drained().await;
        let description = exit
            .as_ref()
            .map(describe)
            .unwrap_or_else(|e| e.to_string());
        let code = exit.ok().and_then(|s| s.code());
        match code {
            Some(0) => {
                let reason = "the custom handler exited with code 0; the host does not restart it"
                    .to_owned();
                tracing::warn!("{reason}");
                state.send_replace(HandlerState::Exited { reason });
                wait_for_stop(&mut commands).await;
                return;
            }
            Some(RESTART_EXIT_CODE) => {
                tracing::info!("custom handler asked for a restart (exit code 200)");
            }
            _ => {
                tracing::warn!(status = %description, stderr_tail = ?output.stderr_tail(), "custom handler exited");
                if count_error(&mut errors) {
                    shut_down(
                        &state,
                        format!(
                            "the custom handler failed {MAX_ERRORS_IN_WINDOW} times within 30 minutes (last: {description})"
                        ),
                    );
                    return;
                }
            }
        }
        state.send_replace(HandlerState::Starting);
        match relaunch(&spec, &output, &client, &state, &mut errors).await {
            Some(next) => running = next,
            None => return,
        }
    }
}

/// Restarts until ready or until the error budget is spent.
async fn relaunch(
    spec: &LaunchSpec,
    output: &Arc<CapturedOutput>,
    client: &reqwest::Client,
    state: &watch::Sender<HandlerState>,
    errors: &mut VecDeque<Instant>,
) -> Option<Running> {
    loop {
        match launch(spec, output, client).await {
            Ok(running) => {
                state.send_replace(HandlerState::Ready {
                    port: running.port,
                    pid: running.child.id(),
                });
                return Some(running);
            }
            Err(error) => {
                tracing::warn!(%error, "custom handler restart failed");
                if count_error(errors) {
                    shut_down(
                        state,
                        format!(
                            "the custom handler failed {MAX_ERRORS_IN_WINDOW} times within 30 minutes (last: {error})"
                        ),
                    );
                    return None;
                }
            }
        }
    }
}

fn shut_down(state: &watch::Sender<HandlerState>, reason: String) {
    tracing::error!("{reason}; the host shuts down");
    state.send_replace(HandlerState::ShutDown { reason });
}

async fn wait_for_stop(commands: &mut mpsc::Receiver<Control>) {
    while let Some(command) = commands.recv().await {
        match command {
            Control::Stop => return,
            // Nothing runs: nothing to kill.
            Control::Crash(reply) => {
                let _ = reply.send(None);
            }
            Control::Restart => {}
        }
    }
}
