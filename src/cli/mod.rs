//! The `lcw-handler` command line: `host`, `serve`, `check`, `demo`, `bench`, `package`, `new`.
//!
//! Thin by design: it parses arguments, validates settings into a [`Config`], and calls the
//! library. Errors are printed once, to stderr, naming the setting or flag at fault.

#[cfg(feature = "demo")]
mod app_root;
#[cfg(feature = "demo")]
mod bench;
#[cfg(feature = "demo")]
mod demo;
#[cfg(feature = "deploy")]
mod new;
#[cfg(feature = "deploy")]
mod package;
mod serve;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::settings::{FUNCTIONS_CUSTOMHANDLER_PORT, FUNCTIONS_HTTPWORKER_PORT};
use crate::task::Task;

/// Exit code asking the Functions host for an intentional restart (not counted as an error;
/// PROTOCOL.md §8.9). Exit code 0 would stop the host from ever restarting the handler.
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
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Validate the app settings and print the effective configuration (secrets redacted).
    Check,
    /// Run a joiner workflow for N users on this machine, against local emulators of the
    /// tenant and the Functions host.
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
    /// Measure acknowledgement latency, throughput against a bare baseline, completion time,
    /// token fetches, memory, cold start and binary size, end to end on this machine.
    #[cfg(feature = "demo")]
    Bench(bench::BenchArgs),
    /// The bare baseline handler the benchmark compares against (internal).
    #[cfg(feature = "demo")]
    #[command(hide = true)]
    BenchBaseline,
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
    dispatch(Some(Arc::new(task))).await
}

/// Runs the CLI with the built-in task named by `LCW_TASK`.
pub async fn run_builtin() -> ExitCode {
    dispatch(None).await
}

async fn dispatch(task: Option<Arc<dyn Task>>) -> ExitCode {
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
    #[cfg(feature = "demo")]
    match command {
        Command::Demo(args) => return demo::run(args).await,
        Command::Bench(args) => return bench::run(args).await,
        Command::BenchBaseline => return bench::baseline::run().await,
        _ => {}
    }
    #[cfg(feature = "deploy")]
    match command {
        Command::Package(args) => return package::run(args),
        Command::New(args) => return new::run(args),
        _ => {}
    }
    let config = match Config::from_env() {
        Ok(config) => Arc::new(config),
        Err(e) => {
            eprintln!("lcw-handler: {e}");
            return ExitCode::FAILURE;
        }
    };
    match command {
        Command::Check => check(&config, task.as_deref()),
        Command::Host => serve::host(config, task).await,
        Command::Serve { listen } => serve::standalone(config, task, listen).await,
        #[cfg(feature = "demo")]
        Command::Demo(_) | Command::Bench(_) | Command::BenchBaseline => {
            unreachable!("handled above")
        }
        #[cfg(feature = "deploy")]
        Command::Package(_) | Command::New(_) => unreachable!("handled above"),
    }
}

/// The exit status of a local run (`demo`, `bench`): success only when it ran and its own
/// checks passed; a run that could not happen says why on stderr.
#[cfg(feature = "demo")]
fn verdict(what: &str, outcome: Result<bool, String>) -> ExitCode {
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{what} failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn port_from_env() -> Option<String> {
    std::env::var(FUNCTIONS_CUSTOMHANDLER_PORT)
        .or_else(|_| std::env::var(FUNCTIONS_HTTPWORKER_PORT))
        .ok()
}

fn check(config: &Config, task: Option<&dyn Task>) -> ExitCode {
    println!(
        "lcw-handler {} — effective configuration",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(task) = task {
        println!(
            "task: {} (built into this binary; LCW_TASK is ignored)",
            task.name()
        );
    }
    println!("{config}");
    if config.auth == crate::config::AuthMode::Disabled {
        println!(
            "\nwarning: LCW_AUTH=none: callouts are not authenticated; anyone who knows the callout URL can complete or fail tasks"
        );
    }
    ExitCode::SUCCESS
}
