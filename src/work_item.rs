//! The work item: what `accept` hands to `process` through the queue.
//!
//! It carries the callout exactly as received (so user code can read fields this version does
//! not model, such as beta `targetSubject`) plus the two times that bound the task. The callout
//! travels as its JSON text ([`CalloutJson`]): accept writes it into the reply as it came,
//! without building a tree, and a task that reads it gets the tree on first use. It travels
//! as a JSON object, never as a string: the Functions host base64-decodes string outputs that
//! happen to be valid base64 (docs/protocol.md §8.7), while objects pass untouched.
//!
//! # Size
//!
//! A work item is one Storage queue message, and a queue message holds at most 64 KiB
//! ([`QUEUE_MESSAGE_LIMIT`]) *after* the host's `messageEncoding`, base64 by default
//! (docs/protocol.md §8.10), which turns every 3 bytes into 4: the JSON text may be at most
//! 65 536 / 4 × 3 = 49 152 bytes ([`WORK_ITEM_BUDGET`]). How the host writes an object output
//! as text is unverified (docs/protocol.md §10 item 24): .NET serialisers may indent it, with
//! `\r\n` line ends. So [`WorkItem::queued_size`] measures the item indented by two spaces with
//! two-byte line ends, the longest of the plausible forms — the callout included, as if it were
//! re-serialised from its parsed tree — and a callout whose item does not fit is refused at
//! accept (`413`) rather than lost at the queue. Real callouts are a few KiB.

use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;

use crate::callout::{Callout, CalloutError};
use crate::json_size::pretty_size;

/// Version of the work-item schema, so a later release can read items queued by this one.
pub const WORK_ITEM_VERSION: u32 = 1;

/// Largest Storage queue message, counted after encoding: 64 KiB
/// (https://learn.microsoft.com/rest/api/storageservices/put-message).
pub const QUEUE_MESSAGE_LIMIT: usize = 64 * 1024;

/// Largest work item, as measured by [`WorkItem::queued_size`]: what base64 turns into exactly
/// [`QUEUE_MESSAGE_LIMIT`] bytes.
pub const WORK_ITEM_BUDGET: usize = QUEUE_MESSAGE_LIMIT / 4 * 3;

/// A callout accepted and waiting to be processed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkItem {
    /// Schema version ([`WORK_ITEM_VERSION`]).
    pub version: u32,
    /// `taskProcessingResult.id`, repeated at the top so it shows in queue tooling and in the
    /// host's `Metadata` (top-level properties of a JSON message become metadata keys).
    pub task_processing_result_id: String,
    /// When the callout was accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub accepted_at: OffsetDateTime,
    /// After this instant a resume is pointless: LCW has given up on the task.
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    /// The callout body as received.
    pub callout: CalloutJson,
}

/// A callout's JSON text, as received, and the tree it parses to, built on first use.
#[derive(Debug, Clone)]
pub struct CalloutJson {
    text: Box<RawValue>,
    tree: OnceLock<Value>,
}

impl CalloutJson {
    /// The callout text (already checked to be one JSON value).
    pub fn from_raw(text: Box<RawValue>) -> CalloutJson {
        CalloutJson {
            text,
            tree: OnceLock::new(),
        }
    }

    /// The callout written from a tree.
    pub fn from_value(value: Value) -> CalloutJson {
        // Writing a `Value` cannot fail: its keys are strings and its numbers finite.
        let text = serde_json::value::to_raw_value(&value).expect("a Value always serialises");
        CalloutJson {
            text,
            tree: OnceLock::from(value),
        }
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.text.get()
    }

    /// The parsed tree (parsed on the first call).
    pub fn value(&self) -> &Value {
        self.tree.get_or_init(|| {
            // The text was checked to be JSON when this was made; `Null` is unreachable.
            serde_json::from_str(self.text.get()).unwrap_or(Value::Null)
        })
    }
}

impl PartialEq for CalloutJson {
    fn eq(&self, other: &CalloutJson) -> bool {
        self.get() == other.get()
    }
}

impl Serialize for CalloutJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for CalloutJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CalloutJson, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(CalloutJson::from_raw)
    }
}

/// Why a queue message is not a usable work item.
#[derive(Debug, thiserror::Error)]
pub enum WorkItemError {
    /// The message does not have the work-item shape.
    #[error("the queue message is not a work item: {0}")]
    Shape(String),
    /// The schema version is newer than this binary understands.
    #[error(
        "work item version {0} is not supported by this release (it reads version {WORK_ITEM_VERSION})"
    )]
    Version(u32),
    /// The callout inside no longer parses.
    #[error("the work item's callout is invalid: {0}")]
    Callout(#[from] CalloutError),
}

impl WorkItem {
    /// Reads a work item from its JSON form and parses the callout inside.
    pub fn decode(value: Value) -> Result<(WorkItem, Callout), WorkItemError> {
        let item: WorkItem = serde_path_to_error::deserialize(value)
            .map_err(|e| WorkItemError::Shape(format!("{}: {}", e.path(), e.inner())))?;
        if item.version != WORK_ITEM_VERSION {
            return Err(WorkItemError::Version(item.version));
        }
        let (callout, _) = Callout::read(item.callout.get().as_bytes())?;
        Ok((item, callout))
    }

