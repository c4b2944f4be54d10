//! The `callout` function's invocation response, written straight from typed structs.
//!
//! One is written per callout, so no `Value` tree is built for it: the public reply goes into
//! the `res` output, the work item (its callout text as received) into the `task` output, and
//! one line into `Logs` (docs/protocol.md §8.6). `statusCode` is a string and header values are
//! strings, as the host requires.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{HTTP_OUTPUT_BINDING, QUEUE_OUTPUT_BINDING};
use crate::callout_reply::CalloutReply;
use crate::work_item::WorkItem;

/// `{"Outputs": {"res": …, "task": …}, "Logs": [line], "ReturnValue": null}`.
#[derive(Debug, Clone, Copy)]
pub struct CalloutResponse<'a> {
    /// The answer to the caller.
    pub reply: &'a CalloutReply,
    /// The work item to enqueue, when the callout was accepted as new.
    pub work_item: Option<&'a WorkItem>,
    /// The line for the invocation's log.
    pub log: &'a str,
}

impl CalloutResponse<'_> {
    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        let guess =
            512 + self.reply.body.len() + self.work_item.map_or(0, |i| i.callout.get().len());
        let mut out = Vec::with_capacity(guess);
        // Writing strings, numbers and already-checked JSON text into a Vec cannot fail.
        serde_json::to_writer(&mut out, self).expect("a callout response always serialises");
        out
    }
}

impl Serialize for CalloutResponse<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("Outputs", &Outputs(self))?;
        map.serialize_entry("Logs", &[self.log])?;
        map.serialize_entry("ReturnValue", &())?;
        map.end()
    }
}

struct Outputs<'a>(&'a CalloutResponse<'a>);

impl Serialize for Outputs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(HTTP_OUTPUT_BINDING, &HttpOutput(self.0.reply))?;
        if let Some(item) = self.0.work_item {
            map.serialize_entry(QUEUE_OUTPUT_BINDING, item)?;
        }
        map.end()
    }
}

struct HttpOutput<'a>(&'a CalloutReply);

impl Serialize for HttpOutput<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Status(u16);
        impl Serialize for Status {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(&self.0)
            }
        }
        struct Headers<'a>(&'a [(&'static str, String)]);
        impl Serialize for Headers<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
            }
        }
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("statusCode", &Status(self.0.status))?;
        map.serialize_entry("headers", &Headers(&self.0.headers))?;
        map.serialize_entry("body", &self.0.body)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::InvocationResponse;
    use serde_json::{Value, json};

    #[test]
    fn the_same_document_as_the_general_response_builder() {
        let reply = CalloutReply {
            status: 401,
            headers: vec![
                ("Content-Type", "application/json".to_owned()),
                ("WWW-Authenticate", "PoP error=\"x\"".to_owned()),
            ],
            body: r#"{"error":{"code":"c"}}"#.to_owned(),
        };
        let typed: Value = serde_json::from_slice(
            &CalloutResponse {
                reply: &reply,
                work_item: None,
                log: "refused",
            }
            .to_json(),
        )
        .unwrap();
        let general = InvocationResponse::default()
            .http_output(
                "res",
                401,
                &[
                    ("Content-Type", "application/json"),
                    ("WWW-Authenticate", "PoP error=\"x\""),
                ],
                reply.body.clone(),
            )
            .log("refused")
            .into_json();
        assert_eq!(typed, general);
    }

    #[test]
    fn an_accepted_callout_carries_the_work_item_as_an_object() {
        let config = crate::config::Config::unauthenticated_for_tests();
        let body = include_bytes!("../../tests/fixtures/callouts/launch-and-wait.json");
        let (item, _) =
            crate::pipeline::accept(body, time::OffsetDateTime::now_utc(), &config).unwrap();
        let written: Value = serde_json::from_slice(
            &CalloutResponse {
                reply: &CalloutReply::accepted(),
                work_item: Some(&item),
                log: "accepted",
            }
            .to_json(),
        )
        .unwrap();
        assert_eq!(
            written,
            json!({
                "Outputs": {
                    "res": {"statusCode": "202", "headers": {}, "body": ""},
                    "task": serde_json::to_value(&item).unwrap(),
                },
                "Logs": ["accepted"],
                "ReturnValue": null,
            })
        );
        assert!(written["Outputs"]["task"]["callout"].is_object());
    }
}
