//! Interprets the handler's reply to an invocation (docs/protocol.md §8.6) and turns output values into
//! a public HTTP response and queue messages, base64 pitfall included (docs/protocol.md §8.7).
//!
//! The pitfall is reproduced on purpose: the host tries to base64-decode every string output
//! value except named `http` outputs and `"dataType": "binary"` bindings, and uses the decoded
//! bytes when that succeeds. A handler that emits plain strings which happen to be valid base64
//! (`"test"`, `"abcd1234"`) must see them corrupted here exactly as it would in Azure.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

use super::HttpResponse;
use super::config::{FunctionConfig, MessageEncoding, OutputKind, get_ci};

/// Largest message a Storage queue accepts, counted after the message encoding: 64 KiB
/// (https://learn.microsoft.com/rest/api/storageservices/put-message).
pub(crate) const MAX_QUEUE_MESSAGE_BYTES: usize = 64 * 1024;

/// Name of the output binding that maps to `ReturnValue`.
const RETURN_BINDING: &str = "$return";
/// Content type of an HTTP output that sets none.
const DEFAULT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// `Convert.FromBase64String`: padded standard alphabet, whitespace ignored, lenient about
/// trailing bits.
const DOTNET_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// A 2xx, JSON reply.
#[derive(Debug, Clone, Default)]
pub(crate) struct HandlerReply {
    /// `Outputs`, keys as sent.
    pub(crate) outputs: Map<String, Value>,
    pub(crate) logs: Vec<String>,
    pub(crate) return_value: Option<Value>,
}

/// What a successful invocation produced.
#[derive(Debug, Default)]
pub(crate) struct AppliedOutputs {
    /// The public response, if an `http` output was set.
    pub(crate) http: Option<HttpResponse>,
    /// `(queue, text)` pairs to enqueue.
    pub(crate) messages: Vec<(String, String)>,
}

/// Checks status and content type and parses the body; any failure fails the invocation.
pub(crate) fn parse_reply(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<HandlerReply, String> {
    if !(200..300).contains(&status) {
        return Err(format!("the handler answered HTTP {status}"));
    }
    let mime = content_type
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if mime != "application/json" && mime != "text/json" {
        return Err(format!(
            "the handler answered with content type {:?}; application/json or text/json is required",
            content_type.unwrap_or("(none)")
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the handler's reply is not valid JSON: {e}"))?;
    if !value.is_object() {
        return Err("the handler's reply is not a JSON object".to_owned());
    }
    let outputs = match get_ci(&value, "Outputs") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(outputs)) => outputs.clone(),
        Some(_) => return Err("`Outputs` must be an object".to_owned()),
    };
    let logs = match get_ci(&value, "Logs") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(_) => return Err("`Logs` must be an array".to_owned()),
    };
    let return_value = get_ci(&value, "ReturnValue")
        .filter(|v| !v.is_null())
        .cloned();
    Ok(HandlerReply {
        outputs,
        logs,
        return_value,
    })
}

/// Maps every output binding's value to its effect.
pub(crate) fn apply(
    function: &FunctionConfig,
    reply: &HandlerReply,
) -> Result<AppliedOutputs, String> {
    let mut applied = AppliedOutputs::default();
    for binding in &function.outputs {
        let is_return = binding.name == RETURN_BINDING;
        let value = if is_return {
            reply.return_value.as_ref()
        } else {
            reply
                .outputs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&binding.name))
                .map(|(_, v)| v)
        };
        let Some(value) = value.filter(|v| !v.is_null()) else {
            continue;
        };
        match &binding.kind {
            OutputKind::Http if is_return => applied.http = Some(return_http_output(value)?),
            OutputKind::Http => {
                applied.http = Some(
                    http_output(value).map_err(|e| format!("output `{}`: {e}", binding.name))?,
                );
            }
            OutputKind::Queue { queue_name } => {
                let skip_decode = binding.binary;
                applied.messages.extend(
                    queue_messages(value, skip_decode)
                        .into_iter()
                        .map(|text| (queue_name.clone(), text)),
                );
            }
            OutputKind::Other { binding_type } => {
                tracing::warn!(
                    function = %function.name,
                    binding = %binding.name,
                    %binding_type,
                    "output binding type is not emulated; value dropped"
                );
            }
        }
    }
    Ok(applied)
}

