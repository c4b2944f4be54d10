//! The Graph side of registering an extension (docs/protocol.md §6): `customTaskExtensions` (list with
//! `$filter`, create, read, update), workflows (read, `createNewVersion`) and task definitions,
//! under `/v1.0` and `/beta`.
//!
//! Every request is recorded with its body and the answer given, and every body is validated
//! field by field (`registration_schema`), so a test can assert both what a client sent and that
//! Graph would have taken it. Tokens are checked exactly as for resume: only tokens the identity
//! endpoint issued for Graph are accepted. [`TenantEmulator::set_registration_forbidden`] makes
//! every registration call answer `403`, as Graph does for a caller without the permission.
//!
//! Workflows exist only when seeded ([`TenantEmulator::seed_workflow`]); task definitions are a
//! fixed list of documented built-in ones.

use std::time::SystemTime;

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value, json};

use super::graph::{Answer, check_bearer, utc_now};
use super::registration_schema::{self as schema, RUN_CUSTOM_TASK_EXTENSION, Write};
use super::{TenantEmulator, TenantState};

/// Largest registration body the fake reads.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Literal segments before the resource, matched case-insensitively as Graph does.
const PREFIX: [&str; 2] = ["identityGovernance", "lifecycleWorkflows"];
const API_VERSIONS: [&str; 2] = ["v1.0", "beta"];
/// The two spellings of the action segment (plain and SDK-qualified).
const NEW_VERSION_ACTIONS: [&str; 2] = [
    "createNewVersion",
    "microsoft.graph.identityGovernance.createNewVersion",
];

/// Built-in task definitions the fake knows: id, display name, category, parameters
/// (docs/protocol.md §6.5 and the `taskDefinitions` list sample).
const TASK_DEFINITIONS: [(&str, &str, &str, &[&str]); 4] = [
    (
        RUN_CUSTOM_TASK_EXTENSION,
        "Run a Custom Task Extension",
        "joiner,leaver,mover",
        &["customTaskExtensionID"],
    ),
    (
        "6fc52c9d-398b-4305-9763-15f42c1676fc",
        "Enable User Account",
        "joiner,leaver",
        &[],
    ),
    (
        "70b29d51-b59a-4773-9280-8841dfd3f2ea",
        "Send Welcome Email",
        "joiner",
        &["cc", "customSubject", "customBody", "locale"],
    ),
    (
        "22085229-5809-45e8-97fd-270d28d66910",
        "Add User To Groups",
        "joiner,leaver,mover",
        &["groupID"],
    ),
];

/// One registration request as received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRegistration {
    /// `GET`, `POST`, `PATCH`, …
    pub method: String,
    /// `v1.0` or `beta`, as in the URL.
    pub api_version: String,
    /// The path after the version, e.g. `identityGovernance/lifecycleWorkflows/customTaskExtensions`.
    pub path: String,
    /// The decoded `$filter`, if any.
    pub filter: Option<String>,
    /// The request body (`Null` when there was none or it was not JSON).
    pub body: Value,
    /// Whether the bearer token was one the identity endpoint issued for Graph and unexpired.
    pub authorized: bool,
    /// The status answered.
    pub status: u16,
    /// The OData error message answered, if any (names the refused property for a `400`).
    pub error: Option<String>,
    /// When it arrived.
    pub received_at: SystemTime,
}

/// Registration objects and the record of requests.
#[derive(Debug, Default)]
pub(crate) struct RegistrationState {
    extensions: Vec<Map<String, Value>>,
    workflows: Vec<Map<String, Value>>,
    requests: Vec<RecordedRegistration>,
    forbidden: bool,
}

/// A registration resource the fake serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Extensions,
    Extension(String),
    Workflow(String),
    NewVersion(String),
    TaskDefinitions,
}

/// Where a request goes: its version and resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    api_version: String,
    path: String,
    route: Route,
}

