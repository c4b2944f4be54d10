//! Reading the ledger back: the filters of `lcw-handler history` and the row it shows per task.
//!
//! Works on whatever [`super::LedgerStore::list`] returns, so every backend gets the same
//! history: the store lists records changed since an instant, and the rest is done here.

use serde::Serialize;
use time::OffsetDateTime;

use super::record::{Stage, TaskRecord};

/// What `--status` may name: a stage, an outcome, or every task not yet final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Tasks in this stage.
    Stage(Stage),
    /// Tasks whose logic reported `completed`.
    Completed,
    /// Tasks whose logic reported `failed`, or that were given up.
    Failed,
    /// Tasks not in a final stage.
    Unfinished,
}

impl StatusFilter {
    /// Every accepted spelling, for the error message.
    pub fn spellings() -> String {
        let mut names: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
        names.extend(["completed", "failed", "unfinished"]);
        names.join(", ")
    }

    /// Parses a `--status` value (case-insensitive).
    pub fn parse(text: &str) -> Result<StatusFilter, String> {
        let wanted = text.trim().to_ascii_lowercase();
        if let Some(stage) = Stage::ALL
            .iter()
            .find(|s| s.as_str().to_ascii_lowercase() == wanted)
        {
            return Ok(StatusFilter::Stage(*stage));
        }
        match wanted.as_str() {
            "completed" => Ok(StatusFilter::Completed),
            "failed" => Ok(StatusFilter::Failed),
            "unfinished" => Ok(StatusFilter::Unfinished),
            _ => Err(format!("use one of {}", StatusFilter::spellings())),
        }
    }

    fn matches(self, record: &TaskRecord) -> bool {
        let outcome = record.outcome.as_ref().map(|o| o.status.as_str());
        match self {
            StatusFilter::Stage(stage) => record.stage == stage,
            StatusFilter::Completed => outcome == Some("completed"),
            StatusFilter::Failed => outcome == Some("failed") || record.stage == Stage::GivenUp,
            StatusFilter::Unfinished => !record.stage.is_final(),
        }
    }
}

/// The filters of `history`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryFilter {
    /// Tasks accepted at or after this instant.
    pub since: OffsetDateTime,
    /// `--status`.
    pub status: Option<StatusFilter>,
    /// `--workflow`: the workflow's id or display name (case-insensitive).
    pub workflow: Option<String>,
    /// `--subject`: the user's object id (case-insensitive).
    pub subject: Option<String>,
}

impl HistoryFilter {
    /// Whether `record` passes every filter.
    pub fn matches(&self, record: &TaskRecord) -> bool {
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b.trim());
        record.accepted_at >= self.since
            && self.status.is_none_or(|s| s.matches(record))
            && self.workflow.as_deref().is_none_or(|w| {
                same(&record.facts.workflow_id, w)
                    || record
                        .facts
                        .workflow_name
                        .as_deref()
                        .is_some_and(|n| same(n, w))
            })
            && self.subject.as_deref().is_none_or(|s| {
                record
                    .facts
                    .subject_id
                    .as_deref()
                    .is_some_and(|id| same(id, s))
            })
    }

    /// The rows of the records that pass, newest first.
    pub fn rows(&self, records: Vec<TaskRecord>) -> Vec<HistoryRow> {
        let mut kept: Vec<TaskRecord> = records.into_iter().filter(|r| self.matches(r)).collect();
        kept.sort_by_key(|r| std::cmp::Reverse(r.accepted_at));
        kept.iter().map(HistoryRow::of).collect()
    }
}

/// One task as `history` shows it (the JSON of `--json`, one object per task).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRow {
    /// When the callout was accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub accepted_at: OffsetDateTime,
    /// The task's id (`taskProcessingResult.id`).
    pub task_processing_result_id: String,
    /// Workflow id.
    pub workflow_id: String,
    /// Workflow display name.
    pub workflow_name: Option<String>,
    /// Workflow task id.
    pub task_id: String,
    /// Workflow task display name.
    pub task_name: Option<String>,
    /// The user's object id.
    pub subject_id: Option<String>,
    /// `completed` or `failed`, once the logic finished.
    pub outcome: Option<String>,
    /// Deliveries that reached a worker.
    pub attempts: u32,
    /// Times the logic was started.
    pub logic_runs: u32,
    /// The task's stage (`resumed`, `resumeSent`, `givenUp`, …).
    pub stage: String,
    /// Graph's last HTTP status for a resume.
    pub graph_status: Option<u16>,
    /// Graph's `request-id` of that answer.
    pub request_id: Option<String>,
    /// Why the task is where it is (a failure's, retry's or give-up's reason).
    pub reason: Option<String>,
}

