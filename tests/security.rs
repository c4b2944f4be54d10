//! Breakages that mutation testing showed no other test would catch. Each test names the
//! mutation it exists for, and fails when that mutation is applied (the list, with how each
//! was checked, is in the commit that added this file).
//!
//! - the verified-token cache serving a token for another scheme (a PoP inner token reused as
//!   a bearer token, with `LCW_AUTH=pop,bearer`); its `exp` handling is covered by the
//!   cache's unit tests, where time is an input;
//! - failing open, or answering `401` instead of `503`, while the signing keys are unavailable;
//! - processing a task whose deadline has passed;
//! - standalone mode ignoring `LCW_MAX_ATTEMPTS`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::post;
use common::serve::Served;
use common::{Harness, assert_resumed_once, stock_binary, test_body};
use lcw_emulator::tenant::{
    CnfForm, DEFAULT_POP_HOST, DEFAULT_POP_PATH, PopRequest, SigningKey, TenantEmulator,
    TenantOptions, cnf,
};
use lcw_handler::auth::{Authenticator, Reason, Rejection};
use lcw_handler::config::{AuthSettings, Config, LIFECYCLE_WORKFLOWS_APP_ID};
use serde_json::{Value, json};
use time::OffsetDateTime;

const BEARER_AUDIENCE: &str = "api://lcw-handler";

fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Mutation: the verified-token cache ignores the scheme (its key leaves out the profile).
#[tokio::test]
async fn a_verified_pop_access_token_is_not_accepted_as_a_bearer_token() {
    test_body("pop token as bearer", async {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .unwrap();
        let auth = Authenticator::start(AuthSettings {
            pop: true,
            bearer: true,
            tenant_id: tenant.tenant_id().to_owned(),
            authority_url: tenant.authority_url(),
            pop_host: DEFAULT_POP_HOST.to_owned(),
            pop_path: Some(DEFAULT_POP_PATH.to_owned()),
            audiences: vec![BEARER_AUDIENCE.to_owned()],
            caller_app_ids: vec![LIFECYCLE_WORKFLOWS_APP_ID.to_owned()],
            diagnostics: false,
        });
        let minter = tenant.minter();
        let key = minter.lcw_caller_key();
        let at = minter.access_token(minter.pop_access_token_claims(cnf(&key, CnfForm::Kid)));
        let shr = minter.signed_http_request(
            &key,
            &PopRequest::post(at.clone(), DEFAULT_POP_HOST, DEFAULT_POP_PATH),
        );
        // The inner token passes, under PoP's expectations, and is remembered…
        let caller = auth
            .authenticate(Some(&format!("PoP {shr}")), unix_now())
            .await
            .expect("a genuine PoP callout passes");
        assert_eq!(caller.app_id, LIFECYCLE_WORKFLOWS_APP_ID);
        // …but presented bare, it is an ARM token, not one for this handler's audience.
        match auth
            .authenticate(Some(&format!("Bearer {at}")), unix_now())
            .await
        {
            Err(Rejection::Unauthorized(error)) => {
                assert_eq!(error.reason, Reason::InvalidAudience, "{error}")
            }
            other => panic!("a PoP inner token must not pass as a bearer token: {other:?}"),
        }
        tenant.shutdown().await;
    })
    .await;
}

/// Starts the handler against a tenant whose discovery and key endpoints answer `503`.
async fn harness_without_keys() -> Harness {
    let tenant = TenantEmulator::start(TenantOptions::default())
        .await
        .unwrap();
    tenant.set_keys_available(false);
    Harness::start_in(tenant, stock_binary(), &[]).await
}

/// Mutations: failing open while the signing keys are unavailable; answering `401` (which LCW
/// does not retry) instead of `503` + `Retry-After` (which it does).
#[tokio::test]
async fn without_signing_keys_a_callout_gets_503_and_nothing_is_enqueued() {
    test_body("keys unavailable", async {
        let harness = harness_without_keys().await;
        let genuine = harness.joiners(1).remove(0);
        let response = harness.send(&genuine).await;
        assert_eq!(response.status, 503, "{response:?}");
        assert_eq!(response.header("retry-after"), Some("1"));
        let body: Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["error"]["code"], "signing_keys_unavailable");

        // A forgery gets no further than the genuine caller.
        let minter = harness.tenant.minter();
        let key = minter.lcw_caller_key();
        let mut header = minter.access_token_header();
        header["kid"] = json!(minter.unpublished_kid());
        let forged_at = minter.sign(
            header,
            minter.pop_access_token_claims(cnf(&key, CnfForm::Kid)),
            &SigningKey::Unpublished,
        );
        let shr = minter.signed_http_request(
            &key,
            &PopRequest::post(forged_at, DEFAULT_POP_HOST, DEFAULT_POP_PATH),
        );
        let mut forged = harness
            .joiners(1)
            .remove(0)
            .http_request(common::CALLOUT_PATH);
        forged
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
        forged
            .headers
            .push(("Authorization".to_owned(), format!("PoP {shr}")));
        let response = harness.send_request(forged).await;
        assert_eq!(response.status, 503, "{response:?}");

        harness.settle().await;
        harness.assert_nothing_processed();
        harness.stop().await;
    })
    .await;
}

