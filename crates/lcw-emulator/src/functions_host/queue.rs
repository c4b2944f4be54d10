//! In-memory Storage queues with the properties the queue trigger exposes: message id, pop
//! receipt, insertion/expiration/next-visible times and dequeue count.
//!
//! Visibility uses Tokio's clock, so tests can pause and advance time; the wall-clock times
//! only feed the envelope's metadata. A message being processed is *leased*: invisible until
//! its invocation completes. That stands in for the SDK's visibility renewal during long
//! invocations, without timers. Every change wakes `Queues::changed` (in `queues`), which the
//! dispatchers and `wait_until_idle` listen to instead of polling.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use tokio::time::Instant;

/// Default message time-to-live of Storage queues.
const MESSAGE_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// Visibility the SDK sets when it receives a message (renewed while processing).
pub(crate) const RECEIVE_VISIBILITY: Duration = Duration::from_secs(10 * 60);
/// Suffix of the poison queue.
pub(crate) const POISON_SUFFIX: &str = "-poison";

/// One stored message.
#[derive(Debug, Clone)]
struct StoredMessage {
    id: String,
    pop_receipt: String,
    text: String,
    insertion_time: SystemTime,
    expiration_time: SystemTime,
    visible_at: Instant,
    leased: bool,
    dequeue_count: u32,
}

/// A message handed to a dispatcher, with the metadata of this delivery.
#[derive(Debug, Clone)]
pub(crate) struct LeasedMessage {
    pub(crate) queue: String,
    pub(crate) id: String,
    pub(crate) pop_receipt: String,
    pub(crate) text: String,
    pub(crate) insertion_time: SystemTime,
    pub(crate) expiration_time: SystemTime,
    pub(crate) next_visible_time: SystemTime,
    pub(crate) dequeue_count: u32,
}

/// What [`QueueStore::lease`] found.
pub(crate) enum Lease {
    Message(LeasedMessage),
    /// Nothing visible; `next` is when the earliest invisible, unleased message reappears.
    Empty {
        next: Option<Instant>,
    },
}

/// How one queue's messages stand at a moment: what a progress display shows while a run
/// waits for the queue to drain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStatus {
    /// Visible, waiting for a dispatcher.
    pub ready: usize,
    /// Leased by an invocation that is still running.
    pub in_delivery: usize,
    /// Delivered before and failed: invisible until their visibility timeout passes.
    pub awaiting_retry: usize,
    /// When the first of those becomes visible again, from now.
    pub next_retry_in: Option<Duration>,
}

/// All queues of one host.
#[derive(Debug, Default)]
pub(crate) struct QueueStore {
    queues: Mutex<BTreeMap<String, VecDeque<StoredMessage>>>,
}

impl QueueStore {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, VecDeque<StoredMessage>>> {
        // Poisoning only means a panic elsewhere; the queue data stays consistent per operation.
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a message, visible at once.
    pub(crate) fn put(&self, queue: &str, text: String) {
        let now = SystemTime::now();
        let message = StoredMessage {
            id: uuid::Uuid::new_v4().to_string(),
            pop_receipt: new_pop_receipt(),
            text,
            insertion_time: now,
            expiration_time: now + MESSAGE_TTL,
            visible_at: Instant::now(),
            leased: false,
            dequeue_count: 0,
        };
        self.lock()
            .entry(queue.to_owned())
            .or_default()
            .push_back(message);
    }

    /// Takes the first visible message, increments its dequeue count and gives it a new pop
    /// receipt, as a Storage `Get Messages` does.
    pub(crate) fn lease(&self, queue: &str) -> Lease {
        let now = Instant::now();
        let mut queues = self.lock();
        let Some(messages) = queues.get_mut(queue) else {
            return Lease::Empty { next: None };
        };
        match messages
            .iter_mut()
            .find(|m| !m.leased && m.visible_at <= now)
        {
            Some(message) => {
                message.leased = true;
                message.dequeue_count += 1;
                message.pop_receipt = new_pop_receipt();
                message.visible_at = now + RECEIVE_VISIBILITY;
                let leased = LeasedMessage {
                    queue: queue.to_owned(),
                    id: message.id.clone(),
                    pop_receipt: message.pop_receipt.clone(),
                    text: message.text.clone(),
                    insertion_time: message.insertion_time,
                    expiration_time: message.expiration_time,
                    next_visible_time: SystemTime::now() + RECEIVE_VISIBILITY,
                    dequeue_count: message.dequeue_count,
                };
                drop(queues);
                Lease::Message(leased)
            }
            None => Lease::Empty {
                next: messages
                    .iter()
                    .filter(|m| !m.leased)
                    .map(|m| m.visible_at)
                    .min(),
            },
        }
    }

