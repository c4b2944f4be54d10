//! Property tests: every parser on an input path answers arbitrary bytes with a value or an
//! error, never a panic; and the authenticator, holding the tenant's real signing keys, never
//! accepts a token or signed request that the tenant (or LCW's key) did not sign, however close
//! to genuine its header and claims are.

use std::sync::OnceLock;

use lcw_emulator::tenant::{
    CallerKey, CnfForm, DEFAULT_POP_HOST, DEFAULT_POP_PATH, Minter, PopRequest, SigningKey,
    TenantEmulator, TenantOptions, cnf,
};
use lcw_handler::auth::{Authenticator, KeyCache, KeySet};
use lcw_handler::callout::Callout;
use lcw_handler::config::{AuthSettings, LIFECYCLE_WORKFLOWS_APP_ID};
use lcw_handler::host::{HttpTrigger, InvocationRequest, decode_value};
use proptest::prelude::*;
use serde_json::Value;

const BEARER_AUDIENCE: &str = "api://lcw";

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// A tenant with real signing keys, and its minter: the authenticator below holds the very
/// keys the minter signs with, so a forged token is refused because it is forged, not because
/// no key could ever verify it.
struct Tenant {
    _emulator: TenantEmulator,
    minter: Minter,
    caller: CallerKey,
    keys: KeySet,
}

fn tenant() -> &'static Tenant {
    static TENANT: OnceLock<Tenant> = OnceLock::new();
    TENANT.get_or_init(|| {
        let emulator = runtime()
            .block_on(TenantEmulator::start(TenantOptions::default()))
            .unwrap();
        let minter = emulator.minter();
        let jwks = serde_json::from_value(minter.jwks()).expect("the tenant's JWKS parses");
        let keys = KeySet::from_jwks(&jwks);
        assert!(!keys.is_empty(), "the tenant publishes an RSA key");
        Tenant {
            caller: minter.lcw_caller_key(),
            minter,
            keys,
            _emulator: emulator,
        }
    })
}

fn authenticator() -> Authenticator {
    let tenant = tenant();
    let settings = AuthSettings {
        pop: true,
        bearer: true,
        tenant_id: tenant.minter.tenant_id().to_owned(),
        authority_url: "http://127.0.0.1:9".to_owned(),
        pop_host: DEFAULT_POP_HOST.to_owned(),
        pop_path: Some(DEFAULT_POP_PATH.to_owned()),
        audiences: vec![BEARER_AUDIENCE.to_owned()],
        caller_app_ids: vec![LIFECYCLE_WORKFLOWS_APP_ID.to_owned()],
        diagnostics: true,
    };
    Authenticator::new(settings, KeyCache::fixed(tenant.keys.clone()))
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn authenticates(header: &str) -> bool {
    runtime()
        .block_on(authenticator().authenticate(Some(header), unix_now()))
        .is_ok()
}

/// A genuine bearer token and a genuine PoP request, as the tenant and LCW would make them.
fn genuine_bearer() -> String {
    let m = &tenant().minter;
    m.access_token(m.bearer_v1_claims(BEARER_AUDIENCE))
}

fn genuine_pop_at() -> String {
    let t = tenant();
    t.minter.access_token(
        t.minter
            .pop_access_token_claims(cnf(&t.caller, CnfForm::Kid)),
    )
}

fn pop_request_claims(at: String) -> Value {
    let t = tenant();
    t.minter.signed_http_request_claims(
        &t.caller,
        &PopRequest::post(at, DEFAULT_POP_HOST, DEFAULT_POP_PATH),
    )
}

/// The control for the two properties below: the same authenticator accepts what is genuine.
#[test]
fn the_authenticator_under_test_accepts_genuine_tokens() {
    assert!(authenticates(&format!("Bearer {}", genuine_bearer())));
    let t = tenant();
    let shr = t.minter.sign(
        t.minter.signed_http_request_header(&t.caller),
        pop_request_claims(genuine_pop_at()),
        &SigningKey::Caller(t.caller.clone()),
    );
    assert!(authenticates(&format!("PoP {shr}")));
}

/// Arbitrary JSON, a few levels deep, with keys that the parsers look for.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let key = prop_oneof![
            Just("data".to_owned()),
            Just("workflow".to_owned()),
            Just("task".to_owned()),
            Just("taskProcessingResult".to_owned()),
            Just("id".to_owned()),
            Just("callbackUriPath".to_owned()),
            Just("subject".to_owned()),
            Just("manager".to_owned()),
            Just("workflowVersion".to_owned()),
            "[a-zA-Z@.]{1,12}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn b64(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

/// `claims` with some members replaced by arbitrary JSON (or left as they are).
fn spoiled(claims: Value, changes: Vec<(usize, Value)>) -> Value {
    let Value::Object(mut map) = claims else {
        return claims;
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    for (index, value) in changes {
        map.insert(keys[index % keys.len()].clone(), value);
    }
    Value::Object(map)
}

/// A signature that is not the tenant's over this content: random bytes, or a genuine
/// signature lifted from another token.
fn foreign_signature() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_-]{0,400}",
        Just(()).prop_map(|_| genuine_bearer().rsplit('.').next().unwrap().to_owned()),
    ]
}

