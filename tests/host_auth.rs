//! Caller authentication through the real binary under the host emulator: what LCW (or an
//! attacker) sees, and that a refused callout changes nothing.

mod common;

use common::{CALLOUT_PATH, Harness, assert_resumed_once, stock_binary, test_body};
use lcw_emulator::functions_host::{FunctionsHost, HostOptions, HttpRequest};
use lcw_emulator::tenant::{LcwAuth, TenantEmulator, TenantOptions};

fn with_authorization(
    callout: &lcw_emulator::tenant::Callout,
    authorization: Option<&str>,
) -> HttpRequest {
    let mut request = callout.http_request(CALLOUT_PATH);
    request
        .headers
        .retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
    if let Some(value) = authorization {
        request
            .headers
            .push(("Authorization".to_owned(), value.to_owned()));
    }
    request
}

fn authorization_of(callout: &lcw_emulator::tenant::Callout) -> String {
    callout
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.clone())
        .expect("the caller signs its callouts")
}

#[tokio::test]
async fn an_unauthenticated_callout_gets_401_and_nothing_is_enqueued() {
    test_body(
        "an_unauthenticated_callout_gets_401_and_nothing_is_enqueued",
        async {
            let harness = Harness::start(stock_binary(), &[]).await;
            let callout = harness.tenant.lcw().joiner_wave(1).remove(0);
            let response = harness
                .host
                .send(with_authorization(&callout, None))
                .await
                .unwrap();
            assert_eq!(response.status, 401);
            let challenge = response.header("www-authenticate").expect("a challenge");
            assert!(
                challenge.contains(r#"error_description="missing_authorization""#),
                "{challenge}"
            );
            let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
            assert_eq!(body["error"]["reason"], "missing_authorization");

            let bearer = harness
                .tenant
                .lcw()
                .with_auth(LcwAuth::BearerV1 {
                    audience: "api://lcw".to_owned(),
                })
                .joiner_wave(1)
                .remove(0);
            let response = harness.send(&bearer).await;
            assert_eq!(response.status, 401, "bearer is not enabled by default");

            harness.settle().await;
            harness.assert_nothing_processed();
            // Output is captured asynchronously: wait for the lines, then count them.
            harness
                .wait_for_log("callout refused: caller not authenticated", 2)
                .await;
            let refusals = harness
                .log_lines()
                .into_iter()
                .filter(|l| l["fields"]["message"] == "callout refused: caller not authenticated")
                .count();
            assert_eq!(refusals, 2, "each refusal is logged with its reason");
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn a_repeated_callout_is_acknowledged_once_and_a_replayed_nonce_is_refused() {
    test_body(
        "a_repeated_callout_is_acknowledged_once_and_a_replayed_nonce_is_refused",
        async {
            let harness = Harness::start(stock_binary(), &[]).await;
            let callouts = harness.joiners(2);
            let (first, second) = (&callouts[0], &callouts[1]);
            assert_eq!(harness.send(first).await.status, 202);
            // LCW retrying the very same request: same nonce, same callout.
            let again = harness.send(first).await;
            assert_eq!(again.status, 202, "a retry is acknowledged");
            // The first callout's signed request replayed with another callout's body.
            let replay = harness
                .host
                .send(with_authorization(second, Some(&authorization_of(first))))
                .await
                .unwrap();
            assert_eq!(replay.status, 401);
            assert!(
                replay
                    .header("www-authenticate")
                    .unwrap()
                    .contains("replayed_nonce")
            );
            harness.settle().await;
            assert_eq!(
                harness
                    .deliveries_for(&first.task_processing_result_id)
                    .len(),
                1,
                "enqueued once"
            );
            assert_resumed_once(&harness, &first.task_processing_result_id, "completed");
            assert!(
                harness
                    .resumes_for(&second.task_processing_result_id)
                    .is_empty()
            );
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn diagnostics_show_setup_claims_but_never_the_token() {
    test_body("diagnostics_show_setup_claims_but_never_the_token", async {
        let harness = Harness::start(
            stock_binary(),
            &[
                ("LCW_AUTH_DIAGNOSTICS", "1"),
                (
                    "LCW_POP_PATH",
                    "/subscriptions/other/resourceGroups/rg/providers/Microsoft.Logic/workflows/x",
                ),
            ],
        )
        .await;
        let callout = harness.joiners(1).remove(0);
        let response = harness.send(&callout).await;
        assert_eq!(response.status, 401);
        assert!(
            response
                .header("www-authenticate")
                .unwrap()
                .contains("invalid_path")
        );
        harness
            .wait_for_log("rejected token's setup claims", 1)
            .await;
        let stdout = harness.host.handler_stdout().join("\n");
        assert!(
            stdout.contains("management.azure.com"),
            "the u claim is shown for setup"
        );
        assert!(
            stdout.contains("https://sts.windows.net/"),
            "the issuer is shown for setup"
        );
        let header = authorization_of(&callout);
        let token = header.trim_start_matches("PoP ");
        let signature = token.rsplit('.').next().unwrap();
        assert!(
            !stdout.contains(token) && !stdout.contains(signature),
            "no token or signature in the log"
        );
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn lcw_auth_none_is_accepted_only_explicitly_and_warned_about() {
    test_body(
        "lcw_auth_none_is_accepted_only_explicitly_and_warned_about",
        async {
            let harness = Harness::start(stock_binary(), &[("LCW_AUTH", "none")]).await;
            let callout = harness.tenant.lcw().joiner_wave(1).remove(0);
            assert_eq!(
                harness
                    .host
                    .send(with_authorization(&callout, None))
                    .await
                    .unwrap()
                    .status,
                202
            );
            harness.settle().await;
            assert_resumed_once(&harness, &callout.task_processing_result_id, "completed");
            harness.wait_for_log("NOT authenticated", 1).await;
            let warned = harness.log_lines().into_iter().any(|l| {
                l["level"] == "WARN"
                    && l["fields"]["message"]
                        .as_str()
                        .unwrap_or("")
                        .contains("NOT authenticated")
            });
            assert!(warned, "LCW_AUTH=none is warned about at start");
            harness.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn a_scheme_missing_its_setting_stops_the_start_naming_it() {
    test_body(
        "a_scheme_missing_its_setting_stops_the_start_naming_it",
        async {
            let tenant = TenantEmulator::start(TenantOptions::default())
                .await
                .unwrap();
            let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            let mut options = HostOptions::new(&root);
            options.functions_dir = Some(root.join("function"));
            options.executable = Some(stock_binary());
            options.env = vec![
                ("LCW_TENANT_ID".to_owned(), tenant.tenant_id().to_owned()),
                ("LCW_AUTH".to_owned(), "pop,bearer".to_owned()),
                ("LCW_POP_PATH".to_owned(), "/subscriptions/x".to_owned()),
            ];
            let error = FunctionsHost::start(options)
                .await
                .expect_err("the handler must not start");
            assert!(error.to_string().contains("LCW_AUDIENCE"), "{error}");
        },
    )
    .await;
}
