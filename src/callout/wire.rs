//! The callout as it appears on the wire (keys already lower-cased), and its validation into
//! [`Callout`](super::Callout).

use std::borrow::Cow;

use serde::de::Visitor;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::{
    Callout, Manager, Subject, TaskProcessingResult, Workflow, WorkflowTask,
    ids_from_callback_path, is_id_segment,
};

/// Why a callout was refused. Messages name the JSON path and never repeat a field's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalloutError {
    /// The body is not JSON at all.
    #[error("the body is not valid JSON: {0}")]
    NotJson(String),
    /// The body is JSON but not an object.
    #[error("the body must be a JSON object")]
    NotAnObject,
    /// A field is missing, of the wrong type, or unusable.
    #[error("{path}: {problem}")]
    Field {
        /// JSON path with lower-cased keys, e.g. `data.task.id`.
        path: String,
        /// What is wrong.
        problem: String,
    },
}

impl CalloutError {
    fn field(path: &str, problem: &str) -> CalloutError {
        CalloutError::Field {
            path: path.to_owned(),
            problem: problem.to_owned(),
        }
    }

    /// The JSON path at fault, if the error concerns one field.
    pub fn path(&self) -> Option<&str> {
        match self {
            CalloutError::Field { path, .. } => Some(path),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct WireBody {
    #[serde(default, deserialize_with = "text")]
    source: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "text")]
    event_type: Option<String>,
    #[serde(default)]
    data: Option<WireData>,
}

#[derive(Deserialize)]
struct WireData {
    #[serde(default, rename = "callbackuripath", deserialize_with = "text")]
    callback_uri_path: Option<String>,
    #[serde(default)]
    subject: Option<WireSubject>,
    #[serde(default)]
    task: Option<WireNamed>,
    #[serde(default, rename = "taskprocessingresult")]
    task_processing_result: Option<WireTaskProcessingResult>,
    #[serde(default)]
    workflow: Option<WireWorkflow>,
}

#[derive(Deserialize)]
struct WireSubject {
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, rename = "displayname", deserialize_with = "text")]
    display_name: Option<String>,
    #[serde(default, rename = "userprincipalname", deserialize_with = "text")]
    user_principal_name: Option<String>,
    #[serde(default, alias = "mail", deserialize_with = "text")]
    email: Option<String>,
    #[serde(default)]
    manager: Option<WireManager>,
}

#[derive(Deserialize)]
struct WireManager {
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, rename = "displayname", deserialize_with = "text")]
    display_name: Option<String>,
    #[serde(default, alias = "mail", deserialize_with = "text")]
    email: Option<String>,
}

#[derive(Deserialize)]
struct WireNamed {
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, rename = "displayname", deserialize_with = "text")]
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct WireTaskProcessingResult {
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, rename = "createddatetime", deserialize_with = "text")]
    created_date_time: Option<String>,
}

#[derive(Deserialize)]
struct WireWorkflow {
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, rename = "displayname", deserialize_with = "text")]
    display_name: Option<String>,
    #[serde(
        default,
        rename = "workflowversion",
        alias = "workflowverson",
        deserialize_with = "version"
    )]
    version: Option<i64>,
}

/// A string where `null` and blank mean absent (trimmed, copied once).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Trimmed;
    impl<'de> Visitor<'de> for Trimmed {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let trimmed = v.trim();
            Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
        }
    }
    d.deserialize_option(Trimmed)
}

/// An integer, or a string holding one (docs/protocol.md §2.4 rule 2).
fn version<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| D::Error::custom("expected a whole number")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom("expected a whole number or a numeric string")),
        Some(_) => Err(D::Error::custom(
            "expected a whole number or a numeric string",
        )),
    }
}

/// Validates a document whose keys are lower-case.
pub(super) fn parse(value: Value) -> Result<Callout, CalloutError> {
    if !value.is_object() {
        return Err(CalloutError::NotAnObject);
    }
    let body: WireBody = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        CalloutError::Field {
            path,
            problem: without_value(&e.into_inner().to_string()),
        }
    })?;
    validate(body)
}

/// The one-pass read of a callout text: its keys lower-cased in a copy, then deserialised
/// straight into the wire structs, with no `Value` tree. `None` whenever that does not simply
/// succeed — a key with an escape or a non-ASCII letter (lower-cased by Unicode rules in
/// [`parse`]), two keys equal but for case, a field of the wrong type, not JSON at all — so
/// the caller takes the tree-building path, which decides and words every refusal exactly as
/// before. A callout that deserialises is validated by the same rules as on that path.
pub(super) fn parse_text(text: &str) -> Option<Result<Callout, CalloutError>> {
    // The wire structs would also take an array (field by field); only an object is a callout.
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let lowered = with_lowercase_keys(text)?;
    let body: WireBody = serde_json::from_str(&lowered).ok()?;
    Some(validate(body))
}

