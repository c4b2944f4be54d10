//! Phase one: callout body → work item. Pure and synchronous; it must stay fast.
//!
//! Two size limits apply, for different reasons. The *callout* limit (`LCW_MAX_CALLOUT_BYTES`)
//! bounds what is parsed at all. The *work item* limit is the Storage queue's: the work item
//! carries the callout, and a message the queue would refuse must be refused here, with an
//! answer LCW sees, rather than fail at the host after a `202` (docs/protocol.md §8.10).

use time::OffsetDateTime;

use crate::callout::{Callout, CalloutError};
use crate::config::Config;
use crate::settings::LCW_MAX_CALLOUT_BYTES;
use crate::work_item::{
    CalloutJson, QUEUE_MESSAGE_LIMIT, WORK_ITEM_BUDGET, WORK_ITEM_VERSION, WorkItem,
};

/// Why a callout body makes no work item.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The body is not a usable callout (`400`).
    #[error(transparent)]
    Invalid(#[from] CalloutError),
    /// The body, or the work item it makes, is too large (`413`).
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
}

/// A size limit a callout exceeded. The message names the limit and how to change it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TooLarge {
    /// The body is longer than `LCW_MAX_CALLOUT_BYTES`.
    #[error(
        "the callout body exceeds {LCW_MAX_CALLOUT_BYTES} ({limit} bytes); real callouts are a few KiB"
    )]
    Callout {
        /// The configured limit.
        limit: usize,
    },
    /// The work item would not fit in one Storage queue message.
    #[error(
        "the callout makes a work item of {size} bytes, over the {budget}-byte budget of a Storage queue message ({QUEUE_MESSAGE_LIMIT} bytes once base64-encoded)"
    )]
    WorkItem {
        /// The work item's size as measured by [`WorkItem::queued_size`].
        size: usize,
        /// [`WORK_ITEM_BUDGET`].
        budget: usize,
    },
}

impl TooLarge {
    /// A short machine-readable code for the reply.
    pub fn code(&self) -> &'static str {
        match self {
            TooLarge::Callout { .. } => "callout_too_large",
            TooLarge::WorkItem { .. } => "work_item_too_large",
        }
    }

    /// The limit that was exceeded, in bytes.
    pub fn limit(&self) -> usize {
        match self {
            TooLarge::Callout { limit } => *limit,
            TooLarge::WorkItem { budget, .. } => *budget,
        }
    }
}

