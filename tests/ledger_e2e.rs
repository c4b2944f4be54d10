//! The task ledger through the real binary: under the Functions host emulator with duplicate
//! callouts and redelivered messages, and standalone killed with SIGKILL mid-task then started
//! again. Each task must be resumed exactly once (the Graph fake's records) and its logic run
//! once (the webhook receiver's records, and the ledger's).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::serve::Served;
use common::{Harness, assert_resumed_once, fresh_ledger, stock_binary, test_body};
use lcw_emulator::tenant::ScriptedResponse;
use lcw_handler::ledger::sqlite::SqliteStore;
use lcw_handler::ledger::{LedgerStore, Stage, TaskKey, TaskRecord};

/// How many times the business logic (the webhook) ran, per taskProcessingResult id.
type Runs = Arc<Mutex<HashMap<String, usize>>>;

/// A webhook receiver that counts each task's calls and answers `200`.
async fn logic_counter() -> (String, Runs) {
    let runs: Runs = Arc::default();
    let seen = runs.clone();
    let app = Router::new().route(
        "/logic",
        post(move |headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                let id = headers
                    .get("x-lcw-task-processing-result-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                *seen.lock().unwrap().entry(id).or_default() += 1;
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/logic"), runs)
}

fn runs_of(runs: &Runs, id: &str) -> usize {
    runs.lock().unwrap().get(id).copied().unwrap_or(0)
}

async fn record_in(ledger: &str, id: &str) -> TaskRecord {
    let path = ledger.strip_prefix("sqlite:").expect("a sqlite ledger");
    let store = SqliteStore::open(std::path::Path::new(path)).expect("the ledger opens");
    store
        .get(&TaskKey::lcw(id))
        .await
        .expect("the ledger answers")
        .unwrap_or_else(|| panic!("the ledger has a record of {id}"))
        .record
}

#[tokio::test]
async fn under_the_host_duplicates_and_redeliveries_run_once_and_resume_once() {
    test_body(
        "under_the_host_duplicates_and_redeliveries_run_once_and_resume_once",
        async {
            let ledger = fresh_ledger();
            let (webhook, runs) = logic_counter().await;
            let harness = Harness::start(
                stock_binary(),
                &[
                    ("LCW_LEDGER", &ledger),
                    ("LCW_TASK", "webhook"),
                    ("LCW_WEBHOOK_URL", &webhook),
                ],
            )
            .await;
            let callout = harness.joiners(1).remove(0);
            let id = callout.task_processing_result_id.clone();
            // The callout, the same request again (same nonce), and a copy with a fresh nonce,
            // which the handler cannot tell from a retry whose first copy never reached the
            // queue, so it is enqueued again.
            assert_eq!(harness.send(&callout).await.status, 202);
            assert_eq!(harness.send(&callout).await.status, 202);
            let fresh_nonce = harness.lcw().callout(callout.spec.clone());
            assert_eq!(harness.send(&fresh_nonce).await.status, 202);
            harness.settle().await;
            let deliveries = harness.deliveries_for(&id);
            assert!(
                deliveries.len() >= 2,
                "both enqueued copies reached `process`: {deliveries:#?}"
            );
            // The message delivered again after the resume, as a queue may.
            let message = deliveries[0].trigger_message.clone().expect("a work item");
            harness.host.enqueue("lcw-tasks", &message);
            harness
                .wait_for_deliveries(&id, deliveries.len() + 1, |_| true)
                .await;
            harness.settle().await;

            assert_resumed_once(&harness, &id, "completed");
            assert_eq!(
                harness.resumes_for(&id).len(),
                1,
                "no second resume request was even sent"
            );
            assert_eq!(runs_of(&runs, &id), 1, "the logic ran once");
            assert!(harness.poison().is_empty(), "nothing was poisoned");
            let record = record_in(&ledger, &id).await;
            assert_eq!(record.stage, Stage::Resumed);
            assert_eq!(record.logic_runs, 1);
            // A copy that arrives while the first is held is dropped without a write (a write
            // would break the holder's compare-and-set); one that arrives after the resume is
            // noted in the story.
            assert!(
                record
                    .events
                    .iter()
                    .any(|e| e.what.contains("already resumed; nothing to do")),
                "the redelivery after the resume is in the story: {record:#?}"
            );
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn under_the_host_a_redelivery_after_the_logic_finished_only_resumes() {
    test_body(
        "under_the_host_a_redelivery_after_the_logic_finished_only_resumes",
        async {
            let ledger = fresh_ledger();
            let (webhook, runs) = logic_counter().await;
            let harness = Harness::start(
                stock_binary(),
                &[
                    ("LCW_LEDGER", &ledger),
                    ("LCW_TASK", "webhook"),
                    ("LCW_WEBHOOK_URL", &webhook),
                    ("LCW_RETRY_WINDOW_SECONDS", "1"),
                ],
            )
            .await;
            let callout = harness.joiners(1).remove(0);
            let id = callout.task_processing_result_id.clone();
            // `authorizedApps` still propagating: Graph refuses the first resumes for longer
            // than one invocation's retry window.
            let slow_forbidden = ScriptedResponse {
                delay: Duration::from_millis(700),
                ..ScriptedResponse::status(403)
            };
            harness.tenant.script_resume(&id, vec![slow_forbidden; 3]);
            assert_eq!(harness.send(&callout).await.status, 202);
            harness.settle().await;

            assert_resumed_once(&harness, &id, "completed");
            let deliveries = harness.deliveries_for(&id);
            assert!(
                deliveries.len() >= 2,
                "the 403s outlasted the first invocation: {deliveries:#?}"
            );
            assert_eq!(runs_of(&runs, &id), 1, "later deliveries only resumed");
            let record = record_in(&ledger, &id).await;
            assert_eq!((record.stage, record.logic_runs), (Stage::Resumed, 1));
            assert!(
                record
                    .events
                    .iter()
                    .any(|e| e.what.contains("logic already finished")),
                "the story shows the resume-only delivery: {record:#?}"
            );
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn under_the_host_a_403_until_the_last_attempt_is_poisoned_and_recorded() {
    test_body(
        "under_the_host_a_403_until_the_last_attempt_is_poisoned_and_recorded",
        async {
            let ledger = fresh_ledger();
            let (webhook, runs) = logic_counter().await;
            let harness = Harness::start(
                stock_binary(),
                &[
                    ("LCW_LEDGER", &ledger),
                    ("LCW_TASK", "webhook"),
                    ("LCW_WEBHOOK_URL", &webhook),
                    ("LCW_RETRY_WINDOW_SECONDS", "1"),
                ],
            )
            .await;
            let callout = harness.joiners(1).remove(0);
            let id = callout.task_processing_result_id.clone();
            // The identity is never added to `authorizedApps`.
            harness
                .tenant
                .script_resume(&id, vec![ScriptedResponse::status(403); 200]);
            assert_eq!(harness.send(&callout).await.status, 202);
            harness.settle().await;

            assert_eq!(
                harness.poison().len(),
                1,
                "the message went to the poison queue"
            );
            harness.wait_for_log("authorizedApps", 1).await;
            assert_eq!(
                harness.deliveries_for(&id).len(),
                common::MAX_ATTEMPTS,
                "every attempt was used"
            );
            assert_eq!(
                runs_of(&runs, &id),
                1,
                "the logic ran once over all deliveries"
            );
            let record = record_in(&ledger, &id).await;
            assert_eq!(record.stage, Stage::ResumeSent, "not final: {record:#?}");
            assert_eq!(record.logic_runs, 1);
            let graph = record.graph.as_ref().expect("Graph's answer is recorded");
            assert_eq!(graph.status, Some(403));
            assert!(
                record
                    .reason
                    .as_deref()
                    .is_some_and(|r| r.contains("authorizedApps") && r.contains("poison")),
                "the reason says what to fix: {record:#?}"
            );
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn standalone_killed_mid_task_resumes_once_after_a_restart() {
    test_body(
        "standalone_killed_mid_task_resumes_once_after_a_restart",
        async {
            let ledger = fresh_ledger();
            let (webhook, runs) = logic_counter().await;
            let env = [
                ("LCW_LEDGER", ledger.as_str()),
                ("LCW_TASK", "webhook"),
                ("LCW_WEBHOOK_URL", webhook.as_str()),
                ("LCW_RETRY_WINDOW_SECONDS", "60"),
            ];
            let served = Served::start(stock_binary(), &env).await;
            let callout = served.lcw().joiner_wave(1).remove(0);
            let id = callout.task_processing_result_id.clone();
            // Graph throttles once the logic has finished: the handler waits 5 s to retry the
            // resume, and is killed while it waits.
            served.tenant.script_resume(
                &id,
                vec![
                    ScriptedResponse::throttled(5),
                    ScriptedResponse::throttled(1),
                ],
            );
            let answer = served
                .post(&callout, callout.body.clone().into_bytes())
                .await;
            assert_eq!(answer.status(), 202);
            assert!(
                served
                    .tenant
                    .wait_for_resumes(1, Duration::from_secs(60))
                    .await,
                "the logic finished and a resume was attempted"
            );
            let tenant = served.kill().await;
            let record = record_in(&ledger, &id).await;
            assert!(
                !record.stage.is_final(),
                "killed before the resume went through: {record:#?}"
            );

            let restarted = Served::start_in(tenant, stock_binary(), &env).await;
            assert!(
                restarted
                    .tenant
                    .wait_for_resumes(3, Duration::from_secs(60))
                    .await,
                "the restarted handler drove the task again"
            );
            let resumes: Vec<_> = restarted
                .tenant
                .resumes()
                .into_iter()
                .filter(|r| r.task_processing_result_id == id && r.status == 204)
                .collect();
            assert_eq!(resumes.len(), 1, "resumed exactly once");
            assert_eq!(
                runs_of(&runs, &id),
                1,
                "the finished logic did not run again"
            );
            // The ledger is written after Graph's answer: wait for it, bounded by the test.
            loop {
                let record = record_in(&ledger, &id).await;
                if record.stage == Stage::Resumed {
                    assert_eq!(record.logic_runs, 1);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            restarted.stop().await;
        },
    )
    .await;
}
