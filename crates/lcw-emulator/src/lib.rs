//! Local stand-ins for the two things lcw-handler talks to but that cannot be reached from a
//! developer machine or CI: a Microsoft Entra tenant and the Azure Functions host.
//!
//! # Why this crate exists
//!
//! lcw-handler only does useful work between three parties it does not control: Lifecycle
//! Workflows (which sends callouts), the Functions host (which wraps every request and queue
//! message in its custom-handler envelope), and Microsoft Graph (which receives the `resume`
//! call, authorised by a managed-identity token). None of them runs locally. Rather than mock the
//! handler's own code, this crate reproduces each party *on the wire*, from
//! `docs/protocol.md`, so the real handler binary can be driven end to end on loopback.
//!
//! It is deliberately an independent implementation: it does not depend on `lcw-handler`, so a
//! misreading of the protocol in the handler is not silently mirrored here. The emulators are
//! product features too: users replay callouts against their own handler with them.
//!
//! # Layout
//!
//! - [`tenant`]: one loopback HTTP server playing the App Service managed-identity endpoint
//!   (`IDENTITY_ENDPOINT`/`IDENTITY_HEADER`), the Graph `resume` API, and Entra's OpenID
//!   discovery and signing keys, with fault injection (latency, throttling, scripted answers,
//!   unavailable keys), plus [`tenant::LcwCaller`], which builds and authenticates (PoP or
//!   bearer) callouts the way Lifecycle Workflows sends them, and [`tenant::Minter`], which
//!   mints and forges the tokens tests need.
//! - [`functions_host`]: reads `host.json` and every `function.json`, spawns a real
//!   custom-handler executable exactly as the host does, turns public HTTP requests and queue
//!   messages into JSON-protocol invocations, and interprets the replies (outputs, logs, queue
//!   retries, poison queues).
//!
//! - [`azurite`]: starts the real Azurite (Azure Storage emulator) from the repository's
//!   `tools/node_modules` on free ports; the Functions host can run its queues on it
//!   ([`functions_host::QueueBackend::Storage`]).
//!
//! - [`time_limit`]: the bound every integration test runs under, so a hang is a failure.
//!
//! What each emulator reproduces faithfully, and what it does not, is listed in the crate's
//! `README.md`.
#![warn(missing_docs)]

pub mod azurite;
pub mod functions_host;
pub mod tenant;

/// A string every binary that links the emulators carries, and no other binary does:
/// `lcw-handler package` refuses a binary containing it, so a build with the `demo` feature is
/// never deployed. The emulators' entry points ([`tenant::TenantEmulator::start`],
/// [`functions_host::FunctionsHost::start`]) keep it alive through any optimisation.
pub const LINKED_MARKER: &str =
    "lcw-emulator: local stand-ins for the tenant and the Functions host, never deployed";

/// Keeps [`LINKED_MARKER`] in the binary of whoever can start an emulator.
pub(crate) fn keep_linked_marker() {
    std::hint::black_box(LINKED_MARKER);
}
pub mod time_limit;
