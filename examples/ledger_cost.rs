//! What the embedded task ledger costs per task, on this machine's disk: the write standalone
//! mode adds to its acknowledgement path (recording an accepted task, work item included), and
//! the writes of one processed task (claim, logic finished, resumed).
//!
//! ```sh
//! cargo run --release --example ledger_cost -- 2000
//! ```
//!
//! Prints the median, 99th percentile and maximum of each, in microseconds. The file lives in
//! the temporary folder and is removed afterwards. Arguments: `[N]` tasks (default 2000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use lcw_handler::ledger::sqlite::SqliteStore;
use lcw_handler::ledger::{
    Begin, GraphAnswer, Ledger, RecordedOutcome, RecordedStatus, TaskFacts, TaskKey, TaskRecord,
};
use time::OffsetDateTime;

fn record(id: &str, now: OffsetDateTime) -> TaskRecord {
    let mut record = TaskRecord::new(
        TaskKey::lcw(id),
        TaskFacts {
            workflow_id: "2ca3236b-4cb2-488b-becd-f7051e5112c3".into(),
            workflow_name: Some("Onboard pre-hire employee".into()),
            task_id: "434cf681-8bce-4226-840f-fee0077676d3".into(),
            task_name: Some("Run a Custom Task Extension".into()),
            subject_id: Some("643e97b5-4290-4044-a3b4-d40fd7e154cf".into()),
            launch_and_wait: true,
        },
        now,
        now + time::Duration::minutes(29),
        now,
    );
    // A work item of a typical callout's size (a few KiB).
    record.work_item = Some(serde_json::json!({ "callout": "x".repeat(3000) }));
    record
}

fn summary(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "{what:<40} median {:>7.1} µs   p99 {:>7.1} µs   max {:>8.1} µs",
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        samples[samples.len() - 1].as_secs_f64() * 1e6
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = std::env::temp_dir().join(format!("lcw-ledger-cost-{}", std::process::id()));
    let store = SqliteStore::open(&dir.join("ledger.sqlite")).expect("the ledger opens");
    let ledger = Ledger::new(Arc::new(store), Duration::from_secs(30 * 86_400));
    let now = OffsetDateTime::now_utc();

    let mut accepts = Vec::with_capacity(n);
    for i in 0..n {
        let record = record(&format!("task-{i}"), now);
        let started = Instant::now();
        let known = ledger.record_accepted(&record).await.expect("recorded");
        accepts.push(started.elapsed());
        assert!(known.is_none());
    }

    let mut processed = Vec::with_capacity(n);
    for i in 0..n {
        let key = TaskKey::lcw(format!("task-{i}"));
        let started = Instant::now();
        let begun = ledger
            .begin(
                &key,
                || record("unused", now),
                "bench",
                None,
                Duration::from_secs(210),
                now,
            )
            .await
            .expect("begun");
        let Begin::RunLogic(mut claim) = begun else {
            panic!("a received task runs")
        };
        let outcome = RecordedOutcome {
            status: RecordedStatus::Completed,
            reason: None,
        };
        ledger
            .update(&mut claim, |r| r.finish_logic(outcome, now))
            .await
            .expect("recorded");
        let answer = GraphAnswer {
            status: Some(204),
            request_id: Some("66c875f3-cb7a-48bb-b844-62bc67230796".into()),
            code: None,
            at: now,
        };
        ledger
            .update(&mut claim, |r| r.resumed(1, answer, now))
            .await
            .expect("recorded");
        processed.push(started.elapsed());
    }

    println!("{n} tasks, SQLite ledger in {}", dir.display());
    summary("accept: record the task (standalone)", accepts);
    summary("process: claim + logic finished + resumed", processed);
    let _ = std::fs::remove_dir_all(&dir);
}
