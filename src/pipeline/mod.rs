//! The two phases every callout goes through, independent of transport.
//!
//! **accept** turns a callout body into a [`WorkItem`] in microseconds and never waits on
//! anything: Lifecycle Workflows gives us one second (docs/protocol.md §4). **process** runs the
//! task, then resumes, within two bounds: the task's deadline (after which LCW has given up)
//! and the invocation's retry window (after which the task goes back to the queue rather than
//! holding a worker). On the last attempt a task that still cannot finish is resumed `failed`,
//! so a workflow never waits for its timeout because of us.
//!
//! The Functions host adapter (`host`) and the standalone server (`standalone`) both drive this
//! module; it never sees an envelope or a socket.

mod accept;
mod acceptor;
mod bookkeeping;
mod entitlement_accept;
mod entitlement_process;
mod process;
mod run_decision;
mod run_task;

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::config::{AuthMode, Config};
use crate::graph::GraphClient;
use crate::ledger::Ledger;
use crate::resume::Resumer;
use crate::task::Task;
use crate::task::entitlement::{ContinueAll, EntitlementTask};

pub use accept::{AcceptError, TooLarge, accept};
pub use acceptor::{Accepted, Refused};
pub use entitlement_accept::{AcceptedEntitlement, accept_entitlement};
pub use process::{Attempt, Disposition, ProcessReport};

/// Everything processing needs, shared by all invocations. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    task: Arc<dyn Task>,
    graph: GraphClient,
    resumer: Resumer,
    config: Arc<Config>,
    caller_check: Option<acceptor::CallerCheck>,
    ledger: Option<Ledger>,
    entitlement_task: Arc<dyn EntitlementTask>,
    entitlement_check: Option<acceptor::CallerCheck>,
}

impl Pipeline {
    /// A pipeline running `task`, resuming through `graph`. When the configuration enforces
    /// authentication, the tenant's signing keys start loading in the background now.
    ///
    /// Entitlement Management callouts are decided by [`ContinueAll`] until
    /// [`with_entitlement_task`](Self::with_entitlement_task) says otherwise; they are
    /// authenticated against `LCW_ENTITLEMENT_CALLER_APP_IDS` with the same signing keys.
    pub fn new(task: Arc<dyn Task>, graph: GraphClient, config: Arc<Config>) -> Pipeline {
        let authenticator = match &config.auth {
            AuthMode::Enforced(settings) => Some(Authenticator::start(settings.clone())),
            AuthMode::Disabled => None,
        };
        let entitlement_check = entitlement_check(&config, authenticator.as_ref());
        Pipeline {
            task,
            resumer: Resumer::new(graph.clone()),
            graph,
            caller_check: authenticator.map(acceptor::CallerCheck::new),
            ledger: None,
            entitlement_check,
            entitlement_task: Arc::new(ContinueAll),
            config,
        }
    }

    /// Decides Entitlement Management callouts with `task`.
    pub fn with_entitlement_task(mut self, task: Arc<dyn EntitlementTask>) -> Pipeline {
        self.entitlement_task = task;
        self
    }

    /// The EM task's name, for logs.
    pub fn entitlement_task_name(&self) -> &str {
        self.entitlement_task.name()
    }

    /// Keeps the task ledger: deliveries consult it, so duplicates and redeliveries run
    /// nothing twice.
    pub fn with_ledger(mut self, ledger: Ledger) -> Pipeline {
        self.ledger = Some(ledger);
        self
    }

    /// The task ledger, when one is kept.
    pub fn ledger(&self) -> Option<&Ledger> {
        self.ledger.as_ref()
    }

    /// Replaces the authenticator (tests and benchmarks use fixed keys). The `entitlement`
    /// function's check is derived from it, with the EM caller list.
    pub fn with_authenticator(mut self, authenticator: Authenticator) -> Pipeline {
        self.entitlement_check = entitlement_check(&self.config, Some(&authenticator));
        self.caller_check = Some(acceptor::CallerCheck::new(authenticator));
        self
    }

    /// Replaces the resumer (tests use a faster backoff).
    pub fn with_resumer(mut self, resumer: Resumer) -> Pipeline {
        self.resumer = resumer;
        self
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The task's name, for logs.
    pub fn task_name(&self) -> &str {
        self.task.name()
    }
}

/// The `entitlement` function's caller check: the LCW authenticator's keys, EM's callers.
fn entitlement_check(
    config: &Config,
    authenticator: Option<&Authenticator>,
) -> Option<acceptor::CallerCheck> {
    match (&config.entitlement_auth, authenticator) {
        (AuthMode::Enforced(settings), Some(authenticator)) => Some(acceptor::CallerCheck::new(
            authenticator.for_caller(settings.clone()),
        )),
        _ => None,
    }
}
