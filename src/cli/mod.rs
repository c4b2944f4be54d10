//! The `lcw-handler` command line: `host`, `serve`, `check`, `history`, `explain`, `demo`,
//! `bench`, `send`, `package`, `new`, `register`.
//!
//! Thin by design: it parses arguments, validates settings into a [`Config`], and calls the
//! library. Errors are printed once, to stderr, naming the setting or flag at fault.

#[cfg(feature = "demo")]
mod app_root;
#[cfg(feature = "demo")]
mod bench;
#[cfg(feature = "demo")]
mod chaos;
#[cfg(feature = "demo")]
mod demo;
#[cfg(feature = "demo")]
mod demo_entitlement;
mod explain;
#[cfg(feature = "demo")]
mod failure_reason;
mod history;
#[cfg(feature = "demo")]
mod interrupt;
mod ledger_read;
#[cfg(feature = "demo")]
mod local_tenant;
#[cfg(feature = "deploy")]
mod new;
#[cfg(feature = "deploy")]
mod package;
#[cfg(feature = "demo")]
mod progress;
#[cfg(feature = "deploy")]
mod register;
#[cfg(feature = "demo")]
mod run_ledger;
#[cfg(feature = "demo")]
mod send;
mod serve;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::{Config, TaskSource, unknown_settings_in_env};
use crate::settings::{FUNCTIONS_CUSTOMHANDLER_PORT, FUNCTIONS_HTTPWORKER_PORT};
use crate::task::Task;
use crate::task::entitlement::EntitlementTask;

/// The logic a binary brings of its own; `None` where it relies on the built-in tasks.
#[derive(Clone, Default)]
pub(crate) struct UserTasks {
    /// Lifecycle Workflows tasks.
    pub(crate) lifecycle: Option<Arc<dyn Task>>,
    /// Entitlement Management decisions.
    pub(crate) entitlement: Option<Arc<dyn EntitlementTask>>,
}

/// Exit code asking the Functions host for an intentional restart (not counted as an error;
/// docs/protocol.md §8.9). Exit code 0 would stop the host from ever restarting the handler.
pub const EXIT_RESTART: u8 = 200;

#[derive(Debug, Parser)]
#[command(
    name = "lcw-handler",
    version,
    about = "Custom logic for Microsoft Entra Lifecycle Workflows, as an Azure Functions custom handler"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve as an Azure Functions custom handler (the default when FUNCTIONS_CUSTOMHANDLER_PORT is set).
    Host,
    /// Serve without the Functions host: POST /api/lifecycle/callout, in-process workers.
    Serve {
        /// Address and port to listen on, e.g. 127.0.0.1:8080 (0.0.0.0:8080 for every interface).
        #[arg(long, default_value = "127.0.0.1:8080", value_parser = listen_address)]
        listen: SocketAddr,
        /// Also start a local tenant stand-in (managed identity, Graph, signing keys) and point
        /// the handler at it, so callouts sent with `lcw-handler send` are resumed on this
        /// machine. Prints the settings it used.
        #[cfg(feature = "demo")]
        #[arg(long)]
        with_local_tenant: bool,
    },
    /// Validate the app settings and print the effective configuration (secrets redacted).
    Check,
    /// Recent tasks from the task ledger: time, workflow, task, subject, outcome, attempts,
    /// resume status and reason.
    History(history::HistoryArgs),
    /// One task's story from the task ledger: accepted, deliveries, logic runs, Graph's
    /// answers, outcome.
    Explain(explain::ExplainArgs),
    /// Run a joiner workflow for N users on this machine, against local emulators of the
    /// tenant and the Functions host.
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
    /// Measure acknowledgement latency, throughput against a bare baseline, completion time,
    /// token fetches, memory, cold start and binary size, end to end on this machine.
    #[cfg(feature = "demo")]
    Bench(bench::BenchArgs),
    /// Post a callout file to a running `serve`, signed the way Lifecycle Workflows signs it by
    /// the local tenant of `serve --with-local-tenant`.
    #[cfg(feature = "demo")]
    Send(send::SendArgs),
    /// The bare baseline handler the benchmark compares against (internal).
    #[cfg(feature = "demo")]
    #[command(hide = true)]
    BenchBaseline,
    /// Create or update the custom task extension in Microsoft Graph (and optionally add its
    /// task to a workflow) so that Lifecycle Workflows calls this deployment.
    #[cfg(feature = "deploy")]
    Register(Box<register::RegisterArgs>),
    /// Build the production binary for the Functions Linux workers (glibc 2.28) and write the
    /// deployment zip: host.json, one folder per function, the executable.
    #[cfg(feature = "deploy")]
    Package(package::PackageArgs),
    /// Create a task crate of your own: Cargo.toml, src/main.rs, host.json, function/ and the
    /// deployment files, ready for `cargo run -- demo` and `cargo run -- package`.
    #[cfg(feature = "deploy")]
    New(new::NewArgs),
}

