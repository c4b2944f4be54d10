//! Ctrl-C and SIGTERM during the local runs (`demo`, `bench`, `serve --with-local-tenant`).
//!
//! Those runs own child processes (the handler under the host emulator) and temporary app
//! roots. The default reaction to a signal — die on the spot — would skip every destructor:
//! the handler would be reparented and live on, and the temporary folder would stay. So the
//! signals are taken over at the very start of a run (a signal that arrives while something
//! else is going on is kept, not lost), each long step runs through [`Interrupts::guard`],
//! and an interrupted run stops its children and removes its folders like a finished one, then
//! exits with the shell's convention, 128 + the signal number.

use std::fmt;
use std::future::Future;
use std::process::ExitCode;

/// The signal that stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Signal {
    /// SIGINT, Ctrl-C.
    Interrupt,
    /// SIGTERM, e.g. `kill` or a container stop.
    Terminate,
}

impl Signal {
    /// 128 + the signal number, as a shell reports a process killed by it.
    pub(super) fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        })
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        })
    }
}

/// Why a local run did not reach its verdict.
#[derive(Debug)]
pub(super) enum RunError {
    /// It could not happen; the text says why.
    Failed(String),
    /// A signal stopped it; its children and temporary files are already gone.
    Interrupted(Signal),
}

impl From<String> for RunError {
    fn from(reason: String) -> Self {
        RunError::Failed(reason)
    }
}

impl From<Signal> for RunError {
    fn from(signal: Signal) -> Self {
        RunError::Interrupted(signal)
    }
}

/// The signals of one run, listened to from creation on.
pub(super) struct Interrupts {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// Takes over SIGINT and SIGTERM for the rest of the process.
    pub(super) fn listen() -> Result<Interrupts, String> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind| {
                signal(kind).map_err(|e| format!("cannot listen for signals: {e}"))
            };
            Ok(Interrupts {
                interrupt: listen(SignalKind::interrupt())?,
                terminate: listen(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Interrupts {})
    }

    /// The next signal (one that arrived since [`listen`](Self::listen) counts at once).
    pub(super) async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => Signal::Interrupt,
                _ = self.terminate.recv() => Signal::Terminate,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Interrupt
        }
    }

    /// Runs `work` unless a signal comes first; then `work` is dropped where it stands, and
    /// the caller stops what it started.
    pub(super) async fn guard<T>(&mut self, work: impl Future<Output = T>) -> Result<T, Signal> {
        tokio::select! {
            done = work => Ok(done),
            signal = self.next() => Err(signal),
        }
    }
}
