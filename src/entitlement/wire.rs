//! The EM callout as it appears on the wire (keys already lower-cased), and its validation into
//! [`EntitlementCall`]. Errors name the JSON path (lower-cased) and never a field's value.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::callback_path;
use super::callout::{
    AccessPackageSubject, Assignment, EntitlementCall, EntitlementCallout, MAX_CALLBACK_TIMEOUT,
    Named,
};
use super::stage::{Stage, StageKind};
use crate::callout::{CalloutError, is_id_segment};

#[derive(Deserialize)]
struct WireCallout {
    #[serde(default, deserialize_with = "text")]
    stage: Option<String>,
    /// The legacy (pre-March 2023) payload's stage field; only its connection test is served.
    #[serde(default, deserialize_with = "text")]
    event: Option<String>,
    #[serde(
        default,
        rename = "customextensionstageinstanceid",
        deserialize_with = "text"
    )]
    stage_instance_id: Option<String>,
    #[serde(
        default,
        rename = "accesspackageassignmentrequestid",
        deserialize_with = "text"
    )]
    request_id: Option<String>,
    #[serde(default, rename = "callbackuripath", deserialize_with = "text")]
    callback_uri_path: Option<String>,
    #[serde(default, rename = "callbackconfiguration")]
    callback_configuration: Option<WireCallbackConfiguration>,
    #[serde(default, rename = "requesttype", deserialize_with = "text")]
    request_type: Option<String>,
    #[serde(default, deserialize_with = "text")]
    state: Option<String>,
    #[serde(default, deserialize_with = "text")]
    status: Option<String>,
    #[serde(default, rename = "accesspackage")]
    access_package: Option<WireNamed>,
    #[serde(default, rename = "accesspackagecatalog")]
    catalog: Option<WireNamed>,
    #[serde(default)]
    assignment: Option<WireAssignment>,
    #[serde(default)]
    requestor: Option<WireSubject>,
    #[serde(default)]
    answers: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct WireCallbackConfiguration {
    #[serde(
        default,
        rename = "durationbeforetimeout",
        alias = "timeoutduration",
        deserialize_with = "text"
    )]
    timeout: Option<String>,
}

#[derive(Deserialize)]
struct WireNamed {
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, rename = "displayname", deserialize_with = "text")]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
}

#[derive(Deserialize)]
struct WireAssignment {
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    state: Option<String>,
    #[serde(default, deserialize_with = "text")]
    status: Option<String>,
    #[serde(default)]
    target: Option<WireSubject>,
    #[serde(default, rename = "assignmentpolicy")]
    assignment_policy: Option<WireNamed>,
}

#[derive(Deserialize)]
struct WireSubject {
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, rename = "objectid", deserialize_with = "text")]
    object_id: Option<String>,
    #[serde(default, rename = "displayname", deserialize_with = "text")]
    display_name: Option<String>,
    #[serde(default, alias = "mail", deserialize_with = "text")]
    email: Option<String>,
    #[serde(
        default,
        rename = "principalname",
        alias = "userprincipalname",
        deserialize_with = "text"
    )]
    principal_name: Option<String>,
    #[serde(default, rename = "connectedorganization")]
    connected_organization: Option<WireNamed>,
}

/// A string where `null` and blank mean absent.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty()))
}

fn field(path: &str, problem: &str) -> CalloutError {
    CalloutError::Field {
        path: path.to_owned(),
        problem: problem.to_owned(),
    }
}

/// Whether an object carries a stage of its own (rather than wrapping the callout in `data`).
fn has_stage(map: &serde_json::Map<String, Value>) -> bool {
    ["stage", "event"]
        .iter()
        .any(|key| map.get(*key).is_some_and(|v| !v.is_null()))
}