impl HistoryRow {
    /// The row of `record`.
    pub fn of(record: &TaskRecord) -> HistoryRow {
        let facts = &record.facts;
        HistoryRow {
            accepted_at: record.accepted_at,
            task_processing_result_id: record.key.id.clone(),
            workflow_id: facts.workflow_id.clone(),
            workflow_name: facts.workflow_name.clone(),
            task_id: facts.task_id.clone(),
            task_name: facts.task_name.clone(),
            subject_id: facts.subject_id.clone(),
            outcome: record
                .outcome
                .as_ref()
                .map(|o| o.status.as_str().to_owned()),
            attempts: record.deliveries,
            logic_runs: record.logic_runs,
            stage: record.stage.as_str().to_owned(),
            graph_status: record.graph.as_ref().and_then(|g| g.status),
            request_id: record.graph.as_ref().and_then(|g| g.request_id.clone()),
            reason: record.reason.clone(),
        }
    }

    /// The resume column: the stage, with Graph's last status when there is one.
    pub fn resume_status(&self) -> String {
        match self.graph_status {
            Some(status) => format!("{} ({status})", self.stage),
            None => self.stage.clone(),
        }
    }
}

/// Parses `--since`: an age (`30m`, `24h`, `7d`) counted back from `now`, or an RFC 3339
/// instant (`2026-12-07T08:00:00Z`).
pub fn parse_since(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    if let Ok(at) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Ok(at);
    }
    let problem = || {
        format!(
            "{text:?}: use an age such as 30m, 24h or 7d, or an instant such as 2026-12-07T08:00:00Z"
        )
    };
    let split = text.len().saturating_sub(1);
    let (number, unit) = (text.get(..split).ok_or_else(problem)?, text.get(split..));
    let number: i64 = number.parse().map_err(|_| problem())?;
    let age = match unit {
        Some("m") => time::Duration::minutes(number),
        Some("h") => time::Duration::hours(number),
        Some("d") => time::Duration::days(number),
        _ => return Err(problem()),
    };
    if number < 0 {
        return Err(problem());
    }
    Ok(now - age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::record::{RecordedOutcome, RecordedStatus, TaskFacts, TaskKey};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-07 12:00 UTC);

    fn record(id: &str, workflow: &str, subject: &str, age_hours: i64) -> TaskRecord {
        let at = NOW - time::Duration::hours(age_hours);
        TaskRecord::new(
            TaskKey::lcw(id),
            TaskFacts {
                workflow_id: format!("{workflow}-id"),
                workflow_name: Some(workflow.to_owned()),
                task_id: "t".into(),
                subject_id: Some(subject.to_owned()),
                ..TaskFacts::default()
            },
            at,
            at + time::Duration::minutes(29),
            at,
        )
    }

    fn all() -> HistoryFilter {
        HistoryFilter {
            since: NOW - time::Duration::days(30),
            status: None,
            workflow: None,
            subject: None,
        }
    }

    #[test]
    fn filters_combine_and_rows_come_newest_first() {
        let mut failed = record("b", "Onboard", "u2", 2);
        failed.finish_logic(
            RecordedOutcome {
                status: RecordedStatus::Failed,
                reason: Some("no mailbox".into()),
            },
            NOW,
        );
        let records = vec![
            record("a", "Onboard", "u1", 3),
            failed,
            record("c", "Leaver", "u1", 1),
            record("old", "Onboard", "u1", 24 * 40),
        ];
        let ids = |filter: HistoryFilter| -> Vec<String> {
            filter
                .rows(records.clone())
                .into_iter()
                .map(|r| r.task_processing_result_id)
                .collect()
        };
        assert_eq!(ids(all()), ["c", "b", "a"]);
        let failed_only = HistoryFilter {
            status: Some(StatusFilter::parse("failed").unwrap()),
            ..all()
        };
        assert_eq!(ids(failed_only), ["b"]);
        let by_workflow = HistoryFilter {
            workflow: Some("onboard".into()),
            ..all()
        };
        assert_eq!(ids(by_workflow), ["b", "a"]);
        let by_workflow_id = HistoryFilter {
            workflow: Some("Leaver-id".into()),
            ..all()
        };
        assert_eq!(ids(by_workflow_id), ["c"]);
        let by_subject = HistoryFilter {
            subject: Some("u1".into()),
            since: NOW - time::Duration::hours(2),
            ..all()
        };
        assert_eq!(ids(by_subject), ["c"]);
    }

    #[test]
    fn status_and_since_parse_or_say_what_is_accepted() {
        assert_eq!(
            StatusFilter::parse("RESUMED"),
            Ok(StatusFilter::Stage(Stage::Resumed))
        );
        assert_eq!(
            StatusFilter::parse("givenup"),
            Ok(StatusFilter::Stage(Stage::GivenUp))
        );
        assert!(
            StatusFilter::parse("done")
                .unwrap_err()
                .contains("resumeSent")
        );
        assert_eq!(parse_since("24h", NOW), Ok(NOW - time::Duration::hours(24)));
        assert_eq!(parse_since("7d", NOW), Ok(NOW - time::Duration::days(7)));
        assert_eq!(
            parse_since("2026-12-01T00:00:00Z", NOW),
            Ok(datetime!(2026-12-01 0:00 UTC))
        );
        for bad in ["", "h", "-3h", "3w", "yesterday"] {
            assert!(parse_since(bad, NOW).is_err(), "{bad:?}");
        }
    }
}
