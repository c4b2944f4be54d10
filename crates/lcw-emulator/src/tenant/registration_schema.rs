//! Field-by-field validation of registration bodies, against the documented Graph types
//! (`docs/protocol.md` §4, §5.4, §5.5, §6): `customTaskExtension` for create and update, and the
//! `workflow` parameter of `createNewVersion`.
//!
//! Every refusal names the property by its JSON path (`clientConfiguration.timeoutInMilliseconds`,
//! `workflow.tasks[1].arguments`), as a Graph `400` names the property it could not bind. Where
//! the documentation allows several variants (two minimum callback timeouts, two endpoint types,
//! two authentication types), every documented variant is accepted. Properties a type does not
//! have, and read-only ones, are refused: stricter than Graph may be, so a client that sends them
//! is caught here rather than in a tenant.

use serde_json::{Map, Value};

/// `@odata.type` of the Logic App trigger endpoint (§6.1).
pub(crate) const LOGIC_APP_ENDPOINT: &str = "#microsoft.graph.logicAppTriggerEndpointConfiguration";
/// `@odata.type` of the plain HTTP endpoint (§6.1: schema-valid, documented for other products).
const HTTP_REQUEST_ENDPOINT: &str = "#microsoft.graph.httpRequestEndpoint";
/// `@odata.type` of PoP authentication (§3.1).
const POP_AUTHENTICATION: &str = "#microsoft.graph.azureAdPopTokenAuthentication";
/// `@odata.type` of bearer authentication (§3.1).
const TOKEN_AUTHENTICATION: &str = "#microsoft.graph.azureAdTokenAuthentication";
/// `@odata.type` of the client configuration (§4).
const CLIENT_CONFIGURATION: &str = "#microsoft.graph.customExtensionClientConfiguration";
/// `@odata.type` of the LCW callback configuration (§5.4).
const TASK_CALLBACK: &str =
    "#microsoft.graph.identityGovernance.customTaskExtensionCallbackConfiguration";
/// `@odata.type` an `authorizedApps` entry may carry.
const APPLICATION: &str = "#microsoft.graph.application";
/// The built-in "Run a Custom Task Extension" task definition (§6.5).
pub(crate) const RUN_CUSTOM_TASK_EXTENSION: &str = "4262b724-8dba-4fad-afc3-43fcbb497a0e";
/// Its one argument.
const EXTENSION_ARGUMENT: &str = "customTaskExtensionID";
/// Documented tasks per workflow (§6.1).
const MAX_TASKS: usize = 25;
/// `timeoutDuration` bounds in seconds: the older documented minimum (5 min) and the maximum
/// (3 h); the current pages say 30 min, so both minima are accepted (§5.5).
const CALLBACK_TIMEOUT_SECONDS: std::ops::RangeInclusive<f64> = 300.0..=10_800.0;

/// Whether a body creates or updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Write {
    /// `POST`: `displayName` required.
    Create,
    /// `PATCH`: every property optional.
    Update,
}

/// A refusal: the message of a Graph `400`.
pub(crate) type Refusal = String;

/// Validates a `customTaskExtension` body.
pub(crate) fn custom_task_extension(body: &Value, write: Write) -> Result<(), Refusal> {
    let object = body
        .as_object()
        .ok_or("The request body must be a JSON object.")?;
    only(
        object,
        "",
        &[
            "@odata.type",
            "displayName",
            "description",
            "endpointConfiguration",
            "authenticationConfiguration",
            "clientConfiguration",
            "callbackConfiguration",
        ],
        "microsoft.graph.identityGovernance.customTaskExtension",
    )?;
    optional_type(
        object,
        "",
        "#microsoft.graph.identityGovernance.customTaskExtension",
    )?;
    match (object.get("displayName"), write) {
        (None, Write::Create) => return Err(required("displayName")),
        (None, Write::Update) => {}
        (Some(name), _) => non_empty_string(name, "displayName")?,
    }
    nullable_string(object.get("description"), "description")?;
    if let Some(endpoint) = present(object.get("endpointConfiguration")) {
        endpoint_configuration(endpoint)?;
    }
    if let Some(authentication) = present(object.get("authenticationConfiguration")) {
        authentication_configuration(authentication)?;
    }
    if let Some(client) = present(object.get("clientConfiguration")) {
        client_configuration(client)?;
    }
    if let Some(callback) = present(object.get("callbackConfiguration")) {
        callback_configuration(callback)?;
    }
    Ok(())
}

