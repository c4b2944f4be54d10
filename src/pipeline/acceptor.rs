//! Phase one as a whole: authenticate the caller, parse the callout, recognise a repeat.
//!
//! Authentication comes first, so an unauthenticated caller learns nothing about what a valid
//! body looks like (it gets `401`, never `400`). A PoP nonce seen before with the same callout
//! is LCW retrying: acknowledged, not enqueued again. Callouts are otherwise *not* deduplicated
//! by `taskProcessingResult.id` here: the handler cannot know whether the host managed to
//! enqueue an earlier copy, and dropping a retry whose original was lost would leave the
//! workflow waiting for its timeout. A duplicate that does get through runs again, and its
//! second resume is refused by Graph and logged; tasks are idempotent by contract.

use time::OffsetDateTime;

use super::Pipeline;
use super::accept::{AcceptError, TooLarge, accept};
use crate::auth::{
    AuthError, Authenticator, KeysUnavailable, NonceCache, NonceUse, Reason, Rejection,
};
use crate::callout::{Callout, CalloutError};
use crate::work_item::WorkItem;

/// The authentication half of the acceptor.
#[derive(Clone)]
pub(crate) struct CallerCheck {
    pub(super) authenticator: Authenticator,
    pub(super) nonces: std::sync::Arc<NonceCache>,
}

impl CallerCheck {
    pub(crate) fn new(authenticator: Authenticator) -> CallerCheck {
        CallerCheck {
            authenticator,
            nonces: Default::default(),
        }
    }
}

/// A callout that may proceed.
#[derive(Debug)]
pub enum Accepted {
    /// Enqueue this work item.
    New {
        /// The work item.
        item: WorkItem,
        /// The parsed callout.
        callout: Callout,
    },
    /// LCW sent this callout again (same PoP nonce): acknowledge, enqueue nothing.
    Duplicate {
        /// The parsed callout.
        callout: Callout,
    },
}

/// A callout that may not proceed, and how to answer it.
#[derive(Debug)]
pub enum Refused {
    /// `401` with `challenge` in `WWW-Authenticate`.
    Unauthorized {
        /// Why.
        error: AuthError,
        /// The `WWW-Authenticate` value.
        challenge: String,
    },
    /// `503`: the signing keys are not available yet.
    Unavailable(KeysUnavailable),
    /// `400`: the body is not a usable callout.
    Invalid(CalloutError),
    /// `413`: the body, or the work item it makes, is over a size limit.
    TooLarge(TooLarge),
}

impl From<AcceptError> for Refused {
    fn from(error: AcceptError) -> Refused {
        match error {
            AcceptError::Invalid(error) => Refused::Invalid(error),
            AcceptError::TooLarge(error) => Refused::TooLarge(error),
        }
    }
}

impl Pipeline {
    /// Authenticates and parses one callout received at `now`.
    pub async fn accept(
        &self,
        authorization: Option<&str>,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<Accepted, Refused> {
        let caller = match &self.caller_check {
            Some(check) => {
                let authenticated = check
                    .authenticator
                    .authenticate(authorization, now.unix_timestamp())
                    .await;
                match authenticated {
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
        let (item, callout) = accept(body, now, &self.config).map_err(Refused::from)?;
        if let Some((check, caller)) = caller
            && let Some(nonce) = &caller.nonce
        {
            match check
                .nonces
                .observe(nonce, &callout.task_processing_result.id)
            {
                NonceUse::Fresh => {}
                NonceUse::SameCallout => return Ok(Accepted::Duplicate { callout }),
                NonceUse::Replayed => {
                    let error = AuthError::new(
                        Reason::ReplayedNonce,
                        "the signed request's nonce was already used by another callout",
                    );
                    tracing::warn!(
                        reason = error.reason.code(),
                        "callout refused: replayed nonce"
                    );
                    return Err(Refused::Unauthorized {
                        challenge: check.authenticator.challenge(error.reason),
                        error,
                    });
                }
            }
        }
        Ok(Accepted::New { item, callout })
    }

    /// Whether callers are authenticated.
    pub fn authenticates(&self) -> bool {
        self.caller_check.is_some()
    }
}
