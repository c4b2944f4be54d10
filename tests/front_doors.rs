//! Both front doors played end to end, with the handler configured exactly as the Bicep
//! configures the function app (the app settings `tests/bicep` evaluates from `infra/`), under
//! the host emulator, against the tenant emulator:
//!
//! - **forwarder**: the forwarder Logic App's HTTP action posts the callout body to `CALLOUT_URL`
//!   with a v1 bearer token of its user-assigned identity, for the audience the Bicep gives it.
//!   That token is accepted (202, processed, resumed once); a token of any other identity, or for
//!   another audience, and Lifecycle Workflows' own PoP request sent past the forwarder, are not.
//!   Lifecycle Workflows' PoP request for the registered extension satisfies the forwarder's
//!   AADPOP policy as the Bicep writes it.
//! - **direct**: Lifecycle Workflows' PoP request, signed for the path `register` computes from
//!   the outputs, is accepted; one signed for another registration is not.
//!
//! Only what Azure itself provides is added to the Bicep's settings: the managed-identity
//! endpoint (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`, set by the platform), and the emulated
//! authority and Graph (`LCW_AUTHORITY_URL`, `LCW_GRAPH_URL`, which the Bicep leaves at their
//! public-cloud defaults). The ledger settings are left out: this machine has no Azure Storage,
//! and every other test runs the handler without them too.

mod bicep;
mod common;

use std::time::Duration;

use base64::Engine as _;
use lcw_emulator::functions_host::{FunctionsHost, HostOptions, HttpResponse};
use lcw_emulator::tenant::{Callout, LcwAuth, LcwCaller, TenantEmulator, TenantOptions};
use serde_json::Value;

use bicep::{Deployment, TENANT_ID, app_settings, deploy_front_door, repo_root};
use common::{Harness, assert_resumed_once, stock_binary};

/// Upper bound of one test; a hang fails instead of blocking CI.
const TEST_BUDGET: Duration = Duration::from_secs(120);
/// Settings the platform or the local stand-ins provide; the Bicep must not set them.
const LOCAL_SETTINGS: [&str; 4] = [
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "LCW_AUTHORITY_URL",
    "LCW_GRAPH_URL",
];

fn setting<'a>(settings: &'a [(String, String)], name: &str) -> &'a str {
    settings
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("the Bicep sets no {name}"))
}

/// The path of `CALLOUT_URL`, where LCW (direct) or the forwarder (forwarder) posts.
fn callout_path(deployment: &Deployment) -> String {
    let url = deployment.output("CALLOUT_URL");
    let after_scheme = url.strip_prefix("https://").expect("an https URL");
    let slash = after_scheme.find('/').expect("a path");
    after_scheme[slash..].to_owned()
}

/// A tenant whose id is the deployment's, knowing the function's identity, and the stock binary
/// under the host with the Bicep's app settings plus only what the platform provides.
async fn start(settings: &[(String, String)]) -> Harness {
    let tenant = TenantEmulator::start(TenantOptions {
        tenant_id: TENANT_ID.to_owned(),
        user_assigned_client_ids: vec![setting(settings, "AZURE_CLIENT_ID").to_owned()],
        ..TenantOptions::default()
    })
    .await
    .expect("tenant emulator starts");
    for local in LOCAL_SETTINGS {
        assert!(
            settings.iter().all(|(n, _)| n != local),
            "the Bicep sets {local}, which this test replaces"
        );
    }
    let mut env: Vec<(String, String)> = settings
        .iter()
        .filter(|(name, _)| !name.starts_with("LCW_LEDGER"))
        .cloned()
        .collect();
    env.extend([
        ("IDENTITY_ENDPOINT".to_owned(), tenant.identity_endpoint()),
        ("IDENTITY_HEADER".to_owned(), tenant.identity_header()),
        ("LCW_AUTHORITY_URL".to_owned(), tenant.authority_url()),
        ("LCW_GRAPH_URL".to_owned(), tenant.graph_url()),
    ]);
    let root = repo_root();
    let mut options = HostOptions::new(&root);
    options.functions_dir = Some(root.join("function"));
    options.executable = Some(stock_binary());
    options.env = env;
    let host = FunctionsHost::start(options)
        .await
        .expect("the handler starts with the Bicep's settings");
    Harness { tenant, host }
}

