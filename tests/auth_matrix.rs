//! The caller-authentication matrix: every way a callout's proof can be wrong, each refused
//! with the reason that names it, plus the forms that must pass.
//!
//! Tokens are minted by the tenant emulator's minter, which hand-assembles each JWS with
//! aws-lc-rs primitives — an implementation independent of the validator (which uses
//! `jsonwebtoken`), so a bug shared by signer and verifier cannot hide. The validator fetches
//! the tenant's keys for real, through OpenID discovery, from the emulator.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lcw_emulator::tenant::{
    ARM_AUDIENCE, CallerKey, CnfForm, DEFAULT_POP_HOST, DEFAULT_POP_PATH,
    ENTITLEMENT_MANAGEMENT_APP_ID, Minter, PopRequest, SigningKey, TenantEmulator, TenantOptions,
    cnf,
};
use lcw_emulator::time_limit::test_body;
use lcw_handler::auth::{Authenticator, Caller, Reason, Rejection, Scheme};
use lcw_handler::config::{AuthSettings, LIFECYCLE_WORKFLOWS_APP_ID};
use serde_json::{Value, json};

const BEARER_AUDIENCE: &str = "6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5";

struct Fixture {
    tenant: TenantEmulator,
    minter: Minter,
    key: CallerKey,
}

impl Fixture {
    async fn new() -> Fixture {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .unwrap();
        let minter = tenant.minter();
        let key = minter.lcw_caller_key();
        Fixture {
            tenant,
            minter,
            key,
        }
    }

    fn settings(&self, pop: bool, bearer: bool) -> AuthSettings {
        AuthSettings {
            pop,
            bearer,
            tenant_id: self.tenant.tenant_id().to_owned(),
            authority_url: self.tenant.authority_url(),
            pop_host: DEFAULT_POP_HOST.to_owned(),
            pop_path: Some(DEFAULT_POP_PATH.to_owned()),
            audiences: vec![BEARER_AUDIENCE.to_owned()],
            caller_app_ids: vec![LIFECYCLE_WORKFLOWS_APP_ID.to_owned()],
            diagnostics: true,
        }
    }

    fn authenticator(&self, pop: bool, bearer: bool) -> Authenticator {
        Authenticator::start(self.settings(pop, bearer))
    }

    /// The parts of a valid PoP request, ready to be spoiled one at a time.
    fn pop(&self) -> Pop {
        let at_claims = self
            .minter
            .pop_access_token_claims(cnf(&self.key, CnfForm::Kid));
        let request = PopRequest::post("", DEFAULT_POP_HOST, DEFAULT_POP_PATH);
        Pop {
            at_header: self.minter.access_token_header(),
            at_claims,
            at_key: SigningKey::Tenant,
            shr_header: self.minter.signed_http_request_header(&self.key),
            shr_claims: self.minter.signed_http_request_claims(&self.key, &request),
            shr_key: SigningKey::Caller(self.key.clone()),
            omit_at: false,
        }
    }

    fn bearer(&self, claims: Value) -> String {
        format!("Bearer {}", self.minter.access_token(claims))
    }
}

/// A PoP request under construction.
struct Pop {
    at_header: Value,
    at_claims: Value,
    at_key: SigningKey,
    shr_header: Value,
    shr_claims: Value,
    shr_key: SigningKey,
    omit_at: bool,
}

impl Pop {
    /// Signs the access token with a key the tenant never published, naming that key's kid.
    fn unpublished(&mut self, minter: &Minter) {
        self.at_key = SigningKey::Unpublished;
        self.at_header["kid"] = json!(minter.unpublished_kid());
    }

    fn access_token(&self, minter: &Minter) -> String {
        minter.sign(self.at_header.clone(), self.at_claims.clone(), &self.at_key)
    }

    fn request(&self, minter: &Minter) -> String {
        let mut claims = self.shr_claims.clone();
        if self.omit_at {
            claims.as_object_mut().unwrap().remove("at");
        } else {
            claims["at"] = json!(self.access_token(minter));
        }
        minter.sign(self.shr_header.clone(), claims, &self.shr_key)
    }

    fn header(&self, minter: &Minter) -> String {
        format!("PoP {}", self.request(minter))
    }
}

/// Replaces the payload of a signed token, keeping its header and signature.
fn tamper_payload(token: &str, change: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    change(&mut claims);
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    )
}

