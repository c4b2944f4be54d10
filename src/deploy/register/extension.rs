//! The extension object registration writes: which kind, where it lives in Graph, and its body.
//!
//! Registration is written against an [`ExtensionKind`] so that Entitlement Management custom
//! extensions (`register --entitlement --catalog ID`, a later issue) become a second variant with
//! its own collection and body, while lookup, create-or-update, errors and dry-run stay shared.
//!
//! The body follows docs/protocol.md §6.3 option B: a Logic App trigger endpoint whose `url` is
//! our callout, PoP authentication, the client budget of §4, and for launch-and-wait a callback
//! whose `authorizedApps` names our managed identity, so resume needs no Graph permission (§5.4).

use serde_json::{Map, Value, json};

/// `@odata.type` of the Logic App trigger endpoint.
pub const LOGIC_APP_ENDPOINT_TYPE: &str = "#microsoft.graph.logicAppTriggerEndpointConfiguration";
/// `@odata.type` of PoP authentication (no properties).
pub const POP_AUTHENTICATION_TYPE: &str = "#microsoft.graph.azureAdPopTokenAuthentication";
/// `@odata.type` of the client configuration.
pub const CLIENT_CONFIGURATION_TYPE: &str = "#microsoft.graph.customExtensionClientConfiguration";
/// `@odata.type` of a Lifecycle Workflows callback configuration (it carries `authorizedApps`).
pub const TASK_CALLBACK_TYPE: &str =
    "#microsoft.graph.identityGovernance.customTaskExtensionCallbackConfiguration";

/// Default `clientConfiguration.timeoutInMilliseconds`: the documented maximum (§4), because a
/// cold start of the function can take longer than the 1 s default.
pub const DEFAULT_CLIENT_TIMEOUT_MS: u16 = 2000;
/// Documented range of `timeoutInMilliseconds` (§4).
pub const CLIENT_TIMEOUT_MS_RANGE: std::ops::RangeInclusive<u16> = 200..=2000;
/// Default `clientConfiguration.maximumRetries` (§4).
pub const DEFAULT_MAXIMUM_RETRIES: u8 = 1;
/// Documented range of `maximumRetries` (§4).
pub const MAXIMUM_RETRIES_RANGE: std::ops::RangeInclusive<u8> = 0..=1;

/// Which kind of custom extension is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionKind {
    /// A Lifecycle Workflows `customTaskExtension`, run by the "Run a Custom Task Extension" task.
    LifecycleTask,
}

impl ExtensionKind {
    /// The collection under the Graph version, e.g. for `POST` and `$filter` lookups.
    pub fn collection_path(self) -> &'static str {
        match self {
            ExtensionKind::LifecycleTask => {
                "identityGovernance/lifecycleWorkflows/customTaskExtensions"
            }
        }
    }

    /// How people call it, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            ExtensionKind::LifecycleTask => "custom task extension",
        }
    }

    /// The `@odata.type` of the callback configuration this kind takes.
    fn callback_type(self) -> &'static str {
        match self {
            ExtensionKind::LifecycleTask => TASK_CALLBACK_TYPE,
        }
    }

    /// The body of a create (`POST`) or an update in place (`PATCH`).
    ///
    /// Both carry every property registration owns, so a re-run converges on the same object.
    /// An update to launch-and-continue sends `callbackConfiguration: null`, because a `PATCH`
    /// leaves omitted properties as they were, and an old callback would keep LCW waiting.
    pub fn body(self, spec: &ExtensionSpec, write: Write) -> Value {
        let mut body = Map::new();
        body.insert("displayName".into(), json!(spec.display_name));
        body.insert("description".into(), json!(spec.description));
        body.insert("endpointConfiguration".into(), spec.endpoint.to_json());
        body.insert(
            "authenticationConfiguration".into(),
            json!({ "@odata.type": POP_AUTHENTICATION_TYPE }),
        );
        body.insert(
            "clientConfiguration".into(),
            json!({
                "@odata.type": CLIENT_CONFIGURATION_TYPE,
                "timeoutInMilliseconds": spec.client.timeout_ms,
                "maximumRetries": spec.client.maximum_retries,
            }),
        );
        match (&spec.completion, write) {
            (
                Completion::LaunchAndWait {
                    timeout_duration,
                    authorized_app_id,
                },
                _,
            ) => {
                body.insert(
                    "callbackConfiguration".into(),
                    json!({
                        "@odata.type": self.callback_type(),
                        "timeoutDuration": timeout_duration,
                        "authorizedApps": authorized_apps(authorized_app_id),
                    }),
                );
            }
            (Completion::LaunchAndContinue, Write::Update) => {
                body.insert("callbackConfiguration".into(), Value::Null);
            }
            (Completion::LaunchAndContinue, Write::Create) => {}
        }
        Value::Object(body)
    }
}

/// Whether a body creates the extension or updates it in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `POST` to the collection.
    Create,
    /// `PATCH` of the existing object.
    Update,
}

/// The `authorizedApps` value naming the app allowed to resume.
///
/// Microsoft shows no JSON for this navigation collection; `[{"id": "<client id>"}]` is what
/// third-party IaC sends (docs/protocol.md §5.4, §10 item 3). This is the one place that shape
/// is written, so a correction after a lab test is a one-line change.
pub fn authorized_apps(client_id: &str) -> Value {
    json!([{ "id": client_id }])
}

