//! The Microsoft Graph `resume` API of Lifecycle Workflows (docs/protocol.md §5), with fault injection,
//! and the routing of every Graph request (registration calls go to `registration`).
//!
//! Besides resume and registration, every path gets Graph's OData `404`. The order of
//! decisions for a resume request is: authentication (`401`), then a scripted answer for that
//! task processing result, then the random throttle share (`429` + `Retry-After`), then body
//! validation (`400`), then state. Authentication comes first because Graph throttles and
//! answers per calling application, which it only knows after validating the token.
//!
//! **Repeat resumes.** Graph's answer to a second resume of the same task processing result is
//! undocumented (docs/protocol.md §5.3, §10 item 17). The fake answers `400` with an OData error,
//! because the result is no longer `inProgress` and `400` is the status the handler must treat
//! as permanent (never retried). The fake does not know which callouts were sent, so the first
//! resume of any id is accepted.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::{Value, json};

use super::identity::GRAPH_RESOURCES;
use super::{RecordedResume, TenantState, entitlement_graph, registration};

/// Largest request body the fake reads; resume bodies are tiny.
const MAX_BODY_BYTES: usize = 1024 * 1024;
const REQUEST_ID: &str = "request-id";
const CLIENT_REQUEST_ID: &str = "client-request-id";
/// Path segments between the version and the ids, matched case-insensitively as Graph does.
const WORKFLOWS_PREFIX: [&str; 3] = ["identityGovernance", "lifecycleWorkflows", "workflows"];
/// The two spellings of the action segment (plain and SDK-qualified).
const RESUME_ACTIONS: [&str; 2] = ["resume", "microsoft.graph.identityGovernance.resume"];
const API_VERSIONS: [&str; 2] = ["v1.0", "beta"];

/// The ids a resume URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ResumeTarget {
    api_version: String,
    workflow_id: String,
    task_id: String,
    task_processing_result_id: String,
}

/// Ids Graph puts on every response, and into OData errors.
struct Correlation {
    request_id: String,
    client_request_id: String,
}

/// A decided answer, before the correlation headers are added.
pub(crate) struct Answer {
    status: StatusCode,
    error: Option<(&'static str, String)>,
    body: Option<Value>,
    retry_after_secs: Option<u64>,
}

impl Answer {
    pub(crate) fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            error: None,
            body: None,
            retry_after_secs: None,
        }
    }

    /// A success with a JSON body.
    pub(crate) fn json(status: StatusCode, body: Value) -> Self {
        Self {
            body: Some(body),
            status,
            ..Self::no_content()
        }
    }

    /// An OData error.
    pub(crate) fn error(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error: Some((code, message.into())),
            body: None,
            retry_after_secs: None,
        }
    }

    /// `429` with `Retry-After`, as Graph throttles.
    pub(crate) fn throttled(retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests. Please retry after the time in the Retry-After header.",
            )
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The OData error message, if this is an error.
    pub(crate) fn error_message(&self) -> Option<&str> {
        self.error.as_ref().map(|(_, message)| message.as_str())
    }
}

/// Fallback handler: routes Graph requests and stamps correlation headers on every answer.
pub(crate) async fn handle(State(state): State<Arc<TenantState>>, request: Request) -> Response {
    let correlation = Correlation {
        request_id: uuid::Uuid::new_v4().to_string(),
        client_request_id: request
            .headers()
            .get(CLIENT_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
    };
    let (parts, body) = request.into_parts();
    if let Some(target) = registration::target(parts.uri.path()) {
        let answer = registration::answer(
            &state,
            &parts.method,
            parts.uri.query(),
            &parts.headers,
            body,
            target,
        )
        .await;
        return render(answer, &correlation);
    }
    if let Some(target) = entitlement_graph::target(parts.uri.path()) {
        let answer = if parts.method == Method::POST {
            entitlement_graph::resume(&state, &parts.headers, body, target).await
        } else {
            Answer::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The resume action only supports POST.",
            )
        };
        return render(answer, &correlation);
    }
    let answer = match parse_resume_path(parts.uri.path()) {
        None => Answer::error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "Resource not found for the segment path '{}'.",
                parts.uri.path()
            ),
        ),
        Some(_) if parts.method != Method::POST => Answer::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The resume action only supports POST.",
        ),
        Some(target) => resume(&state, &parts.headers, body, target).await,
    };
    render(answer, &correlation)
}

