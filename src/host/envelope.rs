//! The custom-handler JSON protocol's envelopes (docs/protocol.md §8.4–§8.6).
//!
//! The host's quirks live here and nowhere else: binding values that are strings arrive
//! JSON-encoded a second time (`"\"hello\""`), numbers arrive as strings (`DequeueCount: "1"`),
//! header values are arrays, keys match case-insensitively, and the documentation's own example
//! encodes differently from the host's code. Decoding therefore accepts every documented form.

use serde_json::{Map, Value, json};

/// How much larger than the callout body an HTTP envelope can be, at worst. The body appears
/// as the string `Data.req.Body`, where a raw control character escapes to six bytes, and, when
/// it is a JSON object, once more as its top-level properties in `Metadata`, where strings are
/// encoded again (docs/protocol.md §8.4, §8.5): about two more bytes per byte at worst. 16
/// leaves room for however the host formats the envelope.
const ENVELOPE_GROWTH: usize = 16;
/// Room for everything but the body: headers (twice), query, identities, `sys`.
const ENVELOPE_OVERHEAD: usize = 1024 * 1024;

/// The largest `callout` envelope read whole: one carrying any callout up to
/// `max_callout_bytes` fits, so an envelope over it can only carry a body over that limit, and
/// is answered `413` without being parsed.
pub fn envelope_limit(max_callout_bytes: usize) -> usize {
    max_callout_bytes
        .saturating_mul(ENVELOPE_GROWTH)
        .saturating_add(ENVELOPE_OVERHEAD)
}

/// An invocation request from the host: `{"Data": {...}, "Metadata": {...}}`.
#[derive(Debug, Clone, Default)]
pub struct InvocationRequest {
    data: Map<String, Value>,
    metadata: Map<String, Value>,
}

/// The request body is not an envelope.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// Not JSON, or not an object.
    #[error("the invocation request is not a JSON object: {0}")]
    NotJson(String),
    /// A binding the function declares is absent.
    #[error("the invocation request has no Data.{0}")]
    MissingBinding(&'static str),
}

