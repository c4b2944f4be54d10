//! The Microsoft Graph `resume` API of Entitlement Management (docs/protocol.md §7.5):
//! `POST /{v1.0|beta}/identityGovernance/entitlementManagement/assignmentRequests/{id}/resume`
//! (and the beta-only `accessPackageAssignmentRequests` segment), with its body checked field by
//! field.
//!
//! Decisions, in order: authentication (`401`), a scripted answer for the stage instance, the
//! throttle share (`429`), body validation, state. A body the fake refuses, and a second resume
//! of the same stage instance, get what the one real EM resume error showed: `400` with
//! `UnknownError` and an **empty message** — so the handler's logging of it can be seen. The
//! fake does not know which callouts were sent: the first resume of any stage instance is
//! accepted (`204`).

use std::time::SystemTime;

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::TenantState;
use super::graph::{Answer, check_bearer, scripted_answer, throttled};

const MAX_BODY_BYTES: usize = 1024 * 1024;
const API_VERSIONS: [&str; 2] = ["v1.0", "beta"];
const TYPE_PREFIX: &str = "microsoft.graph.accessPackageCustomExtensionStage.";
const REQUEST_STAGES: [&str; 4] = [
    "assignmentRequestCreated",
    "assignmentRequestApproved",
    "assignmentRequestGranted",
    "assignmentRequestRemoved",
];
const DENIABLE_STAGES: [&str; 2] = ["assignmentRequestCreated", "assignmentRequestApproved"];
const APPROVAL_STAGE: &str = "assignmentRequestDeterminingApprovalRequirements";
const CALLBACK_DATA: &str = "microsoft.graph.accessPackageAssignmentRequestCallbackData";
const APPROVAL_CALLBACK_DATA: &str = "microsoft.graph.assignmentRequestApprovalStageCallbackData";
const SINGLE_USER: &str = "microsoft.graph.singleUser";

/// One EM resume request as received by the Graph fake.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEntitlementResume {
    /// `v1.0` or `beta`, as in the URL.
    pub api_version: String,
    /// Whether the URL used the beta-only `accessPackageAssignmentRequests` segment.
    pub beta_collection: bool,
    /// The assignment request id from the URL.
    pub request_id: String,
    /// `data.customExtensionStageInstanceId`, if the body had one.
    pub stage_instance_id: Option<String>,
    /// `data.stage`, if the body had one.
    pub stage: Option<String>,
    /// What the body decided: `continue`, `deny` or `approval` (`None` if unreadable).
    pub decision: Option<String>,
    /// The request body (`Null` if it was not JSON).
    pub body: Value,
    /// Whether the bearer token was one the identity endpoint issued for Graph and unexpired.
    pub authorized: bool,
    /// The status code the fake answered.
    pub status: u16,
    /// Why the fake refused the body, when it did (its `UnknownError` carries no message).
    pub refusal: Option<String>,
    /// When the request arrived.
    pub received_at: SystemTime,
}

/// The URL of an EM resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntitlementTarget {
    api_version: String,
    beta_collection: bool,
    request_id: String,
}

/// Recognises `/{version}/identityGovernance/entitlementManagement/{assignmentRequests|accessPackageAssignmentRequests}/{id}/resume`.
pub(crate) fn target(path: &str) -> Option<EntitlementTarget> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let [version, governance, management, collection, id, action] = segments.as_slice() else {
        return None;
    };
    let version = API_VERSIONS
        .iter()
        .find(|v| v.eq_ignore_ascii_case(version))?;
    let beta_collection = collection.eq_ignore_ascii_case("accessPackageAssignmentRequests");
    let known = governance.eq_ignore_ascii_case("identityGovernance")
        && management.eq_ignore_ascii_case("entitlementManagement")
        && (beta_collection || collection.eq_ignore_ascii_case("assignmentRequests"))
        && action.eq_ignore_ascii_case("resume")
        && !id.is_empty();
    if !known || (beta_collection && *version != "beta") {
        return None;
    }
    Some(EntitlementTarget {
        api_version: (*version).to_owned(),
        beta_collection,
        request_id: (*id).to_owned(),
    })
}

