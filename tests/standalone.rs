//! Standalone mode (`lcw-handler serve`): the same pipeline behind plain HTTP, with the
//! in-process worker pool standing in for the queue.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{example_binary, fresh_ledger, stock_binary, test_body};
use lcw_emulator::tenant::{DEFAULT_POP_PATH, LcwAuth, LcwCaller, TenantEmulator, TenantOptions};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

struct Server {
    child: Child,
    url: String,
    tenant: TenantEmulator,
}

async fn serve(binary: std::path::PathBuf, env: &[(&str, &str)]) -> Server {
    let tenant = TenantEmulator::start(TenantOptions::default())
        .await
        .unwrap();
    let mut command = Command::new(binary);
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("IDENTITY_ENDPOINT", tenant.identity_endpoint())
        .env("IDENTITY_HEADER", tenant.identity_header())
        .env("LCW_GRAPH_URL", tenant.graph_url())
        .env("LCW_RETRY_DELAY_SECONDS", "0")
        .env("LCW_TENANT_ID", tenant.tenant_id())
        .env("LCW_AUTHORITY_URL", tenant.authority_url())
        .env("LCW_POP_PATH", DEFAULT_POP_PATH)
        .env("LCW_LEDGER", fresh_ledger())
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let parsed: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if parsed["fields"]["message"] == "serving standalone" {
                return parsed["fields"]["listen"].as_str().unwrap().to_owned();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server starts listening");
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server {
        child,
        url: format!("http://{address}/api/lifecycle/callout"),
        tenant,
    }
}

impl Server {
    /// Lifecycle Workflows, signing with PoP.
    fn lcw(&self) -> LcwCaller {
        self.tenant
            .lcw()
            .with_auth(LcwAuth::Pop(self.tenant.pop_settings()))
    }
}

async fn post(url: &str, authorization: Option<String>, body: String) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json");
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    request.body(body).send().await.unwrap()
}

fn authorization(callout: &lcw_emulator::tenant::Callout) -> Option<String> {
    callout
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.clone())
}

#[tokio::test]
async fn accepts_with_202_and_resumes_through_the_worker_pool() {
    test_body(
        "accepts_with_202_and_resumes_through_the_worker_pool",
        async {
            let mut server = serve(stock_binary(), &[]).await;
            let callouts = server.lcw().joiner_wave(3);
            for callout in &callouts {
                let response =
                    post(&server.url, authorization(callout), callout.body.clone()).await;
                assert_eq!(response.status(), 202);
                assert!(response.bytes().await.unwrap().is_empty());
            }
            assert!(
                server
                    .tenant
                    .wait_for_resumes(3, Duration::from_secs(30))
                    .await
            );
            let resumes = server.tenant.resumes();
            for callout in &callouts {
                let mine: Vec<_> = resumes
                    .iter()
                    .filter(|r| r.task_processing_result_id == callout.task_processing_result_id)
                    .collect();
                assert_eq!(mine.len(), 1);
                assert_eq!(mine[0].operation_status.as_deref(), Some("completed"));
                assert_eq!(mine[0].status, 204);
            }
            assert_eq!(server.tenant.token_fetches(), 1);
            server.child.kill().await.unwrap();
        },
    )
    .await;
}

#[tokio::test]
async fn refuses_a_malformed_callout_with_400_naming_the_field() {
    test_body(
        "refuses_a_malformed_callout_with_400_naming_the_field",
        async {
            let mut server = serve(stock_binary(), &[]).await;
            let response = post(
                &server.url,
                server.lcw().authorization(),
                r#"{"data":{"workflow":{"id":"w"}}}"#.to_owned(),
            )
            .await;
            assert_eq!(response.status(), 400);
            let error: serde_json::Value = response.json().await.unwrap();
            assert_eq!(error["error"]["field"], "data.task.id");
            server.child.kill().await.unwrap();
        },
    )
    .await;
}

#[tokio::test]
async fn retries_then_resumes_failed_on_the_last_attempt() {
    test_body("retries_then_resumes_failed_on_the_last_attempt", async {
        let mut server = serve(
            example_binary("scripted_task"),
            &[("LCW_MAX_ATTEMPTS", "3")],
        )
        .await;
        let template = server.lcw().joiner_wave(1).remove(0);
        let mut spec = template.spec;
        spec.subject.display_name = "Broken Backend".to_owned();
        let callout = server.lcw().callout(spec);
        assert_eq!(
            post(&server.url, authorization(&callout), callout.body.clone())
                .await
                .status(),
            202
        );
        assert!(
            server
                .tenant
                .wait_for_resumes(1, Duration::from_secs(30))
                .await
        );
        let resumes = server.tenant.resumes();
        assert_eq!(resumes.len(), 1);
        assert_eq!(resumes[0].operation_status.as_deref(), Some("failed"));
        server.child.kill().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn refuses_an_unauthenticated_callout_with_401_and_enqueues_nothing() {
    test_body(
        "refuses_an_unauthenticated_callout_with_401_and_enqueues_nothing",
        async {
            let mut server = serve(stock_binary(), &[]).await;
            let callout = server.tenant.lcw().joiner_wave(1).remove(0);
            let response = post(&server.url, None, callout.body.clone()).await;
            assert_eq!(response.status(), 401);
            let challenge = response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                challenge.starts_with("PoP ") && challenge.contains("missing_authorization"),
                "{challenge}"
            );
            let error: serde_json::Value = response.json().await.unwrap();
            assert_eq!(error["error"]["reason"], "missing_authorization");
            assert!(
                !server
                    .tenant
                    .wait_for_resumes(1, Duration::from_millis(500))
                    .await,
                "nothing was processed"
            );
            server.child.kill().await.unwrap();
        },
    )
    .await;
}