/// `POST /{v1.0|beta}/identityGovernance/lifecycleWorkflows/workflows/{w}/tasks/{t}/taskProcessingResults/{id}/resume`.
async fn resume(
    state: &TenantState,
    headers: &HeaderMap,
    body: Body,
    target: ResumeTarget,
) -> Answer {
    let received_at = SystemTime::now();
    let body: Value = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let operation_status = body
        .get("data")
        .and_then(|d| d.get("operationStatus"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let auth = check_bearer(state, headers);

    let answer = match auth {
        Err(message) => Answer::error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        ),
        Ok(()) => {
            let scripted = state
                .graph()
                .scripts
                .get_mut(&target.task_processing_result_id)
                .and_then(|script| script.pop_front());
            let mut delay = state.options.graph_latency;
            if let Some(scripted) = &scripted {
                delay += scripted.delay;
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            match scripted {
                Some(scripted) if !scripted.is_normal() => {
                    scripted_answer(scripted.status, scripted.retry_after_secs)
                }
                _ if throttled(state) => Answer {
                    retry_after_secs: Some(state.options.throttle_retry_after_secs),
                    ..Answer::error(
                        StatusCode::TOO_MANY_REQUESTS,
                        "TooManyRequests",
                        "Too many requests. Please retry after the time in the Retry-After header.",
                    )
                },
                _ => match validate_body(&body) {
                    Err(message) => Answer::error(StatusCode::BAD_REQUEST, "BadRequest", message),
                    Ok(()) => first_resume(state, &target.task_processing_result_id),
                },
            }
        }
    };

    let record = RecordedResume {
        api_version: target.api_version,
        workflow_id: target.workflow_id,
        task_id: target.task_id,
        task_processing_result_id: target.task_processing_result_id,
        operation_status,
        body,
        authorized: auth.is_ok(),
        status: answer.status.as_u16(),
        received_at,
    };
    tracing::debug!(
        task_processing_result_id = %record.task_processing_result_id,
        status = record.status,
        "graph fake answered resume"
    );
    state.graph().resumes.push(record);
    state.resume_recorded.notify_waiters();
    answer
}

/// `204` the first time an id is resumed, `400` afterwards (see the module docs).
fn first_resume(state: &TenantState, task_processing_result_id: &str) -> Answer {
    if state
        .graph()
        .resumed_ids
        .insert(task_processing_result_id.to_owned())
    {
        Answer::no_content()
    } else {
        Answer::error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "The task processing result '{task_processing_result_id}' is not in progress: it was already resumed."
            ),
        )
    }
}

pub(crate) fn scripted_answer(status: u16, retry_after_secs: Option<u64>) -> Answer {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = match status.as_u16() {
        429 => "TooManyRequests",
        401 => "InvalidAuthenticationToken",
        403 => "Authorization_RequestDenied",
        404 => "ResourceNotFound",
        409 => "Conflict",
        503 => "ServiceNotAvailable",
        500..=599 => "InternalServerError",
        _ => "BadRequest",
    };
    Answer {
        retry_after_secs,
        ..Answer::error(
            status,
            code,
            format!("Scripted {} answer.", status.as_u16()),
        )
    }
}

pub(crate) fn throttled(state: &TenantState) -> bool {
    let share = state.options.throttle_share;
    if share.is_nan() || share <= 0.0 {
        return false;
    }
    let mut rng = state.throttle_rng.lock().unwrap_or_else(|e| e.into_inner());
    rng.random_bool(share.min(1.0))
}

/// Checks `Authorization: Bearer <token>` against the tokens the identity endpoint issued.
pub(crate) fn check_bearer(state: &TenantState, headers: &HeaderMap) -> Result<(), &'static str> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("Access token is empty.")?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or("Invalid authorization header.")?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("Authorization scheme must be Bearer.");
    }
    let tokens = state.tokens();
    let issued = tokens
        .get(token.trim())
        .ok_or("Access token validation failure. Invalid token.")?;
    if !GRAPH_RESOURCES.contains(&issued.resource.as_str()) {
        return Err("Access token validation failure. Invalid audience.");
    }
    if SystemTime::now() >= issued.expires_at {
        return Err("Lifetime validation failed, the token is expired.");
    }
    Ok(())
}