/// The registration resource a path names, if any.
pub(crate) fn target(path: &str) -> Option<Target> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (version, rest) = segments.split_first()?;
    let version = API_VERSIONS
        .iter()
        .find(|v| v.eq_ignore_ascii_case(version))?;
    let (prefix, resource) = rest.split_at_checked(PREFIX.len())?;
    if !PREFIX
        .iter()
        .zip(prefix)
        .all(|(want, got)| want.eq_ignore_ascii_case(got))
    {
        return None;
    }
    let is = |got: &str, want: &str| got.eq_ignore_ascii_case(want);
    let route = match resource {
        [c] if is(c, "customTaskExtensions") => Route::Extensions,
        [c, id] if is(c, "customTaskExtensions") && !id.is_empty() => {
            Route::Extension((*id).to_owned())
        }
        [w, id] if is(w, "workflows") && !id.is_empty() => Route::Workflow((*id).to_owned()),
        [w, id, action]
            if is(w, "workflows")
                && !id.is_empty()
                && NEW_VERSION_ACTIONS.iter().any(|a| is(action, a)) =>
        {
            Route::NewVersion((*id).to_owned())
        }
        [t] if is(t, "taskDefinitions") => Route::TaskDefinitions,
        _ => return None,
    };
    Some(Target {
        api_version: (*version).to_owned(),
        path: rest.join("/"),
        route,
    })
}

/// Answers one registration request and records it.
pub(crate) async fn answer(
    state: &TenantState,
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
    target: Target,
) -> Answer {
    let received_at = SystemTime::now();
    let body: Value = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) if !bytes.is_empty() => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let filter = query.and_then(filter_of);
    let authorized = check_bearer(state, headers);
    let answer = match &authorized {
        Err(message) => Answer::error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            *message,
        ),
        Ok(()) if state.graph().registration.forbidden => Answer::error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ),
        Ok(()) => {
            let mut graph = state.graph();
            let registry = &mut graph.registration;
            match (method.clone(), &target.route) {
                (Method::GET, Route::Extensions) => list_extensions(registry, filter.as_deref()),
                (Method::POST, Route::Extensions) => create_extension(registry, &body),
                (Method::GET, Route::Extension(id)) => get_extension(registry, id),
                (Method::PATCH, Route::Extension(id)) => update_extension(registry, id, &body),
                (Method::GET, Route::Workflow(id)) => get_workflow(registry, id),
                (Method::POST, Route::NewVersion(id)) => new_version(registry, id, &body),
                (Method::GET, Route::TaskDefinitions) => task_definitions(filter.as_deref()),
                _ => Answer::error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    format!("{method} is not supported on '{}'.", target.path),
                ),
            }
        }
    };
    let record = RecordedRegistration {
        method: method.to_string(),
        api_version: target.api_version,
        path: target.path,
        filter,
        body,
        authorized: authorized.is_ok(),
        status: answer.status().as_u16(),
        error: answer.error_message().map(str::to_owned),
        received_at,
    };
    tracing::debug!(method = %record.method, path = %record.path, status = record.status, "graph fake answered a registration request");
    state.graph().registration.requests.push(record);
    answer
}

fn list_extensions(registry: &RegistrationState, filter: Option<&str>) -> Answer {
    let wanted = match filter.map(display_name_filter) {
        None => None,
        Some(Ok(name)) => Some(name),
        Some(Err(answer)) => return answer,
    };
    let value: Vec<Value> = registry
        .extensions
        .iter()
        .filter(|e| {
            wanted.as_deref().is_none_or(|name| {
                e.get("displayName")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
        })
        .map(|e| Value::Object(e.clone()))
        .collect();
    Answer::json(
        StatusCode::OK,
        json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identityGovernance/lifecycleWorkflows/customTaskExtensions",
            "value": value,
        }),
    )
}

