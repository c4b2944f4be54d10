//! An Entra tenant stand-in: the App Service managed-identity endpoint, the Graph `resume`
//! API of Lifecycle Workflows, the tenant's OpenID discovery and signing keys, and a caller that
//! builds (and authenticates) LCW callouts.
//!
//! One axum server on `127.0.0.1:0` serves every endpoint, because in production they are tied:
//! Graph accepts only tokens the identity endpoint issued. Sharing one process-local token table
//! lets the Graph fake check exactly that, without minting real JWTs (the handler treats the
//! Graph token as opaque, so an opaque random string is the faithful choice).
//!
//! Callout tokens are different: the handler *must* validate them (docs/protocol.md §3.6), so they are
//! real JWS, signed with RSA keys the tenant publishes through its discovery endpoints.
//!
//! The managed-identity endpoint has a listener of its own, so it can refuse connections during
//! an injected outage while Graph keeps answering (`identity_outage`).
//!
//! Sub-modules: `identity` (token endpoint), `identity_outage` (its fault injection), `graph`
//! (resume API and fault injection),
//! `keys` (signing keys), `discovery` (OpenID configuration and JWKS routes), `jws` (compact
//! JWS assembly and caller keys), `minter` (access tokens, signed HTTP requests, forging),
//! `caller_auth` (how a caller authenticates), `lcw` (callout builder), `local_caller` (the LCW
//! caller's signature over HTTP, for other local processes), `record` (what the fake observed
//! and what it is scripted to answer), `registration` (the extension, workflow and
//! task-definition APIs a registration calls) and `registration_schema` (their bodies, checked
//! field by field).

mod caller_auth;
mod discovery;
mod entitlement_caller;
mod entitlement_graph;
mod graph;
mod identity;
mod identity_outage;
mod jws;
mod keys;
mod lcw;
mod local_caller;
mod minter;
mod record;
mod registration;
mod registration_schema;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

pub use caller_auth::{DEFAULT_POP_HOST, DEFAULT_POP_PATH, LcwAuth, PopSettings};
pub use entitlement_caller::{
    APPROVAL_STAGE, CONNECTION_TEST_STAGE, EntitlementCaller, EntitlementCallout, EntitlementSpec,
};
pub use entitlement_graph::RecordedEntitlementResume;
pub use identity_outage::IdentityOutage;
pub use jws::{CallerKey, jwk_thumbprint};
pub use lcw::{
    Callout, CalloutManager, CalloutSpec, CalloutSubject, CalloutTask, CalloutWorkflow, LcwCaller,
};
pub use local_caller::AUTHORIZATION_PATH as LCW_AUTHORIZATION_PATH;
pub use minter::{
    ARM_AUDIENCE, CALLER_SERVICE_PRINCIPAL_ID, CnfForm, ENTITLEMENT_MANAGEMENT_APP_ID,
    LIFECYCLE_WORKFLOWS_APP_ID, Minter, PopRequest, SigningKey, cnf,
};
pub use record::{RecordedResume, ScriptedResponse};
pub use registration::RecordedRegistration;

/// The fictitious tenant id used when none is configured.
pub const DEFAULT_TENANT_ID: &str = "8f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b";
/// The fictitious client id of the system-assigned managed identity used when none is configured.
pub const DEFAULT_MANAGED_IDENTITY_CLIENT_ID: &str = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9";

/// How the tenant stand-in behaves.
#[derive(Debug, Clone)]
pub struct TenantOptions {
    /// The tenant id (a GUID), used in callouts.
    pub tenant_id: String,
    /// Client id of the system-assigned identity (returned in token responses).
    pub managed_identity_client_id: String,
    /// Client ids of user-assigned identities, selectable with `?client_id=`.
    pub user_assigned_client_ids: Vec<String>,
    /// Lifetime of issued tokens (the real service issues ~24 h tokens).
    pub token_lifetime: Duration,
    /// Latency added before every resume answer.
    pub graph_latency: Duration,
    /// Fraction (0.0..=1.0) of resume calls answered `429` with `Retry-After`.
    pub throttle_share: f64,
    /// `Retry-After` seconds on throttled answers.
    pub throttle_retry_after_secs: u64,
    /// Seed of the random generator deciding which calls are throttled, so a run is repeatable.
    pub throttle_seed: u64,
}

