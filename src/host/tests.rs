//! The adapter driven without a socket: envelopes in, replies out (`Router::oneshot`).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::config::Config;
use crate::credential::NoCredential;
use crate::graph::GraphClient;
use crate::task::builtin::Complete;

fn app() -> Router {
    let config = Arc::new(Config::unauthenticated_for_tests());
    let graph = GraphClient::new(&config.graph, Arc::new(NoCredential));
    let pipeline = Pipeline::new(Arc::new(Complete), graph, config);
    router(HostState::new(
        pipeline,
        HostJson {
            max_dequeue_count: 5,
        },
    ))
}

async fn call(path: &str, body: Value) -> (StatusCode, Option<String>, Value) {
    let request = Request::post(path)
        .header("content-type", "application/json; charset=utf-8")
        .header(INVOCATION_ID_HEADER, "5b4b4f3e-0000-4000-8000-000000000001")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// An HTTP-trigger envelope as the host builds it: headers as arrays, the body as raw text.
fn http_envelope(callout_body: &str) -> Value {
    json!({
        "Data": {
            "req": {
                "Url": "https://app.azurewebsites.net/api/lifecycle/callout",
                "Method": "POST",
                "Query": {},
                "Headers": {"Content-Type": ["application/json"]},
                "Params": {},
                "Body": callout_body,
            }
        },
        "Metadata": {"sys": {"MethodName": "callout", "UtcNow": "2026-11-02T08:00:00Z", "RandGuid": "x"}}
    })
}

const CALLOUT: &str = include_str!("../../tests/fixtures/callouts/launch-and-wait.json");

#[tokio::test]
async fn readiness_answers_at_once() {
    let response = app()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_accepted_callout_answers_202_and_emits_the_work_item_as_an_object() {
    let (status, content_type, body) = call("/callout", http_envelope(CALLOUT)).await;
    assert_eq!(status, StatusCode::OK, "the envelope succeeds");
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(body["Outputs"]["res"]["statusCode"], "202");
    assert_eq!(body["Outputs"]["res"]["body"], "");
    let task = &body["Outputs"]["task"];
    assert!(
        task.is_object(),
        "an object is never base64-decoded by the host: {task}"
    );
    assert_eq!(
        task["taskProcessingResultId"],
        "6e1ec336-8d06-4386-a377-79dbab1a2eb6"
    );
    assert_eq!(task["version"], 1);
    assert!(body["Logs"][0].as_str().unwrap().contains("accepted"));
}

#[tokio::test]
async fn a_refused_callout_answers_400_in_res_and_emits_nothing() {
    let (status, _, body) = call("/callout", http_envelope(r#"{"data":{}}"#)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["Outputs"]["res"]["statusCode"], "400");
    assert_eq!(
        body["Outputs"]["res"]["headers"]["Content-Type"],
        "application/json"
    );
    let error: Value =
        serde_json::from_str(body["Outputs"]["res"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(error["error"]["field"], "data.workflow.id");
    assert!(body["Outputs"].get("task").is_none(), "nothing is enqueued");
}

#[tokio::test]
async fn a_callout_without_body_is_refused() {
    let mut envelope = http_envelope("");
    envelope["Data"]["req"]
        .as_object_mut()
        .unwrap()
        .remove("Body");
    let (_, _, body) = call("/callout", envelope).await;
    assert_eq!(body["Outputs"]["res"]["statusCode"], "400");
}

#[tokio::test]
async fn an_envelope_without_the_trigger_binding_fails_the_invocation() {
    let (status, content_type, body) = call("/callout", json!({"Data": {}, "Metadata": {}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(body["error"]["code"], "bad_envelope");
}

#[tokio::test]
async fn a_malformed_work_item_fails_the_delivery_so_it_reaches_the_poison_queue() {
    let envelope = json!({
        "Data": {"workItem": serde_json::to_string("{\"not\":\"a work item\"}").unwrap()},
        "Metadata": {"DequeueCount": "1"}
    });
    let (status, content_type, body) = call("/process", envelope).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert!(
        body["Logs"][0]
            .as_str()
            .unwrap()
            .contains("malformed work item"),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_functions_get_404() {
    let (status, _, body) = call("/nope", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "unknown_function");
}

/// The binding names in `function/*/function.json` are the ones this adapter reads and writes.
#[test]
fn function_json_files_match_the_adapter() {
    let read = |name: &str| -> Value {
        let path = format!(
            "{}/function/{name}/function.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    };
    let binding = |function: &Value, kind: &str| -> Value {
        function["bindings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} binding"))
    };
    let callout = read(CALLOUT_FUNCTION);
    assert_eq!(
        binding(&callout, "httpTrigger")["name"],
        HTTP_TRIGGER_BINDING
    );
    assert_eq!(binding(&callout, "httpTrigger")["authLevel"], "anonymous");
    assert_eq!(
        format!(
            "/api/{}",
            binding(&callout, "httpTrigger")["route"].as_str().unwrap()
        ),
        crate::standalone::CALLOUT_ROUTE,
        "standalone mode, the demo and the bench use the route the host publishes"
    );
    assert_eq!(binding(&callout, "http")["name"], HTTP_OUTPUT_BINDING);
    assert_eq!(binding(&callout, "queue")["name"], QUEUE_OUTPUT_BINDING);
    assert_eq!(binding(&callout, "queue")["queueName"], TASK_QUEUE);
    let process = read(PROCESS_FUNCTION);
    assert_eq!(
        binding(&process, "queueTrigger")["name"],
        QUEUE_TRIGGER_BINDING
    );
    assert_eq!(binding(&process, "queueTrigger")["queueName"], TASK_QUEUE);
}

const EM_CREATED: &str = include_str!("../../tests/fixtures/entitlement/created-logic-app.json");
const EM_TEST: &str = include_str!("../../tests/fixtures/entitlement/connection-test.json");

#[tokio::test]
async fn an_entitlement_callout_answers_202_and_emits_an_entitlement_work_item() {
    let (status, _, body) = call("/entitlement", http_envelope(EM_CREATED)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["Outputs"]["res"]["statusCode"], "202");
    let task = &body["Outputs"]["task"];
    assert!(task.is_object(), "{task}");
    assert_eq!(task["kind"], "entitlement");
    assert_eq!(
        task["customExtensionStageInstanceId"],
        "957d0c50-466b-4840-bb5b-c92cea7141ff"
    );
    assert_eq!(task["stage"], "assignmentRequestCreated");
}

#[tokio::test]
async fn an_entitlement_connection_test_answers_202_and_emits_nothing() {
    let (status, _, body) = call("/entitlement", http_envelope(EM_TEST)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["Outputs"]["res"]["statusCode"], "202");
    assert!(body["Outputs"].get("task").is_none(), "nothing is enqueued");
    assert!(
        body["Logs"][0]
            .as_str()
            .unwrap()
            .contains("connection test"),
        "{body}"
    );
}

#[tokio::test]
async fn an_lcw_callout_sent_to_the_entitlement_function_is_refused_as_invalid() {
    let (_, _, body) = call("/entitlement", http_envelope(CALLOUT)).await;
    assert_eq!(body["Outputs"]["res"]["statusCode"], "400");
    assert!(body["Outputs"].get("task").is_none());
}

/// The `entitlement` function declares the `callout` function's bindings, onto the same queue.
#[test]
fn the_entitlement_function_json_matches_the_adapter() {
    let path = format!(
        "{}/function/{ENTITLEMENT_FUNCTION}/function.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let function: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let bindings = function["bindings"].as_array().unwrap();
    let of = |kind: &str| bindings.iter().find(|b| b["type"] == kind).unwrap();
    assert_eq!(of("httpTrigger")["name"], HTTP_TRIGGER_BINDING);
    assert_eq!(of("httpTrigger")["authLevel"], "anonymous");
    assert_eq!(of("httpTrigger")["methods"], json!(["post"]));
    assert_eq!(
        format!("/api/{}", of("httpTrigger")["route"].as_str().unwrap()),
        crate::standalone::ENTITLEMENT_ROUTE
    );
    assert_eq!(of("http")["name"], HTTP_OUTPUT_BINDING);
    assert_eq!(of("queue")["name"], QUEUE_OUTPUT_BINDING);
    assert_eq!(of("queue")["queueName"], TASK_QUEUE);
}
