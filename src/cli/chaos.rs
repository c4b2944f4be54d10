//! `lcw-handler demo --chaos`: the demo's workflow while things go wrong, and the proof that
//! nothing was lost and nothing happened twice.
//!
//! The real binary runs under the Functions-host emulator with a SQLite ledger, and its task is
//! the built-in webhook pointed at a counting receiver in this process, so "the logic ran" is
//! measured where the effect lands, not assumed. During the run:
//!
//! - **kill 1, during the logic**: the receiver holds the first webhook call of one task, and
//!   the handler is SIGKILLed while that call is open (the host restarts it);
//! - **managed-identity outage**: from that kill on, the token endpoint answers `503` for a
//!   while, so the restarted handler has no token for its resumes;
//! - **kill 2, between the logic and the resume**: one task's resume is refused by Graph
//!   (`503`, scripted), and the handler is SIGKILLed while it retries;
//! - **Graph faults**: other tasks' first resumes are answered `503` or `429` + `Retry-After`;
//! - **duplicates**: some callouts are sent twice with the same PoP nonce (LCW retrying the
//!   very request) or re-signed with a fresh nonce (a new callout for the same task), and once
//!   every task is resumed, queue messages of finished tasks are delivered again.
//!
//! The kills are placed when the other tasks of the moment are resumed and recorded, so the
//! only task a kill interrupts is the one it was aimed at. The verdict compares three
//! independent records: the Graph fake's (every resume request and its answer), the
//! receiver's (every webhook call and its idempotency key) and the ledger's; any broken
//! invariant makes the exit code non-zero and prints the stories of the tasks concerned.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::StreamExt;
use lcw_emulator::functions_host::{FunctionsHost, QueueBackend};
use lcw_emulator::tenant::{
    Callout, IdentityOutage, LcwAuth, LcwCaller, RecordedResume, ScriptedResponse, TenantEmulator,
    TenantOptions,
};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

use super::app_root::{AppLayout, AppRoot, handler_env, start_host_on};
use super::demo::DemoArgs;
use super::interrupt::{Interrupts, RunError};
use super::progress::{self, Progress};
use super::run_ledger;
use crate::config::{DEFAULT_LOG_FILTER, log_filter, unknown_settings_in_env};
use crate::host::{PROCESS_FUNCTION, TASK_QUEUE};
use crate::ledger::sqlite::SqliteStore;
use crate::ledger::{LedgerStore, RecordedStatus, Stage, TaskKey, TaskRecord};
use crate::settings::{
    LCW_LOG, LCW_RETRY_WINDOW_SECONDS, LCW_TASK, LCW_TASK_TIMEOUT_SECONDS,
    LCW_WEBHOOK_TIMEOUT_SECONDS, LCW_WEBHOOK_URL,
};
use crate::task::builtin::IDEMPOTENCY_HEADER;

/// The callout function's public route.
const CALLOUT_PATH: &str = crate::standalone::CALLOUT_ROUTE;
/// How long any one stage of the run may take before the run fails (a kill that cannot be
/// placed, a task that does not reach the state a kill waits for).
const STAGE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the run waits for every task to settle after the faults: the slowest path is a
/// redelivery after `visibilityTimeout` (30 s) that finds the killed worker's lease and waits
/// for it to expire (the shortened invocation life below: 30 s + 30 s + 30 s margin).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How often the run looks at the ledger while it waits for a state.
const LOOK_EVERY: Duration = Duration::from_millis(100);
/// Graph answers `503` this many times to the resume aimed at by kill 2, so the resume is
/// still being retried when the kill comes, and once more after it.
const KILL2_REFUSALS: usize = 6;

/// `demo --chaos` options (the run also takes `--users` and `--concurrency`).
#[derive(Debug, clap::Args)]
pub struct ChaosArgs {
    /// With --chaos: seconds the managed-identity endpoint answers 503, from the first kill.
    #[arg(long, default_value_t = 10, requires = "chaos")]
    pub mi_outage_secs: u64,
    /// With --chaos: keep the run's ledger in this new SQLite file (instead of the temporary
    /// app root), to read it afterwards with `history --ledger sqlite:FILE` and `explain`.
    #[arg(long, value_name = "FILE", requires = "chaos")]
    pub keep_ledger: Option<PathBuf>,
    /// With --chaos: print the figures and invariants as one JSON object on stdout; the
    /// narrative goes to stderr.
    #[arg(long, requires = "chaos")]
    pub json: bool,
}

pub(super) async fn run(args: DemoArgs) -> ExitCode {
    crate::logging::init_human("warn");
    let outcome = match Interrupts::listen() {
        Ok(mut interrupts) => chaos(&args, &mut interrupts).await,
        Err(e) => Err(RunError::Failed(e)),
    };
    super::verdict("demo --chaos", outcome)
}

/// Where the narrative goes: stdout, or stderr when stdout carries the JSON.
#[derive(Clone, Copy)]
struct Say {
    json: bool,
}

impl Say {
    fn line(self, text: impl AsRef<str>) {
        match self.json {
            true => eprintln!("{}", text.as_ref()),
            false => println!("{}", text.as_ref()),
        }
    }
}

