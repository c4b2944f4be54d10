//! Property tests: every parser on an input path answers arbitrary bytes with a value or an
//! error, never a panic.

use std::sync::OnceLock;

use lcw_handler::auth::{Authenticator, KeyCache, KeySet};
use lcw_handler::callout::Callout;
use lcw_handler::config::{AuthSettings, LIFECYCLE_WORKFLOWS_APP_ID};
use lcw_handler::host::{InvocationRequest, decode_value};
use proptest::prelude::*;
use serde_json::Value;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

fn authenticator() -> Authenticator {
    let settings = AuthSettings {
        pop: true,
        bearer: true,
        tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".to_owned(),
        authority_url: "http://127.0.0.1:9".to_owned(),
        pop_host: "management.azure.com".to_owned(),
        pop_path: Some("/subscriptions/x".to_owned()),
        audiences: vec!["api://lcw".to_owned()],
        caller_app_ids: vec![LIFECYCLE_WORKFLOWS_APP_ID.to_owned()],
        diagnostics: true,
    };
    Authenticator::new(settings, KeyCache::fixed(KeySet::default()))
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

/// A well-formed compact JWS of arbitrary JSON: it gets past the parser into the checks.
fn structured_jws() -> impl Strategy<Value = String> {
    (json(), json(), json(), json(), "[A-Za-z0-9_-]{0,64}").prop_map(
        |(header, claims, inner_header, inner_claims, signature)| {
            let inner = format!("{}.{}.{signature}", b64(&inner_header), b64(&inner_claims));
            let mut claims = claims;
            if let Value::Object(map) = &mut claims {
                map.insert("at".to_owned(), Value::String(inner));
            }
            format!("{}.{}.{signature}", b64(&header), b64(&claims))
        },
    )
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
        let text = value.to_string();
        if let Ok(request) = InvocationRequest::parse(text.as_bytes()) {
            let _ = request.dequeue_count();
            let _ = request.data("req").map(decode_value);
        }
        let _ = decode_value(&Value::String(text));
    }

    #[test]
    fn authentication_never_panics_and_never_passes_garbage(scheme in "(PoP|Bearer|pop|bearer|Basic|)", token in jws_like()) {
        let header = format!("{scheme} {token}");
        let result = runtime().block_on(authenticator().authenticate(Some(&header), 1_800_000_000));
        prop_assert!(result.is_err(), "garbage must never authenticate: {header}");
    }

    #[test]
    fn authentication_never_panics_on_structured_tokens(scheme in "(PoP|Bearer)", token in structured_jws()) {
        let header = format!("{scheme} {token}");
        let result = runtime().block_on(authenticator().authenticate(Some(&header), 1_800_000_000));
        prop_assert!(result.is_err(), "an unsigned token must never authenticate");
    }

    #[test]
    fn iso_durations_never_panic(text in ".{0,24}") {
        let _ = lcw_handler::iso_duration::parse(&text);
    }
}
