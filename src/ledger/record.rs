//! The task record: one task's life as the ledger keeps it.
//!
//! A record is stored whole, as JSON, by every backend (a SQLite row, a blob), so its shape is
//! the one thing all backends and all releases agree on: [`RECORD_SCHEMA`] says which shape a
//! stored record has. Everything here is data; the rules that move a record from stage to
//! stage live in [`super::rules`].

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::callout::Callout;

/// Version of the record's JSON shape.
pub const RECORD_SCHEMA: u32 = 1;

/// At most this many events are kept per record (the oldest go first), so a task retried for
/// days cannot grow its record without bound.
pub const MAX_EVENTS: usize = 64;

/// Which kind of callout a task came from. Each kind has its own id space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskKind {
    /// A Lifecycle Workflows custom task extension callout; the id is its
    /// `taskProcessingResult.id`.
    Lcw,
}

impl TaskKind {
    /// The kind as stored (`lcw`).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Lcw => "lcw",
        }
    }
}

/// What identifies a task in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskKey {
    /// The callout kind.
    pub kind: TaskKind,
    /// The kind's own id (for LCW: `taskProcessingResult.id`).
    pub id: String,
}

impl TaskKey {
    /// The key of a Lifecycle Workflows task.
    pub fn lcw(task_processing_result_id: impl Into<String>) -> TaskKey {
        TaskKey {
            kind: TaskKind::Lcw,
            id: task_processing_result_id.into(),
        }
    }
}

impl fmt::Display for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.as_str(), self.id)
    }
}

/// Where a task is in its life. The order of the variants is the order of the life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    /// Accepted and waiting for a worker (standalone records it at accept; a task whose logic
    /// asked to be retried goes back here).
    Received,
    /// A worker holds the lease and runs the logic.
    Running,
    /// The logic finished with an outcome; the resume is yet to be sent.
    LogicFinished,
    /// A resume was sent and Graph did not accept it yet (its answer is in `resume`).
    ResumeSent,
    /// Graph accepted the resume. Final.
    Resumed,
    /// Nothing more will be tried (see `reason`). Final.
    GivenUp,
    /// The logic finished and Lifecycle Workflows waits for no resume (launch-and-continue).
    /// Final.
    NoResume,
}

impl Stage {
    /// Whether nothing more happens to a task in this stage.
    pub fn is_final(self) -> bool {
        matches!(self, Stage::Resumed | Stage::GivenUp | Stage::NoResume)
    }

    /// The stage as `history --status` and the JSON name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Received => "received",
            Stage::Running => "running",
            Stage::LogicFinished => "logicFinished",
            Stage::ResumeSent => "resumeSent",
            Stage::Resumed => "resumed",
            Stage::GivenUp => "givenUp",
            Stage::NoResume => "noResume",
        }
    }

    /// Every stage, in life order.
    pub const ALL: [Stage; 7] = [
        Stage::Received,
        Stage::Running,
        Stage::LogicFinished,
        Stage::ResumeSent,
        Stage::Resumed,
        Stage::GivenUp,
        Stage::NoResume,
    ];
}

/// A worker's exclusive right to act on a task until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// Who holds it: `<process instance>/<invocation id>`.
    pub holder: String,
    /// After this instant the holder is presumed dead and another worker may take over.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The queue message the holder is processing (the host's `Metadata.Id`, standalone's
    /// job), when known: tells a redelivery of that message from a duplicate message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Lease {
    /// Whether the lease still binds others at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }

    /// The process instance part of the holder.
    pub fn instance(&self) -> &str {
        self.holder.split('/').next().unwrap_or("")
    }
}

/// The outcome the logic reported, as resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RecordedStatus {
    /// Resumed `completed`.
    Completed,
    /// Resumed `failed`.
    Failed,
}

impl RecordedStatus {
    /// `completed` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordedStatus::Completed => "completed",
            RecordedStatus::Failed => "failed",
        }
    }
}

