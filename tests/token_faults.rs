//! Faults of the managed identity and of Graph's authorisation, through the real binary under
//! the host emulator: the identity endpoint down, a token Graph no longer accepts, and `403`
//! while `authorizedApps` propagates (or never lists the identity). Assertions are on what the
//! host recorded and what Graph received, never on elapsed time.

mod common;

use common::{Harness, SETTLE, assert_resumed_once, stock_binary, test_body};
use lcw_emulator::tenant::{IdentityOutage, ScriptedResponse, TenantOptions};

/// A delivery whose reply failed the invocation (the handler handed the task back).
fn failed(record: &lcw_emulator::functions_host::InvocationRecord) -> bool {
    !record.succeeded && record.handler_status == Some(500)
}

async fn outage_then_recovery(outage: IdentityOutage) {
    let harness = Harness::start(stock_binary(), &[]).await;
    harness.tenant.set_identity_outage(Some(outage)).await;
    let callout = harness.joiners(1).remove(0);
    let id = &callout.task_processing_result_id;
    assert_eq!(harness.send(&callout).await.status, 202);

    // The first delivery ends by itself, within its retry window, as a failed invocation…
    let first = harness.wait_for_deliveries(id, 1, failed).await.remove(0);
    assert_eq!(first.dequeue_count, Some(1));
    harness
        .wait_for_log("could not get a token for Microsoft Graph", 1)
        .await;
    // …and the host delivers the message again.
    harness
        .wait_for_deliveries(id, 1, |r| r.dequeue_count == Some(2))
        .await;
    assert!(harness.tenant.resumes().is_empty(), "no token, no resume");

    harness.tenant.set_identity_outage(None).await;
    harness.settle().await;
    assert_resumed_once(&harness, id, "completed");
    let deliveries = harness.deliveries_for(id);
    let resumed_by = deliveries
        .iter()
        .find(|r| r.succeeded)
        .expect("one succeeded");
    assert!(
        resumed_by.dequeue_count >= Some(2),
        "resumed by a redelivery: {deliveries:#?}"
    );
    assert!(harness.poison().is_empty());
    assert_eq!(harness.tenant.token_fetches(), 1);
    let logs = harness.host.handler_stdout().join("\n");
    assert!(
        !logs.contains("access_token"),
        "no token response is ever logged"
    );
    harness.stop().await;
}

#[tokio::test]
async fn an_identity_endpoint_answering_503_fails_the_delivery_and_a_redelivery_resumes_once() {
    test_body(
        "503 identity outage",
        outage_then_recovery(IdentityOutage::Status(503)),
    )
    .await;
}

#[tokio::test]
async fn an_identity_endpoint_refusing_connections_fails_the_delivery_and_a_redelivery_resumes_once()
 {
    test_body(
        "refused identity outage",
        outage_then_recovery(IdentityOutage::Refused),
    )
    .await;
}