async fn send(harness: &Harness, callout: &Callout, path: &str) -> HttpResponse {
    harness
        .host
        .send(callout.http_request(path))
        .await
        .expect("the host serves the callout")
}

fn challenge(response: &HttpResponse) -> String {
    response
        .header("www-authenticate")
        .unwrap_or_default()
        .to_owned()
}

/// Asserts the callout was refused with `reason` and left no trace.
async fn assert_refused(harness: &Harness, caller: &LcwCaller, path: &str, reason: &str) {
    let callout = caller.joiner_wave(1).remove(0);
    let response = send(harness, &callout, path).await;
    assert_eq!(response.status, 401, "{reason}");
    assert!(
        challenge(&response).contains(reason),
        "{reason}: {}",
        challenge(&response)
    );
    harness.settle().await;
    let id = &callout.task_processing_result_id;
    assert!(
        harness.deliveries_for(id).is_empty(),
        "{reason}: nothing enqueued"
    );
    assert!(
        harness.resumes_for(id).is_empty(),
        "{reason}: nothing resumed"
    );
}

fn decode_segment(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).expect("a compact JWS");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// Whether a PoP `Authorization` value satisfies an AADPOP policy's claims: `m`, `u`, `p` are
/// read from the signed request, the others from its access token (`at`).
fn satisfies_aadpop(authorization: &str, claims: &[(String, String)]) -> Result<(), String> {
    let shr = authorization
        .strip_prefix("PoP ")
        .ok_or("not a PoP header")?;
    let request = decode_segment(shr, 1);
    let access_token = decode_segment(request["at"].as_str().ok_or("no at")?, 1);
    for (name, expected) in claims {
        let source = if ["m", "u", "p"].contains(&name.as_str()) {
            &request
        } else {
            &access_token
        };
        let actual = source[name.as_str()].as_str().unwrap_or_default();
        if actual != expected {
            return Err(format!(
                "claim {name} is {actual:?}, the policy wants {expected:?}"
            ));
        }
    }
    Ok(())
}

/// Lifecycle Workflows signing for the extension registered with the deployment's outputs.
fn lifecycle_workflows(harness: &Harness, deployment: &Deployment) -> LcwCaller {
    let mut pop = harness.tenant.pop_settings();
    pop.u = "management.azure.com".to_owned();
    pop.p = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Logic/workflows/{}",
        deployment.output("AZURE_SUBSCRIPTION_ID"),
        deployment.output("AZURE_RESOURCE_GROUP"),
        deployment.output("EXTENSION_LOGIC_APP_NAME"),
    );
    harness.tenant.lcw().with_auth(LcwAuth::Pop(pop))
}

