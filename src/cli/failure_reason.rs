//! Why a task of a local run did not complete, for the demo's table and progress lines.
//!
//! Today the only record is the handler's own JSON log lines, which the host emulator
//! captures: the reason a task returned with `failed`, the error it asked to be retried for,
//! or Graph's answer to the resume. When the task ledger lands it becomes the source, and this
//! one function is what changes.

use std::collections::HashMap;

use serde_json::Value;

/// The latest reason the handler logged for each taskProcessingResult id, from its warnings and
/// errors (a task's `failed` reason, a retry's error, Graph's refusal).
pub(super) fn failure_reasons(handler_stdout: &[String]) -> HashMap<String, String> {
    let mut reasons = HashMap::new();
    for line in handler_stdout {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if !matches!(event["level"].as_str(), Some("WARN" | "ERROR")) {
            continue;
        }
        let Some(id) = event["span"]["task_processing_result_id"].as_str() else {
            continue;
        };
        if let Some(reason) = reason_of(&event["fields"]) {
            reasons.insert(id.to_owned(), reason);
        }
    }
    reasons
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

    fn line(level: &str, id: &str, fields: Value) -> String {
        serde_json::json!({
            "timestamp": "2026-11-30T08:00:00Z",
            "level": level,
            "fields": fields,
            "span": { "task_processing_result_id": id, "attempt": 1, "name": "process" },
        })
        .to_string()
    }

    #[test]
    fn the_latest_warning_of_each_task_gives_its_reason() {
        let lines = vec![
            line(
                "WARN",
                "a",
                serde_json::json!({"message": "task will be retried", "reason": "database busy"}),
            ),
            line(
                "WARN",
                "a",
                serde_json::json!({"message": "task failed", "reason": "the new hire has no manager"}),
            ),
            line(
                "INFO",
                "a",
                serde_json::json!({"message": "resumed", "tries": 1}),
            ),
            line(
                "ERROR",
                "b",
                serde_json::json!({"message": "Graph rejected the resume; not retrying", "http_status": 404, "graph_code": "ResourceNotFound"}),
            ),
            line(
                "WARN",
                "c",
                serde_json::json!({"message": "resume failed, will retry if time allows", "error": "HTTP 429: throttled"}),
            ),
            "not json".to_owned(),
        ];
        let reasons = failure_reasons(&lines);
        assert_eq!(reasons["a"], "the new hire has no manager");
        assert_eq!(
            reasons["b"],
            "Graph refused the resume: HTTP 404 ResourceNotFound"
        );
        assert_eq!(reasons["c"], "HTTP 429: throttled");
        assert_eq!(reasons.len(), 3);
        assert_eq!(
            latest_reason(&lines).as_deref(),
            Some("HTTP 429: throttled")
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
