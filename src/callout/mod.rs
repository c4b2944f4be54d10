//! The Lifecycle Workflows callout: the JSON body LCW POSTs to a custom task extension.
//!
//! Nobody outside Microsoft has published a captured callout, and the documented samples disagree
//! on casing (`taskProcessingResult` vs `taskProcessingresult`, `workflowVersion` vs
//! `workflowVerson`), so parsing is deliberately tolerant (docs/protocol.md §2.4): keys are compared
//! case-insensitively, unknown fields are ignored, `null` and `""` mean absent, and only the
//! inputs that `resume` needs are required. Everything a caller gets wrong is reported with the
//! JSON path of the field, never with the field's value.
//!
//! This module knows nothing about HTTP, the Functions host or Graph.

mod wire;

use serde::Serialize;
use serde_json::value::RawValue;

pub use wire::CalloutError;

/// The start of every acceptable `callbackUriPath` (docs/protocol.md §2.4 rule 7).
const CALLBACK_PATH_PREFIX: &str = "/identityGovernance/lifecycleWorkflows/";

/// A parsed, validated callout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callout {
    /// `source`, free text (its values are undocumented).
    pub source: Option<String>,
    /// `type`, free text (its values are undocumented).
    pub event_type: Option<String>,
    /// The workflow that ran the task.
    pub workflow: Workflow,
    /// The workflow task ("Run a Custom Task Extension").
    pub task: WorkflowTask,
    /// This run of the task for this user: its id is the idempotency key.
    pub task_processing_result: TaskProcessingResult,
    /// The user the workflow runs for.
    pub subject: Subject,
    /// `callbackUriPath`, present only in launch-and-wait mode and only if it passed the
    /// sanity check; an unusable path is dropped (the ids are used instead).
    pub callback_uri_path: Option<String>,
    /// Whether LCW waits for a resume (it sent a `callbackUriPath`).
    pub launch_and_wait: bool,
}

/// `data.workflow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    /// Workflow id (used in the resume URL).
    pub id: String,
    /// Display name.
    pub display_name: Option<String>,
    /// `workflowVersion` (or the misspelt `workflowVerson`).
    #[serde(rename = "workflowVersion")]
    pub version: Option<i64>,
}

/// `data.task`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowTask {
    /// Task id (used in the resume URL).
    pub id: String,
    /// Display name.
    pub display_name: Option<String>,
}

/// `data.taskProcessingResult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskProcessingResult {
    /// The id: idempotency key and part of the resume URL.
    pub id: String,
    /// ISO 8601 text, kept as received.
    pub created_date_time: Option<String>,
}

/// `data.subject`: the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    /// Object id.
    pub id: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// UPN (personal data: log at debug level only).
    pub user_principal_name: Option<String>,
    /// `mail` (personal data: log at debug level only).
    pub email: Option<String>,
    /// The user's manager, when LCW sends one.
    pub manager: Option<Manager>,
}

/// `data.subject.manager`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Manager {
    /// Object id.
    pub id: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// `mail` (personal data).
    pub email: Option<String>,
}

impl Callout {
    /// Parses a callout body.
    pub fn parse(body: &[u8]) -> Result<Callout, CalloutError> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| CalloutError::NotJson(e.to_string()))?;
        Callout::from_value(value)
    }

    /// Parses a callout body and keeps its text, as received, for the work item. The text is
    /// read once, without building a `Value` tree, whenever it deserialises directly (real
    /// callouts do); otherwise the tree-building path of [`parse`](Self::parse) decides, so
    /// errors are the same either way.
    pub fn read(body: &[u8]) -> Result<(Callout, Box<RawValue>), CalloutError> {
        if let Ok(text) = std::str::from_utf8(body)
            && let Some(parsed) = wire::parse_text(text)
        {
            let callout = parsed?;
            // The text deserialised (keys aside, unchanged), so it is JSON.
            if let Ok(raw) = RawValue::from_string(text.to_owned()) {
                return Ok((callout, raw));
            }
        }
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| CalloutError::NotJson(e.to_string()))?;
        // Parsed as JSON, so it is UTF-8 and one JSON value; the re-serialised tree is the
        // fallback only if that somehow did not hold.
        let raw = match std::str::from_utf8(body).map(|t| RawValue::from_string(t.to_owned())) {
            Ok(Ok(raw)) => raw,
            _ => serde_json::value::to_raw_value(&value)
                .map_err(|e| CalloutError::NotJson(e.to_string()))?,
        };
        Ok((Callout::from_value(value)?, raw))
    }

    /// Parses a callout that is already JSON (as carried in a work item).
    pub fn from_value(value: serde_json::Value) -> Result<Callout, CalloutError> {
        wire::parse(crate::json_keys::lowercase_keys(value))
    }

    /// The callout in the documented wire shape (camelCase, fields under `data`), for replaying
    /// it or handing it to code that expects what LCW sends.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::json!({
            "source": self.source,
            "type": self.event_type,
            "data": {
                "callbackUriPath": self.callback_uri_path,
                "subject": self.subject,
                "task": self.task,
                "taskProcessingResult": self.task_processing_result,
                "workflow": self.workflow,
            }
        })
    }
}

/// Applies docs/protocol.md §2.4 rule 7: a resume path under the LCW root, ending in `/resume`, with
/// no scheme, host, parent segment or query. Returns the ids it names, or `None` if unusable.
pub(crate) fn ids_from_callback_path(path: &str) -> Option<(String, String, String)> {
    let lower = path.to_ascii_lowercase();
    let plausible = lower.starts_with(&CALLBACK_PATH_PREFIX.to_ascii_lowercase())
        && lower.ends_with("/resume")
        && !path.contains("..")
        && !path.contains(['?', '#', '\\'])
        && !path.contains("://");
    if !plausible {
        return None;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // identityGovernance / lifecycleWorkflows / workflows / {w} / tasks / {t} / taskProcessingResults / {id} / resume
    match segments.as_slice() {
        [_, _, workflows, w, tasks, t, results, id, _resume]
            if workflows.eq_ignore_ascii_case("workflows")
                && tasks.eq_ignore_ascii_case("tasks")
                && results.eq_ignore_ascii_case("taskProcessingResults")
                && [w, t, id].iter().all(|s| is_id_segment(s)) =>
        {
            Some((w.to_string(), t.to_string(), id.to_string()))
        }
        _ => None,
    }
}

/// An id that can be put into a URL path as it is.
pub(crate) fn is_id_segment(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests;
