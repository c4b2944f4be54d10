//! Storage queues on a real Storage service (Azurite locally), through the official
//! `azure_storage_queue` crate: what `func start` does with `AzureWebJobsStorage` pointing at
//! Azurite.
//!
//! Storage owns delivery: a receive hides the message for [`RECEIVE_VISIBILITY`] and counts the
//! dequeue; a failed invocation sets the message's visibility timeout (Update Message, as the
//! WebJobs SDK does), a successful one deletes it with its pop receipt, and the poison move is
//! a send to `<queue>-poison` followed by the delete. Messages are stored in the host's
//! `messageEncoding` (base64 by default), as the Functions queue binding writes them.
//!
//! The client authenticates with a SAS in the URL: the crate takes an Entra token over https
//! only, and Azurite serves http (see `crate::azurite`).
//!
//! Beside Storage the host keeps its own account of the messages *it* wrote and leased, so the
//! synchronous views ([`QueueStore`]'s `texts`, `status`, `pending`) and `wait_until_idle`
//! answer without a round trip; a message written by someone else is added to that account
//! when the host first receives it.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use azure_core::http::Url;
use azure_storage_queue::QueueClient;
use azure_storage_queue::models::{
    QueueClientReceiveMessagesOptions, QueueClientSendMessageOptions, QueueMessage,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::time::Instant;

use super::config::MessageEncoding;
use super::queue::{Lease, LeasedMessage, POISON_SUFFIX, QueueStatus, RECEIVE_VISIBILITY};

/// How often an empty queue is asked again when nothing the host did woke it: the host polls
/// Storage too (with a backoff up to `maxPollingInterval`), and other writers are only seen so.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Where the host's own account puts a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Ready,
    InDelivery,
    RetryAt(Instant),
}

#[derive(Debug, Clone)]
struct Tracked {
    /// Order in which the host first saw it.
    seq: u64,
    text: String,
    standing: Standing,
}

/// Queues of one storage account.
pub(crate) struct StorageQueues {
    /// `http://127.0.0.1:<port>/devstoreaccount1`, no trailing slash.
    service: String,
    /// Query string (no `?`), never logged.
    sas: String,
    encoding: MessageEncoding,
    clients: Mutex<HashMap<String, Arc<QueueClient>>>,
    /// Message id → what the host knows of it, per queue.
    tracked: Mutex<BTreeMap<String, BTreeMap<String, Tracked>>>,
    next_seq: AtomicU64,
}

impl std::fmt::Debug for StorageQueues {
    /// The SAS is a credential: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageQueues")
            .field("service", &self.service)
            .field("encoding", &self.encoding)
            .finish_non_exhaustive()
    }
}

impl StorageQueues {
    pub(crate) fn new(service: &str, sas: &str, encoding: MessageEncoding) -> Self {
        Self {
            service: service.trim_end_matches('/').to_owned(),
            sas: sas.trim_start_matches('?').to_owned(),
            encoding,
            clients: Mutex::new(HashMap::new()),
            tracked: Mutex::new(BTreeMap::new()),
            next_seq: AtomicU64::new(0),
        }
    }

    fn tracked(&self) -> MutexGuard<'_, BTreeMap<String, BTreeMap<String, Tracked>>> {
        // Poisoning only means a panic elsewhere; each update is complete or absent.
        self.tracked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The client of `queue`, creating the queue on first use (Create Queue is idempotent).
    async fn client(&self, queue: &str) -> Result<Arc<QueueClient>, String> {
        if let Some(client) = self
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(queue)
        {
            return Ok(client.clone());
        }
        let url = Url::parse(&format!("{}/{queue}?{}", self.service, self.sas))
            .map_err(|e| format!("queue `{queue}`: invalid queue URL: {e}"))?;
        let client = Arc::new(
            QueueClient::new(url, None, None)
                .map_err(|e| format!("queue `{queue}`: cannot build a client: {e}"))?,
        );
        client
            .create(None)
            .await
            .map_err(|e| format!("queue `{queue}`: Create Queue failed: {e}"))?;
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(queue.to_owned(), client.clone());
        Ok(client)
    }

