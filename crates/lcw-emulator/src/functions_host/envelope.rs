//! Builds the JSON-protocol invocation request (docs/protocol.md §8.4) for HTTP and queue triggers.
//!
//! The one rule that surprises everybody lives in [`encode_value`]: binding values are
//! JSON-encoded *twice* (docs/protocol.md §8.5), so a string arrives as the JSON text of the string, and a
//! number as its text. The documentation's own example gets this wrong; the host source does
//! not, and neither does the emulator. Timestamps are encoded once, objects stay objects.

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::queue::LeasedMessage;

/// `sys.UtcNow`: .NET's round-trip format with seven fractional digits.
fn utc_now_precise() -> String {
    OffsetDateTime::now_utc()
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z"
        ))
        .unwrap_or_default()
}

/// A `DateTimeOffset` as the host serialises queue timestamps: `2019-10-09T17:58:31+00:00`.
pub(crate) fn iso_offset(time: SystemTime) -> String {
    OffsetDateTime::from(time)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]+00:00"
        ))
        .unwrap_or_default()
}

/// Encodes a binding value as the host does (docs/protocol.md §8.5): strings, numbers and booleans become the
/// string of their JSON text; objects and arrays stay JSON; `null` stays `null`.
pub(crate) fn encode_value(value: &Value) -> Value {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Value::String(value.to_string()),
        Value::Null | Value::Object(_) | Value::Array(_) => value.clone(),
    }
}

/// `Metadata.sys`.
fn sys(method_name: &str) -> Value {
    json!({
        "MethodName": method_name,
        "UtcNow": utc_now_precise(),
        "RandGuid": uuid::Uuid::new_v4().to_string(),
    })
}

/// Adds the top-level properties of a JSON-object payload to binding data, encoded, minus keys
/// the host strips (those ending in `trigger`).
fn add_payload_properties(metadata: &mut Map<String, Value>, payload: &str) {
    if let Ok(Value::Object(properties)) = serde_json::from_str::<Value>(payload) {
        for (key, value) in properties {
            if !is_stripped_key(&key) {
                metadata.insert(key, encode_value(&value));
            }
        }
    }
}

fn is_stripped_key(key: &str) -> bool {
    key.to_ascii_lowercase().ends_with("trigger")
}

/// A public HTTP request after routing, as the host sees it.
pub(crate) struct RoutedRequest<'a> {
    pub(crate) method: &'a str,
    pub(crate) url: String,
    /// Decoded query pairs, in order, repeated keys kept.
    pub(crate) query: Vec<(String, String)>,
    /// Header name/value pairs, names as received.
    pub(crate) headers: Vec<(String, String)>,
    /// Route parameters.
    pub(crate) params: Vec<(String, String)>,
    pub(crate) body: &'a [u8],
}

/// Groups headers case-insensitively, keeping the first spelling of each name.
fn group_headers(headers: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in headers {
        match grouped
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, values)) => values.push(value.clone()),
            None => grouped.push((name.clone(), vec![value.clone()])),
        }
    }
    grouped
}

/// The anonymous claims identity the host serialises when no key or EasyAuth identity applies.
fn anonymous_identities() -> Value {
    json!([{
        "AuthenticationType": null,
        "IsAuthenticated": false,
        "Actor": null,
        "BootstrapContext": null,
        "Claims": [],
        "Label": null,
        "Name": null,
        "NameClaimType": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
        "RoleClaimType": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
    }])
}

/// The request body as the host passes it: absent when empty, base64 for binary content
/// types, raw text otherwise.
fn body_value(headers: &[(String, String)], body: &[u8]) -> Option<Value> {
    if body.is_empty() {
        return None;
    }
    let content_type = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    if content_type.starts_with("application/octet-stream")
        || content_type.starts_with("multipart/")
    {
        Some(Value::String(STANDARD.encode(body)))
    } else {
        Some(Value::String(String::from_utf8_lossy(body).into_owned()))
    }
}

