//! `host` and `serve`: set up the pipeline from settings and serve until stopped.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::net::TcpListener;
use tracing::{error, info, warn};

use super::UserTasks;
use super::{EXIT_RESTART, port_from_env};
use crate::config::unknown_settings_in_env;
use crate::config::{AuthMode, Config};
use crate::credential::managed_identity_source;
use crate::graph::GraphClient;
use crate::host::{HostJson, HostState};
use crate::ledger;
use crate::logging;
use crate::pipeline::Pipeline;
use crate::settings::{
    FUNCTIONS_APP_ROOT_PATH, FUNCTIONS_CUSTOMHANDLER_PORT, IDENTITY_ENDPOINT, LCW_AUTH,
};
use crate::task::builtin;
use crate::task::entitlement::{ContinueAll, EntitlementTask};

/// Which mode a pipeline serves in: it decides the ledger's default.
#[derive(Clone, Copy)]
enum Mode {
    Host,
    Standalone,
}

fn pipeline(config: Arc<Config>, tasks: UserTasks, mode: Mode) -> Result<Pipeline, String> {
    let backend = match mode {
        Mode::Host => config.ledger.for_host(),
        Mode::Standalone => config.ledger.for_standalone(),
    };
    let ledger = ledger::open(&backend, &config.ledger, &config.identity, true)
        .map_err(|e| e.to_string())?;
    let tokens = managed_identity_source(&config.identity).map_err(|e| e.to_string())?;
    let graph = GraphClient::with_tokens(&config.graph, tokens);
    // A binary with tasks of its own decides EM requests with its own logic, or lets them
    // continue; the stock binary follows LCW_TASK for both.
    let entitlement: Arc<dyn EntitlementTask> = match (tasks.entitlement, &config.builtin_task) {
        (Some(task), _) => task,
        (None, Some(builtin)) if tasks.lifecycle.is_none() => {
            builtin::entitlement_from_setting(builtin)
        }
        (None, _) => Arc::new(ContinueAll),
    };
    let task = match (tasks.lifecycle, &config.builtin_task) {
        (Some(task), _) => task,
        (None, Some(builtin)) => builtin::from_setting(builtin),
        (None, None) => return Err("no task: this binary has no built-in task settings".to_owned()),
    };
    let pipeline = Pipeline::new(task, graph, config).with_entitlement_task(entitlement);
    Ok(match ledger {
        Some(ledger) => {
            info!(ledger = %ledger.store().describe(), sole_user = ledger.sole_user(), "task ledger open");
            ledger::spawn_purger(ledger.clone());
            pipeline.with_ledger(ledger)
        }
        None => {
            info!(
                "no task ledger (LCW_LEDGER=off): duplicates are recognised by the PoP nonce only"
            );
            pipeline
        }
    })
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    // stderr lines become Error-level host logs, and the last ones are attached to exit errors.
    eprintln!("lcw-handler: {message}");
    ExitCode::FAILURE
}

/// Said at every start, so they cannot be forgotten: authentication off, and `LCW_*`
/// variables that are no setting of ours (typos whose default silently applies).
fn start_warnings(config: &Config) {
    if config.auth == AuthMode::Disabled {
        warn!(
            setting = LCW_AUTH,
            "LCW_AUTH=none: callouts are NOT authenticated; anyone who knows the callout URL can complete or fail tasks"
        );
    }
    for unknown in unknown_settings_in_env() {
        warn!(
            setting = %unknown.name,
            did_you_mean = unknown.suggestion.unwrap_or(""),
            "{unknown}"
        );
    }
}

/// Standalone runs are often local runs, where no managed identity exists: every resume would
/// fail to get a token and the task would end in the dead letter. Say so at start, with the
/// way out.
fn standalone_warnings(config: &Config) {
    if config.identity.endpoint.is_none() {
        warn!(setting = IDENTITY_ENDPOINT, "{}", no_identity_note());
    }
}