fn create_extension(registry: &mut RegistrationState, body: &Value) -> Answer {
    if let Err(refusal) = schema::custom_task_extension(body, Write::Create) {
        return Answer::error(StatusCode::BAD_REQUEST, "BadRequest", refusal);
    }
    let name = body["displayName"].as_str().unwrap_or_default();
    if let Some(conflict) = name_taken(registry, name, None) {
        return conflict;
    }
    let now = utc_now();
    let mut stored = body.as_object().cloned().unwrap_or_default();
    stored.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
    stored.insert("createdDateTime".into(), json!(now));
    stored.insert("lastModifiedDateTime".into(), json!(now));
    registry.extensions.push(stored.clone());
    Answer::json(
        StatusCode::CREATED,
        with_context(stored, "customTaskExtensions/$entity"),
    )
}

fn get_extension(registry: &RegistrationState, id: &str) -> Answer {
    match registry.extensions.iter().find(|e| same_id(e, id)) {
        Some(extension) => Answer::json(
            StatusCode::OK,
            with_context(extension.clone(), "customTaskExtensions/$entity"),
        ),
        None => not_found("customTaskExtension", id),
    }
}

/// `PATCH`: every given property replaces the stored one (`null` clears it); `204`.
fn update_extension(registry: &mut RegistrationState, id: &str, body: &Value) -> Answer {
    let Some(index) = registry.extensions.iter().position(|e| same_id(e, id)) else {
        return not_found("customTaskExtension", id);
    };
    if let Err(refusal) = schema::custom_task_extension(body, Write::Update) {
        return Answer::error(StatusCode::BAD_REQUEST, "BadRequest", refusal);
    }
    if let Some(name) = body.get("displayName").and_then(Value::as_str)
        && let Some(conflict) = name_taken(registry, name, Some(index))
    {
        return conflict;
    }
    let stored = &mut registry.extensions[index];
    for (key, value) in body.as_object().into_iter().flatten() {
        stored.insert(key.clone(), value.clone());
    }
    stored.insert("lastModifiedDateTime".into(), json!(utc_now()));
    Answer::no_content()
}

/// `displayName` is documented as unique; Graph's answer to a duplicate is undocumented, and
/// `409 Conflict` is the fake's choice.
fn name_taken(registry: &RegistrationState, name: &str, except: Option<usize>) -> Option<Answer> {
    let taken = registry.extensions.iter().enumerate().any(|(i, e)| {
        Some(i) != except
            && e.get("displayName")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
    });
    taken.then(|| {
        Answer::error(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "Property 'displayName': a custom task extension named '{name}' already exists."
            ),
        )
    })
}

fn get_workflow(registry: &RegistrationState, id: &str) -> Answer {
    match registry.workflows.iter().find(|w| same_id(w, id)) {
        Some(workflow) => Answer::json(
            StatusCode::OK,
            with_context(workflow.clone(), "workflows/$entity"),
        ),
        None => not_found("workflow", id),
    }
}

