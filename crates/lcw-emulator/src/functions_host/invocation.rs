//! One invocation of the handler: POST the envelope to `/<FunctionName>`, interpret the reply,
//! carry out the outputs, and record what happened.
//!
//! This is the only place that talks to the handler after readiness, so the header set, the
//! function timeout and the "Logs only on a 2xx JSON reply" rule are written once.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use serde_json::Value;
use tokio::time::Instant;

use super::config::FunctionConfig;
use super::outputs::{self, AppliedOutputs, HandlerReply};
use super::{InvocationRecord, Shared};

/// The host version the emulator claims (a 4.x host, as in Azure).
pub(crate) const HOST_VERSION: &str = "4.1041.200.1";
const HOST_VERSION_HEADER: &str = "X-Azure-Functions-HostVersion";
const INVOCATION_ID_HEADER: &str = "X-Azure-Functions-InvocationId";
/// The host's own timeout towards the handler is `functionTimeout` + 1 minute; an unbounded
/// `functionTimeout` still gets a generous cap so a hung handler cannot hang the emulator.
const UNBOUNDED_FUNCTION_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// A handler answer, before outputs are interpreted.
struct Answer {
    status: Option<u16>,
    reply: Result<HandlerReply, String>,
}

/// Runs one invocation. `Ok` carries the outputs (queue messages are already enqueued);
/// `Err` means the invocation failed, and the record says why.
pub(crate) async fn invoke(
    shared: &Shared,
    function: &FunctionConfig,
    envelope: Value,
    delivery: Option<(u32, &str)>,
) -> Result<AppliedOutputs, String> {
    let dequeue_count = delivery.map(|(count, _)| count);
    let trigger_message = delivery.map(|(_, text)| text.to_owned());
    let invocation_id = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    let answer = call(shared, function, &envelope, &invocation_id).await;

    let mut logs = Vec::new();
    let mut recorded_outputs = Value::Null;
    let result = match answer.reply {
        Err(error) => Err(error),
        Ok(reply) => {
            logs = reply.logs.clone();
            for line in &logs {
                tracing::info!(function = %function.name, %invocation_id, "{line}");
            }
            let mut outputs = reply.outputs.clone();
            if let Some(value) = &reply.return_value {
                outputs.insert("$return".to_owned(), value.clone());
            }
            recorded_outputs = Value::Object(outputs);
            outputs::apply(function, &reply).and_then(|applied| {
                outputs::check_message_sizes(&applied, shared.host.queues.message_encoding)
                    .map(|()| applied)
            })
        }
    };
    // The queue binding writes after the function returned; a Storage failure there fails the
    // invocation (the public caller gets a 500, a queue message is retried).
    let result = match result {
        Ok(applied) => write_messages(shared, &applied).await.map(|()| applied),
        Err(error) => Err(error),
    };
    // A failed queue delivery is the planned way to retry: the dispatcher says what follows.
    if let (Err(error), None) = (&result, delivery) {
        tracing::warn!(function = %function.name, %invocation_id, %error, "invocation failed");
    }
    let record = InvocationRecord {
        function: function.name.clone(),
        invocation_id,
        handler_status: answer.status,
        succeeded: result.is_ok(),
        logs,
        outputs: recorded_outputs,
        dequeue_count,
        trigger_message,
        duration: started.elapsed(),
        error: result.as_ref().err().cloned(),
    };
    shared.record(record);
    result
}

/// Enqueues the queue outputs, in order; the first failure stops and fails the invocation.
async fn write_messages(shared: &Shared, applied: &AppliedOutputs) -> Result<(), String> {
    for (queue, text) in &applied.messages {
        shared
            .queues
            .put(queue, text)
            .await
            .map_err(|error| format!("the queue output binding failed: {error}"))?;
    }
    Ok(())
}

async fn call(
    shared: &Shared,
    function: &FunctionConfig,
    envelope: &Value,
    invocation_id: &str,
) -> Answer {
    let port = match shared.process.port(shared.readiness_timeout).await {
        Ok(port) => port,
        Err(error) => {
            return Answer {
                status: None,
                reply: Err(error),
            };
        }
    };
    let body = serde_json::to_vec(envelope).unwrap_or_default();
    let request = shared
        .client
        .post(format!("http://127.0.0.1:{port}/{}", function.name))
        .header(HOST_VERSION_HEADER, HOST_VERSION)
        .header(INVOCATION_ID_HEADER, invocation_id)
        .header(USER_AGENT, format!("Azure-Functions-Host/{HOST_VERSION}"))
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .body(body);
    let timeout = shared
        .host
        .function_timeout
        .unwrap_or(UNBOUNDED_FUNCTION_TIMEOUT);
    let exchange = async {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, content_type, bytes))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => {
            // The host kills and restarts the handler, failing every other in-flight call.
            shared.process.request_restart();
            Answer {
                status: None,
                reply: Err(format!(
                    "the invocation exceeded functionTimeout ({timeout:?}); the handler is restarted"
                )),
            }
        }
        Ok(Err(error)) => Answer {
            status: None,
            reply: Err(format!("could not reach the custom handler: {error}")),
        },
        Ok(Ok((status, content_type, bytes))) => Answer {
            status: Some(status),
            reply: outputs::parse_reply(status, content_type.as_deref(), &bytes),
        },
    }
}