fn endpoint_configuration(value: &Value) -> Result<(), Refusal> {
    const AT: &str = "endpointConfiguration";
    let object = object(value, AT)?;
    match required_type(object, AT)? {
        LOGIC_APP_ENDPOINT => {
            only(
                object,
                AT,
                &[
                    "@odata.type",
                    "subscriptionId",
                    "resourceGroupName",
                    "logicAppWorkflowName",
                    "url",
                ],
                "microsoft.graph.logicAppTriggerEndpointConfiguration",
            )?;
            guid(
                object.get("subscriptionId"),
                "endpointConfiguration.subscriptionId",
            )?;
            for name in ["resourceGroupName", "logicAppWorkflowName"] {
                let path = format!("{AT}.{name}");
                non_empty_string(object.get(name).ok_or_else(|| required(&path))?, &path)?;
            }
            if let Some(url) = present(object.get("url")) {
                https_url(url, "endpointConfiguration.url")?;
            }
            Ok(())
        }
        HTTP_REQUEST_ENDPOINT => {
            only(
                object,
                AT,
                &["@odata.type", "targetUrl"],
                "microsoft.graph.httpRequestEndpoint",
            )?;
            https_url(
                object
                    .get("targetUrl")
                    .ok_or_else(|| required("endpointConfiguration.targetUrl"))?,
                "endpointConfiguration.targetUrl",
            )
        }
        other => Err(unknown_type(AT, other)),
    }
}

fn authentication_configuration(value: &Value) -> Result<(), Refusal> {
    const AT: &str = "authenticationConfiguration";
    let object = object(value, AT)?;
    match required_type(object, AT)? {
        POP_AUTHENTICATION => only(
            object,
            AT,
            &["@odata.type"],
            "microsoft.graph.azureAdPopTokenAuthentication",
        ),
        TOKEN_AUTHENTICATION => {
            only(
                object,
                AT,
                &["@odata.type", "resourceId"],
                "microsoft.graph.azureAdTokenAuthentication",
            )?;
            non_empty_string(
                object
                    .get("resourceId")
                    .ok_or_else(|| required("authenticationConfiguration.resourceId"))?,
                "authenticationConfiguration.resourceId",
            )
        }
        other => Err(unknown_type(AT, other)),
    }
}

fn client_configuration(value: &Value) -> Result<(), Refusal> {
    const AT: &str = "clientConfiguration";
    let object = object(value, AT)?;
    only(
        object,
        AT,
        &["@odata.type", "timeoutInMilliseconds", "maximumRetries"],
        "microsoft.graph.customExtensionClientConfiguration",
    )?;
    optional_type(object, AT, CLIENT_CONFIGURATION)?;
    nullable_integer_in(
        object.get("timeoutInMilliseconds"),
        "clientConfiguration.timeoutInMilliseconds",
        200,
        2000,
    )?;
    nullable_integer_in(
        object.get("maximumRetries"),
        "clientConfiguration.maximumRetries",
        0,
        1,
    )
}

fn callback_configuration(value: &Value) -> Result<(), Refusal> {
    const AT: &str = "callbackConfiguration";
    let object = object(value, AT)?;
    let odata_type = required_type(object, AT)?;
    if odata_type != TASK_CALLBACK {
        return Err(unknown_type(AT, odata_type));
    }
    only(
        object,
        AT,
        &["@odata.type", "timeoutDuration", "authorizedApps"],
        "microsoft.graph.identityGovernance.customTaskExtensionCallbackConfiguration",
    )?;
    let duration = object
        .get("timeoutDuration")
        .ok_or_else(|| required("callbackConfiguration.timeoutDuration"))?;
    let text = duration.as_str().ok_or_else(|| {
        wrong_type(
            "callbackConfiguration.timeoutDuration",
            "an ISO 8601 duration string",
        )
    })?;
    let seconds = iso8601_seconds(text).ok_or_else(|| {
        format!(
            "Invalid value for property 'callbackConfiguration.timeoutDuration': '{text}' is not an ISO 8601 duration."
        )
    })?;
    if !CALLBACK_TIMEOUT_SECONDS.contains(&seconds) {
        return Err(format!(
            "Invalid value for property 'callbackConfiguration.timeoutDuration': '{text}' must be between 5 minutes and 3 hours."
        ));
    }
    if let Some(apps) = present(object.get("authorizedApps")) {
        authorized_apps(apps)?;
    }
    Ok(())
}

