//! The host's queues: in memory (the default; fast, and what the benchmarks measure) or on a
//! Storage account such as Azurite ([`QueueBackend::Storage`]), as `func start` runs with
//! `AzureWebJobsStorage` pointing at Azurite.
//!
//! The dispatchers, the queue output binding and the public views go through [`Queues`], so
//! the retry rules (docs/protocol.md §8.10) are written once, in `dispatcher`, for both.

use std::time::Duration;

use tokio::sync::Notify;

use super::config::MessageEncoding;
use super::queue::{Lease, LeasedMessage, QueueStatus, QueueStore};
use super::storage_queue::StorageQueues;

/// Where the host keeps its queues.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum QueueBackend {
    /// In-memory queues with Storage's delivery semantics (paused-clock friendly).
    #[default]
    InMemory,
    /// Storage queues of an account, through the official `azure_storage_queue` crate.
    Storage {
        /// The queue service of the account, e.g. `http://127.0.0.1:41234/devstoreaccount1`.
        endpoint: String,
        /// An account SAS (query string) that allows queue operations. Never logged.
        sas: String,
    },
}

impl std::fmt::Debug for QueueBackend {
    /// The SAS is a credential: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueueBackend::InMemory => f.write_str("InMemory"),
            QueueBackend::Storage { endpoint, .. } => f
                .debug_struct("Storage")
                .field("endpoint", endpoint)
                .finish_non_exhaustive(),
        }
    }
}

impl QueueBackend {
    /// The queue service of a running Azurite.
    pub fn azurite(azurite: &crate::azurite::Azurite) -> Self {
        QueueBackend::Storage {
            endpoint: azurite.queue_endpoint().to_owned(),
            sas: azurite.account_sas().to_owned(),
        }
    }
}

/// The queues of one host.
#[derive(Debug)]
pub(crate) struct Queues {
    backend: Backend,
    /// Woken on every change the host makes (put, lease, delete, release, poison) and when an
    /// HTTP invocation ends.
    pub(crate) changed: Notify,
}

#[derive(Debug)]
enum Backend {
    Memory(QueueStore),
    Storage(StorageQueues),
}

impl Queues {
    pub(crate) fn new(backend: &QueueBackend, encoding: MessageEncoding) -> Self {
        let backend = match backend {
            QueueBackend::InMemory => Backend::Memory(QueueStore::default()),
            QueueBackend::Storage { endpoint, sas } => {
                Backend::Storage(StorageQueues::new(endpoint, sas, encoding))
            }
        };
        Self {
            backend,
            changed: Notify::new(),
        }
    }

    /// Adds a message at once if the queues are in memory; `false` (nothing done) on Storage.
    pub(crate) fn put_in_memory(&self, queue: &str, text: &str) -> bool {
        let Backend::Memory(store) = &self.backend else {
            return false;
        };
        store.put(queue, text.to_owned());
        self.changed.notify_waiters();
        true
    }

    /// Adds a message, visible at once. `Err` is a Storage failure: the output binding throws,
    /// so the invocation fails.
    pub(crate) async fn put(&self, queue: &str, text: &str) -> Result<(), String> {
        let result = match &self.backend {
            Backend::Memory(store) => {
                store.put(queue, text.to_owned());
                Ok(())
            }
            Backend::Storage(storage) => storage.put(queue, text).await,
        };
        self.changed.notify_waiters();
        result
    }

    /// Takes the first visible message, if any.
    pub(crate) async fn lease(&self, queue: &str) -> Result<Lease, String> {
        let result = match &self.backend {
            Backend::Memory(store) => Ok(store.lease(queue)),
            Backend::Storage(storage) => storage.lease(queue).await,
        };
        if matches!(result, Ok(Lease::Message(_))) {
            self.changed.notify_waiters();
        }
        result
    }

    /// Deletes a processed message.
    pub(crate) async fn delete(&self, message: &LeasedMessage) -> Result<(), String> {
        let result = match &self.backend {
            Backend::Memory(store) => {
                store.delete(message);
                Ok(())
            }
            Backend::Storage(storage) => storage.delete(message).await,
        };
        self.changed.notify_waiters();
        result
    }

    /// Makes a failed message visible again after `visibility_timeout`.
    pub(crate) async fn release(
        &self,
        message: &LeasedMessage,
        visibility_timeout: Duration,
    ) -> Result<(), String> {
        let result = match &self.backend {
            Backend::Memory(store) => {
                store.release(message, visibility_timeout);
                Ok(())
            }
            Backend::Storage(storage) => storage.release(message, visibility_timeout).await,
        };
        self.changed.notify_waiters();
        result
    }

    /// Moves the message to `<queue>-poison`; returns that queue's name.
    pub(crate) async fn poison(&self, message: &LeasedMessage) -> Result<String, String> {
        let result = match &self.backend {
            Backend::Memory(store) => Ok(store.poison(message)),
            Backend::Storage(storage) => storage.poison(message).await,
        };
        self.changed.notify_waiters();
        result
    }

    /// Current message texts of a queue (visible or not), oldest first.
    pub(crate) fn texts(&self, queue: &str) -> Vec<String> {
        match &self.backend {
            Backend::Memory(store) => store.texts(queue),
            Backend::Storage(storage) => storage.texts(queue),
        }
    }

    /// How the messages of `queue` stand now.
    pub(crate) fn status(&self, queue: &str) -> QueueStatus {
        match &self.backend {
            Backend::Memory(store) => store.status(queue),
            Backend::Storage(storage) => storage.status(queue),
        }
    }

    /// How many messages (visible, invisible or leased) the given queues hold.
    pub(crate) fn pending(&self, queues: &[String]) -> usize {
        match &self.backend {
            Backend::Memory(store) => store.pending(queues),
            Backend::Storage(storage) => storage.pending(queues),
        }
    }
}
