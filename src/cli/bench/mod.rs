//! `lcw-handler bench`: the end-to-end benchmark, side by side with a bare baseline, in one run.
//!
//! It starts the real binary under the Functions-host emulator with PoP enforced against the
//! tenant emulator and measures what Lifecycle Workflows and an operator care about:
//! acknowledgement latency at a steady rate, acknowledgement throughput against a bare hyper
//! handler answering the same envelopes, callout → resume completion with Graph latency and
//! throttling, token fetches, memory, cold start and binary size. It checks its own
//! correctness (every callout acknowledged, every task resumed exactly once) and exits
//! non-zero if that fails; the figures themselves are reported, never asserted. Ctrl-C or
//! SIGTERM stops every handler it started and removes its app roots.

pub(super) mod baseline;
mod measure;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use lcw_emulator::functions_host::FunctionsHost;
use lcw_emulator::tenant::{Callout, LcwAuth, TenantEmulator, TenantOptions};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::app_root::{AppLayout, AppRoot, handler_env, start_host};
use super::interrupt::{Interrupts, RunError};
use super::progress::{self, Progress};
use crate::settings::*;
use measure::Percentiles;
use report::Report;

/// The callout function's public route (`routePrefix` + `route` in `function.json`).
const CALLOUT_PATH: &str = crate::standalone::CALLOUT_ROUTE;
/// Callouts in flight at most during the paced phase (bounds the generator, not the handler).
const MAX_PACED_IN_FLIGHT: usize = 1024;
/// How long the latency phase waits for every task to be resumed.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(600);

/// Benchmark flags.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Callouts per phase (at least 1).
    #[arg(long, default_value_t = 10_000, value_parser = super::at_least_one)]
    pub callouts: usize,
    /// Callouts in flight at once in the throughput phases.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Callouts per second in the latency phase.
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    /// Latency Graph adds to each resume, in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub graph_latency_ms: u64,
    /// Share of resumes Graph answers 429 with Retry-After: 1 s (0.0 up to, not including, 1.0).
    #[arg(long, default_value_t = 0.05, value_parser = super::throttle_share)]
    pub throttle: f64,
    /// Cold starts to measure.
    #[arg(long, default_value_t = 20)]
    pub cold_starts: usize,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub(super) async fn run(args: BenchArgs) -> ExitCode {
    crate::logging::init_human("warn");
    let outcome = match Interrupts::listen() {
        Ok(mut interrupts) => bench(args, &mut interrupts).await,
        Err(e) => Err(RunError::Failed(e)),
    };
    super::verdict("bench", outcome)
}

fn progress(label: &str, done: usize, total: usize) {
    if total >= 10 && done.is_multiple_of((total / 10).max(1)) || done == total {
        eprint!("\r  {label}: {done}/{total}   ");
        if done == total {
            eprintln!();
        }
    }
}

/// One acknowledged callout.
struct Ack {
    status: u16,
    latency: Duration,
    sent_at: SystemTime,
}

async fn send(host: &FunctionsHost, callout: &Callout) -> Result<Ack, String> {
    let sent_at = SystemTime::now();
    let started = Instant::now();
    let response = host
        .send(callout.http_request(CALLOUT_PATH))
        .await
        .map_err(|e| format!("a callout could not be delivered: {e}"))?;
    Ok(Ack {
        status: response.status,
        latency: started.elapsed(),
        sent_at,
    })
}

/// Signs `count` callouts; a signal stops the signing between chunks.
async fn signed_callouts(
    tenant: &TenantEmulator,
    count: usize,
    label: &str,
    interrupts: &mut Interrupts,
) -> Result<Vec<Callout>, RunError> {
    let caller = tenant.lcw().with_auth(LcwAuth::Pop(tenant.pop_settings()));
    let mut callouts = Vec::with_capacity(count);
    // One wave per chunk keeps the generator's memory flat and shows progress.
    while callouts.len() < count {
        let chunk = (count - callouts.len()).min(500);
        callouts.extend(
            interrupts
                .guard(async { caller.joiner_wave(chunk) })
                .await?,
        );
        progress(label, callouts.len(), count);
    }
    Ok(callouts)
}

