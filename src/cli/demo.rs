//! `lcw-handler demo`: the whole flow on this machine, with nothing from Azure.
//!
//! A tenant emulator stands in for the managed-identity endpoint and Graph; a Functions-host
//! emulator runs the same `host.json` and `function.json` files we deploy (compiled into this
//! binary), starts *this very binary* as its custom handler, and drives it with the host's
//! envelopes. A joiner workflow then calls out for N users and the demo reports what Lifecycle
//! Workflows would see. Ctrl-C or SIGTERM stops the handler and removes the app root.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lcw_emulator::azurite::Azurite;
use lcw_emulator::functions_host::{FunctionsHost, InvocationRecord, QueueBackend};
use lcw_emulator::tenant::{Callout, LcwAuth, RecordedResume, TenantEmulator, TenantOptions};

use super::app_root::{AppLayout, AppRoot, handler_env, start_host_on};
use super::failure_reason::{failure_reasons, truncate};
use super::interrupt::{Interrupts, RunError};
use super::progress::{self, Progress};
use super::run_ledger;
use crate::config::{DEFAULT_LOG_FILTER, log_filter, unknown_settings_in_env};
use crate::host::PROCESS_FUNCTION;
use crate::settings::LCW_LOG;

/// The callout function's public route (`routePrefix` + `route` in `function.json`).
const CALLOUT_PATH: &str = crate::standalone::CALLOUT_ROUTE;

/// How long the demo waits for every task to be processed: the longest a task can take with
/// the shipped `host.json` and default settings — 5 attempts × (120 s task timeout + 60 s
/// retry window) + 4 × 30 s visibility timeout = 17 min — plus a minute. The progress lines
/// show what is awaited meanwhile, so a long wait is never a silent one.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(18 * 60);

/// Widest reason in the table.
const REASON_WIDTH: usize = 48;

/// Demo flags.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// How many users join (at least 1).
    #[arg(long, default_value_t = 10, value_parser = super::at_least_one)]
    pub users: usize,
    /// Callouts in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Latency Graph adds to each resume, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub graph_latency_ms: u64,
    /// Share of resumes Graph throttles with 429 + Retry-After (0.0 up to, not including, 1.0).
    #[arg(long, default_value_t = 0.0, value_parser = super::throttle_share)]
    pub throttle: f64,
    /// Print the handler's own log lines at the end.
    #[arg(long)]
    pub show_logs: bool,
    /// Run the host's queues on real Storage queues in Azurite (from tools/node_modules,
    /// installed by `.ci/install-tools`) instead of in memory, and keep the task ledger in
    /// Azurite's blob service (`LCW_LEDGER=blob`), as in Azure.
    #[arg(long)]
    pub azurite: bool,
    /// Chaos run: kill the handler mid-task, deliver duplicate callouts and queue
    /// redeliveries, fail Graph and the managed identity for a while; then prove from Graph's
    /// records and the ledger that every task was resumed exactly once and its logic ran once.
    #[arg(long, conflicts_with_all = ["azurite", "throttle", "entitlement"])]
    pub chaos: bool,
    #[command(flatten)]
    pub chaos_options: super::chaos::ChaosArgs,
    /// Play Entitlement Management instead: the connection test, then each user's
    /// access-package request through created → approval stage → granted.
    #[arg(long)]
    pub entitlement: bool,
}

/// One user's journey.
struct Row {
    name: String,
    task_processing_result_id: String,
    ack_status: u16,
    ack: Duration,
}

pub(super) async fn run(args: DemoArgs) -> ExitCode {
    if args.chaos {
        return super::chaos::run(args).await;
    }
    crate::logging::init_human("warn");
    let outcome = match Interrupts::listen() {
        Ok(mut interrupts) => demo(args, &mut interrupts).await,
        Err(e) => Err(RunError::Failed(e)),
    };
    super::verdict("demo", outcome)
}

