//! Builds callouts the way Entitlement Management sends them to a custom extension
//! (docs/protocol.md §7.2), authenticated as EM's application (docs/protocol.md §7.4).
//!
//! The body is the flat PascalCase one of Microsoft's EM Logic App template, with the explicit
//! `null`s the one public capture shows; the connection test (`Stage` =
//! `CustomExtensionConnectionTest`) carries nothing else. The caller's tokens name EM's
//! application (`810dcf14-…`) where the LCW caller's name Lifecycle Workflows, and are otherwise
//! minted the same way, so a handler can be shown refusing one caller's token at the other's
//! endpoint.

use std::sync::Arc;

use serde_json::{Value, json};

use super::caller_auth::{Authorization, CallerAuth, LcwAuth};
use super::lcw::new_guid;
use super::minter::{ENTITLEMENT_MANAGEMENT_APP_ID, Minter};
use crate::functions_host::HttpRequest;

/// The connection test's stage value (docs/protocol.md §7.3).
pub const CONNECTION_TEST_STAGE: &str = "CustomExtensionConnectionTest";
/// The dynamic-approval stage.
pub const APPROVAL_STAGE: &str = "assignmentRequestDeterminingApprovalRequirements";

/// What one EM callout is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementSpec {
    /// The stage, as EM spells it (e.g. `assignmentRequestCreated`).
    pub stage: String,
    /// `AccessPackageAssignmentRequestId`.
    pub request_id: String,
    /// `CustomExtensionStageInstanceId` (fresh per stage).
    pub stage_instance_id: String,
    /// Whether EM waits for a resume (`CallbackUriPath` and `CallbackConfiguration` are sent).
    pub waits: bool,
    /// `CallbackConfiguration.DurationBeforeTimeout`.
    pub timeout: String,
    /// The access package's display name.
    pub access_package: String,
    /// The target user's object id.
    pub target_object_id: String,
    /// The target user's display name.
    pub target_name: String,
}

/// One EM callout, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementCallout {
    /// The JSON body.
    pub body: String,
    /// `Content-Type`, `Authorization` (when configured).
    pub headers: Vec<(String, String)>,
    /// What it was built from (`None` for a connection test).
    pub spec: Option<EntitlementSpec>,
}

impl EntitlementCallout {
    /// The callout as an HTTP request to `path_and_query`.
    pub fn http_request(&self, path_and_query: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".to_owned(),
            path_and_query: path_and_query.to_owned(),
            headers: self.headers.clone(),
            body: self.body.clone().into_bytes(),
        }
    }
}

/// Entitlement Management, calling a custom extension of this tenant.
#[derive(Debug, Clone)]
pub struct EntitlementCaller {
    minter: Minter,
    auth: Arc<CallerAuth>,
}

impl EntitlementCaller {
    pub(crate) fn new(minter: Minter) -> Self {
        Self {
            minter,
            auth: Arc::new(CallerAuth::for_app(
                Authorization::Auth(LcwAuth::None),
                ENTITLEMENT_MANAGEMENT_APP_ID,
            )),
        }
    }

    /// Authenticates callouts with `auth`, as EM's application.
    pub fn with_auth(mut self, auth: LcwAuth) -> Self {
        self.auth = Arc::new(CallerAuth::for_app(
            Authorization::Auth(auth),
            ENTITLEMENT_MANAGEMENT_APP_ID,
        ));
        self
    }

    /// A fresh `Authorization` value, if the caller authenticates.
    pub fn authorization(&self) -> Option<String> {
        self.auth.header_value(&self.minter)
    }

