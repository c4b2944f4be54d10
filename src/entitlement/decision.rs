//! What an Entitlement Management task decides: let the request continue, deny it, or — at the
//! dynamic-approval stage — name its approvers (docs/protocol.md §7.5).
//!
//! A decision is a value; whether the stage permits it is checked in one place, when the
//! resume is built ([`super::resume_request`]), so a denial at a stage EM does not let a resume
//! deny is *our* clear error, never an opaque one from Graph.

use std::time::Duration;

/// How an EM task answers a callout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let the request proceed. `detail` is shown to approvers and in the request's history.
    Continue {
        /// `customExtensionStageInstanceDetail`.
        detail: Option<String>,
    },
    /// Deny the request (only when it is created or approved: see
    /// [`Stage::allows_deny`](super::Stage::allows_deny)).
    Deny {
        /// Why, shown in the request's history.
        detail: Option<String>,
    },
    /// At `assignmentRequestDeterminingApprovalRequirements`: the approval stage to apply.
    Approval {
        /// Shown to the approvers.
        detail: Option<String>,
        /// Who approves, and how.
        stage: ApprovalStage,
    },
}

impl Decision {
    /// Continue, without a detail text.
    pub fn proceed() -> Decision {
        Decision::Continue { detail: None }
    }

    /// Continue, with a text for approvers.
    pub fn continue_with(detail: impl Into<String>) -> Decision {
        Decision::Continue {
            detail: Some(detail.into()),
        }
    }

    /// Deny, saying why.
    pub fn deny(detail: impl Into<String>) -> Decision {
        Decision::Deny {
            detail: Some(detail.into()),
        }
    }

    /// An approval stage whose primary approvers are the users with these object ids.
    pub fn approvers<I, S>(user_ids: I) -> Decision
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Decision::Approval {
            detail: None,
            stage: ApprovalStage::new(user_ids.into_iter().map(Approver::user).collect()),
        }
    }

    /// An approval stage of your own making.
    pub fn approval(stage: ApprovalStage) -> Decision {
        Decision::Approval {
            detail: None,
            stage,
        }
    }

    /// Sets the text shown to approvers and in the request's history.
    pub fn with_detail(mut self, text: impl Into<String>) -> Decision {
        let text = Some(text.into());
        match &mut self {
            Decision::Continue { detail }
            | Decision::Deny { detail }
            | Decision::Approval { detail, .. } => *detail = text,
        }
        self
    }

    /// The detail text, if any.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Decision::Continue { detail }
            | Decision::Deny { detail }
            | Decision::Approval { detail, .. } => detail.as_deref(),
        }
    }

    /// A short name for logs: `continue`, `deny` or `approval`.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Continue { .. } => "continue",
            Decision::Deny { .. } => "deny",
            Decision::Approval { .. } => "approval",
        }
    }
}

/// One approver: a user, by object id (`#microsoft.graph.singleUser`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    /// The user's object id.
    pub user_id: String,
    /// A description shown in the portal.
    pub description: Option<String>,
}

impl Approver {
    /// The user with this object id.
    pub fn user(user_id: impl Into<String>) -> Approver {
        Approver {
            user_id: user_id.into(),
            description: None,
        }
    }
}

/// An `accessPackageApprovalStage`: who approves, who is asked when they do not, and how long
/// the request waits. Defaults: two days before automatic denial, no justification required,
/// no escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalStage {
    /// Asked first.
    pub primary_approvers: Vec<Approver>,
    /// Asked when no primary approver can be resolved.
    pub fallback_primary_approvers: Vec<Approver>,
    /// After this the request is denied automatically (EM allows 1 to 14 days).
    pub duration_before_automatic_denial: Duration,
    /// Whether approvers must justify their answer.
    pub approver_justification_required: bool,
    /// Escalation, if any.
    pub escalation: Option<Escalation>,
}

/// Who is asked when the primary approvers do not answer in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// After how long.
    pub after: Duration,
    /// The escalation approvers.
    pub approvers: Vec<Approver>,
    /// Asked when no escalation approver can be resolved.
    pub fallback_approvers: Vec<Approver>,
}

/// EM's default time before an unanswered request is denied.
pub const DEFAULT_DURATION_BEFORE_AUTOMATIC_DENIAL: Duration = Duration::from_secs(2 * 86_400);

impl ApprovalStage {
    /// A stage with these primary approvers and the defaults.
    pub fn new(primary_approvers: Vec<Approver>) -> ApprovalStage {
        ApprovalStage {
            primary_approvers,
            fallback_primary_approvers: Vec::new(),
            duration_before_automatic_denial: DEFAULT_DURATION_BEFORE_AUTOMATIC_DENIAL,
            approver_justification_required: false,
            escalation: None,
        }
    }

    /// Escalates to `approvers` after `after`.
    pub fn escalate_to<I, S>(mut self, approvers: I, after: Duration) -> ApprovalStage
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.escalation = Some(Escalation {
            after,
            approvers: approvers.into_iter().map(Approver::user).collect(),
            fallback_approvers: Vec::new(),
        });
        self
    }

    /// Sets the time before automatic denial.
    pub fn deny_after(mut self, duration: Duration) -> ApprovalStage {
        self.duration_before_automatic_denial = duration;
        self
    }

    /// Requires approvers to justify their answer.
    pub fn require_justification(mut self) -> ApprovalStage {
        self.approver_justification_required = true;
        self
    }
}