    /// The size the item may take as queue-message text before encoding, on the pessimistic
    /// reading of how the host serialises it (see the module docs): indented by two spaces,
    /// every line ending in two bytes, the callout as re-serialised from its tree. Compare with
    /// [`WORK_ITEM_BUDGET`].
    pub fn queued_size(&self) -> usize {
        // The item with `null` for the callout, then the callout's own indented size in its
        // place (it is a field one level deep).
        let shell = Shell {
            version: self.version,
            task_processing_result_id: &self.task_processing_result_id,
            accepted_at: self.accepted_at,
            deadline: self.deadline,
            callout: (),
        };
        let mut counter = ByteCounter::default();
        // Writing into a counter cannot fail: strings, numbers and times, and the counter's
        // writes always succeed.
        serde_json::to_writer_pretty(&mut counter, &shell).expect("a work item always serialises");
        let callout = match pretty_size(self.callout.get(), 1) {
            Some(size) => size,
            // Unreachable (the text is one JSON value); measure the tree instead.
            None => {
                let mut tree = ByteCounter::default();
                let value = self.callout.value();
                serde_json::to_writer_pretty(&mut tree, value).expect("a Value always serialises");
                crate::json_size::PrettySize {
                    bytes: tree.bytes,
                    newlines: tree.newlines,
                }
            }
        };
        let null = "null".len();
        // Pretty output has a newline only between tokens (newlines inside strings are escaped),
        // so each one becomes `\r\n` in the longest form.
        counter.bytes - null + callout.bytes + counter.newlines + callout.newlines
    }

    /// The JSON form put on the queue.
    pub fn into_value(self) -> Value {
        // Serialising a struct of strings, numbers and a Value into a Value cannot fail.
        serde_json::to_value(self).expect("a work item always serialises")
    }
}

/// A work item's fields with the callout left out (`null`), for measuring.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shell<'a> {
    version: u32,
    task_processing_result_id: &'a str,
    #[serde(with = "time::serde::rfc3339")]
    accepted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    deadline: OffsetDateTime,
    callout: (),
}

/// Counts what would be written, without keeping it.
#[derive(Default)]
struct ByteCounter {
    bytes: usize,
    newlines: usize,
}

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len();
        self.newlines += buf.iter().filter(|b| **b == b'\n').count();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn item() -> WorkItem {
        WorkItem {
            version: WORK_ITEM_VERSION,
            task_processing_result_id: "r".into(),
            accepted_at: datetime!(2026-11-02 08:00:03.5 UTC),
            deadline: datetime!(2026-11-02 08:29:03.5 UTC),
            callout: CalloutJson::from_value(
                serde_json::json!({"data":{"workflow":{"id":"w"},"task":{"id":"t"},"taskProcessingResult":{"id":"r"}}}),
            ),
        }
    }

    /// The item as the host would write it on the pessimistic reading: its tree, indented,
    /// with two-byte line ends.
    fn indented_crlf(item: &WorkItem) -> usize {
        let tree = serde_json::to_value(item).unwrap();
        serde_json::to_string_pretty(&tree)
            .unwrap()
            .replace('\n', "\r\n")
            .len()
    }

    #[test]
    fn round_trips_through_json_text() {
        let text = serde_json::to_string(&item().into_value()).unwrap();
        let (back, callout) = WorkItem::decode(serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back, item());
        assert_eq!(callout.task_processing_result.id, "r");
        assert!(
            text.contains("\"acceptedAt\":\"2026-11-02T08:00:03.5Z\""),
            "{text}"
        );
    }

    #[test]
    fn the_budget_is_what_base64_turns_into_64_kib() {
        assert_eq!(WORK_ITEM_BUDGET, 49_152);
        assert_eq!(WORK_ITEM_BUDGET.div_ceil(3) * 4, QUEUE_MESSAGE_LIMIT);
        assert!((WORK_ITEM_BUDGET + 1).div_ceil(3) * 4 > QUEUE_MESSAGE_LIMIT);
    }

    #[test]
    fn queued_size_covers_compact_and_indented_crlf_forms() {
        let item = item();
        let compact = serde_json::to_string(&item).unwrap().len();
        assert_eq!(item.queued_size(), indented_crlf(&item));
        assert!(item.queued_size() > compact);
        // A newline inside a string value is escaped, so it is not counted as a line end.
        let mut tree = item.callout.value().clone();
        tree["note"] = "a\nb".into();
        let with_newline = WorkItem {
            callout: CalloutJson::from_value(tree),
            ..item.clone()
        };
        assert_eq!(with_newline.queued_size(), indented_crlf(&with_newline));
    }

    #[test]
    fn a_callout_carried_as_received_is_measured_as_its_tree_indented() {
        // As LCW might send it: indented, escapes the tree writes differently (`\/`, `\u00e9`).
        let text = r#"{
            "data": { "workflow": {"id": "w", "displayName": "On\/boarding \u00e9"},
                      "task": {"id": "t"}, "taskProcessingResult": {"id": "r"} } }"#;
        let raw = RawValue::from_string(text.to_owned()).unwrap();
        let item = WorkItem {
            callout: CalloutJson::from_raw(raw),
            ..item()
        };
        assert_eq!(item.queued_size(), indented_crlf(&item));
        // The reply carries the text as received.
        let written = serde_json::to_string(&item).unwrap();
        assert!(
            written.contains(r#""displayName": "On\/boarding \u00e9""#),
            "{written}"
        );
        assert_eq!(item.callout.value()["data"]["workflow"]["id"], "w");
    }

    #[test]
    fn refuses_other_shapes_and_versions() {
        assert!(matches!(
            WorkItem::decode(serde_json::json!({"hello": 1})),
            Err(WorkItemError::Shape(_))
        ));
        let mut newer = item().into_value();
        newer["version"] = 2.into();
        assert!(matches!(
            WorkItem::decode(newer),
            Err(WorkItemError::Version(2))
        ));
        let mut broken = item().into_value();
        broken["callout"] = serde_json::json!({"data": {}});
        assert!(matches!(
            WorkItem::decode(broken),
            Err(WorkItemError::Callout(_))
        ));
    }
}
