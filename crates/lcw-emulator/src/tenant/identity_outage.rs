//! Fault injection for the managed-identity endpoint: the token service down (a `5xx`, a closed
//! port), slow, or failing a scripted number of requests.
//!
//! The endpoint has a listener of its own, apart from Graph and discovery, because "connection
//! refused" is a property of a port: while the outage is [`IdentityOutage::Refused`] the
//! listening socket is closed (clients get `ECONNREFUSED`, not a hang), and it is bound again
//! on the same address when the outage ends. Every answer carries `Connection: close`, so a
//! client never keeps a pooled connection that would outlive a closed port; the real service's
//! connection reuse is not something a client may rely on anyway.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::ScriptedResponse;

/// How long to wait before trying again to bind the endpoint's address after an outage, if
/// another socket briefly holds it.
const REBIND_PAUSE: Duration = Duration::from_millis(20);

/// A standing outage of the managed-identity endpoint, until cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityOutage {
    /// Every token request is answered with this status and App Service's error body
    /// (`{"statusCode", "message", "correlationId"}`), e.g. `500` or `503`.
    Status(u16),
    /// The port is closed: connections are refused.
    Refused,
    /// Every token request waits this long, or until the outage is changed, whichever is
    /// first, then is answered normally.
    Slow(Duration),
}

/// What the endpoint does with one request, after the script and the standing outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdentityAnswer {
    /// Issue a token (after `delay`).
    Issue { delay: Duration },
    /// Answer this error status (after `delay`).
    Fail { status: u16, delay: Duration },
}

/// The endpoint's fault state, shared by the listener, the token handler and the emulator's
/// handle.
#[derive(Debug)]
pub(crate) struct IdentityControl {
    outage: Mutex<Option<IdentityOutage>>,
    script: Mutex<VecDeque<ScriptedResponse>>,
    /// `true` while connections must be refused; the listener watches it.
    refusing: watch::Sender<bool>,
    /// `true` while the listener's socket is bound; the listener reports it, so a change of
    /// outage can wait until it took effect.
    listening: watch::Sender<bool>,
    /// Token requests that reached the handler (refused connections never do).
    requests: AtomicUsize,
    /// Woken when the outage changes, so requests held by a slow outage end with it.
    changed: tokio::sync::Notify,
}