async fn chaos(args: &DemoArgs, interrupts: &mut Interrupts) -> Result<bool, RunError> {
    let say = Say {
        json: args.chaos_options.json,
    };
    if args.users < 2 {
        return Err("demo --chaos needs --users 2 or more (one task per kill)"
            .to_owned()
            .into());
    }
    let log_filter = match std::env::var(LCW_LOG) {
        Ok(text) => log_filter(&text).map_err(|e| e.to_string())?,
        Err(_) => DEFAULT_LOG_FILTER.to_owned(),
    };
    for unknown in unknown_settings_in_env() {
        eprintln!("warning: {unknown}");
    }
    say.line(format!(
        "lcw-handler demo --chaos: a joiner workflow for {} users, with kills, duplicates and outages\n",
        args.users
    ));
    let tenant = TenantEmulator::start(TenantOptions::default())
        .await
        .map_err(|e| format!("cannot start the tenant emulator: {e}"))?;
    let receiver = Receiver::start()
        .await
        .map_err(|e| format!("cannot start the webhook receiver: {e}"))?;
    let app_root = AppRoot::write("demo-chaos", AppLayout::Full)?;
    let ledger = match &args.chaos_options.keep_ledger {
        Some(file) => {
            if file.exists() {
                return Err(format!(
                    "--keep-ledger {}: the file exists; name a new file, so this run's records stand alone",
                    file.display()
                )
                .into());
            }
            std::path::absolute(file).unwrap_or_else(|_| file.clone())
        }
        None => run_ledger::in_app_root(app_root.path()),
    };
    let mut env = handler_env(&tenant, &log_filter);
    env.extend([
        run_ledger::setting(&ledger),
        (LCW_TASK.to_owned(), "webhook".to_owned()),
        (LCW_WEBHOOK_URL.to_owned(), receiver.url()),
        // Invocations short enough that a dead worker's lease expires within the host's
        // five deliveries of its message, and the held webhook call outlasts the kill.
        (LCW_TASK_TIMEOUT_SECONDS.to_owned(), "30".to_owned()),
        (LCW_RETRY_WINDOW_SECONDS.to_owned(), "30".to_owned()),
        (LCW_WEBHOOK_TIMEOUT_SECONDS.to_owned(), "30".to_owned()),
    ]);
    let host = interrupts
        .guard(start_host_on(&app_root, &env, QueueBackend::InMemory))
        .await??;
    say.line(format!(
        "  tenant emulator   managed identity + Graph at {}",
        tenant.graph_url()
    ));
    say.line(format!(
        "  Functions host    app root {}, handler pid {}",
        app_root.path().display(),
        host.handler_pid()
            .map_or_else(|| "?".to_owned(), |p| p.to_string())
    ));
    say.line(format!(
        "  task              LCW_TASK=webhook → counting receiver at {}",
        receiver.url()
    ));
    say.line(format!("  task ledger       sqlite:{}\n", ledger.display()));

    let run = Run {
        args,
        say,
        tenant: &tenant,
        host: &host,
        receiver: &receiver,
        ledger: &ledger,
    };
    let outcome = interrupts.guard(run.play()).await;
    host.stop().await;
    receiver.stop().await;
    tenant.shutdown().await;
    drop(app_root);
    outcome?
}

/// One chaos run on started emulators.
struct Run<'a> {
    args: &'a DemoArgs,
    say: Say,
    tenant: &'a TenantEmulator,
    host: &'a FunctionsHost,
    receiver: &'a Receiver,
    ledger: &'a std::path::Path,
}

/// What the run did to the handler, for the figures.
#[derive(Default)]
struct Injected {
    same_nonce: usize,
    fresh_nonce: usize,
    redeliveries: usize,
    acks: Vec<u16>,
    duplicate_acks: Vec<u16>,
    kills: Vec<Kill>,
    mi_outage: Duration,
    mi_refused: usize,
}

struct Kill {
    pid: Option<u32>,
    restarted_pid: Option<u32>,
    /// Wall-clock time, to compare with the ledger's and the receiver's.
    at: OffsetDateTime,
    aimed_at: String,
    when: &'static str,
}