/// `[{"id": "<app id>"}]` (§5.4, §10 item 3): unique GUIDs, optionally typed as applications.
fn authorized_apps(value: &Value) -> Result<(), Refusal> {
    const AT: &str = "callbackConfiguration.authorizedApps";
    let apps = value
        .as_array()
        .ok_or_else(|| wrong_type(AT, "an array of {\"id\": \"<appId>\"} objects"))?;
    let mut seen = Vec::new();
    for (index, app) in apps.iter().enumerate() {
        let path = format!("{AT}[{index}]");
        let entry = object(app, &path)?;
        only(
            entry,
            &path,
            &["@odata.type", "id"],
            "microsoft.graph.application",
        )?;
        optional_type(entry, &path, APPLICATION)?;
        let id = guid(entry.get("id"), &format!("{path}.id"))?;
        if seen.contains(&id.to_ascii_lowercase()) {
            return Err(format!(
                "Invalid value for property '{path}.id': '{id}' is listed twice; authorized apps are unique."
            ));
        }
        seen.push(id.to_ascii_lowercase());
    }
    Ok(())
}

/// Validates a `createNewVersion` body and returns the workflow it carries. Both documented
/// forms are accepted: the `workflow` parameter (the parameter table, example 1) and the bare
/// workflow (example 2).
pub(crate) fn new_version<'a>(
    body: &'a Value,
    extension_exists: &dyn Fn(&str) -> bool,
    known_definitions: &[&str],
) -> Result<&'a Map<String, Value>, Refusal> {
    let top = body
        .as_object()
        .ok_or("The request body must be a JSON object.")?;
    let (workflow, at) = match top.get("workflow") {
        Some(workflow) => {
            only(top, "", &["workflow"], "createNewVersion parameters")?;
            (object(workflow, "workflow")?, "workflow")
        }
        None => (top, ""),
    };
    only(
        workflow,
        at,
        &[
            "category",
            "description",
            "displayName",
            "executionConditions",
            "isEnabled",
            "isSchedulingEnabled",
            "tasks",
        ],
        "microsoft.graph.identityGovernance.workflow",
    )?;
    if let Some(category) = workflow.get("category") {
        let path = join(at, "category");
        let text = category
            .as_str()
            .ok_or_else(|| wrong_type(&path, "a string"))?;
        if !["joiner", "leaver", "mover"].contains(&text) {
            return Err(format!(
                "Invalid value for property '{path}': '{text}' is not joiner, leaver or mover."
            ));
        }
    }
    if let Some(name) = workflow.get("displayName") {
        non_empty_string(name, &join(at, "displayName"))?;
    }
    nullable_string(workflow.get("description"), &join(at, "description"))?;
    let enabled = boolean(workflow.get("isEnabled"), &join(at, "isEnabled"))?;
    let scheduling = boolean(
        workflow.get("isSchedulingEnabled"),
        &join(at, "isSchedulingEnabled"),
    )?;
    if enabled == Some(false) && scheduling == Some(true) {
        return Err(format!(
            "Invalid value for property '{}': scheduling cannot be enabled for a disabled workflow.",
            join(at, "isSchedulingEnabled")
        ));
    }
    if let Some(conditions) = workflow.get("executionConditions") {
        let path = join(at, "executionConditions");
        required_type(object(conditions, &path)?, &path)?;
    }
    let tasks_path = join(at, "tasks");
    let tasks = workflow
        .get("tasks")
        .ok_or_else(|| required(&tasks_path))?
        .as_array()
        .ok_or_else(|| wrong_type(&tasks_path, "an array of tasks"))?;
    if tasks.is_empty() || tasks.len() > MAX_TASKS {
        return Err(format!(
            "Invalid value for property '{tasks_path}': a workflow has 1 to {MAX_TASKS} tasks, not {}.",
            tasks.len()
        ));
    }
    for (index, task) in tasks.iter().enumerate() {
        workflow_task(
            task,
            &format!("{tasks_path}[{index}]"),
            extension_exists,
            known_definitions,
        )?;
    }
    Ok(workflow)
}

