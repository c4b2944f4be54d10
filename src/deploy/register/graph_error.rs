//! What went wrong with a Graph call, told so that the reader can fix it.
//!
//! Graph answers errors as OData (`{"error": {"code", "message", "innerError": {"request-id"}}}`)
//! and stamps a `request-id` header; both are shown, because Microsoft support asks for the
//! request id. A `403` also names the exact permission or role the operation needs
//! (docs/protocol.md §6.4, and Microsoft's permission tables for workflows and task
//! definitions), since "Insufficient privileges" alone does not say which to grant.

use std::fmt;

use serde_json::Value;

/// Which registration step a call belongs to; decides the words and the permission named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Looking the extension up by name.
    FindExtension,
    /// Creating it.
    CreateExtension,
    /// Updating it in place.
    UpdateExtension,
    /// Looking up "Run a Custom Task Extension".
    FindTaskDefinition,
    /// Reading the workflow.
    ReadWorkflow,
    /// Creating the workflow's new version.
    CreateWorkflowVersion,
}

impl Operation {
    /// What was being done, for "could not …".
    pub fn describe(self) -> &'static str {
        match self {
            Operation::FindExtension => "look up the custom task extension by display name",
            Operation::CreateExtension => "create the custom task extension",
            Operation::UpdateExtension => "update the custom task extension",
            Operation::FindTaskDefinition => "look up the task definition",
            Operation::ReadWorkflow => "read the workflow",
            Operation::CreateWorkflowVersion => "create a new version of the workflow",
        }
    }

    /// What a `403` for this step means the caller lacks.
    pub fn needed_access(self) -> String {
        let (least, broad) = match self {
            Operation::FindExtension | Operation::CreateExtension | Operation::UpdateExtension => (
                "LifecycleWorkflows-CustomExt.ReadWrite.All",
                "LifecycleWorkflows.ReadWrite.All",
            ),
            Operation::ReadWorkflow | Operation::CreateWorkflowVersion => (
                "LifecycleWorkflows-Workflow.ReadWrite.All",
                "LifecycleWorkflows.ReadWrite.All",
            ),
            Operation::FindTaskDefinition => (
                "LifecycleWorkflows.Read.All",
                "LifecycleWorkflows.ReadWrite.All",
            ),
        };
        let mut text = format!(
            "the caller needs the Microsoft Graph permission {least} (least privileged) or {broad}, \
             as an application permission (a managed identity or app-only caller: grant it to the \
             service principal and consent) or as a delegated permission; a signed-in user (the \
             Azure CLI) also needs at least the Lifecycle Workflows Administrator role"
        );
        if matches!(
            self,
            Operation::CreateExtension | Operation::UpdateExtension
        ) {
            text.push_str(
                ", and for a delegated call Graph may also check an Azure role on the Logic App \
                 named by --logic-app-name (Logic App Contributor, Contributor or Owner)",
            );
        }
        text
    }
}

/// Graph's OData error and correlation, as far as the answer carried them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ODataError {
    /// `error.code`.
    pub code: Option<String>,
    /// `error.message`.
    pub message: Option<String>,
    /// The `request-id` header, else `error.innerError.request-id`.
    pub request_id: Option<String>,
}

impl ODataError {
    /// Reads an error answer's body and `request-id` header.
    pub fn from_answer(body: &[u8], request_id_header: Option<&str>) -> ODataError {
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let error = json.get("error");
        let field = |name: &str| {
            error
                .and_then(|e| e.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        ODataError {
            code: field("code"),
            message: field("message"),
            request_id: request_id_header.map(str::to_owned).or_else(|| {
                error
                    .and_then(|e| e.get("innerError"))
                    .and_then(|i| i.get("request-id"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            }),
        }
    }
}

impl fmt::Display for ODataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}; request-id {}",
            self.code.as_deref().unwrap_or("(no code)"),
            self.message.as_deref().unwrap_or("(no message)"),
            self.request_id.as_deref().unwrap_or("(none)")
        )
    }
}

/// A Graph call that did not do its job.
#[derive(Debug, thiserror::Error)]
pub enum GraphCallError {
    /// No token (the credential's message never holds one).
    #[error("could not get a token for Microsoft Graph: {0}")]
    Token(String),
    /// The request never got an answer.
    #[error("could not {}: {reason} (re-running is safe: registration is idempotent)", .operation.describe())]
    Transport {
        /// The step.
        operation: Operation,
        /// Why.
        reason: String,
    },
    /// `403`: names what to grant.
    #[error("Graph refused to {} (403 {odata}): {}", .operation.describe(), .operation.needed_access())]
    Forbidden {
        /// The step.
        operation: Operation,
        /// Graph's error.
        odata: ODataError,
    },
    /// Any other error status.
    #[error("could not {} ({status} {odata}){}", .operation.describe(), retry_hint(*.status))]
    Status {
        /// The step.
        operation: Operation,
        /// The HTTP status.
        status: u16,
        /// Graph's error.
        odata: ODataError,
    },
    /// A success answer without what registration needs from it.
    #[error("could not {}: Graph's answer {problem}", .operation.describe())]
    UnexpectedAnswer {
        /// The step.
        operation: Operation,
        /// What is missing.
        problem: String,
    },
}

fn retry_hint(status: u16) -> &'static str {
    if status == 429 || status >= 500 {
        " (a transient failure: re-running is safe, registration is idempotent)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odata_errors_carry_code_message_and_request_id() {
        let body = br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"request-id":"inner-id","date":"2026-11-30T08:00:00"}}}"#;
        let from_header = ODataError::from_answer(body, Some("header-id"));
        assert_eq!(from_header.request_id.as_deref(), Some("header-id"));
        let from_body = ODataError::from_answer(body, None);
        assert_eq!(from_body.request_id.as_deref(), Some("inner-id"));
        assert_eq!(
            from_body.to_string(),
            "Authorization_RequestDenied: Insufficient privileges to complete the operation.; request-id inner-id"
        );
        assert_eq!(
            ODataError::from_answer(b"<html>", None).to_string(),
            "(no code): (no message); request-id (none)"
        );
    }

    #[test]
    fn forbidden_names_the_permission_and_role() {
        let error = GraphCallError::Forbidden {
            operation: Operation::CreateExtension,
            odata: ODataError::default(),
        };
        let text = error.to_string();
        for needed in [
            "LifecycleWorkflows-CustomExt.ReadWrite.All",
            "LifecycleWorkflows.ReadWrite.All",
            "Lifecycle Workflows Administrator",
            "Logic App Contributor",
        ] {
            assert!(text.contains(needed), "{needed}: {text}");
        }
        let workflow = GraphCallError::Forbidden {
            operation: Operation::CreateWorkflowVersion,
            odata: ODataError::default(),
        }
        .to_string();
        assert!(
            workflow.contains("LifecycleWorkflows-Workflow.ReadWrite.All"),
            "{workflow}"
        );
    }
}