/// A copy of `text` whose object keys are ASCII-lower-cased, or `None` when a key holds an
/// escape or a non-ASCII character. Not a validator: a text that is not JSON comes out as
/// some other text that is not JSON either (only letters inside quotes change).
fn with_lowercase_keys(text: &str) -> Option<Cow<'_, str>> {
    let bytes = text.as_bytes();
    let mut lowered: Option<String> = None;
    let mut at = 0;
    while let Some(open) = memchr::memchr(b'"', bytes.get(at..)?) {
        let start = at + open + 1;
        // The string ends at the next `"` that no backslash escapes.
        let (mut end, mut escaped) = (start, false);
        loop {
            let found = memchr::memchr2(b'"', b'\\', bytes.get(end..)?)?;
            end += found;
            if bytes[end] == b'"' {
                break;
            }
            escaped = true;
            end += 2; // the escaped byte cannot end the string
        }
        at = end + 1;
        let next = bytes
            .get(at..)?
            .iter()
            .find(|b| !matches!(b, b' ' | b'\n' | b'\r' | b'\t'));
        if next == Some(&b':') {
            let key = &bytes[start..end];
            if escaped || !key.is_ascii() {
                return None;
            }
            if key.iter().any(u8::is_ascii_uppercase) {
                let copy = lowered.get_or_insert_with(|| text.to_owned());
                // Between two `"` bytes, so on character boundaries.
                copy.get_mut(start..end)?.make_ascii_lowercase();
            }
        }
    }
    Some(lowered.map_or(Cow::Borrowed(text), Cow::Owned))
}

/// Turns the deserialised wire structs into a [`Callout`], applying the protocol's rules.
fn validate(body: WireBody) -> Result<Callout, CalloutError> {
    let data = body.data.ok_or_else(|| {
        CalloutError::field("data", "missing: the callout data object is required")
    })?;

    // A callbackUriPath that fails the sanity check is not trusted, but it still tells us that
    // LCW waits for a resume; the ids from the body are then the only source of the URL.
    let launch_and_wait = data.callback_uri_path.is_some();
    let path_ids = data
        .callback_uri_path
        .as_deref()
        .and_then(ids_from_callback_path);
    let callback_uri_path = path_ids.as_ref().and(data.callback_uri_path.clone());

    let workflow = data.workflow.unwrap_or(WireWorkflow {
        id: None,
        display_name: None,
        version: None,
    });
    let task = data.task.unwrap_or(WireNamed {
        id: None,
        display_name: None,
    });
    let result = data
        .task_processing_result
        .unwrap_or(WireTaskProcessingResult {
            id: None,
            created_date_time: None,
        });

    let (path_workflow, path_task, path_result) = match path_ids {
        Some((w, t, r)) => (Some(w), Some(t), Some(r)),
        None => (None, None, None),
    };
    let workflow_id = required_id(workflow.id, path_workflow, "data.workflow.id")?;
    let task_id = required_id(task.id, path_task, "data.task.id")?;
    let result_id = required_id(result.id, path_result, "data.taskProcessingResult.id")?;

    let subject = data
        .subject
        .map(|s| Subject {
            id: s.id,
            display_name: s.display_name,
            user_principal_name: s.user_principal_name,
            email: s.email,
            manager: s.manager.and_then(|m| {
                let manager = Manager {
                    id: m.id,
                    display_name: m.display_name,
                    email: m.email,
                };
                (manager != Manager::default()).then_some(manager)
            }),
        })
        .unwrap_or_default();

    Ok(Callout {
        source: body.source,
        event_type: body.event_type,
        workflow: Workflow {
            id: workflow_id,
            display_name: workflow.display_name,
            version: workflow.version,
        },
        task: WorkflowTask {
            id: task_id,
            display_name: task.display_name,
        },
        task_processing_result: TaskProcessingResult {
            id: result_id,
            created_date_time: result.created_date_time,
        },
        subject,
        callback_uri_path,
        launch_and_wait,
    })
}

/// Takes the id from the body, else from `callbackUriPath`; it must be usable in a URL path.
fn required_id(
    from_body: Option<String>,
    from_path: Option<String>,
    path: &str,
) -> Result<String, CalloutError> {
    let id = from_body
        .or(from_path)
        .ok_or_else(|| CalloutError::field(path, "missing: it is needed to resume the task"))?;
    if !is_id_segment(&id) {
        return Err(CalloutError::field(
            path,
            "must be an identifier (letters, digits, '-' or '_', at most 128 characters)",
        ));
    }
    Ok(id)
}

/// serde_json quotes the offending value in type errors ("invalid type: string \"x\", expected
/// …"); the value may be personal data, so only the expectation is kept.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keys_are_lower_cased() {
        let text = r#"{"Key" : "Value", "a": {"B": [1, "C:D"]}, "s": "X\"Y:", "E": "F"}"#;
        assert_eq!(
            with_lowercase_keys(text).as_deref(),
            Some(r#"{"key" : "Value", "a": {"b": [1, "C:D"]}, "s": "X\"Y:", "e": "F"}"#)
        );
        assert!(matches!(
            with_lowercase_keys(r#"{"a":"B"}"#),
            Some(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn a_key_with_an_escape_or_a_non_ascii_letter_is_left_to_the_tree_path() {
        assert_eq!(with_lowercase_keys(r#"{"\u0041":1}"#), None);
        assert_eq!(with_lowercase_keys(r#"{"Ä":1}"#), None);
        // In values they are fine.
        assert!(with_lowercase_keys(r#"{"a":"\u0041 Ä"}"#).is_some());
    }
}