/// Tokens as close to genuine as a forger gets without the key: the tenant's real header
/// (algorithm, kid) or an arbitrary one, claims that would pass every check or arbitrary
/// spoilings of them, and a signature that is not over this content.
fn forged_token(claims: Value) -> impl Strategy<Value = String> {
    let header = prop_oneof![
        3 => Just(tenant().minter.access_token_header()),
        1 => json(),
    ];
    (
        header,
        prop::collection::vec((any::<usize>(), json()), 0..3),
        foreign_signature(),
    )
        .prop_map(move |(header, changes, signature)| {
            let claims = spoiled(claims.clone(), changes);
            format!("{}.{}.{signature}", b64(&header), b64(&claims))
        })
}

/// A PoP request with a forged part: the inner token forged and the request genuinely signed
/// by the caller, or the inner token genuine and the request's claims spoiled or its signature
/// foreign.
fn forged_pop() -> impl Strategy<Value = String> {
    let t = tenant();
    let at_claims = t
        .minter
        .pop_access_token_claims(cnf(&t.caller, CnfForm::Kid));
    let forged_at = forged_token(at_claims).prop_map(|at| {
        let t = tenant();
        t.minter.sign(
            t.minter.signed_http_request_header(&t.caller),
            pop_request_claims(at),
            &SigningKey::Caller(t.caller.clone()),
        )
    });
    let forged_request = (
        prop::collection::vec((any::<usize>(), json()), 0..3),
        foreign_signature(),
    )
        .prop_map(|(changes, signature)| {
            let t = tenant();
            let claims = spoiled(pop_request_claims(genuine_pop_at()), changes);
            let header = t.minter.signed_http_request_header(&t.caller);
            format!("{}.{}.{signature}", b64(&header), b64(&claims))
        });
    prop_oneof![forged_at, forged_request]
}

/// Text shaped like a compact JWS: base64url-ish parts and dots.
fn jws_like() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_=.-]{0,400}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn callout_parsing_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Callout::parse(&bytes);
        prop_assert_eq!(Callout::read(&bytes).map(|(c, _)| c), Callout::parse(&bytes));
    }

    #[test]
    fn the_one_pass_callout_read_agrees_with_the_tree_path_on_json(value in json()) {
        let text = value.to_string();
        prop_assert_eq!(
            Callout::read(text.as_bytes()).map(|(c, _)| c),
            Callout::parse(text.as_bytes())
        );
    }

    #[test]
    fn callout_parsing_never_panics_on_json(value in json()) {
        let _ = Callout::from_value(value);
    }

    #[test]
    fn envelope_parsing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512), value in json()) {
        if let Ok(request) = InvocationRequest::parse(&bytes) {
            let _ = request.dequeue_count();
        }
        let _ = HttpTrigger::parse(&bytes, "req");
        let text = value.to_string();
        let _ = HttpTrigger::parse(text.as_bytes(), "req");
        if let Ok(request) = InvocationRequest::parse(text.as_bytes()) {
            let _ = request.dequeue_count();
            let _ = request.data("req").map(decode_value);
        }
        let _ = decode_value(&Value::String(text));
    }

    #[test]
    fn authentication_never_panics_and_never_passes_garbage(scheme in "(PoP|Bearer|pop|bearer|Basic|)", token in jws_like()) {
        let header = format!("{scheme} {token}");
        prop_assert!(!authenticates(&header), "garbage must never authenticate: {header}");
    }

    #[test]
    fn a_forged_bearer_token_never_authenticates(token in forged_token(tenant().minter.bearer_v1_claims(BEARER_AUDIENCE))) {
        let header = format!("Bearer {token}");
        prop_assert!(!authenticates(&header), "a token not signed by the tenant passed: {header}");
    }

    #[test]
    fn a_forged_pop_request_never_authenticates(request in forged_pop()) {
        let header = format!("PoP {request}");
        prop_assert!(!authenticates(&header), "a forged PoP request passed: {header}");
    }

    #[test]
    fn iso_durations_never_panic(text in ".{0,24}") {
        let _ = lcw_handler::iso_duration::parse(&text);
    }
}
