//! The work item: what `accept` hands to `process` through the queue.
//!
//! It carries the callout exactly as received (so user code can read fields this version does
//! not model, such as beta `targetSubject`) plus the two times that bound the task. It travels
//! as a JSON object, never as a string: the Functions host base64-decodes string outputs that
//! happen to be valid base64 (docs/protocol.md §8.7), while objects pass untouched.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::callout::{Callout, CalloutError};

/// Version of the work-item schema, so a later release can read items queued by this one.
pub const WORK_ITEM_VERSION: u32 = 1;

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
    pub callout: Value,
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
        let callout = Callout::from_value(item.callout.clone())?;
        Ok((item, callout))
    }

    /// The JSON form put on the queue.
    pub fn into_value(self) -> Value {
        // Serialising a struct of strings, numbers and a Value into a Value cannot fail.
        serde_json::to_value(self).expect("a work item always serialises")
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
            callout: serde_json::json!({"data":{"workflow":{"id":"w"},"task":{"id":"t"},"taskProcessingResult":{"id":"r"}}}),
        }
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
