//! What a task gets to work with.

use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::callout::{Callout, Subject, TaskProcessingResult, Workflow, WorkflowTask};
use crate::graph::GraphClient;
use crate::work_item::CalloutJson;

/// The task's view of one callout and attempt. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TaskContext {
    pub(crate) callout: Arc<Callout>,
    pub(crate) raw_callout: Arc<CalloutJson>,
    pub(crate) attempt: u32,
    pub(crate) max_attempts: u32,
    pub(crate) deadline: OffsetDateTime,
    pub(crate) retry_until: Instant,
    pub(crate) invocation_id: Arc<str>,
    pub(crate) graph: GraphClient,
}

impl TaskContext {
    /// A context for calling a task directly, e.g. in the task's own unit tests: attempt 1 of 1,
    /// a deadline 30 minutes away, and a Graph client without identity (see
    /// [`with_graph`](Self::with_graph)).
    pub fn for_callout(callout: Callout) -> TaskContext {
        let raw = callout.to_value();
        let graph = GraphClient::new(
            &crate::config::GraphSettings {
                base_url: crate::config::DEFAULT_GRAPH_URL.to_owned(),
                version: crate::config::GraphVersion::V1,
            },
            Arc::new(crate::credential::NoCredential),
        );
        TaskContext {
            callout: Arc::new(callout),
            raw_callout: Arc::new(CalloutJson::from_value(raw)),
            attempt: 1,
            max_attempts: 1,
            deadline: OffsetDateTime::now_utc() + time::Duration::minutes(30),
            retry_until: Instant::now() + std::time::Duration::from_secs(60),
            invocation_id: "local".into(),
            graph,
        }
    }

    /// Replaces the Graph client.
    pub fn with_graph(mut self, graph: GraphClient) -> TaskContext {
        self.graph = graph;
        self
    }

    /// Sets the attempt number and limit.
    pub fn with_attempt(mut self, attempt: u32, max_attempts: u32) -> TaskContext {
        self.attempt = attempt;
        self.max_attempts = max_attempts;
        self
    }

    /// The parsed callout.
    pub fn callout(&self) -> &Callout {
        &self.callout
    }

    /// The callout body as received, including fields this version does not model.
    pub fn raw_callout(&self) -> &Value {
        self.raw_callout.value()
    }

    /// The user the workflow runs for.
    pub fn subject(&self) -> &Subject {
        &self.callout.subject
    }

    /// The workflow.
    pub fn workflow(&self) -> &Workflow {
        &self.callout.workflow
    }

    /// The workflow task.
    pub fn task(&self) -> &WorkflowTask {
        &self.callout.task
    }

    /// This run of the task for this user.
    pub fn task_processing_result(&self) -> &TaskProcessingResult {
        &self.callout.task_processing_result
    }

    /// Which attempt this is, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// How many attempts the task gets in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Whether an `Err` from this attempt will be reported as `failed` rather than retried.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }

    /// After this instant Lifecycle Workflows no longer waits for the task.
    pub fn deadline(&self) -> OffsetDateTime {
        self.deadline
    }

    /// Until when this invocation may retry outbound calls before handing the task back to
    /// the queue (the earlier of the retry window and the deadline).
    pub fn retry_until(&self) -> Instant {
        self.retry_until
    }

    /// The Functions invocation id (or a local id in standalone mode), for correlating logs.
    pub fn invocation_id(&self) -> &str {
        &self.invocation_id
    }

    /// Microsoft Graph, authenticated with the app's managed identity.
    pub fn graph(&self) -> &GraphClient {
        &self.graph
    }
}
