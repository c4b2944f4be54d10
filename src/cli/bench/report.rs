//! The figures of one benchmark run, their goals, and the run's own correctness.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use lcw_emulator::tenant::{Callout, RecordedResume};
use serde::Serialize;

use super::BenchArgs;
use super::measure::Percentiles;

/// Everything one run measured.
#[derive(Debug, Default, Serialize)]
pub(super) struct Report {
    pub callouts: usize,
    pub concurrency: usize,
    pub rate: u32,
    pub graph_latency_ms: u64,
    pub throttle: f64,
    pub cold_start: Percentiles,
    pub ack_latency: Percentiles,
    pub completion: Percentiles,
    pub throughput: f64,
    pub baseline_throughput: f64,
    pub cpu_us_per_callout: Option<f64>,
    pub baseline_cpu_us_per_callout: Option<f64>,
    pub token_fetches: usize,
    pub rss_idle_mib: Option<f64>,
    pub rss_peak_mib: Option<f64>,
    pub binary_bytes: Option<u64>,
    pub stripped_binary_bytes: Option<u64>,
    pub acknowledged_paced: usize,
    pub resumed_once: usize,
    pub resume_requests: usize,
    pub throttled_resumes: usize,
    pub acknowledged_flood: usize,
    pub queued_flood: usize,
    pub acknowledged_baseline: usize,
}

impl Report {
    pub(super) fn new(args: &BenchArgs) -> Report {
        Report {
            callouts: args.callouts.max(1),
            concurrency: args.concurrency,
            rate: args.rate,
            graph_latency_ms: args.graph_latency_ms,
            throttle: args.throttle,
            ..Report::default()
        }
    }

    /// Completion times (send → accepted resume) and how many tasks were resumed exactly once.
    pub(super) fn completion_and_correctness(
        &mut self,
        callouts: &[Callout],
        sent_at: &[SystemTime],
        resumes: &[RecordedResume],
    ) {
        let mut by_id: HashMap<&str, Vec<&RecordedResume>> = HashMap::new();
        for resume in resumes {
            by_id
                .entry(resume.task_processing_result_id.as_str())
                .or_default()
                .push(resume);
        }
        let mut completions = Vec::with_capacity(callouts.len());
        for (callout, sent) in callouts.iter().zip(sent_at) {
            let mine = by_id
                .get(callout.task_processing_result_id.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let accepted: Vec<&&RecordedResume> = mine.iter().filter(|r| r.status == 204).collect();
            if accepted.len() == 1 && accepted[0].operation_status.as_deref() == Some("completed") {
                self.resumed_once += 1;
                completions.push(
                    accepted[0]
                        .received_at
                        .duration_since(*sent)
                        .unwrap_or(Duration::ZERO),
                );
            }
        }
        self.resume_requests = resumes.len();
        self.throttled_resumes = resumes.iter().filter(|r| r.status == 429).count();
        self.completion = Percentiles::of(&mut completions);
    }

    /// Every callout acknowledged, every task resumed once, every flood callout queued.
    pub(super) fn correct(&self) -> bool {
        self.acknowledged_paced == self.callouts
            && self.resumed_once == self.callouts
            && self.acknowledged_flood == self.callouts
            && self.queued_flood == self.callouts
            && self.acknowledged_baseline == self.callouts
    }

    fn ratio(&self) -> f64 {
        if self.baseline_throughput > 0.0 {
            self.throughput / self.baseline_throughput
        } else {
            0.0
        }
    }

    pub(super) fn print(&self) {
        let mib = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.1} MiB"));
        let mb =
            |v: Option<u64>| v.map_or("n/a".to_owned(), |v| format!("{:.1} MB", v as f64 / 1e6));
        let ms = |p: &Percentiles| {
            format!(
                "{:.2} / {:.2} / {:.2} / {:.2} ms",
                p.p50, p.p90, p.p99, p.max
            )
        };
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        let rows: Vec<(String, String, String, &str)> = vec![
            (
                "cold start, exec → GET / (median / max)".into(),
                format!("{:.2} / {:.2} ms", self.cold_start.p50, self.cold_start.max),
                "median ≤ 15 ms".into(),
                verdict(self.cold_start.p50 <= 15.0),
            ),
            (
                format!(
                    "ack latency at {}/s, PoP (p50 / p90 / p99 / max)",
                    self.rate
                ),
                ms(&self.ack_latency),
                "p99 ≤ 2 ms".into(),
                verdict(self.ack_latency.p99 <= 2.0),
            ),
            (
                format!("ack throughput, concurrency {}", self.concurrency),
                format!("{:.0} callouts/s", self.throughput),
                String::new(),
                "",
            ),
            (
                "bare baseline throughput, same envelopes".into(),
                format!("{:.0} callouts/s", self.baseline_throughput),
                String::new(),
                "",
            ),
            (
                "handler CPU per acknowledged callout (baseline)".into(),
                format!(
                    "{} ({}) µs",
                    self.cpu_us_per_callout
                        .map_or("n/a".to_owned(), |v| format!("{v:.0}")),
                    self.baseline_cpu_us_per_callout
                        .map_or("n/a".to_owned(), |v| format!("{v:.0}"))
                ),
                String::new(),
                "",
            ),
            (
                "throughput / baseline".into(),
                format!("{:.2}", self.ratio()),
                "≥ 0.5".into(),
                verdict(self.ratio() >= 0.5),
            ),
            (
                format!(
                    "callout → resume (Graph +{} ms, {:.0}% 429)",
                    self.graph_latency_ms,
                    self.throttle * 100.0
                ),
                ms(&self.completion),
                String::new(),
                "",
            ),
            (
                "managed-identity token fetches".into(),
                self.token_fetches.to_string(),
                "1".into(),
                verdict(self.token_fetches == 1),
            ),
            (
                "handler RSS idle".into(),
                mib(self.rss_idle_mib),
                "≤ 20 MB".into(),
                verdict(self.rss_idle_mib.is_some_and(|v| v <= 20.0)),
            ),
            (
                format!("handler peak RSS, {} callouts", self.callouts),
                mib(self.rss_peak_mib),
                "≤ 60 MB".into(),
                verdict(self.rss_peak_mib.is_some_and(|v| v <= 60.0)),
            ),
            (
                "binary, stripped (unstripped)".into(),
                format!(
                    "{} ({})",
                    mb(self.stripped_binary_bytes),
                    mb(self.binary_bytes)
                ),
                "≤ 12 MB".into(),
                verdict(self.stripped_binary_bytes.is_some_and(|b| b <= 12_000_000)),
            ),
        ];
        println!("\n  {:<52} {:>36}  {:<16}", "figure", "value", "goal");
        for (figure, value, goal, verdict) in rows {
            println!("  {figure:<52} {value:>36}  {goal:<16} {verdict}");
        }
        println!(
            "\n  correctness: {}/{} paced callouts acknowledged, {}/{} tasks resumed exactly once ({} resume requests, {} throttled), {}/{} flood callouts acknowledged and {} queued, {}/{} baseline acknowledgements: {}",
            self.acknowledged_paced,
            self.callouts,
            self.resumed_once,
            self.callouts,
            self.resume_requests,
            self.throttled_resumes,
            self.acknowledged_flood,
            self.callouts,
            self.queued_flood,
            self.acknowledged_baseline,
            self.callouts,
            if self.correct() { "ok" } else { "FAILED" }
        );
    }
}