/// Sends `callouts` at `rate` per second (open loop), returning acknowledgements in order. The
/// senders run as tasks in `senders`, which the caller owns: when a signal drops this future,
/// the caller shuts them down before it stops the host they hold.
async fn paced(
    host: &Arc<FunctionsHost>,
    callouts: &Arc<Vec<Callout>>,
    rate: u32,
    senders: &mut JoinSet<(usize, Result<Ack, String>)>,
) -> Result<Vec<Ack>, String> {
    let gate = Arc::new(Semaphore::new(MAX_PACED_IN_FLIGHT));
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let start = tokio::time::Instant::now();
    for index in 0..callouts.len() {
        tokio::time::sleep_until(start + interval * index as u32).await;
        let permit = gate
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let (host, all) = (host.clone(), callouts.clone());
        senders.spawn(async move {
            let ack = send(&host, &all[index]).await;
            drop(permit);
            (index, ack)
        });
        progress("latency phase", index + 1, callouts.len());
    }
    let mut acks: Vec<Option<Ack>> = (0..callouts.len()).map(|_| None).collect();
    while let Some(joined) = senders.join_next().await {
        let (index, ack) = joined.map_err(|e| e.to_string())?;
        acks[index] = Some(ack?);
    }
    acks.into_iter()
        .map(|ack| ack.ok_or_else(|| "a paced callout was never sent".to_owned()))
        .collect()
}

/// Sends `callouts` with `concurrency` in flight; returns acknowledgements and callouts/s.
async fn flood(
    host: &FunctionsHost,
    callouts: &[Callout],
    concurrency: usize,
    label: &str,
) -> Result<(Vec<Ack>, f64), String> {
    let started = Instant::now();
    let mut acks = Vec::with_capacity(callouts.len());
    let mut stream = futures::stream::iter(callouts.iter().map(|c| send(host, c)))
        .buffer_unordered(concurrency.max(1));
    while let Some(ack) = stream.next().await {
        acks.push(ack?);
        progress(label, acks.len(), callouts.len());
    }
    let rate = acks.len() as f64 / started.elapsed().as_secs_f64();
    Ok((acks, rate))
}

/// What one throughput phase measured.
struct Throughput {
    acknowledged: usize,
    rate: f64,
    cpu_us_per_callout: Option<f64>,
}

/// Floods `host` with `callouts` and measures acknowledgements, rate and the handler's CPU.
async fn throughput(
    host: &FunctionsHost,
    callouts: &[Callout],
    concurrency: usize,
    label: &str,
) -> Result<Throughput, String> {
    let cpu_before = host.handler_pid().and_then(measure::cpu_time);
    let (acks, rate) = flood(host, callouts, concurrency, label).await?;
    let cpu_after = host.handler_pid().and_then(measure::cpu_time);
    Ok(Throughput {
        acknowledged: acks.iter().filter(|a| a.status == 202).count(),
        rate,
        cpu_us_per_callout: cpu_per_callout(cpu_before, cpu_after, acks.len()),
    })
}

fn cpu_per_callout(
    before: Option<Duration>,
    after: Option<Duration>,
    callouts: usize,
) -> Option<f64> {
    let used = after?.checked_sub(before?)?;
    Some(used.as_secs_f64() * 1e6 / callouts.max(1) as f64)
}