async fn demo(args: DemoArgs, interrupts: &mut Interrupts) -> Result<bool, RunError> {
    // The handler inherits this environment: a typo here would be a typo there.
    let log_filter = match std::env::var(LCW_LOG) {
        Ok(text) => log_filter(&text).map_err(|e| e.to_string())?,
        Err(_) => DEFAULT_LOG_FILTER.to_owned(),
    };
    for unknown in unknown_settings_in_env() {
        eprintln!("warning: {unknown}");
    }
    if args.entitlement {
        println!(
            "lcw-handler demo --entitlement: {} access-package requests, on this machine\n",
            args.users
        );
    } else {
        println!(
            "lcw-handler demo: a joiner workflow for {} users, on this machine\n",
            args.users
        );
    }

    let tenant = TenantEmulator::start(TenantOptions {
        graph_latency: Duration::from_millis(args.graph_latency_ms),
        throttle_share: args.throttle,
        ..TenantOptions::default()
    })
    .await
    .map_err(|e| format!("cannot start the tenant emulator: {e}"))?;
    println!(
        "  tenant emulator   managed identity + Graph at {}",
        tenant.graph_url()
    );

    // Killed when dropped, after the host has stopped.
    let azurite = match args.azurite {
        true => Some(
            interrupts
                .guard(Azurite::start())
                .await?
                .map_err(|e| format!("cannot start Azurite: {e}"))?,
        ),
        false => None,
    };
    let mut env = handler_env(&tenant, &log_filter);
    if let Some(azurite) = &azurite {
        println!(
            "  Azure Storage     Azurite (pid {}), queues at {}, ledger in container lcw-ledger",
            azurite.pid(),
            azurite.queue_endpoint()
        );
        env.extend(blob_ledger_env(azurite));
    }
    let queues = azurite
        .as_ref()
        .map_or(QueueBackend::InMemory, QueueBackend::azurite);
    let decisions = match args.entitlement {
        true => Some(super::demo_entitlement::DecisionService::start().await?),
        false => None,
    };
    env.extend(decisions.iter().flat_map(|d| d.handler_env()));
    let app_root = AppRoot::write("demo", AppLayout::Full)?;
    // Without Azurite the ledger is a SQLite file that goes with the app root; the report's
    // reasons and stories come from it.
    let ledger = match azurite {
        Some(_) => None,
        None => Some(run_ledger::in_app_root(app_root.path())),
    };
    env.extend(ledger.iter().map(|file| run_ledger::setting(file)));
    // A start that hangs (readiness waits up to 30 s) still yields to a signal; the child it
    // spawned is killed when the start is dropped.
    let host = interrupts
        .guard(start_host_on(&app_root, &env, queues))
        .await??;
    println!(
        "  Functions host    app root {}, handler (pid {}) ready in {:.1} ms",
        app_root.path().display(),
        host.handler_pid()
            .map_or_else(|| "?".to_owned(), |pid| pid.to_string()),
        host.startup_time().as_secs_f64() * 1000.0
    );
    println!(
        "  caller auth       PoP signed requests, verified against the tenant's signing keys\n"
    );

    let outcome = if args.entitlement {
        interrupts
            .guard(super::demo_entitlement::play(args.users, &tenant, &host))
            .await
    } else {
        interrupts
            .guard(workflow(&args, &tenant, &host, ledger.as_deref()))
            .await
    };
    if args.show_logs && args.entitlement {
        for line in host.handler_stdout() {
            println!("  {line}");
        }
    }
    // Interrupted or not: the handler is killed and waited for, then the app root goes.
    host.stop().await;
    tenant.shutdown().await;
    drop(azurite);
    drop(app_root);
    drop(decisions);
    outcome?
}

/// The Blob ledger in Azurite, reached with its SAS (no managed identity signs in on http).
fn blob_ledger_env(azurite: &Azurite) -> [(String, String); 3] {
    use crate::settings::{LCW_LEDGER, LCW_LEDGER_BLOB_SAS, LCW_LEDGER_BLOB_SERVICE_URL};
    [
        (LCW_LEDGER.to_owned(), "blob".to_owned()),
        (
            LCW_LEDGER_BLOB_SERVICE_URL.to_owned(),
            azurite.blob_endpoint().to_owned(),
        ),
        (
            LCW_LEDGER_BLOB_SAS.to_owned(),
            azurite.account_sas().to_owned(),
        ),
    ]
}

