//! `lcw-handler history`: recent tasks from the ledger, as a table or as JSON.

use std::process::ExitCode;

use time::OffsetDateTime;

use super::ledger_read::LedgerArg;
use crate::ledger::query::{HistoryFilter, HistoryRow, StatusFilter, parse_since};

/// The widest a reason gets in the table (`--json` has it whole).
const REASON_WIDTH: usize = 60;

#[derive(Debug, clap::Args)]
pub(super) struct HistoryArgs {
    /// Tasks accepted since: an age (30m, 24h, 7d) or an instant (2026-12-07T08:00:00Z)
    #[arg(long, default_value = "7d")]
    since: String,
    /// Only tasks in this state: a stage (received, running, logicFinished, resumeSent,
    /// resumed, givenUp, noResume), an outcome (completed, failed) or unfinished
    #[arg(long, value_parser = StatusFilter::parse)]
    status: Option<StatusFilter>,
    /// Only tasks of this workflow (its id or display name)
    #[arg(long)]
    workflow: Option<String>,
    /// Only tasks for this user (object id)
    #[arg(long)]
    subject: Option<String>,
    /// One JSON array of tasks instead of the table
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    ledger: LedgerArg,
}

pub(super) async fn run(args: HistoryArgs) -> ExitCode {
    match history(&args).await {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lcw-handler history: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn history(args: &HistoryArgs) -> Result<String, String> {
    let now = OffsetDateTime::now_utc();
    let since = parse_since(&args.since, now).map_err(|e| format!("--since {e}"))?;
    let ledger = args.ledger.open()?;
    let filter = HistoryFilter {
        since,
        status: args.status,
        workflow: args.workflow.clone(),
        subject: args.subject.clone(),
    };
    // A task accepted since `since` has changed since then too.
    let records = ledger
        .store()
        .list(since)
        .await
        .map_err(|e| e.to_string())?;
    let rows = filter.rows(records);
    if args.json {
        return serde_json::to_string_pretty(&rows)
            .map(|text| text + "\n")
            .map_err(|e| e.to_string());
    }
    if rows.is_empty() {
        return Ok(format!(
            "no tasks since {} in {}\n",
            since_text(since),
            ledger.store().describe()
        ));
    }
    Ok(table(&rows))
}

fn since_text(at: OffsetDateTime) -> String {
    utc_seconds(at)
}

/// `2026-12-07 08:00:03Z`.
pub(super) fn utc_seconds(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

fn table(rows: &[HistoryRow]) -> String {
    let header = [
        "TIME", "ID", "WORKFLOW", "TASK", "SUBJECT", "OUTCOME", "ATTEMPTS", "RESUME", "REASON",
    ];
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|row| {
            [
                utc_seconds(row.accepted_at),
                row.task_processing_result_id.clone(),
                row.workflow_name
                    .clone()
                    .unwrap_or_else(|| row.workflow_id.clone()),
                row.task_name.clone().unwrap_or_else(|| row.task_id.clone()),
                row.subject_id.clone().unwrap_or_else(|| "-".to_owned()),
                row.outcome.clone().unwrap_or_else(|| "-".to_owned()),
                row.attempts.to_string(),
                row.resume_status(),
                shorten(row.reason.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &cells {
        line(&row.each_ref().map(String::as_str));
    }
    out
}

fn shorten(reason: &str) -> String {
    let reason = reason.replace(['\n', '\r'], " ");
    if reason.chars().count() <= REASON_WIDTH {
        return reason;
    }
    let kept: String = reason.chars().take(REASON_WIDTH - 1).collect();
    format!("{kept}…")
}