    fn headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            // The one public capture of an EM callout arrived with it.
            ("Expect".to_owned(), "100-continue".to_owned()),
        ];
        if let Some(authorization) = self.authorization() {
            headers.push(("Authorization".to_owned(), authorization));
        }
        headers
    }

    /// EM's connection test: `Stage` = `CustomExtensionConnectionTest`, everything else `null`.
    pub fn connection_test(&self) -> EntitlementCallout {
        let body = json!({
            "AccessPackageAssignmentRequestId": null,
            "CustomExtensionStageInstanceId": null,
            "Stage": CONNECTION_TEST_STAGE,
            "CallbackUriPath": null,
            "AccessPackage": null,
            "Assignment": null,
            "Requestor": null,
        });
        EntitlementCallout {
            body: body.to_string(),
            headers: self.headers(),
            spec: None,
        }
    }

    /// A stage callout in the Logic App template's flat PascalCase shape.
    pub fn callout(&self, spec: EntitlementSpec) -> EntitlementCallout {
        let callback = |value: Value| if spec.waits { value } else { Value::Null };
        let body = json!({
            "AccessPackageAssignmentRequestId": spec.request_id,
            "CustomExtensionStageInstanceId": spec.stage_instance_id,
            "Stage": spec.stage,
            "CallbackUriPath": callback(json!(format!(
                "/identityGovernance/entitlementManagement/assignmentRequests/{}/resume",
                spec.request_id
            ))),
            "RequestType": "UserAdd",
            "State": null,
            "Status": null,
            "Answers": null,
            "CallbackConfiguration": callback(json!({ "DurationBeforeTimeout": spec.timeout })),
            "AccessPackage": { "Id": new_guid(), "DisplayName": spec.access_package, "Description": null },
            "AccessPackageCatalog": { "Id": new_guid(), "DisplayName": "General", "Description": null },
            "Assignment": {
                "Id": null,
                "State": null,
                "Status": null,
                "Target": {
                    "Id": new_guid(),
                    "ObjectId": spec.target_object_id,
                    "DisplayName": spec.target_name,
                    "ConnectedOrganization": null,
                },
            },
            "Requestor": {
                "Id": new_guid(),
                "ObjectId": spec.target_object_id,
                "DisplayName": spec.target_name,
            },
        });
        EntitlementCallout {
            body: body.to_string(),
            headers: self.headers(),
            spec: Some(spec),
        }
    }

    /// The callouts of one request through created → approval stage → granted, for one user:
    /// the same request id, a fresh stage instance id per stage.
    pub fn request_lifecycle(&self, target_name: &str) -> Vec<EntitlementCallout> {
        let request_id = new_guid();
        let target_object_id = new_guid();
        [
            "assignmentRequestCreated",
            APPROVAL_STAGE,
            "assignmentRequestGranted",
        ]
        .into_iter()
        .map(|stage| {
            self.callout(EntitlementSpec {
                stage: stage.to_owned(),
                request_id: request_id.clone(),
                stage_instance_id: new_guid(),
                waits: true,
                timeout: "PT1H".to_owned(),
                access_package: "Sales tools".to_owned(),
                target_object_id: target_object_id.clone(),
                target_name: target_name.to_owned(),
            })
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::{TenantEmulator, TenantOptions};

    #[tokio::test]
    async fn callouts_carry_em_pascal_case_and_em_tokens() {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .unwrap();
        let caller = tenant
            .entitlement()
            .with_auth(LcwAuth::Pop(tenant.pop_settings()));
        let flow = caller.request_lifecycle("Adele Vance");
        assert_eq!(flow.len(), 3);
        let bodies: Vec<Value> = flow
            .iter()
            .map(|c| serde_json::from_str(&c.body).unwrap())
            .collect();
        assert_eq!(bodies[1]["Stage"], APPROVAL_STAGE);
        assert_eq!(
            bodies[0]["AccessPackageAssignmentRequestId"],
            bodies[2]["AccessPackageAssignmentRequestId"]
        );
        assert_ne!(
            bodies[0]["CustomExtensionStageInstanceId"],
            bodies[2]["CustomExtensionStageInstanceId"]
        );
        assert!(bodies[0]["State"].is_null(), "explicit nulls");
        let authorization = flow[0]
            .headers
            .iter()
            .find(|(k, _)| k == "Authorization")
            .map(|(_, v)| v.clone())
            .unwrap();
        let at = signed_request_at(&authorization);
        assert_eq!(at["appid"], ENTITLEMENT_MANAGEMENT_APP_ID);
        let test: Value = serde_json::from_str(&caller.connection_test().body).unwrap();
        assert_eq!(test["Stage"], CONNECTION_TEST_STAGE);
    }

    /// The claims of the access token inside a PoP `Authorization` value (no verification:
    /// the handler's tests verify; this only reads what was minted).
    fn signed_request_at(authorization: &str) -> Value {
        use base64::Engine;
        let decode = |part: &str| -> Value {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap();
            serde_json::from_slice(&bytes).unwrap()
        };
        let shr = authorization.strip_prefix("PoP ").unwrap();
        let claims = decode(shr.split('.').nth(1).unwrap());
        let at = claims["at"].as_str().unwrap();
        decode(at.split('.').nth(1).unwrap())
    }
}
