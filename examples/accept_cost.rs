//! The noise-free cost of acknowledging one callout: the in-process accept path (envelope in →
//! PoP verification → callout parse → work item → envelope reply out) run N times through the
//! same router the Functions host talks to, without a socket, for counting instructions.
//!
//! Wall-clock figures swing ±40 % on a shared two-core machine; an instruction count does not.
//! Every request is signed like LCW signs it (fresh nonce, reused access token) by the tenant
//! emulator, and the handler checks it against the emulator's signing keys, loaded through
//! discovery as in production. Signing, key loading and warm-up happen before the measured
//! loop; only [`accept_one`] is counted. Logging is installed as in host mode (JSON lines on
//! stdout, `info`), so redirect stdout.
//!
//! ```sh
//! cargo build --release --example accept_cost
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/accept.cg \
//!     target/release/examples/accept_cost 200 >/dev/null
//! grep '^summary:' /tmp/accept.cg.1        # instructions of the 200 callouts; ÷ 200
//! ```
//!
//! Under valgrind the example zeroes callgrind's counters just before the measured loop and
//! dumps them just after (client requests, below), so `/tmp/accept.cg.1` holds exactly the
//! request thread's instructions for the N callouts: key generation, signing and warm-up are
//! left out however long they take (RSA key generation is random, so a difference of whole
//! runs is not repeatable). Work moved to other threads (a log writer) is not in that file;
//! run with `--separate-threads=yes` to see each thread's whole-run total.
//!
//! Arguments: `[N]` callouts measured (default 200); `--no-log` runs without a subscriber.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use lcw_emulator::tenant::{
    DEFAULT_POP_HOST, DEFAULT_POP_PATH, LcwAuth, TenantEmulator, TenantOptions,
};
use lcw_handler::auth::{Authenticator, KeyCache, KeySet};
use lcw_handler::config::{AuthSettings, Config, LIFECYCLE_WORKFLOWS_APP_ID};
use lcw_handler::credential::NoCredential;
use lcw_handler::graph::GraphClient;
use lcw_handler::host::{HostJson, HostState, router};
use lcw_handler::pipeline::Pipeline;
use lcw_handler::task::builtin::Complete;
use serde_json::json;
use tower::ServiceExt;

const CALLOUT: &[u8] = include_bytes!("../tests/fixtures/callouts/launch-and-wait.json");
const AUDIENCE: &str = "6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5";
/// Requests run before counting starts: the first verifies the access token's own signature
/// and fills the caches a running handler has warm.
const WARM_UP: usize = 20;

struct Args {
    measured: usize,
    log: bool,
}

fn args() -> Result<Args, String> {
    let mut measured = 200;
    let mut log = true;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--no-log" => log = false,
            n => measured = n.parse().map_err(|_| format!("not a count: {n}"))?,
        }
    }
    Ok(Args { measured, log })
}

