//! Phase one: callout body → work item. Pure and synchronous; it must stay fast.

use serde_json::Value;
use time::OffsetDateTime;

use crate::callout::{Callout, CalloutError};
use crate::config::Config;
use crate::work_item::{WORK_ITEM_VERSION, WorkItem};

/// Validates a callout body and builds the work item to enqueue. `now` is the receipt time,
/// from which the deadline is counted (the callout does not carry the timeout; docs/protocol.md §5.5).
pub fn accept(
    body: &[u8],
    now: OffsetDateTime,
    config: &Config,
) -> Result<(WorkItem, Callout), CalloutError> {
    let raw: Value =
        serde_json::from_slice(body).map_err(|e| CalloutError::NotJson(e.to_string()))?;
    let callout = Callout::from_value(raw.clone())?;
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
        callout: raw,
    };
    Ok((item, callout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn deadline_is_receipt_plus_timeout_minus_margin() {
        let config = Config::unauthenticated_for_tests();
        let now = datetime!(2026-11-02 08:00:00 UTC);
        let (item, callout) = accept(
            include_bytes!("../../tests/fixtures/callouts/launch-and-wait.json"),
            now,
            &config,
        )
        .unwrap();
        assert_eq!(item.deadline, datetime!(2026-11-02 08:29:00 UTC));
        assert_eq!(item.accepted_at, now);
        assert_eq!(
            item.task_processing_result_id,
            callout.task_processing_result.id
        );
        assert_eq!(
            item.callout["data"]["subject"]["displayName"],
            "Adele Vance"
        );
    }

    #[test]
    fn invalid_callouts_make_no_work_item() {
        let config = Config::unauthenticated_for_tests();
        let err = accept(br#"{"data":{}}"#, OffsetDateTime::now_utc(), &config).unwrap_err();
        assert_eq!(err.path(), Some("data.workflow.id"));
    }
}
