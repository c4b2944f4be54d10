//! Shared set-up for the integration tests: the real `lcw-handler` binary (or an example built
//! against the library) under the Functions host emulator, talking to the tenant emulator.

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod azurite;
pub mod process;
pub mod serve;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use lcw_emulator::functions_host::{
    FunctionsHost, HostOptions, HttpResponse, InvocationRecord, QueueBackend,
};
use lcw_emulator::tenant::{
    Callout, CalloutSpec, DEFAULT_POP_PATH, LcwAuth, LcwCaller, RecordedResume, ScriptedResponse,
    TenantEmulator, TenantOptions,
};
// Not every test binary bounds its tests with it (some bound each step instead).
#[allow(unused_imports)]
pub use lcw_emulator::time_limit::test_body;

/// The public route of the callout function (from `function/callout/function.json`).
pub const CALLOUT_PATH: &str = "/api/lifecycle/callout";
/// The attempts `host.json` allows.
pub const MAX_ATTEMPTS: usize = 5;
/// Generous upper bound for a test's tasks to settle; never a timing assertion.
pub const SETTLE: Duration = Duration::from_secs(60);

/// `sqlite:<file>` in a fresh folder: a task ledger of one test's own, so handlers of tests
/// running at once never share the default ledger file. The folder is under cargo's
/// `CARGO_TARGET_TMPDIR` (inside `target/`), not the system temp folder: a test's handler may
/// still hold the file when the test ends, and `cargo clean` removes what is left.
pub fn fresh_ledger() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "lcw-test-ledger-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    format!("sqlite:{}", dir.join("ledger.sqlite").display())
}

/// The stock binary.
pub fn stock_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lcw-handler"))
}

/// An example binary, built on first use with the same profile as the tests.
pub fn example_binary(name: &'static str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<&'static str, PathBuf>> = Mutex::new(BTreeMap::new());
    // One build at a time; a test that panicked while building leaves nothing half-recorded.
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let profile_dir = stock_binary()
        .parent()
        .expect("binary has a folder")
        .to_owned();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(other) => other.to_owned(),
    };
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--example",
            name,
            "--profile",
            &profile,
            "--manifest-path",
        ])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building example {name} failed");
    let path = profile_dir.join("examples").join(name);
    built.insert(name, path.clone());
    path
}

/// A tenant and a host running one handler binary.
pub struct Harness {
    pub tenant: TenantEmulator,
    pub host: FunctionsHost,
}

impl Harness {
    /// Starts `binary` with the repository's `host.json` and functions, plus `env`.
    pub async fn start(binary: PathBuf, env: &[(&str, &str)]) -> Harness {
        Harness::start_with(binary, env, TenantOptions::default()).await
    }

    /// As [`start`](Self::start), with tenant options.
    pub async fn start_with(
        binary: PathBuf,
        env: &[(&str, &str)],
        tenant: TenantOptions,
    ) -> Harness {
        let tenant = TenantEmulator::start(tenant)
            .await
            .expect("tenant emulator starts");
        Harness::start_in(tenant, binary, env).await
    }

    /// As [`start`](Self::start), against a tenant already set up (e.g. with a fault injected
    /// before the handler's first request).
    pub async fn start_in(
        tenant: TenantEmulator,
        binary: PathBuf,
        env: &[(&str, &str)],
    ) -> Harness {
        Harness::start_on_queues(tenant, binary, env, QueueBackend::InMemory).await
    }

    /// As [`start_in`](Self::start_in), with the host's queues on `queues` (e.g. Azurite).
    pub async fn start_on_queues(
        tenant: TenantEmulator,
        binary: PathBuf,
        env: &[(&str, &str)],
        queues: QueueBackend,
    ) -> Harness {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut options = HostOptions::new(&root);
        options.functions_dir = Some(root.join("function"));
        options.executable = Some(binary);
        options.queues = queues;
        Harness::start_host(options, env, tenant).await
    }

    /// Starts the function app in `app_root` exactly as the host finds it there: its own
    /// `host.json`, function folders and executable (`defaultExecutablePath`).
    pub async fn start_app(app_root: &Path, env: &[(&str, &str)]) -> Harness {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .expect("tenant emulator starts");
        Harness::start_host(HostOptions::new(app_root), env, tenant).await
    }

    async fn start_host(
        mut options: HostOptions,
        env: &[(&str, &str)],
        tenant: TenantEmulator,
    ) -> Harness {
        // Redeliver at once: the tests are about what happens, not about waiting.
        options.visibility_timeout = Some(Duration::from_millis(10));
        options.env = vec![
            ("IDENTITY_ENDPOINT".to_owned(), tenant.identity_endpoint()),
            ("IDENTITY_HEADER".to_owned(), tenant.identity_header()),
            ("LCW_GRAPH_URL".to_owned(), tenant.graph_url()),
            ("LCW_RETRY_WINDOW_SECONDS".to_owned(), "2".to_owned()),
            // Callers are authenticated as in production: PoP against the emulated tenant.
            ("LCW_TENANT_ID".to_owned(), tenant.tenant_id().to_owned()),
            ("LCW_AUTHORITY_URL".to_owned(), tenant.authority_url()),
            ("LCW_POP_PATH".to_owned(), DEFAULT_POP_PATH.to_owned()),
            ("LCW_LOG".to_owned(), "debug".to_owned()),
        ];
        for (name, value) in env {
            options.env.retain(|(n, _)| n != name);
            options.env.push(((*name).to_owned(), (*value).to_owned()));
        }
        let host = FunctionsHost::start(options)
            .await
            .expect("the handler starts under the host");
        Harness { tenant, host }
    }