/// Checks the body is `{"data":{"operationStatus":"completed"|"failed"},"source":…,"type":…}`.
fn validate_body(body: &Value) -> Result<(), String> {
    let object = body
        .as_object()
        .ok_or("The request body must be a JSON object.")?;
    let data = object
        .get("data")
        .and_then(Value::as_object)
        .ok_or("Property 'data' is required and must be an object.")?;
    let status = data
        .get("operationStatus")
        .and_then(Value::as_str)
        .ok_or("Property 'data.operationStatus' is required and must be a string.")?;
    if !["completed", "failed"]
        .iter()
        .any(|known| known.eq_ignore_ascii_case(status))
    {
        return Err(format!(
            "Property 'data.operationStatus' has invalid value '{status}': expected 'completed' or 'failed'."
        ));
    }
    for name in ["source", "type"] {
        if !object.get(name).is_some_and(Value::is_string) {
            return Err(format!(
                "Property '{name}' is required and must be a string."
            ));
        }
    }
    Ok(())
}

fn parse_resume_path(path: &str) -> Option<ResumeTarget> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let [
        version,
        a,
        b,
        c,
        workflow,
        tasks,
        task,
        results,
        result,
        action,
    ] = segments.as_slice()
    else {
        return None;
    };
    let version = API_VERSIONS
        .iter()
        .find(|v| v.eq_ignore_ascii_case(version))?;
    let literals_match = WORKFLOWS_PREFIX
        .iter()
        .zip([a, b, c])
        .all(|(want, got)| want.eq_ignore_ascii_case(got))
        && tasks.eq_ignore_ascii_case("tasks")
        && results.eq_ignore_ascii_case("taskProcessingResults")
        && RESUME_ACTIONS
            .iter()
            .any(|r| r.eq_ignore_ascii_case(action));
    let ids = [workflow, task, result];
    if !literals_match || ids.iter().any(|id| id.is_empty()) {
        return None;
    }
    Some(ResumeTarget {
        api_version: (*version).to_owned(),
        workflow_id: (*workflow).to_owned(),
        task_id: (*task).to_owned(),
        task_processing_result_id: (*result).to_owned(),
    })
}

fn render(answer: Answer, correlation: &Correlation) -> Response {
    let mut response = match answer.error {
        None => match answer.body {
            None => answer.status.into_response(),
            Some(body) => (
                answer.status,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response(),
        },
        Some((code, message)) => {
            let body = json!({
                "error": {
                    "code": code,
                    "message": message,
                    "innerError": {
                        "date": utc_now(),
                        "request-id": correlation.request_id,
                        "client-request-id": correlation.client_request_id,
                    }
                }
            });
            (
                answer.status,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (REQUEST_ID, correlation.request_id.as_str()),
        (CLIENT_REQUEST_ID, correlation.client_request_id.as_str()),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    if let Some(seconds) = answer.retry_after_secs {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

pub(crate) fn utc_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_action_spellings_and_versions() {
        let plain = parse_resume_path(
            "/v1.0/identityGovernance/lifecycleWorkflows/workflows/w/tasks/t/taskProcessingResults/r/resume",
        );
        assert_eq!(
            plain,
            Some(ResumeTarget {
                api_version: "v1.0".into(),
                workflow_id: "w".into(),
                task_id: "t".into(),
                task_processing_result_id: "r".into(),
            })
        );
        let sdk = parse_resume_path(
            "/beta/identityGovernance/lifecycleWorkflows/workflows/w/tasks/t/taskProcessingResults/r/microsoft.graph.identityGovernance.resume",
        );
        assert_eq!(sdk.map(|t| t.api_version), Some("beta".to_owned()));
        assert_eq!(
            parse_resume_path(
                "/v2.0/identityGovernance/lifecycleWorkflows/workflows/w/tasks/t/taskProcessingResults/r/resume"
            ),
            None
        );
        assert_eq!(parse_resume_path("/v1.0/me"), None);
    }

    #[test]
    fn body_validation_names_the_problem() {
        let ok = json!({"data":{"operationStatus":"completed"},"source":"s","type":"t"});
        assert_eq!(validate_body(&ok), Ok(()));
        let sample = json!({"data":{"operationStatus":"Completed"},"source":"s","type":"t"});
        assert_eq!(validate_body(&sample), Ok(()));
        let bad = json!({"data":{"operationStatus":"unknownFutureValue"},"source":"s","type":"t"});
        assert!(validate_body(&bad).is_err_and(|m| m.contains("operationStatus")));
        let no_source = json!({"data":{"operationStatus":"failed"},"type":"t"});
        assert!(validate_body(&no_source).is_err_and(|m| m.contains("source")));
    }

    #[test]
    fn retry_after_is_whole_seconds() {
        let answer = Answer {
            retry_after_secs: Some(7),
            ..Answer::error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "x")
        };
        let correlation = Correlation {
            request_id: "r".into(),
            client_request_id: "c".into(),
        };
        let response = render(answer, &correlation);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        assert_eq!(response.headers()[REQUEST_ID], "r");
    }
}
