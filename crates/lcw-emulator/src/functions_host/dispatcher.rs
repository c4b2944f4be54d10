//! Delivers queue messages to queue-triggered functions, with the WebJobs SDK's retry rules
//! (docs/protocol.md §8.10): up to `batchSize` concurrent invocations per function; on success the
//! message is deleted; on failure it becomes visible again after `visibilityTimeout`, and after
//! `maxDequeueCount` attempts it moves to `<queue>-poison`.
//!
//! The real host polls Storage with a backoff, but it learns immediately about messages it
//! wrote itself. Here every message is written by this host, so the dispatcher waits on the
//! store's change notification, or until the next invisible message reappears.

use std::sync::Arc;

use tokio::sync::{Semaphore, watch};

use super::Shared;
use super::config::{FunctionConfig, Trigger};
use super::envelope;
use super::invocation;
use super::queue::{Lease, LeasedMessage};

/// Runs until `shutdown` turns `true` (or its sender is dropped).
pub(crate) async fn run(
    shared: Arc<Shared>,
    function: Arc<FunctionConfig>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Trigger::Queue(trigger) = &function.trigger else {
        return;
    };
    let queue = trigger.queue_name.clone();
    let permits = Arc::new(Semaphore::new(shared.host.queues.batch_size));
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let message = loop {
            let changed = shared.queues.changed.notified();
            tokio::pin!(changed);
            // Register interest before looking, so a put in between is not missed.
            changed.as_mut().enable();
            match shared.queues.lease(&queue) {
                Lease::Message(message) => break message,
                Lease::Empty { next } => {
                    let reappears = async {
                        match next {
                            Some(at) => tokio::time::sleep_until(at).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        _ = changed => {}
                        _ = reappears => {}
                        _ = shutdown.wait_for(|stop| *stop) => return,
                    }
                }
            }
        };
        let shared = shared.clone();
        let function = function.clone();
        tokio::spawn(async move {
            process(&shared, &function, message).await;
            drop(permit);
        });
    }
}

async fn process(shared: &Shared, function: &FunctionConfig, message: LeasedMessage) {
    let max = shared.host.queues.max_dequeue_count;
    // A message seen more often than allowed (e.g. after a host crash) is poisoned unseen.
    if message.dequeue_count > max {
        let poison = shared.queues.poison(&message);
        tracing::warn!(function = %function.name, message_id = %message.id, %poison, "message exceeded maxDequeueCount; moved to poison queue");
        return;
    }
    let Trigger::Queue(trigger) = &function.trigger else {
        return;
    };
    let envelope = envelope::queue_envelope(&function.name, &trigger.name, &message);
    match invocation::invoke(
        shared,
        function,
        envelope,
        Some((message.dequeue_count, message.text.as_str())),
    )
    .await
    {
        Ok(_) => shared.queues.delete(&message),
        Err(error) if message.dequeue_count >= max => {
            let poison = shared.queues.poison(&message);
            tracing::warn!(
                function = %function.name,
                message_id = %message.id,
                dequeue_count = message.dequeue_count,
                %poison,
                %error,
                "message failed maxDequeueCount times; moved to poison queue"
            );
        }
        Err(error) => {
            // Not a fault of the run: a failed delivery is how a handler asks for a retry.
            shared.queues.release(&message, shared.visibility_timeout);
            tracing::info!(
                function = %function.name,
                message_id = %message.id,
                %error,
                "attempt {} of {max} did not finish; retrying after the visibility timeout ({:?})",
                message.dequeue_count,
                shared.visibility_timeout,
            );
        }
    }
}
