//! The user API: one trait (or one async function) that does the work of a task.
//!
//! A task receives a [`TaskContext`] — the user, the workflow, the attempt, the deadline and a
//! Graph client already authenticated with the managed identity — and returns an [`Outcome`].
//! Everything else (envelopes, authentication, retries, tokens, panics, the resume call) belongs
//! to the runtime. The contract:
//!
//! - `Ok(Outcome::Completed)` / `Ok(Outcome::Failed { .. })` are final and are reported to
//!   Lifecycle Workflows at once.
//! - `Err(TaskError)` means "try again later": the task is attempted again after the queue's
//!   visibility timeout, and on the last attempt it is reported `failed` with the error's text.
//! - A panic, or running past the task timeout, is reported `failed`; it never crashes the
//!   handler.
//!
//! A task may run more than once for the same `taskProcessingResult` (a redelivered queue
//! message, an LCW retry), so it should be idempotent.
//!
//! ```no_run
//! use lcw_handler::task::{task_fn, Outcome, TaskContext, TaskError};
//!
//! async fn welcome(ctx: TaskContext) -> Result<Outcome, TaskError> {
//!     let Some(user_id) = ctx.subject().id.clone() else {
//!         return Ok(Outcome::failed("the callout named no user"));
//!     };
//!     let response = ctx
//!         .graph()
//!         .request(reqwest::Method::GET, &format!("/users/{user_id}"))
//!         .await?
//!         .send()
//!         .await?;
//!     if !response.status().is_success() {
//!         return Err(TaskError::new(format!("Graph answered {}", response.status())));
//!     }
//!     Ok(Outcome::Completed)
//! }
//!
//! # async fn run() -> std::process::ExitCode {
//! lcw_handler::run(task_fn(welcome)).await
//! # }
//! ```

pub mod builtin;
mod context;
pub mod entitlement;

use std::fmt;
use std::future::Future;

use async_trait::async_trait;

pub use context::TaskContext;

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The work is done: the workflow continues.
    Completed,
    /// The work cannot be done: the workflow records the task as failed.
    Failed {
        /// Why, for the logs (Lifecycle Workflows' resume carries no reason text).
        reason: String,
    },
}

impl Outcome {
    /// `Outcome::Failed` with a reason.
    pub fn failed(reason: impl Into<String>) -> Outcome {
        Outcome::Failed {
            reason: reason.into(),
        }
    }
}

/// A transient failure: the runtime tries the task again later (and reports `failed` when the
/// last attempt also fails). Any error type converts into it with `?`.
pub struct TaskError {
    message: String,
}

impl TaskError {
    /// A transient failure described by `message`.
    pub fn new(message: impl Into<String>) -> TaskError {
        TaskError {
            message: message.into(),
        }
    }

    /// The description.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for TaskError {
    fn from(error: E) -> TaskError {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        TaskError { message }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskError({:?})", self.message)
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The business logic of a custom task extension.
#[async_trait]
pub trait Task: Send + Sync + 'static {
    /// Does the work for one user; see the [module docs](self) for the contract.
    async fn run(&self, ctx: TaskContext) -> Result<Outcome, TaskError>;

    /// A short name for logs and `check`.
    fn name(&self) -> &str {
        "custom"
    }
}

/// A [`Task`] made from an async function; see [`task_fn`].
pub struct TaskFn<F>(F);

/// Turns `async fn(TaskContext) -> Result<Outcome, TaskError>` into a [`Task`].
pub fn task_fn<F, Fut>(f: F) -> TaskFn<F>
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Outcome, TaskError>> + Send + 'static,
{
    TaskFn(f)
}

#[async_trait]
impl<F, Fut> Task for TaskFn<F>
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Outcome, TaskError>> + Send + 'static,
{
    async fn run(&self, ctx: TaskContext) -> Result<Outcome, TaskError> {
        (self.0)(ctx).await
    }
}