    /// Deletes a processed message.
    pub(crate) fn delete(&self, message: &LeasedMessage) {
        if let Some(messages) = self.lock().get_mut(&message.queue) {
            messages.retain(|m| !(m.id == message.id && m.pop_receipt == message.pop_receipt));
        }
    }

    /// Makes a failed message visible again after `visibility_timeout`.
    pub(crate) fn release(&self, message: &LeasedMessage, visibility_timeout: Duration) {
        if let Some(messages) = self.lock().get_mut(&message.queue)
            && let Some(stored) = messages
                .iter_mut()
                .find(|m| m.id == message.id && m.pop_receipt == message.pop_receipt)
        {
            stored.leased = false;
            stored.visible_at = Instant::now() + visibility_timeout;
        }
    }

    /// Copies the message to `<queue>-poison` and deletes it from its queue.
    pub(crate) fn poison(&self, message: &LeasedMessage) -> String {
        let poison_queue = format!("{}{POISON_SUFFIX}", message.queue);
        self.delete(message);
        self.put(&poison_queue, message.text.clone());
        poison_queue
    }

    /// Current message texts of a queue (visible or not), oldest first.
    pub(crate) fn texts(&self, queue: &str) -> Vec<String> {
        self.lock()
            .get(queue)
            .map(|messages| messages.iter().map(|m| m.text.clone()).collect())
            .unwrap_or_default()
    }

    /// How the messages of `queue` stand now.
    pub(crate) fn status(&self, queue: &str) -> QueueStatus {
        let now = Instant::now();
        let store = self.lock();
        let mut status = QueueStatus::default();
        for message in store.get(queue).into_iter().flatten() {
            if message.leased {
                status.in_delivery += 1;
            } else if message.visible_at <= now {
                status.ready += 1;
            } else {
                status.awaiting_retry += 1;
                let wait = message.visible_at - now;
                status.next_retry_in = Some(status.next_retry_in.map_or(wait, |w| w.min(wait)));
            }
        }
        status
    }

    /// How many messages (visible, invisible or leased) the given queues hold.
    pub(crate) fn pending(&self, queues: &[String]) -> usize {
        let store = self.lock();
        queues
            .iter()
            .filter_map(|q| store.get(q))
            .map(VecDeque::len)
            .sum()
    }
}

/// A pop receipt shaped like Storage's (base64 of 20 opaque bytes).
fn new_pop_receipt() -> String {
    let bytes: [u8; 20] = rand::rng().random();
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leased(store: &QueueStore, queue: &str) -> LeasedMessage {
        match store.lease(queue) {
            Lease::Message(m) => m,
            Lease::Empty { .. } => panic!("expected a visible message"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn released_message_reappears_after_visibility_timeout() {
        let store = QueueStore::default();
        store.put("q", "hello".into());
        let first = leased(&store, "q");
        assert_eq!(first.dequeue_count, 1);
        assert!(matches!(store.lease("q"), Lease::Empty { next: None }));

        store.release(&first, Duration::from_secs(30));
        let Lease::Empty { next: Some(next) } = store.lease("q") else {
            panic!("expected an invisible message");
        };
        assert_eq!(next, Instant::now() + Duration::from_secs(30));

        tokio::time::advance(Duration::from_secs(30)).await;
        let second = leased(&store, "q");
        assert_eq!(second.dequeue_count, 2);
        assert_ne!(second.pop_receipt, first.pop_receipt);
        assert_eq!(second.id, first.id);
    }

    #[tokio::test(start_paused = true)]
    async fn status_tells_ready_leased_and_retrying_messages_apart() {
        let store = QueueStore::default();
        for text in ["a", "b", "c"] {
            store.put("q", text.into());
        }
        let failed = leased(&store, "q");
        let _running = leased(&store, "q");
        store.release(&failed, Duration::from_secs(30));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(
            store.status("q"),
            QueueStatus {
                ready: 1,
                in_delivery: 1,
                awaiting_retry: 1,
                next_retry_in: Some(Duration::from_secs(20)),
            }
        );
        assert_eq!(store.status("empty"), QueueStatus::default());
    }

    #[tokio::test]
    async fn poison_moves_the_text() {
        let store = QueueStore::default();
        store.put("q", "bad".into());
        let message = leased(&store, "q");
        assert_eq!(store.poison(&message), "q-poison");
        assert!(store.texts("q").is_empty());
        assert_eq!(store.texts("q-poison"), vec!["bad".to_owned()]);
    }

    #[tokio::test]
    async fn stale_pop_receipt_does_not_delete() {
        let store = QueueStore::default();
        store.put("q", "m".into());
        let mut message = leased(&store, "q");
        message.pop_receipt = "stale".into();
        store.delete(&message);
        assert_eq!(store.pending(&["q".to_owned()]), 1);
    }
}