    /// Put Message, in the host's message encoding.
    pub(crate) async fn put(&self, queue: &str, text: &str) -> Result<(), String> {
        let client = self.client(queue).await?;
        let stored = match self.encoding {
            MessageEncoding::Base64 => STANDARD.encode(text),
            MessageEncoding::None => text.to_owned(),
        };
        let message = QueueMessage {
            message_text: Some(stored),
        };
        let content = message
            .try_into()
            .map_err(|e| format!("queue `{queue}`: cannot serialise the message: {e}"))?;
        let sent = client
            .send_message(content, None::<QueueClientSendMessageOptions<'_>>)
            .await
            .map_err(|e| format!("queue `{queue}`: Put Message failed: {e}"))?
            .into_model()
            .map_err(|e| format!("queue `{queue}`: Put Message answer unreadable: {e}"))?;
        let id = sent
            .items
            .unwrap_or_default()
            .into_iter()
            .find_map(|m| m.message_id)
            .ok_or_else(|| format!("queue `{queue}`: Put Message answered no message id"))?;
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        self.tracked().entry(queue.to_owned()).or_default().insert(
            id,
            Tracked {
                seq,
                text: text.to_owned(),
                standing: Standing::Ready,
            },
        );
        Ok(())
    }

    /// Get Messages (one), hiding it for [`RECEIVE_VISIBILITY`].
    pub(crate) async fn lease(&self, queue: &str) -> Result<Lease, String> {
        let client = self.client(queue).await?;
        let options = QueueClientReceiveMessagesOptions {
            number_of_messages: Some(1),
            visibility_timeout: Some(seconds(RECEIVE_VISIBILITY)),
            ..Default::default()
        };
        let received = client
            .receive_messages(Some(options))
            .await
            .map_err(|e| format!("queue `{queue}`: Get Messages failed: {e}"))?
            .into_model()
            .map_err(|e| format!("queue `{queue}`: Get Messages answer unreadable: {e}"))?;
        let Some(message) = received.items.unwrap_or_default().into_iter().next() else {
            return Ok(Lease::Empty {
                next: Some(self.next_due(queue)),
            });
        };
        let (Some(id), Some(pop_receipt)) = (message.message_id, message.pop_receipt) else {
            return Err(format!(
                "queue `{queue}`: Get Messages answered a message without id or pop receipt"
            ));
        };
        let stored = message.message_text.unwrap_or_default();
        let text = match self.encoding {
            MessageEncoding::Base64 => STANDARD
                .decode(stored.as_bytes())
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                // The real binding fails such a message; the handler then sees what was stored.
                .unwrap_or(stored),
            MessageEncoding::None => stored,
        };
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        self.tracked()
            .entry(queue.to_owned())
            .or_default()
            .entry(id.clone())
            .and_modify(|known| known.standing = Standing::InDelivery)
            .or_insert(Tracked {
                seq,
                text: text.clone(),
                standing: Standing::InDelivery,
            });
        let now = SystemTime::now();
        Ok(Lease::Message(LeasedMessage {
            queue: queue.to_owned(),
            id,
            pop_receipt,
            text,
            insertion_time: message.insertion_time.map_or(now, SystemTime::from),
            expiration_time: message.expiration_time.map_or(now, SystemTime::from),
            next_visible_time: message
                .time_next_visible
                .map_or(now + RECEIVE_VISIBILITY, SystemTime::from),
            dequeue_count: message
                .dequeue_count
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(1),
        }))
    }

    /// When to ask an empty queue again: when the first message the host released becomes
    /// visible, or after [`POLL_INTERVAL`], whichever is first.
    fn next_due(&self, queue: &str) -> Instant {
        let poll = Instant::now() + POLL_INTERVAL;
        self.tracked()
            .get(queue)
            .into_iter()
            .flat_map(|messages| messages.values())
            .filter_map(|m| match m.standing {
                Standing::RetryAt(at) => Some(at),
                _ => None,
            })
            .min()
            .map_or(poll, |at| at.min(poll))
    }

    /// Delete Message with the delivery's pop receipt.
    pub(crate) async fn delete(&self, message: &LeasedMessage) -> Result<(), String> {
        let client = self.client(&message.queue).await?;
        let result = client
            .delete_message(&message.id, &message.pop_receipt, None)
            .await
            .map(|_| ())
            .map_err(|e| format!("queue `{}`: Delete Message failed: {e}", message.queue));
        if let Some(messages) = self.tracked().get_mut(&message.queue) {
            messages.remove(&message.id);
        }
        result
    }

    /// Update Message: visible again after `visibility_timeout`.
    pub(crate) async fn release(
        &self,
        message: &LeasedMessage,
        visibility_timeout: Duration,
    ) -> Result<(), String> {
        let client = self.client(&message.queue).await?;
        let result = client
            .update_message(
                &message.id,
                &message.pop_receipt,
                seconds(visibility_timeout),
                None,
            )
            .await
            .map(|_| ())
            .map_err(|e| format!("queue `{}`: Update Message failed: {e}", message.queue));
        if let Some(tracked) = self
            .tracked()
            .get_mut(&message.queue)
            .and_then(|messages| messages.get_mut(&message.id))
        {
            tracked.standing = Standing::RetryAt(Instant::now() + visibility_timeout);
        }
        result
    }

    /// Put Message on `<queue>-poison`, then Delete Message: the poison copy exists before the
    /// original goes, so a failure in between duplicates rather than loses.
    pub(crate) async fn poison(&self, message: &LeasedMessage) -> Result<String, String> {
        let poison_queue = format!("{}{POISON_SUFFIX}", message.queue);
        self.put(&poison_queue, &message.text).await?;
        self.delete(message).await?;
        Ok(poison_queue)
    }

    /// Texts of the messages the host knows in `queue`, oldest first.
    pub(crate) fn texts(&self, queue: &str) -> Vec<String> {
        let tracked = self.tracked();
        let mut known: Vec<&Tracked> = tracked
            .get(queue)
            .into_iter()
            .flat_map(|m| m.values())
            .collect();
        known.sort_by_key(|m| m.seq);
        known.into_iter().map(|m| m.text.clone()).collect()
    }

    /// How the messages the host knows in `queue` stand.
    pub(crate) fn status(&self, queue: &str) -> QueueStatus {
        let now = Instant::now();
        let mut status = QueueStatus::default();
        for message in self
            .tracked()
            .get(queue)
            .into_iter()
            .flat_map(|m| m.values())
        {
            match message.standing {
                Standing::Ready => status.ready += 1,
                Standing::InDelivery => status.in_delivery += 1,
                Standing::RetryAt(at) if at <= now => status.ready += 1,
                Standing::RetryAt(at) => {
                    status.awaiting_retry += 1;
                    let wait = at - now;
                    status.next_retry_in = Some(status.next_retry_in.map_or(wait, |w| w.min(wait)));
                }
            }
        }
        status
    }

    /// How many messages the host knows in the given queues.
    pub(crate) fn pending(&self, queues: &[String]) -> usize {
        let tracked = self.tracked();
        queues
            .iter()
            .filter_map(|q| tracked.get(q))
            .map(BTreeMap::len)
            .sum()
    }
}

/// Whole seconds for the Storage API, rounded up (0 s stays 0).
fn seconds(duration: Duration) -> i32 {
    let whole = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    i32::try_from(whole).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_is_rounded_up_to_whole_seconds() {
        assert_eq!(seconds(Duration::from_millis(1500)), 2);
        assert_eq!(seconds(Duration::from_secs(30)), 30);
        assert_eq!(seconds(Duration::ZERO), 0);
    }
}
