//! The Entitlement Management callout, as the handler understands it.
//!
//! EM has been documented in two shapes (docs/protocol.md §7.2): the flat PascalCase body
//! Microsoft's Logic App template declares (`Stage`, `CustomExtensionStageInstanceId`,
//! `CallbackUriPath`, `AccessPackage`, `Assignment`, `Requestor`, …, with explicit `null`s in
//! the one public capture), and Graph's camelCase `accessPackageAssignmentRequestCalloutData`
//! (`accessPackageAssignmentCalloutData` for the pre-expiration stages). Keys are compared
//! case-insensitively, so both read the same; a body wrapped CloudEvent-style in `data` is
//! unwrapped. `null` and `""` mean absent. Only what the resume needs is required: the stage,
//! the stage instance id (EM's idempotency key) and, when EM waits, the request id.
//!
//! [`EntitlementCallout::to_value`] writes the camelCase Graph shape, so a callout read in
//! either shape round-trips.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use super::callback_path::CallbackTarget;
use super::stage::Stage;
use crate::callout::CalloutError;

/// The longest callback window EM allows: 14 days (docs/protocol.md §7.6).
pub const MAX_CALLBACK_TIMEOUT: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// What an EM call to the endpoint is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntitlementCall {
    /// EM checking the endpoint can be called (docs/protocol.md §7.3): answer `202`, nothing else.
    ConnectionTest,
    /// A stage of a request or an assignment.
    Callout(Box<EntitlementCallout>),
}

/// A parsed EM callout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementCallout {
    /// The stage, as sent.
    pub stage: Stage,
    /// `customExtensionStageInstanceId`: EM's idempotency key, sent back in the resume.
    pub stage_instance_id: String,
    /// `accessPackageAssignmentRequestId`, or the id `CallbackUriPath` names.
    pub request_id: Option<String>,
    /// `CallbackUriPath` as sent, when it is a plausible EM resume path.
    pub callback_uri_path: Option<String>,
    /// What the callback path named, when it was plausible.
    pub callback_target: Option<CallbackTarget>,
    /// Whether EM waits for a resume: a stage that can wait, with a callback path or a
    /// callback configuration.
    pub waits_for_resume: bool,
    /// `callbackConfiguration.durationBeforeTimeout` (or `timeoutDuration`), at most 14 days.
    pub callback_timeout: Option<Duration>,
    /// `requestType` (`userAdd`, `adminRemove`, …), free text.
    pub request_type: Option<String>,
    /// `state` of the request, free text.
    pub state: Option<String>,
    /// `status` of the request, free text.
    pub status: Option<String>,
    /// The access package requested.
    pub access_package: Option<Named>,
    /// Its catalog.
    pub catalog: Option<Named>,
    /// The assignment the request is about.
    pub assignment: Option<Assignment>,
    /// Who asked (personal data: log at debug level only).
    pub requestor: Option<AccessPackageSubject>,
    /// The requestor's answers to the policy's questions, as sent.
    pub answers: Vec<Value>,
}

/// An object with an id and a name (`AccessPackage`, `AccessPackageCatalog`, a policy, a
/// connected organisation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Named {
    /// Object id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `Assignment`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    /// Assignment id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `state`, free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `status`, free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The user the assignment is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<AccessPackageSubject>,
    /// `assignmentPolicy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignment_policy: Option<Named>,
}

/// An `accessPackageSubject`: the target of an assignment, or the requestor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPackageSubject {
    /// The subject's id in EM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The user's object id in the directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Mail (personal data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// UPN (personal data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_name: Option<String>,
    /// The connected organisation of an external user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_organization: Option<Named>,
}

impl EntitlementCall {
    /// Parses an EM callout body.
    pub fn parse(body: &[u8]) -> Result<EntitlementCall, CalloutError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| CalloutError::NotJson(e.to_string()))?;
        EntitlementCall::from_value(value)
    }

    /// Parses a callout that is already JSON (as carried in a work item).
    pub fn from_value(value: Value) -> Result<EntitlementCall, CalloutError> {
        super::wire::parse(crate::json_keys::lowercase_keys(value))
    }
}

impl EntitlementCallout {
    /// Parses a body that must be a stage callout, not a connection test (a work item's).
    pub fn from_value(value: Value) -> Result<EntitlementCallout, CalloutError> {
        match EntitlementCall::from_value(value)? {
            EntitlementCall::Callout(callout) => Ok(*callout),
            EntitlementCall::ConnectionTest => Err(CalloutError::Field {
                path: "stage".to_owned(),
                problem: "a connection test carries no work".to_owned(),
            }),
        }
    }

    /// The callout in Graph's camelCase shape (`accessPackageAssignmentRequestCalloutData`).
    pub fn to_value(&self) -> Value {
        let mut value = json!({
            "@odata.type": "#microsoft.graph.accessPackageAssignmentRequestCalloutData",
            "stage": self.stage.as_wire(),
            "customExtensionStageInstanceId": self.stage_instance_id,
        });
        let mut put = |key: &str, item: Option<Value>| {
            if let Some(item) = item {
                value[key] = item;
            }
        };
        put(
            "accessPackageAssignmentRequestId",
            self.request_id.clone().map(Value::from),
        );
        put(
            "callbackUriPath",
            self.callback_uri_path.clone().map(Value::from),
        );
        put(
            "callbackConfiguration",
            self.callback_timeout.map(|timeout| {
                json!({
                    "@odata.type": "#microsoft.graph.customExtensionCallbackConfiguration",
                    "durationBeforeTimeout": crate::iso_duration::format(timeout),
                })
            }),
        );
        put("requestType", self.request_type.clone().map(Value::from));
        put("state", self.state.clone().map(Value::from));
        put("status", self.status.clone().map(Value::from));
        put("accessPackage", self.access_package.as_ref().map(to_json));
        put("accessPackageCatalog", self.catalog.as_ref().map(to_json));
        put("assignment", self.assignment.as_ref().map(to_json));
        put("requestor", self.requestor.as_ref().map(to_json));
        if !self.answers.is_empty() {
            value["answers"] = Value::Array(self.answers.clone());
        }
        value
    }

    /// The user the callout is about: the assignment's target, else the requestor.
    pub fn target(&self) -> Option<&AccessPackageSubject> {
        self.assignment
            .as_ref()
            .and_then(|a| a.target.as_ref())
            .or(self.requestor.as_ref())
    }
}

fn to_json(value: &impl Serialize) -> Value {
    // Structs of strings and options always serialise.
    serde_json::to_value(value).unwrap_or(Value::Null)
}
