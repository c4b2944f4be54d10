//! Microbenchmarks of the per-callout hot paths: parsing the callout, validating the caller
//! (PoP and bearer, with a warm key cache), decoding the host's envelope and encoding the
//! reply, and building the resume body. Run: `cargo bench --bench hot_paths`.
//!
//! Tokens are minted by the tenant emulator, and the validator loads the tenant's keys through
//! discovery exactly as in production before measuring starts.

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lcw_emulator::tenant::{
    DEFAULT_POP_HOST, DEFAULT_POP_PATH, LcwAuth, TenantEmulator, TenantOptions,
};
use lcw_handler::auth::{Authenticator, KeyCache, KeySet};
use lcw_handler::callout::Callout;
use lcw_handler::config::Config;
use lcw_handler::config::{AuthSettings, LIFECYCLE_WORKFLOWS_APP_ID};
use lcw_handler::credential::NoCredential;
use lcw_handler::graph::GraphClient;
use lcw_handler::host::{HostJson, HostState, router};
use lcw_handler::host::{HttpTriggerData, InvocationRequest, InvocationResponse, decode_value};
use lcw_handler::pipeline::Pipeline;
use lcw_handler::resume::{OperationStatus, resume_body};
use lcw_handler::task::builtin::Complete;
use serde_json::json;
use tower::ServiceExt;