/// Refuses the outputs if a queue message is larger than Storage accepts once encoded: the
/// host's queue binding throws, so the invocation fails and nothing is enqueued.
pub(crate) fn check_message_sizes(
    applied: &AppliedOutputs,
    encoding: MessageEncoding,
) -> Result<(), String> {
    for (queue, text) in &applied.messages {
        let stored = match encoding {
            MessageEncoding::Base64 => text.len().div_ceil(3) * 4,
            MessageEncoding::None => text.len(),
        };
        if stored > MAX_QUEUE_MESSAGE_BYTES {
            return Err(format!(
                "a message for queue `{queue}` is {stored} bytes once encoded; Storage queues accept at most {MAX_QUEUE_MESSAGE_BYTES}"
            ));
        }
    }
    Ok(())
}

/// Decodes like `Convert.FromBase64String`, or `None` when that would throw.
pub(crate) fn dotnet_base64_decode(text: &str) -> Option<Vec<u8>> {
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'))
        .collect();
    if !compact.len().is_multiple_of(4) {
        return None;
    }
    DOTNET_BASE64.decode(compact.as_bytes()).ok()
}

/// A string output value after the host's base64 attempt.
fn after_base64_attempt(text: &str) -> Vec<u8> {
    dotnet_base64_decode(text).unwrap_or_else(|| text.as_bytes().to_vec())
}

/// Queue output values: arrays are one message per element, objects their JSON text, strings
/// subject to the base64 pitfall unless the binding is binary.
fn queue_messages(value: &Value, binary: bool) -> Vec<String> {
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .flat_map(|item| match item {
                Value::Array(_) => vec![item.to_string()],
                other => queue_messages(other, binary),
            })
            .collect(),
        Value::String(text) if binary => vec![text.clone()],
        Value::String(text) => {
            vec![String::from_utf8_lossy(&after_base64_attempt(text)).into_owned()]
        }
        other => vec![other.to_string()],
    }
}

