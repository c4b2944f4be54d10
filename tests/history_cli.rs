//! `lcw-handler history` and `explain`, read from a ledger populated by a real run: the binary
//! under the Functions host emulator, a webhook task that completes one task and fails
//! another, and a third task of another workflow.

mod common;

use std::path::Path;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::process::run;
use common::{Harness, fresh_ledger, stock_binary, test_body};

/// The ids the webhook fails (`422`); every other task completes.
async fn webhook_failing(ids: Vec<String>) -> String {
    let app = Router::new().route(
        "/logic",
        post(move |headers: HeaderMap| {
            let ids = ids.clone();
            async move {
                let id = headers
                    .get("x-lcw-task-processing-result-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if ids.iter().any(|f| f == id) {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/logic")
}

struct Populated {
    ledger: String,
    completed: Callout,
    failed: Callout,
    leaver: Callout,
}

type Callout = lcw_emulator::tenant::Callout;

/// Runs three tasks through the real binary and returns the ledger it wrote.
async fn populated() -> Populated {
    let ledger = fresh_ledger();
    let tenant = lcw_emulator::tenant::TenantEmulator::start(Default::default())
        .await
        .unwrap();
    let caller = tenant
        .lcw()
        .with_auth(lcw_emulator::tenant::LcwAuth::Pop(tenant.pop_settings()));
    let mut wave = caller.joiner_wave(2);
    let (completed, failed) = (wave.remove(0), wave.remove(0));
    let mut leaver_spec = caller.joiner_wave(1).remove(0).spec;
    leaver_spec.workflow.id = "leaver-workflow-id".into();
    leaver_spec.workflow.display_name = "Leaver cleanup".into();
    let leaver = caller.callout(leaver_spec);
    let webhook = webhook_failing(vec![failed.task_processing_result_id.clone()]).await;
    let harness = Harness::start_in(
        tenant,
        stock_binary(),
        &[
            ("LCW_LEDGER", &ledger),
            ("LCW_TASK", "webhook"),
            ("LCW_WEBHOOK_URL", &webhook),
        ],
    )
    .await;
    for callout in [&completed, &failed, &leaver] {
        assert_eq!(harness.send(callout).await.status, 202);
    }
    harness.settle().await;
    harness.stop().await;
    Populated {
        ledger,
        completed,
        failed,
        leaver,
    }
}

async fn lcw_handler(args: &[&str]) -> (bool, String, String) {
    let output = run(Path::new(&stock_binary()), args, &[]).await;
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The table's data rows.
fn rows(table: &str) -> Vec<&str> {
    table.lines().skip(1).collect()
}

#[tokio::test]
async fn history_shows_a_real_run_and_filters_it() {
    test_body("history_shows_a_real_run_and_filters_it", async {
        let run = populated().await;
        let ledger = ["--ledger", run.ledger.as_str()];
        let history = |extra: &'static [&'static str]| {
            let mut args = vec!["history"];
            args.extend_from_slice(&ledger);
            args.extend_from_slice(extra);
            async move { lcw_handler(&args).await }
        };

        let (ok, table, stderr) = history(&[]).await;
        assert!(ok, "{stderr}");
        let header = table.lines().next().unwrap_or_default();
        for column in [
            "TIME", "ID", "WORKFLOW", "TASK", "SUBJECT", "OUTCOME", "ATTEMPTS", "RESUME", "REASON",
        ] {
            assert!(header.contains(column), "{table}");
        }
        assert_eq!(rows(&table).len(), 3, "{table}");
        let failed_subject = &run.failed.spec.subject.id;
        let failed_row = rows(&table)
            .into_iter()
            .find(|r| r.contains(failed_subject.as_str()))
            .unwrap_or_else(|| panic!("a row for the failed task's subject: {table}"));
        assert!(failed_row.contains("failed"), "{failed_row}");
        assert!(
            failed_row.contains(run.failed.task_processing_result_id.as_str()),
            "the row names the id `explain` takes: {failed_row}"
        );
        assert!(failed_row.contains("resumed (204)"), "{failed_row}");
        assert!(
            failed_row.contains("422"),
            "the reason names the webhook's answer: {failed_row}"
        );

        let (ok, only_failed, _) = history(&["--status", "failed"]).await;
        assert!(ok);
        assert_eq!(rows(&only_failed).len(), 1, "{only_failed}");
        assert!(
            only_failed.contains(failed_subject.as_str()),
            "{only_failed}"
        );

        let (_, leavers, _) = history(&["--workflow", "leaver cleanup"]).await;
        assert_eq!(rows(&leavers).len(), 1, "{leavers}");
        assert!(leavers.contains("Leaver cleanup"), "{leavers}");

        let mut by_subject = vec![
            "history",
            "--subject",
            run.completed.spec.subject.id.as_str(),
        ];
        by_subject.extend_from_slice(&ledger);
        let (_, one, _) = lcw_handler(&by_subject).await;
        assert_eq!(rows(&one).len(), 1, "{one}");
        assert!(one.contains("completed"), "{one}");

        let (_, none, _) = history(&["--since", "2099-01-01T00:00:00Z"]).await;
        assert!(none.starts_with("no tasks since 2099-01-01"), "{none}");

        let (ok, json, stderr) = history(&["--json"]).await;
        assert!(ok, "{stderr}");
        let tasks: Vec<serde_json::Value> = serde_json::from_str(&json).expect("a JSON array");
        assert_eq!(tasks.len(), 3);
        let leaver = tasks
            .iter()
            .find(|t| t["taskProcessingResultId"] == run.leaver.task_processing_result_id.as_str())
            .expect("the leaver task");
        assert_eq!(leaver["workflowId"], "leaver-workflow-id");
        assert_eq!(leaver["outcome"], "completed");
        assert_eq!(leaver["stage"], "resumed");
        assert_eq!(leaver["attempts"], 1);
        assert_eq!(leaver["logicRuns"], 1);
        assert_eq!(leaver["graphStatus"], 204);

        let (ok, _, stderr) = history(&["--status", "done"]).await;
        assert!(!ok);
        assert!(
            stderr.contains("resumeSent") && stderr.contains("unfinished"),
            "{stderr}"
        );
        let (ok, _, stderr) = history(&["--since", "yesterday"]).await;
        assert!(!ok);
        assert!(stderr.contains("--since"), "{stderr}");
    })
    .await;
}

#[tokio::test]
async fn explain_tells_one_tasks_story() {
    test_body("explain_tells_one_tasks_story", async {
        let run = populated().await;
        let id = run.failed.task_processing_result_id.as_str();
        let (ok, story, stderr) =
            lcw_handler(&["explain", id, "--ledger", run.ledger.as_str()]).await;
        assert!(ok, "{stderr}");
        assert!(story.contains(id), "{story}");
        assert!(story.contains("failed"), "{story}");
        assert!(
            story.contains("deliveries 1, logic runs 1, resume requests 1"),
            "{story}"
        );
        assert!(story.contains("HTTP 204"), "{story}");
        assert!(story.contains("request-id"), "{story}");
        for step in [
            "callout accepted",
            "logic started",
            "logic finished: failed",
            "resumed failed",
        ] {
            assert!(story.contains(step), "the story has {step:?}: {story}");
        }

        let (ok, _, stderr) =
            lcw_handler(&["explain", "no-such-task", "--ledger", run.ledger.as_str()]).await;
        assert!(!ok);
        assert!(
            stderr.contains("no record of task no-such-task"),
            "{stderr}"
        );

        let (ok, _, stderr) = lcw_handler(&[
            "explain",
            id,
            "--ledger",
            "sqlite:/nonexistent/ledger.sqlite",
        ])
        .await;
        assert!(!ok);
        assert!(
            stderr.contains("no ledger at /nonexistent/ledger.sqlite"),
            "{stderr}"
        );
    })
    .await;
}
