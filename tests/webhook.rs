//! The built-in `webhook` task through the real binary: 2xx → completed, 4xx → failed,
//! 5xx → retried, and resumed `failed` on the last attempt.

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::{Harness, MAX_ATTEMPTS, assert_resumed_once, stock_binary, test_body};

/// What the receiving system saw.
#[derive(Default)]
struct Received {
    bodies: Vec<serde_json::Value>,
    idempotency_keys: Vec<String>,
}

/// A receiving system answering `/status/{code}` with that code.
async fn receiver() -> (String, Arc<Mutex<Received>>) {
    let received = Arc::new(Mutex::new(Received::default()));
    let app = Router::new()
        .route(
            "/status/{code}",
            post(
                |State(seen): State<Arc<Mutex<Received>>>,
                 Path(code): Path<u16>,
                 headers: HeaderMap,
                 body: String| async move {
                    let mut seen = seen.lock().unwrap();
                    seen.bodies
                        .push(serde_json::from_str(&body).unwrap_or_default());
                    if let Some(key) = headers.get("x-lcw-task-processing-result-id") {
                        seen.idempotency_keys.push(key.to_str().unwrap().to_owned());
                    }
                    StatusCode::from_u16(code).unwrap()
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), received)
}

async fn run_with_status(code: u16) -> (Harness, String, Arc<Mutex<Received>>) {
    let (base, received) = receiver().await;
    let url = format!("{base}/status/{code}");
    let harness = Harness::start(
        stock_binary(),
        &[
            ("LCW_TASK", "webhook"),
            ("LCW_WEBHOOK_URL", &url),
            ("LCW_RETRY_WINDOW_SECONDS", "1"),
        ],
    )
    .await;
    let callout = harness.joiners(1).remove(0);
    assert_eq!(harness.send(&callout).await.status, 202);
    harness.settle().await;
    (harness, callout.task_processing_result_id, received)
}

#[tokio::test]
async fn a_2xx_answer_completes_the_task_and_carries_the_callout() {
    test_body(
        "a_2xx_answer_completes_the_task_and_carries_the_callout",
        async {
            let (harness, id, received) = run_with_status(200).await;
            assert_resumed_once(&harness, &id, "completed");
            let received = received.lock().unwrap();
            assert_eq!(received.bodies.len(), 1);
            assert_eq!(received.bodies[0]["taskProcessingResultId"], id.as_str());
            assert_eq!(received.bodies[0]["attempt"], 1);
            assert!(received.bodies[0]["callout"]["data"]["subject"].is_object());
            assert_eq!(received.idempotency_keys, vec![id.clone()]);
        },
    )
    .await;
}

#[tokio::test]
async fn a_4xx_answer_fails_the_task_without_retry() {
    test_body("a_4xx_answer_fails_the_task_without_retry", async {
        let (harness, id, received) = run_with_status(422).await;
        assert_resumed_once(&harness, &id, "failed");
        assert_eq!(
            received.lock().unwrap().bodies.len(),
            1,
            "a refusal is not retried"
        );
    })
    .await;
}

#[tokio::test]
async fn a_5xx_answer_is_retried_and_the_last_attempt_resumes_failed() {
    test_body(
        "a_5xx_answer_is_retried_and_the_last_attempt_resumes_failed",
        async {
            let (harness, id, received) = run_with_status(503).await;
            assert_resumed_once(&harness, &id, "failed");
            assert_eq!(harness.deliveries_for(&id).len(), MAX_ATTEMPTS);
            let received = received.lock().unwrap();
            assert!(
                received.bodies.len() >= MAX_ATTEMPTS,
                "retried in-process and across deliveries"
            );
            let attempts: Vec<u64> = received
                .bodies
                .iter()
                .filter_map(|b| b["attempt"].as_u64())
                .collect();
            assert_eq!(attempts.iter().max(), Some(&(MAX_ATTEMPTS as u64)));
        },
    )
    .await;
}
