//! A deliberately small Azure Functions custom handler, used to test the Functions host
//! emulator without depending on lcw-handler. It speaks the JSON protocol from the handler's
//! side, written independently of the emulator's code:
//!
//! - `GET /` answers 200 (readiness);
//! - `echo` (HTTP) answers with the envelope and invocation headers it received as the body;
//! - `enqueue` (HTTP) answers 202 and emits the request body, parsed, to queue output `item`;
//! - `text` (HTTP) answers 202 and emits the request body as a *string* to queue output `item`;
//! - `plain` (HTTP) answers `text/plain`, which must fail the invocation;
//! - `exit` (HTTP) exits the process with the code in `?code=`;
//! - `process` (queue) fails while `DequeueCount` < `ECHO_SUCCEED_ON_ATTEMPT` (default 1),
//!   then emits the envelope it received to queue output `seen`.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("FUNCTIONS_CUSTOMHANDLER_PORT").unwrap_or_else(|_| "8080".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("echo-custom-handler listening on 127.0.0.1:{port}");
    eprintln!("warn: echo-custom-handler is a test handler");
    let app = Router::new()
        .route("/", get(|| async { "ready" }))
        .route("/{function}", post(invoke));
    axum::serve(listener, app).await
}

fn json_reply(status: StatusCode, value: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// Decodes a double-encoded value (docs/protocol.md §8.5): a string holding JSON text.
fn decode(value: &Value) -> Value {
    match value {
        Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    }
}

async fn invoke(Path(function): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    println!("invoked {function}");
    let envelope: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => {
            return json_reply(
                StatusCode::BAD_REQUEST,
                json!({ "error": error.to_string() }),
            );
        }
    };
    let request_body = envelope["Data"]["req"]["Body"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match function.as_str() {
        "echo" => {
            let received: BTreeMap<String, String> = headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        v.to_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            json_reply(
                StatusCode::OK,
                json!({
                    "Outputs": {
                        "res": {
                            "statusCode": 200,
                            "headers": { "Content-Type": "application/json" },
                            "body": { "envelope": envelope, "headers": received },
                        }
                    },
                    "Logs": ["echoed"],
                }),
            )
        }
        "enqueue" => {
            let item: Value =
                serde_json::from_str(&request_body).unwrap_or(Value::String(request_body));
            json_reply(
                StatusCode::OK,
                json!({
                    "Outputs": { "res": { "statusCode": "202", "body": "" }, "item": item },
                    "Logs": ["enqueued"],
                }),
            )
        }
        "text" => json_reply(
            StatusCode::OK,
            json!({ "Outputs": { "res": { "statusCode": "202", "body": "" }, "item": request_body } }),
        ),
        "plain" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain")],
            "hello",
        )
            .into_response(),
        "exit" => {
            let code = envelope["Data"]["req"]["Query"]["code"]
                .as_str()
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            std::process::exit(code);
        }
        "process" => {
            let attempt = decode(&envelope["Metadata"]["DequeueCount"])
                .as_u64()
                .unwrap_or(0);
            let succeed_on: u64 = std::env::var("ECHO_SUCCEED_ON_ATTEMPT")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            if attempt < succeed_on {
                return json_reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({ "Logs": [format!("failing attempt {attempt}")] }),
                );
            }
            json_reply(
                StatusCode::OK,
                json!({
                    "Outputs": { "seen": envelope },
                    "Logs": [format!("processed attempt {attempt}")],
                }),
            )
        }
        _ => json_reply(
            StatusCode::NOT_FOUND,
            json!({ "error": "unknown function" }),
        ),
    }
}
