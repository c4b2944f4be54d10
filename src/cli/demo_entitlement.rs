//! `lcw-handler demo --entitlement`: an access-package request through Entitlement Management
//! stages on this machine — the connection test, then, for each user, `assignmentRequestCreated`
//! → `assignmentRequestDeterminingApprovalRequirements` → `assignmentRequestGranted` — each
//! callout signed as EM's application, acknowledged by the `entitlement` function, processed and
//! resumed against the local Graph, which checks every resume body.
//!
//! The stock binary decides with its built-in `webhook` task: a small decision service in this
//! process answers `continue` (with a detail text) and, at the approval stage, names an approver.
//! That is the same route a deployment takes without writing Rust (`LCW_TASK=webhook`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Json;
use axum::routing::post;
use lcw_emulator::functions_host::FunctionsHost;
use lcw_emulator::tenant::{APPROVAL_STAGE, EntitlementCallout, LcwAuth, TenantEmulator};
use serde_json::{Value, json};

use super::interrupt::RunError;
use crate::settings::{LCW_TASK, LCW_WEBHOOK_URL};

/// The `entitlement` function's public route.
const ENTITLEMENT_PATH: &str = crate::standalone::ENTITLEMENT_ROUTE;
/// The approver the decision service names.
pub(super) const DEMO_APPROVER: &str = "7c1e4a52-0f3b-4a8e-9d6c-2b5f8e1a3c70";
/// How long the demo waits for one stage's callouts to be processed.
const STAGE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The decision service the handler's `webhook` task posts to.
pub(super) struct DecisionService {
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl DecisionService {
    /// Starts on a free port of 127.0.0.1.
    pub(super) async fn start() -> Result<DecisionService, String> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("cannot start the decision service: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot start the decision service: {e}"))?;
        let app = axum::Router::new().route("/", post(decide));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(DecisionService { addr, server })
    }

    /// The handler settings that make its `webhook` task ask this service.
    pub(super) fn handler_env(&self) -> Vec<(String, String)> {
        vec![
            (LCW_TASK.to_owned(), "webhook".to_owned()),
            (LCW_WEBHOOK_URL.to_owned(), format!("http://{}/", self.addr)),
        ]
    }
}

impl Drop for DecisionService {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn decide(Json(task): Json<Value>) -> Json<Value> {
    let name = task
        .pointer("/callout/Assignment/Target/DisplayName")
        .and_then(Value::as_str)
        .unwrap_or("the user");
    if task["stage"] == APPROVAL_STAGE {
        Json(json!({
            "decision": "approval",
            "approvers": [DEMO_APPROVER],
            "detail": format!("the demo's decision service picked the approver for {name}"),
        }))
    } else {
        Json(json!({ "decision": "continue", "detail": format!("{name} checked by the demo") }))
    }
}

/// Plays the connection test and `users` requests through three stages; true when every
/// stage callout was acknowledged and resumed once with the expected decision.
pub(super) async fn play(
    users: usize,
    tenant: &TenantEmulator,
    host: &FunctionsHost,
) -> Result<bool, RunError> {
    let caller = tenant
        .entitlement()
        .with_auth(LcwAuth::Pop(tenant.pop_settings()));
    let test = host
        .send(caller.connection_test().http_request(ENTITLEMENT_PATH))
        .await
        .map_err(|e| format!("the connection test could not be delivered: {e}"))?;
    println!(
        "  connection test    acknowledged {} (nothing queued, nothing resumed)",
        test.status
    );
    let names: Vec<String> = (0..users).map(|i| format!("Requester {}", i + 1)).collect();
    let flows: Vec<Vec<EntitlementCallout>> = names
        .iter()
        .map(|name| caller.request_lifecycle(name))
        .collect();

    println!(
        "\n  {:<14} {:<50} {:>8} {:>9} {:>7}  detail",
        "user", "stage", "ack", "decision", "Graph"
    );
    let mut ok = test.status == 202;
    for stage in 0..3 {
        let mut acks = Vec::new();
        for flow in &flows {
            let started = Instant::now();
            let response = host
                .send(flow[stage].http_request(ENTITLEMENT_PATH))
                .await
                .map_err(|e| format!("a callout could not be delivered: {e}"))?;
            acks.push((response.status, started.elapsed()));
        }
        host.wait_until_idle(STAGE_TIMEOUT)
            .await
            .map_err(|e| format!("the stage's callouts did not settle: {e}"))?;
        let resumes = tenant.entitlement_resumes();
        for ((name, flow), (status, ack)) in names.iter().zip(&flows).zip(acks) {
            let Some(spec) = &flow[stage].spec else {
                continue;
            };
            let mine: Vec<_> = resumes
                .iter()
                .filter(|r| r.stage_instance_id.as_deref() == Some(spec.stage_instance_id.as_str()))
                .collect();
            let accepted = mine.iter().find(|r| r.status == 204);
            let expected = if spec.stage == APPROVAL_STAGE {
                "approval"
            } else {
                "continue"
            };
            let decision = accepted
                .and_then(|r| r.decision.as_deref())
                .unwrap_or("NONE");
            let detail = accepted
                .and_then(|r| r.body["data"]["customExtensionStageInstanceDetail"].as_str())
                .unwrap_or("");
            let approvers = accepted
                .map(|r| &r.body["data"]["approvalStage"]["primaryApprovers"])
                .and_then(Value::as_array)
                .map(|a| {
                    format!(
                        " → approver {}",
                        a.first().map_or("", |u| u["userId"].as_str().unwrap_or(""))
                    )
                })
                .unwrap_or_default();
            ok &= status == 202 && mine.len() == 1 && decision == expected;
            println!(
                "  {:<14} {:<50} {:>5} {:>2.0}ms {:>9} {:>7}  {detail}{approvers}",
                name,
                spec.stage,
                status,
                ack.as_secs_f64() * 1000.0,
                decision,
                mine.iter()
                    .map(|r| r.status.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
    }
    let poisoned = host
        .queue_messages(&format!("{}-poison", crate::host::TASK_QUEUE))
        .len();
    ok &= poisoned == 0;
    println!(
        "\n  result: {}",
        if ok {
            "every request went created → approval stage (approver named) → granted, each stage resumed once"
        } else {
            "NOT every stage was resumed as expected (rerun with --show-logs)"
        }
    );
    Ok(ok)
}
