//! When a task fails, `demo` says why in its table and prints the task's story from the task
//! ledger: accepted, attempts, Graph's answer, outcome.
//!
//! The run's task is the built-in webhook (inherited settings `LCW_TASK`, `LCW_WEBHOOK_URL`),
//! pointed at a receiver that refuses every task with `422`: the task fails, and is resumed
//! `failed` with the receiver's refusal as its reason.

use lcw_emulator::time_limit::{TEST_TIME_LIMIT, within};
use tokio::process::Command;

#[tokio::test]
async fn a_failed_task_shows_its_reason_and_its_story_from_the_ledger() {
    within(
        TEST_TIME_LIMIT,
        "a_failed_task_shows_its_reason_and_its_story_from_the_ledger",
        async {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            let url = format!("http://{}/task", listener.local_addr().unwrap());
            let refuse = axum::Router::new().route(
                "/task",
                axum::routing::post(|| async { axum::http::StatusCode::UNPROCESSABLE_ENTITY }),
            );
            let server = tokio::spawn(async move { axum::serve(listener, refuse).await });

            let output = Command::new(env!("CARGO_BIN_EXE_lcw-handler"))
                .args(["demo", "--users", "2"])
                .env("LCW_TASK", "webhook")
                .env("LCW_WEBHOOK_URL", &url)
                .env_remove("LCW_LEDGER")
                .kill_on_drop(true)
                .output()
                .await
                .expect("the binary runs");
            server.abort();
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            // Every task ended in a resume (a failed one): the demo itself succeeds.
            assert!(output.status.success(), "demo failed:\n{stdout}\n{stderr}");

            // The table's reason column, from the ledger.
            let (table, _) = stdout
                .split_once("summary:")
                .unwrap_or_else(|| panic!("no table:\n{stdout}"));
            let failed_rows: Vec<&str> = table
                .lines()
                .filter(|l| l.contains(" failed ") && l.contains("webhook refused the task: 422"))
                .collect();
            assert_eq!(failed_rows.len(), 2, "one failed row per user:\n{stdout}");

            // The story of each failed task.
            let (_, stories) = stdout
                .split_once(
                    "what happened to each task that did not complete (from the task ledger):",
                )
                .unwrap_or_else(|| panic!("no stories:\n{stdout}"));
            assert_eq!(stories.matches("task           ").count(), 2, "{stories}");
            for expected in [
                "stage          resumed",
                "outcome        failed (webhook refused the task: 422",
                "attempts       deliveries 1, logic runs 1, resume requests 1",
                "Graph          HTTP 204 at ",
                "callout accepted",
                "logic started",
                "logic finished: failed (webhook refused the task: 422",
                "resumed failed after 1 request(s)",
            ] {
                assert!(
                    stories.contains(expected),
                    "{expected:?} missing:\n{stories}"
                );
            }
            // The stories come after the table, and nothing names a token.
            assert!(!stdout.to_lowercase().contains("bearer "), "{stdout}");
        },
    )
    .await;
}