/// What the logic came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedOutcome {
    /// The status to resume with.
    pub status: RecordedStatus,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Graph's last answer to a resume (never a token or a body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphAnswer {
    /// HTTP status; `None` when no answer came (outage, no token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Graph's `request-id` header, for a support case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Graph's `error.code`, when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// When the answer came.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The identifying facts of a task, for `history` (ids and display names; no UPN, no mail).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskFacts {
    /// Workflow id.
    pub workflow_id: String,
    /// Workflow display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_name: Option<String>,
    /// Workflow task id.
    pub task_id: String,
    /// Workflow task display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    /// The user's object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<String>,
    /// Whether Lifecycle Workflows waits for a resume.
    pub launch_and_wait: bool,
}

impl TaskFacts {
    /// The facts of `callout`.
    pub fn of(callout: &Callout) -> TaskFacts {
        TaskFacts {
            workflow_id: callout.workflow.id.clone(),
            workflow_name: callout.workflow.display_name.clone(),
            task_id: callout.task.id.clone(),
            task_name: callout.task.display_name.clone(),
            subject_id: callout.subject.id.clone(),
            launch_and_wait: callout.launch_and_wait,
        }
    }
}

/// One step of the task's story, for `explain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The stage the task entered (or stayed in).
    pub stage: Stage,
    /// What happened, in one sentence.
    pub what: String,
}

/// One task's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    /// [`RECORD_SCHEMA`] when written.
    pub schema: u32,
    /// The task.
    pub key: TaskKey,
    /// Where it is.
    pub stage: Stage,
    /// What it is about.
    pub facts: TaskFacts,
    /// When the callout was accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub accepted_at: OffsetDateTime,
    /// When the record last changed (retention counts from here).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// After this instant Lifecycle Workflows no longer waits for a resume.
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    /// Deliveries that reached a worker (queue deliveries, standalone attempts).
    pub deliveries: u32,
    /// Times the logic was started.
    pub logic_runs: u32,
    /// The worker acting on the task now, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// The logic's outcome, once it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RecordedOutcome>,
    /// Resume requests sent so far.
    pub resume_tries: u32,
    /// Graph's last answer to a resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<GraphAnswer>,
    /// Why the task is where it is, when that is not obvious (a retry's or a give-up's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The work item, kept only where the ledger is also the queue (standalone), so a restarted
    /// handler can drive the task again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_item: Option<Value>,
    /// The story, oldest first (at most [`MAX_EVENTS`]).
    pub events: Vec<Event>,
}

impl TaskRecord {
    /// A record for a task first seen at `now`.
    pub fn new(
        key: TaskKey,
        facts: TaskFacts,
        accepted_at: OffsetDateTime,
        deadline: OffsetDateTime,
        now: OffsetDateTime,
    ) -> TaskRecord {
        let mut record = TaskRecord {
            schema: RECORD_SCHEMA,
            key,
            stage: Stage::Received,
            facts,
            accepted_at,
            updated_at: now,
            deadline,
            deliveries: 0,
            logic_runs: 0,
            lease: None,
            outcome: None,
            resume_tries: 0,
            graph: None,
            reason: None,
            work_item: None,
            events: Vec::new(),
        };
        record.note(accepted_at, "callout accepted");
        record
    }

    /// Appends an event in the current stage, dropping the oldest past [`MAX_EVENTS`].
    pub fn note(&mut self, at: OffsetDateTime, what: impl Into<String>) {
        if self.events.len() >= MAX_EVENTS {
            self.events.remove(0);
        }
        self.events.push(Event {
            at,
            stage: self.stage,
            what: what.into(),
        });
    }

    /// The lease, if one binds others at `now`.
    pub fn live_lease(&self, now: OffsetDateTime) -> Option<&Lease> {
        self.lease.as_ref().filter(|lease| lease.is_live(now))
    }
}
