//! A task's story in words, from its ledger record: accepted, each delivery and attempt,
//! Graph's answers, the outcome.
//!
//! One renderer, so an operator reads the same story wherever it is shown: the demo prints it
//! for a task that did not complete, and `explain` prints it for a taskProcessingResult id.
//! It says only what the record holds: ids, display names, stages, counts, Graph's status,
//! `request-id` and `error.code`; never a token, a body, a UPN or a mail.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::record::TaskRecord;

/// The story of `record`, one line per element, unindented.
pub fn story(record: &TaskRecord) -> Vec<String> {
    let facts = &record.facts;
    let mut lines = vec![format!("task {}: {}", record.key, record.stage.as_str())];
    let workflow = facts.workflow_name.as_deref().unwrap_or(&facts.workflow_id);
    let task = facts.task_name.as_deref().unwrap_or(&facts.task_id);
    lines.push(format!("  workflow   {workflow} / {task}"));
    if let Some(subject) = &facts.subject_id {
        lines.push(format!("  user       {subject}"));
    }
    lines.push(format!(
        "  accepted   {} (deadline {})",
        rfc3339(record.accepted_at),
        rfc3339(record.deadline)
    ));
    lines.push(format!(
        "  attempts   {} deliveries, logic started {} time(s), {} resume request(s)",
        record.deliveries, record.logic_runs, record.resume_tries
    ));
    if let Some(graph) = &record.graph {
        let status = graph
            .status
            .map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}"));
        let mut answer = format!("  Graph      last answer {status}");
        if let Some(code) = &graph.code {
            answer.push_str(&format!(" {code}"));
        }
        if let Some(request_id) = &graph.request_id {
            answer.push_str(&format!(", request-id {request_id}"));
        }
        answer.push_str(&format!(" at {}", clock(graph.at)));
        lines.push(answer);
    }
    let outcome = match &record.outcome {
        Some(outcome) => match &outcome.reason {
            Some(reason) => format!("{}: {reason}", outcome.status.as_str()),
            None => outcome.status.as_str().to_owned(),
        },
        None => "the logic has not finished".to_owned(),
    };
    lines.push(format!("  outcome    {outcome}"));
    if let Some(reason) = record.reason.as_ref().filter(|r| {
        record
            .outcome
            .as_ref()
            .and_then(|o| o.reason.as_ref())
            .is_none_or(|own| own != *r)
    }) {
        lines.push(format!("  reason     {reason}"));
    }
    lines.push("  story".to_owned());
    for event in &record.events {
        lines.push(format!(
            "    {}  {:<13}  {}",
            clock(event.at),
            event.stage.as_str(),
            event.what
        ));
    }
    lines
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// Time of day with milliseconds (UTC): a task's story spans minutes, rarely days.
fn clock(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[hour]:[minute]:[second].[subsecond digits:3]"
    ))
    .unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::record::{
        GraphAnswer, Lease, RecordedOutcome, RecordedStatus, TaskFacts, TaskKey,
    };
    use crate::ledger::rules::Verdict;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-07 12:00 UTC);

    #[test]
    fn a_failed_task_tells_its_attempts_graph_and_reason() {
        let mut record = TaskRecord::new(
            TaskKey::lcw("r1"),
            TaskFacts {
                workflow_id: "w".into(),
                workflow_name: Some("Onboard".into()),
                task_id: "t".into(),
                task_name: Some("Custom".into()),
                subject_id: Some("u1".into()),
                launch_and_wait: true,
            },
            NOW,
            NOW + Duration::minutes(29),
            NOW,
        );
        record.claim(
            &Verdict::RunLogic { taken_over: None },
            Lease {
                holder: "a/1".into(),
                expires_at: NOW + Duration::minutes(4),
            },
            NOW + Duration::seconds(1),
        );
        record.finish_logic(
            RecordedOutcome {
                status: RecordedStatus::Failed,
                reason: Some("the new hire has no manager".into()),
            },
            NOW + Duration::seconds(2),
        );
        record.resumed(
            2,
            GraphAnswer {
                status: Some(204),
                request_id: Some("req-9".into()),
                code: None,
                at: NOW + Duration::seconds(3),
            },
            NOW + Duration::seconds(3),
        );
        let text = story(&record).join("\n");
        for expected in [
            "task lcw/r1: resumed",
            "Onboard / Custom",
            "accepted   2026-12-07T12:00:00Z",
            "1 deliveries, logic started 1 time(s), 2 resume request(s)",
            "last answer HTTP 204, request-id req-9 at 12:00:03.000",
            "outcome    failed: the new hire has no manager",
            "12:00:00.000  received       callout accepted",
            "logic finished: failed (the new hire has no manager)",
            "resumed failed after 2 request(s)",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        // The outcome's reason is not repeated as a separate reason line.
        assert!(!text.contains("  reason "), "{text}");
    }

    #[test]
    fn an_unfinished_task_says_so_and_shows_its_own_reason() {
        let mut record = TaskRecord::new(
            TaskKey::lcw("r2"),
            TaskFacts::default(),
            NOW,
            NOW + Duration::minutes(29),
            NOW,
        );
        record.retry_logic("webhook answered 503", NOW);
        let text = story(&record).join("\n");
        assert!(
            text.contains("outcome    the logic has not finished"),
            "{text}"
        );
        assert!(text.contains("reason     webhook answered 503"), "{text}");
        assert!(!text.contains("Graph"), "{text}");
    }
}