/// Answers one EM resume and records it.
pub(crate) async fn resume(
    state: &TenantState,
    headers: &HeaderMap,
    body: Body,
    target: EntitlementTarget,
) -> Answer {
    let received_at = SystemTime::now();
    let body: Value = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let text = |pointer: &str| {
        body.pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let stage_instance_id = text("/data/customExtensionStageInstanceId");
    let stage = text("/data/stage");
    let auth = check_bearer(state, headers);
    let mut refusal = None;
    let mut decision = None;
    let answer = match auth {
        Err(message) => Answer::error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        ),
        Ok(()) => {
            let scripted = stage_instance_id.as_ref().and_then(|id| {
                state
                    .graph()
                    .scripts
                    .get_mut(id)
                    .and_then(|script| script.pop_front())
            });
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
                _ if throttled(state) => Answer::throttled(state.options.throttle_retry_after_secs),
                _ => match validate(&body) {
                    Err(why) => {
                        refusal = Some(why);
                        unknown_error()
                    }
                    Ok(decided) => {
                        decision = Some(decided.to_owned());
                        let first = stage_instance_id
                            .as_ref()
                            .is_some_and(|id| state.graph().entitlement_resumed.insert(id.clone()));
                        if first {
                            Answer::no_content()
                        } else {
                            refusal = Some(
                                "the stage instance was already resumed (it is no longer WaitingForCallback)"
                                    .to_owned(),
                            );
                            unknown_error()
                        }
                    }
                },
            }
        }
    };
    let record = RecordedEntitlementResume {
        api_version: target.api_version,
        beta_collection: target.beta_collection,
        request_id: target.request_id,
        stage_instance_id,
        stage,
        decision,
        body,
        authorized: auth.is_ok(),
        status: answer.status().as_u16(),
        refusal,
        received_at,
    };
    tracing::debug!(request_id = %record.request_id, status = record.status, refusal = ?record.refusal, "graph fake answered an entitlement resume");
    state.graph().entitlement_resumes.push(record);
    state.resume_recorded.notify_waiters();
    answer
}

/// The one real EM resume error seen: `UnknownError`, empty message.
fn unknown_error() -> Answer {
    Answer::error(StatusCode::BAD_REQUEST, "UnknownError", "")
}

