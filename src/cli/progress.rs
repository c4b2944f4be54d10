//! Live progress while a local run waits for its tasks to settle.
//!
//! A task that asked for a retry sits invisible in the queue for the host's visibility timeout
//! (30 s), and a throttled resume is retried for up to a minute inside one invocation: without
//! a word on screen both look like a hang. So every few seconds a run prints one line that
//! says how far it is, what it is waiting for, and until when it will wait. The line is built
//! from what the emulators observed (queue, invocations, Graph's answers, the handler's log),
//! so any run on the emulators — `demo`, `bench`, a chaos run — can print it.

use std::future::Future;
use std::time::{Duration, Instant};

use lcw_emulator::functions_host::FunctionsHost;
use lcw_emulator::tenant::TenantEmulator;

use super::failure_reason::{latest_reason, truncate};
use crate::host::{PROCESS_FUNCTION, TASK_QUEUE};

/// How often a waiting run says where it is.
pub(super) const EVERY: Duration = Duration::from_secs(5);

/// Widest reason shown in a progress line.
const REASON_WIDTH: usize = 60;

/// Awaits `done`, calling `tick` every [`EVERY`] until it completes. The ticks only print; the
/// wait itself ends on the event `done` waits for.
pub(super) async fn with_ticks<T>(done: impl Future<Output = T>, mut tick: impl FnMut()) -> T {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(done);
    loop {
        tokio::select! {
            finished = &mut done => return finished,
            _ = ticks.tick() => tick(),
        }
    }
}

/// What a run's tasks are doing: the source of its progress lines.
pub(super) struct Progress<'a> {
    pub(super) host: &'a FunctionsHost,
    pub(super) tenant: &'a TenantEmulator,
    /// Tasks expected to be resumed.
    pub(super) tasks: usize,
    /// When the run stops waiting.
    pub(super) gives_up_at: Instant,
}

impl Progress<'_> {
    /// One line: resumed so far, what is awaited and until when.
    pub(super) fn line(&self) -> String {
        let resumes = self.tenant.resumes();
        let mut resumed: Vec<&str> = resumes
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .map(|r| r.task_processing_result_id.as_str())
            .collect();
        resumed.sort_unstable();
        resumed.dedup();
        let throttled = resumes.iter().filter(|r| r.status == 429).count();
        let deliveries = self
            .host
            .invocations()
            .iter()
            .filter(|r| r.function == PROCESS_FUNCTION)
            .count();
        let queue = self.host.queue_status(TASK_QUEUE);

        let mut parts = vec![format!("{}/{} resumed", resumed.len(), self.tasks)];
        if queue.in_delivery > 0 || queue.ready > 0 {
            parts.push(format!(
                "{} being processed (task, then resume through Graph)",
                queue.in_delivery + queue.ready
            ));
        }
        if queue.awaiting_retry > 0 {
            let next = queue
                .next_retry_in
                .map_or_else(String::new, |wait| format!(", next in {}", seconds(wait)));
            let reason = latest_reason(&self.host.handler_stdout()).map_or_else(String::new, |r| {
                format!(" (last reason: {})", truncate(&r, REASON_WIDTH))
            });
            parts.push(format!(
                "{} waiting to be retried{next}{reason}",
                queue.awaiting_retry
            ));
        }
        parts.push(format!("{deliveries} delivery attempt(s) finished"));
        if throttled > 0 {
            parts.push(format!(
                "Graph throttled {throttled} resume request(s), retried"
            ));
        }
        parts.push(format!("waiting until {} at most", clock(self.gives_up_at)));
        parts.join("; ")
    }
}

/// `12 s`, `3 min 20 s`.
fn seconds(wait: Duration) -> String {
    let total = wait.as_secs_f64().ceil() as u64;
    match (total / 60, total % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

/// The wall-clock time of `at`, UTC, and how far away it is.
fn clock(at: Instant) -> String {
    let left = at.saturating_duration_since(Instant::now());
    let when = time::OffsetDateTime::now_utc() + left;
    let format = time::macros::format_description!("[hour]:[minute]:[second]");
    let text = when.format(&format).unwrap_or_default();
    format!("{text} UTC, in {}", seconds(left))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_as_minutes_and_seconds() {
        assert_eq!(seconds(Duration::from_millis(12_300)), "13 s");
        assert_eq!(seconds(Duration::from_secs(120)), "2 min");
        assert_eq!(seconds(Duration::from_secs(200)), "3 min 20 s");
    }

    #[tokio::test(start_paused = true)]
    async fn ticks_come_while_waiting_and_stop_when_done() {
        let mut ticks = 0;
        let done = tokio::time::sleep(EVERY * 3 + EVERY / 2);
        with_ticks(done, || ticks += 1).await;
        assert_eq!(ticks, 3);
    }
}