/// A work item accepted at `accepted_at` under a `PT5M` callback timeout, as the host would
/// queue it.
fn work_item(body: &str, accepted_at: OffsetDateTime) -> String {
    let config = Config::from_lookup(|name| match name {
        "LCW_AUTH" => Some("none".to_owned()),
        "LCW_CALLBACK_TIMEOUT" => Some("PT5M".to_owned()),
        _ => None,
    })
    .expect("valid settings");
    let (item, _) = lcw_handler::pipeline::accept(body.as_bytes(), accepted_at, &config)
        .expect("a valid callout");
    serde_json::to_string(&item.into_value()).unwrap()
}

/// Mutation: `process` skips the deadline check and runs (and resumes) a task Lifecycle
/// Workflows has already given up on.
#[tokio::test]
async fn a_task_past_its_deadline_is_neither_run_nor_resumed() {
    test_body("deadline passed", async {
        let harness = Harness::start(stock_binary(), &[]).await;
        let callouts = harness.joiners(2);
        let (late, timely) = (&callouts[0], &callouts[1]);
        let an_hour_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
        harness
            .host
            .enqueue("lcw-tasks", &work_item(&late.body, an_hour_ago));
        harness.host.enqueue(
            "lcw-tasks",
            &work_item(&timely.body, OffsetDateTime::now_utc()),
        );
        harness.settle().await;

        // The same path resumes a task within its deadline…
        assert_resumed_once(&harness, &timely.task_processing_result_id, "completed");
        // …and drops the late one with an error, without running it or calling Graph.
        assert!(
            harness
                .resumes_for(&late.task_processing_result_id)
                .is_empty()
        );
        let deliveries = harness.deliveries_for(&late.task_processing_result_id);
        assert_eq!(deliveries.len(), 1, "{deliveries:#?}");
        assert!(deliveries[0].succeeded, "deleted: nothing more can be done");
        harness.wait_for_log("deadline has passed", 1).await;
        assert!(harness.poison().is_empty());
        harness.stop().await;
    })
    .await;
}

/// A webhook receiver that answers every POST `503` with a `Retry-After` longer than any retry
/// window, so each attempt makes exactly one request; it records the bodies.
async fn unavailable_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route(
            "/",
            post(
                |State(seen): State<Arc<Mutex<Vec<Value>>>>, body: String| async move {
                    seen.lock()
                        .unwrap()
                        .push(serde_json::from_str(&body).unwrap_or_default());
                    let mut headers = HeaderMap::new();
                    headers.insert("retry-after", HeaderValue::from_static("3600"));
                    (StatusCode::SERVICE_UNAVAILABLE, headers)
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/"), seen)
}

/// Mutation: standalone mode ignores `LCW_MAX_ATTEMPTS` (and uses its default of 5). Written
/// against the binary in `serve` mode, so it holds whatever standalone's internals become.
#[tokio::test]
async fn standalone_makes_exactly_lcw_max_attempts_attempts_then_resumes_failed() {
    test_body("standalone attempts", async {
        let (webhook, seen) = unavailable_receiver().await;
        let served = Served::start(
            stock_binary(),
            &[
                ("LCW_MAX_ATTEMPTS", "2"),
                ("LCW_TASK", "webhook"),
                ("LCW_WEBHOOK_URL", &webhook),
                ("LCW_RETRY_WINDOW_SECONDS", "1"),
            ],
        )
        .await;
        let callout = served.lcw().joiner_wave(1).remove(0);
        let response = served
            .post(&callout, callout.body.clone().into_bytes())
            .await;
        assert_eq!(response.status(), 202);
        assert!(
            served
                .tenant
                .wait_for_resumes(1, Duration::from_secs(60))
                .await,
            "the last attempt resumes"
        );
        let resumes = served.tenant.resumes();
        assert_eq!(resumes.len(), 1);
        assert_eq!(resumes[0].operation_status.as_deref(), Some("failed"));
        let seen = seen.lock().unwrap().clone();
        let attempts: Vec<(u64, u64)> = seen
            .iter()
            .map(|b| {
                (
                    b["attempt"].as_u64().unwrap_or(0),
                    b["maxAttempts"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(
            attempts,
            [(1, 2), (2, 2)],
            "two attempts, each told it has two"
        );
        served.stop().await;
    })
    .await;
}
