//! The EM resume: `POST …/identityGovernance/entitlementManagement/assignmentRequests/{id}/resume`
//! and its body (docs/protocol.md §7.5), built from a callout and a [`Decision`].
//!
//! This is the one place that decides whether a decision is possible at a stage, so the answer
//! is our error naming the stage and what it permits, not Graph's:
//!
//! - a denial only when the request is created or approved ([`Stage::allows_deny`]);
//! - approvers only at `assignmentRequestDeterminingApprovalRequirements`, and that stage
//!   needs approvers (a plain continue there would leave the request without an approval stage);
//! - nothing at all for a callout EM does not wait on (the pre-expiration stages).
//!
//! Body rules: `type` is `microsoft.graph.accessPackageCustomExtensionStage.<stage>`; `data.stage`
//! repeats the stage exactly as received; `@odata.type` is
//! `microsoft.graph.accessPackageAssignmentRequestCallbackData` (as in the documented examples) or,
//! with approvers, `#microsoft.graph.assignmentRequestApprovalStageCallbackData`. Approvers are
//! `singleUser` with `userId`, the v1.0 CSDL's form (docs/protocol.md §10 item 20).

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::callout::EntitlementCallout;
use super::decision::{Approver, Decision};
use super::stage::Stage;
use crate::config::GraphVersion;
use crate::resume::RESUME_SOURCE;

/// `@odata.type` of a continue or deny.
pub const CALLBACK_DATA_TYPE: &str = "microsoft.graph.accessPackageAssignmentRequestCallbackData";
/// `@odata.type` of an approval-stage answer.
pub const APPROVAL_CALLBACK_DATA_TYPE: &str =
    "#microsoft.graph.assignmentRequestApprovalStageCallbackData";
/// `@odata.type` of an approver.
pub const SINGLE_USER_TYPE: &str = "#microsoft.graph.singleUser";

/// A decision that cannot be sent at the callout's stage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    /// EM does not wait at this stage (or this callout registered no callback).
    #[error(
        "stage {stage}: Entitlement Management does not wait for an answer here, so nothing is sent back"
    )]
    NotWaiting {
        /// The stage as received.
        stage: String,
    },
    /// A denial at a stage that does not allow one.
    #[error(
        "stage {stage}: a request can be denied only at assignmentRequestCreated or assignmentRequestApproved (docs/protocol.md §7.5); return Decision::continue_with(..) here"
    )]
    DenyNotAllowed {
        /// The stage as received.
        stage: String,
    },
    /// Approvers named outside the dynamic-approval stage.
    #[error(
        "stage {stage}: approvers can be named only at assignmentRequestDeterminingApprovalRequirements"
    )]
    ApprovalOutsideApprovalStage {
        /// The stage as received.
        stage: String,
    },
    /// The dynamic-approval stage answered without approvers.
    #[error(
        "stage {stage}: the dynamic-approval stage must name approvers (Decision::approvers([..]))"
    )]
    ApprovalStageNeedsApprovers {
        /// The stage as received.
        stage: String,
    },
    /// An approver list that must not be empty is.
    #[error("{list} is empty: name at least one approver")]
    NoApprovers {
        /// Which list.
        list: &'static str,
    },
    /// An approver id that cannot be a user's object id.
    #[error("{list}: an approver's user id must be an object id (letters, digits, '-')")]
    InvalidApprover {
        /// Which list.
        list: &'static str,
    },
    /// A zero duration.
    #[error("{field} must be longer than zero")]
    ZeroDuration {
        /// Which duration.
        field: &'static str,
    },
}

/// A resume ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct EntitlementResume {
    /// The full URL.
    pub url: String,
    /// The JSON body.
    pub body: Value,
}

/// `{base}/{version}/identityGovernance/entitlementManagement/assignmentRequests/{id}/resume`.
pub fn resume_url(base_url: &str, version: GraphVersion, request_id: &str) -> String {
    format!(
        "{base_url}/{}/identityGovernance/entitlementManagement/assignmentRequests/{request_id}/resume",
        version.as_str()
    )
}

/// Builds the resume of `callout` carrying `decision`, or says why it cannot be sent.
pub fn build(
    base_url: &str,
    version: GraphVersion,
    callout: &EntitlementCallout,
    decision: &Decision,
) -> Result<EntitlementResume, DecisionError> {
    let stage = &callout.stage;
    let (true, Some(request_id)) = (callout.waits_for_resume, callout.request_id.as_deref()) else {
        return Err(DecisionError::NotWaiting {
            stage: stage.to_string(),
        });
    };
    Ok(EntitlementResume {
        url: resume_url(base_url, version, request_id),
        body: resume_body(stage, &callout.stage_instance_id, decision)?,
    })
}

