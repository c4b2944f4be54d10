//! `LCW_TASK=webhook` for Entitlement Management: the EM callout is forwarded, and the answer
//! decides the request.
//!
//! The webhook receives `{"kind":"entitlement","stage":…,"customExtensionStageInstanceId":…,
//! "attempt":…,"maxAttempts":…,"deadline":…,"callout":{…as received…}}` with the stage instance
//! id in [`ENTITLEMENT_IDEMPOTENCY_HEADER`]. Its answer:
//!
//! - 2xx with an empty (or non-JSON) body → continue;
//! - 2xx with a [`WebhookAnswer`] → that decision (`continue`, `deny`, or `approval` with
//!   `approvers`), with its `detail`;
//! - 4xx → deny, saying the webhook refused (where the stage allows a denial; elsewhere the
//!   runtime reports that it cannot deny there);
//! - 5xx, 408, 429, timeouts → retried like the LCW webhook, then handed back to the queue.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::Webhook;
use super::webhook::Answer;
use crate::entitlement::{ApprovalStage, Approver, Decision};
use crate::retry::{GaveUp, Try, retry};
use crate::task::TaskError;
use crate::task::entitlement::{EntitlementContext, EntitlementTask};

/// Header carrying EM's idempotency key, so the receiver can drop a repeat.
pub const ENTITLEMENT_IDEMPOTENCY_HEADER: &str = "x-lcw-custom-extension-stage-instance-id";

/// What a webhook may answer with a 2xx to decide an EM request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAnswer {
    /// `continue` (the default), `deny` or `approval`.
    #[serde(default)]
    pub decision: Option<String>,
    /// Text for approvers and the request's history.
    #[serde(default)]
    pub detail: Option<String>,
    /// With `approval`: the primary approvers' object ids.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// With `approval`: escalation approvers' object ids (escalated after a day).
    #[serde(default)]
    pub escalation_approvers: Vec<String>,
}

impl WebhookAnswer {
    /// The decision the answer names; an unknown word is the webhook's error, reported as a
    /// failure of the attempt.
    pub fn decision(self) -> Result<Decision, String> {
        let decision = match self
            .decision
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("continue") => Decision::proceed(),
            Some("deny") => Decision::Deny { detail: None },
            Some("approval") => {
                let mut stage =
                    ApprovalStage::new(self.approvers.into_iter().map(Approver::user).collect());
                if !self.escalation_approvers.is_empty() {
                    stage =
                        stage.escalate_to(self.escalation_approvers, Duration::from_secs(86_400));
                }
                Decision::approval(stage)
            }
            Some(_) => {
                return Err("the webhook's decision must be continue, deny or approval".to_owned());
            }
        };
        Ok(match self.detail {
            Some(detail) => decision.with_detail(detail),
            None => decision,
        })
    }
}

impl Webhook {
    async fn post_entitlement(
        &self,
        ctx: &EntitlementContext,
        body: &serde_json::Value,
    ) -> Try<Decision, String> {
        let key = &ctx.callout().stage_instance_id;
        match self.post(ENTITLEMENT_IDEMPOTENCY_HEADER, key, body).await {
            Answer::Accepted(text) => {
                let answer = serde_json::from_slice::<WebhookAnswer>(&text).unwrap_or_default();
                match answer.decision() {
                    Ok(decision) => Try::Done(decision),
                    Err(error) => Try::Permanent(error),
                }
            }
            Answer::Refused(status) => Try::Done(Decision::deny(format!(
                "the webhook refused the request: {status}"
            ))),
            Answer::Transient { error, retry_after } => Try::Transient { error, retry_after },
        }
    }
}

#[async_trait]
impl EntitlementTask for Webhook {
    async fn decide(&self, ctx: EntitlementContext) -> Result<Decision, TaskError> {
        let body = json!({
            "kind": "entitlement",
            "stage": ctx.stage().as_wire(),
            "customExtensionStageInstanceId": ctx.callout().stage_instance_id,
            "attempt": ctx.attempt(),
            "maxAttempts": ctx.max_attempts(),
            "deadline": ctx.deadline().format(&time::format_description::well_known::Rfc3339).ok(),
            "callout": ctx.raw_callout(),
        });
        match retry(self.policy, ctx.retry_until(), |_| {
            self.post_entitlement(&ctx, &body)
        })
        .await
        {
            Ok(decision) => Ok(decision),
            Err(GaveUp::Permanent(reason)) => Err(TaskError::new(reason)),
            Err(GaveUp::OutOfTime { last, tries }) => {
                Err(TaskError::new(format!("{last} (after {tries} tries)")))
            }
        }
    }

    fn name(&self) -> &str {
        "webhook"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_decisions() {
        let answer = |text: &str| {
            serde_json::from_str::<WebhookAnswer>(text)
                .unwrap()
                .decision()
        };
        assert_eq!(answer("{}"), Ok(Decision::proceed()));
        assert_eq!(
            answer(r#"{"decision":"Deny","detail":"SoD conflict"}"#),
            Ok(Decision::deny("SoD conflict"))
        );
        assert_eq!(
            answer(r#"{"decision":"approval","approvers":["a1"],"detail":"cost centre"}"#),
            Ok(Decision::approvers(["a1"]).with_detail("cost centre"))
        );
        let Ok(Decision::Approval { stage, .. }) =
            answer(r#"{"decision":"approval","approvers":["a1"],"escalationApprovers":["e1"]}"#)
        else {
            panic!("expected an approval");
        };
        assert_eq!(stage.escalation.unwrap().approvers, [Approver::user("e1")]);
        assert!(answer(r#"{"decision":"maybe"}"#).is_err());
    }
}
