//! `lcw-handler demo`: the whole flow on this machine, with nothing from Azure.
//!
//! A tenant emulator stands in for the managed-identity endpoint and Graph; a Functions-host
//! emulator reads the same `host.json` and `function.json` files we deploy, starts *this very
//! binary* as its custom handler, and drives it with the host's envelopes. A joiner workflow
//! then calls out for N users and the demo reports what Lifecycle Workflows would see.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lcw_emulator::functions_host::{FunctionsHost, InvocationRecord};
use lcw_emulator::tenant::{Callout, LcwAuth, RecordedResume, TenantEmulator, TenantOptions};

use super::app_root::{AppLayout, AppRoot, handler_env, start_host};
use crate::host::PROCESS_FUNCTION;
use crate::settings::LCW_LOG;

/// The callout function's public route (`routePrefix` + `route` in `function.json`).
const CALLOUT_PATH: &str = crate::standalone::CALLOUT_ROUTE;

/// How long the demo waits for every task to be processed.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(180);

/// Demo flags.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// How many users join.
    #[arg(long, default_value_t = 10)]
    pub users: usize,
    /// Callouts in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Latency Graph adds to each resume, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub graph_latency_ms: u64,
    /// Share of resumes Graph throttles with 429 + Retry-After (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    pub throttle: f64,
    /// Print the handler's own log lines at the end.
    #[arg(long)]
    pub show_logs: bool,
}

/// One user's journey.
struct Row {
    name: String,
    task_processing_result_id: String,
    ack_status: u16,
    ack: Duration,
}

pub(super) async fn run(args: DemoArgs) -> ExitCode {
    crate::logging::init_human("warn");
    super::verdict("demo", demo(args).await)
}

async fn demo(args: DemoArgs) -> Result<bool, String> {
    if !(0.0..=1.0).contains(&args.throttle) {
        return Err("--throttle must be between 0.0 and 1.0".to_owned());
    }
    println!(
        "lcw-handler demo: a joiner workflow for {} users, on this machine\n",
        args.users
    );

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

    let app_root = AppRoot::write("demo", AppLayout::Full)?;
    let log_filter = std::env::var(LCW_LOG).unwrap_or_else(|_| "info".to_owned());
    let host = start_host(&app_root, &handler_env(&tenant, &log_filter)).await?;
    println!(
        "  Functions host    app root {}, handler ready in {:.1} ms",
        app_root.path().display(),
        host.startup_time().as_secs_f64() * 1000.0
    );
    println!(
        "  caller auth       PoP signed requests, verified against the tenant's signing keys\n"
    );

    let callouts = tenant
        .lcw()
        .with_auth(LcwAuth::Pop(tenant.pop_settings()))
        .joiner_wave(args.users);
    let total = callouts.len();
    let mut rows = Vec::with_capacity(total);
    let mut sent = futures::stream::iter(callouts.iter().map(|callout| send(&host, callout)))
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

    print!("\n  processing...");
    host.wait_until_idle(SETTLE_TIMEOUT)
        .await
        .map_err(|e| format!("tasks did not settle: {e}"))?;
    println!(" done\n");

    let resumes = tenant.resumes();
    let attempts = attempts_by_result(&host.invocations());
    let poisoned = host
        .queue_messages(&format!("{}-poison", crate::host::TASK_QUEUE))
        .len();
    let all_resumed = report(&rows, &resumes, &attempts, tenant.token_fetches(), poisoned);

    if args.show_logs {
        println!("\nhandler log (stdout):");
        for line in host.handler_stdout() {
            println!("  {line}");
        }
    }
    host.stop().await;
    tenant.shutdown().await;
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
    token_fetches: usize,
    poisoned: usize,
) -> bool {
    println!(
        "  {:<24} {:>9} {:>8} {:>10} {:>16}",
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
        let statuses: Vec<String> = mine.iter().map(|r| r.status.to_string()).collect();
        println!(
            "  {:<24} {:>9.2} {:>8} {:>10} {:>16}",
            row.name,
            row.ack.as_secs_f64() * 1000.0,
            attempts
                .get(&row.task_processing_result_id)
                .copied()
                .unwrap_or(0),
            outcome,
            if statuses.is_empty() {
                "-".to_owned()
            } else {
                statuses.join(",")
            }
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
