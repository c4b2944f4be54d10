//! The real binary under the Functions host emulator with its queues on real Storage queues in
//! Azurite, as `func start` runs with `AzureWebJobsStorage` pointing at Azurite: the callout's
//! queue output is a Put Message, the queue trigger a Get Messages with a visibility timeout,
//! `DequeueCount` comes from Storage, and after `maxDequeueCount` failed deliveries the message
//! sits in `lcw-tasks-poison` — checked in Azurite itself, with raw REST calls.

mod common;

use common::azurite::{self, approximate_count, peek_texts};
use common::{Harness, MAX_ATTEMPTS, assert_resumed_once, stock_binary, test_body};
use lcw_emulator::functions_host::QueueBackend;
use lcw_emulator::tenant::{ScriptedResponse, TenantEmulator, TenantOptions};

async fn harness_on(azurite: &lcw_emulator::azurite::Azurite, env: &[(&str, &str)]) -> Harness {
    let tenant = TenantEmulator::start(TenantOptions::default())
        .await
        .expect("tenant emulator starts");
    Harness::start_on_queues(tenant, stock_binary(), env, QueueBackend::azurite(azurite)).await
}

#[tokio::test]
async fn every_task_goes_through_azurite_and_is_resumed_once() {
    test_body(
        "every_task_goes_through_azurite_and_is_resumed_once",
        async {
            let azurite = azurite::start().await;
            let harness = harness_on(&azurite, &[]).await;
            let callouts = harness.joiners(5);
            for callout in &callouts {
                assert_eq!(harness.send(callout).await.status, 202);
            }
            harness.settle().await;
            for callout in &callouts {
                let resumes =
                    assert_resumed_once(&harness, &callout.task_processing_result_id, "completed");
                assert_eq!(resumes.len(), 1, "no retry was needed");
                let deliveries = harness.deliveries_for(&callout.task_processing_result_id);
                assert_eq!(deliveries.len(), 1, "{deliveries:#?}");
                assert_eq!(
                    deliveries[0].dequeue_count,
                    Some(1),
                    "Storage counted one dequeue"
                );
                assert!(deliveries[0].succeeded);
            }
            assert_eq!(
                approximate_count(&azurite, "lcw-tasks").await,
                Some(0),
                "the task queue exists in Azurite and every message was deleted"
            );
            assert_eq!(
                approximate_count(&azurite, "lcw-tasks-poison").await,
                None,
                "nothing was poisoned"
            );
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn a_task_failing_every_delivery_ends_in_azurites_poison_queue() {
    test_body(
        "a_task_failing_every_delivery_ends_in_azurites_poison_queue",
        async {
            let azurite = azurite::start().await;
            let harness = harness_on(&azurite, &[("LCW_RETRY_WINDOW_SECONDS", "1")]).await;
            let callout = harness
                .run_with_graph_answering(vec![ScriptedResponse::status(500); 500])
                .await;
            let id = &callout.task_processing_result_id;
            let deliveries = harness.deliveries_for(id);
            assert_eq!(
                deliveries
                    .iter()
                    .map(|d| d.dequeue_count)
                    .collect::<Vec<_>>(),
                (1..=MAX_ATTEMPTS as u32).map(Some).collect::<Vec<_>>(),
                "delivered maxDequeueCount times, Storage counting each dequeue"
            );
            assert!(
                deliveries.iter().all(|d| !d.succeeded),
                "every delivery failed"
            );
            assert!(
                harness.resumes_for(id).iter().all(|r| r.status == 500),
                "no resume was accepted"
            );

            let poisoned = peek_texts(&azurite, "lcw-tasks-poison").await;
            assert_eq!(
                poisoned.len(),
                1,
                "one message in Azurite's poison queue: {poisoned:?}"
            );
            assert!(
                poisoned[0].contains(id.as_str()),
                "it is this task: {}",
                poisoned[0]
            );
            assert_eq!(
                poisoned,
                harness.poison(),
                "the host's view matches what Storage holds"
            );
            assert_eq!(
                approximate_count(&azurite, "lcw-tasks").await,
                Some(0),
                "the original was deleted from the task queue"
            );
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn with_the_blob_ledger_a_duplicate_callout_is_resumed_once_and_recorded_in_azurite() {
    test_body(
        "with_the_blob_ledger_a_duplicate_callout_is_resumed_once_and_recorded_in_azurite",
        async {
            let azurite = azurite::start().await;
            let harness = harness_on(
                &azurite,
                &[
                    ("LCW_LEDGER", "blob"),
                    ("LCW_LEDGER_BLOB_SERVICE_URL", azurite.blob_endpoint()),
                    ("LCW_LEDGER_BLOB_SAS", azurite.account_sas()),
                ],
            )
            .await;
            let callout = harness.joiners(1).remove(0);
            // Lifecycle Workflows retrying: the same task, signed again with a fresh nonce.
            let again = harness.lcw().callout(callout.spec.clone());
            assert_eq!(harness.send(&callout).await.status, 202);
            assert_eq!(harness.send(&again).await.status, 202);
            harness.settle().await;
            let id = &callout.task_processing_result_id;
            let resumes = assert_resumed_once(&harness, id, "completed");
            assert_eq!(
                resumes.len(),
                1,
                "the duplicate resumed nothing: {resumes:#?}"
            );
            let deliveries = harness.deliveries_for(id);
            // A copy that finds the other's live lease hands itself back and comes again.
            assert!(
                deliveries.len() >= 2,
                "both copies were delivered: {deliveries:#?}"
            );
            let logs: Vec<&String> = deliveries.iter().flat_map(|d| &d.logs).collect();
            assert_eq!(
                logs.iter()
                    .filter(|l| l.contains("resumed completed"))
                    .count(),
                1,
                "one delivery resumed, the others found the ledger's record: {logs:#?}"
            );

            let blobs = azurite::list_blobs(&azurite, "lcw-ledger").await;
            assert_eq!(blobs, [format!("lcw/{id}.json")], "one record per task");
            let record = azurite::blob_json(&azurite, "lcw-ledger", &blobs[0]).await;
            assert_eq!(record["stage"], "resumed", "{record:#}");
            assert_eq!(record["key"]["id"], id.as_str());
            // `history` reads the same Blob ledger, with the same settings.
            let history = common::process::run(
                &stock_binary(),
                &["history", "--ledger", "blob", "--json"],
                &[
                    ("LCW_LEDGER_BLOB_SERVICE_URL", azurite.blob_endpoint()),
                    ("LCW_LEDGER_BLOB_SAS", azurite.account_sas()),
                ],
            )
            .await;
            let said = String::from_utf8_lossy(&history.stdout);
            let stderr = String::from_utf8_lossy(&history.stderr);
            assert!(history.status.success(), "{said}{stderr}");
            let tasks: Vec<serde_json::Value> = serde_json::from_str(&said).expect("a JSON array");
            assert_eq!(tasks.len(), 1, "{said}");
            assert_eq!(tasks[0]["taskProcessingResultId"], id.as_str());
            assert_eq!(tasks[0]["stage"], "resumed");
            assert!(
                !said.contains(azurite.account_sas()) && !stderr.contains(azurite.account_sas()),
                "history never shows the SAS"
            );
            assert!(
                !harness
                    .host
                    .handler_stdout()
                    .iter()
                    .chain(harness.host.handler_stderr().iter())
                    .any(|l| l.contains(azurite.account_sas())),
                "the SAS never reaches the log"
            );
            harness.stop().await;
        },
    )
    .await;
}