const CALLOUT: &[u8] = include_bytes!("../tests/fixtures/callouts/launch-and-wait.json");
const AUDIENCE: &str = "6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn authorization(tenant: &TenantEmulator, auth: LcwAuth) -> String {
    tenant
        .lcw()
        .with_auth(auth)
        .authorization()
        .expect("the caller signs")
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let tenant = runtime
        .block_on(TenantEmulator::start(TenantOptions::default()))
        .expect("tenant");
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
    // The tenant's keys, loaded once through discovery, as the handler loads them.
    let keys = runtime.block_on(async {
        let http = reqwest::Client::new();
        let discovery: serde_json::Value = http
            .get(format!(
                "{}/{}/v2.0/.well-known/openid-configuration",
                tenant.authority_url(),
                tenant.tenant_id()
            ))
            .send()
            .await
            .expect("discovery")
            .json()
            .await
            .expect("json");
        let jwks: jsonwebtoken::jwk::JwkSet = http
            .get(discovery["jwks_uri"].as_str().expect("jwks_uri"))
            .send()
            .await
            .expect("keys")
            .json()
            .await
            .expect("json");
        KeyCache::fixed(KeySet::from_jwks(&jwks))
    });
    let authenticator = Authenticator::new(settings.clone(), keys.clone());
    let pop = authorization(&tenant, LcwAuth::Pop(tenant.pop_settings()));
    let bearer = authorization(
        &tenant,
        LcwAuth::BearerV2 {
            audience: AUDIENCE.to_owned(),
        },
    );
    let ts = now();

    c.bench_function("callout parse", |b| {
        b.iter(|| Callout::parse(black_box(CALLOUT)).expect("parses"))
    });

    // First sight: a new authenticator each time, so both signatures (PoP) are verified.
    for (name, header) in [
        ("PoP validation, first sight (warm key cache)", &pop),
        ("bearer validation, first sight (warm key cache)", &bearer),
    ] {
        c.bench_function(name, |b| {
            b.iter_batched(
                || Authenticator::new(settings.clone(), keys.clone()),
                |fresh| {
                    runtime
                        .block_on(fresh.authenticate(Some(black_box(header)), ts))
                        .expect("valid")
                },
                BatchSize::SmallInput,
            )
        });
    }
    // Steady state: LCW reuses its access token, so only the signed request is new.
    let caller = tenant.lcw().with_auth(LcwAuth::Pop(tenant.pop_settings()));
    let signed: Vec<String> = (0..2000)
        .map(|_| caller.authorization().expect("signed"))
        .collect();
    let mut requests = signed.iter().cloned().cycle();
    c.bench_function("PoP validation, LCW's reused token (warm key cache)", |b| {
        b.iter_batched(
            || requests.next().expect("cycle"),
            |header| {
                runtime
                    .block_on(authenticator.authenticate(Some(black_box(&header)), ts))
                    .expect("valid")
            },
            BatchSize::SmallInput,
        )
    });

    let envelope = json!({
        "Data": {"req": {
            "Url": "https://app.azurewebsites.net/api/lifecycle/callout",
            "Method": "POST",
            "Query": {},
            "Headers": {"Authorization": [pop.clone()], "Content-Type": ["application/json"]},
            "Params": {},
            "Body": String::from_utf8_lossy(CALLOUT),
        }},
        "Metadata": {"sys": {"MethodName": "callout", "UtcNow": "2026-11-02T08:00:00Z", "RandGuid": "x"}}
    })
    .to_string();
    c.bench_function("envelope decode (HTTP trigger)", |b| {
        b.iter(|| {
            let request =
                InvocationRequest::parse(black_box(envelope.as_bytes())).expect("an envelope");
            let req = HttpTriggerData::new(request.data("req").expect("req")).expect("an object");
            (req.header("authorization"), req.body())
        })
    });
    let queue_envelope = json!({
        "Data": {"workItem": serde_json::to_string(&serde_json::to_string(&json!({"callout": serde_json::from_slice::<serde_json::Value>(CALLOUT).expect("json")})).expect("text")).expect("text")},
        "Metadata": {"DequeueCount": "1"}
    })
    .to_string();
    c.bench_function("envelope decode (queue trigger)", |b| {
        b.iter(|| {
            let request = InvocationRequest::parse(black_box(queue_envelope.as_bytes()))
                .expect("an envelope");
            (
                decode_value(request.data("workItem").expect("item")),
                request.dequeue_count(),
            )
        })
    });
    // The size check accept adds so that no work item outgrows a queue message.
    let accept_config = Config::from_lookup(|name| (name == "LCW_AUTH").then(|| "none".to_owned()))
        .expect("config");
    let (item, _) =
        lcw_handler::pipeline::accept(CALLOUT, time::OffsetDateTime::now_utc(), &accept_config)
            .expect("the fixture is accepted");
    c.bench_function(
        "work item queued size (the accept path's size check)",
        |b| b.iter(|| black_box(&item).queued_size()),
    );
    let work_item = json!({"version": 1, "callout": serde_json::from_slice::<serde_json::Value>(CALLOUT).expect("json")});
    c.bench_function("envelope encode (202 + work item)", |b| {
        b.iter(|| {
            InvocationResponse::default()
                .http_output("res", 202, &[], String::new())
                .output("task", black_box(work_item.clone()))
                .log("accepted")
                .into_json()
                .to_string()
        })
    });
    // The whole acknowledgement path inside the handler: envelope in, PoP check, parse, work
    // item, reply out — through the same router the host talks to, without a socket.
    let config = std::sync::Arc::new(
        Config::from_lookup(|name| (name == "LCW_AUTH").then(|| "none".to_owned()))
            .expect("config"),
    );
    let graph = GraphClient::new(&config.graph, std::sync::Arc::new(NoCredential));
    let pipeline = Pipeline::new(std::sync::Arc::new(Complete), graph, config);
    let envelope_for = |authorization: String| {
        json!({
            "Data": {"req": {"Url": "https://app/api/lifecycle/callout", "Method": "POST", "Query": {},
                "Headers": {"Authorization": [authorization]}, "Params": {}, "Body": String::from_utf8_lossy(CALLOUT)}},
            "Metadata": {}
        })
        .to_string()
    };
    let bodies: Vec<String> = signed.iter().cloned().map(envelope_for).collect();
    let mut envelopes = bodies.iter().cloned().cycle();
    c.bench_function(
        "callout through the host adapter (PoP, whole accept path)",
        |b| {
            b.iter_batched(
                || {
                    // A fresh nonce memory per request (the 2,000 signed requests are reused), the
                    // shared verification caches of a running handler; building it is not timed.
                    let _entered = runtime.enter();
                    let state = HostState::new(
                        pipeline.clone().with_authenticator(authenticator.clone()),
                        HostJson {
                            max_dequeue_count: 5,
                        },
                    );
                    (router(state), envelopes.next().expect("cycle"))
                },
                |(app, body)| {
                    runtime.block_on(async {
                        let request = axum::http::Request::post("/callout")
                            .body(axum::body::Body::from(body))
                            .expect("request");
                        let reply = app.oneshot(request).await.expect("reply");
                        assert_eq!(reply.status(), axum::http::StatusCode::OK);
                        reply
                    })
                },
                BatchSize::SmallInput,
            )
        },
    );

    c.bench_function("resume body build", |b| {
        b.iter(|| resume_body(black_box(OperationStatus::Completed)).to_string())
    });
    drop(tenant);
}

criterion_group! {
    name = hot_paths;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(hot_paths);