/// A named `http` output: `{statusCode|status, headers, body}`.
fn http_output(value: &Value) -> Result<HttpResponse, String> {
    let Value::Object(_) = value else {
        return Err("an http output must be an object {statusCode, headers, body}".to_owned());
    };
    let status = match get_ci(value, "statusCode").or_else(|| get_ci(value, "status")) {
        None | Some(Value::Null) => 200,
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| format!("statusCode {n} is not a status code"))?,
        Some(Value::String(s)) => s
            .trim()
            .parse::<u16>()
            .map_err(|_| format!("statusCode {s:?} is not a status code"))?,
        Some(other) => return Err(format!("statusCode {other} is not a status code")),
    };
    if !(100..=999).contains(&status) {
        return Err(format!("statusCode {status} is not a status code"));
    }
    let mut headers = Vec::new();
    match get_ci(value, "headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, header_value) in map {
                let Value::String(text) = header_value else {
                    return Err(format!("header {name:?} must be a string"));
                };
                headers.push((name.clone(), text.clone()));
            }
        }
        Some(_) => return Err("headers must be an object".to_owned()),
    }
    let body = match get_ci(value, "body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => text.as_bytes().to_vec(),
        Some(other @ (Value::Object(_) | Value::Array(_))) => serde_json::to_string_pretty(other)
            .unwrap_or_default()
            .into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    };
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".to_owned(), DEFAULT_CONTENT_TYPE.to_owned()));
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// `$return` of type `http`: base64 attempt first, then parsed as JSON where possible; an
/// object with a `body` key is a response object, anything else is the body of a `200`.
fn return_http_output(value: &Value) -> Result<HttpResponse, String> {
    let (parsed, raw) = match value {
        Value::String(text) => {
            let bytes = after_base64_attempt(text);
            (serde_json::from_slice::<Value>(&bytes).ok(), bytes)
        }
        other => (Some(other.clone()), other.to_string().into_bytes()),
    };
    if let Some(object @ Value::Object(_)) = &parsed
        && get_ci(object, "body").is_some()
    {
        return http_output(object);
    }
    Ok(HttpResponse {
        status: 200,
        headers: vec![("Content-Type".to_owned(), DEFAULT_CONTENT_TYPE.to_owned())],
        body: raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_pitfall_decodes_plain_words() {
        assert_eq!(dotnet_base64_decode("test"), Some(vec![0xb5, 0xeb, 0x2d]));
        assert!(dotnet_base64_decode("abcd1234").is_some());
        assert_eq!(dotnet_base64_decode("hello"), None);
        assert_eq!(dotnet_base64_decode("aGVs bG8="), Some(b"hello".to_vec()));
        assert_eq!(dotnet_base64_decode("Message enqueued"), None);
    }

    #[test]
    fn queue_values_map_to_messages() {
        assert_eq!(
            queue_messages(&json!({"a": 1}), false),
            vec!["{\"a\":1}".to_owned()]
        );
        assert_eq!(
            queue_messages(&json!(["hello", {"b": 2}]), false),
            vec!["hello".to_owned(), "{\"b\":2}".to_owned()]
        );
        assert_eq!(
            queue_messages(&json!("aGVsbG8="), false),
            vec!["hello".to_owned()]
        );
        assert_eq!(
            queue_messages(&json!("aGVsbG8="), true),
            vec!["aGVsbG8=".to_owned()]
        );
    }

    #[test]
    fn messages_over_64_kib_once_encoded_fail_the_outputs() {
        let with = |len: usize| AppliedOutputs {
            http: None,
            messages: vec![("q".to_owned(), "x".repeat(len))],
        };
        // 49 152 bytes encode to exactly 65 536 base64 characters.
        assert!(check_message_sizes(&with(49_152), MessageEncoding::Base64).is_ok());
        let error = check_message_sizes(&with(49_153), MessageEncoding::Base64).unwrap_err();
        assert!(error.contains("65536"), "{error}");
        assert!(check_message_sizes(&with(65_536), MessageEncoding::None).is_ok());
        assert!(check_message_sizes(&with(65_537), MessageEncoding::None).is_err());
    }

    #[test]
    fn http_output_accepts_string_status_and_indents_objects() {
        let response = http_output(&json!({"statusCode": "202", "body": {"a": 1}})).unwrap();
        assert_eq!(response.status, 202);
        assert_eq!(
            String::from_utf8(response.body).unwrap(),
            "{\n  \"a\": 1\n}"
        );
        assert!(
            response
                .headers
                .contains(&("Content-Type".to_owned(), DEFAULT_CONTENT_TYPE.to_owned()))
        );
        assert!(http_output(&json!("bare string")).is_err());
        assert!(http_output(&json!({"headers": {"x": 1}})).is_err());
    }

    #[test]
    fn replies_need_2xx_and_json() {
        assert!(parse_reply(500, Some("application/json"), b"{}").is_err());
        assert!(parse_reply(200, Some("text/plain"), b"{}").is_err());
        assert!(parse_reply(200, None, b"{}").is_err());
        assert!(parse_reply(200, Some("application/json"), b"not json").is_err());
        let reply = parse_reply(
            200,
            Some("application/json; charset=utf-8"),
            br#"{"outputs":{"res":{}},"logs":["a"],"returnValue":null}"#,
        )
        .unwrap();
        assert_eq!(reply.logs, vec!["a".to_owned()]);
        assert!(reply.outputs.contains_key("res"));
        assert!(reply.return_value.is_none());
    }
}
