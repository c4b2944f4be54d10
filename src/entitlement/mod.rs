//! Entitlement Management (EM) custom extensions: the access-package counterpart of Lifecycle
//! Workflows' custom task extensions (docs/protocol.md §7).
//!
//! EM calls an extension at stages of an access-package request (created, approved, granted,
//! removed), before an assignment expires (fire-and-forget), and to determine a request's
//! approvers (dynamic approval). It then waits — up to 14 days — for a `resume` that lets the
//! request continue, denies it, or names its approvers. This module is the protocol only: the
//! callout in both documented shapes ([`EntitlementCall`]), the stage and what it permits
//! ([`Stage`]), the callback path ([`callback_path`]), the decision a task returns
//! ([`Decision`]), the resume URL and body ([`resume_request`]) and the work item
//! ([`EntitlementWorkItem`]). It knows nothing of HTTP, the host or user code.

pub mod callback_path;
mod callout;
mod decision;
pub mod resume_request;
mod stage;
mod wire;
mod work_item;

pub use callout::{
    AccessPackageSubject, Assignment, EntitlementCall, EntitlementCallout, MAX_CALLBACK_TIMEOUT,
    Named,
};
pub use decision::{
    ApprovalStage, Approver, DEFAULT_DURATION_BEFORE_AUTOMATIC_DENIAL, Decision, Escalation,
};
pub use resume_request::{DecisionError, EntitlementResume};
pub use stage::{STAGE_TYPE_PREFIX, Stage, StageKind};
pub use work_item::{
    ENTITLEMENT_KIND, ENTITLEMENT_WORK_ITEM_VERSION, EntitlementWorkItem, EntitlementWorkItemError,
    is_entitlement_item,
};

#[cfg(test)]
mod tests;
