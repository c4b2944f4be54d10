//! Tasks that ship with the handler, chosen by the `LCW_TASK` app setting.

mod complete;
mod webhook;

use std::sync::Arc;

pub use complete::Complete;
pub use webhook::{IDEMPOTENCY_HEADER, Webhook};

use super::Task;
use crate::config::BuiltinTask;

/// The task `LCW_TASK` names.
pub fn from_setting(choice: &BuiltinTask) -> Arc<dyn Task> {
    match choice {
        BuiltinTask::Complete => Arc::new(Complete),
        BuiltinTask::Webhook { url, timeout } => Arc::new(Webhook::new(url.clone(), *timeout)),
    }
}
