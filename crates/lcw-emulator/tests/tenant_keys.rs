//! The tenant's signing keys, discovery documents and token minting, checked from outside: over
//! real sockets with reqwest, and with `aws-lc-rs` verifiers fed only what a validator would see
//! (the published JWKS, or the `cnf.jwk` in a signed HTTP request). These verifications check
//! the emulator's own JWS assembly; they are not the project's validator.

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lcw_emulator::tenant::{
    ARM_AUDIENCE, CallerKey, CalloutManager, CalloutSpec, CalloutSubject, CalloutTask,
    CalloutWorkflow, CnfForm, DEFAULT_POP_HOST, DEFAULT_POP_PATH, LIFECYCLE_WORKFLOWS_APP_ID,
    LcwAuth, LcwCaller, PopRequest, PopSettings, SigningKey, TenantEmulator, TenantOptions, cnf,
    jwk_thumbprint,
};
use lcw_emulator::time_limit::test_body;
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn tenant() -> TenantEmulator {
    TenantEmulator::start(TenantOptions::default())
        .await
        .unwrap()
}

async fn get(url: &str) -> (u16, Value) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn b64(part: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(part).unwrap()
}

/// `(header, payload, signing input, signature)` of a compact JWS.
fn split(token: &str) -> (Value, Value, String, Vec<u8>) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "three parts in {token}");
    (
        serde_json::from_slice(&b64(parts[0])).unwrap(),
        serde_json::from_slice(&b64(parts[1])).unwrap(),
        format!("{}.{}", parts[0], parts[1]),
        b64(parts[2]),
    )
}

/// The published JWKS, found as a validator finds it: v2 discovery, then `jwks_uri`.
async fn published_keys(tenant: &TenantEmulator) -> Vec<Value> {
    let (status, config) = get(&format!(
        "{}/{}/v2.0/.well-known/openid-configuration",
        tenant.authority_url(),
        tenant.tenant_id()
    ))
    .await;
    assert_eq!(status, 200);
    let (status, jwks) = get(config["jwks_uri"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    jwks["keys"].as_array().unwrap().clone()
}

/// Verifies an RS256 token against whichever published key its header names.
fn verifies_with(keys: &[Value], token: &str) -> bool {
    let (header, _, input, signature) = split(token);
    let Some(jwk) = keys.iter().find(|k| k["kid"] == header["kid"]) else {
        return false;
    };
    rsa_verifies(jwk, &input, &signature)
}

fn rsa_verifies(jwk: &Value, input: &str, signature: &[u8]) -> bool {
    let public = RsaPublicKeyComponents {
        n: b64(jwk["n"].as_str().unwrap()),
        e: b64(jwk["e"].as_str().unwrap()),
    };
    public
        .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), signature)
        .is_ok()
}

fn spec() -> CalloutSpec {
    CalloutSpec {
        subject: CalloutSubject {
            id: "11111111-1111-4111-8111-111111111111".into(),
            display_name: "Adele Vance".into(),
            user_principal_name: "adele.vance@contoso.example".into(),
            mail: None,
            manager: Some(CalloutManager {
                id: "22222222-2222-4222-8222-222222222222".into(),
                display_name: "Miriam Graham".into(),
                mail: None,
            }),
        },
        workflow: CalloutWorkflow {
            id: "33333333-3333-4333-8333-333333333333".into(),
            display_name: "Onboard".into(),
            version: 1,
        },
        task: CalloutTask {
            id: "44444444-4444-4444-8444-444444444444".into(),
            display_name: "Run a Custom Task Extension".into(),
        },
        task_processing_result_id: "55555555-5555-4555-8555-555555555555".into(),
        created_date_time: "2024-01-01T00:00:00Z".into(),
        launch_and_wait: true,
    }
}