/// `createNewVersion`: validates, then replaces the workflow's properties and tasks, bumps
/// `version` and answers `200` with the workflow.
fn new_version(registry: &mut RegistrationState, id: &str, body: &Value) -> Answer {
    let Some(index) = registry.workflows.iter().position(|w| same_id(w, id)) else {
        return not_found("workflow", id);
    };
    let extension_ids: Vec<String> = registry
        .extensions
        .iter()
        .filter_map(|e| e.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let exists = |id: &str| {
        extension_ids
            .iter()
            .any(|known| known.eq_ignore_ascii_case(id))
    };
    let definitions: Vec<&str> = TASK_DEFINITIONS.iter().map(|d| d.0).collect();
    let given = match schema::new_version(body, &exists, &definitions) {
        Ok(given) => given.clone(),
        Err(refusal) => return Answer::error(StatusCode::BAD_REQUEST, "BadRequest", refusal),
    };
    let workflow = &mut registry.workflows[index];
    for (key, value) in given {
        if key == "tasks" {
            workflow.insert(key, with_task_ids(value));
        } else {
            workflow.insert(key, value);
        }
    }
    let version = workflow.get("version").and_then(Value::as_i64).unwrap_or(1) + 1;
    workflow.insert("version".into(), json!(version));
    workflow.insert("lastModifiedDateTime".into(), json!(utc_now()));
    Answer::json(
        StatusCode::OK,
        with_context(workflow.clone(), "workflows/$entity"),
    )
}

fn task_definitions(filter: Option<&str>) -> Answer {
    let wanted = match filter.map(display_name_filter) {
        None => None,
        Some(Ok(name)) => Some(name),
        Some(Err(answer)) => return answer,
    };
    let value: Vec<Value> = TASK_DEFINITIONS
        .iter()
        .filter(|(_, name, _, _)| {
            wanted
                .as_deref()
                .is_none_or(|w| w.eq_ignore_ascii_case(name))
        })
        .map(|(id, name, category, parameters)| {
            json!({
                "id": id,
                "displayName": name,
                "category": category,
                "description": name,
                "version": 1,
                "parameters": parameters.iter().map(|p| json!({"name": p, "values": [], "valueType": "string"})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Answer::json(
        StatusCode::OK,
        json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identityGovernance/lifecycleWorkflows/taskDefinitions",
            "value": value,
        }),
    )
}

/// The only filter the fake understands: `displayName eq '<literal>'` (`''` escapes a quote).
/// Anything else is Graph's `400` for an unsupported filter.
fn display_name_filter(filter: &str) -> Result<String, Answer> {
    let unsupported = || {
        Answer::error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "Invalid filter clause: the fake supports only displayName eq '<name>', not '{filter}'."
            ),
        )
    };
    let rest = filter.trim();
    let (property, rest) = rest
        .split_once(char::is_whitespace)
        .ok_or_else(unsupported)?;
    let (operator, literal) = rest
        .trim_start()
        .split_once(char::is_whitespace)
        .ok_or_else(unsupported)?;
    if property != "displayName" || !operator.eq_ignore_ascii_case("eq") {
        return Err(unsupported());
    }
    let inner = literal
        .trim()
        .strip_prefix('\'')
        .and_then(|l| l.strip_suffix('\''))
        .ok_or_else(unsupported)?;
    if inner.replace("''", "").contains('\'') {
        return Err(unsupported());
    }
    Ok(inner.replace("''", "'"))
}

/// The decoded `$filter` of a query string.
fn filter_of(query: &str) -> Option<String> {
    let url = reqwest::Url::parse(&format!("http://fake/?{query}")).ok()?;
    url.query_pairs()
        .find(|(name, _)| name == "$filter")
        .map(|(_, value)| value.into_owned())
}

fn same_id(object: &Map<String, Value>, id: &str) -> bool {
    object
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|known| known.eq_ignore_ascii_case(id))
}

fn with_context(mut object: Map<String, Value>, entity: &str) -> Value {
    object.insert(
        "@odata.context".into(),
        json!(format!(
            "https://graph.microsoft.com/v1.0/$metadata#identityGovernance/lifecycleWorkflows/{entity}"
        )),
    );
    Value::Object(object)
}

fn not_found(what: &str, id: &str) -> Answer {
    Answer::error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!("The {what} '{id}' was not found."),
    )
}

/// Tasks as Graph stores them: each with an `id` and its `executionSequence`.
fn with_task_ids(tasks: Value) -> Value {
    let tasks = tasks.as_array().cloned().unwrap_or_default();
    Value::Array(
        tasks
            .into_iter()
            .enumerate()
            .map(|(index, mut task)| {
                if let Some(task) = task.as_object_mut() {
                    task.entry("id")
                        .or_insert_with(|| json!(uuid::Uuid::new_v4().to_string()));
                    task.insert("executionSequence".into(), json!(index + 1));
                    task.entry("arguments").or_insert_with(|| json!([]));
                }
                task
            })
            .collect(),
    )
}

impl TenantEmulator {
    /// Every registration request received, in order, rejected ones included.
    pub fn registration_requests(&self) -> Vec<RecordedRegistration> {
        self.state.graph().registration.requests.clone()
    }