/// The body alone, for a stage and stage instance.
pub fn resume_body(
    stage: &Stage,
    stage_instance_id: &str,
    decision: &Decision,
) -> Result<Value, DecisionError> {
    let named = || stage.to_string();
    if !stage.can_wait() {
        return Err(DecisionError::NotWaiting { stage: named() });
    }
    let mut data = Map::new();
    match decision {
        Decision::Deny { .. } if !stage.allows_deny() => {
            return Err(DecisionError::DenyNotAllowed { stage: named() });
        }
        Decision::Approval { .. } if !stage.is_approval() => {
            return Err(DecisionError::ApprovalOutsideApprovalStage { stage: named() });
        }
        Decision::Continue { .. } if stage.is_approval() => {
            return Err(DecisionError::ApprovalStageNeedsApprovers { stage: named() });
        }
        Decision::Continue { .. } | Decision::Deny { .. } => {
            data.insert("@odata.type".into(), CALLBACK_DATA_TYPE.into());
        }
        Decision::Approval { .. } => {
            data.insert("@odata.type".into(), APPROVAL_CALLBACK_DATA_TYPE.into());
        }
    }
    data.insert("stage".into(), stage.as_wire().into());
    data.insert(
        "customExtensionStageInstanceId".into(),
        stage_instance_id.into(),
    );
    if let Some(detail) = decision.detail() {
        data.insert("customExtensionStageInstanceDetail".into(), detail.into());
    }
    match decision {
        Decision::Deny { .. } => {
            data.insert("state".into(), "denied".into());
        }
        Decision::Approval {
            stage: approval, ..
        } => {
            data.insert("approvalStage".into(), approval_stage(approval)?);
        }
        Decision::Continue { .. } => {}
    }
    Ok(json!({
        "source": RESUME_SOURCE,
        "type": stage.resume_type(),
        "data": data,
    }))
}

fn approval_stage(stage: &super::decision::ApprovalStage) -> Result<Value, DecisionError> {
    if stage.duration_before_automatic_denial.is_zero() {
        return Err(DecisionError::ZeroDuration {
            field: "durationBeforeAutomaticDenial",
        });
    }
    let primary = approvers("primaryApprovers", &stage.primary_approvers, true)?;
    let fallback_primary = approvers(
        "fallbackPrimaryApprovers",
        &stage.fallback_primary_approvers,
        false,
    )?;
    let mut value = json!({
        "durationBeforeAutomaticDenial": iso_days(stage.duration_before_automatic_denial),
        "isApproverJustificationRequired": stage.approver_justification_required,
        "isEscalationEnabled": stage.escalation.is_some(),
        "primaryApprovers": primary,
        "fallbackPrimaryApprovers": fallback_primary,
        "escalationApprovers": [],
        "fallbackEscalationApprovers": [],
    });
    if let Some(escalation) = &stage.escalation {
        if escalation.after.is_zero() {
            return Err(DecisionError::ZeroDuration {
                field: "durationBeforeEscalation",
            });
        }
        value["durationBeforeEscalation"] = iso_days(escalation.after).into();
        value["escalationApprovers"] =
            approvers("escalationApprovers", &escalation.approvers, true)?;
        value["fallbackEscalationApprovers"] = approvers(
            "fallbackEscalationApprovers",
            &escalation.fallback_approvers,
            false,
        )?;
    }
    Ok(value)
}

fn approvers(
    list: &'static str,
    approvers: &[Approver],
    required: bool,
) -> Result<Value, DecisionError> {
    if required && approvers.is_empty() {
        return Err(DecisionError::NoApprovers { list });
    }
    approvers
        .iter()
        .map(|approver| {
            let id = approver.user_id.trim();
            if !crate::callout::is_id_segment(id) {
                return Err(DecisionError::InvalidApprover { list });
            }
            let mut value = json!({ "@odata.type": SINGLE_USER_TYPE, "userId": id });
            if let Some(description) = &approver.description {
                value["description"] = description.clone().into();
            }
            Ok(value)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// `P2D` for whole days, else the `PT…` form.
fn iso_days(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds > 0 && seconds.is_multiple_of(86_400) && duration.subsec_nanos() == 0 {
        format!("P{}D", seconds / 86_400)
    } else {
        crate::iso_duration::format(duration)
    }
}