impl Run<'_> {
    async fn play(&self) -> Result<bool, RunError> {
        let say = self.say;
        let caller = self
            .tenant
            .lcw()
            .with_auth(LcwAuth::Pop(self.tenant.pop_settings()));
        let callouts = caller.joiner_wave(self.args.users);
        let ids: Vec<String> = callouts
            .iter()
            .map(|c| c.task_processing_result_id.clone())
            .collect();
        let half = callouts.len().div_ceil(2);
        let (wave1, wave2) = callouts.split_at(half);
        let logic_victim = wave1[0].task_processing_result_id.clone();
        let resume_victim = wave2[0].task_processing_result_id.clone();
        let scripted = self.script_graph_faults(&ids, &resume_victim);
        let store = SqliteStore::open(self.ledger).map_err(|e| e.to_string())?;
        let mut injected = Injected::default();
        let started = Instant::now();

        // Wave 1, with duplicates; kill 1 while the victim's webhook call is open.
        self.receiver.hold(&logic_victim);
        say.line(format!(
            "  wave 1: {} callouts (+ duplicates); the webhook call of task {} will be held open",
            wave1.len(),
            short(&logic_victim)
        ));
        self.send_wave(&caller, wave1, &mut injected).await?;
        within(STAGE_TIMEOUT, "the held webhook call", self.receiver.held())
            .await
            .map_err(RunError::Failed)?;
        let others: Vec<&str> = wave1[1..]
            .iter()
            .map(|c| c.task_processing_result_id.as_str())
            .collect();
        within(
            STAGE_TIMEOUT,
            "wave 1's other tasks to be resumed",
            resumed_in_ledger(&store, &others),
        )
        .await??;
        self.tenant
            .set_identity_outage(Some(IdentityOutage::Status(503)))
            .await;
        let identity_before = self.tenant.identity_requests();
        let outage_started = Instant::now();
        let kill = self
            .kill(&logic_victim, "during its logic (webhook call open)")
            .await?;
        self.receiver.release();
        say.line(format!(
            "  kill 1: SIGKILL handler pid {} during the logic of task {}; restarted as pid {}",
            show(kill.pid),
            short(&logic_victim),
            show(kill.restarted_pid)
        ));
        injected.kills.push(kill);
        say.line(format!(
            "  managed identity: down (503) for {} s from now",
            self.args.chaos_options.mi_outage_secs
        ));

        // Wave 2 meets the outage; kill 2 while one resume is being retried.
        say.line(format!(
            "  wave 2: {} callouts (+ duplicates) during the outage",
            wave2.len()
        ));
        self.send_wave(&caller, wave2, &mut injected).await?;
        let outage_left = Duration::from_secs(self.args.chaos_options.mi_outage_secs)
            .saturating_sub(outage_started.elapsed());
        tokio::time::sleep(outage_left).await;
        self.tenant.set_identity_outage(None).await;
        injected.mi_outage = outage_started.elapsed();
        injected.mi_refused = self.tenant.identity_requests() - identity_before;
        say.line(format!(
            "  managed identity: back after {:.1} s; {} token request(s) refused meanwhile",
            injected.mi_outage.as_secs_f64(),
            injected.mi_refused
        ));
        let others: Vec<&str> = wave2[1..]
            .iter()
            .map(|c| c.task_processing_result_id.as_str())
            .collect();
        within(
            STAGE_TIMEOUT,
            "the resume aimed at by kill 2 to be refused while the others are resumed",
            self.resume_under_retry(&store, &resume_victim, &others),
        )
        .await??;
        let kill = self
            .kill(
                &resume_victim,
                "after its logic, while its resume was retried",
            )
            .await?;
        say.line(format!(
            "  kill 2: SIGKILL handler pid {} while task {} retried its resume (Graph 503); restarted as pid {}",
            show(kill.pid),
            short(&resume_victim),
            show(kill.restarted_pid)
        ));
        injected.kills.push(kill);

        self.settle("every task to be resumed").await?;

        // Redeliveries of finished work: nothing may run again.
        let before_calls = self.receiver.calls().len();
        let before_resumes = self.tenant.resumes().len();
        let redelivered = self.redeliver_finished();
        injected.redeliveries = redelivered;
        say.line(format!(
            "  redelivered {redelivered} queue message(s) of finished tasks"
        ));
        self.settle("the redeliveries to be processed").await?;
        let quiet_after_redelivery = self.receiver.calls().len() == before_calls
            && self.tenant.resumes().len() == before_resumes;

        let records = run_ledger::records(self.ledger).await?;
        let observed = Observed {
            resumes: self.tenant.resumes(),
            calls: self.receiver.calls(),
            effects: self.receiver.effects(),
            records: records.clone(),
            poisoned: self
                .host
                .queue_messages(&format!("{TASK_QUEUE}-poison"))
                .len(),
            quiet_after_redelivery,
            scripted_faults: scripted,
        };
        let verdict = Verdict::of(&ids, &injected, &observed);
        verdict.print(say, &injected, started.elapsed(), self.ledger, self.args);
        if !verdict.ok() {
            let broken: Vec<&str> = verdict.broken_tasks.iter().map(String::as_str).collect();
            say.line("\n  the tasks concerned, from the task ledger:\n");
            run_ledger::print_stories(&records, &broken, &mut |line| say.line(line));
        }
        if say.json {
            println!("{}", verdict.json(&injected, started.elapsed()));
        }
        Ok(verdict.ok())
    }

    /// Scripts Graph's faults: the resume aimed at by kill 2 is refused `503` several times;
    /// of the others, every second task's first resume is answered `503`, every third's
    /// `429` with `Retry-After: 1`. Returns how many faulty answers were scripted.
    fn script_graph_faults(&self, ids: &[String], resume_victim: &str) -> usize {
        let mut scripted = 0;
        for (i, id) in ids.iter().enumerate() {
            let answers = if id == resume_victim {
                vec![ScriptedResponse::status(503); KILL2_REFUSALS]
            } else if i % 2 == 1 {
                vec![ScriptedResponse::status(503)]
            } else if i % 3 == 0 {
                vec![ScriptedResponse::throttled(1)]
            } else {
                Vec::new()
            };
            scripted += answers.len();
            if !answers.is_empty() {
                self.tenant.script_resume(id, answers);
            }
        }
        scripted
    }

    /// Sends `wave`, and for every third task (the first, fourth, …) the very same request
    /// again (same nonce), for the task after it the callout re-signed (fresh nonce).
    async fn send_wave(
        &self,
        caller: &LcwCaller,
        wave: &[Callout],
        injected: &mut Injected,
    ) -> Result<(), RunError> {
        let mut requests = Vec::new();
        for (i, callout) in wave.iter().enumerate() {
            requests.push((false, callout.http_request(CALLOUT_PATH)));
            match i % 3 {
                0 => {
                    injected.same_nonce += 1;
                    requests.push((true, callout.http_request(CALLOUT_PATH)));
                }
                1 => {
                    injected.fresh_nonce += 1;
                    let again = caller.callout(callout.spec.clone());
                    requests.push((true, again.http_request(CALLOUT_PATH)));
                }
                _ => {}
            }
        }
        let mut sent = futures::stream::iter(requests.into_iter().map(|(duplicate, request)| {
            let host = self.host;
            async move { (duplicate, host.send(request).await) }
        }))
        .buffered(self.args.concurrency.max(1));
        while let Some((duplicate, response)) = sent.next().await {
            let status = response
                .map_err(|e| format!("a callout could not be delivered: {e}"))?
                .status;
            match duplicate {
                true => injected.duplicate_acks.push(status),
                false => injected.acks.push(status),
            }
        }
        Ok(())
    }

    /// SIGKILLs the handler and waits until the host has restarted it.
    async fn kill(&self, aimed_at: &str, when: &'static str) -> Result<Kill, RunError> {
        let at = OffsetDateTime::now_utc();
        let pid = self.host.kill_handler().await;
        let restarted_pid = self
            .host
            .wait_for_handler(STAGE_TIMEOUT)
            .await
            .map_err(|e| format!("the host did not restart the handler after the kill: {e}"))?;
        Ok(Kill {
            pid,
            restarted_pid,
            at,
            aimed_at: aimed_at.to_owned(),
            when,
        })
    }

    /// Waits until Graph refused the victim's resume at least once while it is not accepted
    /// yet, and every task in `others` is resumed in the ledger.
    async fn resume_under_retry(
        &self,
        store: &SqliteStore,
        victim: &str,
        others: &[&str],
    ) -> Result<(), RunError> {
        loop {
            let resumes = self.tenant.resumes();
            let mine = resumes
                .iter()
                .filter(|r| r.task_processing_result_id == victim);
            let (refused, accepted) = mine.fold((0, false), |(refused, accepted), r| {
                (
                    refused + usize::from(r.status == 503),
                    accepted || (200..300).contains(&r.status),
                )
            });
            if accepted {
                return Err(format!(
                    "kill 2 came too late: task {victim} was resumed before the other tasks of wave 2"
                )
                .into());
            }
            if refused > 0 && all_resumed(store, others).await? {
                return Ok(());
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
    }

    /// Waits until the host is idle, with progress lines.
    async fn settle(&self, what: &str) -> Result<(), RunError> {
        let progress = Progress {
            host: self.host,
            tenant: self.tenant,
            tasks: self.args.users,
            gives_up_at: Instant::now() + SETTLE_TIMEOUT,
        };
        let say = self.say;
        say.line(format!(
            "  waiting for {what} (a line every {} s)",
            progress::EVERY.as_secs()
        ));
        progress::with_ticks(self.host.wait_until_idle(SETTLE_TIMEOUT), || {
            say.line(format!("  … {}", progress.line()));
        })
        .await
        .map_err(|e| format!("tasks did not settle: {e}; {}", progress.line()))?;
        Ok(())
    }

    /// Puts the queue message of every second finished task on the queue again, as Storage
    /// does when a delete is lost. Returns how many.
    fn redeliver_finished(&self) -> usize {
        let mut seen = HashSet::new();
        let mut redelivered = 0;
        for record in self.host.invocations() {
            if record.function != PROCESS_FUNCTION || !record.succeeded {
                continue;
            }
            let Some(text) = record.trigger_message else {
                continue;
            };
            if !seen.insert(text.clone()) {
                continue;
            }
            if seen.len() % 2 == 1 {
                self.host.enqueue(TASK_QUEUE, &text);
                redelivered += 1;
            }
        }
        redelivered
    }
}

/// Waits until every task of `ids` is resumed in the ledger.
async fn resumed_in_ledger(store: &SqliteStore, ids: &[&str]) -> Result<(), RunError> {
    while !all_resumed(store, ids).await? {
        tokio::time::sleep(LOOK_EVERY).await;
    }
    Ok(())
}

async fn all_resumed(store: &SqliteStore, ids: &[&str]) -> Result<bool, RunError> {
    for id in ids {
        let record = store
            .get(&TaskKey::lcw(*id))
            .await
            .map_err(|e| format!("cannot read the run's ledger: {e}"))?;
        if record.is_none_or(|r| r.record.stage != Stage::Resumed) {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn within<T>(
    limit: Duration,
    what: &str,
    work: impl Future<Output = T>,
) -> Result<T, String> {
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| format!("gave up waiting for {what} after {} s", limit.as_secs()))
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn show(pid: Option<u32>) -> String {
    pid.map_or_else(|| "?".to_owned(), |p| p.to_string())
}

/// What the three records hold at the end of a run.
struct Observed {
    /// The Graph fake's record of every resume request.
    resumes: Vec<RecordedResume>,
    /// The receiver's record of every webhook call.
    calls: Vec<Call>,
    /// The idempotency keys whose effect the receiver applied.
    effects: Vec<String>,
    /// The ledger.
    records: Vec<TaskRecord>,
    poisoned: usize,
    /// Whether the redeliveries of finished tasks left the receiver and Graph untouched.
    quiet_after_redelivery: bool,
    scripted_faults: usize,
}

/// The checks, from three independent records, and the figures they rest on.
struct Verdict {
    tasks: usize,
    graph_accepted: usize,
    graph_5xx: usize,
    graph_429: usize,
    graph_other_refusals: usize,
    scripted_faults: usize,
    ledger_resumed: usize,
    ledger_logic_starts: u32,
    ledger_logic_finished: usize,
    ledger_deliveries: u32,
    webhook_calls: usize,
    effects: usize,
    reruns_after_kill: usize,
    poisoned: usize,
    checks: Vec<(&'static str, bool)>,
    broken_tasks: Vec<String>,
}

impl Verdict {
    fn of(ids: &[String], injected: &Injected, observed: &Observed) -> Verdict {
        let Observed {
            resumes,
            calls,
            effects,
            records,
            poisoned,
            quiet_after_redelivery,
            scripted_faults,
        } = observed;
        let (poisoned, quiet_after_redelivery, scripted_faults) =
            (*poisoned, *quiet_after_redelivery, *scripted_faults);
        let by_id: HashMap<&str, &TaskRecord> =
            records.iter().map(|r| (r.key.id.as_str(), r)).collect();
        let mut broken = Vec::new();
        let mut reruns_after_kill = 0;
        let (mut graph_once, mut ledger_once, mut logic_once, mut reruns_explained) =
            (true, true, true, true);
        for id in ids {
            let mine: Vec<_> = resumes
                .iter()
                .filter(|r| r.task_processing_result_id == *id)
                .collect();
            let accepted_at = mine.iter().position(|r| (200..300).contains(&r.status));
            // Exactly one accepted resume, with `completed`, and nothing sent after it.
            let graph_ok = mine
                .iter()
                .filter(|r| (200..300).contains(&r.status))
                .count()
                == 1
                && accepted_at.is_some_and(|at| {
                    at + 1 == mine.len()
                        && mine[at].operation_status.as_deref() == Some("completed")
                });
            let ledger_ok = by_id.get(id.as_str()).is_some_and(|r| {
                r.stage == Stage::Resumed
                    && r.outcome
                        .as_ref()
                        .is_some_and(|o| o.status == RecordedStatus::Completed)
                    && r.graph
                        .as_ref()
                        .and_then(|g| g.status)
                        .is_some_and(|s| (200..300).contains(&s))
                    && logic_finished_events(r) == 1
            });
            // Every webhook call after the first for this task must follow a kill that cut
            // the run of the call before: a kill between the two calls, with no finished
            // logic recorded between the earlier call and the kill.
            let finished: Vec<OffsetDateTime> = by_id.get(id.as_str()).map_or_else(Vec::new, |r| {
                r.events
                    .iter()
                    .filter(|e| e.what.starts_with(LOGIC_FINISHED))
                    .map(|e| e.at)
                    .collect()
            });
            let times: Vec<OffsetDateTime> = calls
                .iter()
                .filter(|c| c.key == *id)
                .map(|c| c.at)
                .collect();
            let explained = times.windows(2).all(|pair| {
                injected.kills.iter().any(|k| {
                    pair[0] < k.at
                        && k.at < pair[1]
                        && !finished.iter().any(|f| pair[0] <= *f && *f <= k.at)
                })
            });
            reruns_after_kill += times.len().saturating_sub(1);
            let logic_ok = !times.is_empty();
            graph_once &= graph_ok;
            ledger_once &= ledger_ok;
            logic_once &= logic_ok;
            reruns_explained &= explained;
            if !(graph_ok && ledger_ok && logic_ok && explained) {
                broken.push(id.clone());
            }
        }
        let known: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let effects_match =
            effects.len() == ids.len() && effects.iter().all(|k| known.contains(k.as_str()));
        let restarted = injected.kills.len() == 2
            && injected
                .kills
                .iter()
                .all(|k| k.restarted_pid.is_some() && k.restarted_pid != k.pid);
        let checks = vec![
            (
                "every callout acknowledged 202",
                injected.acks.len() == ids.len() && injected.acks.iter().all(|s| *s == 202),
            ),
            (
                "every duplicate callout acknowledged 202",
                injected.duplicate_acks.iter().all(|s| *s == 202),
            ),
            (
                "the handler was killed twice and restarted each time",
                restarted,
            ),
            (
                "Graph: exactly one accepted resume per task (completed), none after it",
                graph_once,
            ),
            (
                "ledger: every task resumed, its logic finished once, Graph's acceptance recorded",
                ledger_once && records.len() == ids.len(),
            ),
            (
                "logic: each task's effect applied once, by idempotency key",
                logic_once && effects_match,
            ),
            (
                "logic: every repeated webhook call follows a kill that cut the earlier one",
                reruns_explained,
            ),
            (
                "redeliveries of finished tasks ran no logic and sent no resume",
                quiet_after_redelivery && injected.redeliveries > 0,
            ),
            ("no message in the poison queue", poisoned == 0),
        ];
        Verdict {
            tasks: ids.len(),
            graph_accepted: resumes
                .iter()
                .filter(|r| (200..300).contains(&r.status))
                .count(),
            graph_5xx: resumes.iter().filter(|r| r.status >= 500).count(),
            graph_429: resumes.iter().filter(|r| r.status == 429).count(),
            graph_other_refusals: resumes
                .iter()
                .filter(|r| (400..500).contains(&r.status) && r.status != 429)
                .count(),
            scripted_faults,
            ledger_resumed: records.iter().filter(|r| r.stage == Stage::Resumed).count(),
            ledger_logic_starts: records.iter().map(|r| r.logic_runs).sum(),
            ledger_logic_finished: records.iter().map(logic_finished_events).sum(),
            ledger_deliveries: records.iter().map(|r| r.deliveries).sum(),
            webhook_calls: calls.len(),
            effects: effects.len(),
            reruns_after_kill,
            poisoned,
            checks,
            broken_tasks: broken,
        }
    }

    fn ok(&self) -> bool {
        self.checks.iter().all(|(_, ok)| *ok)
    }

    fn print(
        &self,
        say: Say,
        injected: &Injected,
        took: Duration,
        ledger: &std::path::Path,
        args: &DemoArgs,
    ) {
        say.line(format!("\n  chaos figures ({:.1} s)", took.as_secs_f64()));
        say.line(format!("    tasks                 {}", self.tasks));
        say.line(format!(
            "    duplicates injected   {} (callouts with the same nonce {}, with a fresh nonce {}; queue redeliveries of finished tasks {})",
            injected.same_nonce + injected.fresh_nonce + injected.redeliveries,
            injected.same_nonce,
            injected.fresh_nonce,
            injected.redeliveries
        ));
        let kills: Vec<String> = injected
            .kills
            .iter()
            .map(|k| format!("pid {} {}", show(k.pid), k.when))
            .collect();
        say.line(format!(
            "    kills                 {} ({})",
            injected.kills.len(),
            kills.join("; ")
        ));
        say.line(format!(
            "    managed identity      down {:.1} s, {} token request(s) refused",
            injected.mi_outage.as_secs_f64(),
            injected.mi_refused
        ));
        say.line(format!(
            "    Graph faults          {} answered 5xx, {} answered 429 (scripted {}); other refusals {}",
            self.graph_5xx, self.graph_429, self.scripted_faults, self.graph_other_refusals
        ));
        say.line(format!(
            "    resumes               Graph accepted {}; ledger recorded {} resumed",
            self.graph_accepted, self.ledger_resumed
        ));
        say.line(format!(
            "    logic runs            webhook calls {} ({} re-run after a kill cut the first); effects applied {}; ledger: started {}, finished {}",
            self.webhook_calls,
            self.reruns_after_kill,
            self.effects,
            self.ledger_logic_starts,
            self.ledger_logic_finished
        ));
        say.line(format!(
            "    deliveries            {} recorded in the ledger; poison messages {}",
            self.ledger_deliveries, self.poisoned
        ));
        say.line("\n  invariants");
        for (check, ok) in &self.checks {
            say.line(format!(
                "    [{}] {check}",
                if *ok { "ok" } else { "BROKEN" }
            ));
        }
        say.line(format!(
            "\n  result: {}",
            if self.ok() {
                "every task resumed exactly once, its logic run once"
            } else {
                "AN INVARIANT IS BROKEN"
            }
        ));
        match &args.chaos_options.keep_ledger {
            Some(_) => {
                say.line(format!(
                    "  this run's ledger is kept: lcw-handler history --ledger sqlite:{}",
                    ledger.display()
                ));
                say.line(format!(
                    "  one task's story:           lcw-handler explain <taskProcessingResultId> --ledger sqlite:{}",
                    ledger.display()
                ));
            }
            None => say.line(
                "  the ledger went with the temporary app root; to read the run with `history` and `explain`, rerun with --keep-ledger FILE, then: lcw-handler history --ledger sqlite:FILE",
            ),
        }
    }

    fn json(&self, injected: &Injected, took: Duration) -> serde_json::Value {
        json!({
            "ok": self.ok(),
            "seconds": took.as_secs_f64(),
            "tasks": self.tasks,
            "duplicatesInjected": {
                "sameNonce": injected.same_nonce,
                "freshNonce": injected.fresh_nonce,
                "redeliveries": injected.redeliveries,
                "total": injected.same_nonce + injected.fresh_nonce + injected.redeliveries,
            },
            "kills": injected.kills.iter().map(|k| json!({
                "pid": k.pid,
                "restartedPid": k.restarted_pid,
                "task": k.aimed_at,
                "when": k.when,
            })).collect::<Vec<_>>(),
            "graphFaults": {
                "5xx": self.graph_5xx,
                "429": self.graph_429,
                "scripted": self.scripted_faults,
                "otherRefusals": self.graph_other_refusals,
            },
            "miOutage": {
                "seconds": injected.mi_outage.as_secs_f64(),
                "tokenRequestsRefused": injected.mi_refused,
            },
            "resumes": {
                "graphAccepted": self.graph_accepted,
                "ledgerRecorded": self.ledger_resumed,
            },
            "logic": {
                "webhookCalls": self.webhook_calls,
                "rerunsAfterKill": self.reruns_after_kill,
                "effectsApplied": self.effects,
                "ledgerStarted": self.ledger_logic_starts,
                "ledgerFinished": self.ledger_logic_finished,
            },
            "ledgerDeliveries": self.ledger_deliveries,
            "poisonMessages": self.poisoned,
            "invariants": self.checks.iter().map(|(check, ok)| json!({"check": check, "ok": ok})).collect::<Vec<_>>(),
            "brokenTasks": self.broken_tasks,
        })
    }
}

/// How the ledger's story words the end of the logic (`TaskRecord::finish_logic`).
const LOGIC_FINISHED: &str = "logic finished";

/// How many times the ledger recorded the logic of `record` as finished.
fn logic_finished_events(record: &TaskRecord) -> usize {
    record
        .events
        .iter()
        .filter(|e| e.what.starts_with(LOGIC_FINISHED))
        .count()
}

/// One webhook call as the receiver saw it.
#[derive(Debug, Clone)]
struct Call {
    key: String,
    /// Wall-clock time, to compare with the kills and the ledger.
    at: OffsetDateTime,
}

#[derive(Default)]
struct ReceiverState {
    calls: Vec<Call>,
    /// Idempotency keys whose effect was applied (the first call of each key applies it).
    applied: Vec<String>,
    /// The key whose first call is held open until released.
    hold: Option<String>,
    held: bool,
}

/// The chaos task's other end: an HTTP receiver that counts every call, applies each task's
/// effect once per idempotency key (as a system behind a webhook should), and can hold one
/// call open so the handler can be killed in the middle of its logic.
struct Receiver {
    url: String,
    state: Arc<Mutex<ReceiverState>>,
    held_now: Arc<Notify>,
    release: watch::Sender<bool>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct ReceiverShared {
    state: Arc<Mutex<ReceiverState>>,
    held_now: Arc<Notify>,
    release: watch::Receiver<bool>,
}

fn lock(state: &Mutex<ReceiverState>) -> MutexGuard<'_, ReceiverState> {
    // A poisoned lock means a handler panicked mid-update; the counts are still readable.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl Receiver {
    async fn start() -> std::io::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}/task", listener.local_addr()?);
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let held_now = Arc::new(Notify::new());
        let (release, release_rx) = watch::channel(false);
        let shared = ReceiverShared {
            state: state.clone(),
            held_now: held_now.clone(),
            release: release_rx,
        };
        let app = axum::Router::new()
            .route("/task", axum::routing::post(receive))
            .with_state(shared);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Receiver {
            url,
            state,
            held_now,
            release,
            stop: Some(stop),
            server,
        })
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    /// Holds the first call for `key` open until [`release`](Self::release).
    fn hold(&self, key: &str) {
        lock(&self.state).hold = Some(key.to_owned());
    }

    /// Waits until the held call arrived.
    async fn held(&self) {
        loop {
            let notified = self.held_now.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if lock(&self.state).held {
                return;
            }
            notified.await;
        }
    }

    fn release(&self) {
        let _ = self.release.send(true);
    }

    fn calls(&self) -> Vec<Call> {
        lock(&self.state).calls.clone()
    }

    fn effects(&self) -> Vec<String> {
        lock(&self.state).applied.clone()
    }

    async fn stop(mut self) {
        self.release();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.server).await;
    }
}

/// One webhook call: recorded, applied once per key (before answering, so a caller killed
/// mid-call finds the effect applied when it calls again), possibly held open.
async fn receive(
    axum::extract::State(shared): axum::extract::State<ReceiverShared>,
    headers: axum::http::HeaderMap,
) -> axum::http::StatusCode {
    let Some(key) = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return axum::http::StatusCode::BAD_REQUEST;
    };
    let hold = {
        let mut state = lock(&shared.state);
        state.calls.push(Call {
            key: key.clone(),
            at: OffsetDateTime::now_utc(),
        });
        if !state.applied.contains(&key) {
            state.applied.push(key.clone());
        }
        let hold = state.hold.as_deref() == Some(key.as_str()) && !state.held;
        if hold {
            state.held = true;
        }
        hold
    };
    if hold {
        shared.held_now.notify_waiters();
        let mut release = shared.release.clone();
        // Bounded, so a run that never releases cannot keep a connection forever.
        let _ = tokio::time::timeout(STAGE_TIMEOUT, release.wait_for(|r| *r)).await;
    }
    axum::http::StatusCode::OK
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::record::Lease;
    use crate::ledger::rules::Verdict as Rule;
    use crate::ledger::{GraphAnswer, RecordedOutcome, TaskFacts};

    fn resume(id: &str, status: u16) -> RecordedResume {
        RecordedResume {
            api_version: "v1.0".into(),
            workflow_id: "w".into(),
            task_id: "t".into(),
            task_processing_result_id: id.into(),
            operation_status: Some("completed".into()),
            body: serde_json::Value::Null,
            authorized: true,
            status,
            received_at: std::time::SystemTime::now(),
        }
    }

    fn resumed_record(id: &str, finished_at: OffsetDateTime) -> TaskRecord {
        let now = finished_at;
        let mut record = TaskRecord::new(
            TaskKey::lcw(id),
            TaskFacts::default(),
            now,
            now + time::Duration::minutes(29),
            now,
        );
        record.claim(
            &Rule::RunLogic { taken_over: None },
            Lease {
                holder: "a/1".into(),
                expires_at: now + time::Duration::minutes(2),
                message: None,
            },
            now,
        );
        record.finish_logic(
            RecordedOutcome {
                status: RecordedStatus::Completed,
                reason: None,
            },
            now,
        );
        record.resumed(
            1,
            GraphAnswer {
                status: Some(204),
                request_id: None,
                code: None,
                at: now,
            },
            now,
        );
        record
    }

    /// Two tasks, everything as it should be; task `a`'s first webhook call was cut by kill 1.
    fn good_run() -> (Vec<String>, Injected, Observed) {
        let ids = vec!["a".to_owned(), "b".to_owned()];
        let t0 = OffsetDateTime::now_utc();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let kill = |ms: u64, pid: u32| Kill {
            pid: Some(pid),
            restarted_pid: Some(pid + 1),
            at: at(ms),
            aimed_at: "a".into(),
            when: "test",
        };
        let injected = Injected {
            same_nonce: 1,
            fresh_nonce: 1,
            redeliveries: 1,
            acks: vec![202, 202],
            duplicate_acks: vec![202, 202],
            kills: vec![kill(20, 10), kill(40, 11)],
            ..Injected::default()
        };
        let call = |key: &str, ms: u64| Call {
            key: key.into(),
            at: at(ms),
        };
        let observed = Observed {
            resumes: vec![resume("a", 503), resume("a", 204), resume("b", 204)],
            calls: vec![call("a", 10), call("b", 15), call("a", 30)],
            effects: vec!["a".into(), "b".into()],
            // `a` finished after its second call, `b` right after its only one.
            records: vec![resumed_record("a", at(35)), resumed_record("b", at(16))],
            poisoned: 0,
            quiet_after_redelivery: true,
            scripted_faults: 1,
        };
        (ids, injected, observed)
    }

    fn broken(verdict: &Verdict) -> Vec<&'static str> {
        verdict
            .checks
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(check, _)| *check)
            .collect()
    }

    #[test]
    fn a_clean_run_passes_and_counts_the_rerun_after_the_kill() {
        let (ids, injected, observed) = good_run();
        let verdict = Verdict::of(&ids, &injected, &observed);
        assert_eq!(broken(&verdict), Vec::<&str>::new());
        assert!(verdict.ok());
        assert_eq!(
            (
                verdict.webhook_calls,
                verdict.reruns_after_kill,
                verdict.effects
            ),
            (3, 1, 2)
        );
        assert_eq!((verdict.graph_accepted, verdict.graph_5xx), (2, 1));
        assert_eq!(verdict.ledger_logic_finished, 2);
    }

    #[test]
    fn a_second_accepted_resume_breaks_exactly_once() {
        let (ids, injected, mut observed) = good_run();
        observed.resumes.push(resume("b", 204));
        let verdict = Verdict::of(&ids, &injected, &observed);
        assert!(!verdict.ok());
        assert_eq!(
            broken(&verdict),
            ["Graph: exactly one accepted resume per task (completed), none after it"]
        );
        assert_eq!(verdict.broken_tasks, ["b"]);
    }

    #[test]
    fn a_resume_sent_after_the_accepted_one_is_caught_even_when_refused() {
        let (ids, injected, mut observed) = good_run();
        observed.resumes.push(resume("a", 400));
        assert!(!Verdict::of(&ids, &injected, &observed).ok());
    }

    #[test]
    fn a_repeated_webhook_call_without_a_kill_between_is_a_duplicate_run() {
        let (ids, injected, mut observed) = good_run();
        // `b` called again after kill 2, but its first run had finished before that kill:
        // the kill explains nothing.
        observed.calls.push(Call {
            key: "b".into(),
            at: injected.kills[1].at + Duration::from_millis(5),
        });
        let verdict = Verdict::of(&ids, &injected, &observed);
        assert_eq!(
            broken(&verdict),
            ["logic: every repeated webhook call follows a kill that cut the earlier one"]
        );
        assert_eq!(verdict.broken_tasks, ["b"]);
    }

    #[test]
    fn the_ledger_must_show_one_finished_logic_and_a_resume_per_task() {
        let (ids, injected, mut observed) = good_run();
        let now = time::OffsetDateTime::now_utc();
        observed.records[0].note(now, "logic finished: completed");
        observed.records[1].stage = Stage::ResumeSent;
        let verdict = Verdict::of(&ids, &injected, &observed);
        assert_eq!(
            broken(&verdict),
            ["ledger: every task resumed, its logic finished once, Graph's acceptance recorded"]
        );
        assert_eq!(verdict.broken_tasks, ["a", "b"]);
    }

    #[test]
    fn redeliveries_that_ran_something_or_a_poison_message_fail_the_run() {
        let (ids, injected, mut observed) = good_run();
        observed.quiet_after_redelivery = false;
        observed.poisoned = 1;
        let verdict = Verdict::of(&ids, &injected, &observed);
        assert_eq!(
            broken(&verdict),
            [
                "redeliveries of finished tasks ran no logic and sent no resume",
                "no message in the poison queue"
            ]
        );
    }
}
