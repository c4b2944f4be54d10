//! The EM work item: what the `entitlement` function hands to `process` through the queue.
//!
//! EM callouts share the work queue (and its poison queue, retry and last-attempt rules) with
//! LCW callouts, so one `process` function serves both. An EM item says so in `kind`, which an
//! LCW work item does not have; the two can never be mistaken for one another. Like the LCW item
//! it is a JSON object (never a string: docs/protocol.md §8.7) and carries the callout as
//! received.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::callout::EntitlementCallout;
use crate::callout::CalloutError;

/// Version of the EM work-item schema.
pub const ENTITLEMENT_WORK_ITEM_VERSION: u32 = 1;
/// The `kind` of an EM work item.
pub const ENTITLEMENT_KIND: &str = "entitlement";

/// An EM callout accepted and waiting to be processed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntitlementWorkItem {
    /// Schema version ([`ENTITLEMENT_WORK_ITEM_VERSION`]).
    pub version: u32,
    /// Always [`ENTITLEMENT_KIND`].
    pub kind: String,
    /// `customExtensionStageInstanceId`, at the top so it shows in queue tooling.
    pub custom_extension_stage_instance_id: String,
    /// The stage as received, for the same reason.
    pub stage: String,
    /// When the callout was accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub accepted_at: OffsetDateTime,
    /// After this instant EM no longer waits for a resume.
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    /// The callout body as received.
    pub callout: Value,
}

/// Why a queue message is not a usable EM work item.
#[derive(Debug, thiserror::Error)]
pub enum EntitlementWorkItemError {
    /// The message does not have the EM work-item shape.
    #[error("the queue message is not an Entitlement Management work item: {0}")]
    Shape(String),
    /// The schema version is newer than this binary understands.
    #[error(
        "Entitlement Management work item version {0} is not supported by this release (it reads version {ENTITLEMENT_WORK_ITEM_VERSION})"
    )]
    Version(u32),
    /// The callout inside no longer parses.
    #[error("the work item's Entitlement Management callout is invalid: {0}")]
    Callout(#[from] CalloutError),
}

/// Whether a queue message is an EM work item (it has `"kind": "entitlement"`).
pub fn is_entitlement_item(message: &Value) -> bool {
    message.get("kind").and_then(Value::as_str) == Some(ENTITLEMENT_KIND)
}

impl EntitlementWorkItem {
    /// An item for `callout`, received at `accepted_at`, due by `deadline`.
    pub fn new(
        callout: &EntitlementCallout,
        raw: Value,
        accepted_at: OffsetDateTime,
        deadline: OffsetDateTime,
    ) -> EntitlementWorkItem {
        EntitlementWorkItem {
            version: ENTITLEMENT_WORK_ITEM_VERSION,
            kind: ENTITLEMENT_KIND.to_owned(),
            custom_extension_stage_instance_id: callout.stage_instance_id.clone(),
            stage: callout.stage.as_wire().to_owned(),
            accepted_at,
            deadline,
            callout: raw,
        }
    }

    /// Reads an item from its JSON form and parses the callout inside.
    pub fn decode(
        value: Value,
    ) -> Result<(EntitlementWorkItem, EntitlementCallout), EntitlementWorkItemError> {
        let item: EntitlementWorkItem = serde_path_to_error::deserialize(value)
            .map_err(|e| EntitlementWorkItemError::Shape(format!("{}: {}", e.path(), e.inner())))?;
        if item.kind != ENTITLEMENT_KIND {
            return Err(EntitlementWorkItemError::Shape(
                "kind: not an Entitlement Management item".to_owned(),
            ));
        }
        if item.version != ENTITLEMENT_WORK_ITEM_VERSION {
            return Err(EntitlementWorkItemError::Version(item.version));
        }
        let callout = EntitlementCallout::from_value(item.callout.clone())?;
        Ok((item, callout))
    }

    /// The JSON form put on the queue.
    pub fn into_value(self) -> Value {
        // A struct of strings, numbers and a Value always serialises into a Value.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The size the item may take as queue-message text, measured as the LCW item is
    /// ([`crate::work_item::WorkItem::queued_size`]): pretty-printed with two-byte line ends.
    pub fn queued_size(&self) -> usize {
        serde_json::to_string_pretty(self)
            .map(|text| text.len() + text.bytes().filter(|b| *b == b'\n').count())
            .unwrap_or(usize::MAX)
    }
}
