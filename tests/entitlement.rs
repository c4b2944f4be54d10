//! Entitlement Management callouts through the real binary under the Functions host emulator:
//! the `entitlement` function, its own caller list, the shared queue, each stage's resume as the
//! Graph fake records it, fire-and-forget stages, denials, dynamic approvers, the connection
//! test and Graph's bare `UnknownError`.

mod common;

use common::{CALLOUT_PATH, Harness, example_binary, stock_binary, test_body};
use lcw_emulator::tenant::{
    APPROVAL_STAGE, EntitlementCaller, EntitlementCallout, EntitlementSpec, LcwAuth,
    RecordedEntitlementResume,
};
use serde_json::Value;

/// The public route of the `entitlement` function.
const ENTITLEMENT_PATH: &str = "/api/entitlement/callout";
const APPROVER: &str = "7c1e4a52-0f3b-4a8e-9d6c-2b5f8e1a3c70";
const ESCALATION_APPROVER: &str = "9a3f6d21-8b4c-4e7a-b1d0-5c2e7f9a4b86";

fn em(harness: &Harness) -> EntitlementCaller {
    harness
        .tenant
        .entitlement()
        .with_auth(LcwAuth::Pop(harness.tenant.pop_settings()))
}

async fn send(harness: &Harness, callout: &EntitlementCallout) -> u16 {
    harness
        .send_request(callout.http_request(ENTITLEMENT_PATH))
        .await
        .status
}

fn spec(harness: &Harness, stage: &str, target: &str) -> EntitlementSpec {
    let mut spec = em(harness).request_lifecycle(target)[0]
        .spec
        .clone()
        .expect("a stage callout");
    spec.stage = stage.to_owned();
    spec
}

fn resumes_of(harness: &Harness, callout: &EntitlementCallout) -> Vec<RecordedEntitlementResume> {
    let id = &callout
        .spec
        .as_ref()
        .expect("a stage callout")
        .stage_instance_id;
    harness
        .tenant
        .entitlement_resumes()
        .into_iter()
        .filter(|r| r.stage_instance_id.as_deref() == Some(id.as_str()))
        .collect()
}

async fn settled_resume(
    harness: &Harness,
    callout: &EntitlementCallout,
) -> RecordedEntitlementResume {
    harness.settle().await;
    let resumes = resumes_of(harness, callout);
    assert_eq!(resumes.len(), 1, "one resume: {resumes:#?}");
    let resume = resumes.into_iter().next().unwrap();
    assert_eq!(resume.status, 204, "{resume:#?}");
    assert!(resume.authorized, "the managed identity's token");
    resume
}

