//! Measures what a managed-identity outage does to `process` invocations: the real binary under
//! the Functions-host emulator, K tasks accepted while the identity endpoint is down for N
//! seconds, then up again. It reports how long each delivery waited before it ended, how it
//! ended, how many deliveries the host made, and when each task was resumed.
//!
//! ```sh
//! cargo bench --bench token_outage                           # K=4, N=120 s, 503 answers, 1 s visibility
//! cargo bench --bench token_outage -- --tasks 8 --outage-secs 60 --mode refused
//! cargo test --bench token_outage -- --outage-secs 20        # a debug build, quicker to build
//! cargo bench --bench token_outage -- --handler /tmp/old/lcw-handler   # another build, to compare
//! ```
//!
//! The figures are printed, never asserted: the behavioural guarantees (a failed delivery, a
//! redelivery, one resume) are asserted by `tests/token_faults.rs`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lcw_emulator::functions_host::{FunctionsHost, HostOptions, InvocationRecord};
use lcw_emulator::tenant::{IdentityOutage, LcwAuth, TenantEmulator, TenantOptions};

/// The public route of the callout function.
const CALLOUT_PATH: &str = "/api/lifecycle/callout";
/// `extensions.queues.maxDequeueCount` in the repository's `host.json`.
const MAX_DEQUEUE_COUNT: u32 = 5;

struct Args {
    handler: PathBuf,
    tasks: usize,
    outage: Duration,
    retry_window_secs: u64,
    visibility: Duration,
    mode: IdentityOutage,
}

fn args() -> Result<Args, String> {
    let mut parsed = Args {
        handler: PathBuf::from(env!("CARGO_BIN_EXE_lcw-handler")),
        tasks: 4,
        outage: Duration::from_secs(120),
        retry_window_secs: 10,
        visibility: Duration::from_secs(1),
        mode: IdentityOutage::Status(503),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--handler" => parsed.handler = PathBuf::from(value("--handler")?),
            "--tasks" => parsed.tasks = number(&value("--tasks")?)?,
            "--outage-secs" => {
                parsed.outage = Duration::from_secs(number(&value("--outage-secs")?)? as u64)
            }
            "--retry-window-secs" => {
                parsed.retry_window_secs = number(&value("--retry-window-secs")?)? as u64
            }
            "--visibility-secs" => {
                parsed.visibility =
                    Duration::from_secs(number(&value("--visibility-secs")?)? as u64)
            }
            "--mode" => {
                parsed.mode = match value("--mode")?.as_str() {
                    "503" => IdentityOutage::Status(503),
                    "refused" => IdentityOutage::Refused,
                    other => return Err(format!("--mode {other}: use 503 or refused")),
                }
            }
            // `cargo bench` passes `--bench`; `cargo test` may pass filters. Neither applies.
            _ => {}
        }
    }
    Ok(parsed)
}

fn number(text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a number"))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("token_outage: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args = args()?;
    let tenant = TenantEmulator::start(TenantOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut options = HostOptions::new(&root);
    options.functions_dir = Some(root.join("function"));
    options.executable = Some(args.handler.clone());
    options.visibility_timeout = Some(args.visibility);
    options.env = vec![
        ("IDENTITY_ENDPOINT".into(), tenant.identity_endpoint()),
        ("IDENTITY_HEADER".into(), tenant.identity_header()),
        ("LCW_GRAPH_URL".into(), tenant.graph_url()),
        (
            "LCW_RETRY_WINDOW_SECONDS".into(),
            args.retry_window_secs.to_string(),
        ),
        ("LCW_TENANT_ID".into(), tenant.tenant_id().to_owned()),
        ("LCW_AUTHORITY_URL".into(), tenant.authority_url()),
        (
            "LCW_POP_PATH".into(),
            lcw_emulator::tenant::DEFAULT_POP_PATH.into(),
        ),
        ("LCW_LOG".into(), "warn".into()),
    ];
    let host = FunctionsHost::start(options)
        .await
        .map_err(|e| e.to_string())?;

    println!(
        "identity endpoint down ({:?}) for {:?}; {} tasks; LCW_RETRY_WINDOW_SECONDS={}; visibilityTimeout {:?}; maxDequeueCount {MAX_DEQUEUE_COUNT}",
        args.mode, args.outage, args.tasks, args.retry_window_secs, args.visibility
    );
    tenant.set_identity_outage(Some(args.mode)).await;
    let outage_started = Instant::now();
    let lcw = tenant.lcw().with_auth(LcwAuth::Pop(tenant.pop_settings()));
    for callout in lcw.joiner_wave(args.tasks) {
        let response = host
            .send(callout.http_request(CALLOUT_PATH))
            .await
            .map_err(|e| e.to_string())?;
        if response.status != 202 {
            return Err(format!("callout answered {}", response.status));
        }
    }
    let outage_left = args.outage.saturating_sub(outage_started.elapsed());
    tokio::time::sleep(outage_left).await;
    tenant.set_identity_outage(None).await;
    let recovered_at = outage_started.elapsed();
    println!("identity endpoint back at {recovered_at:.1?}");

    // Generous: the unbounded behaviour this measures queued fetches for minutes.
    host.wait_until_idle(Duration::from_secs(30 * 60))
        .await
        .map_err(|e| e.to_string())?;
    let deliveries: Vec<InvocationRecord> = host
        .invocations()
        .into_iter()
        .filter(|r| r.function == "process")
        .collect();
    report(&deliveries, &tenant, outage_started);
    host.stop().await;
    tenant.shutdown().await;
    Ok(())
}

fn report(deliveries: &[InvocationRecord], tenant: &TenantEmulator, started: Instant) {
    println!(
        "\n{:<10} {:>8} {:>12}  outcome",
        "task", "delivery", "waited"
    );
    let task_of = |r: &InvocationRecord| -> String {
        r.trigger_message
            .as_deref()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            .and_then(|v| v["taskProcessingResultId"].as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let mut longest = Duration::ZERO;
    for record in deliveries {
        longest = longest.max(record.duration);
        let task = task_of(record);
        println!(
            "{:<10} {:>8} {:>12.1?}  {}",
            &task[..task.len().min(8)],
            record.dequeue_count.unwrap_or(0),
            record.duration,
            match (record.succeeded, record.dequeue_count) {
                (true, _) => "resumed",
                (false, Some(MAX_DEQUEUE_COUNT)) => "failed (poisoned)",
                (false, _) => "failed (redelivered)",
            }
        );
    }
    let resumes = tenant.resumes();
    let accepted = resumes.iter().filter(|r| r.status == 204).count();
    let last_resume = resumes
        .iter()
        .filter(|r| r.status == 204)
        .filter_map(|r| r.received_at.elapsed().ok())
        .min()
        .map(|ago| started.elapsed().saturating_sub(ago));
    println!(
        "\ndeliveries {}, longest single delivery {longest:.1?}, resumes accepted {accepted}, last resume at {:.1?} after the outage began, identity requests {}, token fetches {}",
        deliveries.len(),
        last_resume.unwrap_or_default(),
        tenant.identity_requests(),
        tenant.token_fetches(),
    );
}