impl Default for TenantOptions {
    fn default() -> Self {
        Self {
            tenant_id: DEFAULT_TENANT_ID.to_owned(),
            managed_identity_client_id: DEFAULT_MANAGED_IDENTITY_CLIENT_ID.to_owned(),
            user_assigned_client_ids: Vec::new(),
            token_lifetime: Duration::from_secs(24 * 60 * 60),
            graph_latency: Duration::ZERO,
            throttle_share: 0.0,
            throttle_retry_after_secs: 1,
            throttle_seed: 0x1c3_5eed,
        }
    }
}

/// A token the identity endpoint issued, kept so Graph can check it.
#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    pub(crate) resource: String,
    pub(crate) expires_at: std::time::SystemTime,
}

/// Mutable Graph-side state, under one lock so the record and the "already resumed" set can
/// never disagree.
#[derive(Debug, Default)]
pub(crate) struct GraphState {
    pub(crate) resumes: Vec<RecordedResume>,
    pub(crate) resumed_ids: HashSet<String>,
    pub(crate) scripts: HashMap<String, VecDeque<ScriptedResponse>>,
    pub(crate) registration: registration::RegistrationState,
    pub(crate) entitlement_resumes: Vec<RecordedEntitlementResume>,
    /// Stage instances already resumed (a second resume is refused).
    pub(crate) entitlement_resumed: HashSet<String>,
}

/// State shared by the server's handlers and the [`TenantEmulator`] handle.
#[derive(Debug)]
pub(crate) struct TenantState {
    pub(crate) options: TenantOptions,
    pub(crate) identity_header: String,
    pub(crate) tokens: Mutex<HashMap<String, IssuedToken>>,
    pub(crate) token_fetches: AtomicUsize,
    pub(crate) graph: Mutex<GraphState>,
    pub(crate) throttle_rng: Mutex<StdRng>,
    /// Woken whenever a resume is recorded; see [`TenantEmulator::wait_for_resumes`].
    pub(crate) resume_recorded: Notify,
    /// Signing keys and the discovery endpoints' fault injection.
    pub(crate) keys: Arc<keys::KeyStore>,
    /// `http://127.0.0.1:PORT`, the base of every URL in the discovery documents.
    pub(crate) authority: String,
    /// The managed-identity endpoint's fault injection.
    pub(crate) identity: identity_outage::IdentityControl,
}