/// Why resumes cannot succeed without `IDENTITY_ENDPOINT`, and what to use instead.
pub(super) fn no_identity_note() -> String {
    let local = if cfg!(feature = "demo") {
        "`lcw-handler serve --with-local-tenant` (a local identity endpoint and Graph; post signed callouts with `lcw-handler send`) or `lcw-handler demo`"
    } else {
        "a developer build (default features), which has `serve --with-local-tenant` and `demo`"
    };
    format!(
        "{IDENTITY_ENDPOINT} is not set: resumes need a managed-identity token, which only Azure (App Service, Functions, a VM) hands out, so off Azure every resume fails and no task can finish, whatever LCW_AUTH says; for a local run use {local}"
    )
}

/// Serves the Functions host on `127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT`.
pub(super) async fn host(config: Arc<Config>, tasks: UserTasks) -> ExitCode {
    // Held to the end: dropping it writes out the lines still queued (see `logging`).
    let _log = logging::init_json(&config.log_filter);
    let Some(port) = port_from_env() else {
        return fail(format!(
            "{FUNCTIONS_CUSTOMHANDLER_PORT} is not set: the Functions host sets it; for local runs use `lcw-handler serve`"
        ));
    };
    let Ok(port) = port.trim().parse::<u16>() else {
        return fail(format!(
            "{FUNCTIONS_CUSTOMHANDLER_PORT}={port:?} is not a port number"
        ));
    };
    let app_root = std::env::var_os(FUNCTIONS_APP_ROOT_PATH)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let host_json = match HostJson::read(&app_root) {
        Ok(host_json) => host_json,
        Err(e) => return fail(e),
    };
    start_warnings(&config);
    let pipeline = match pipeline(config, tasks, Mode::Host) {
        Ok(pipeline) => pipeline,
        Err(e) => return fail(e),
    };
    // The host dials IPv4 loopback (docs/protocol.md §8.3).
    let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
        Ok(listener) => listener,
        Err(e) => return fail(format!("cannot listen on 127.0.0.1:{port}: {e}")),
    };
    info!(
        port,
        task = pipeline.task_name(),
        entitlement_task = pipeline.entitlement_task_name(),
        max_attempts = host_json.max_dequeue_count,
        "serving the Functions host"
    );
    let processing = match processing_runtime() {
        Ok(runtime) => runtime,
        Err(e) => return fail(format!("cannot start the processing threads: {e}")),
    };
    let state =
        HostState::new(pipeline, host_json).with_processing_runtime(processing.handle().clone());
    let served = crate::host::serve(listener, state, shutdown_signal()).await;
    // Dropping a runtime from async code would block; let its threads finish on their own.
    processing.shutdown_background();
    match served {
        // Stopped by a signal after draining: ask for a restart rather than exit 0, which the
        // host treats as "never restart" (docs/protocol.md §8.9).
        Ok(()) => {
            info!(exit_code = EXIT_RESTART, "stopped");
            ExitCode::from(EXIT_RESTART)
        }
        Err(e) => {
            error!(error = %e, "server failed");
            fail(e)
        }
    }
}

/// Threads for `process` invocations, apart from the ones that acknowledge callouts.
fn processing_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name("lcw-process")
        .enable_all()
        .build()
}

/// Serves standalone on `listen`.
pub(super) async fn standalone(
    config: Arc<Config>,
    tasks: UserTasks,
    listen: SocketAddr,
) -> ExitCode {
    // Held to the end: dropping it writes out the lines still queued (see `logging`).
    let _log = logging::init_json(&config.log_filter);
    start_warnings(&config);
    standalone_warnings(&config);
    let pipeline = match pipeline(config, tasks, Mode::Standalone) {
        Ok(pipeline) => pipeline,
        Err(e) => return fail(e),
    };
    let listener = match TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(e) => return fail(format!("cannot listen on {listen}: {e}")),
    };
    // Log the bound address, not the requested one: `--listen 127.0.0.1:0` picks a free port.
    let bound = listener
        .local_addr()
        .map_or_else(|_| listen.to_string(), |a| a.to_string());
    info!(listen = %bound, task = pipeline.task_name(), "serving standalone");
    match crate::standalone::serve(listener, pipeline, shutdown_signal()).await {
        Ok(()) => {
            info!(exit_code = 0, "stopped");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    info!("stopping");
}