#[tokio::test]
async fn a_revoked_token_is_renewed_once_and_the_task_resumed_in_the_same_delivery() {
    test_body("401 once", async {
        let harness = Harness::start(stock_binary(), &[]).await;
        let warm_up = harness.joiners(1).remove(0);
        assert_eq!(harness.send(&warm_up).await.status, 202);
        harness.settle().await;
        assert_eq!(harness.tenant.token_fetches(), 1, "one token so far");

        // Graph no longer accepts the cached token: only a newly fetched one works.
        harness.tenant.revoke_tokens();
        let callout = harness.joiners(1).remove(0);
        let id = &callout.task_processing_result_id;
        assert_eq!(harness.send(&callout).await.status, 202);
        harness.settle().await;

        let resumes = assert_resumed_once(&harness, id, "completed");
        let statuses: Vec<u16> = resumes.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [401, 204], "one refused request, one retry");
        assert_eq!(harness.tenant.token_fetches(), 2, "exactly one extra fetch");
        let deliveries = harness.deliveries_for(id);
        assert_eq!(deliveries.len(), 1, "no redelivery: {deliveries:#?}");
        assert!(deliveries[0].succeeded);
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_401_that_persists_after_renewal_is_handed_back_and_ends_in_poison_not_deleted() {
    test_body("401 forever", async {
        let harness = Harness::start(stock_binary(), &[]).await;
        let callout = harness
            .run_with_graph_answering(vec![ScriptedResponse::status(401); 1000])
            .await;
        let id = &callout.task_processing_result_id;
        let deliveries = harness.deliveries_for(id);
        assert_eq!(deliveries.len(), common::MAX_ATTEMPTS, "{deliveries:#?}");
        assert!(deliveries.iter().all(failed), "{deliveries:#?}");
        assert_eq!(harness.poison().len(), 1, "the task is visible, not lost");
        // One renewal per delivery, never one per request.
        assert_eq!(
            harness.tenant.token_fetches(),
            1 + common::MAX_ATTEMPTS,
            "{} resume requests",
            harness.resumes_for(id).len()
        );
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_403_while_authorized_apps_propagates_is_retried_until_graph_accepts() {
    test_body("403 for a while", async {
        let harness = Harness::start(stock_binary(), &[]).await;
        let callout = harness
            .run_with_graph_answering(vec![ScriptedResponse::status(403); 3])
            .await;
        let id = &callout.task_processing_result_id;
        let resumes = assert_resumed_once(&harness, id, "completed");
        let statuses: Vec<u16> = resumes.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [403, 403, 403, 204]);
        assert!(harness.poison().is_empty());
        assert_eq!(
            harness.tenant.token_fetches(),
            1,
            "a 403 is not a token problem"
        );
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_403_forever_ends_in_poison_with_an_error_naming_authorized_apps_and_the_client_id() {
    test_body("403 forever", async {
        const CLIENT_ID: &str = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";
        let harness = Harness::start_with(
            stock_binary(),
            &[("AZURE_CLIENT_ID", CLIENT_ID)],
            TenantOptions {
                user_assigned_client_ids: vec![CLIENT_ID.to_owned()],
                ..TenantOptions::default()
            },
        )
        .await;
        let callout = harness
            .run_with_graph_answering(vec![ScriptedResponse::status(403); 1000])
            .await;
        let id = &callout.task_processing_result_id;
        let deliveries = harness.deliveries_for(id);
        assert_eq!(deliveries.len(), common::MAX_ATTEMPTS, "{deliveries:#?}");
        assert!(deliveries.iter().all(failed), "handed back every time");
        let poison = harness.poison();
        assert_eq!(poison.len(), 1, "in the poison queue, never dropped");
        assert!(poison[0].contains(id.as_str()));
        assert!(
            harness.resumes_for(id).iter().all(|r| r.status == 403),
            "never resumed"
        );

        harness.wait_for_log("authorizedApps", 1).await;
        let errors: Vec<serde_json::Value> = harness
            .log_lines()
            .into_iter()
            .filter(|l| {
                l["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("callbackConfiguration.authorizedApps"))
            })
            .collect();
        assert_eq!(
            errors.len(),
            1,
            "said once, on the last attempt: {errors:#?}"
        );
        assert_eq!(errors[0]["level"], "ERROR");
        assert_eq!(
            errors[0]["fields"]["managed_identity_client_id"], CLIENT_ID,
            "{:#}",
            errors[0]
        );
        assert!(
            errors[0]["fields"]["message"]
                .as_str()
                .unwrap()
                .contains("AZURE_CLIENT_ID")
        );
        harness.stop().await;
    })
    .await;
}

/// The bound on waiting for the identity is the task's own retry window, not the SDK's: with
/// a slow endpoint, the delivery still ends (failed) and the next one resumes.
#[tokio::test]
async fn a_slow_identity_endpoint_does_not_hold_a_delivery_past_its_retry_window() {
    test_body("slow identity endpoint", async {
        let harness = Harness::start(stock_binary(), &[]).await;
        harness
            .tenant
            .set_identity_outage(Some(IdentityOutage::Slow(SETTLE * 10)))
            .await;
        let callout = harness.joiners(1).remove(0);
        let id = &callout.task_processing_result_id;
        assert_eq!(harness.send(&callout).await.status, 202);
        let first = harness.wait_for_deliveries(id, 1, failed).await.remove(0);
        assert_eq!(first.dequeue_count, Some(1));
        harness.tenant.set_identity_outage(None).await;
        harness.settle().await;
        assert_resumed_once(&harness, id, "completed");
        harness.stop().await;
    })
    .await;
}