fn authorization_of(caller: &LcwCaller) -> Option<String> {
    caller
        .callout(spec())
        .headers
        .into_iter()
        .find(|(name, _)| name == "Authorization")
        .map(|(_, value)| value)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// --- discovery and keys -------------------------------------------------------------------

#[tokio::test]
async fn v2_discovery_leads_to_the_published_keys() {
    test_body("v2_discovery_leads_to_the_published_keys", async {
        let tenant = tenant().await;
        let tid = tenant.tenant_id().to_owned();
        let authority = tenant.authority_url();
        assert!(authority.starts_with("http://127.0.0.1:"));

        let (status, config) = get(&format!(
            "{authority}/{tid}/v2.0/.well-known/openid-configuration"
        ))
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            config["issuer"],
            format!("https://login.microsoftonline.com/{tid}/v2.0")
        );
        assert_eq!(
            config["jwks_uri"],
            format!("{authority}/{tid}/discovery/v2.0/keys")
        );
        assert_eq!(
            config["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );
        assert!(
            config["token_endpoint"]
                .as_str()
                .unwrap()
                .starts_with(&authority)
        );
        assert!(
            config["authorization_endpoint"]
                .as_str()
                .unwrap()
                .starts_with(&authority)
        );

        let keys = published_keys(&tenant).await;
        assert_eq!(keys.len(), 1);
        let key = &keys[0];
        let kid = tenant.minter().current_kid();
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kid"], kid);
        assert_eq!(key["x5t"], kid);
        assert_eq!(key["e"], "AQAB");
        assert_eq!(
            key["issuer"],
            format!("https://login.microsoftonline.com/{tid}/v2.0")
        );
        assert!(key.get("x5c").is_none(), "x5c is documented as omitted");
        let n = key["n"].as_str().unwrap();
        assert!(!n.contains('='));
        assert_eq!(b64(n).len(), 256, "RSA-2048 modulus without a leading zero");
        // Our discovery fetch, then published_keys' discovery and key-set fetches.
        assert_eq!(tenant.key_requests(), 3);
    })
    .await;
}

#[tokio::test]
async fn v1_discovery_uses_the_sts_issuer_and_common_keys() {
    test_body("v1_discovery_uses_the_sts_issuer_and_common_keys", async {
        let tenant = tenant().await;
        let tid = tenant.tenant_id().to_owned();
        let authority = tenant.authority_url();
        let (status, config) = get(&format!(
            "{authority}/{tid}/.well-known/openid-configuration"
        ))
        .await;
        assert_eq!(status, 200);
        assert_eq!(config["issuer"], format!("https://sts.windows.net/{tid}/"));
        assert_eq!(
            config["jwks_uri"],
            format!("{authority}/common/discovery/keys")
        );
        let (status, jwks) = get(config["jwks_uri"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(jwks["keys"][0]["kid"], tenant.minter().current_kid());
        assert!(jwks["keys"][0].get("issuer").is_none());

        let (status, common_v2) = get(&format!("{authority}/common/discovery/v2.0/keys")).await;
        assert_eq!(status, 200);
        assert_eq!(
            common_v2["keys"][0]["issuer"],
            "https://login.microsoftonline.com/{tenantid}/v2.0"
        );
    })
    .await;
}

#[tokio::test]
async fn unknown_tenant_is_aadsts90002() {
    test_body("unknown_tenant_is_aadsts90002", async {
        let tenant = tenant().await;
        let authority = tenant.authority_url();
        for path in [
            "00000000-0000-4000-8000-000000000000/v2.0/.well-known/openid-configuration",
            "00000000-0000-4000-8000-000000000000/.well-known/openid-configuration",
            "00000000-0000-4000-8000-000000000000/discovery/v2.0/keys",
        ] {
            let (status, body) = get(&format!("{authority}/{path}")).await;
            assert_eq!(status, 400, "{path}");
            assert_eq!(body["error"], "invalid_tenant");
            assert_eq!(body["error_codes"], json!([90002]));
            assert!(
                body["error_description"]
                    .as_str()
                    .unwrap()
                    .starts_with("AADSTS90002:")
            );
        }
    })
    .await;
}

#[tokio::test]
async fn rotation_publishes_both_kids_until_old_ones_are_retired() {
    test_body(
        "rotation_publishes_both_kids_until_old_ones_are_retired",
        async {
            let tenant = tenant().await;
            let minter = tenant.minter();
            let old_kid = minter.current_kid();
            let old_token = minter.access_token(minter.bearer_v1_claims("api://x"));

            let new_kid = tenant.rotate_signing_key();
            assert_ne!(new_kid, old_kid);
            assert_eq!(minter.current_kid(), new_kid, "clones see the rotation");
            let new_token = minter.access_token(minter.bearer_v1_claims("api://x"));
            assert_eq!(split(&new_token).0["kid"], new_kid);

            let keys = published_keys(&tenant).await;
            let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
            assert_eq!(kids, vec![old_kid.as_str(), new_kid.as_str()]);
            assert!(verifies_with(&keys, &old_token));
            assert!(verifies_with(&keys, &new_token));

            tenant.retire_old_keys();
            let keys = published_keys(&tenant).await;
            assert_eq!(keys.len(), 1);
            assert_eq!(keys[0]["kid"], new_kid);
            assert!(!verifies_with(&keys, &old_token));
            assert!(verifies_with(&keys, &new_token));
        },
    )
    .await;
}

#[tokio::test]
async fn unavailable_keys_answer_503_and_are_counted() {
    test_body("unavailable_keys_answer_503_and_are_counted", async {
        let tenant = tenant().await;
        let tid = tenant.tenant_id().to_owned();
        let authority = tenant.authority_url();
        tenant.set_keys_available(false);
        let (status, _) = get(&format!(
            "{authority}/{tid}/v2.0/.well-known/openid-configuration"
        ))
        .await;
        assert_eq!(status, 503);
        let (status, _) = get(&format!("{authority}/{tid}/discovery/v2.0/keys")).await;
        assert_eq!(status, 503);
        assert_eq!(tenant.key_requests(), 2);

        tenant.set_keys_available(true);
        // A delay only postpones the answer; what it does to a validator's timeout is the
        // validator's test.
        tenant.set_keys_delay(std::time::Duration::from_millis(20));
        let (status, _) = get(&format!("{authority}/common/discovery/keys")).await;
        assert_eq!(status, 200);
        assert_eq!(tenant.key_requests(), 3);
    })
    .await;
}

// --- thumbprints and signatures -----------------------------------------------------------

#[test]
fn thumbprint_matches_rfc7638_example() {
    // RFC 7638 §3.1, the key with kid "2011-04-29".
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    assert_eq!(
        jwk_thumbprint(&jwk).unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn caller_key_thumbprints_are_over_their_public_jwk() {
    let rsa = CallerKey::rsa();
    assert_eq!(rsa.alg(), "RS256");
    let jwk = rsa.public_jwk();
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["e"], "AQAB");
    assert_eq!(jwk.as_object().unwrap().len(), 3);
    assert_eq!(jwk_thumbprint(&jwk).unwrap(), rsa.thumbprint());

    let ec = CallerKey::ec_p256();
    assert_eq!(ec.alg(), "ES256");
    let jwk = ec.public_jwk();
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert_eq!(b64(jwk["x"].as_str().unwrap()).len(), 32);
    assert_eq!(b64(jwk["y"].as_str().unwrap()).len(), 32);
    assert_eq!(jwk.as_object().unwrap().len(), 4);
    assert_eq!(jwk_thumbprint(&jwk).unwrap(), ec.thumbprint());
    assert_eq!(ec.thumbprint().len(), 43);
}

#[tokio::test]
async fn minted_rs256_token_verifies_with_the_published_key() {
    test_body("minted_rs256_token_verifies_with_the_published_key", async {
    let tenant = tenant().await;
    let minter = tenant.minter();
    let token = minter.access_token(minter.pop_access_token_claims(json!({"kid": "t"})));
    let (header, _, input, signature) = split(&token);
    assert_eq!(
        header,
        json!({"typ": "JWT", "alg": "RS256", "kid": minter.current_kid(), "x5t": minter.current_kid()})
    );
    assert_eq!(signature.len(), 256);
    let keys = published_keys(&tenant).await;
    assert!(verifies_with(&keys, &token));

    // One flipped payload byte breaks it: the check above is not vacuous.
    let mut tampered = input.into_bytes();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    assert!(!rsa_verifies(
        &keys[0],
        std::str::from_utf8(&tampered).unwrap(),
        &signature
    ));
    })
    .await;
}

#[tokio::test]
async fn unpublished_key_signs_validly_but_is_not_published() {
    test_body(
        "unpublished_key_signs_validly_but_is_not_published",
        async {
            let tenant = tenant().await;
            let minter = tenant.minter();
            let kid = minter.unpublished_kid();
            let mut header = minter.access_token_header();
            header["kid"] = json!(kid);
            header["x5t"] = json!(kid);
            let token = minter.sign(
                header,
                minter.bearer_v2_claims("api://x"),
                &SigningKey::Unpublished,
            );
            let keys = published_keys(&tenant).await;
            assert!(keys.iter().all(|k| k["kid"] != kid));
            assert!(!verifies_with(&keys, &token));

            // Under the published kid, the unpublished key's signature still fails.
            let forged = minter.sign(
                minter.access_token_header(),
                minter.bearer_v2_claims("api://x"),
                &SigningKey::Unpublished,
            );
            assert!(!verifies_with(&keys, &forged));
        },
    )
    .await;
}

#[tokio::test]
async fn unsigned_and_hmac_forges() {
    test_body("unsigned_and_hmac_forges", async {
        let tenant = tenant().await;
        let minter = tenant.minter();
        let header = json!({"typ": "JWT", "alg": "none"});
        let claims = minter.bearer_v1_claims("api://x");
        let unsigned = minter.sign(header.clone(), claims.clone(), &SigningKey::Unsigned);
        assert!(unsigned.ends_with('.'));
        let parts: Vec<&str> = unsigned.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2], "");
        assert_eq!(
            serde_json::from_slice::<Value>(&b64(parts[0])).unwrap(),
            header
        );

        // The classic confusion: HS256 keyed with the published RSA modulus.
        let keys = published_keys(&tenant).await;
        let secret = keys[0]["n"].as_str().unwrap().as_bytes().to_vec();
        let forged = minter.sign(
            json!({"typ": "JWT", "alg": "HS256", "kid": minter.current_kid()}),
            claims,
            &SigningKey::Hmac(secret.clone()),
        );
        let (_, _, input, signature) = split(&forged);
        let key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
        assert!(hmac::verify(&key, input.as_bytes(), &signature).is_ok());
        assert!(!verifies_with(&keys, &forged));
    })
    .await;
}

#[tokio::test]
async fn es256_signed_http_request_is_fixed_size_and_verifies_with_cnf_jwk() {
    test_body(
        "es256_signed_http_request_is_fixed_size_and_verifies_with_cnf_jwk",
        async {
            let tenant = tenant().await;
            let minter = tenant.minter();
            let key = CallerKey::ec_p256();
            let request = PopRequest::post("an.access.token", DEFAULT_POP_HOST, DEFAULT_POP_PATH);
            let shr = minter.signed_http_request(&key, &request);
            let (header, payload, input, signature) = split(&shr);
            assert_eq!(
                header,
                json!({"alg": "ES256", "kid": key.thumbprint(), "typ": "pop"})
            );
            assert_eq!(signature.len(), 64, "JOSE r || s, not DER");
            let jwk = &payload["cnf"]["jwk"];
            assert_eq!(jwk_thumbprint(jwk).unwrap(), key.thumbprint());
            let mut point = vec![0x04];
            point.extend(b64(jwk["x"].as_str().unwrap()));
            point.extend(b64(jwk["y"].as_str().unwrap()));
            let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point);
            assert!(public.verify(input.as_bytes(), &signature).is_ok());
            assert!(
                public
                    .verify(format!("{input}x").as_bytes(), &signature)
                    .is_err()
            );
        },
    )
    .await;
}

#[tokio::test]
async fn rs256_signed_http_request_verifies_with_cnf_jwk() {
    test_body("rs256_signed_http_request_verifies_with_cnf_jwk", async {
    let tenant = tenant().await;
    let minter = tenant.minter();
    let key = CallerKey::rsa();
    let request = PopRequest {
        at: "at".into(),
        ts: 1_700_000_000,
        nonce: "n-1".into(),
        m: Some("POST".into()),
        u: None,
        p: None,
    };
    let shr = minter.signed_http_request(&key, &request);
    let (header, payload, input, signature) = split(&shr);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(
        payload,
        json!({"at": "at", "ts": 1_700_000_000, "nonce": "n-1", "m": "POST", "cnf": {"jwk": key.public_jwk()}})
    );
    assert!(rsa_verifies(&payload["cnf"]["jwk"], &input, &signature));

    // Tampering through the raw path: same claims, one changed, still signed by the key.
    let mut claims = minter.signed_http_request_claims(&key, &request);
    claims["m"] = json!("GET");
    let tampered = minter.sign(
        minter.signed_http_request_header(&key),
        claims,
        &SigningKey::Caller(key.clone()),
    );
    let (_, payload, input, signature) = split(&tampered);
    assert_eq!(payload["m"], "GET");
    assert!(rsa_verifies(&payload["cnf"]["jwk"], &input, &signature));
    })
    .await;
}

#[test]
fn cnf_forms() {
    let key = CallerKey::ec_p256();
    assert_eq!(cnf(&key, CnfForm::Kid), json!({"kid": key.thumbprint()}));
    assert_eq!(cnf(&key, CnfForm::Jwk), json!({"jwk": key.public_jwk()}));
    assert_eq!(cnf(&key, CnfForm::Jkt), json!({"jkt": key.thumbprint()}));
    assert_eq!(CnfForm::default(), CnfForm::Kid);
}

// --- the caller ---------------------------------------------------------------------------

#[tokio::test]
async fn pop_callout_carries_a_signed_http_request_bound_to_its_access_token() {
    test_body(
        "pop_callout_carries_a_signed_http_request_bound_to_its_access_token",
        async {
            let tenant = tenant().await;
            let settings = tenant.pop_settings();
            let key = settings.key.clone();
            assert_eq!(settings.u, DEFAULT_POP_HOST);
            assert_eq!(settings.p, DEFAULT_POP_PATH);
            let caller = tenant.lcw().with_auth(LcwAuth::Pop(settings));

            let authorization = authorization_of(&caller).expect("an Authorization header");
            let shr = authorization.strip_prefix("PoP ").expect("PoP scheme");
            let (header, payload, input, signature) = split(shr);
            assert_eq!(
                header,
                json!({"alg": "RS256", "kid": key.thumbprint(), "typ": "pop"})
            );
            assert_eq!(payload["m"], "POST");
            assert_eq!(payload["u"], "management.azure.com");
            assert_eq!(payload["p"], DEFAULT_POP_PATH);
            assert!((payload["ts"].as_i64().unwrap() - now()).abs() < 300);
            assert!(!payload["nonce"].as_str().unwrap().is_empty());
            assert_eq!(payload["cnf"]["jwk"], key.public_jwk());
            for absent in ["q", "h", "b"] {
                assert!(payload.get(absent).is_none());
            }
            assert!(rsa_verifies(&payload["cnf"]["jwk"], &input, &signature));

            let at = payload["at"].as_str().unwrap();
            let (at_header, claims, _, _) = split(at);
            let tid = tenant.tenant_id();
            assert_eq!(at_header["alg"], "RS256");
            assert_eq!(claims["iss"], format!("https://sts.windows.net/{tid}/"));
            assert_eq!(claims["aud"], ARM_AUDIENCE);
            assert_eq!(claims["appid"], LIFECYCLE_WORKFLOWS_APP_ID);
            assert_eq!(claims["appidacr"], "2");
            assert_eq!(claims["tid"], tid);
            assert_eq!(claims["ver"], "1.0");
            assert_eq!(claims["cnf"], json!({"kid": key.thumbprint()}));
            assert_eq!(claims["oid"], claims["sub"]);
            let (iat, nbf, exp) = (
                claims["iat"].as_i64().unwrap(),
                claims["nbf"].as_i64().unwrap(),
                claims["exp"].as_i64().unwrap(),
            );
            assert_eq!(iat, nbf);
            assert_eq!(exp - iat, 3660);
            assert!(verifies_with(&published_keys(&tenant).await, at));
        },
    )
    .await;
}

#[tokio::test]
async fn pop_callouts_reuse_the_access_token_with_fresh_nonces() {
    test_body(
        "pop_callouts_reuse_the_access_token_with_fresh_nonces",
        async {
            let tenant = tenant().await;
            let caller = tenant.lcw().with_auth(LcwAuth::Pop(PopSettings {
                cnf: CnfForm::Jwk,
                ..tenant.pop_settings()
            }));
            let wave = caller.joiner_wave(3);
            let payloads: Vec<Value> = wave
                .iter()
                .map(|callout| {
                    let value = &callout
                        .headers
                        .iter()
                        .find(|(name, _)| name == "Authorization")
                        .expect("joiner_wave uses the caller's auth")
                        .1;
                    split(value.strip_prefix("PoP ").unwrap()).1
                })
                .collect();
            assert!(payloads.iter().all(|p| p["at"] == payloads[0]["at"]));
            let mut nonces: Vec<&str> = payloads
                .iter()
                .map(|p| p["nonce"].as_str().unwrap())
                .collect();
            nonces.sort_unstable();
            nonces.dedup();
            assert_eq!(nonces.len(), 3);
            let at_claims = split(payloads[0]["at"].as_str().unwrap()).1;
            assert_eq!(
                at_claims["cnf"],
                json!({"jwk": tenant.pop_settings().key.public_jwk()})
            );
        },
    )
    .await;
}

#[tokio::test]
async fn ec_caller_key_and_jkt_binding() {
    test_body("ec_caller_key_and_jkt_binding", async {
        let tenant = tenant().await;
        let key = CallerKey::ec_p256();
        let caller = tenant.lcw().with_auth(LcwAuth::Pop(PopSettings {
            key: key.clone(),
            cnf: CnfForm::Jkt,
            u: "example.invalid".into(),
            p: "/custom".into(),
        }));
        let authorization = authorization_of(&caller).unwrap();
        let (header, payload, _, signature) = split(authorization.strip_prefix("PoP ").unwrap());
        assert_eq!(header["alg"], "ES256");
        assert_eq!(signature.len(), 64);
        assert_eq!(payload["u"], "example.invalid");
        assert_eq!(payload["p"], "/custom");
        let at_claims = split(payload["at"].as_str().unwrap()).1;
        assert_eq!(at_claims["cnf"], json!({"jkt": key.thumbprint()}));
    })
    .await;
}

#[tokio::test]
async fn bearer_v1_and_v2_differ_as_documented() {
    test_body("bearer_v1_and_v2_differ_as_documented", async {
        let tenant = tenant().await;
        let tid = tenant.tenant_id().to_owned();
        let audience = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d";
        let keys = published_keys(&tenant).await;

        let v1 = authorization_of(&tenant.lcw().with_auth(LcwAuth::BearerV1 {
            audience: audience.into(),
        }))
        .unwrap();
        let v1 = v1.strip_prefix("Bearer ").expect("Bearer scheme");
        assert!(verifies_with(&keys, v1));
        let claims = split(v1).1;
        assert_eq!(claims["iss"], format!("https://sts.windows.net/{tid}/"));
        assert_eq!(claims["aud"], audience);
        assert_eq!(claims["appid"], LIFECYCLE_WORKFLOWS_APP_ID);
        assert_eq!(claims["ver"], "1.0");
        assert_eq!(claims["tid"], tid);
        assert!(claims.get("azp").is_none());
        assert!(claims.get("cnf").is_none());

        let v2 = authorization_of(&tenant.lcw().with_auth(LcwAuth::BearerV2 {
            audience: audience.into(),
        }))
        .unwrap();
        let v2 = v2.strip_prefix("Bearer ").expect("Bearer scheme");
        assert!(verifies_with(&keys, v2));
        let claims = split(v2).1;
        assert_eq!(
            claims["iss"],
            format!("https://login.microsoftonline.com/{tid}/v2.0")
        );
        assert_eq!(claims["aud"], audience);
        assert_eq!(claims["azp"], LIFECYCLE_WORKFLOWS_APP_ID);
        assert_eq!(claims["azpacr"], "2");
        assert_eq!(claims["ver"], "2.0");
        assert_eq!(claims["tid"], tid);
        assert!(claims.get("appid").is_none());
        assert!(claims.get("cnf").is_none());
    })
    .await;
}

#[tokio::test]
async fn callers_send_no_header_by_default_and_raw_values_verbatim() {
    test_body(
        "callers_send_no_header_by_default_and_raw_values_verbatim",
        async {
            let tenant = tenant().await;
            assert_eq!(authorization_of(&tenant.lcw()), None);
            let raw = tenant.lcw().with_authorization("PoP not-a-jws");
            assert_eq!(authorization_of(&raw).as_deref(), Some("PoP not-a-jws"));
            let replaced = raw.with_auth(LcwAuth::None);
            assert_eq!(authorization_of(&replaced), None);
            let bearer = tenant
                .lcw()
                .with_auth(LcwAuth::BearerV1 {
                    audience: "a".into(),
                })
                .with_authorization("Basic x");
            assert_eq!(authorization_of(&bearer).as_deref(), Some("Basic x"));
        },
    )
    .await;
}

#[test]
fn default_pop_settings() {
    let settings = PopSettings::default();
    assert_eq!(settings.u, "management.azure.com");
    assert!(settings.p.starts_with("/subscriptions/"));
    assert!(
        settings
            .p
            .ends_with("/providers/Microsoft.Logic/workflows/lcw-handler")
    );
    assert_eq!(settings.cnf, CnfForm::Kid);
    assert_eq!(settings.key.alg(), "RS256");
    assert_eq!(
        PopSettings::default().key.thumbprint(),
        settings.key.thumbprint(),
        "one default key per process"
    );
}

/// Another process gets the same PoP `Authorization` the in-process caller attaches: the SHR
/// verifies with its `cnf.jwk`, names ARM's host and the default path, and wraps an access
/// token signed with a published tenant key.
#[tokio::test]
async fn the_local_caller_door_hands_out_a_signed_pop_header() {
    let tenant = tenant().await;
    let response = client()
        .post(tenant.lcw_authorization_url())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let value = response.text().await.unwrap();
    let shr = value
        .strip_prefix("PoP ")
        .expect("a PoP authorization value");
    let (header, payload, input, signature) = split(shr);
    assert_eq!(header["typ"], "pop");
    assert!(rsa_verifies(&payload["cnf"]["jwk"], &input, &signature));
    assert_eq!(payload["m"], "POST");
    assert_eq!(payload["u"], DEFAULT_POP_HOST);
    assert_eq!(payload["p"], DEFAULT_POP_PATH);
    let at = payload["at"].as_str().expect("an access token");
    assert!(verifies_with(&published_keys(&tenant).await, at));
    let second = client()
        .post(tenant.lcw_authorization_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_ne!(
        second, value,
        "every request gets a fresh nonce and signature"
    );
}