/// Flips one character of the signature.
fn tamper_signature(token: &str) -> String {
    let (rest, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes[0] ^= 0x55;
    format!("{rest}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn expect_reason(auth: &Authenticator, header: Option<&str>, reason: Reason, case: &str) {
    match auth.authenticate(header, now()).await {
        Err(Rejection::Unauthorized(error)) => assert_eq!(error.reason, reason, "{case}: {error}"),
        other => panic!("{case}: expected {reason}, got {other:?}"),
    }
}

async fn expect_caller(auth: &Authenticator, header: &str, case: &str) -> Caller {
    match auth.authenticate(Some(header), now()).await {
        Ok(caller) => caller,
        Err(e) => panic!("{case}: expected acceptance, got {e}"),
    }
}

/// Every refusal a PoP-only validator must give, one spoiled field at a time.
#[tokio::test]
async fn pop_negative_matrix() {
    test_body("pop_negative_matrix", async {
        let f = Fixture::new().await;
        let auth = f.authenticator(true, false);
        let m = &f.minter;
        let other_tenant = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a";
        let other_key = CallerKey::rsa();
        let ec_key = CallerKey::ec_p256();
        let public_key_bytes = f.key.public_jwk().to_string().into_bytes();
        let t = now();

        let unpublished_kid = m.unpublished_kid();
        type Spoil = Box<dyn Fn(&mut Pop)>;
        let cases: Vec<(&str, Reason, Spoil)> = vec![
            // The signed request itself.
            (
                "request alg none",
                Reason::UnsupportedAlgorithm,
                Box::new(|p| {
                    p.shr_header["alg"] = json!("none");
                    p.shr_key = SigningKey::Unsigned;
                }),
            ),
            (
                "request HS256 keyed with the public key",
                Reason::UnsupportedAlgorithm,
                Box::new(move |p| {
                    p.shr_header["alg"] = json!("HS256");
                    p.shr_key = SigningKey::Hmac(public_key_bytes.clone());
                }),
            ),
            (
                "request typ JWT",
                Reason::InvalidPopType,
                Box::new(|p| p.shr_header["typ"] = json!("JWT")),
            ),
            (
                "request without typ",
                Reason::InvalidPopType,
                Box::new(|p| {
                    p.shr_header.as_object_mut().unwrap().remove("typ");
                }),
            ),
            (
                "request signed by another key than cnf.jwk",
                Reason::InvalidPopSignature,
                Box::new(move |p| p.shr_key = SigningKey::Caller(other_key.clone())),
            ),
            (
                "request without cnf.jwk",
                Reason::InvalidPopKey,
                Box::new(|p| {
                    p.shr_claims.as_object_mut().unwrap().remove("cnf");
                }),
            ),
            (
                "request RS256 with an EC cnf.jwk",
                Reason::InvalidPopKey,
                Box::new(move |p| p.shr_claims["cnf"] = json!({"jwk": ec_key.public_jwk()})),
            ),
            (
                "request cnf.jwk not a key",
                Reason::InvalidPopKey,
                Box::new(|p| p.shr_claims["cnf"] = json!({"jwk": {"kty": "RSA"}})),
            ),
            (
                "request without at",
                Reason::MissingAccessToken,
                Box::new(|p| p.omit_at = true),
            ),
            (
                "stale ts",
                Reason::StaleTimestamp,
                Box::new(move |p| p.shr_claims["ts"] = json!(t - 400)),
            ),
            (
                "future ts",
                Reason::StaleTimestamp,
                Box::new(move |p| p.shr_claims["ts"] = json!(t + 400)),
            ),
            (
                "no ts",
                Reason::StaleTimestamp,
                Box::new(|p| {
                    p.shr_claims.as_object_mut().unwrap().remove("ts");
                }),
            ),
            (
                "m GET",
                Reason::InvalidMethod,
                Box::new(|p| p.shr_claims["m"] = json!("GET")),
            ),
            (
                "no m",
                Reason::InvalidMethod,
                Box::new(|p| {
                    p.shr_claims.as_object_mut().unwrap().remove("m");
                }),
            ),
            (
                "u of our own host",
                Reason::InvalidHost,
                Box::new(|p| p.shr_claims["u"] = json!("lcw-handler.azurewebsites.net")),
            ),
            (
                "p of another workflow",
                Reason::InvalidPath,
                Box::new(|p| {
                    p.shr_claims["p"] = json!(DEFAULT_POP_PATH.replace("lcw-handler", "other"))
                }),
            ),
            (
                "p of the URL we were called on",
                Reason::InvalidPath,
                Box::new(|p| p.shr_claims["p"] = json!("/api/lifecycle/callout")),
            ),
            (
                "no p",
                Reason::InvalidPath,
                Box::new(|p| {
                    p.shr_claims.as_object_mut().unwrap().remove("p");
                }),
            ),
            (
                "no nonce",
                Reason::MissingNonce,
                Box::new(|p| {
                    p.shr_claims.as_object_mut().unwrap().remove("nonce");
                }),
            ),
            // The access token inside.
            (
                "at alg none",
                Reason::UnsupportedAlgorithm,
                Box::new(|p| {
                    p.at_header["alg"] = json!("none");
                    p.at_key = SigningKey::Unsigned;
                }),
            ),
            (
                "at HS256 keyed with the public key",
                Reason::UnsupportedAlgorithm,
                Box::new(|p| {
                    p.at_header["alg"] = json!("HS256");
                    p.at_key = SigningKey::Hmac(b"the tenant's public key".to_vec());
                }),
            ),
            (
                "at without kid",
                Reason::MissingKid,
                Box::new(|p| {
                    p.at_header.as_object_mut().unwrap().remove("kid");
                }),
            ),
            (
                "at from an unpublished key",
                Reason::UnknownKid,
                Box::new(move |p| {
                    p.at_key = SigningKey::Unpublished;
                    p.at_header["kid"] = json!(unpublished_kid.clone());
                }),
            ),
            (
                "at signed by a stranger under the tenant's kid",
                Reason::InvalidSignature,
                Box::new(|p| p.at_key = SigningKey::Caller(CallerKey::rsa())),
            ),
            (
                "at expired",
                Reason::TokenExpired,
                Box::new(move |p| {
                    p.at_claims["exp"] = json!(t - 3600);
                    p.at_claims["nbf"] = json!(t - 7200);
                }),
            ),
            (
                "at not yet valid",
                Reason::TokenNotYetValid,
                Box::new(move |p| {
                    p.at_claims["nbf"] = json!(t + 3600);
                    p.at_claims["exp"] = json!(t + 7200);
                }),
            ),
            (
                "at without exp",
                Reason::MalformedToken,
                Box::new(|p| {
                    p.at_claims.as_object_mut().unwrap().remove("exp");
                }),
            ),
            (
                "at wrong issuer",
                Reason::InvalidIssuer,
                Box::new(|p| p.at_claims["iss"] = json!("https://sts.windows.net/evil/")),
            ),
            (
                "at issuer without trailing slash",
                Reason::InvalidIssuer,
                Box::new(|p| {
                    let iss = p.at_claims["iss"]
                        .as_str()
                        .unwrap()
                        .trim_end_matches('/')
                        .to_owned();
                    p.at_claims["iss"] = json!(iss);
                }),
            ),
            (
                "at v2 issuer",
                Reason::InvalidIssuer,
                Box::new(|p| {
                    let tid = p.at_claims["tid"].as_str().unwrap().to_owned();
                    p.at_claims["iss"] =
                        json!(format!("https://login.microsoftonline.com/{tid}/v2.0"));
                }),
            ),
            (
                "at of another tenant",
                Reason::InvalidTenant,
                Box::new(move |p| {
                    p.at_claims["tid"] = json!(other_tenant);
                    p.at_claims["iss"] = json!(format!("https://sts.windows.net/{other_tenant}/"));
                }),
            ),
            (
                "at for Microsoft Graph",
                Reason::InvalidAudience,
                Box::new(|p| p.at_claims["aud"] = json!("https://graph.microsoft.com")),
            ),
            (
                "at is a bearer token for another API",
                Reason::InvalidAudience,
                Box::new(|p| p.at_claims["aud"] = json!(BEARER_AUDIENCE)),
            ),
            (
                "at from another application",
                Reason::InvalidCaller,
                Box::new(|p| p.at_claims["appid"] = json!("11111111-2222-3333-4444-555555555555")),
            ),
            (
                "at from Entitlement Management",
                Reason::InvalidCaller,
                Box::new(|p| p.at_claims["appid"] = json!(ENTITLEMENT_MANAGEMENT_APP_ID)),
            ),
            (
                "at naming LCW in azp instead of appid",
                Reason::InvalidCaller,
                Box::new(|p| {
                    let o = p.at_claims.as_object_mut().unwrap();
                    let id = o.remove("appid").unwrap();
                    o.insert("azp".into(), id);
                }),
            ),
            (
                "at claiming version 2.0",
                Reason::InvalidTokenVersion,
                Box::new(|p| p.at_claims["ver"] = json!("2.0")),
            ),
            (
                "at without cnf",
                Reason::PopKeyMismatch,
                Box::new(|p| {
                    p.at_claims.as_object_mut().unwrap().remove("cnf");
                }),
            ),
            (
                "at bound to another key",
                Reason::PopKeyMismatch,
                Box::new(|p| p.at_claims["cnf"] = cnf(&CallerKey::rsa(), CnfForm::Kid)),
            ),
            (
                "at bound by jwk to another key",
                Reason::PopKeyMismatch,
                Box::new(|p| p.at_claims["cnf"] = cnf(&CallerKey::ec_p256(), CnfForm::Jwk)),
            ),
        ];
        assert!(cases.len() >= 40);
        for (name, reason, spoil) in &cases {
            let mut pop = f.pop();
            spoil(&mut pop);
            expect_reason(&auth, Some(&pop.header(m)), *reason, name).await;
        }

        // Tampering after signing.
        let good = f.pop();
        let request = good.request(m);
        expect_reason(
            &auth,
            Some(&format!(
                "PoP {}",
                tamper_payload(&request, |c| c["p"] = json!("/subscriptions/x"))
            )),
            Reason::InvalidPopSignature,
            "request payload tampered",
        )
        .await;
        expect_reason(
            &auth,
            Some(&format!("PoP {}", tamper_signature(&request))),
            Reason::InvalidPopSignature,
            "request signature tampered",
        )
        .await;
        let at = good.access_token(m);
        for (name, bad_at) in [
            (
                "at payload tampered",
                tamper_payload(&at, |c| {
                    c["appid"] = json!(LIFECYCLE_WORKFLOWS_APP_ID.replace('c', "d"))
                }),
            ),
            ("at signature tampered", tamper_signature(&at)),
        ] {
            let mut claims = good.shr_claims.clone();
            claims["at"] = json!(bad_at);
            let header = format!(
                "PoP {}",
                m.sign(good.shr_header.clone(), claims, &good.shr_key)
            );
            expect_reason(&auth, Some(&header), Reason::InvalidSignature, name).await;
        }
    })
    .await;
}

#[tokio::test]
async fn header_negative_matrix() {
    test_body("header_negative_matrix", async {
        let f = Fixture::new().await;
        let pop_only = f.authenticator(true, false);
        let bearer_only = f.authenticator(false, true);
        let bearer = f.bearer(f.minter.bearer_v1_claims(BEARER_AUDIENCE));
        let pop = f.pop().header(&f.minter);
        let cases: Vec<(&Authenticator, Option<String>, Reason, &str)> = vec![
            (&pop_only, None, Reason::MissingAuthorization, "no header"),
            (
                &pop_only,
                Some("   ".into()),
                Reason::MissingAuthorization,
                "blank header",
            ),
            (
                &pop_only,
                Some("Basic dXNlcjpwYXNz".into()),
                Reason::UnsupportedScheme,
                "basic",
            ),
            (
                &pop_only,
                Some(pop.replacen("PoP ", "Signature ", 1)),
                Reason::UnsupportedScheme,
                "unknown scheme",
            ),
            (
                &pop_only,
                Some(bearer.clone()),
                Reason::SchemeNotAllowed,
                "bearer when only PoP is enabled",
            ),
            (
                &bearer_only,
                Some(pop.clone()),
                Reason::SchemeNotAllowed,
                "PoP when only bearer is enabled",
            ),
            (
                &pop_only,
                Some("PoP !!!.@@@.###".into()),
                Reason::MalformedToken,
                "garbage base64",
            ),
            (
                &pop_only,
                Some("PoP abc".into()),
                Reason::MalformedToken,
                "one part",
            ),
            (
                &pop_only,
                Some("PoP".into()),
                Reason::MalformedToken,
                "scheme only",
            ),
            (
                &bearer_only,
                Some("Bearer a.b.c".into()),
                Reason::MalformedToken,
                "bearer garbage",
            ),
            (
                &pop_only,
                Some(format!("PoP {}", "A".repeat(40_000))),
                Reason::OversizedHeader,
                "oversized header",
            ),
        ];
        for (auth, header, reason, name) in cases {
            expect_reason(auth, header.as_deref(), reason, name).await;
        }
    })
    .await;
}

#[tokio::test]
async fn bearer_negative_matrix() {
    test_body("bearer_negative_matrix", async {
        let f = Fixture::new().await;
        let auth = f.authenticator(false, true);
        let m = &f.minter;
        let v1 = || m.bearer_v1_claims(BEARER_AUDIENCE);
        let v2 = || m.bearer_v2_claims(BEARER_AUDIENCE);
        let tid = f.tenant.tenant_id().to_owned();
        let mut cases: Vec<(&str, Reason, Value)> = Vec::new();
        let mut with = |name, reason, mut claims: Value, change: &dyn Fn(&mut Value)| {
            change(&mut claims);
            cases.push((name, reason, claims));
        };
        with(
            "v1 for another audience",
            Reason::InvalidAudience,
            v1(),
            &|c| c["aud"] = json!(ARM_AUDIENCE),
        );
        with(
            "v2 for another audience",
            Reason::InvalidAudience,
            v2(),
            &|c| c["aud"] = json!("api://someone-else"),
        );
        with(
            "v1 naming LCW only in azp",
            Reason::InvalidCaller,
            v1(),
            &|c| {
                let o = c.as_object_mut().unwrap();
                let id = o.remove("appid").unwrap();
                o.insert("azp".into(), id);
            },
        );
        with(
            "v2 naming LCW only in appid",
            Reason::InvalidCaller,
            v2(),
            &|c| {
                let o = c.as_object_mut().unwrap();
                let id = o.remove("azp").unwrap();
                o.insert("appid".into(), id);
            },
        );
        with("v1 from another app", Reason::InvalidCaller, v1(), &|c| {
            c["appid"] = json!("11111111-2222-3333-4444-555555555555")
        });
        with(
            "v2 issuer with ver 1.0",
            Reason::InvalidTokenVersion,
            v2(),
            &|c| c["ver"] = json!("1.0"),
        );
        with(
            "v1 issuer with ver 2.0",
            Reason::InvalidTokenVersion,
            v1(),
            &|c| c["ver"] = json!("2.0"),
        );
        with(
            "v2 claims under the v1 issuer",
            Reason::InvalidCaller,
            v2(),
            &|c| {
                let iss = format!("https://sts.windows.net/{}/", c["tid"].as_str().unwrap());
                c["iss"] = json!(iss);
                c["ver"] = json!("1.0");
            },
        );
        with(
            "issuer of another tenant",
            Reason::InvalidIssuer,
            v2(),
            &|c| c["iss"] = json!("https://login.microsoftonline.com/common/v2.0"),
        );
        with("tid of another tenant", Reason::InvalidTenant, v1(), &|c| {
            c["tid"] = json!("0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a")
        });
        with("expired", Reason::TokenExpired, v2(), &|c| {
            c["exp"] = json!(now() - 600);
        });
        let _ = &tid;
        for (name, reason, claims) in &cases {
            expect_reason(&auth, Some(&f.bearer(claims.clone())), *reason, name).await;
        }
    })
    .await;
}

#[tokio::test]
async fn accepted_forms() {
    test_body("accepted_forms", async {
        let f = Fixture::new().await;
        let both = f.authenticator(true, true);
        let m = &f.minter;

        let caller = expect_caller(&both, &f.pop().header(m), "PoP, RSA key, cnf kid").await;
        assert_eq!(caller.scheme, Scheme::Pop);
        assert_eq!(caller.app_id, LIFECYCLE_WORKFLOWS_APP_ID);
        assert!(caller.nonce.is_some());

        for form in [CnfForm::Jwk, CnfForm::Jkt] {
            let mut pop = f.pop();
            pop.at_claims["cnf"] = cnf(&f.key, form);
            expect_caller(&both, &pop.header(m), &format!("cnf {form:?}")).await;
        }
        let mut msal_form = f.pop();
        msal_form.at_claims["cnf"] =
            json!(URL_SAFE_NO_PAD.encode(cnf(&f.key, CnfForm::Kid).to_string()));
        expect_caller(&both, &msal_form.header(m), "cnf as base64url req_cnf text").await;

        let ec = CallerKey::ec_p256();
        let mut es256 = f.pop();
        es256.at_claims["cnf"] = cnf(&ec, CnfForm::Kid);
        es256.shr_header = m.signed_http_request_header(&ec);
        es256.shr_claims["cnf"] = json!({"jwk": ec.public_jwk()});
        es256.shr_key = SigningKey::Caller(ec.clone());
        expect_caller(&both, &es256.header(m), "PoP, ES256 key").await;

        let mut slash = f.pop();
        slash.at_claims["aud"] = json!(format!("{ARM_AUDIENCE}/"));
        slash.shr_claims["p"] = json!(format!("{}/", DEFAULT_POP_PATH.to_uppercase()));
        expect_caller(
            &both,
            &slash.header(m),
            "aud with trailing slash, p in other case",
        )
        .await;

        let lower = f.pop().header(m).replacen("PoP ", "pop ", 1);
        expect_caller(&both, &lower, "scheme in lower case").await;

        let v1 = expect_caller(
            &both,
            &f.bearer(m.bearer_v1_claims(BEARER_AUDIENCE)),
            "bearer v1",
        )
        .await;
        assert_eq!((v1.scheme, v1.nonce), (Scheme::Bearer, None));
        expect_caller(
            &both,
            &f.bearer(m.bearer_v2_claims(BEARER_AUDIENCE)),
            "bearer v2",
        )
        .await;
        let mut skew = m.bearer_v2_claims(BEARER_AUDIENCE);
        skew["nbf"] = json!(now() + 30);
        expect_caller(&both, &f.bearer(skew), "nbf within the clock skew").await;
    })
    .await;
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_on_demand() {
    test_body("a_rotated_signing_key_is_fetched_on_demand", async {
        let f = Fixture::new().await;
        let auth = f.authenticator(true, false);
        expect_caller(&auth, &f.pop().header(&f.minter), "before rotation").await;
        let before = f.tenant.key_requests();
        f.tenant.rotate_signing_key();
        expect_caller(&auth, &f.pop().header(&f.minter), "after rotation").await;
        assert!(
            f.tenant.key_requests() > before,
            "the unknown kid triggered a refresh"
        );
        // A second unknown kid right after is not worth another fetch (rate limit).
        let fetches = f.tenant.key_requests();
        let mut forged = f.pop();
        forged.unpublished(&f.minter);
        expect_reason(
            &auth,
            Some(&forged.header(&f.minter)),
            Reason::UnknownKid,
            "unpublished after a refresh",
        )
        .await;
        assert_eq!(
            f.tenant.key_requests(),
            fetches,
            "rate-limited: no second refresh"
        );
    })
    .await;
}

#[tokio::test]
async fn unreachable_keys_answer_unavailable_quickly_not_unauthorized() {
    test_body(
        "unreachable_keys_answer_unavailable_quickly_not_unauthorized",
        async {
            let f = Fixture::new().await;
            f.tenant.set_keys_available(false);
            let auth = f.authenticator(true, false);
            let started = std::time::Instant::now();
            let result = auth
                .authenticate(Some(&f.pop().header(&f.minter)), now())
                .await;
            assert!(
                matches!(result, Err(Rejection::Unavailable(_))),
                "{result:?}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "bounded by the key wait budget"
            );
            f.tenant.set_keys_available(true);
        },
    )
    .await;
}

#[tokio::test]
async fn the_last_good_keys_survive_a_failed_refresh() {
    test_body("the_last_good_keys_survive_a_failed_refresh", async {
        let f = Fixture::new().await;
        let auth = f.authenticator(true, false);
        expect_caller(&auth, &f.pop().header(&f.minter), "keys loaded").await;
        f.tenant.set_keys_available(false);
        let mut unknown = f.pop();
        unknown.unpublished(&f.minter);
        expect_reason(
            &auth,
            Some(&unknown.header(&f.minter)),
            Reason::UnknownKid,
            "refresh fails",
        )
        .await;
        expect_caller(
            &auth,
            &f.pop().header(&f.minter),
            "known kid still accepted",
        )
        .await;
    })
    .await;
}
