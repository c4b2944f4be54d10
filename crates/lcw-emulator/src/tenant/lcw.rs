//! Builds callouts the way Lifecycle Workflows sends them to a custom task extension
//! (docs/protocol.md §2).
//!
//! The body follows the reconstructed example of docs/protocol.md §2.3: `callbackUriPath` only in
//! launch-and-wait mode, optional `email` and `manager`, `workflowVersion` as an integer and
//! `createdDateTime` as ISO 8601. The values of `source` and `type` are undocumented, so the
//! caller sends plausible placeholders (`/tenants/<tenant>/workflows/<workflow>` and
//! `lifecycleEvent`), and `data` carries an `@odata.type` so handlers prove they ignore it.
//!
//! Callouts carry no `Authorization` header unless the caller is configured with
//! [`LcwCaller::with_auth`] (PoP or bearer, minted by the tenant's [`Minter`]) or
//! [`LcwCaller::with_authorization`] (a fixed raw value).

use std::sync::Arc;

use serde_json::{Value, json};

use super::caller_auth::{Authorization, CallerAuth, LcwAuth};
use super::minter::Minter;
use crate::functions_host::HttpRequest;

/// The `@odata.type` placed on `data` (its presence on real callouts is unverified).
const CALLOUT_DATA_ODATA_TYPE: &str =
    "microsoft.graph.identityGovernance.customTaskExtensionCalloutData";
/// Placeholder for the undocumented `type` field.
const CALLOUT_TYPE: &str = "lifecycleEvent";
/// Domain of generated users: `.example` is reserved and can never be a real tenant.
const DOMAIN: &str = "contoso.example";

const FIRST_NAMES: [&str; 12] = [
    "Adele",
    "Alex",
    "Diego",
    "Grady",
    "Henrietta",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Megan",
    "Nestor",
];
const LAST_NAMES: [&str; 10] = [
    "Vance",
    "Wilber",
    "Siciliani",
    "Archie",
    "Mueller",
    "Langer",
    "Lorenz",
    "Sherman",
    "Gu",
    "Holloway",
];
const MANAGERS: [(&str, &str); 3] = [
    ("Miriam Graham", "miriam.graham"),
    ("Patti Fernandez", "patti.fernandez"),
    ("Pradeep Gupta", "pradeep.gupta"),
];

/// The user a callout is about (`data.subject`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalloutSubject {
    /// Object id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// User principal name.
    pub user_principal_name: String,
    /// `mail`, sent as `email`; absent when `None`.
    pub mail: Option<String>,
    /// The manager, absent when `None`.
    pub manager: Option<CalloutManager>,
}

/// `data.subject.manager`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalloutManager {
    /// Object id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// `mail`, sent as `email`; absent when `None`.
    pub mail: Option<String>,
}

/// `data.workflow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalloutWorkflow {
    /// Workflow id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// `workflowVersion`.
    pub version: u32,
}

/// `data.task`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalloutTask {
    /// Task id.
    pub id: String,
    /// Display name.
    pub display_name: String,
}

/// Everything one callout says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalloutSpec {
    /// The user.
    pub subject: CalloutSubject,
    /// The workflow.
    pub workflow: CalloutWorkflow,
    /// The "Run a Custom Task Extension" task.
    pub task: CalloutTask,
    /// `taskProcessingResult.id`, the idempotency key.
    pub task_processing_result_id: String,
    /// `taskProcessingResult.createdDateTime` (ISO 8601).
    pub created_date_time: String,
    /// Launch and wait (sends `callbackUriPath`) rather than launch and continue.
    pub launch_and_wait: bool,
}

/// A callout ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callout {
    /// The JSON body text.
    pub body: String,
    /// Request headers (`Content-Type`, and `Authorization` once configured).
    pub headers: Vec<(String, String)>,
    /// `taskProcessingResult.id`.
    pub task_processing_result_id: String,
    /// `data.callbackUriPath`, present in launch-and-wait mode only.
    pub callback_uri_path: Option<String>,
    /// What the callout was built from.
    pub spec: CalloutSpec,
}

impl Callout {
    /// The callout as a `POST` to `path_and_query` (e.g. `/api/lifecycle/callout`) on the
    /// Functions host emulator.
    pub fn http_request(&self, path_and_query: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".to_owned(),
            path_and_query: path_and_query.to_owned(),
            headers: self.headers.clone(),
            body: self.body.clone().into_bytes(),
        }
    }
}

/// Builds callouts as Lifecycle Workflows sends them. Obtain one from
/// [`TenantEmulator::lcw`](super::TenantEmulator::lcw).
///
/// Clones share the caller's access token, as LCW reuses one token across callouts.
#[derive(Debug, Clone)]
pub struct LcwCaller {
    tenant_id: String,
    minter: Minter,
    auth: Arc<CallerAuth>,
}

