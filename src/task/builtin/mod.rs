//! Tasks that ship with the handler, chosen by the `LCW_TASK` app setting.

mod complete;
mod webhook;
mod webhook_entitlement;

use std::sync::Arc;

pub use complete::Complete;
pub use webhook::{IDEMPOTENCY_HEADER, Webhook};
pub use webhook_entitlement::{ENTITLEMENT_IDEMPOTENCY_HEADER, WebhookAnswer};

use super::Task;
use super::entitlement::{ContinueAll, EntitlementTask};
use crate::config::BuiltinTask;

/// The task `LCW_TASK` names.
pub fn from_setting(choice: &BuiltinTask) -> Arc<dyn Task> {
    match choice {
        BuiltinTask::Complete => Arc::new(Complete),
        BuiltinTask::Webhook { url, timeout } => Arc::new(Webhook::new(url.clone(), *timeout)),
    }
}

/// The Entitlement Management side of the task `LCW_TASK` names: `complete` lets every request
/// continue, `webhook` forwards the EM callout and lets the answer decide.
pub fn entitlement_from_setting(choice: &BuiltinTask) -> Arc<dyn EntitlementTask> {
    match choice {
        BuiltinTask::Complete => Arc::new(ContinueAll),
        BuiltinTask::Webhook { url, timeout } => Arc::new(Webhook::new(url.clone(), *timeout)),
    }
}
