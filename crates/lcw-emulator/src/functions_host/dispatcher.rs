//! Delivers queue messages to queue-triggered functions, with the WebJobs SDK's retry rules
//! (docs/protocol.md §8.10): up to `batchSize` concurrent invocations per function; on success the
//! message is deleted; on failure it becomes visible again after `visibilityTimeout`, and after
//! `maxDequeueCount` attempts it moves to `<queue>-poison`.
//!
//! The real host polls Storage with a backoff, but it learns immediately about messages it
//! wrote itself. So the dispatcher waits on the queues' change notification, or until the next
//! invisible message reappears; on Storage queues it also asks again every
//! `storage_queue::POLL_INTERVAL`, which is how messages written by others are found.

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
            let lease = shared.queues.lease(&queue).await.unwrap_or_else(|error| {
                // Storage unreachable: the real host logs and polls again later.
                tracing::warn!(function = %function.name, %queue, %error, "cannot receive queue messages; polling again");
                Lease::Empty {
                    next: Some(tokio::time::Instant::now() + super::storage_queue::POLL_INTERVAL),
                }
            });
            match lease {
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
        match shared.queues.poison(&message).await {
            Ok(poison) => {
                tracing::warn!(function = %function.name, message_id = %message.id, %poison, "message exceeded maxDequeueCount; moved to poison queue");
            }
            Err(error) => {
                tracing::warn!(function = %function.name, message_id = %message.id, %error, "cannot move a message to the poison queue");
            }
        }
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
        Ok(_) => {
            if let Err(error) = shared.queues.delete(&message).await {
                // The message reappears after its visibility and is delivered again, as in Azure.
                tracing::warn!(function = %function.name, message_id = %message.id, %error, "cannot delete a processed message");
            }
        }
        Err(error) if message.dequeue_count >= max => {
            let poison = match shared.queues.poison(&message).await {
                Ok(poison) => poison,
                Err(poison_error) => {
                    tracing::warn!(function = %function.name, message_id = %message.id, error = %poison_error, "cannot move a message to the poison queue");
                    return;
                }
            };
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
            if let Err(release_error) = shared
                .queues
                .release(&message, shared.visibility_timeout)
                .await
            {
                tracing::warn!(function = %function.name, message_id = %message.id, error = %release_error, "cannot set the visibility of a failed message");
            }
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
