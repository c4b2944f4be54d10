//! `lcw-handler explain <taskProcessingResultId>`: one task's story from the ledger — accepted,
//! each delivery and logic run, Graph's answers, the outcome.

use std::process::ExitCode;

use super::history::utc_seconds;
use super::ledger_read::LedgerArg;
use crate::ledger::{TaskKey, TaskRecord};

#[derive(Debug, clap::Args)]
pub(super) struct ExplainArgs {
    /// The task's taskProcessingResult id (the `task_processing_result_id` of the logs)
    task_processing_result_id: String,
    #[command(flatten)]
    ledger: LedgerArg,
}

pub(super) async fn run(args: ExplainArgs) -> ExitCode {
    match explain(&args).await {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lcw-handler explain: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn explain(args: &ExplainArgs) -> Result<String, String> {
    let ledger = args.ledger.open()?;
    let id = args.task_processing_result_id.trim();
    let key = TaskKey::lcw(id);
    match ledger.store().get(&key).await.map_err(|e| e.to_string())? {
        Some(found) => Ok(story(&found.record)),
        None => Err(format!(
            "no record of task {id} in {}: it was never processed with this ledger, or it is older than the retention ({} days)",
            ledger.store().describe(),
            ledger.retention().as_secs() / 86_400
        )),
    }
}

pub(super) fn story(record: &TaskRecord) -> String {
    let facts = &record.facts;
    let named = |name: &Option<String>, id: &str| match name {
        Some(name) => format!("{name} ({id})"),
        None => id.to_owned(),
    };
    let mut out = String::new();
    let mut fact = |label: &str, value: String| out.push_str(&format!("{label:<14} {value}\n"));
    fact("task", record.key.id.clone());
    fact("workflow", named(&facts.workflow_name, &facts.workflow_id));
    fact("workflow task", named(&facts.task_name, &facts.task_id));
    fact(
        "subject",
        facts.subject_id.clone().unwrap_or_else(|| "-".to_owned()),
    );
    fact("stage", record.stage.as_str().to_owned());
    fact(
        "outcome",
        match &record.outcome {
            Some(o) => match &o.reason {
                Some(reason) => format!("{} ({reason})", o.status.as_str()),
                None => o.status.as_str().to_owned(),
            },
            None => "- (the logic has not finished)".to_owned(),
        },
    );
    fact(
        "attempts",
        format!(
            "deliveries {}, logic runs {}, resume requests {}",
            record.deliveries, record.logic_runs, record.resume_tries
        ),
    );
    if let Some(graph) = &record.graph {
        let status = graph
            .status
            .map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}"));
        let mut answer = format!("{status} at {}", utc_seconds(graph.at));
        if let Some(code) = &graph.code {
            answer.push_str(&format!(", {code}"));
        }
        if let Some(id) = &graph.request_id {
            answer.push_str(&format!(", request-id {id}"));
        }
        fact("Graph", answer);
    }
    if let Some(reason) = &record.reason {
        fact("reason", reason.clone());
    }
    if let Some(lease) = &record.lease {
        fact(
            "held by",
            format!("{} until {}", lease.holder, utc_seconds(lease.expires_at)),
        );
    }
    fact("accepted", utc_seconds(record.accepted_at));
    fact("deadline", utc_seconds(record.deadline));
    out.push_str("\nstory:\n");
    for event in &record.events {
        out.push_str(&format!(
            "  {}  {:<14} {}\n",
            utc_seconds(event.at),
            event.stage.as_str(),
            event.what
        ));
    }
    out
}