/// One callout through the host adapter: the function callgrind counts.
#[inline(never)]
fn accept_one(runtime: &tokio::runtime::Runtime, app: &Router, envelope: String) -> bool {
    runtime.block_on(async {
        let request = Request::post("/callout")
            .header("x-azure-functions-invocationid", "accept-cost")
            .body(Body::from(envelope))
            .expect("a request");
        let reply = app
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let ok = reply.status() == StatusCode::OK;
        let body = reply
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        // The callout's own answer is inside the envelope reply: `202` when accepted.
        ok && body.windows(5).any(|w| w == b"\"202\"")
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let _log = args.log.then(|| lcw_handler::logging::init_json("info"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let tenant = runtime.block_on(TenantEmulator::start(TenantOptions::default()))?;
    let settings = AuthSettings {
        pop: true,
        bearer: true,
        tenant_id: tenant.tenant_id().to_owned(),
        authority_url: tenant.authority_url(),
        pop_host: DEFAULT_POP_HOST.to_owned(),
        pop_path: Some(DEFAULT_POP_PATH.to_owned()),
        audiences: vec![AUDIENCE.to_owned()],
        caller_app_ids: vec![LIFECYCLE_WORKFLOWS_APP_ID.to_owned()],
        diagnostics: false,
    };
    let keys = runtime.block_on(async {
        let http = reqwest::Client::new();
        let discovery: serde_json::Value = http
            .get(format!(
                "{}/{}/v2.0/.well-known/openid-configuration",
                tenant.authority_url(),
                tenant.tenant_id()
            ))
            .send()
            .await?
            .json()
            .await?;
        let jwks_uri = discovery["jwks_uri"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let jwks: jsonwebtoken::jwk::JwkSet = http.get(jwks_uri).send().await?.json().await?;
        Ok::<_, reqwest::Error>(KeyCache::fixed(KeySet::from_jwks(&jwks)))
    })?;
    let authenticator = Authenticator::new(settings, keys);

    // LCW reuses its access token; only the signed request (and its nonce) is new each time.
    let caller = tenant.lcw().with_auth(LcwAuth::Pop(tenant.pop_settings()));
    let callout_text = std::str::from_utf8(CALLOUT)?;
    let envelopes = (0..WARM_UP + args.measured)
        .map(|_| {
            let authorization = caller.authorization().ok_or("the emulated caller signs")?;
            Ok(json!({
                "Data": {"req": {
                    "Url": "https://app.azurewebsites.net/api/lifecycle/callout",
                    "Method": "POST",
                    "Query": {},
                    "Headers": {"Authorization": [authorization], "Content-Type": ["application/json"]},
                    "Params": {},
                    "Body": callout_text,
                }},
                "Metadata": {"Headers": {"Content-Type": "application/json"}, "sys": {"MethodName": "callout", "UtcNow": "2026-11-02T08:00:00Z", "RandGuid": "0f8fad5b-d9cb-469f-a165-70867728950e"}}
            })
            .to_string())
        })
        .collect::<Result<Vec<String>, Box<dyn std::error::Error>>>()?;

    let config = Arc::new(Config::from_lookup(|name| {
        (name == "LCW_AUTH").then(|| "none".to_owned())
    })?);
    let graph = GraphClient::new(&config.graph, Arc::new(NoCredential));
    let pipeline =
        Pipeline::new(Arc::new(Complete), graph, config).with_authenticator(authenticator);
    let app = {
        let _entered = runtime.enter();
        router(HostState::new(
            pipeline,
            HostJson {
                max_dequeue_count: 5,
            },
        ))
    };

    let mut envelopes = envelopes.into_iter();
    for envelope in envelopes.by_ref().take(WARM_UP) {
        assert!(
            accept_one(&runtime, &app, envelope),
            "warm-up callout accepted"
        );
    }
    let started = Instant::now();
    callgrind::zero_stats();
    let mut accepted = 0;
    for envelope in envelopes.by_ref().take(args.measured) {
        accepted += usize::from(accept_one(&runtime, &app, black_box(envelope)));
    }
    callgrind::dump_stats();
    let elapsed = started.elapsed();
    drop(tenant);
    eprintln!(
        "{accepted}/{} callouts accepted, {:.1} µs each (wall clock, for orientation only; count instructions with callgrind)",
        args.measured,
        elapsed.as_secs_f64() * 1e6 / args.measured.max(1) as f64
    );
    if accepted != args.measured {
        return Err(format!("only {accepted} of {} callouts accepted", args.measured).into());
    }
    Ok(())
}

/// Callgrind's client requests (valgrind.h, `callgrind.h`): a no-op sequence of instructions
/// that valgrind recognises, and that does nothing on the real CPU.
mod callgrind {
    /// `VG_USERREQ_TOOL_BASE('C', 'T')`: callgrind's requests.
    const BASE: u64 = ((b'C' as u64) << 24) | ((b'T' as u64) << 16);
    const DUMP_STATS: u64 = BASE;
    const ZERO_STATS: u64 = BASE + 1;

    /// Zeroes the calling thread's counters.
    pub fn zero_stats() {
        request(ZERO_STATS);
    }

    /// Writes the calling thread's counters since the last zeroing to `<out-file>.1`.
    pub fn dump_stats() {
        request(DUMP_STATS);
    }

    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn request(code: u64) {
        let args: [u64; 6] = [code, 0, 0, 0, 0, 0];
        // SAFETY: valgrind.h's amd64 client-request sequence. The four rotations of `rdi` add
        // up to 128 bits (no change) and `xchg rbx, rbx` is a no-op, so on the real CPU only
        // the declared registers are touched; under valgrind it reads `args` (six words,
        // alive for the whole block) and writes the answer to `rdx`.
        unsafe {
            std::arch::asm!(
                "rol rdi, 3",
                "rol rdi, 13",
                "rol rdi, 61",
                "rol rdi, 51",
                "xchg rbx, rbx",
                inout("rdx") 0u64 => _,
                in("rax") args.as_ptr(),
                inout("rdi") 0u64 => _,
                options(nostack),
            );
        }
    }

    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    fn request(_code: u64) {}
}