    /// The custom task extensions as stored (with `id` and timestamps).
    pub fn custom_task_extensions(&self) -> Vec<Value> {
        self.state
            .graph()
            .registration
            .extensions
            .iter()
            .map(|e| Value::Object(e.clone()))
            .collect()
    }

    /// Stores an extension as if created earlier (validated like a `POST`), returning its id;
    /// unlike Graph, a duplicate name is allowed here, to stage the case Graph forbids.
    pub fn seed_custom_task_extension(&self, extension: Value) -> Result<String, String> {
        schema::custom_task_extension(&extension, Write::Create)?;
        let id = uuid::Uuid::new_v4().to_string();
        let mut stored = extension.as_object().cloned().unwrap_or_default();
        stored.insert("id".into(), json!(id));
        stored.insert("createdDateTime".into(), json!(utc_now()));
        self.state.graph().registration.extensions.push(stored);
        Ok(id)
    }

    /// Stores a workflow (as `GET …/workflows/{id}` shows one, e.g. the documented sample) and
    /// returns its id: the given `id`, or a new one. Tasks get ids and execution order,
    /// `version` defaults to 1.
    pub fn seed_workflow(&self, workflow: Value) -> String {
        let mut stored = workflow.as_object().cloned().unwrap_or_default();
        let id = stored
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        stored.insert("id".into(), json!(id));
        stored.entry("version").or_insert(json!(1));
        let tasks = stored.remove("tasks").unwrap_or_else(|| json!([]));
        stored.insert("tasks".into(), with_task_ids(tasks));
        self.state.graph().registration.workflows.push(stored);
        id
    }

    /// A workflow as currently stored (after any new versions).
    pub fn workflow(&self, id: &str) -> Option<Value> {
        self.state
            .graph()
            .registration
            .workflows
            .iter()
            .find(|w| same_id(w, id))
            .map(|w| Value::Object(w.clone()))
    }

    /// When `true`, every authenticated registration request answers `403`
    /// `Authorization_RequestDenied`, as for a caller lacking the permission or role.
    pub fn set_registration_forbidden(&self, forbidden: bool) {
        self.state.graph().registration.forbidden = forbidden;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_matched_case_insensitively_under_both_versions() {
        let t = target("/v1.0/identityGovernance/lifecycleWorkflows/customTaskExtensions").unwrap();
        assert_eq!(t.route, Route::Extensions);
        let t =
            target("/beta/identitygovernance/LifecycleWorkflows/customtaskextensions/abc").unwrap();
        assert_eq!(t.route, Route::Extension("abc".into()));
        assert_eq!(
            target("/v1.0/identityGovernance/lifecycleWorkflows/workflows/w/microsoft.graph.identityGovernance.createNewVersion")
                .unwrap()
                .route,
            Route::NewVersion("w".into())
        );
        assert_eq!(
            target("/v1.0/identityGovernance/lifecycleWorkflows/taskDefinitions")
                .unwrap()
                .route,
            Route::TaskDefinitions
        );
        assert_eq!(
            target("/v2.0/identityGovernance/lifecycleWorkflows/customTaskExtensions"),
            None
        );
        assert_eq!(
            target(
                "/v1.0/identityGovernance/lifecycleWorkflows/workflows/w/tasks/t/taskProcessingResults/r/resume"
            ),
            None,
            "resume stays with the resume fake"
        );
    }

    #[test]
    fn display_name_filters_are_parsed_like_odata() {
        assert_eq!(
            display_name_filter("displayName eq 'Bob''s x'").ok(),
            Some("Bob's x".into())
        );
        assert!(display_name_filter("startswith(displayName,'x')").is_err());
        assert!(display_name_filter("displayName eq 'a'b'").is_err());
        assert_eq!(
            filter_of("$filter=displayName%20eq%20%27a%20b%27&$top=1").as_deref(),
            Some("displayName eq 'a b'")
        );
    }
}
