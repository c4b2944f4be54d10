//! `LCW_TASK=complete`: acknowledge only.
//!
//! Useful to prove the wiring of a new extension end to end before any business logic exists.

use async_trait::async_trait;

use crate::task::{Outcome, Task, TaskContext, TaskError};

/// Reports every task `completed`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Complete;

#[async_trait]
impl Task for Complete {
    async fn run(&self, _ctx: TaskContext) -> Result<Outcome, TaskError> {
        Ok(Outcome::Completed)
    }

    fn name(&self) -> &str {
        "complete"
    }
}
