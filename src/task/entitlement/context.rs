//! What an Entitlement Management task gets to work with.

use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::entitlement::{AccessPackageSubject, EntitlementCallout, Named, Stage};
use crate::graph::GraphClient;

/// The task's view of one EM callout and attempt. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EntitlementContext {
    pub(crate) callout: Arc<EntitlementCallout>,
    pub(crate) raw_callout: Arc<Value>,
    pub(crate) attempt: u32,
    pub(crate) max_attempts: u32,
    pub(crate) deadline: OffsetDateTime,
    pub(crate) retry_until: Instant,
    pub(crate) invocation_id: Arc<str>,
    pub(crate) graph: GraphClient,
}

impl EntitlementContext {
    /// A context for calling a task directly, e.g. in its own unit tests: attempt 1 of 1, a
    /// deadline an hour away, and a Graph client without identity.
    pub fn for_callout(callout: EntitlementCallout) -> EntitlementContext {
        let raw = callout.to_value();
        let graph = GraphClient::new(
            &crate::config::GraphSettings {
                base_url: crate::config::DEFAULT_GRAPH_URL.to_owned(),
                version: crate::config::GraphVersion::V1,
            },
            Arc::new(crate::credential::NoCredential),
        );
        EntitlementContext {
            callout: Arc::new(callout),
            raw_callout: Arc::new(raw),
            attempt: 1,
            max_attempts: 1,
            deadline: OffsetDateTime::now_utc() + time::Duration::hours(1),
            retry_until: Instant::now() + std::time::Duration::from_secs(60),
            invocation_id: "local".into(),
            graph,
        }
    }

    /// Replaces the Graph client.
    pub fn with_graph(mut self, graph: GraphClient) -> EntitlementContext {
        self.graph = graph;
        self
    }

    /// The parsed callout.
    pub fn callout(&self) -> &EntitlementCallout {
        &self.callout
    }

    /// The callout body as received, including fields this version does not model.
    pub fn raw_callout(&self) -> &Value {
        &self.raw_callout
    }

    /// The stage EM called at.
    pub fn stage(&self) -> &Stage {
        &self.callout.stage
    }

    /// The access package requested.
    pub fn access_package(&self) -> Option<&Named> {
        self.callout.access_package.as_ref()
    }

    /// The user the assignment is for (else the requestor).
    pub fn target(&self) -> Option<&AccessPackageSubject> {
        self.callout.target()
    }

    /// Who asked.
    pub fn requestor(&self) -> Option<&AccessPackageSubject> {
        self.callout.requestor.as_ref()
    }

    /// Whether EM waits for this task's decision (it does not at the pre-expiration stages).
    pub fn waits_for_decision(&self) -> bool {
        self.callout.waits_for_resume
    }

    /// Which attempt this is, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// How many attempts the task gets in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Whether an `Err` from this attempt is final.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }

    /// After this instant EM no longer waits for the decision.
    pub fn deadline(&self) -> OffsetDateTime {
        self.deadline
    }

    /// Until when this invocation may retry outbound calls.
    pub fn retry_until(&self) -> Instant {
        self.retry_until
    }

    /// The Functions invocation id (or a local id in standalone mode).
    pub fn invocation_id(&self) -> &str {
        &self.invocation_id
    }

    /// Microsoft Graph, authenticated with the app's managed identity.
    pub fn graph(&self) -> &GraphClient {
        &self.graph
    }
}