impl LcwCaller {
    pub(crate) fn new(tenant_id: &str, minter: Minter) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            minter,
            auth: Arc::new(CallerAuth::new(Authorization::Auth(LcwAuth::None))),
        }
    }

    /// Authenticates every callout as LCW does: `PoP <fresh signed HTTP request>` (fresh `ts`
    /// and nonce per callout, one access token reused until near expiry) or `Bearer <token>`.
    /// Replaces any earlier [`with_authorization`](Self::with_authorization) value.
    pub fn with_auth(mut self, auth: LcwAuth) -> Self {
        self.auth = Arc::new(CallerAuth::new(Authorization::Auth(auth)));
        self
    }

    /// Sends `Authorization: <value>`, verbatim, with every callout (for replaying a captured
    /// header or sending garbage). Replaces any earlier [`with_auth`](Self::with_auth).
    pub fn with_authorization(mut self, value: impl Into<String>) -> Self {
        self.auth = Arc::new(CallerAuth::new(Authorization::Raw(value.into())));
        self
    }

    /// The `Authorization` value the next callout would carry (freshly signed for PoP), or
    /// `None` when the caller sends none.
    pub fn authorization(&self) -> Option<String> {
        self.auth.header_value(&self.minter)
    }

    /// Builds one callout.
    pub fn callout(&self, spec: CalloutSpec) -> Callout {
        let callback_uri_path = spec.launch_and_wait.then(|| {
            format!(
                "/identityGovernance/lifecycleWorkflows/workflows/{}/tasks/{}/taskProcessingResults/{}/resume",
                spec.workflow.id, spec.task.id, spec.task_processing_result_id
            )
        });
        let mut subject = json!({
            "id": spec.subject.id,
            "displayName": spec.subject.display_name,
            "userPrincipalName": spec.subject.user_principal_name,
        });
        if let Some(mail) = &spec.subject.mail {
            subject["email"] = json!(mail);
        }
        if let Some(manager) = &spec.subject.manager {
            let mut value = json!({ "id": manager.id, "displayName": manager.display_name });
            if let Some(mail) = &manager.mail {
                value["email"] = json!(mail);
            }
            subject["manager"] = value;
        }
        let mut data = json!({
            "@odata.type": CALLOUT_DATA_ODATA_TYPE,
            "subject": subject,
            "task": { "id": spec.task.id, "displayName": spec.task.display_name },
            "taskProcessingResult": {
                "id": spec.task_processing_result_id,
                "createdDateTime": spec.created_date_time,
            },
            "workflow": {
                "id": spec.workflow.id,
                "displayName": spec.workflow.display_name,
                "workflowVersion": spec.workflow.version,
            },
        });
        if let Some(path) = &callback_uri_path {
            data["callbackUriPath"] = Value::String(path.clone());
        }
        let body = json!({
            "source": format!("/tenants/{}/workflows/{}", self.tenant_id, spec.workflow.id),
            "type": CALLOUT_TYPE,
            "data": data,
        });
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        if let Some(authorization) = self.authorization() {
            headers.push(("Authorization".to_owned(), authorization));
        }
        Callout {
            body: body.to_string(),
            headers,
            task_processing_result_id: spec.task_processing_result_id.clone(),
            callback_uri_path,
            spec,
        }
    }

    /// One joiner workflow, one "Run a Custom Task Extension" task (launch and wait), and
    /// `users` callouts with deterministic names and UPNs under `contoso.example`. Every third
    /// user has no mail and every fourth no manager, so handlers meet both shapes. Ids are
    /// fresh GUIDs.
    pub fn joiner_wave(&self, users: usize) -> Vec<Callout> {
        let workflow = CalloutWorkflow {
            id: new_guid(),
            display_name: "Onboard pre-hire employee".to_owned(),
            version: 1,
        };
        let task = CalloutTask {
            id: new_guid(),
            display_name: "Run a Custom Task Extension".to_owned(),
        };
        let managers: Vec<CalloutManager> = MANAGERS
            .iter()
            .map(|(name, alias)| CalloutManager {
                id: new_guid(),
                display_name: (*name).to_owned(),
                mail: Some(format!("{alias}@{DOMAIN}")),
            })
            .collect();
        let created = utc_now();
        (0..users)
            .map(|i| {
                let first = FIRST_NAMES[i % FIRST_NAMES.len()];
                let last = LAST_NAMES[(i / FIRST_NAMES.len()) % LAST_NAMES.len()];
                let round = i / (FIRST_NAMES.len() * LAST_NAMES.len());
                let alias = if round == 0 {
                    format!("{}.{}", first.to_lowercase(), last.to_lowercase())
                } else {
                    format!("{}.{}{round}", first.to_lowercase(), last.to_lowercase())
                };
                let upn = format!("{alias}@{DOMAIN}");
                let subject = CalloutSubject {
                    id: new_guid(),
                    display_name: format!("{first} {last}"),
                    mail: (i % 3 != 2).then(|| upn.clone()),
                    user_principal_name: upn,
                    manager: (i % 4 != 3).then(|| managers[i % managers.len()].clone()),
                };
                self.callout(CalloutSpec {
                    subject,
                    workflow: workflow.clone(),
                    task: task.clone(),
                    task_processing_result_id: new_guid(),
                    created_date_time: created.clone(),
                    launch_and_wait: true,
                })
            })
            .collect()
    }
}

pub(crate) fn new_guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn utc_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