/// The Logic App trigger endpoint LCW calls (and whose ARM path forms the PoP `p` claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicAppEndpoint {
    /// `subscriptionId`.
    pub subscription_id: String,
    /// `resourceGroupName`.
    pub resource_group: String,
    /// `logicAppWorkflowName`.
    pub logic_app_name: String,
    /// `url`: our callout, or the forwarder's trigger without its SAS query.
    pub url: String,
}

impl LogicAppEndpoint {
    fn to_json(&self) -> Value {
        json!({
            "@odata.type": LOGIC_APP_ENDPOINT_TYPE,
            "subscriptionId": self.subscription_id,
            "resourceGroupName": self.resource_group,
            "logicAppWorkflowName": self.logic_app_name,
            "url": self.url,
        })
    }

    /// The PoP path the handler must expect for this endpoint.
    pub fn pop_path(&self) -> String {
        super::pop_path::pop_path(
            &self.subscription_id,
            &self.resource_group,
            &self.logic_app_name,
        )
    }
}

/// LCW's budget for the callout itself (docs/protocol.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSettings {
    /// `timeoutInMilliseconds`, 200–2000.
    pub timeout_ms: u16,
    /// `maximumRetries`, 0 or 1.
    pub maximum_retries: u8,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            timeout_ms: DEFAULT_CLIENT_TIMEOUT_MS,
            maximum_retries: DEFAULT_MAXIMUM_RETRIES,
        }
    }
}

/// Whether the workflow waits for our resume (docs/protocol.md §2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// LCW waits up to `timeout_duration` for a resume from `authorized_app_id`.
    LaunchAndWait {
        /// ISO 8601 `timeoutDuration`, validated.
        timeout_duration: String,
        /// Client id of the identity that resumes (the function's managed identity).
        authorized_app_id: String,
    },
    /// LCW moves on at once; no callback is registered.
    LaunchAndContinue,
}

/// Everything the extension's body is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionSpec {
    /// `displayName`, also how a re-run finds the extension.
    pub display_name: String,
    /// `description`.
    pub description: String,
    /// `endpointConfiguration`.
    pub endpoint: LogicAppEndpoint,
    /// `clientConfiguration`.
    pub client: ClientSettings,
    /// `callbackConfiguration`, or none.
    pub completion: Completion,
}

#[cfg(test)]
pub(crate) fn sample_spec() -> ExtensionSpec {
    ExtensionSpec {
        display_name: "lcw-handler lcw-callout".into(),
        description: "Runs an lcw-handler task".into(),
        endpoint: LogicAppEndpoint {
            subscription_id: "c500b67c-e9b7-4ad2-a90d-77d41385ae55".into(),
            resource_group: "rg-lcw".into(),
            logic_app_name: "lcw-callout".into(),
            url: "https://func-lcw.azurewebsites.net/api/lifecycle/callout".into(),
        },
        client: ClientSettings::default(),
        completion: Completion::LaunchAndWait {
            timeout_duration: "PT30M".into(),
            authorized_app_id: "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_and_wait_body_is_option_b_of_the_protocol_notes() {
        let body = ExtensionKind::LifecycleTask.body(&sample_spec(), Write::Create);
        assert_eq!(
            body,
            json!({
                "displayName": "lcw-handler lcw-callout",
                "description": "Runs an lcw-handler task",
                "endpointConfiguration": {
                    "@odata.type": "#microsoft.graph.logicAppTriggerEndpointConfiguration",
                    "subscriptionId": "c500b67c-e9b7-4ad2-a90d-77d41385ae55",
                    "resourceGroupName": "rg-lcw",
                    "logicAppWorkflowName": "lcw-callout",
                    "url": "https://func-lcw.azurewebsites.net/api/lifecycle/callout"
                },
                "authenticationConfiguration": {
                    "@odata.type": "#microsoft.graph.azureAdPopTokenAuthentication"
                },
                "clientConfiguration": {
                    "@odata.type": "#microsoft.graph.customExtensionClientConfiguration",
                    "timeoutInMilliseconds": 2000,
                    "maximumRetries": 1
                },
                "callbackConfiguration": {
                    "@odata.type": "#microsoft.graph.identityGovernance.customTaskExtensionCallbackConfiguration",
                    "timeoutDuration": "PT30M",
                    "authorizedApps": [{"id": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"}]
                }
            })
        );
        assert_eq!(
            ExtensionKind::LifecycleTask.body(&sample_spec(), Write::Update),
            body,
            "a re-run converges on the same object"
        );
    }

    #[test]
    fn launch_and_continue_has_no_callback_and_clears_an_old_one() {
        let spec = ExtensionSpec {
            completion: Completion::LaunchAndContinue,
            ..sample_spec()
        };
        let create = ExtensionKind::LifecycleTask.body(&spec, Write::Create);
        assert!(create.get("callbackConfiguration").is_none(), "{create}");
        let update = ExtensionKind::LifecycleTask.body(&spec, Write::Update);
        assert_eq!(update["callbackConfiguration"], Value::Null);
        assert!(
            update
                .as_object()
                .unwrap()
                .contains_key("callbackConfiguration")
        );
    }

    #[test]
    fn endpoint_forms_the_pop_path() {
        assert_eq!(
            sample_spec().endpoint.pop_path(),
            "/subscriptions/c500b67c-e9b7-4ad2-a90d-77d41385ae55/resourceGroups/rg-lcw/providers/Microsoft.Logic/workflows/lcw-callout"
        );
    }
}