/// The joiner workflow on the running emulators, through to the report.
async fn workflow(
    args: &DemoArgs,
    tenant: &TenantEmulator,
    host: &FunctionsHost,
    ledger: Option<&std::path::Path>,
) -> Result<bool, RunError> {
    let callouts = tenant
        .lcw()
        .with_auth(LcwAuth::Pop(tenant.pop_settings()))
        .joiner_wave(args.users);
    let total = callouts.len();
    let mut rows = Vec::with_capacity(total);
    let mut sent = futures::stream::iter(callouts.iter().map(|callout| send(host, callout)))
        .buffer_unordered(args.concurrency.max(1));
    while let Some(row) = sent.next().await {
        let row = row?;
        println!(
            "  [{:>3}/{total}] {:<24} acknowledged {} in {:.2} ms",
            rows.len() + 1,
            row.name,
            row.ack_status,
            row.ack.as_secs_f64() * 1000.0
        );
        rows.push(row);
    }
    drop(sent);

    println!(
        "\n  processing: a line every {} s until every task is resumed",
        progress::EVERY.as_secs()
    );
    let progress = Progress {
        host,
        tenant,
        tasks: total,
        gives_up_at: Instant::now() + SETTLE_TIMEOUT,
    };
    progress::with_ticks(host.wait_until_idle(SETTLE_TIMEOUT), || {
        println!("  … {}", progress.line());
    })
    .await
    .map_err(|e| format!("tasks did not settle: {e}; {}", progress.line()))?;
    println!("  processing done\n");

    let resumes = tenant.resumes();
    let attempts = attempts_by_result(&host.invocations());
    let poisoned = host
        .queue_messages(&format!("{}-poison", crate::host::TASK_QUEUE))
        .len();
    let handler_log = host.handler_stdout();
    let records = match ledger {
        Some(file) => run_ledger::records(file).await?,
        // On Azurite the ledger is in blob storage: `history --ledger blob` reads it.
        None => Vec::new(),
    };
    let reasons = failure_reasons(&records);
    let all_resumed = report(
        &rows,
        &resumes,
        &attempts,
        &reasons,
        tenant.token_fetches(),
        poisoned,
    );

    // The story of each task that did not complete, as `explain` tells it.
    let troubled: Vec<&str> = rows
        .iter()
        .map(|row| row.task_processing_result_id.as_str())
        .filter(|id| {
            !resumes.iter().any(|r| {
                r.task_processing_result_id == *id
                    && (200..300).contains(&r.status)
                    && r.operation_status.as_deref() == Some("completed")
            })
        })
        .collect();
    if !troubled.is_empty() {
        println!("\n  what happened to each task that did not complete (from the task ledger):\n");
        run_ledger::print_stories(&records, &troubled, &mut |line| println!("{line}"));
    }

    if args.show_logs {
        println!("\nhandler log (stdout):");
        for line in handler_log {
            println!("  {line}");
        }
    } else if !all_resumed || resumes.iter().any(resumed_failed) {
        println!("  the handler's own log lines: rerun with --show-logs");
    }
    Ok(all_resumed)
}

async fn send(host: &FunctionsHost, callout: &Callout) -> Result<Row, String> {
    let started = Instant::now();
    let response = host
        .send(callout.http_request(CALLOUT_PATH))
        .await
        .map_err(|e| format!("the callout could not be delivered: {e}"))?;
    Ok(Row {
        name: callout.spec.subject.display_name.clone(),
        task_processing_result_id: callout.task_processing_result_id.clone(),
        ack_status: response.status,
        ack: started.elapsed(),
    })
}

/// An accepted resume that reported `failed`.
fn resumed_failed(resume: &RecordedResume) -> bool {
    (200..300).contains(&resume.status) && resume.operation_status.as_deref() == Some("failed")
}