fn workflow_task(
    value: &Value,
    at: &str,
    extension_exists: &dyn Fn(&str) -> bool,
    known_definitions: &[&str],
) -> Result<(), Refusal> {
    let task = object(value, at)?;
    only(
        task,
        at,
        &[
            "arguments",
            "continueOnError",
            "description",
            "displayName",
            "isEnabled",
            "taskDefinitionId",
        ],
        "microsoft.graph.identityGovernance.task",
    )?;
    let definition = guid(task.get("taskDefinitionId"), &join(at, "taskDefinitionId"))?;
    if !known_definitions
        .iter()
        .any(|known| known.eq_ignore_ascii_case(definition))
    {
        return Err(format!(
            "Invalid value for property '{}': '{definition}' is not a task definition.",
            join(at, "taskDefinitionId")
        ));
    }
    non_empty_string(
        task.get("displayName")
            .ok_or_else(|| required(&join(at, "displayName")))?,
        &join(at, "displayName"),
    )?;
    nullable_string(task.get("description"), &join(at, "description"))?;
    boolean(task.get("isEnabled"), &join(at, "isEnabled"))?;
    boolean(task.get("continueOnError"), &join(at, "continueOnError"))?;
    let arguments_path = join(at, "arguments");
    let arguments = task
        .get("arguments")
        .ok_or_else(|| required(&arguments_path))?
        .as_array()
        .ok_or_else(|| wrong_type(&arguments_path, "an array of {name, value} pairs"))?;
    for (index, argument) in arguments.iter().enumerate() {
        let path = format!("{arguments_path}[{index}]");
        let pair = object(argument, &path)?;
        only(
            pair,
            &path,
            &["name", "value"],
            "microsoft.graph.keyValuePair",
        )?;
        for name in ["name", "value"] {
            let field = join(&path, name);
            pair.get(name)
                .ok_or_else(|| required(&field))?
                .as_str()
                .ok_or_else(|| wrong_type(&field, "a string"))?;
        }
    }
    if definition.eq_ignore_ascii_case(RUN_CUSTOM_TASK_EXTENSION) {
        let extension_id = match arguments.as_slice() {
            [only_one] if only_one["name"] == EXTENSION_ARGUMENT => {
                only_one["value"].as_str().unwrap_or_default()
            }
            _ => {
                return Err(format!(
                    "Invalid value for property '{arguments_path}': the task 'Run a Custom Task Extension' takes exactly one argument, '{EXTENSION_ARGUMENT}'."
                ));
            }
        };
        if !extension_exists(extension_id) {
            return Err(format!(
                "Invalid value for property '{arguments_path}[0].value': '{extension_id}' is not a custom task extension."
            ));
        }
    }
    Ok(())
}

/// Seconds of an ISO 8601 duration of days and time (`P[nD][T[nH][nM][nS]]`), as Graph's
/// `Edm.Duration` writes them; years, months and weeks have no fixed length and are refused.
pub(crate) fn iso8601_seconds(text: &str) -> Option<f64> {
    let rest = text.strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((days, time)) if !time.is_empty() => (days, Some(time)),
        Some(_) => return None,
        None => (rest, None),
    };
    let mut total = 0.0;
    let mut any = false;
    for (part, units) in [
        (days, &[('D', 86_400.0)][..]),
        (
            time.unwrap_or(""),
            &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)][..],
        ),
    ] {
        let mut number = String::new();
        let mut next_unit = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            let position = units[next_unit..].iter().position(|(u, _)| *u == c)?;
            let value: f64 = number.parse().ok()?;
            total += value * units[next_unit + position].1;
            next_unit += position + 1;
            number.clear();
            any = true;
        }
        if !number.is_empty() {
            return None;
        }
    }
    any.then_some(total)
}