/// Validates a callout body and builds the work item to enqueue. `now` is the receipt time,
/// from which the deadline is counted (the callout does not carry the timeout;
/// docs/protocol.md §5.5).
pub fn accept(
    body: &[u8],
    now: OffsetDateTime,
    config: &Config,
) -> Result<(WorkItem, Callout), AcceptError> {
    if body.len() > config.max_callout_bytes {
        return Err(TooLarge::Callout {
            limit: config.max_callout_bytes,
        }
        .into());
    }
    let (callout, text) = Callout::read(body)?;
    let budget = config
        .callback_timeout
        .saturating_sub(config.deadline_margin);
    let item = WorkItem {
        version: WORK_ITEM_VERSION,
        task_processing_result_id: callout.task_processing_result.id.clone(),
        accepted_at: now,
        // A budget beyond what `time` can add is a configuration of days; saturate rather than fail.
        deadline: now
            .checked_add(time::Duration::try_from(budget).unwrap_or(time::Duration::MAX))
            .unwrap_or(OffsetDateTime::now_utc() + time::Duration::days(365)),
        callout: CalloutJson::from_raw(text),
    };
    let size = item.queued_size();
    if size > WORK_ITEM_BUDGET {
        return Err(TooLarge::WorkItem {
            size,
            budget: WORK_ITEM_BUDGET,
        }
        .into());
    }
    Ok((item, callout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use time::macros::datetime;

    const FIXTURE: &[u8] = include_bytes!("../../tests/fixtures/callouts/launch-and-wait.json");

    #[test]
    fn deadline_is_receipt_plus_timeout_minus_margin() {
        let config = Config::unauthenticated_for_tests();
        let now = datetime!(2026-11-02 08:00:00 UTC);
        let (item, callout) = accept(FIXTURE, now, &config).unwrap();
        assert_eq!(item.deadline, datetime!(2026-11-02 08:29:00 UTC));
        assert_eq!(item.accepted_at, now);
        assert_eq!(
            item.task_processing_result_id,
            callout.task_processing_result.id
        );
        assert_eq!(
            item.callout.value()["data"]["subject"]["displayName"],
            "Adele Vance"
        );
    }

    #[test]
    fn invalid_callouts_make_no_work_item() {
        let config = Config::unauthenticated_for_tests();
        let err = accept(br#"{"data":{}}"#, OffsetDateTime::now_utc(), &config).unwrap_err();
        let AcceptError::Invalid(err) = err else {
            panic!("expected an invalid callout, got {err:?}");
        };
        assert_eq!(err.path(), Some("data.workflow.id"));
    }

    /// The fixture with an extra top-level field of `pad` bytes (legal: unknown fields are
    /// kept and ignored).
    fn padded(pad: usize) -> Vec<u8> {
        let mut value: Value = serde_json::from_slice(FIXTURE).unwrap();
        value["padding"] = "x".repeat(pad).into();
        serde_json::to_vec(&value).unwrap()
    }

    /// The padding that makes the work item accepted at `now` exactly `WORK_ITEM_BUDGET` bytes
    /// (the times' text, hence the size, depends on `now`).
    fn padding_at_budget(config: &Config, now: OffsetDateTime) -> usize {
        let (base, _) = accept(&padded(0), now, config).unwrap();
        WORK_ITEM_BUDGET - base.queued_size()
    }

    #[test]
    fn a_work_item_at_the_budget_is_accepted_and_one_byte_more_is_refused() {
        let config = Config::unauthenticated_for_tests();
        let now = datetime!(2026-11-02 08:00:00.123 UTC);
        let pad = padding_at_budget(&config, now);
        let (item, _) = accept(&padded(pad), now, &config).expect("exactly at the budget");
        assert_eq!(item.queued_size(), WORK_ITEM_BUDGET);
        let error = accept(&padded(pad + 1), now, &config).unwrap_err();
        let AcceptError::TooLarge(too_large) = error else {
            panic!("expected too large, got {error:?}");
        };
        assert_eq!(
            too_large,
            TooLarge::WorkItem {
                size: WORK_ITEM_BUDGET + 1,
                budget: WORK_ITEM_BUDGET
            }
        );
        assert!(too_large.to_string().contains("65536"), "{too_large}");
    }

    #[test]
    fn a_body_over_the_callout_limit_is_refused_before_parsing() {
        let mut config = Config::unauthenticated_for_tests();
        config.max_callout_bytes = 2048;
        // Not even JSON: the size is checked first.
        let error = accept(&[b'{'; 2049], OffsetDateTime::now_utc(), &config).unwrap_err();
        let AcceptError::TooLarge(too_large) = error else {
            panic!("expected too large, got {error:?}");
        };
        assert_eq!(too_large, TooLarge::Callout { limit: 2048 });
        assert!(too_large.to_string().contains("LCW_MAX_CALLOUT_BYTES"));
        assert!(accept(FIXTURE, OffsetDateTime::now_utc(), &config).is_ok());
    }

    #[test]
    fn a_megabyte_callout_within_the_callout_limit_still_cannot_become_a_work_item() {
        let mut config = Config::unauthenticated_for_tests();
        config.max_callout_bytes = 2 * 1024 * 1024;
        let error = accept(&padded(1024 * 1024), OffsetDateTime::now_utc(), &config).unwrap_err();
        assert!(
            matches!(error, AcceptError::TooLarge(TooLarge::WorkItem { .. })),
            "{error:?}"
        );
    }
}
