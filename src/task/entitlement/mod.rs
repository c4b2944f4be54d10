//! The user API for Entitlement Management: one trait (or one async function) that decides an
//! access-package request at a stage.
//!
//! An [`EntitlementTask`] receives an [`EntitlementContext`] — the stage, the request, the
//! access package, the target and the requestor, the attempt, the deadline and the Graph client —
//! and returns a [`Decision`]: continue (with a text for approvers), deny (when the request is
//! created or approved), or, at the dynamic-approval stage, the approvers. The contract is the
//! [`Task`](super::Task) contract:
//!
//! - `Ok(decision)` is final and sent back at once. A decision the stage does not permit (a
//!   denial once the request is granted, approvers outside the approval stage) is not sent: it
//!   is logged as our error naming the stage, and the request then waits for EM's timeout.
//! - `Err(TaskError)` means "try again later"; on the last attempt (and on a panic or timeout)
//!   the request is **denied** where the stage allows it — a request whose check could not run
//!   is not let through — and otherwise left to EM's timeout, with the reason logged.
//! - At the pre-expiration stages EM waits for nothing: the task runs, its decision is logged and
//!   nothing is sent back.
//!
//! ```no_run
//! use lcw_handler::entitlement::{Decision, StageKind};
//! use lcw_handler::task::entitlement::{EntitlementContext, decision_fn};
//! use lcw_handler::task::{TaskError, builtin::Complete};
//!
//! async fn decide(ctx: EntitlementContext) -> Result<Decision, TaskError> {
//!     Ok(match ctx.stage().kind() {
//!         StageKind::DeterminingApprovalRequirements => {
//!             Decision::approvers(["7c1e4a52-0f3b-4a8e-9d6c-2b5f8e1a3c70"])
//!         }
//!         StageKind::RequestCreated if ctx.requestor().is_none() => Decision::deny("no requestor"),
//!         _ => Decision::continue_with("checked by lcw-handler"),
//!     })
//! }
//!
//! # async fn run() -> std::process::ExitCode {
//! lcw_handler::run_with_entitlement(Complete, decision_fn(decide)).await
//! # }
//! ```

mod context;

use std::future::Future;

use async_trait::async_trait;

pub use context::EntitlementContext;

use super::TaskError;
use crate::entitlement::Decision;

/// The business logic of an Entitlement Management custom extension.
#[async_trait]
pub trait EntitlementTask: Send + Sync + 'static {
    /// Decides one request at one stage; see the [module docs](self) for the contract.
    async fn decide(&self, ctx: EntitlementContext) -> Result<Decision, TaskError>;

    /// A short name for logs and `check`.
    fn name(&self) -> &str {
        "custom"
    }
}

/// An [`EntitlementTask`] made from an async function; see [`decision_fn`].
pub struct DecisionFn<F>(F);

/// Turns `async fn(EntitlementContext) -> Result<Decision, TaskError>` into an
/// [`EntitlementTask`].
pub fn decision_fn<F, Fut>(f: F) -> DecisionFn<F>
where
    F: Fn(EntitlementContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Decision, TaskError>> + Send + 'static,
{
    DecisionFn(f)
}

#[async_trait]
impl<F, Fut> EntitlementTask for DecisionFn<F>
where
    F: Fn(EntitlementContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Decision, TaskError>> + Send + 'static,
{
    async fn decide(&self, ctx: EntitlementContext) -> Result<Decision, TaskError> {
        (self.0)(ctx).await
    }
}

/// Lets every request continue: what a binary without EM logic of its own answers (and the
/// built-in `complete`). It cannot name approvers, so at the dynamic-approval stage its
/// continue is refused with an error saying so.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContinueAll;

#[async_trait]
impl EntitlementTask for ContinueAll {
    async fn decide(&self, _ctx: EntitlementContext) -> Result<Decision, TaskError> {
        Ok(Decision::proceed())
    }

    fn name(&self) -> &str {
        "continue"
    }
}