impl InvocationRequest {
    /// Parses the envelope.
    pub fn parse(body: &[u8]) -> Result<InvocationRequest, EnvelopeError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
        let Value::Object(mut top) = value else {
            return Err(EnvelopeError::NotJson(
                "the top level is not an object".to_owned(),
            ));
        };
        // Taken out of the envelope rather than cloned: the envelope is not needed afterwards.
        let mut section = |name: &str| {
            let key = top.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned();
            match key.and_then(|k| top.remove(&k)) {
                Some(Value::Object(map)) => map,
                _ => Map::new(),
            }
        };
        Ok(InvocationRequest {
            data: section("Data"),
            metadata: section("Metadata"),
        })
    }

    /// A binding's value as sent (not decoded).
    pub fn data(&self, binding: &'static str) -> Result<&Value, EnvelopeError> {
        get_ci(&self.data, binding).ok_or(EnvelopeError::MissingBinding(binding))
    }

    /// A metadata value, decoded.
    pub fn metadata(&self, key: &str) -> Option<Value> {
        get_ci(&self.metadata, key).map(decode_value)
    }

    /// `Metadata.DequeueCount` as a number: the host sends `"1"`, the docs show `1`.
    pub fn dequeue_count(&self) -> Option<u32> {
        match self.metadata("DequeueCount")? {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Looks a key up case-insensitively (the host binds names that way).
pub fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Undoes the host's string encoding: a string whose content is JSON is replaced by what it
/// encodes, up to twice (a queue message holding a JSON object arrives encoded twice); a string
/// that is not JSON is kept as it is.
pub fn decode_value(value: &Value) -> Value {
    let mut current = value.clone();
    for _ in 0..2 {
        match &current {
            Value::String(text) => match serde_json::from_str::<Value>(text) {
                Ok(inner) => current = inner,
                Err(_) => break,
            },
            _ => break,
        }
    }
    current
}

/// The fields of an HTTP trigger's `Data.<name>` object that the handler uses.
#[derive(Debug, Clone)]
pub struct HttpTriggerData<'a> {
    object: &'a Map<String, Value>,
}

impl<'a> HttpTriggerData<'a> {
    /// Reads the trigger object; anything else is treated as an empty request.
    pub fn new(value: &'a Value) -> Option<HttpTriggerData<'a>> {
        value.as_object().map(|object| HttpTriggerData { object })
    }

    /// `Body` as bytes: the host sends the raw text (absent when there was no body); a body that
    /// arrives encoded once more, or as a JSON object, is accepted too.
    pub fn body(&self) -> Vec<u8> {
        match get_ci(self.object, "Body") {
            None | Some(Value::Null) => Vec::new(),
            // Only a JSON string literal can be the body encoded once more; anything else is
            // the raw text (checked first so a normal body is not parsed an extra time).
            Some(Value::String(text)) if text.trim_start().starts_with('"') => {
                match serde_json::from_str::<String>(text) {
                    Ok(inner) => inner.into_bytes(),
                    Err(_) => text.clone().into_bytes(),
                }
            }
            Some(Value::String(text)) => text.clone().into_bytes(),
            Some(other) => other.to_string().into_bytes(),
        }
    }

    /// The first value of a header, matched case-insensitively (values arrive as arrays).
    pub fn header(&self, name: &str) -> Option<String> {
        let Some(Value::Object(headers)) = get_ci(self.object, "Headers") else {
            return None;
        };
        match get_ci(headers, name)? {
            Value::Array(values) => values.first().and_then(Value::as_str).map(str::to_owned),
            Value::String(value) => Some(value.clone()),
            _ => None,
        }
    }
}

/// An invocation response: `{"Outputs": {...}, "Logs": [...], "ReturnValue": null}`.
#[derive(Debug, Clone, Default)]
pub struct InvocationResponse {
    outputs: Map<String, Value>,
    logs: Vec<String>,
}

impl InvocationResponse {
    /// Sets a named output binding.
    pub fn output(mut self, binding: &str, value: Value) -> InvocationResponse {
        self.outputs.insert(binding.to_owned(), value);
        self
    }

    /// Sets an `http` output binding. `statusCode` is sent as a string, as the host's own
    /// samples do; header values are strings, as the host requires.
    pub fn http_output(
        self,
        binding: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: String,
    ) -> InvocationResponse {
        let headers: Map<String, Value> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect();
        self.output(
            binding,
            json!({ "statusCode": status.to_string(), "headers": headers, "body": body }),
        )
    }

    /// Adds a line to `Logs` (shown at Information level, correlated with the invocation).
    pub fn log(mut self, line: impl Into<String>) -> InvocationResponse {
        self.logs.push(line.into());
        self
    }

    /// The JSON body.
    pub fn into_json(self) -> Value {
        json!({ "Outputs": self.outputs, "Logs": self.logs, "ReturnValue": null })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An HTTP envelope as the host builds it (docs/protocol.md §8.4, §8.5), headers included.
    fn envelope_for(body: &str) -> String {
        let mut metadata = json!({"Headers": {"Authorization": "PoP x"}});
        if let Ok(Value::Object(properties)) = serde_json::from_str::<Value>(body) {
            for (key, value) in properties {
                let encoded = match value {
                    Value::String(_) => Value::String(value.to_string()),
                    other => other,
                };
                metadata[key] = encoded;
            }
        }
        json!({
            "Data": {"req": {"Body": body, "Headers": {"Authorization": ["PoP x"]}}},
            "Metadata": metadata,
        })
        .to_string()
    }

    #[test]
    fn the_envelope_of_any_callout_within_the_limit_fits_the_envelope_limit() {
        let limit = 4096;
        // Raw control characters: six bytes each in `Body`.
        let control = "\u{1}".repeat(limit);
        // A JSON object of backslashes: doubled in `Body`, doubled twice in `Metadata`.
        let backslashes = format!(r#"{{"d":"{}"}}"#, "\\\\".repeat((limit - 8) / 2));
        for body in [control, backslashes] {
            assert!(body.len() <= limit, "{}", body.len());
            let envelope = envelope_for(&body);
            assert!(envelope.len() >= 4 * body.len(), "a real worst case");
            assert!(envelope.len() <= envelope_limit(limit));
        }
    }

    #[test]
    fn strings_are_decoded_from_the_host_and_the_docs_forms() {
        // The host encodes a string value twice; the docs show it once.
        assert_eq!(decode_value(&json!("\"hello\"")), json!("hello"));
        assert_eq!(decode_value(&json!("hello")), json!("hello"));
        // A queue message holding a JSON object: the host form needs two parses.
        let message = r#"{"a":1}"#;
        let host_form = serde_json::to_string(message).unwrap();
        assert_eq!(decode_value(&json!(host_form)), json!({"a": 1}));
        assert_eq!(decode_value(&json!(message)), json!({"a": 1}));
        assert_eq!(
            decode_value(&json!({"already": "object"})),
            json!({"already": "object"})
        );
    }

    #[test]
    fn dequeue_count_accepts_string_and_number() {
        for metadata in [
            json!({"DequeueCount": "3"}),
            json!({"DequeueCount": 3}),
            json!({"dequeuecount": "\"3\""}),
        ] {
            let body = json!({"Data": {}, "Metadata": metadata}).to_string();
            let request = InvocationRequest::parse(body.as_bytes()).unwrap();
            assert_eq!(request.dequeue_count(), Some(3), "{metadata}");
        }
    }

    #[test]
    fn http_trigger_headers_are_arrays_and_case_insensitive() {
        let req = json!({"Headers": {"Authorization": ["PoP x"], "Content-Type": "application/json"}, "Body": "{\"a\":1}"});
        let data = HttpTriggerData::new(&req).unwrap();
        assert_eq!(data.header("authorization").as_deref(), Some("PoP x"));
        assert_eq!(
            data.header("content-type").as_deref(),
            Some("application/json")
        );
        assert_eq!(data.header("x-missing"), None);
        assert_eq!(data.body(), br#"{"a":1}"#);
    }

    #[test]
    fn bodies_in_every_encoding_come_out_as_the_same_bytes() {
        let text = r#"{"a":1}"#;
        for body in [
            json!(text),
            json!(serde_json::to_string(text).unwrap()),
            json!({"a": 1}),
        ] {
            let req = json!({ "Body": body });
            assert_eq!(HttpTriggerData::new(&req).unwrap().body(), text.as_bytes());
        }
        assert!(HttpTriggerData::new(&json!({})).unwrap().body().is_empty());
    }

    #[test]
    fn envelope_keys_match_case_insensitively() {
        let request =
            InvocationRequest::parse(br#"{"data":{"REQ":{"Body":"x"}},"metadata":{}}"#).unwrap();
        assert!(request.data("req").is_ok());
        assert!(matches!(
            request.data("workItem"),
            Err(EnvelopeError::MissingBinding("workItem"))
        ));
        assert!(InvocationRequest::parse(b"[]").is_err());
    }

    #[test]
    fn response_shape() {
        let response = InvocationResponse::default()
            .http_output("res", 202, &[], String::new())
            .output("task", json!({"k": "v"}))
            .log("accepted");
        assert_eq!(
            response.into_json(),
            json!({"Outputs": {"res": {"statusCode": "202", "headers": {}, "body": ""}, "task": {"k": "v"}}, "Logs": ["accepted"], "ReturnValue": null})
        );
    }
}