async fn bench(args: BenchArgs, interrupts: &mut Interrupts) -> Result<bool, RunError> {
    let n = args.callouts;
    eprintln!(
        "lcw-handler bench: {n} callouts per phase, concurrency {}, {} callouts/s paced, Graph +{} ms and {:.0}% throttled\n",
        args.concurrency,
        args.rate,
        args.graph_latency_ms,
        args.throttle * 100.0
    );
    let tenant = TenantEmulator::start(TenantOptions {
        graph_latency: Duration::from_millis(args.graph_latency_ms),
        throttle_share: args.throttle,
        throttle_retry_after_secs: 1,
        ..TenantOptions::default()
    })
    .await
    .map_err(|e| format!("cannot start the tenant emulator: {e}"))?;
    let env = handler_env(&tenant, "info");
    let mut report = Report::new(&args);

    // Cold start, measured directly (the host's 25 ms poll would hide it). Each start kills
    // its own child before returning, so a signal is taken between two starts.
    let full_root = AppRoot::write("bench", AppLayout::Full)?;
    let executable = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cold_env = env.clone();
    cold_env.push((
        FUNCTIONS_APP_ROOT_PATH.to_owned(),
        full_root.path().display().to_string(),
    ));
    let mut starts = Vec::with_capacity(args.cold_starts);
    for i in 0..args.cold_starts {
        let start = interrupts
            .guard(async { measure::cold_start(&executable, &["host"], &cold_env) })
            .await??;
        starts.push(start);
        progress("cold starts", i + 1, args.cold_starts);
    }
    report.cold_start = Percentiles::of(&mut starts);

    let latency_callouts = Arc::new(
        signed_callouts(&tenant, n, "signing callouts (latency phase)", interrupts).await?,
    );
    let flood_callouts = signed_callouts(
        &tenant,
        n,
        "signing callouts (throughput phase)",
        interrupts,
    )
    .await?;

    // Latency and completion: the full app at a steady rate.
    let host = Arc::new(interrupts.guard(start_host(&full_root, &env)).await??);
    let mut senders = JoinSet::new();
    let phase = interrupts
        .guard(latency_phase(
            &host,
            &tenant,
            &latency_callouts,
            &args,
            &mut report,
            &mut senders,
        ))
        .await;
    // The senders hold the host: they go first, then the handler is killed and waited for.
    senders.shutdown().await;
    stop(host).await?;
    phase??;

    // Throughput: acknowledgement only (work stays queued), then the bare baseline.
    let callout_root = AppRoot::write("bench", AppLayout::CalloutOnly)?;
    let host = interrupts.guard(start_host(&callout_root, &env)).await??;
    let handler = interrupts
        .guard(throughput(
            &host,
            &flood_callouts,
            args.concurrency,
            "throughput phase (lcw-handler)",
        ))
        .await;
    let queued = host.queue_messages(crate::host::TASK_QUEUE).len();
    host.stop().await;
    let handler = handler??;
    report.acknowledged_flood = handler.acknowledged;
    report.queued_flood = queued;
    report.throughput = handler.rate;
    report.cpu_us_per_callout = handler.cpu_us_per_callout;

    let baseline_root = AppRoot::write("bench", AppLayout::Baseline)?;
    let baseline_host = interrupts.guard(start_host(&baseline_root, &env)).await??;
    let baseline = interrupts
        .guard(throughput(
            &baseline_host,
            &flood_callouts,
            args.concurrency,
            "throughput phase (bare baseline)",
        ))
        .await;
    baseline_host.stop().await;
    let baseline = baseline??;
    report.acknowledged_baseline = baseline.acknowledged;
    report.baseline_throughput = baseline.rate;
    report.baseline_cpu_us_per_callout = baseline.cpu_us_per_callout;

    report.binary_bytes = std::fs::metadata(&executable).map(|m| m.len()).ok();
    report.stripped_binary_bytes = measure::stripped_size(&executable);
    tenant.shutdown().await;

    report.print();
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(report.correct())
}

/// Paced callouts against the full app, then the wait until every task is resumed.
async fn latency_phase(
    host: &Arc<FunctionsHost>,
    tenant: &TenantEmulator,
    callouts: &Arc<Vec<Callout>>,
    args: &BenchArgs,
    report: &mut Report,
    senders: &mut JoinSet<(usize, Result<Ack, String>)>,
) -> Result<(), String> {
    let pid = host.handler_pid();
    tokio::time::sleep(Duration::from_millis(500)).await; // keys load in the background
    report.rss_idle_mib = pid.and_then(measure::memory_mib).map(|(rss, _)| rss);
    let acks = paced(host, callouts, args.rate, senders).await?;
    report.acknowledged_paced = acks.iter().filter(|a| a.status == 202).count();
    report.ack_latency = Percentiles::of(&mut acks.iter().map(|a| a.latency).collect::<Vec<_>>());
    eprintln!("  waiting for every task to be resumed...");
    let progress = Progress {
        host,
        tenant,
        tasks: callouts.len(),
        gives_up_at: Instant::now() + SETTLE_TIMEOUT,
    };
    progress::with_ticks(host.wait_until_idle(SETTLE_TIMEOUT), || {
        eprintln!("  … {}", progress.line());
    })
    .await
    .map_err(|e| format!("tasks did not settle: {e}; {}", progress.line()))?;
    eprintln!("  every task resumed");
    report.rss_peak_mib = pid.and_then(measure::memory_mib).map(|(_, peak)| peak);
    report.completion_and_correctness(
        callouts,
        &acks.iter().map(|a| a.sent_at).collect::<Vec<_>>(),
        &tenant.resumes(),
    );
    report.token_fetches = tenant.token_fetches();
    Ok(())
}

/// Stops a host shared with the senders, once they are gone.
async fn stop(host: Arc<FunctionsHost>) -> Result<(), String> {
    match Arc::try_unwrap(host) {
        Ok(host) => {
            host.stop().await;
            Ok(())
        }
        // Dropping the last handle still kills the handler (`kill_on_drop`), but not
        // synchronously: say so rather than pretend it was waited for.
        Err(_) => {
            Err("the host is still in use by a sender; its handler is killed on exit".to_owned())
        }
    }
}
