//! The tenant stand-in over real sockets, with reqwest as an independent client.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lcw_emulator::tenant::{
    CalloutManager, CalloutSpec, CalloutSubject, CalloutTask, CalloutWorkflow, IdentityOutage,
    ScriptedResponse, TenantEmulator, TenantOptions,
};
use lcw_emulator::time_limit::test_body;
use serde_json::{Value, json};

const GRAPH: &str = "https://graph.microsoft.com";
const WAIT: Duration = Duration::from_secs(10);
const RESUME_BODY: &str =
    r#"{"data":{"operationStatus":"completed"},"source":"lcw-handler","type":"lifecycleEvent"}"#;

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The request `azure_identity` 1.0 sends on App Service: lower-case header names,
/// `metadata: true`, the scope minus `/.default` as `resource`.
async fn fetch_token(tenant: &TenantEmulator, query: &str) -> reqwest::Response {
    client()
        .get(format!("{}?{query}", tenant.identity_endpoint()))
        .header("x-identity-header", tenant.identity_header())
        .header("metadata", "true")
        .send()
        .await
        .unwrap()
}

async fn graph_token(tenant: &TenantEmulator) -> String {
    let response = fetch_token(tenant, &format!("api-version=2019-08-01&resource={GRAPH}")).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn resume_url(tenant: &TenantEmulator, version: &str, result_id: &str) -> String {
    format!(
        "{}/{version}/identityGovernance/lifecycleWorkflows/workflows/wf-1/tasks/task-1/taskProcessingResults/{result_id}/resume",
        tenant.graph_url()
    )
}

async fn resume(
    tenant: &TenantEmulator,
    token: Option<&str>,
    result_id: &str,
    body: &str,
) -> reqwest::Response {
    let mut request = client()
        .post(resume_url(tenant, "v1.0", result_id))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn token_endpoint_issues_graph_tokens_with_string_expiry() {
    test_body(
        "token_endpoint_issues_graph_tokens_with_string_expiry",
        async {
            let tenant = TenantEmulator::start(TenantOptions::default())
                .await
                .unwrap();
            let response =
                fetch_token(&tenant, &format!("resource={GRAPH}&api-version=2019-08-01")).await;
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["token_type"], "Bearer");
            assert_eq!(body["resource"], GRAPH);
            assert_eq!(
                body["client_id"],
                lcw_emulator::tenant::DEFAULT_MANAGED_IDENTITY_CLIENT_ID
            );
            let expires_on: u64 = body["expires_on"]
                .as_str()
                .expect("expires_on is a string")
                .parse()
                .unwrap();
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs();
            assert!(expires_on > now);
            assert!(!body["access_token"].as_str().unwrap().is_empty());
            assert_eq!(tenant.token_fetches(), 1);
            tenant.shutdown().await;
        },
    )
    .await;
}

#[tokio::test]
async fn token_endpoint_checks_the_identity_header() {
    test_body("token_endpoint_checks_the_identity_header", async {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .unwrap();
        let url = format!(
            "{}?resource={GRAPH}&api-version=2019-08-01",
            tenant.identity_endpoint()
        );
        let wrong = client()
            .get(&url)
            .header("X-IDENTITY-HEADER", "not-the-secret")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
        let body: Value = wrong.json().await.unwrap();
        assert!(body["message"].is_string());

        let missing = client().get(&url).send().await.unwrap();
        assert_eq!(missing.status(), 400);
        assert_eq!(tenant.token_fetches(), 0);
        tenant.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn token_endpoint_rejects_bad_api_version_and_missing_resource() {
    test_body(
        "token_endpoint_rejects_bad_api_version_and_missing_resource",
        async {
            let tenant = TenantEmulator::start(TenantOptions::default())
                .await
                .unwrap();
            let old =
                fetch_token(&tenant, &format!("resource={GRAPH}&api-version=2017-09-01")).await;
            assert_eq!(old.status(), 400);
            let body: Value = old.json().await.unwrap();
            assert_eq!(body["error"]["code"], "UnsupportedApiVersion");

            let no_resource = fetch_token(&tenant, "api-version=2019-08-01").await;
            assert_eq!(no_resource.status(), 400);
            assert_eq!(tenant.token_fetches(), 0);
            tenant.shutdown().await;
        },
    )
    .await;
}

#[tokio::test]
async fn user_assigned_identities_are_selected_by_client_id() {
    test_body(
        "user_assigned_identities_are_selected_by_client_id",
        async {
            let options = TenantOptions {
                user_assigned_client_ids: vec!["11111111-2222-3333-4444-555555555555".to_owned()],
                ..TenantOptions::default()
            };
            let tenant = TenantEmulator::start(options).await.unwrap();
            let known = fetch_token(
        &tenant,
        &format!(
            "api-version=2019-08-01&resource={GRAPH}&client_id=11111111-2222-3333-4444-555555555555"
        ),
    )
    .await;
            assert_eq!(known.status(), 200);
            let body: Value = known.json().await.unwrap();
            assert_eq!(body["client_id"], "11111111-2222-3333-4444-555555555555");

            let unknown = fetch_token(
        &tenant,
        &format!(
            "api-version=2019-08-01&resource={GRAPH}&client_id=99999999-0000-0000-0000-000000000000"
        ),
    )
    .await;
            assert_eq!(unknown.status(), 400);
            let body: Value = unknown.json().await.unwrap();
            assert_eq!(body["statusCode"], 400);
            assert_eq!(
                body["message"],
                "Unable to load the proper Managed Identity."
            );
            assert!(body["correlationId"].is_string());
            assert_eq!(tenant.token_fetches(), 1);
            tenant.shutdown().await;
        },
    )
    .await;
}

#[tokio::test]
async fn valid_resume_is_204_and_recorded() {
    test_body("valid_resume_is_204_and_recorded", async {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .unwrap();
        let token = graph_token(&tenant).await;
        let response = client()
            .post(resume_url(&tenant, "v1.0", "tpr-1"))
            .bearer_auth(&token)
            .header("client-request-id", "my-correlation")
            .header("content-type", "application/json")
            .body(RESUME_BODY)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
        assert!(response.headers().contains_key("request-id"));
        assert_eq!(response.headers()["client-request-id"], "my-correlation");

        let resumes = tenant.resumes();
        assert_eq!(resumes.len(), 1);
        let resume = &resumes[0];
        assert_eq!(resume.api_version, "v1.0");
        assert_eq!(resume.workflow_id, "wf-1");
        assert_eq!(resume.task_id, "task-1");
        assert_eq!(resume.task_processing_result_id, "tpr-1");
        assert_eq!(resume.operation_status.as_deref(), Some("completed"));
        assert_eq!(resume.body["source"], "lcw-handler");
        assert!(resume.authorized);
        assert_eq!(resume.status, 204);
        tenant.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn sdk_form_under_beta_is_accepted() {
    test_body("sdk_form_under_beta_is_accepted", async {
    let tenant = TenantEmulator::start(TenantOptions::default())
        .await
        .unwrap();
    let token = graph_token(&tenant).await;
    let url = format!(
        "{}/beta/identityGovernance/lifecycleWorkflows/workflows/w/tasks/t/taskProcessingResults/r/microsoft.graph.identityGovernance.resume",
        tenant.graph_url()
    );
    let response = client()
        .post(url)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(RESUME_BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(tenant.resumes()[0].api_version, "beta");
    tenant.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn resume_without_valid_token_is_401() {
    test_body("resume_without_valid_token_is_401", async {
        let options = TenantOptions {
            token_lifetime: Duration::ZERO,
            ..TenantOptions::default()
        };
        let tenant = TenantEmulator::start(options).await.unwrap();

        let none = resume(&tenant, None, "tpr-1", RESUME_BODY).await;
        assert_eq!(none.status(), 401);
        assert!(none.headers().contains_key("request-id"));
        let body: Value = none.json().await.unwrap();
        assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");

        let forged = resume(&tenant, Some("forged"), "tpr-1", RESUME_BODY).await;
        assert_eq!(forged.status(), 401);

        let expired = graph_token(&tenant).await;
        let response = resume(&tenant, Some(&expired), "tpr-1", RESUME_BODY).await;
        assert_eq!(
            response.status(),
            401,
            "a zero-lifetime token is already expired"
        );

        let vault = fetch_token(
            &tenant,
            "api-version=2019-08-01&resource=https://vault.azure.net",
        )
        .await;
        let vault: Value = vault.json().await.unwrap();
        let wrong_audience = resume(
            &tenant,
            vault["access_token"].as_str(),
            "tpr-1",
            RESUME_BODY,
        )
        .await;
        assert_eq!(wrong_audience.status(), 401);

        let resumes = tenant.resumes();
        assert_eq!(resumes.len(), 4);
        assert!(resumes.iter().all(|r| !r.authorized && r.status == 401));
        tenant.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn wrong_audience_token_is_401_even_when_unexpired() {
    test_body("wrong_audience_token_is_401_even_when_unexpired", async {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .unwrap();
        let vault = fetch_token(
            &tenant,
            "api-version=2019-08-01&resource=https://vault.azure.net",
        )
        .await;
        let vault: Value = vault.json().await.unwrap();
        let response = resume(
            &tenant,
            vault["access_token"].as_str(),
            "tpr-1",
            RESUME_BODY,
        )
        .await;
        assert_eq!(response.status(), 401);
        tenant.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn malformed_resume_body_is_400_naming_the_problem() {
    test_body("malformed_resume_body_is_400_naming_the_problem", async {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .unwrap();
        let token = graph_token(&tenant).await;
        for (body, needle) in [
            ("not json", "JSON object"),
            (r#"{"source":"s","type":"t"}"#, "data"),
            (
                r#"{"data":{"operationStatus":"done"},"source":"s","type":"t"}"#,
                "operationStatus",
            ),
            (
                r#"{"data":{"operationStatus":"failed"},"type":"t"}"#,
                "source",
            ),
        ] {
            let response = resume(&tenant, Some(&token), "tpr-1", body).await;
            assert_eq!(response.status(), 400, "{body}");
            let error: Value = response.json().await.unwrap();
            let message = error["error"]["message"].as_str().unwrap();
            assert!(message.contains(needle), "{body}: {message}");
        }
        let good = resume(&tenant, Some(&token), "tpr-1", RESUME_BODY).await;
        assert_eq!(
            good.status(),
            204,
            "rejected bodies do not consume the resume"
        );
        tenant.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn repeat_resume_is_400() {
    test_body("repeat_resume_is_400", async {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .unwrap();
        let token = graph_token(&tenant).await;
        assert_eq!(
            resume(&tenant, Some(&token), "tpr-1", RESUME_BODY)
                .await
                .status(),
            204
        );
        let repeat = resume(&tenant, Some(&token), "tpr-1", RESUME_BODY).await;
        assert_eq!(repeat.status(), 400);
        let error: Value = repeat.json().await.unwrap();
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("already resumed")
        );
        assert_eq!(
            tenant
                .resumes()
                .iter()
                .map(|r| r.status)
                .collect::<Vec<_>>(),
            vec![204, 400]
        );
        tenant.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn scripted_throttle_then_normal_behaviour() {
    test_body("scripted_throttle_then_normal_behaviour", async {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .unwrap();
        tenant.script_resume(
            "tpr-1",
            vec![
                ScriptedResponse::throttled(2),
                ScriptedResponse::status(503),
            ],
        );
        let token = graph_token(&tenant).await;

        let first = resume(&tenant, Some(&token), "tpr-1", RESUME_BODY).await;
        assert_eq!(first.status(), 429);
        assert_eq!(first.headers()["retry-after"], "2");
        let error: Value = first.json().await.unwrap();
        assert_eq!(error["error"]["code"], "TooManyRequests");

        assert_eq!(
            resume(&tenant, Some(&token), "tpr-1", RESUME_BODY)
                .await
                .status(),
            503
        );
        assert_eq!(
            resume(&tenant, Some(&token), "tpr-1", RESUME_BODY)
                .await
                .status(),
            204
        );
        assert!(tenant.wait_for_resumes(3, WAIT).await);
        assert_eq!(
            tenant
                .resumes()
                .iter()
                .map(|r| r.status)
                .collect::<Vec<_>>(),
            vec![429, 503, 204]
        );
        tenant.shutdown().await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn slow_script_delays_then_answers_normally() {
    let tenant = TenantEmulator::start(TenantOptions::default())
        .await
        .unwrap();
    tenant.script_resume(
        "tpr-1",
        vec![ScriptedResponse::slow(Duration::from_secs(60))],
    );
    let token = graph_token(&tenant).await;
    let response = resume(&tenant, Some(&token), "tpr-1", RESUME_BODY).await;
    assert_eq!(response.status(), 204);
    tenant.shutdown().await;
}

#[tokio::test]
async fn full_throttle_share_throttles_every_resume() {
    test_body("full_throttle_share_throttles_every_resume", async {
        let options = TenantOptions {
            throttle_share: 1.0,
            throttle_retry_after_secs: 5,
            ..TenantOptions::default()
        };
        let tenant = TenantEmulator::start(options).await.unwrap();
        let token = graph_token(&tenant).await;
        for _ in 0..3 {
            let response = resume(&tenant, Some(&token), "tpr-1", RESUME_BODY).await;
            assert_eq!(response.status(), 429);
            assert_eq!(response.headers()["retry-after"], "5");
        }
        tenant.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn wait_for_resumes_times_out_without_resumes() {
    test_body("wait_for_resumes_times_out_without_resumes", async {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .unwrap();
        assert!(!tenant.wait_for_resumes(1, Duration::from_millis(50)).await);
        assert!(tenant.wait_for_resumes(0, Duration::from_millis(50)).await);
        tenant.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn unknown_graph_route_is_odata_404() {
    test_body("unknown_graph_route_is_odata_404", async {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .unwrap();
        let response = client()
            .get(format!("{}/v1.0/me", tenant.graph_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        assert!(response.headers().contains_key("request-id"));
        assert!(response.headers().contains_key("client-request-id"));
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["code"].is_string());
        assert!(body["error"]["message"].is_string());
        tenant.shutdown().await;
    })
    .await;
}

fn spec(launch_and_wait: bool, with_optional: bool) -> CalloutSpec {
    CalloutSpec {
        subject: CalloutSubject {
            id: "user-1".into(),
            display_name: "Adele Vance".into(),
            user_principal_name: "adele.vance@contoso.example".into(),
            mail: with_optional.then(|| "adele.vance@contoso.example".to_owned()),
            manager: with_optional.then(|| CalloutManager {
                id: "mgr-1".into(),
                display_name: "Miriam Graham".into(),
                mail: Some("miriam.graham@contoso.example".into()),
            }),
        },
        workflow: CalloutWorkflow {
            id: "wf-1".into(),
            display_name: "Onboard".into(),
            version: 3,
        },
        task: CalloutTask {
            id: "task-1".into(),
            display_name: "Run a Custom Task Extension".into(),
        },
        task_processing_result_id: "tpr-1".into(),
        created_date_time: "2026-01-05T08:00:00Z".into(),
        launch_and_wait,
    }
}

#[tokio::test]
async fn callout_has_callback_path_only_when_launch_and_wait() {
    test_body("callout_has_callback_path_only_when_launch_and_wait", async {
    let tenant = TenantEmulator::start(TenantOptions::default())
        .await
        .unwrap();
    let lcw = tenant.lcw();

    let wait = lcw.callout(spec(true, true));
    let body: Value = serde_json::from_str(&wait.body).unwrap();
    assert_eq!(
        body["data"]["callbackUriPath"],
        "/identityGovernance/lifecycleWorkflows/workflows/wf-1/tasks/task-1/taskProcessingResults/tpr-1/resume"
    );
    assert_eq!(
        wait.callback_uri_path.as_deref(),
        body["data"]["callbackUriPath"].as_str()
    );
    assert_eq!(
        body["data"]["subject"]["email"],
        "adele.vance@contoso.example"
    );
    assert_eq!(
        body["data"]["subject"]["manager"],
        json!({"id": "mgr-1", "displayName": "Miriam Graham", "email": "miriam.graham@contoso.example"})
    );
    assert_eq!(body["data"]["taskProcessingResult"]["id"], "tpr-1");
    assert_eq!(
        body["data"]["taskProcessingResult"]["createdDateTime"],
        "2026-01-05T08:00:00Z"
    );
    assert_eq!(body["data"]["workflow"]["workflowVersion"], 3);
    assert_eq!(body["data"]["task"]["id"], "task-1");
    assert!(body["source"].is_string() && body["type"].is_string());
    assert_eq!(wait.task_processing_result_id, "tpr-1");
    assert_eq!(
        wait.headers,
        vec![("Content-Type".to_owned(), "application/json".to_owned())]
    );

    let go = lcw.callout(spec(false, false));
    let body: Value = serde_json::from_str(&go.body).unwrap();
    assert!(body["data"].get("callbackUriPath").is_none());
    assert!(go.callback_uri_path.is_none());
    assert!(body["data"]["subject"].get("email").is_none());
    assert!(body["data"]["subject"].get("manager").is_none());

    let signed = lcw
        .clone()
        .with_authorization("PoP abc")
        .callout(spec(true, false));
    assert!(
        signed
            .headers
            .contains(&("Authorization".to_owned(), "PoP abc".to_owned()))
    );
    tenant.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn joiner_wave_is_plausible_and_varied() {
    test_body("joiner_wave_is_plausible_and_varied", async {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .unwrap();
        let wave = tenant.lcw().joiner_wave(12);
        assert_eq!(wave.len(), 12);
        let bodies: Vec<Value> = wave
            .iter()
            .map(|c| serde_json::from_str(&c.body).unwrap())
            .collect();
        let workflow = &bodies[0]["data"]["workflow"]["id"];
        assert!(
            bodies
                .iter()
                .all(|b| &b["data"]["workflow"]["id"] == workflow)
        );
        assert!(
            bodies
                .iter()
                .all(|b| b["data"]["task"]["displayName"] == "Run a Custom Task Extension")
        );
        assert!(
            bodies
                .iter()
                .all(|b| b["data"]["callbackUriPath"].is_string())
        );
        let mut ids: Vec<&str> = wave
            .iter()
            .map(|c| c.task_processing_result_id.as_str())
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 12, "fresh ids per callout");
        let upns: Vec<&str> = bodies
            .iter()
            .map(|b| b["data"]["subject"]["userPrincipalName"].as_str().unwrap())
            .collect();
        assert!(upns.iter().all(|u| u.ends_with("@contoso.example")));
        let mut unique = upns.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 12);
        assert!(
            bodies
                .iter()
                .any(|b| b["data"]["subject"].get("email").is_none())
        );
        assert!(
            bodies
                .iter()
                .any(|b| b["data"]["subject"].get("manager").is_none())
        );
        assert!(
            bodies
                .iter()
                .any(|b| b["data"]["subject"]["manager"]["email"].is_string())
        );
        let again = tenant.lcw().joiner_wave(12);
        let first_upn = |c: &lcw_emulator::tenant::Callout| {
            serde_json::from_str::<Value>(&c.body).unwrap()["data"]["subject"]["userPrincipalName"]
                .clone()
        };
        assert_eq!(
            first_upn(&wave[5]),
            first_upn(&again[5]),
            "names are deterministic"
        );
        tenant.shutdown().await;
    })
    .await;
}

/// A token request that may fail at the connection level.
async fn try_fetch_token(tenant: &TenantEmulator) -> Result<reqwest::Response, reqwest::Error> {
    client()
        .get(format!(
            "{}?api-version=2019-08-01&resource={GRAPH}",
            tenant.identity_endpoint()
        ))
        .header("x-identity-header", tenant.identity_header())
        .header("metadata", "true")
        .send()
        .await
}

#[tokio::test]
async fn identity_outage_answers_5xx_until_it_ends_while_graph_keeps_answering() {
    test_body(
        "identity_outage_answers_5xx_until_it_ends_while_graph_keeps_answering",
        async {
            let tenant = TenantEmulator::start(TenantOptions::default())
                .await
                .unwrap();
            let token = graph_token(&tenant).await;
            tenant.set_identity_available(false).await;
            let down = try_fetch_token(&tenant).await.expect("the service answers");
            assert_eq!(down.status(), 503);
            let body: Value = down.json().await.unwrap();
            assert_eq!(body["statusCode"], 503, "App Service's error shape: {body}");
            // Graph is another service: a token issued before the outage still works.
            assert_eq!(
                resume(&tenant, Some(&token), "during-outage", RESUME_BODY)
                    .await
                    .status(),
                204
            );
            tenant
                .set_identity_outage(Some(IdentityOutage::Status(500)))
                .await;
            assert_eq!(try_fetch_token(&tenant).await.unwrap().status(), 500);
            tenant.set_identity_available(true).await;
            assert_eq!(try_fetch_token(&tenant).await.unwrap().status(), 200);
            assert_eq!(tenant.identity_requests(), 4, "every request is counted");
            assert_eq!(tenant.token_fetches(), 2, "only issued tokens are fetches");
            tenant.shutdown().await;
        },
    )
    .await;
}

#[tokio::test]
async fn identity_outage_can_refuse_connections_then_serve_on_the_same_port() {
    test_body(
        "identity_outage_can_refuse_connections_then_serve_on_the_same_port",
        async {
            let tenant = TenantEmulator::start(TenantOptions::default())
                .await
                .unwrap();
            assert_eq!(try_fetch_token(&tenant).await.unwrap().status(), 200);
            tenant
                .set_identity_outage(Some(IdentityOutage::Refused))
                .await;
            let refused = try_fetch_token(&tenant).await.unwrap_err();
            assert!(refused.is_connect(), "refused, not answered: {refused}");
            assert!(try_fetch_token(&tenant).await.unwrap_err().is_connect());
            assert_eq!(
                tenant.identity_requests(),
                1,
                "a refused connection is never a request"
            );
            tenant.set_identity_outage(None).await;
            let back = try_fetch_token(&tenant).await.unwrap();
            assert_eq!(
                back.status(),
                200,
                "same endpoint, same port, serving again"
            );
            tenant.shutdown().await;
        },
    )
    .await;
}

#[tokio::test]
async fn identity_script_fails_the_next_requests_then_the_service_recovers() {
    test_body(
        "identity_script_fails_the_next_requests_then_the_service_recovers",
        async {
            let tenant = TenantEmulator::start(TenantOptions::default())
                .await
                .unwrap();
            tenant.script_identity(vec![
                ScriptedResponse::status(500),
                ScriptedResponse::status(502),
            ]);
            assert_eq!(try_fetch_token(&tenant).await.unwrap().status(), 500);
            assert_eq!(try_fetch_token(&tenant).await.unwrap().status(), 502);
            assert_eq!(try_fetch_token(&tenant).await.unwrap().status(), 200);
            assert_eq!(tenant.token_fetches(), 1);
            tenant.shutdown().await;
        },
    )
    .await;
}

#[tokio::test]
async fn a_slow_identity_endpoint_answers_late() {
    test_body("a_slow_identity_endpoint_answers_late", async {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .unwrap();
        tenant
            .set_identity_outage(Some(IdentityOutage::Slow(Duration::from_secs(30))))
            .await;
        let impatient = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let error = impatient
            .get(format!(
                "{}?api-version=2019-08-01&resource={GRAPH}",
                tenant.identity_endpoint()
            ))
            .header("x-identity-header", tenant.identity_header())
            .send()
            .await
            .expect_err("no answer within 200 ms of a 30 s delay");
        assert!(error.is_timeout(), "{error}");
        tenant.set_identity_outage(None).await;
        assert_eq!(try_fetch_token(&tenant).await.unwrap().status(), 200);
        tenant.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn revoked_tokens_get_401_and_a_fresh_token_works() {
    test_body("revoked_tokens_get_401_and_a_fresh_token_works", async {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .unwrap();
        let old = graph_token(&tenant).await;
        tenant.revoke_tokens();
        let refused = resume(&tenant, Some(&old), "revoked", RESUME_BODY).await;
        assert_eq!(refused.status(), 401);
        let fresh = graph_token(&tenant).await;
        assert_eq!(
            resume(&tenant, Some(&fresh), "revoked", RESUME_BODY)
                .await
                .status(),
            204
        );
        tenant.shutdown().await;
    })
    .await;
}