impl TenantState {
    pub(crate) fn graph(&self) -> MutexGuard<'_, GraphState> {
        // A poisoned lock only means a handler panicked mid-update; the data is still usable
        // for an emulator, and refusing service would hide the original panic.
        self.graph.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn tokens(&self) -> MutexGuard<'_, HashMap<String, IssuedToken>> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running tenant stand-in. Drop or [`shutdown`](Self::shutdown) stops it.
#[derive(Debug)]
pub struct TenantEmulator {
    addr: SocketAddr,
    identity_addr: SocketAddr,
    state: Arc<TenantState>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl TenantEmulator {
    /// Binds two ports on `127.0.0.1` (the managed-identity endpoint, and everything else),
    /// generates the tenant's RSA-2048 signing key, and starts serving.
    pub async fn start(options: TenantOptions) -> std::io::Result<TenantEmulator> {
        crate::keep_linked_marker();
        let keys = keys::KeyStore::generate()
            .map_err(|_| std::io::Error::other("generating the tenant signing key failed"))?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let identity_socket = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let seed = options.throttle_seed;
        let state = Arc::new(TenantState {
            options,
            identity_header: identity::random_secret(32),
            tokens: Mutex::new(HashMap::new()),
            token_fetches: AtomicUsize::new(0),
            graph: Mutex::new(GraphState::default()),
            throttle_rng: Mutex::new(StdRng::seed_from_u64(seed)),
            resume_recorded: Notify::new(),
            keys: Arc::new(keys),
            authority: format!("http://{addr}"),
            identity: identity_outage::IdentityControl::default(),
        });
        let identity_listener =
            identity_outage::IdentityListener::new(identity_socket, &state.identity)?;
        let identity_addr = axum::serve::Listener::local_addr(&identity_listener)?;
        let app = router(state.clone());
        let identity_app = identity_router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let (stop_identity, identity_stopped) = oneshot::channel::<()>();
            let identity =
                axum::serve(identity_listener, identity_app).with_graceful_shutdown(async move {
                    let _ = identity_stopped.await;
                });
            let main = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
                let _ = stop_identity.send(());
            });
            let (served, identity_served) = tokio::join!(main, identity);
            if let Err(error) = served.and(identity_served) {
                tracing::warn!(%error, "tenant emulator server stopped with an error");
            }
        });
        tracing::debug!(%addr, %identity_addr, "tenant emulator listening");
        Ok(TenantEmulator {
            addr,
            identity_addr,
            state,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// Value for `IDENTITY_ENDPOINT`, e.g. `http://127.0.0.1:PORT/MSI/token` (a port of its
    /// own, see [`set_identity_outage`](Self::set_identity_outage)).
    pub fn identity_endpoint(&self) -> String {
        format!("http://{}{}", self.identity_addr, identity::TOKEN_PATH)
    }

    /// Starts (`Some`) or ends (`None`) an outage of the managed-identity endpoint: `5xx`
    /// answers, a refused port, or slow answers. Returns once the change took effect, so the
    /// next connection sees it. Scripted answers ([`script_identity`](Self::script_identity))
    /// still come first.
    pub async fn set_identity_outage(&self, outage: Option<IdentityOutage>) {
        self.state.identity.set_outage(outage).await;
    }

    /// `false` makes the managed-identity endpoint answer every token request `503` until it is
    /// `true` again (shorthand for [`set_identity_outage`](Self::set_identity_outage)).
    pub async fn set_identity_available(&self, available: bool) {
        self.set_identity_outage((!available).then_some(IdentityOutage::Status(503)))
            .await;
    }

    /// Scripts the answers to the next token requests, in order: a `2xx` entry issues a token
    /// (after its delay), any other status is answered as the token service's error.
    pub fn script_identity(&self, responses: Vec<ScriptedResponse>) {
        self.state.identity.script(responses);
    }

    /// Token requests that reached the managed-identity endpoint, failed ones included
    /// (refused connections never reach it). Compare [`token_fetches`](Self::token_fetches).
    pub fn identity_requests(&self) -> usize {
        self.state.identity.requests()
    }

    /// Forgets every token issued so far, as a revocation or a signing-key roll would: Graph
    /// answers `401` to them, and only a newly fetched token is accepted.
    pub fn revoke_tokens(&self) {
        self.state.tokens().clear();
    }

    /// Value for `IDENTITY_HEADER` (a random secret, fresh per emulator).
    pub fn identity_header(&self) -> String {
        self.state.identity_header.clone()
    }

    /// Graph base URL without version and without trailing slash, e.g. `http://127.0.0.1:PORT`.
    pub fn graph_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The tenant id.
    pub fn tenant_id(&self) -> &str {
        &self.state.options.tenant_id
    }

    /// How many tokens the identity endpoint issued successfully.
    pub fn token_fetches(&self) -> usize {
        self.state.token_fetches.load(Ordering::SeqCst)
    }

    /// Every resume request received, in order, rejected ones included.
    pub fn resumes(&self) -> Vec<RecordedResume> {
        self.state.graph().resumes.clone()
    }

    /// Scripts the answers to the next resume calls for one task processing result. They are
    /// used in order (after authentication succeeded); once used up, normal behaviour resumes.
    /// A scripted `2xx` means "answer as the fake normally would", after the scripted delay.
    pub fn script_resume(&self, task_processing_result_id: &str, responses: Vec<ScriptedResponse>) {
        self.state
            .graph()
            .scripts
            .entry(task_processing_result_id.to_owned())
            .or_default()
            .extend(responses);
    }

    /// Waits until at least `n` resume requests were received (rejected ones count). Returns
    /// `false` on timeout.
    pub async fn wait_for_resumes(&self, n: usize, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.state.resume_recorded.notified();
                tokio::pin!(notified);
                // Register before checking, so a resume recorded in between is not missed.
                notified.as_mut().enable();
                if self.state.graph().resumes.len() >= n {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    /// A caller that builds callouts as Lifecycle Workflows sends them, for this tenant. It sends
    /// no `Authorization` header until configured with [`LcwCaller::with_auth`].
    pub fn lcw(&self) -> LcwCaller {
        LcwCaller::new(&self.state.options.tenant_id, self.minter())
    }

    /// A caller that builds callouts as Entitlement Management sends them, for this tenant,
    /// authenticated as EM's application once configured with [`EntitlementCaller::with_auth`].
    pub fn entitlement(&self) -> EntitlementCaller {
        EntitlementCaller::new(self.minter())
    }

    /// Every Entitlement Management resume request received, in order, rejected ones included.
    pub fn entitlement_resumes(&self) -> Vec<RecordedEntitlementResume> {
        self.state.graph().entitlement_resumes.clone()
    }

    /// Waits until at least `n` EM resume requests were received. Returns `false` on timeout.
    pub async fn wait_for_entitlement_resumes(&self, n: usize, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.state.resume_recorded.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.state.graph().entitlement_resumes.len() >= n {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    /// Scripts the answers to the next EM resumes of one stage instance (by
    /// `customExtensionStageInstanceId`), as [`script_resume`](Self::script_resume) does for LCW.
    pub fn script_entitlement_resume(
        &self,
        stage_instance_id: &str,
        responses: Vec<ScriptedResponse>,
    ) {
        self.script_resume(stage_instance_id, responses);
    }

    /// Where another process on this machine gets a freshly signed PoP `Authorization` value,
    /// as this tenant's Lifecycle Workflows would send it (`POST`, answered in plain text).
    pub fn lcw_authorization_url(&self) -> String {
        format!("http://{}{}", self.addr, local_caller::AUTHORIZATION_PATH)
    }

    /// Value for the validator's `LCW_AUTHORITY_URL`, e.g. `http://127.0.0.1:PORT`: the
    /// stand-in for `https://login.microsoftonline.com`. Discovery lives at
    /// `{authority}/{tenant}/v2.0/.well-known/openid-configuration` (v2) and
    /// `{authority}/{tenant}/.well-known/openid-configuration` (v1).
    pub fn authority_url(&self) -> String {
        self.state.authority.clone()
    }

    /// Mints tokens and signed HTTP requests with this tenant's keys, and forges bad ones.
    pub fn minter(&self) -> Minter {
        Minter::new(&self.state.options.tenant_id, self.state.keys.clone())
    }

    /// Default PoP settings with this tenant's Lifecycle Workflows key (generated once per
    /// tenant), for `LcwAuth::Pop`.
    pub fn pop_settings(&self) -> PopSettings {
        PopSettings::with_key(self.state.keys.lcw_caller_key())
    }

    /// Adds a signing key and signs with it from now on; older keys stay published until
    /// [`retire_old_keys`](Self::retire_old_keys). Returns the new kid.
    pub fn rotate_signing_key(&self) -> String {
        self.state.keys.rotate()
    }

    /// Unpublishes every signing key but the current one.
    pub fn retire_old_keys(&self) {
        self.state.keys.retire_old();
    }

    /// Kids of the published signing keys, oldest first (the last one signs).
    pub fn published_kids(&self) -> Vec<String> {
        self.state.keys.published_kids()
    }

    /// When `false`, discovery documents and key sets answer `503`.
    pub fn set_keys_available(&self, available: bool) {
        self.state.keys.set_available(available);
    }

    /// Delay before every discovery or key-set answer.
    pub fn set_keys_delay(&self, delay: Duration) {
        self.state.keys.set_delay(delay);
    }

    /// Discovery and key-set requests received, counted on arrival (so `503`s, unknown tenants
    /// and requests still waiting out the delay count too).
    pub fn key_requests(&self) -> usize {
        self.state.keys.request_count()
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        self.stop_server().await;
    }

    async fn stop_server(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TenantEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The managed-identity endpoint, on its own port.
fn identity_router(state: Arc<TenantState>) -> Router {
    Router::new()
        .route(identity::TOKEN_PATH, get(identity::token))
        .with_state(state)
}

/// The tenant's other routes: discovery, and Graph for everything else (so unknown paths get
/// Graph-style OData 404s).
fn router(state: Arc<TenantState>) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_configuration_v2),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::openid_configuration_v1),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::keys_v2))
        .route("/{tenant}/discovery/keys", get(discovery::keys_v1))
        .route(
            local_caller::AUTHORIZATION_PATH,
            axum::routing::post(local_caller::authorization),
        )
        .fallback(graph::handle)
        .with_state(state)
}
