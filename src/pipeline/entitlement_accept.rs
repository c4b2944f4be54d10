//! Phase one for Entitlement Management callouts: authenticate EM's application, parse the
//! callout in either shape, answer a connection test, build the work item.
//!
//! The rules are the LCW acceptor's (`acceptor.rs`): authentication first (an unauthenticated
//! caller gets `401`, never `400`), the same size limits, the same answers. What differs:
//! the caller list is EM's own (`LCW_ENTITLEMENT_CALLER_APP_IDS`), so an LCW token is refused
//! here; a connection test (docs/protocol.md §7.3) is acknowledged and makes no work item; and the
//! deadline comes from the callout itself (`CallbackConfiguration.DurationBeforeTimeout`, EM
//! allows up to 14 days), falling back to the 14-day maximum when EM does not say.

use serde_json::Value;
use time::OffsetDateTime;

use super::Pipeline;
use super::accept::{AcceptError, TooLarge};
use super::acceptor::Refused;
use crate::auth::{AuthError, NonceUse, Reason, Rejection};
use crate::callout::CalloutError;
use crate::config::Config;
use crate::entitlement::{
    EntitlementCall, EntitlementCallout, EntitlementWorkItem, MAX_CALLBACK_TIMEOUT,
};
use crate::work_item::WORK_ITEM_BUDGET;

/// An EM call that may proceed.
#[derive(Debug)]
pub enum AcceptedEntitlement {
    /// Enqueue this work item.
    New {
        /// The work item.
        item: EntitlementWorkItem,
        /// The parsed callout.
        callout: Box<EntitlementCallout>,
    },
    /// EM sent this callout again (same PoP nonce): acknowledge, enqueue nothing.
    Duplicate {
        /// The parsed callout.
        callout: Box<EntitlementCallout>,
    },
    /// EM's connection test: acknowledge, nothing else.
    ConnectionTest,
}

/// Validates an EM callout body received at `now` and builds its work item (none for a
/// connection test).
pub fn accept_entitlement(
    body: &[u8],
    now: OffsetDateTime,
    config: &Config,
) -> Result<Option<(EntitlementWorkItem, EntitlementCallout)>, AcceptError> {
    if body.len() > config.max_callout_bytes {
        return Err(TooLarge::Callout {
            limit: config.max_callout_bytes,
        }
        .into());
    }
    let raw: Value =
        serde_json::from_slice(body).map_err(|e| CalloutError::NotJson(e.to_string()))?;
    let callout = match EntitlementCall::from_value(raw.clone())? {
        EntitlementCall::ConnectionTest => return Ok(None),
        EntitlementCall::Callout(callout) => *callout,
    };
    let window = callout.callback_timeout.unwrap_or(MAX_CALLBACK_TIMEOUT);
    // The margin keeps a resume from racing EM's own timeout; a window shorter than the margin
    // (EM's minimum is 5 minutes) keeps half of itself instead.
    let budget = match window.checked_sub(config.deadline_margin) {
        Some(budget) if !budget.is_zero() => budget,
        _ => window / 2,
    };
    let deadline = now
        .checked_add(time::Duration::try_from(budget).unwrap_or(time::Duration::MAX))
        .unwrap_or(now + time::Duration::days(14));
    let item = EntitlementWorkItem::new(&callout, raw, now, deadline);
    let size = item.queued_size();
    if size > WORK_ITEM_BUDGET {
        return Err(TooLarge::WorkItem {
            size,
            budget: WORK_ITEM_BUDGET,
        }
        .into());
    }
    Ok(Some((item, callout)))
}

impl Pipeline {
    /// Authenticates EM's application and parses one EM call received at `now`.
    pub async fn accept_entitlement(
        &self,
        authorization: Option<&str>,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<AcceptedEntitlement, Refused> {
        let caller = match &self.entitlement_check {
            Some(check) => {
                match check
                    .authenticator
                    .authenticate(authorization, now.unix_timestamp())
                    .await
                {
                    Ok(caller) => Some((check, caller)),
                    Err(Rejection::Unauthorized(error)) => {
                        return Err(Refused::Unauthorized {
                            challenge: check.authenticator.challenge(error.reason),
                            error,
                        });
                    }
                    Err(Rejection::Unavailable(error)) => return Err(Refused::Unavailable(error)),
                }
            }
            None => None,
        };
        let Some((item, callout)) =
            accept_entitlement(body, now, &self.config).map_err(Refused::from)?
        else {
            return Ok(AcceptedEntitlement::ConnectionTest);
        };
        if let Some((check, caller)) = caller
            && let Some(nonce) = &caller.nonce
        {
            match check.nonces.observe(nonce, &callout.stage_instance_id) {
                NonceUse::Fresh => {}
                NonceUse::SameCallout => {
                    return Ok(AcceptedEntitlement::Duplicate {
                        callout: Box::new(callout),
                    });
                }
                NonceUse::Replayed => {
                    let error = AuthError::new(
                        Reason::ReplayedNonce,
                        "the signed request's nonce was already used by another callout",
                    );
                    tracing::warn!(
                        reason = error.reason.code(),
                        "entitlement callout refused: replayed nonce"
                    );
                    return Err(Refused::Unauthorized {
                        challenge: check.authenticator.challenge(error.reason),
                        error,
                    });
                }
            }
        }
        Ok(AcceptedEntitlement::New {
            item,
            callout: Box::new(callout),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const CREATED: &[u8] =
        include_bytes!("../../tests/fixtures/entitlement/created-logic-app.json");

    #[test]
    fn the_deadline_is_the_callouts_own_window_minus_the_margin() {
        let config = Config::unauthenticated_for_tests();
        let now = datetime!(2026-12-07 08:00:00 UTC);
        let (item, callout) = accept_entitlement(CREATED, now, &config).unwrap().unwrap();
        // PT1H from the callout, minus the default 60 s margin.
        assert_eq!(item.deadline, datetime!(2026-12-07 08:59:00 UTC));
        assert_eq!(
            item.custom_extension_stage_instance_id,
            callout.stage_instance_id
        );
        assert_eq!(item.callout["Stage"], "assignmentRequestCreated");
    }

    #[test]
    fn without_a_window_the_deadline_is_fourteen_days_out() {
        let config = Config::unauthenticated_for_tests();
        let now = datetime!(2026-12-07 08:00:00 UTC);
        let mut body: Value = serde_json::from_slice(CREATED).unwrap();
        body["CallbackConfiguration"] = serde_json::json!({"DurationBeforeTimeout": null});
        let (item, _) = accept_entitlement(&serde_json::to_vec(&body).unwrap(), now, &config)
            .unwrap()
            .unwrap();
        assert_eq!(item.deadline, datetime!(2026-12-21 07:59:00 UTC));
    }

    #[test]
    fn a_connection_test_makes_no_work_item_and_bad_bodies_are_refused() {
        let config = Config::unauthenticated_for_tests();
        let now = OffsetDateTime::now_utc();
        let test = include_bytes!("../../tests/fixtures/entitlement/connection-test.json");
        assert!(accept_entitlement(test, now, &config).unwrap().is_none());
        let error = accept_entitlement(br#"{"Stage":"assignmentRequestCreated"}"#, now, &config)
            .unwrap_err();
        assert!(matches!(error, AcceptError::Invalid(_)), "{error:?}");
        let mut small = Config::unauthenticated_for_tests();
        small.max_callout_bytes = 1024;
        let error = accept_entitlement(&[b' '; 1025], now, &small).unwrap_err();
        assert!(matches!(
            error,
            AcceptError::TooLarge(TooLarge::Callout { .. })
        ));
    }
}