/// Runs the CLI with a custom task: the entry point of a user's own binary.
///
/// ```no_run
/// use lcw_handler::task::{task_fn, Outcome, TaskContext, TaskError};
///
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     lcw_handler::run(task_fn(|_ctx: TaskContext| async { Ok::<_, TaskError>(Outcome::Completed) })).await
/// }
/// ```
pub async fn run<T: Task>(task: T) -> ExitCode {
    dispatch(UserTasks {
        lifecycle: Some(Arc::new(task)),
        entitlement: None,
    })
    .await
}

/// Runs the CLI with a custom task for Lifecycle Workflows and a custom decision for
/// Entitlement Management callouts (see [`crate::task::entitlement`]). [`run`] alone lets every
/// EM request continue.
///
/// ```no_run
/// use lcw_handler::entitlement::Decision;
/// use lcw_handler::task::entitlement::{EntitlementContext, decision_fn};
/// use lcw_handler::task::{TaskError, builtin::Complete};
///
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     let decide = |_ctx: EntitlementContext| async { Ok::<_, TaskError>(Decision::continue_with("checked")) };
///     lcw_handler::run_with_entitlement(Complete, decision_fn(decide)).await
/// }
/// ```
pub async fn run_with_entitlement<T: Task, E: EntitlementTask>(
    task: T,
    entitlement: E,
) -> ExitCode {
    dispatch(UserTasks {
        lifecycle: Some(Arc::new(task)),
        entitlement: Some(Arc::new(entitlement)),
    })
    .await
}

/// Runs the CLI with the built-in task named by `LCW_TASK`.
pub async fn run_builtin() -> ExitCode {
    dispatch(UserTasks::default()).await
}

async fn dispatch(tasks: UserTasks) -> ExitCode {
    let cli = Cli::parse();
    let command = match cli.command {
        Some(command) => command,
        None if port_from_env().is_some() => Command::Host,
        None => {
            eprintln!(
                "lcw-handler: no command given and {FUNCTIONS_CUSTOMHANDLER_PORT} is not set; see `lcw-handler --help`"
            );
            return ExitCode::from(2);
        }
    };
    // Reading the ledger needs only the ledger settings, not a valid handler configuration.
    let command = match command {
        Command::History(args) => return history::run(args).await,
        Command::Explain(args) => return explain::run(args).await,
        command => command,
    };
    #[cfg(feature = "demo")]
    match command {
        Command::Demo(args) => return demo::run(args).await,
        Command::Bench(args) => return bench::run(args).await,
        Command::BenchBaseline => return bench::baseline::run().await,
        Command::Send(args) => return send::run(args).await,
        Command::Serve {
            listen,
            with_local_tenant: true,
        } => return local_tenant::run(listen).await,
        _ => {}
    }
    // Deployment commands read flags (and the azd environment), not the handler's app settings.
    #[cfg(feature = "deploy")]
    match command {
        Command::Register(args) => return register::run(*args).await,
        Command::Package(args) => return package::run(args),
        Command::New(args) => return new::run(args),
        _ => {}
    }
    let source = match tasks.lifecycle {
        Some(_) => TaskSource::Custom,
        None => TaskSource::Builtin,
    };
    let config = match Config::from_env_for(source) {
        Ok(config) => Arc::new(config),
        Err(e) => {
            eprintln!("lcw-handler: {e}");
            return ExitCode::FAILURE;
        }
    };
    match command {
        Command::Check => check(&config, &tasks),
        Command::Host => serve::host(config, tasks).await,
        Command::Serve { listen, .. } => serve::standalone(config, tasks, listen).await,
        Command::History(_) | Command::Explain(_) => unreachable!("handled above"),
        #[cfg(feature = "demo")]
        Command::Demo(_) | Command::Bench(_) | Command::BenchBaseline | Command::Send(_) => {
            unreachable!("handled above")
        }
        #[cfg(feature = "deploy")]
        Command::Register(_) | Command::Package(_) | Command::New(_) => {
            unreachable!("handled above")
        }
    }
}