/// The invocation request for an HTTP-triggered function.
pub(crate) fn http_envelope(
    function_name: &str,
    trigger_name: &str,
    request: &RoutedRequest<'_>,
) -> Value {
    let mut query = Map::new();
    for (key, value) in &request.query {
        match query.get_mut(key) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                query.insert(key.clone(), Value::String(value.clone()));
            }
        }
    }
    let grouped = group_headers(&request.headers);
    let header_arrays: Map<String, Value> = grouped
        .iter()
        .map(|(name, values)| (name.clone(), json!(values)))
        .collect();
    let header_strings: Map<String, Value> = grouped
        .iter()
        .map(|(name, values)| (name.clone(), Value::String(values.join(","))))
        .collect();
    let params: Map<String, Value> = request
        .params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();

    let mut trigger = json!({
        "Url": request.url,
        "Method": request.method,
        "Query": query,
        "Headers": header_arrays,
        "Params": params,
        "Identities": anonymous_identities(),
    });
    let body = body_value(&request.headers, request.body);
    if let Some(body) = &body {
        trigger["Body"] = body.clone();
    }

    let mut metadata = Map::new();
    if let Some(Value::String(text)) = &body {
        add_payload_properties(&mut metadata, text);
    }
    for (key, value) in &request.params {
        metadata.insert(key.clone(), encode_value(&Value::String(value.clone())));
    }
    metadata.insert("Query".to_owned(), Value::Object(query));
    metadata.insert("Headers".to_owned(), Value::Object(header_strings));
    metadata.insert("sys".to_owned(), sys(function_name));

    let mut data = Map::new();
    data.insert(trigger_name.to_owned(), trigger);
    json!({ "Data": data, "Metadata": metadata })
}

/// The invocation request for a queue-triggered function.
pub(crate) fn queue_envelope(
    function_name: &str,
    trigger_name: &str,
    message: &LeasedMessage,
) -> Value {
    let mut metadata = Map::new();
    add_payload_properties(&mut metadata, &message.text);
    metadata.insert(
        "DequeueCount".to_owned(),
        encode_value(&json!(message.dequeue_count)),
    );
    metadata.insert("Id".to_owned(), encode_value(&json!(message.id)));
    metadata.insert(
        "PopReceipt".to_owned(),
        encode_value(&json!(message.pop_receipt)),
    );
    metadata.insert(
        "InsertionTime".to_owned(),
        json!(iso_offset(message.insertion_time)),
    );
    metadata.insert(
        "ExpirationTime".to_owned(),
        json!(iso_offset(message.expiration_time)),
    );
    metadata.insert(
        "NextVisibleTime".to_owned(),
        json!(iso_offset(message.next_visible_time)),
    );
    metadata.insert("sys".to_owned(), sys(function_name));

    let mut data = Map::new();
    data.insert(
        trigger_name.to_owned(),
        encode_value(&Value::String(message.text.clone())),
    );
    json!({ "Data": data, "Metadata": metadata })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_numbers_are_encoded_twice() {
        assert_eq!(encode_value(&json!("hello")), json!("\"hello\""));
        assert_eq!(encode_value(&json!(1)), json!("1"));
        assert_eq!(encode_value(&json!(true)), json!("true"));
        assert_eq!(encode_value(&json!({"a": 1})), json!({"a": 1}));
    }

    #[test]
    fn queue_timestamps_use_dotnet_offset_format() {
        let text = iso_offset(SystemTime::UNIX_EPOCH);
        assert_eq!(text, "1970-01-01T00:00:00+00:00");
    }

    #[test]
    fn http_envelope_has_header_arrays_and_joined_query() {
        let headers = vec![
            ("Accept".to_owned(), "a".to_owned()),
            ("accept".to_owned(), "b".to_owned()),
        ];
        let request = RoutedRequest {
            method: "GET",
            url: "http://localhost:7071/api/x?k=1&k=2".into(),
            query: vec![("k".into(), "1".into()), ("k".into(), "2".into())],
            headers,
            params: vec![("id".into(), "42".into())],
            body: b"",
        };
        let envelope = http_envelope("x", "req", &request);
        assert_eq!(
            envelope["Data"]["req"]["Headers"]["Accept"],
            json!(["a", "b"])
        );
        assert_eq!(envelope["Data"]["req"]["Query"]["k"], json!("1,2"));
        assert!(envelope["Data"]["req"].get("Body").is_none());
        assert_eq!(envelope["Metadata"]["id"], json!("\"42\""));
        assert_eq!(envelope["Metadata"]["Headers"]["Accept"], json!("a,b"));
        assert_eq!(envelope["Metadata"]["sys"]["MethodName"], json!("x"));
    }
}