// ---- small checks, each naming the property ----

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

fn required(path: &str) -> Refusal {
    format!("Property '{path}' is required.")
}

fn wrong_type(path: &str, expected: &str) -> Refusal {
    format!("Invalid value for property '{path}': expected {expected}.")
}

fn unknown_type(path: &str, odata_type: &str) -> Refusal {
    format!(
        "Invalid value for property '{path}.@odata.type': '{odata_type}' is not a supported type here."
    )
}

fn present(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !v.is_null())
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, Refusal> {
    value
        .as_object()
        .ok_or_else(|| wrong_type(path, "an object"))
}

/// Refuses properties the type does not have (or that are read-only).
fn only(
    object: &Map<String, Value>,
    path: &str,
    allowed: &[&str],
    type_name: &str,
) -> Result<(), Refusal> {
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        None => Ok(()),
        Some(key) => Err(format!(
            "Property '{}' does not exist on type '{type_name}' or is read-only.",
            join(path, key)
        )),
    }
}

fn required_type<'a>(object: &'a Map<String, Value>, path: &str) -> Result<&'a str, Refusal> {
    let at = join(path, "@odata.type");
    object
        .get("@odata.type")
        .ok_or_else(|| required(&at))?
        .as_str()
        .ok_or_else(|| wrong_type(&at, "a type name string"))
}

fn optional_type(object: &Map<String, Value>, path: &str, expected: &str) -> Result<(), Refusal> {
    match object.get("@odata.type") {
        None => Ok(()),
        Some(Value::String(given)) if given == expected => Ok(()),
        Some(given) => Err(format!(
            "Invalid value for property '{}': expected '{expected}', got {given}.",
            join(path, "@odata.type")
        )),
    }
}

fn non_empty_string(value: &Value, path: &str) -> Result<(), Refusal> {
    match value.as_str() {
        Some(text) if !text.trim().is_empty() => Ok(()),
        _ => Err(wrong_type(path, "a non-empty string")),
    }
}

fn nullable_string(value: Option<&Value>, path: &str) -> Result<(), Refusal> {
    match value {
        None | Some(Value::Null) | Some(Value::String(_)) => Ok(()),
        Some(_) => Err(wrong_type(path, "a string")),
    }
}

fn boolean(value: Option<&Value>, path: &str) -> Result<Option<bool>, Refusal> {
    match value {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(wrong_type(path, "true or false")),
    }
}

fn nullable_integer_in(
    value: Option<&Value>,
    path: &str,
    min: i64,
    max: i64,
) -> Result<(), Refusal> {
    match value {
        None | Some(Value::Null) => Ok(()),
        Some(number) => match number.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(()),
            Some(n) => Err(format!(
                "Invalid value for property '{path}': {n} is outside {min}–{max}."
            )),
            None => Err(wrong_type(path, "an integer")),
        },
    }
}

fn guid<'a>(value: Option<&'a Value>, path: &str) -> Result<&'a str, Refusal> {
    let text = value
        .ok_or_else(|| required(path))?
        .as_str()
        .ok_or_else(|| wrong_type(path, "a GUID string"))?;
    let groups: Vec<&str> = text.split('-').collect();
    let is_guid = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()));
    if is_guid {
        Ok(text)
    } else {
        Err(format!(
            "Invalid value for property '{path}': '{text}' is not a GUID."
        ))
    }
}

