//! `lcw-handler serve --with-local-tenant`: the standalone server against a local tenant
//! stand-in, for hand-testing without Azure.
//!
//! Off Azure there is no managed identity, so a plain `serve` can accept callouts but never
//! resume them. This command starts the tenant emulator (identity endpoint, Graph, signing keys,
//! the LCW caller), prints the settings it points the handler at, and runs `serve` as a child
//! process with them — the very code path of production, configured only through its
//! environment. `lcw-handler send` then posts signed callouts, and every resume the local Graph
//! records is printed. Ctrl-C or SIGTERM stops the child and the tenant.

use std::net::SocketAddr;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use lcw_emulator::tenant::{RecordedResume, TenantEmulator, TenantOptions};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use super::app_root::handler_env;
use super::interrupt::{Interrupts, RunError};
use crate::config::{DEFAULT_LOG_FILTER, log_filter};
use crate::settings::{IDENTITY_HEADER, LCW_LOG};

/// The `serve` log line that names the bound address.
const SERVING: &str = "serving standalone";

pub(super) async fn run(listen: SocketAddr) -> ExitCode {
    crate::logging::init_human("warn");
    let outcome = match Interrupts::listen() {
        Ok(mut interrupts) => serve_locally(listen, &mut interrupts).await,
        Err(e) => Err(RunError::Failed(e)),
    };
    super::verdict("serve --with-local-tenant", outcome)
}

async fn serve_locally(listen: SocketAddr, interrupts: &mut Interrupts) -> Result<bool, RunError> {
    let log_filter = match std::env::var(LCW_LOG) {
        Ok(text) => log_filter(&text).map_err(|e| e.to_string())?,
        Err(_) => DEFAULT_LOG_FILTER.to_owned(),
    };
    let tenant = TenantEmulator::start(TenantOptions::default())
        .await
        .map_err(|e| format!("cannot start the local tenant: {e}"))?;
    let mut env = handler_env(&tenant, &log_filter);
    // Each run has a tenant of its own, so tasks a persistent ledger kept from an earlier run
    // could never be resumed here: unless told otherwise, this sandbox keeps no ledger.
    if std::env::var_os(crate::settings::LCW_LEDGER).is_none() {
        env.push((crate::settings::LCW_LEDGER.to_owned(), "off".to_owned()));
    }
    eprintln!(
        "local tenant at {} (identity endpoint, Graph, signing keys, LCW caller)",
        tenant.graph_url()
    );
    eprintln!("settings given to `serve` (over this environment):");
    for (name, value) in &env {
        let shown = if name == IDENTITY_HEADER {
            "(set, redacted)"
        } else {
            value.as_str()
        };
        eprintln!("  {name}={shown}");
    }

    let executable =
        std::env::current_exe().map_err(|e| format!("cannot locate this binary: {e}"))?;
    let mut child = Command::new(executable)
        .args(["serve", "--listen", &listen.to_string()])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start `serve`: {e}"))?;
    let stdout = child.stdout.take();
    let outcome = interrupts.guard(watch(&mut child, stdout, &tenant)).await;
    // However it ended, the child is killed and waited for before the tenant goes.
    let _ = child.kill().await;
    tenant.shutdown().await;
    Err(match outcome {
        Ok(reason) => RunError::Failed(reason),
        Err(signal) => RunError::Interrupted(signal),
    })
}

/// Forwards the server's log, says how to send once it listens, and reports every resume the
/// local Graph records, until the server exits (which is a failure: it was meant to run).
async fn watch(child: &mut Child, stdout: Option<ChildStdout>, tenant: &TenantEmulator) -> String {
    let forward = async {
        let Some(stdout) = stdout else {
            return std::future::pending().await;
        };
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            println!("{line}");
            if let Some(address) = bound_address(&line) {
                eprintln!(
                    "ready: post a signed callout with\n  lcw-handler send tests/fixtures/callouts/launch-and-wait.json --to http://{address} --tenant {}",
                    tenant.graph_url()
                );
            }
        }
        std::future::pending::<()>().await
    };
    let resumes = async {
        let mut seen = 0;
        loop {
            if tenant
                .wait_for_resumes(seen + 1, Duration::from_secs(3600))
                .await
            {
                for resume in tenant.resumes().iter().skip(seen) {
                    eprintln!("{}", describe(resume));
                    seen += 1;
                }
            }
        }
    };
    tokio::select! {
        status = child.wait() => match status {
            Ok(status) => format!("`serve` stopped ({status})"),
            Err(e) => format!("`serve` could not be watched: {e}"),
        },
        () = forward => unreachable!("forwarding never ends on its own"),
        () = resumes => unreachable!("the resume watch never ends on its own"),
    }
}

/// The address in `serve`'s "serving standalone" log line.
fn bound_address(line: &str) -> Option<String> {
    if !line.contains(SERVING) {
        return None;
    }
    let event: serde_json::Value = serde_json::from_str(line).ok()?;
    (event["fields"]["message"] == SERVING)
        .then(|| event["fields"]["listen"].as_str().map(str::to_owned))
        .flatten()
}

fn describe(resume: &RecordedResume) -> String {
    format!(
        "local Graph: resume of taskProcessingResult {} ({}) answered {}",
        resume.task_processing_result_id,
        resume.operation_status.as_deref().unwrap_or("no status"),
        resume.status
    )
}