/// Validates a document whose keys are lower-case.
pub(super) fn parse(value: Value) -> Result<EntitlementCall, CalloutError> {
    let Value::Object(mut map) = value else {
        return Err(CalloutError::NotAnObject);
    };
    // A CloudEvent-style envelope (`source`, `type`, `data`), as LCW sends: read `data`.
    if !has_stage(&map)
        && map
            .get("data")
            .and_then(Value::as_object)
            .is_some_and(has_stage)
        && let Some(Value::Object(data)) = map.remove("data")
    {
        map = data;
    }
    let wire: WireCallout =
        serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| CalloutError::Field {
            path: e.path().to_string(),
            problem: without_value(&e.into_inner().to_string()),
        })?;

    let stage = match (&wire.stage, &wire.event) {
        (Some(stage), _) => Stage::new(stage.clone()),
        (None, Some(event)) if Stage::new(event.clone()).kind() == StageKind::ConnectionTest => {
            return Ok(EntitlementCall::ConnectionTest);
        }
        (None, Some(_)) => {
            return Err(field(
                "stage",
                "missing: this is the legacy Entitlement Management payload (`Event`, sent by extensions created before March 2023), which cannot be resumed; recreate the custom extension",
            ));
        }
        (None, None) => {
            return Err(field(
                "stage",
                "missing: an Entitlement Management callout names its stage",
            ));
        }
    };
    if stage.kind() == StageKind::ConnectionTest {
        return Ok(EntitlementCall::ConnectionTest);
    }

    let stage_instance_id = wire.stage_instance_id.ok_or_else(|| {
        field(
            "customextensionstageinstanceid",
            "missing: it identifies this callout and is sent back in the resume",
        )
    })?;

    let callback_target = wire
        .callback_uri_path
        .as_deref()
        .and_then(callback_path::parse);
    let callback_uri_path = callback_target.as_ref().and(wire.callback_uri_path.clone());
    let waits_for_resume = stage.can_wait()
        && (wire.callback_uri_path.is_some() || wire.callback_configuration.is_some());

    let request_id = wire
        .request_id
        .or_else(|| callback_target.as_ref().map(|t| t.request_id.clone()));
    if let Some(id) = &request_id
        && !is_id_segment(id)
    {
        return Err(field(
            "accesspackageassignmentrequestid",
            "must be an identifier (letters, digits, '-' or '_', at most 128 characters)",
        ));
    }
    if waits_for_resume && request_id.is_none() {
        return Err(field(
            "accesspackageassignmentrequestid",
            "missing (and no usable callbackUriPath): it is needed to resume the request",
        ));
    }

    // A timeout EM sends but that cannot be read leaves the deadline to the 14-day maximum: a
    // late resume is refused by Graph, an early give-up would strand the request.
    let callback_timeout = wire
        .callback_configuration
        .and_then(|c| c.timeout)
        .and_then(|text| crate::iso_duration::parse(&text).ok())
        .map(|timeout| timeout.min(MAX_CALLBACK_TIMEOUT));

    Ok(EntitlementCall::Callout(Box::new(EntitlementCallout {
        stage,
        stage_instance_id,
        request_id,
        callback_uri_path,
        callback_target,
        waits_for_resume,
        callback_timeout,
        request_type: wire.request_type,
        state: wire.state,
        status: wire.status,
        access_package: wire.access_package.and_then(named),
        catalog: wire.catalog.and_then(named),
        assignment: wire.assignment.and_then(|a| {
            let assignment = Assignment {
                id: a.id,
                state: a.state,
                status: a.status,
                target: a.target.and_then(subject),
                assignment_policy: a.assignment_policy.and_then(named),
            };
            (assignment != Assignment::default()).then_some(assignment)
        }),
        requestor: wire.requestor.and_then(subject),
        answers: wire
            .answers
            .unwrap_or_default()
            .into_iter()
            .filter(|a| !a.is_null())
            .collect(),
    })))
}

fn named(wire: WireNamed) -> Option<Named> {
    let named = Named {
        id: wire.id,
        display_name: wire.display_name,
        description: wire.description,
    };
    (named != Named::default()).then_some(named)
}

fn subject(wire: WireSubject) -> Option<AccessPackageSubject> {
    let subject = AccessPackageSubject {
        id: wire.id,
        object_id: wire.object_id,
        display_name: wire.display_name,
        email: wire.email,
        principal_name: wire.principal_name,
        connected_organization: wire.connected_organization.and_then(named),
    };
    (subject != AccessPackageSubject::default()).then_some(subject)
}

/// serde_json quotes the offending value in type errors; the value may be personal data, so
/// only the expectation is kept.
fn without_value(message: &str) -> String {
    match message.find(", expected ") {
        Some(at) if message.starts_with("invalid type") || message.starts_with("invalid value") => {
            let kind = message
                .split_once(": ")
                .and_then(|(_, rest)| rest.split([' ', ',']).next())
                .unwrap_or("value");
            format!("wrong type ({kind}), {}", &message[at + 2..])
        }
        _ => message.to_owned(),
    }
}