fn https_url(value: &Value, path: &str) -> Result<(), Refusal> {
    let text = value
        .as_str()
        .ok_or_else(|| wrong_type(path, "a URL string"))?;
    match reqwest::Url::parse(text) {
        Ok(url) if url.scheme() == "https" && url.host_str().is_some() => Ok(()),
        _ => Err(format!(
            "Invalid value for property '{path}': '{text}' is not an absolute https URL."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn extension() -> Value {
        json!({
            "displayName": "x",
            "description": "d",
            "endpointConfiguration": {
                "@odata.type": LOGIC_APP_ENDPOINT,
                "subscriptionId": "c500b67c-e9b7-4ad2-a90d-77d41385ae55",
                "resourceGroupName": "rg",
                "logicAppWorkflowName": "la",
                "url": "https://func.example/api/lifecycle/callout"
            },
            "authenticationConfiguration": {"@odata.type": POP_AUTHENTICATION},
            "clientConfiguration": {"@odata.type": CLIENT_CONFIGURATION, "timeoutInMilliseconds": 2000, "maximumRetries": 1},
            "callbackConfiguration": {
                "@odata.type": TASK_CALLBACK,
                "timeoutDuration": "PT30M",
                "authorizedApps": [{"id": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"}]
            }
        })
    }

    #[test]
    fn the_documented_bodies_pass() {
        assert_eq!(custom_task_extension(&extension(), Write::Create), Ok(()));
        // The v1.0 create sample (docs/protocol.md §6.2): bearer, no url, PT5M in older revisions.
        let sample = json!({
            "displayName": "Grant manager access to mailbox and OneDrive",
            "endpointConfiguration": {"@odata.type": LOGIC_APP_ENDPOINT, "subscriptionId": "c500b67c-e9b7-4ad2-a90d-77d41385ae55", "resourceGroupName": "RG-LCM", "logicAppWorkflowName": "ManagerAccess"},
            "authenticationConfiguration": {"@odata.type": TOKEN_AUTHENTICATION, "resourceId": "542dc01a-0b5d-4edc-b3f9-5cfe6393f557"},
            "clientConfiguration": {"@odata.type": CLIENT_CONFIGURATION, "maximumRetries": 1, "timeoutInMilliseconds": 1000},
            "callbackConfiguration": {"@odata.type": TASK_CALLBACK, "timeoutDuration": "PT5M"}
        });
        assert_eq!(custom_task_extension(&sample, Write::Create), Ok(()));
        assert_eq!(
            custom_task_extension(&json!({"callbackConfiguration": null}), Write::Update),
            Ok(())
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "/clientConfiguration/timeoutInMilliseconds",
                json!(5000),
                "clientConfiguration.timeoutInMilliseconds",
            ),
            (
                "/clientConfiguration/timeoutInMilliseconds",
                json!(100),
                "clientConfiguration.timeoutInMilliseconds",
            ),
            (
                "/clientConfiguration/maximumRetries",
                json!(2),
                "clientConfiguration.maximumRetries",
            ),
            (
                "/clientConfiguration/maximumRetries",
                json!("1"),
                "clientConfiguration.maximumRetries",
            ),
            (
                "/callbackConfiguration/timeoutDuration",
                json!("PT4H"),
                "callbackConfiguration.timeoutDuration",
            ),
            (
                "/callbackConfiguration/timeoutDuration",
                json!("PT1M"),
                "callbackConfiguration.timeoutDuration",
            ),
            (
                "/callbackConfiguration/timeoutDuration",
                json!("30 minutes"),
                "callbackConfiguration.timeoutDuration",
            ),
            (
                "/callbackConfiguration/authorizedApps",
                json!(["5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"]),
                "callbackConfiguration.authorizedApps[0]",
            ),
            (
                "/callbackConfiguration/authorizedApps",
                json!([{"appId": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"}]),
                "callbackConfiguration.authorizedApps[0].appId",
            ),
            (
                "/callbackConfiguration/authorizedApps",
                json!([{"id": "not-a-guid"}]),
                "callbackConfiguration.authorizedApps[0].id",
            ),
            (
                "/callbackConfiguration/@odata.type",
                json!("#microsoft.graph.customExtensionCallbackConfiguration"),
                "callbackConfiguration.@odata.type",
            ),
            (
                "/authenticationConfiguration/@odata.type",
                json!("#microsoft.graph.azureAdTokenAuthentication"),
                "authenticationConfiguration.resourceId",
            ),
            (
                "/endpointConfiguration/@odata.type",
                json!("#microsoft.graph.logicAppTrigger"),
                "endpointConfiguration.@odata.type",
            ),
            (
                "/endpointConfiguration/subscriptionId",
                json!("sub"),
                "endpointConfiguration.subscriptionId",
            ),
            (
                "/endpointConfiguration/url",
                json!("http://func.example/api"),
                "endpointConfiguration.url",
            ),
            ("/displayName", json!(""), "displayName"),
        ];
        for (pointer, value, named) in cases {
            let mut body = extension();
            *body.pointer_mut(pointer).unwrap() = value;
            let refusal = custom_task_extension(&body, Write::Create).unwrap_err();
            assert!(
                refusal.contains(&format!("'{named}")),
                "{pointer}: {refusal}"
            );
        }
        let mut body = extension();
        body.as_object_mut().unwrap().remove("displayName");
        assert!(
            custom_task_extension(&body, Write::Create)
                .unwrap_err()
                .contains("'displayName'")
        );
        assert_eq!(custom_task_extension(&body, Write::Update), Ok(()));
        body["id"] = json!("x");
        assert!(
            custom_task_extension(&body, Write::Update)
                .unwrap_err()
                .contains("'id'")
        );
    }

    #[test]
    fn new_versions_check_every_task() {
        let known = [
            RUN_CUSTOM_TASK_EXTENSION,
            "6fc52c9d-398b-4305-9763-15f42c1676fc",
        ];
        let exists = |id: &str| id == "ext-1";
        let ours = json!({"taskDefinitionId": RUN_CUSTOM_TASK_EXTENSION, "displayName": "x", "isEnabled": true, "continueOnError": false,
                          "arguments": [{"name": "customTaskExtensionID", "value": "ext-1"}]});
        let kept = json!({"taskDefinitionId": "6fc52c9d-398b-4305-9763-15f42c1676fc", "displayName": "Enable User Account", "arguments": []});
        let body = json!({"workflow": {"category": "joiner", "displayName": "w", "isEnabled": true, "isSchedulingEnabled": false, "tasks": [kept, ours]}});
        assert!(new_version(&body, &exists, &known).is_ok());
        let bare = body["workflow"].clone();
        assert!(
            new_version(&bare, &exists, &known).is_ok(),
            "example 2 of the docs sends the bare workflow"
        );

        let mut unknown_extension = body.clone();
        unknown_extension["workflow"]["tasks"][1]["arguments"][0]["value"] = json!("ext-2");
        assert!(
            new_version(&unknown_extension, &exists, &known)
                .unwrap_err()
                .contains("'workflow.tasks[1].arguments[0].value'")
        );
        let mut read_only = body.clone();
        read_only["workflow"]["tasks"][0]["id"] = json!("t");
        assert!(
            new_version(&read_only, &exists, &known)
                .unwrap_err()
                .contains("'workflow.tasks[0].id'")
        );
        let mut wrong_argument = body.clone();
        wrong_argument["workflow"]["tasks"][1]["arguments"][0]["name"] = json!("extensionId");
        assert!(
            new_version(&wrong_argument, &exists, &known)
                .unwrap_err()
                .contains("'workflow.tasks[1].arguments'")
        );
        let mut unknown_definition = body.clone();
        unknown_definition["workflow"]["tasks"][0]["taskDefinitionId"] =
            json!("00000000-0000-0000-0000-000000000000");
        assert!(
            new_version(&unknown_definition, &exists, &known)
                .unwrap_err()
                .contains("'workflow.tasks[0].taskDefinitionId'")
        );
        let mut no_tasks = body.clone();
        no_tasks["workflow"]["tasks"] = json!([]);
        assert!(
            new_version(&no_tasks, &exists, &known)
                .unwrap_err()
                .contains("'workflow.tasks'")
        );
        let mut scheduled_disabled = body;
        scheduled_disabled["workflow"]["isEnabled"] = json!(false);
        scheduled_disabled["workflow"]["isSchedulingEnabled"] = json!(true);
        assert!(
            new_version(&scheduled_disabled, &exists, &known)
                .unwrap_err()
                .contains("'workflow.isSchedulingEnabled'")
        );
    }

    #[test]
    fn durations_as_graph_writes_them() {
        assert_eq!(iso8601_seconds("PT30M"), Some(1800.0));
        assert_eq!(iso8601_seconds("PT3H"), Some(10_800.0));
        assert_eq!(iso8601_seconds("P1DT1.5S"), Some(86_401.5));
        for bad in ["", "P", "PT", "30M", "PT30", "PT1M1H", "P1M", "P1W", "PTxM"] {
            assert_eq!(iso8601_seconds(bad), None, "{bad}");
        }
    }
}