#[tokio::test]
async fn the_forwarder_route_accepts_the_forwarders_token_and_nothing_else() {
    tokio::time::timeout(TEST_BUDGET, async {
        let deployment = deploy_front_door("forwarder");
        let settings = app_settings(&deployment);
        let path = callout_path(&deployment);
        let workflow = deployment.only("Microsoft.Logic/workflows");
        let action = workflow.config["properties"]["definition"]["actions"]
            .as_object()
            .and_then(|actions| actions.values().find(|a| a["type"] == "Http"))
            .expect("the forwarding action");
        let identity = action["inputs"]["authentication"]["identity"]
            .as_str()
            .expect("the forwarder's identity");
        let audience = action["inputs"]["authentication"]["audience"]
            .as_str()
            .expect("the forwarder's audience");
        let client_id = bicep::client_id(identity);
        assert_eq!(action["inputs"]["uri"], deployment.output("CALLOUT_URL"));

        let harness = start(&settings).await;
        let minter = harness.tenant.minter();
        let forwarder_token = |client_id: &str, audience: &str| {
            let claims =
                minter.managed_identity_v1_claims(client_id, &bicep::principal_id(identity), audience);
            format!("Bearer {}", minter.access_token(claims))
        };

        // Lifecycle Workflows' request for the registered extension passes the forwarder's policy.
        let policy = &workflow.config["properties"]["accessControl"]["triggers"]
            ["openAuthenticationPolicies"]["policies"];
        let claims: Vec<(String, String)> = policy
            .as_object()
            .and_then(|p| p.values().next())
            .and_then(|p| p["claims"].as_array())
            .expect("the AADPOP policy's claims")
            .iter()
            .map(|c| (c["name"].as_str().unwrap().to_owned(), c["value"].as_str().unwrap().to_owned()))
            .collect();
        let lcw = lifecycle_workflows(&harness, &deployment);
        let signed = lcw.authorization().expect("a PoP header");
        satisfies_aadpop(&signed, &claims).expect("LCW's request satisfies the policy");
        let mut elsewhere = harness.tenant.pop_settings();
        elsewhere.p = "/subscriptions/other/resourceGroups/rg/providers/Microsoft.Logic/workflows/x".to_owned();
        let other_registration = harness.tenant.lcw().with_auth(LcwAuth::Pop(elsewhere));
        assert!(
            satisfies_aadpop(&other_registration.authorization().unwrap(), &claims).is_err(),
            "a request signed for another registration fails the policy"
        );

        // The forwarder's hop: its identity's token, the callout body, CALLOUT_URL.
        let forwarder = harness.tenant.lcw().with_authorization(forwarder_token(&client_id, audience));
        let callout = forwarder.joiner_wave(1).remove(0);
        let response = send(&harness, &callout, &path).await;
        assert_eq!(response.status, 202, "{}", challenge(&response));
        harness.settle().await;
        assert_resumed_once(&harness, &callout.task_processing_result_id, "completed");
        assert_eq!(harness.deliveries_for(&callout.task_processing_result_id).len(), 1);

        let stranger = uuid_like(&client_id);
        let other_identity = harness.tenant.lcw().with_authorization(forwarder_token(&stranger, audience));
        assert_refused(&harness, &other_identity, &path, "invalid_caller").await;
        let other_audience = harness
            .tenant
            .lcw()
            .with_authorization(forwarder_token(&client_id, "https://graph.microsoft.com"));
        assert_refused(&harness, &other_audience, &path, "invalid_audience").await;
        assert_refused(&harness, &lcw, &path, "scheme_not_allowed").await;
        harness.stop().await;
    })
    .await
    .expect("the forwarder route settles within the budget");
}

#[tokio::test]
async fn the_direct_route_accepts_lifecycle_workflows_for_the_registered_path_only() {
    tokio::time::timeout(TEST_BUDGET, async {
        let deployment = deploy_front_door("direct");
        let settings = app_settings(&deployment);
        let path = callout_path(&deployment);
        let harness = start(&settings).await;

        let lcw = lifecycle_workflows(&harness, &deployment);
        let callout = lcw.joiner_wave(1).remove(0);
        let response = send(&harness, &callout, &path).await;
        assert_eq!(response.status, 202, "{}", challenge(&response));
        harness.settle().await;
        assert_resumed_once(&harness, &callout.task_processing_result_id, "completed");

        let mut elsewhere = harness.tenant.pop_settings();
        elsewhere.p =
            "/subscriptions/other/resourceGroups/rg/providers/Microsoft.Logic/workflows/x"
                .to_owned();
        let other_registration = harness.tenant.lcw().with_auth(LcwAuth::Pop(elsewhere));
        assert_refused(&harness, &other_registration, &path, "invalid_path").await;
        harness.stop().await;
    })
    .await
    .expect("the direct route settles within the budget");
}

/// A GUID that differs from `id` (another identity in the same tenant).
fn uuid_like(id: &str) -> String {
    let flipped = if id.starts_with('0') { "1" } else { "0" };
    format!("{flipped}{}", &id[1..])
}