    /// Lifecycle Workflows, signing its callouts with PoP as it does for new extensions.
    pub fn lcw(&self) -> LcwCaller {
        self.tenant
            .lcw()
            .with_auth(LcwAuth::Pop(self.tenant.pop_settings()))
    }

    /// `users` joiner callouts (launch and wait).
    pub fn joiners(&self, users: usize) -> Vec<Callout> {
        self.lcw().joiner_wave(users)
    }

    /// One joiner callout for a user with this display name.
    pub fn joiner_named(&self, display_name: &str) -> Callout {
        let template = self.joiners(1).remove(0);
        let mut spec: CalloutSpec = template.spec;
        spec.subject.display_name = display_name.to_owned();
        self.lcw().callout(spec)
    }

    /// Sends a callout through the host.
    pub async fn send(&self, callout: &Callout) -> HttpResponse {
        self.host
            .send(callout.http_request(CALLOUT_PATH))
            .await
            .expect("the host serves the callout")
    }

    /// Sends a prepared request through the host.
    pub async fn send_request(
        &self,
        request: lcw_emulator::functions_host::HttpRequest,
    ) -> HttpResponse {
        self.host
            .send(request)
            .await
            .expect("the host serves the request")
    }

    /// Waits until `count` `process` deliveries of this task satisfy `matches`, and returns
    /// every such delivery.
    pub async fn wait_for_deliveries(
        &self,
        id: &str,
        count: usize,
        matches: impl Fn(&InvocationRecord) -> bool,
    ) -> Vec<InvocationRecord> {
        let id = id.to_owned();
        self.host
            .wait_for_invocations(count, SETTLE, |record| {
                record.function == "process" && is_delivery_of(record, &id) && matches(record)
            })
            .await
            .unwrap_or_else(|| {
                panic!(
                    "{count} matching deliveries of {id} within {SETTLE:?}: {:#?}",
                    self.deliveries_for(&id)
                )
            })
    }

    /// Waits until a handler log line containing `needle` has been captured `count` times.
    pub async fn wait_for_log(&self, needle: &str, count: usize) {
        assert!(
            self.host.wait_for_handler_line(needle, count, SETTLE).await,
            "{count} handler line(s) containing {needle:?} within {SETTLE:?}"
        );
    }

    /// Sends a raw body as a callout, from an authenticated caller.
    pub async fn send_body(&self, body: &str) -> HttpResponse {
        self.host
            .send(lcw_emulator::functions_host::HttpRequest {
                method: "POST".to_owned(),
                path_and_query: CALLOUT_PATH.to_owned(),
                headers: vec![
                    ("Content-Type".to_owned(), "application/json".to_owned()),
                    (
                        "Authorization".to_owned(),
                        self.lcw().authorization().expect("PoP header"),
                    ),
                ],
                body: body.as_bytes().to_vec(),
            })
            .await
            .expect("the host serves the callout")
    }

    /// One joiner callout whose resumes Graph answers with `responses` first, sent and settled.
    pub async fn run_with_graph_answering(&self, responses: Vec<ScriptedResponse>) -> Callout {
        let callout = self.joiners(1).remove(0);
        self.tenant
            .script_resume(&callout.task_processing_result_id, responses);
        assert_eq!(self.send(&callout).await.status, 202);
        self.settle().await;
        callout
    }

    /// Asserts that nothing reached the queue, the `process` function or Graph.
    pub fn assert_nothing_processed(&self) {
        let invocations = self.host.invocations();
        assert!(
            invocations.iter().all(|r| r.function == "callout"),
            "nothing was processed: {invocations:#?}"
        );
        assert!(
            self.host.queue_messages("lcw-tasks").is_empty(),
            "nothing was enqueued"
        );
        assert!(self.tenant.resumes().is_empty(), "nothing was resumed");
    }

    /// Waits until the queue is drained and nothing is in flight.
    pub async fn settle(&self) {
        self.host
            .wait_until_idle(SETTLE)
            .await
            .expect("tasks settle");
    }

    /// Every resume request Graph received for this task processing result.
    pub fn resumes_for(&self, id: &str) -> Vec<RecordedResume> {
        self.tenant
            .resumes()
            .into_iter()
            .filter(|r| r.task_processing_result_id == id)
            .collect()
    }

    /// Every `process` invocation for this task processing result.
    pub fn deliveries_for(&self, id: &str) -> Vec<InvocationRecord> {
        self.host
            .invocations()
            .into_iter()
            .filter(|r| r.function == "process")
            .filter(|r| is_delivery_of(r, id))
            .collect()
    }

    /// The poison queue's messages.
    pub fn poison(&self) -> Vec<String> {
        self.host.queue_messages("lcw-tasks-poison")
    }

    /// Handler stdout lines that parse as JSON.
    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        self.host
            .handler_stdout()
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    pub async fn stop(self) {
        self.host.stop().await;
        self.tenant.shutdown().await;
    }
}

/// Whether a queue-triggered invocation carried the work item of this task.
fn is_delivery_of(record: &InvocationRecord, id: &str) -> bool {
    record
        .trigger_message
        .as_deref()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .is_some_and(|item| item["taskProcessingResultId"] == id)
}

/// Asserts exactly one accepted resume with this status, and returns all requests.
pub fn assert_resumed_once(harness: &Harness, id: &str, status: &str) -> Vec<RecordedResume> {
    let resumes = harness.resumes_for(id);
    let accepted: Vec<_> = resumes.iter().filter(|r| r.status == 204).collect();
    assert_eq!(
        accepted.len(),
        1,
        "exactly one accepted resume for {id}: {resumes:#?}"
    );
    assert_eq!(
        accepted[0].operation_status.as_deref(),
        Some(status),
        "{resumes:#?}"
    );
    assert!(
        accepted[0].authorized,
        "the resume carried a managed-identity token"
    );
    resumes
}
