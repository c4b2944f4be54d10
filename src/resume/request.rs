//! The resume URL and body.

use serde::Serialize;
use serde_json::{Value, json};

use crate::callout::Callout;
use crate::config::GraphVersion;

/// The value `source` carries in every resume we send.
pub const RESUME_SOURCE: &str = "lcw-handler";
/// The value `type` carries (the documented sample's).
pub const RESUME_TYPE: &str = "lifecycleEvent";

/// How the task ended, as Graph spells it (CSDL members are lower-case; docs/protocol.md §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationStatus {
    /// The task did its work.
    Completed,
    /// The task could not do its work; the workflow records a failure.
    Failed,
}

impl OperationStatus {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationStatus::Completed => "completed",
            OperationStatus::Failed => "failed",
        }
    }
}

/// `{base}/{version}/identityGovernance/lifecycleWorkflows/workflows/{w}/tasks/{t}/taskProcessingResults/{id}/resume`.
///
/// Built from the ids (validated as plain identifiers by the callout parser) under the
/// configured version. `callbackUriPath` names the same ids; the parser already took them from
/// it when the body lacked them.
pub fn resume_url(base_url: &str, version: GraphVersion, callout: &Callout) -> String {
    format!(
        "{base_url}/{}/identityGovernance/lifecycleWorkflows/workflows/{}/tasks/{}/taskProcessingResults/{}/resume",
        version.as_str(),
        callout.workflow.id,
        callout.task.id,
        callout.task_processing_result.id
    )
}

/// `{"data":{"operationStatus":…},"source":"lcw-handler","type":"lifecycleEvent"}`.
pub fn resume_body(status: OperationStatus) -> Value {
    json!({
        "data": { "operationStatus": status },
        "source": RESUME_SOURCE,
        "type": RESUME_TYPE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_the_documented_shape_with_lower_case_status() {
        assert_eq!(
            resume_body(OperationStatus::Completed).to_string(),
            r#"{"data":{"operationStatus":"completed"},"source":"lcw-handler","type":"lifecycleEvent"}"#
        );
        assert_eq!(
            resume_body(OperationStatus::Failed)["data"]["operationStatus"],
            "failed"
        );
    }

    #[test]
    fn url_uses_the_ids_and_version() {
        let callout = Callout::parse(include_bytes!(
            "../../tests/fixtures/callouts/launch-and-wait.json"
        ))
        .unwrap();
        assert_eq!(
            resume_url("https://graph.microsoft.com", GraphVersion::V1, &callout),
            "https://graph.microsoft.com/v1.0/identityGovernance/lifecycleWorkflows/workflows/4f36da05-5df8-457d-adb3-b132e7b59571/tasks/e07dcdb2-0a77-4ee3-8645-3801fbe1cf9f/taskProcessingResults/6e1ec336-8d06-4386-a377-79dbab1a2eb6/resume"
        );
        assert!(
            resume_url("http://x", GraphVersion::Beta, &callout)
                .starts_with("http://x/beta/identityGovernance/")
        );
    }
}