/// Graph's answers in order, runs collapsed: `429×3,204`.
fn answers(statuses: &[u16]) -> String {
    let mut runs: Vec<(u16, usize)> = Vec::new();
    for status in statuses {
        match runs.last_mut() {
            Some((last, count)) if last == status => *count += 1,
            _ => runs.push((*status, 1)),
        }
    }
    let shown: Vec<String> = runs
        .iter()
        .map(|(status, count)| match count {
            1 => status.to_string(),
            n => format!("{status}×{n}"),
        })
        .collect();
    if shown.is_empty() {
        "-".to_owned()
    } else {
        shown.join(",")
    }
}

/// Deliveries of the `process` function per taskProcessingResult id.
fn attempts_by_result(invocations: &[InvocationRecord]) -> HashMap<String, u32> {
    let mut attempts = HashMap::new();
    for record in invocations
        .iter()
        .filter(|r| r.function == PROCESS_FUNCTION)
    {
        let id = record
            .trigger_message
            .as_deref()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .and_then(|item| item["taskProcessingResultId"].as_str().map(str::to_owned));
        if let Some(id) = id {
            *attempts.entry(id).or_insert(0) += 1;
        }
    }
    attempts
}

/// Prints the per-user table and the summary; true when every task ended in a recorded resume.
fn report(
    rows: &[Row],
    resumes: &[RecordedResume],
    attempts: &HashMap<String, u32>,
    reasons: &HashMap<String, String>,
    token_fetches: usize,
    poisoned: usize,
) -> bool {
    println!(
        "  {:<24} {:>9} {:>8} {:>11} {:>16}  reason",
        "user", "ack (ms)", "attempts", "outcome", "resume requests"
    );
    let (mut completed, mut failed, mut missing) = (0, 0, 0);
    for row in rows {
        let mine: Vec<&RecordedResume> = resumes
            .iter()
            .filter(|r| r.task_processing_result_id == row.task_processing_result_id)
            .collect();
        let accepted = mine.iter().find(|r| (200..300).contains(&r.status));
        let outcome = match accepted.and_then(|r| r.operation_status.as_deref()) {
            Some("completed") => {
                completed += 1;
                "completed"
            }
            Some("failed") => {
                failed += 1;
                "failed"
            }
            _ => {
                missing += 1;
                "NOT RESUMED"
            }
        };
        let statuses: Vec<u16> = mine.iter().map(|r| r.status).collect();
        // Why a task did not complete; a completed one needs no reason.
        let reason = match outcome {
            "completed" => "",
            _ => reasons
                .get(&row.task_processing_result_id)
                .map_or("(no reason recorded)", String::as_str),
        };
        println!(
            "  {:<24} {:>9.2} {:>8} {:>11} {:>16}  {}",
            row.name,
            row.ack.as_secs_f64() * 1000.0,
            attempts
                .get(&row.task_processing_result_id)
                .copied()
                .unwrap_or(0),
            outcome,
            answers(&statuses),
            truncate(reason, REASON_WIDTH)
        );
    }
    let mut acks: Vec<Duration> = rows.iter().map(|r| r.ack).collect();
    acks.sort();
    let percentile = |p: f64| {
        acks.get(((acks.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let acknowledged = rows.iter().filter(|r| r.ack_status == 202).count();
    println!(
        "\n  summary: {acknowledged}/{} acknowledged with 202 (ack p50 {:.2} ms, max {:.2} ms); resumed {} (completed {completed}, failed {failed}); not resumed {missing}; token fetches {token_fetches}; poison messages {poisoned}",
        rows.len(),
        percentile(0.5),
        percentile(1.0),
        completed + failed,
    );
    let ok = missing == 0 && acknowledged == rows.len();
    println!(
        "  result: {}",
        if ok {
            "every task ended in a recorded resume"
        } else {
            "SOME TASKS DID NOT END IN A RESUME"
        }
    );
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_answers_collapse_into_runs() {
        assert_eq!(answers(&[]), "-");
        assert_eq!(answers(&[204]), "204");
        assert_eq!(
            answers(&[429, 429, 429, 503, 429, 204]),
            "429×3,503,429,204"
        );
    }
}