#[tokio::test]
async fn a_request_plays_created_approval_stage_granted_with_named_approvers() {
    test_body("em_request_lifecycle", async {
        let harness = Harness::start(example_binary("entitlement_decisions"), &[]).await;
        let caller = em(&harness);
        assert_eq!(send(&harness, &caller.connection_test()).await, 202);
        harness.settle().await;
        assert!(harness.host.queue_messages("lcw-tasks").is_empty());
        assert!(
            harness.tenant.entitlement_resumes().is_empty(),
            "a connection test sends nothing back"
        );

        let flow = caller.request_lifecycle("Adele Vance");
        for callout in &flow {
            assert_eq!(send(&harness, callout).await, 202);
            let resume = settled_resume(&harness, callout).await;
            let spec = callout.spec.as_ref().unwrap();
            assert_eq!(resume.request_id, spec.request_id);
            assert_eq!(resume.api_version, "v1.0");
            assert!(!resume.beta_collection);
            assert_eq!(resume.stage.as_deref(), Some(spec.stage.as_str()));
            let body = &resume.body;
            assert_eq!(body["source"], "lcw-handler");
            assert_eq!(
                body["data"]["customExtensionStageInstanceId"],
                spec.stage_instance_id.as_str()
            );
            if spec.stage == APPROVAL_STAGE {
                assert_eq!(resume.decision.as_deref(), Some("approval"));
                assert_eq!(
                    body["type"],
                    "microsoft.graph.accessPackageCustomExtensionStage.assignmentRequestCreated"
                );
                let stage = &body["data"]["approvalStage"];
                assert_eq!(stage["primaryApprovers"][0]["userId"], APPROVER);
                assert_eq!(
                    stage["escalationApprovers"][0]["userId"],
                    ESCALATION_APPROVER
                );
                assert_eq!(stage["isEscalationEnabled"], true);
                assert_eq!(
                    body["data"]["customExtensionStageInstanceDetail"],
                    "approvers for Adele Vance"
                );
            } else {
                assert_eq!(resume.decision.as_deref(), Some("continue"));
                assert_eq!(
                    body["type"],
                    format!(
                        "microsoft.graph.accessPackageCustomExtensionStage.{}",
                        spec.stage
                    )
                );
                assert_eq!(
                    body["data"]["customExtensionStageInstanceDetail"],
                    "checked by lcw-handler"
                );
                assert!(body["data"].get("state").is_none());
            }
        }
        assert!(harness.poison().is_empty());
        assert!(
            harness.tenant.resumes().is_empty(),
            "no LCW resume was sent"
        );
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn deny_is_sent_at_created_and_refused_by_the_handler_at_granted() {
    test_body("em_deny", async {
        let harness = Harness::start(example_binary("entitlement_decisions"), &[]).await;
        let caller = em(&harness);
        let created = caller.callout(spec(&harness, "assignmentRequestCreated", "Risky User"));
        assert_eq!(send(&harness, &created).await, 202);
        let resume = settled_resume(&harness, &created).await;
        assert_eq!(resume.decision.as_deref(), Some("deny"));
        assert_eq!(resume.body["data"]["state"], "denied");
        assert_eq!(
            resume.body["data"]["customExtensionStageInstanceDetail"],
            "separation-of-duties conflict"
        );

        let granted = caller.callout(spec(&harness, "assignmentRequestGranted", "Risky User"));
        assert_eq!(send(&harness, &granted).await, 202);
        harness.settle().await;
        assert!(
            resumes_of(&harness, &granted).is_empty(),
            "nothing is sent to Graph"
        );
        harness
            .wait_for_log(
                "can be denied only at assignmentRequestCreated or assignmentRequestApproved",
                1,
            )
            .await;
        assert!(
            harness.poison().is_empty(),
            "the task is finished, not poisoned"
        );
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_task_that_cannot_decide_denies_on_its_last_attempt() {
    test_body("em_fail_closed", async {
        let harness = Harness::start(example_binary("entitlement_decisions"), &[]).await;
        let created =
            em(&harness).callout(spec(&harness, "assignmentRequestCreated", "Broken Check"));
        assert_eq!(send(&harness, &created).await, 202);
        let resume = settled_resume(&harness, &created).await;
        assert_eq!(resume.decision.as_deref(), Some("deny"));
        let detail = resume.body["data"]["customExtensionStageInstanceDetail"]
            .as_str()
            .unwrap();
        assert!(
            !detail.contains("scripted outage"),
            "the internal reason stays in our log: {detail}"
        );
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn pre_expiration_stages_run_and_send_nothing_back() {
    test_body("em_pre_expiration", async {
        let harness = Harness::start(stock_binary(), &[]).await;
        let caller = em(&harness);
        for stage in [
            "assignmentFourteenDaysBeforeExpiration",
            "assignmentOneDayBeforeExpiration",
        ] {
            let mut spec = spec(&harness, stage, "Adele Vance");
            spec.waits = false;
            let callout = caller.callout(spec);
            assert_eq!(send(&harness, &callout).await, 202);
        }
        harness.settle().await;
        let processed: Vec<_> = harness
            .host
            .invocations()
            .into_iter()
            .filter(|r| r.function == "process")
            .collect();
        assert_eq!(processed.len(), 2, "both were processed: {processed:#?}");
        assert!(
            processed
                .iter()
                .all(|r| r.succeeded && r.logs.iter().any(|l| l.contains("fire-and-forget"))),
            "{processed:#?}"
        );
        assert!(harness.tenant.entitlement_resumes().is_empty());
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_lcw_token_cannot_drive_em_and_an_em_token_cannot_drive_lcw() {
    test_body("em_caller_separation", async {
        let harness = Harness::start(stock_binary(), &[]).await;
        // An EM callout signed as Lifecycle Workflows, at the entitlement function.
        let em_body =
            em(&harness).callout(spec(&harness, "assignmentRequestCreated", "Adele Vance"));
        let mut request = em_body.http_request(ENTITLEMENT_PATH);
        request.headers.retain(|(k, _)| k != "Authorization");
        request.headers.push((
            "Authorization".to_owned(),
            harness.lcw().authorization().unwrap(),
        ));
        let refused = harness.send_request(request).await;
        assert_eq!(
            refused.status,
            401,
            "{}",
            String::from_utf8_lossy(&refused.body)
        );
        let body: Value = serde_json::from_slice(&refused.body).unwrap();
        assert_eq!(body["error"]["reason"], "invalid_caller");

        // An LCW callout signed as Entitlement Management, at the callout function.
        let lcw = harness.joiners(1).remove(0);
        let mut request = lcw.http_request(CALLOUT_PATH);
        request.headers.retain(|(k, _)| k != "Authorization");
        request.headers.push((
            "Authorization".to_owned(),
            em(&harness).authorization().unwrap(),
        ));
        let refused = harness.send_request(request).await;
        assert_eq!(refused.status, 401);
        let body: Value = serde_json::from_slice(&refused.body).unwrap();
        assert_eq!(body["error"]["reason"], "invalid_caller");

        // Each caller at its own function is accepted.
        assert_eq!(send(&harness, &em_body).await, 202);
        assert_eq!(harness.send(&lcw).await.status, 202);
        harness.settle().await;
        assert_eq!(harness.tenant.entitlement_resumes().len(), 1);
        assert_eq!(harness.tenant.resumes().len(), 1);
        harness.stop().await;
    })
    .await;
}

#[tokio::test]
async fn graphs_bare_unknown_error_is_logged_with_a_hint_and_the_request_id() {
    test_body("em_unknown_error", async {
        let harness = Harness::start(stock_binary(), &[]).await;
        let callout =
            em(&harness).callout(spec(&harness, "assignmentRequestGranted", "Adele Vance"));
        // The same callout twice (EM retrying with a new signature): the second resume of the
        // stage instance is refused the way real EM refuses, `UnknownError` with no message.
        assert_eq!(send(&harness, &callout).await, 202);
        harness.settle().await;
        let again = em(&harness).callout(callout.spec.clone().unwrap());
        assert_eq!(send(&harness, &again).await, 202);
        harness.settle().await;
        let resumes = resumes_of(&harness, &callout);
        assert_eq!(
            resumes.iter().map(|r| r.status).collect::<Vec<_>>(),
            [204, 400]
        );
        harness.wait_for_log("WaitingForCallback", 1).await;
        let line = harness
            .log_lines()
            .into_iter()
            .find(|l| l.to_string().contains("WaitingForCallback"))
            .unwrap();
        let text = line.to_string();
        assert!(text.contains("UnknownError"), "{text}");
        assert!(text.contains("request_id"), "{text}");
        harness.stop().await;
    })
    .await;
}

/// The one public capture of an EM callout arrived with `Expect: 100-continue`: `serve` answers
/// `100 Continue`, then reads the body and answers it — over a raw socket, so nothing in
/// between handles the expectation for us.
#[tokio::test]
async fn serve_accepts_expect_100_continue_and_resumes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    test_body("em_expect_continue", async {
        let served = common::serve::Served::start(stock_binary(), &[]).await;
        let em = served
            .tenant
            .entitlement()
            .with_auth(LcwAuth::Pop(served.tenant.pop_settings()));
        let callout = em.request_lifecycle("Adele Vance").remove(2);
        let authority = served
            .url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let mut socket = tokio::net::TcpStream::connect(&authority).await.unwrap();
        let authorization = callout
            .headers
            .iter()
            .find(|(k, _)| k == "Authorization")
            .map(|(_, v)| v.clone())
            .unwrap();
        let head = format!(
            "POST {ENTITLEMENT_PATH} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nAuthorization: {authorization}\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            callout.body.len()
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        let mut buffer = vec![0u8; 4096];
        let read = socket.read(&mut buffer).await.unwrap();
        let interim = String::from_utf8_lossy(&buffer[..read]).to_string();
        assert!(interim.starts_with("HTTP/1.1 100 Continue"), "{interim}");
        socket.write_all(callout.body.as_bytes()).await.unwrap();
        let mut answer = String::new();
        while !answer.contains("\r\n\r\n") {
            let read = socket.read(&mut buffer).await.unwrap();
            assert!(read > 0, "the server answers: {answer}");
            answer.push_str(&String::from_utf8_lossy(&buffer[..read]));
        }
        assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
        assert!(
            served
                .tenant
                .wait_for_entitlement_resumes(1, std::time::Duration::from_secs(60))
                .await,
            "the stage was resumed"
        );
        let resume = &served.tenant.entitlement_resumes()[0];
        assert_eq!(resume.status, 204, "{resume:#?}");
        assert_eq!(resume.decision.as_deref(), Some("continue"));
        served.stop().await;
    })
    .await;
}

/// `lcw-handler demo --entitlement` on a fresh machine: created → approval stage → granted,
/// plus the connection test, and a zero exit.
#[tokio::test]
async fn the_entitlement_demo_is_green() {
    test_body("em_demo", async {
        let output = tokio::process::Command::new(stock_binary())
            .args(["demo", "--entitlement", "--users", "2"])
            .env_remove("LCW_TASK")
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("connection test    acknowledged 202"),
            "{stdout}"
        );
        assert_eq!(stdout.matches(" approval     204").count(), 2, "{stdout}");
        assert!(
            stdout.contains("every request went created → approval stage"),
            "{stdout}"
        );
    })
    .await;
}