/// Checks the body of docs/protocol.md §7.5 field by field; returns the decision it carries.
fn validate(body: &Value) -> Result<&'static str, String> {
    let object = body.as_object().ok_or("the body is not a JSON object")?;
    if !object.get("source").is_some_and(Value::is_string) {
        return Err("source must be a string".to_owned());
    }
    let resume_type = object
        .get("type")
        .and_then(Value::as_str)
        .ok_or("type must be a string")?;
    let member = resume_type
        .strip_prefix(TYPE_PREFIX)
        .ok_or_else(|| format!("type must start with {TYPE_PREFIX}"))?;
    if !REQUEST_STAGES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(member))
    {
        return Err(format!("type names no request stage: {member}"));
    }
    let data = object
        .get("data")
        .and_then(Value::as_object)
        .ok_or("data must be an object")?;
    let data_type = data
        .get("@odata.type")
        .and_then(Value::as_str)
        .map(|t| t.trim_start_matches('#'))
        .ok_or("data.@odata.type is required")?;
    let stage = data
        .get("stage")
        .and_then(Value::as_str)
        .ok_or("data.stage must be a string")?;
    let instance = data
        .get("customExtensionStageInstanceId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if instance.is_empty() {
        return Err("data.customExtensionStageInstanceId must be a non-empty string".to_owned());
    }
    if let Some(detail) = data.get("customExtensionStageInstanceDetail")
        && !detail.is_string()
    {
        return Err("data.customExtensionStageInstanceDetail must be a string".to_owned());
    }
    if data_type.eq_ignore_ascii_case(APPROVAL_CALLBACK_DATA) {
        if !stage.eq_ignore_ascii_case(APPROVAL_STAGE) {
            return Err(format!("approval data at stage {stage}"));
        }
        let approval = data
            .get("approvalStage")
            .and_then(Value::as_object)
            .ok_or("data.approvalStage must be an object")?;
        let primary = approval
            .get("primaryApprovers")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or("data.approvalStage.primaryApprovers must name at least one approver")?;
        for approver in primary {
            let is_user = approver
                .get("@odata.type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.trim_start_matches('#').eq_ignore_ascii_case(SINGLE_USER));
            let has_id = approver
                .get("userId")
                .or_else(|| approver.get("id"))
                .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()));
            if !is_user || !has_id {
                return Err("each primary approver must be a singleUser with a userId".to_owned());
            }
        }
        return Ok("approval");
    }
    if !data_type.eq_ignore_ascii_case(CALLBACK_DATA) {
        return Err(format!(
            "data.@odata.type {data_type} is not a callback data type"
        ));
    }
    if stage.eq_ignore_ascii_case(APPROVAL_STAGE) {
        return Err("the approval stage needs approval-stage callback data".to_owned());
    }
    match data.get("state").map(|s| s.as_str()) {
        None => Ok("continue"),
        Some(Some(state)) if state.eq_ignore_ascii_case("denied") => {
            if DENIABLE_STAGES
                .iter()
                .any(|s| s.eq_ignore_ascii_case(stage))
            {
                Ok("deny")
            } else {
                Err(format!("a request cannot be denied at stage {stage}"))
            }
        }
        Some(_) => Err("data.state may only be denied".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_collections_are_recognised_and_the_beta_one_only_under_beta() {
        let v1 =
            target("/v1.0/identityGovernance/entitlementManagement/assignmentRequests/r1/resume");
        assert_eq!(v1.map(|t| t.request_id), Some("r1".to_owned()));
        let beta = target(
            "/beta/identityGovernance/entitlementManagement/accessPackageAssignmentRequests/r1/resume",
        )
        .unwrap();
        assert!(beta.beta_collection);
        assert_eq!(
            target(
                "/v1.0/identityGovernance/entitlementManagement/accessPackageAssignmentRequests/r1/resume"
            ),
            None
        );
        assert_eq!(
            target("/v1.0/identityGovernance/entitlementManagement/assignmentRequests/r1"),
            None
        );
    }

    #[test]
    fn bodies_are_checked_field_by_field() {
        let continue_body = json!({"source":"s","type":"microsoft.graph.accessPackageCustomExtensionStage.assignmentRequestGranted","data":{"@odata.type":"microsoft.graph.accessPackageAssignmentRequestCallbackData","stage":"assignmentRequestGranted","customExtensionStageInstanceId":"i"}});
        assert_eq!(validate(&continue_body), Ok("continue"));
        let mut deny_granted = continue_body.clone();
        deny_granted["data"]["state"] = "denied".into();
        assert!(
            validate(&deny_granted)
                .unwrap_err()
                .contains("cannot be denied")
        );
        let mut deny_created = deny_granted.clone();
        deny_created["data"]["stage"] = "AssignmentRequestCreated".into();
        assert_eq!(validate(&deny_created), Ok("deny"));
        let approval = json!({"source":"s","type":"microsoft.graph.accessPackageCustomExtensionStage.assignmentRequestCreated","data":{"@odata.type":"#microsoft.graph.assignmentRequestApprovalStageCallbackData","stage":APPROVAL_STAGE,"customExtensionStageInstanceId":"i","approvalStage":{"primaryApprovers":[{"@odata.type":"#microsoft.graph.singleUser","userId":"u"}]}}});
        assert_eq!(validate(&approval), Ok("approval"));
        let mut no_approvers = approval.clone();
        no_approvers["data"]["approvalStage"]["primaryApprovers"] = json!([]);
        assert!(validate(&no_approvers).is_err());
        let mut wrong_type = continue_body;
        wrong_type["type"] = "lifecycleEvent".into();
        assert!(validate(&wrong_type).is_err());
    }
}
