//! The callout → task → resume pipeline, driven through the Functions host emulator exactly as
//! the host drives it: the real binary, real envelopes, a real (emulated) queue between the
//! functions, and Graph behind a managed-identity token.

mod common;

use common::{Harness, MAX_ATTEMPTS, assert_resumed_once, example_binary, stock_binary, test_body};
use lcw_emulator::tenant::ScriptedResponse;

#[tokio::test]
async fn happy_path_acknowledges_202_and_resumes_completed_with_one_token_fetch() {
    test_body(
        "happy_path_acknowledges_202_and_resumes_completed_with_one_token_fetch",
        async {
            let harness = Harness::start(stock_binary(), &[]).await;
            let callouts = harness.joiners(5);
            for callout in &callouts {
                let response = harness.send(callout).await;
                assert_eq!(
                    response.status,
                    202,
                    "{:?}",
                    String::from_utf8_lossy(&response.body)
                );
                assert!(response.body.is_empty(), "202 carries an empty body");
            }
            harness.settle().await;
            for callout in &callouts {
                let resumes =
                    assert_resumed_once(&harness, &callout.task_processing_result_id, "completed");
                assert_eq!(resumes.len(), 1, "no retry was needed");
                assert_eq!(resumes[0].api_version, "v1.0");
                assert_eq!(resumes[0].body["source"], "lcw-handler");
                assert_eq!(resumes[0].body["type"], "lifecycleEvent");
                let deliveries = harness.deliveries_for(&callout.task_processing_result_id);
                assert_eq!(deliveries.len(), 1);
                assert!(deliveries[0].succeeded);
                assert!(
                    deliveries[0]
                        .logs
                        .iter()
                        .any(|l| l.contains("resumed completed")),
                    "the invocation's Logs say what happened: {:?}",
                    deliveries[0].logs
                );
            }
            assert_eq!(
                harness.tenant.token_fetches(),
                1,
                "one token serves every resume"
            );
            assert!(harness.poison().is_empty());
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn the_callout_invocation_logs_and_never_calls_graph() {
    test_body("the_callout_invocation_logs_and_never_calls_graph", async {
        let harness = Harness::start(stock_binary(), &[]).await;
        let callout = harness.joiners(1).remove(0);
        harness.send(&callout).await;
        let accept = harness
            .host
            .invocations()
            .into_iter()
            .find(|r| r.function == "callout")
            .expect("a callout invocation");
        assert!(accept.succeeded);
        assert!(
            accept
                .logs
                .iter()
                .any(|l| l.contains(&callout.task_processing_result_id)),
            "{:?}",
            accept.logs
        );
        let task = &accept.outputs["task"];
        assert!(
            task.is_object(),
            "the work item is emitted as a JSON object: {task}"
        );
        assert_eq!(
            task["taskProcessingResultId"],
            callout.task_processing_result_id.as_str()
        );
        harness.settle().await;
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn launch_and_continue_runs_the_task_and_never_resumes() {
    test_body(
        "launch_and_continue_runs_the_task_and_never_resumes",
        async {
            let harness = Harness::start(stock_binary(), &[]).await;
            let template = harness.joiners(1).remove(0);
            let mut spec = template.spec;
            spec.launch_and_wait = false;
            let callout = harness.lcw().callout(spec);
            assert!(!callout.body.contains("callbackUriPath"));
            assert_eq!(harness.send(&callout).await.status, 202);
            harness.settle().await;
            let deliveries = harness.deliveries_for(&callout.task_processing_result_id);
            assert_eq!(deliveries.len(), 1, "the task ran once");
            assert!(deliveries[0].succeeded);
            assert!(harness.tenant.resumes().is_empty(), "nothing is resumed");
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn malformed_callouts_get_400_naming_the_field_and_enqueue_nothing() {
    test_body("malformed_callouts_get_400_naming_the_field_and_enqueue_nothing", async {
    let harness = Harness::start(stock_binary(), &[]).await;
    let cases = [
        ("not json", None),
        ("[1, 2]", None),
        (r#"{"source":"x"}"#, Some("data")),
        (
            r#"{"data":{"task":{"id":"t"},"taskProcessingResult":{"id":"r"}}}"#,
            Some("data.workflow.id"),
        ),
        (
            r#"{"data":{"workflow":{"id":"w"},"taskProcessingResult":{"id":"r"}}}"#,
            Some("data.task.id"),
        ),
        (
            r#"{"data":{"workflow":{"id":"w"},"task":{"id":"t"}}}"#,
            Some("data.taskProcessingResult.id"),
        ),
        (
            r#"{"data":{"workflow":{"id":"w"},"task":{"id":"t"},"taskProcessingResult":{"id":"../../users"}}}"#,
            Some("data.taskProcessingResult.id"),
        ),
        ("", None),
    ];
    for (body, field) in cases {
        let response = harness.send_body(body).await;
        assert_eq!(response.status, 400, "{body}");
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{body}"
        );
        let error: serde_json::Value =
            serde_json::from_slice(&response.body).expect("a JSON error body");
        assert_eq!(error["error"]["code"], "invalid_callout", "{body}");
        if let Some(field) = field {
            assert_eq!(error["error"]["field"], field, "{body}");
        }
    }
    harness.settle().await;
    harness.assert_nothing_processed();
    harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn graph_429_with_retry_after_is_honoured_then_204() {
    test_body("graph_429_with_retry_after_is_honoured_then_204", async {
        let harness = Harness::start(stock_binary(), &[]).await;
        let callout = harness
            .run_with_graph_answering(vec![ScriptedResponse::throttled(1)])
            .await;
        let resumes =
            assert_resumed_once(&harness, &callout.task_processing_result_id, "completed");
        assert_eq!(
            resumes.iter().map(|r| r.status).collect::<Vec<_>>(),
            [429, 204]
        );
        let waited = resumes[1]
            .received_at
            .duration_since(resumes[0].received_at)
            .unwrap();
        assert!(
            waited >= std::time::Duration::from_secs(1),
            "waited for Retry-After, not less: {waited:?}"
        );
        assert_eq!(
            harness
                .deliveries_for(&callout.task_processing_result_id)
                .len(),
            1,
            "retried in-process"
        );
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn graph_500_on_every_request_ends_in_the_poison_queue_after_max_attempts() {
    test_body(
        "graph_500_on_every_request_ends_in_the_poison_queue_after_max_attempts",
        async {
            let harness =
                Harness::start(stock_binary(), &[("LCW_RETRY_WINDOW_SECONDS", "1")]).await;
            let callout = harness
                .run_with_graph_answering(vec![ScriptedResponse::status(500); 500])
                .await;
            let deliveries = harness.deliveries_for(&callout.task_processing_result_id);
            assert_eq!(
                deliveries.len(),
                MAX_ATTEMPTS,
                "delivered maxDequeueCount times"
            );
            assert!(
                deliveries.iter().all(|d| !d.succeeded),
                "every delivery failed"
            );
            assert_eq!(
                deliveries
                    .iter()
                    .map(|d| d.dequeue_count)
                    .collect::<Vec<_>>(),
                (1..=MAX_ATTEMPTS as u32).map(Some).collect::<Vec<_>>()
            );
            let poison = harness.poison();
            assert_eq!(poison.len(), 1, "the task is visible in the poison queue");
            assert!(poison[0].contains(&callout.task_processing_result_id));
            assert!(
                harness
                    .resumes_for(&callout.task_processing_result_id)
                    .iter()
                    .all(|r| r.status == 500)
            );
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn graph_500_then_recovery_resumes_on_a_later_delivery() {
    test_body(
        "graph_500_then_recovery_resumes_on_a_later_delivery",
        async {
            let harness =
                Harness::start(stock_binary(), &[("LCW_RETRY_WINDOW_SECONDS", "1")]).await;
            let callout = harness.joiners(1).remove(0);
            // More failures than one invocation's window can absorb, fewer than all attempts need.
            harness.tenant.script_resume(
                &callout.task_processing_result_id,
                vec![ScriptedResponse::status(503); 4],
            );
            harness.send(&callout).await;
            harness.settle().await;
            let resumes =
                assert_resumed_once(&harness, &callout.task_processing_result_id, "completed");
            assert_eq!(resumes.iter().filter(|r| r.status == 503).count(), 4);
            assert!(harness.poison().is_empty());
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn graph_rejection_is_not_retried() {
    test_body("graph_rejection_is_not_retried", async {
        let harness = Harness::start(stock_binary(), &[]).await;
        let callout = harness
            .run_with_graph_answering(vec![ScriptedResponse::status(400)])
            .await;
        let resumes = harness.resumes_for(&callout.task_processing_result_id);
        assert_eq!(resumes.len(), 1, "a 400 is not retried: {resumes:#?}");
        assert_eq!(
            harness
                .deliveries_for(&callout.task_processing_result_id)
                .len(),
            1
        );
        harness.wait_for_log("Graph rejected the resume", 1).await;
        let logged = harness.log_lines().into_iter().any(|line| {
            line["level"] == "ERROR"
                && line["fields"]["http_status"] == 400
                && line["fields"]["request_id"]
                    .as_str()
                    .is_some_and(|id| !id.is_empty())
        });
        assert!(
            logged,
            "the rejection is logged with Graph's status and request-id"
        );
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_failing_task_resumes_failed() {
    test_body("a_failing_task_resumes_failed", async {
        let harness = Harness::start(example_binary("scripted_task"), &[]).await;
        let callout = harness.joiner_named("Fail Early");
        assert_eq!(harness.send(&callout).await.status, 202);
        harness.settle().await;
        assert_resumed_once(&harness, &callout.task_processing_result_id, "failed");
        assert_eq!(
            harness
                .deliveries_for(&callout.task_processing_result_id)
                .len(),
            1,
            "a failure is final"
        );
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_panicking_task_resumes_failed_and_the_handler_keeps_serving() {
    test_body(
        "a_panicking_task_resumes_failed_and_the_handler_keeps_serving",
        async {
            let harness = Harness::start(example_binary("scripted_task"), &[]).await;
            let panicking = harness.joiner_named("Panic Attack");
            harness.send(&panicking).await;
            harness.settle().await;
            assert_resumed_once(&harness, &panicking.task_processing_result_id, "failed");
            let next = harness.joiner_named("Calm Person");
            assert_eq!(
                harness.send(&next).await.status,
                202,
                "the handler survived the panic"
            );
            harness.settle().await;
            assert_resumed_once(&harness, &next.task_processing_result_id, "completed");
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn a_task_erring_until_the_last_attempt_is_retried_then_completes() {
    test_body(
        "a_task_erring_until_the_last_attempt_is_retried_then_completes",
        async {
            let harness = Harness::start(example_binary("scripted_task"), &[]).await;
            let callout = harness.joiner_named("Flaky Network");
            harness.send(&callout).await;
            harness.settle().await;
            assert_resumed_once(&harness, &callout.task_processing_result_id, "completed");
            let deliveries = harness.deliveries_for(&callout.task_processing_result_id);
            assert_eq!(deliveries.len(), MAX_ATTEMPTS);
            assert!(deliveries[..MAX_ATTEMPTS - 1].iter().all(|d| !d.succeeded));
            assert!(deliveries[MAX_ATTEMPTS - 1].succeeded);
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn a_task_erring_on_every_attempt_resumes_failed_on_the_last() {
    test_body(
        "a_task_erring_on_every_attempt_resumes_failed_on_the_last",
        async {
            let harness = Harness::start(example_binary("scripted_task"), &[]).await;
            let callout = harness.joiner_named("Broken Backend");
            harness.send(&callout).await;
            harness.settle().await;
            assert_resumed_once(&harness, &callout.task_processing_result_id, "failed");
            assert_eq!(
                harness
                    .deliveries_for(&callout.task_processing_result_id)
                    .len(),
                MAX_ATTEMPTS
            );
            assert!(
                harness.poison().is_empty(),
                "resumed failed instead of poisoning"
            );
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn a_task_overrunning_its_timeout_resumes_failed() {
    test_body("a_task_overrunning_its_timeout_resumes_failed", async {
        let harness = Harness::start(
            example_binary("scripted_task"),
            &[("LCW_TASK_TIMEOUT_SECONDS", "1")],
        )
        .await;
        let callout = harness.joiner_named("Slow Coach");
        harness.send(&callout).await;
        harness.settle().await;
        assert_resumed_once(&harness, &callout.task_processing_result_id, "failed");
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn logs_are_json_lines_with_ids_and_no_token_or_personal_data_at_info() {
    test_body(
        "logs_are_json_lines_with_ids_and_no_token_or_personal_data_at_info",
        async {
            let harness = Harness::start(stock_binary(), &[("LCW_LOG", "info")]).await;
            let callout = harness.joiners(1).remove(0);
            harness.send(&callout).await;
            harness.settle().await;
            harness.wait_for_log("\"resumed\"", 1).await;
            let stdout = harness.host.handler_stdout();
            assert!(!stdout.is_empty());
            for line in &stdout {
                let parsed: serde_json::Value =
                    serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
                assert!(parsed["level"].is_string(), "{line}");
                assert!(
                    !line.contains(&callout.spec.subject.user_principal_name),
                    "UPN at info level: {line}"
                );
                assert!(!line.contains("Bearer "), "token material: {line}");
            }
            let resumed = harness
                .log_lines()
                .into_iter()
                .find(|l| l["fields"]["message"] == "resumed")
                .expect("a 'resumed' line");
            assert_eq!(
                resumed["span"]["task_processing_result_id"],
                callout.task_processing_result_id.as_str()
            );
            assert!(
                resumed["span"]["invocation_id"]
                    .as_str()
                    .is_some_and(|id| id.len() >= 32)
            );
            harness.stop().await;
        },
    )
    .await;
}
