//! Size limits through the real binary under the host emulator: an oversized callout is
//! answered `413` with a JSON reason LCW sees as a client error (not the `500` the host makes
//! of a plain-text refusal), a callout whose work item would not fit a Storage queue message is
//! refused at accept, and nothing is enqueued either way.

mod common;

use common::{CALLOUT_PATH, Harness, assert_resumed_once, stock_binary, test_body};
use lcw_emulator::functions_host::{HttpRequest, HttpResponse};
use lcw_emulator::tenant::Callout;
use lcw_handler::config::Config;
use lcw_handler::work_item::WORK_ITEM_BUDGET;
use serde_json::Value;
use time::OffsetDateTime;

/// The signed callout with an extra top-level field of `pad` bytes: legal (unknown fields are
/// kept and ignored), authenticated, just large.
fn padded(callout: &Callout, pad: usize) -> HttpRequest {
    let mut body: Value = serde_json::from_str(&callout.body).unwrap();
    body["padding"] = "x".repeat(pad).into();
    let mut request = callout.http_request(CALLOUT_PATH);
    request.body = serde_json::to_vec(&body).unwrap();
    request
}

fn error_of(response: &HttpResponse) -> Value {
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "a JSON answer: {response:?}"
    );
    let body: Value = serde_json::from_slice(&response.body).unwrap();
    body["error"].clone()
}

/// Asserts the `callout` invocation itself succeeded: the host delivered our answer rather
/// than turning a failed invocation into a `500`.
fn assert_callout_invocations_succeeded(harness: &Harness) {
    let callouts: Vec<_> = harness
        .host
        .invocations()
        .into_iter()
        .filter(|r| r.function == "callout")
        .collect();
    assert!(!callouts.is_empty());
    assert!(callouts.iter().all(|r| r.succeeded), "{callouts:#?}");
}

#[tokio::test]
async fn a_ten_megabyte_callout_gets_a_json_413_through_the_host_and_nothing_is_enqueued() {
    test_body("10 MB callout", async {
        let harness = Harness::start(stock_binary(), &[]).await;
        let callout = harness.joiners(1).remove(0);
        let response = harness
            .send_request(padded(&callout, 10 * 1024 * 1024))
            .await;
        assert_eq!(response.status, 413, "{response:?}");
        let error = error_of(&response);
        assert_eq!(error["code"], "callout_too_large");
        assert_eq!(error["limit"], 256 * 1024);
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("LCW_MAX_CALLOUT_BYTES"),
            "{error}"
        );
        assert_callout_invocations_succeeded(&harness);
        harness.settle().await;
        harness.assert_nothing_processed();
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_one_megabyte_callout_is_refused_at_accept_naming_the_limit_it_exceeds() {
    test_body("1 MB callout", async {
        // Under the default limit the callout limit answers…
        let harness = Harness::start(stock_binary(), &[]).await;
        let callout = harness.joiners(1).remove(0);
        let response = harness.send_request(padded(&callout, 1024 * 1024)).await;
        assert_eq!(response.status, 413);
        assert_eq!(error_of(&response)["code"], "callout_too_large");
        harness.settle().await;
        harness.assert_nothing_processed();
        harness.stop().await;

        // …and with the callout limit raised, the queue's limit still does.
        let harness = Harness::start(stock_binary(), &[("LCW_MAX_CALLOUT_BYTES", "2097152")]).await;
        let callout = harness.joiners(1).remove(0);
        let response = harness.send_request(padded(&callout, 1024 * 1024)).await;
        assert_eq!(response.status, 413);
        let error = error_of(&response);
        assert_eq!(error["code"], "work_item_too_large");
        assert_eq!(error["limit"], WORK_ITEM_BUDGET);
        assert!(
            error["message"].as_str().unwrap().contains("65536"),
            "names the Storage queue message limit: {error}"
        );
        assert_callout_invocations_succeeded(&harness);
        harness.settle().await;
        harness.assert_nothing_processed();
        harness.stop().await;
    })
    .await;
}

/// The padding whose work item, accepted at `now`, is `WORK_ITEM_BUDGET` bytes. The times'
/// text (hence the size) depends on their fraction of a second, which a test through the
/// binary cannot choose; so "under" is computed with the longest fraction and "over" with
/// none, and each holds whenever the handler accepts the callout.
fn padding_at_budget(callout: &Callout, now: OffsetDateTime) -> usize {
    let config = Config::from_lookup(|name| (name == "LCW_AUTH").then(|| "none".to_owned()))
        .expect("defaults are valid");
    let request = padded(callout, 0);
    let (item, _) = lcw_handler::pipeline::accept(&request.body, now, &config).unwrap();
    WORK_ITEM_BUDGET - item.queued_size()
}

#[tokio::test]
async fn callouts_just_under_and_just_over_the_work_item_budget() {
    test_body("work item budget", async {
        let harness = Harness::start(stock_binary(), &[]).await;
        let longest = OffsetDateTime::now_utc()
            .replace_nanosecond(123_456_789)
            .unwrap();
        let shortest = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();

        let under = harness.joiners(1).remove(0);
        let pad = padding_at_budget(&under, longest);
        let response = harness.send_request(padded(&under, pad)).await;
        assert_eq!(response.status, 202, "{response:?}");

        let over = harness.joiners(1).remove(0);
        let pad = padding_at_budget(&over, shortest) + 1;
        let response = harness.send_request(padded(&over, pad)).await;
        assert_eq!(response.status, 413, "{response:?}");
        assert_eq!(error_of(&response)["code"], "work_item_too_large");

        harness.settle().await;
        // The one under the budget went through the queue (whose 64 KiB limit the host
        // emulator enforces) and was resumed; the other never reached it.
        assert_resumed_once(&harness, &under.task_processing_result_id, "completed");
        assert!(
            harness
                .deliveries_for(&over.task_processing_result_id)
                .is_empty()
        );
        assert!(
            harness
                .resumes_for(&over.task_processing_result_id)
                .is_empty()
        );
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn standalone_answers_an_oversized_callout_with_a_json_413_too() {
    test_body("standalone 413", async {
        let served = common::serve::Served::start(stock_binary(), &[]).await;
        let callout = served.lcw().joiner_wave(1).remove(0);
        let request = padded(&callout, 10 * 1024 * 1024);
        let response = served.post(&callout, request.body).await;
        assert_eq!(response.status(), 413);
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "callout_too_large");
        assert_eq!(body["error"]["limit"], 256 * 1024);

        // The same limit applies, and a callout of ordinary size still goes through.
        let ordinary = served.lcw().joiner_wave(1).remove(0);
        let response = served
            .post(&ordinary, ordinary.body.clone().into_bytes())
            .await;
        assert_eq!(response.status(), 202);
        assert!(served.tenant.wait_for_resumes(1, common::SETTLE).await);
        let resumes = served.tenant.resumes();
        assert_eq!(resumes.len(), 1, "only the ordinary callout was processed");
        assert_eq!(
            resumes[0].task_processing_result_id,
            ordinary.task_processing_result_id
        );
        served.stop().await;
    })
    .await;
}
