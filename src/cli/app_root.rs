//! A throwaway function-app root for the local emulators: `host.json` and one folder per
//! function, exactly the deployment layout, written from the files this binary was built with
//! so `demo` and `bench` run from any directory.

use std::path::{Path, PathBuf};

use lcw_emulator::functions_host::{FunctionsHost, HostOptions, QueueBackend};
use lcw_emulator::tenant::{DEFAULT_POP_PATH, TenantEmulator};
use serde_json::Value;

use crate::settings::{
    IDENTITY_ENDPOINT, IDENTITY_HEADER, LCW_AUTH, LCW_AUTHORITY_URL, LCW_GRAPH_URL, LCW_LOG,
    LCW_POP_PATH, LCW_TENANT_ID,
};

const HOST_JSON: &str = include_str!("../../host.json");
const CALLOUT_FUNCTION_JSON: &str = include_str!("../../function/callout/function.json");
const PROCESS_FUNCTION_JSON: &str = include_str!("../../function/process/function.json");
const ENTITLEMENT_FUNCTION_JSON: &str = include_str!("../../function/entitlement/function.json");

/// Which functions the app root declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AppLayout {
    /// `callout`, `entitlement` and `process`: the real app.
    Full,
    /// `callout` only: accepted work stays queued (isolates acknowledgement throughput).
    CalloutOnly,
    /// `callout` only, served by the bare baseline server instead of the handler.
    Baseline,
}

/// A temporary app root, removed on drop.
pub(super) struct AppRoot {
    path: PathBuf,
}

impl AppRoot {
    /// Writes an app root named after `purpose` and the process id (`lcw-handler-demo-4242`),
    /// plus the layout when it is not the real app (`lcw-handler-bench-4242-baseline`).
    pub(super) fn write(purpose: &str, layout: AppLayout) -> Result<AppRoot, String> {
        let mut name = format!("lcw-handler-{purpose}-{}", std::process::id());
        match layout {
            AppLayout::Full => {}
            AppLayout::CalloutOnly => name.push_str("-callout-only"),
            AppLayout::Baseline => name.push_str("-baseline"),
        }
        let path = std::env::temp_dir().join(name);
        let root = AppRoot { path };
        root.write_files(layout)
            .map_err(|e| format!("cannot write the app root {}: {e}", root.path.display()))?;
        Ok(root)
    }

    fn write_files(&self, layout: AppLayout) -> std::io::Result<()> {
        let write = |relative: &str, text: &str| {
            let file = self.path.join(relative);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(file, text)
        };
        let host_json = match layout {
            AppLayout::Baseline => baseline_host_json(),
            _ => HOST_JSON.to_owned(),
        };
        write("host.json", &host_json)?;
        write("callout/function.json", CALLOUT_FUNCTION_JSON)?;
        if layout == AppLayout::Full {
            write("entitlement/function.json", ENTITLEMENT_FUNCTION_JSON)?;
            write("process/function.json", PROCESS_FUNCTION_JSON)?;
        }
        Ok(())
    }

    /// The folder.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for AppRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The app settings that point this binary at `tenant`, with PoP authentication enforced
/// exactly as in production, and `log_filter` for its logs.
pub(super) fn handler_env(tenant: &TenantEmulator, log_filter: &str) -> Vec<(String, String)> {
    vec![
        (IDENTITY_ENDPOINT.to_owned(), tenant.identity_endpoint()),
        (IDENTITY_HEADER.to_owned(), tenant.identity_header()),
        (LCW_GRAPH_URL.to_owned(), tenant.graph_url()),
        (LCW_LOG.to_owned(), log_filter.to_owned()),
        (LCW_AUTH.to_owned(), "pop".to_owned()),
        (LCW_TENANT_ID.to_owned(), tenant.tenant_id().to_owned()),
        (LCW_AUTHORITY_URL.to_owned(), tenant.authority_url()),
        (LCW_POP_PATH.to_owned(), DEFAULT_POP_PATH.to_owned()),
    ]
}

/// Starts this very binary as the custom handler of `root` under the host emulator.
pub(super) async fn start_host(
    root: &AppRoot,
    env: &[(String, String)],
) -> Result<FunctionsHost, String> {
    start_host_on(root, env, QueueBackend::InMemory).await
}

/// As [`start_host`], with the host's queues on `queues` (e.g. Azurite).
pub(super) async fn start_host_on(
    root: &AppRoot,
    env: &[(String, String)],
    queues: QueueBackend,
) -> Result<FunctionsHost, String> {
    let mut options = HostOptions::new(root.path());
    options.queues = queues;
    options.executable =
        Some(std::env::current_exe().map_err(|e| format!("cannot locate this binary: {e}"))?);
    options.env = env.to_vec();
    FunctionsHost::start(options)
        .await
        .map_err(|e| format!("the Functions host emulator could not start the handler: {e}"))
}

/// The same `host.json`, starting the `bench-baseline` server instead of `host`.
fn baseline_host_json() -> String {
    let mut value: Value = serde_json::from_str(HOST_JSON).unwrap_or(Value::Null);
    if let Some(description) = value.pointer_mut("/customHandler/description") {
        description["arguments"] = serde_json::json!(["bench-baseline"]);
    }
    value.to_string()
}
