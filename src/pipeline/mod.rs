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
mod process;
mod run_task;

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::config::{AuthMode, Config};
use crate::graph::GraphClient;
use crate::ledger::Ledger;
use crate::resume::Resumer;
use crate::task::Task;

pub use accept::{AcceptError, TooLarge, accept};
pub use acceptor::{Accepted, Refused};
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
}

impl Pipeline {
    /// A pipeline running `task`, resuming through `graph`. When the configuration enforces
    /// authentication, the tenant's signing keys start loading in the background now.
    pub fn new(task: Arc<dyn Task>, graph: GraphClient, config: Arc<Config>) -> Pipeline {
        let caller_check = match &config.auth {
            AuthMode::Enforced(settings) => Some(acceptor::CallerCheck::new(Authenticator::start(
                settings.clone(),
            ))),
            AuthMode::Disabled => None,
        };
        Pipeline {
            task,
            resumer: Resumer::new(graph.clone()),
            graph,
            config,
            caller_check,
            ledger: None,
        }
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

    /// Replaces the authenticator (tests and benchmarks use fixed keys).
    pub fn with_authenticator(mut self, authenticator: Authenticator) -> Pipeline {
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