/// The exit status of a local run (`demo`, `bench`): success only when it ran and its own
/// checks passed; a run that could not happen says why on stderr, and an interrupted one says
/// so and exits as the signal's convention wants (130 for Ctrl-C, 143 for SIGTERM).
#[cfg(feature = "demo")]
fn verdict(what: &str, outcome: Result<bool, impl Into<interrupt::RunError>>) -> ExitCode {
    // Whatever the run printed so far comes first, so nothing appears after the verdict.
    let _ = std::io::Write::flush(&mut std::io::stdout());
    match outcome.map_err(Into::into) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(interrupt::RunError::Failed(e)) => {
            eprintln!("{what} failed: {e}");
            ExitCode::FAILURE
        }
        Err(interrupt::RunError::Interrupted(signal)) => {
            eprintln!(
                "{what} interrupted ({signal}): every process it started is stopped and its temporary files are removed"
            );
            signal.exit_code()
        }
    }
}

/// A count that must be at least 1 (`demo --users`, `bench --callouts`): zero would "succeed"
/// without showing anything.
#[cfg(feature = "demo")]
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number, at least 1".to_owned()),
    }
}

/// `--throttle`: the share of resumes the local Graph answers `429`. At 1.0 no resume can ever
/// succeed, so each task would retry for its every attempt and end in the poison queue after
/// many minutes; that run is refused up front rather than discovered at the end.
#[cfg(feature = "demo")]
fn throttle_share(text: &str) -> Result<f64, String> {
    let share: f64 = text
        .parse()
        .map_err(|_| "expected a share such as 0.3".to_owned())?;
    if share == 1.0 {
        return Err(
            "1.0 would throttle every resume, so no task could ever be resumed: each would retry through all its attempts for many minutes, then go to the poison queue; use a share below 1.0, e.g. 0.3"
                .to_owned(),
        );
    }
    if !(0.0..1.0).contains(&share) {
        return Err("must be at least 0.0 and below 1.0, e.g. 0.3".to_owned());
    }
    Ok(share)
}

/// `--listen`: an address and a port. A bare port is the usual slip, so the error shows the
/// form with that very port.
fn listen_address(text: &str) -> Result<SocketAddr, String> {
    text.parse::<SocketAddr>().map_err(|_| {
        let port = text
            .trim()
            .trim_start_matches(':')
            .parse::<u16>()
            .unwrap_or(8080);
        format!(
            "expected an address and a port, e.g. 127.0.0.1:{port} (this machine only) or 0.0.0.0:{port} (every interface)"
        )
    })
}

fn port_from_env() -> Option<String> {
    std::env::var(FUNCTIONS_CUSTOMHANDLER_PORT)
        .or_else(|_| std::env::var(FUNCTIONS_HTTPWORKER_PORT))
        .ok()
}

fn check(config: &Config, tasks: &UserTasks) -> ExitCode {
    println!(
        "lcw-handler {} — effective configuration",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(task) = &tasks.lifecycle {
        println!(
            "{:<30} not read: this binary runs its own task ({}); LCW_WEBHOOK_* do not apply either",
            crate::settings::LCW_TASK,
            task.name()
        );
        println!(
            "{:<30} {}",
            "(Entitlement Management)",
            tasks
                .entitlement
                .as_ref()
                .map_or("continue (this binary decides no EM request itself)", |t| t
                    .name())
        );
    }
    println!("{config}");
    if config.auth == crate::config::AuthMode::Disabled {
        println!(
            "\nwarning: LCW_AUTH=none: callouts are not authenticated; anyone who knows the callout URL can complete or fail tasks"
        );
    }
    if config.identity.endpoint.is_none() {
        println!("\nnote: {}", serve::no_identity_note());
    }
    for unknown in unknown_settings_in_env() {
        println!("\nwarning: {unknown}");
    }
    ExitCode::SUCCESS
}