impl Default for IdentityControl {
    fn default() -> Self {
        IdentityControl {
            outage: Mutex::new(None),
            script: Mutex::new(VecDeque::new()),
            refusing: watch::Sender::new(false),
            listening: watch::Sender::new(true),
            requests: AtomicUsize::new(0),
            changed: tokio::sync::Notify::new(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a panic elsewhere; the fault settings stay consistent.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl IdentityControl {
    /// Starts (`Some`) or ends (`None`) a standing outage, and returns once the listener's
    /// socket is closed (a refused port) or bound (anything else), so the very next connection
    /// sees the new state.
    pub(crate) async fn set_outage(&self, outage: Option<IdentityOutage>) {
        *lock(&self.outage) = outage;
        self.changed.notify_waiters();
        let refusing = matches!(outage, Some(IdentityOutage::Refused));
        self.refusing.send_replace(refusing);
        let mut listening = self.listening.subscribe();
        // The listener answers as soon as axum polls it again, which it always does while the
        // emulator serves; a stopped emulator has nothing left to wait for.
        let _ = listening.wait_for(|bound| *bound != refusing).await;
    }

    /// The standing outage, if any.
    pub(crate) fn outage(&self) -> Option<IdentityOutage> {
        *lock(&self.outage)
    }

    /// Queues answers for the next token requests, used before the standing outage applies.
    pub(crate) fn script(&self, responses: Vec<ScriptedResponse>) {
        lock(&self.script).extend(responses);
    }

    /// Waits `delay`, or less if the outage changes meanwhile.
    pub(crate) async fn hold(&self, delay: Duration) {
        let changed = self.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = changed => {}
        }
    }

    /// Token requests received so far.
    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Counts one request and decides its answer: the next scripted answer first, then the
    /// standing outage, else a token.
    pub(crate) fn answer(&self) -> IdentityAnswer {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if let Some(scripted) = lock(&self.script).pop_front() {
            return if (200..300).contains(&scripted.status) {
                IdentityAnswer::Issue {
                    delay: scripted.delay,
                }
            } else {
                IdentityAnswer::Fail {
                    status: scripted.status,
                    delay: scripted.delay,
                }
            };
        }
        match self.outage() {
            None | Some(IdentityOutage::Refused) => IdentityAnswer::Issue {
                delay: Duration::ZERO,
            },
            Some(IdentityOutage::Status(status)) => IdentityAnswer::Fail {
                status,
                delay: Duration::ZERO,
            },
            Some(IdentityOutage::Slow(delay)) => IdentityAnswer::Issue { delay },
        }
    }

    fn refusing(&self) -> watch::Receiver<bool> {
        self.refusing.subscribe()
    }
}

/// The endpoint's listener: an ordinary TCP listener that closes its socket while the outage
/// is [`IdentityOutage::Refused`] and binds the same address again afterwards.
pub(crate) struct IdentityListener {
    addr: SocketAddr,
    socket: Option<TcpListener>,
    refusing: watch::Receiver<bool>,
    listening: watch::Sender<bool>,
}

impl IdentityListener {
    /// Wraps a bound listener.
    pub(crate) fn new(
        socket: TcpListener,
        control: &IdentityControl,
    ) -> std::io::Result<IdentityListener> {
        Ok(IdentityListener {
            addr: socket.local_addr()?,
            socket: Some(socket),
            refusing: control.refusing(),
            listening: control.listening.clone(),
        })
    }

    /// Waits until connections may be accepted, with the socket bound.
    async fn open(&mut self) {
        loop {
            if *self.refusing.borrow_and_update() {
                // Closing the socket is what makes the kernel refuse connections.
                self.socket = None;
                self.listening.send_replace(false);
                if self.refusing.wait_for(|refusing| !*refusing).await.is_err() {
                    // The emulator is gone; axum's graceful shutdown stops this listener.
                    std::future::pending::<()>().await;
                }
                continue;
            }
            if self.socket.is_some() {
                self.listening.send_replace(true);
                return;
            }
            match TcpListener::bind(self.addr).await {
                Ok(socket) => self.socket = Some(socket),
                Err(error) => {
                    tracing::warn!(addr = %self.addr, %error, "identity endpoint cannot rebind its address yet");
                    tokio::time::sleep(REBIND_PAUSE).await;
                }
            }
        }
    }
}

impl axum::serve::Listener for IdentityListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            self.open().await;
            let Some(socket) = &self.socket else {
                continue;
            };
            tokio::select! {
                accepted = socket.accept() => match accepted {
                    Ok(connection) => return connection,
                    // Per-connection errors (e.g. the peer gave up) do not stop a listener.
                    Err(error) => tracing::debug!(%error, "identity endpoint accept failed"),
                },
                changed = self.refusing.changed() => {
                    if changed.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn script_comes_first_then_the_standing_outage() {
        let control = IdentityControl::default();
        control.set_outage(Some(IdentityOutage::Status(503))).await;
        control.script(vec![
            ScriptedResponse::status(500),
            ScriptedResponse::slow(Duration::from_millis(5)),
        ]);
        assert_eq!(
            control.answer(),
            IdentityAnswer::Fail {
                status: 500,
                delay: Duration::ZERO
            }
        );
        assert_eq!(
            control.answer(),
            IdentityAnswer::Issue {
                delay: Duration::from_millis(5)
            }
        );
        assert_eq!(
            control.answer(),
            IdentityAnswer::Fail {
                status: 503,
                delay: Duration::ZERO
            }
        );
        control.set_outage(None).await;
        assert_eq!(
            control.answer(),
            IdentityAnswer::Issue {
                delay: Duration::ZERO
            }
        );
        assert_eq!(control.requests(), 4);
    }
}
