//! Why a task of a local run did not complete, for the demo's table and progress lines.
//!
//! The table's reasons come from the task ledger (the demo runs the handler with a SQLite
//! ledger in its temporary app root): the reason the logic returned with `failed`, the error
//! it asked to be retried for, why it was given up, or Graph's last refusal of the resume. The
//! ledger holds them per task and in order, where the log only has lines to search. The live
//! progress lines, printed while tasks still run, keep reading the newest warning in the
//! handler's log, which needs no ledger read every few seconds.

use std::collections::HashMap;

use serde_json::Value;

use crate::ledger::{Stage, TaskRecord};

/// Why each task that did not complete is where it is, by taskProcessingResult id, from its
/// ledger record. Completed tasks have no entry.
pub(super) fn failure_reasons(records: &[TaskRecord]) -> HashMap<String, String> {
    records
        .iter()
        .filter_map(|record| Some((record.key.id.clone(), reason_of_record(record)?)))
        .collect()
}

/// The reason one record gives: its own reason (a `failed` outcome's, a retry's, a give-up's),
/// else Graph's last refusal; `None` for a task that completed or has nothing to say yet.
fn reason_of_record(record: &TaskRecord) -> Option<String> {
    let completed = record
        .outcome
        .as_ref()
        .is_some_and(|o| o.status == crate::ledger::RecordedStatus::Completed);
    if completed && record.stage == Stage::Resumed {
        return None;
    }
    if let Some(reason) = &record.reason {
        return Some(reason.clone());
    }
    let graph = record.graph.as_ref()?;
    let status = graph.status.filter(|s| !(200..300).contains(s))?;
    let code = graph.code.as_deref().unwrap_or("");
    Some(
        format!("Graph refused the resume: HTTP {status} {code}")
            .trim_end()
            .to_owned(),
    )
}

/// The most recent reason the handler logged for any task, for a progress line.
pub(super) fn latest_reason(handler_stdout: &[String]) -> Option<String> {
    handler_stdout.iter().rev().find_map(|line| {
        let event = serde_json::from_str::<Value>(line).ok()?;
        if !matches!(event["level"].as_str(), Some("WARN" | "ERROR")) {
            return None;
        }
        event["span"]["task_processing_result_id"].as_str()?;
        reason_of(&event["fields"])
    })
}

/// The reason one log event gives, in the words of the field that carries it.
fn reason_of(fields: &Value) -> Option<String> {
    if let Some(reason) = fields["reason"].as_str() {
        return Some(reason.to_owned());
    }
    if let Some(status) = fields["http_status"].as_u64() {
        let code = fields["graph_code"].as_str().unwrap_or("");
        return Some(
            format!("Graph refused the resume: HTTP {status} {code}")
                .trim_end()
                .to_owned(),
        );
    }
    fields["error"].as_str().map(str::to_owned)
}

/// `text` cut to `width` characters, marking the cut.
pub(super) fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{GraphAnswer, RecordedOutcome, RecordedStatus, TaskFacts, TaskKey};

    fn line(level: &str, id: &str, fields: Value) -> String {
        serde_json::json!({
            "timestamp": "2026-11-30T08:00:00Z",
            "level": level,
            "fields": fields,
            "span": { "task_processing_result_id": id, "attempt": 1, "name": "process" },
        })
        .to_string()
    }

    fn record(id: &str) -> TaskRecord {
        let now = time::OffsetDateTime::now_utc();
        TaskRecord::new(
            TaskKey::lcw(id),
            TaskFacts::default(),
            now,
            now + time::Duration::minutes(29),
            now,
        )
    }

    fn finished(id: &str, status: RecordedStatus, reason: Option<&str>) -> TaskRecord {
        let mut record = record(id);
        record.finish_logic(
            RecordedOutcome {
                status,
                reason: reason.map(str::to_owned),
            },
            time::OffsetDateTime::now_utc(),
        );
        record
    }

    fn answer(status: u16, code: Option<&str>) -> GraphAnswer {
        GraphAnswer {
            status: Some(status),
            request_id: Some("req".into()),
            code: code.map(str::to_owned),
            at: time::OffsetDateTime::now_utc(),
        }
    }

    #[test]
    fn the_ledger_gives_each_unfinished_or_failed_task_its_reason() {
        let now = time::OffsetDateTime::now_utc();
        let mut failed = finished(
            "a",
            RecordedStatus::Failed,
            Some("the new hire has no manager"),
        );
        failed.resumed(1, answer(204, None), now);
        let mut refused = finished("b", RecordedStatus::Completed, None);
        refused.resume_not_accepted(
            1,
            answer(404, Some("ResourceNotFound")),
            "Graph rejected the resume",
            now,
        );
        refused.reason = None;
        let mut retried = record("c");
        retried.retry_logic("webhook answered 503 Service Unavailable", now);
        let mut done = finished("d", RecordedStatus::Completed, None);
        done.resumed(1, answer(204, None), now);
        let reasons = failure_reasons(&[failed, refused, retried, done]);
        assert_eq!(reasons["a"], "the new hire has no manager");
        assert_eq!(
            reasons["b"],
            "Graph refused the resume: HTTP 404 ResourceNotFound"
        );
        assert_eq!(reasons["c"], "webhook answered 503 Service Unavailable");
        assert!(
            !reasons.contains_key("d"),
            "a completed task needs no reason"
        );
        assert_eq!(reasons.len(), 3);
    }

    #[test]
    fn the_latest_warning_in_the_log_feeds_the_progress_line() {
        let lines = vec![
            line(
                "WARN",
                "a",
                serde_json::json!({"message": "task failed", "reason": "the new hire has no manager"}),
            ),
            line(
                "ERROR",
                "b",
                serde_json::json!({"message": "Graph rejected the resume; not retrying", "http_status": 404, "graph_code": "ResourceNotFound"}),
            ),
            line(
                "INFO",
                "a",
                serde_json::json!({"message": "resumed", "tries": 1}),
            ),
            "not json".to_owned(),
        ];
        assert_eq!(
            latest_reason(&lines).as_deref(),
            Some("Graph refused the resume: HTTP 404 ResourceNotFound")
        );
        assert_eq!(
            latest_reason(&lines[..1]).as_deref(),
            Some("the new hire has no manager")
        );
        assert_eq!(latest_reason(&[]), None);
    }

    #[test]
    fn long_reasons_are_cut_visibly() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly ten", 11), "exactly ten");
        assert_eq!(truncate("a much longer reason", 8), "a much …");
    }
}
