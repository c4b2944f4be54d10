//! The PoP signed HTTP request (draft-ietf-oauth-signed-http-request-03, as MSAL builds it).
//!
//! LCW signs a small JWS with its own key: the access token `at`, a timestamp, a nonce, the
//! public key in `cnf.jwk`, and the method, host and path. Three things make it a proof: the
//! signature verifies with `cnf.jwk`, the access token (signed by the tenant) is bound to that
//! very key through its own `cnf`, and `u`/`p` name the ARM resource the extension is
//! registered with — configured constants, never the URL we were called on (docs/protocol.md §3.3).

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use super::access_token::{Expectations, VerifiedToken, verify_remembered};
use super::jws::{UnverifiedJws, decode_base64_object};
use super::keys::KeyCache;
use super::reason::{AuthError, Reason, Rejection};
use super::verified::{RequestKey, Verified};

/// How far `ts` may be from now, in seconds (the reference validator's lifetime).
pub const TIMESTAMP_TOLERANCE_SECONDS: i64 = 300;

/// Audiences of the ARM access token inside a PoP request.
const ARM_AUDIENCE: &str = "https://management.azure.com";

/// What the PoP request must name.
pub(crate) struct PopExpectations<'a> {
    pub tenant_id: &'a str,
    pub caller_app_ids: &'a [String],
    pub host: &'a str,
    pub path: &'a str,
}

/// A verified PoP request.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedPop {
    pub token: VerifiedToken,
    pub nonce: String,
}

/// Verifies the signed request `shr` at time `now` (Unix seconds).
pub(crate) async fn verify_pop(
    shr: &str,
    expect: &PopExpectations<'_>,
    keys: &KeyCache,
    verified: &Verified,
    now: i64,
) -> Result<VerifiedPop, Rejection> {
    let request = UnverifiedJws::parse(shr, "signed request")?;
    if !request
        .header_str("typ")
        .is_some_and(|typ| typ.eq_ignore_ascii_case("pop"))
    {
        return Err(AuthError::new(
            Reason::InvalidPopType,
            "the signed request's typ is not pop",
        )
        .into());
    }
    let algorithm = match request.header_str("alg") {
        Some("RS256") => Algorithm::RS256,
        Some("ES256") => Algorithm::ES256,
        other => {
            return Err(AuthError::new(
                Reason::UnsupportedAlgorithm,
                format!(
                    "the signed request is signed with {}, only RS256 and ES256 are accepted",
                    other.unwrap_or("no algorithm")
                ),
            )
            .into());
        }
    };
    let key = request_key(&request.claims, algorithm, verified)?;
    verify_request_signature(&request, &key, algorithm)?;

    let access_token = request
        .claim_str("at")
        .filter(|at| !at.is_empty())
        .ok_or_else(|| {
            AuthError::new(
                Reason::MissingAccessToken,
                "the signed request carries no access token (at)",
            )
        })?;
    let audiences = [ARM_AUDIENCE.to_owned()];
    let token = verify_remembered(
        access_token,
        "access token",
        "pop",
        &Expectations {
            tenant_id: expect.tenant_id,
            audiences: &audiences,
            caller_app_ids: expect.caller_app_ids,
            allow_v2: false,
        },
        keys,
        verified,
        now,
    )
    .await?;
    check_binding(&token.claims, &key.thumbprint)?;
    check_request_claims(&request.claims, expect, now)?;
    let nonce = request
        .claim_str("nonce")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| AuthError::new(Reason::MissingNonce, "the signed request has no nonce"))?
        .to_owned();
    Ok(VerifiedPop { token, nonce })
}

/// `cnf.jwk`: an RSA key for RS256, a P-256 key for ES256, nothing else. Parsed keys are
/// remembered by their JWK text (LCW signs every request with the same key).
fn request_key(
    claims: &Map<String, Value>,
    algorithm: Algorithm,
    verified: &Verified,
) -> Result<RequestKey, AuthError> {
    let invalid = |detail: &str| {
        AuthError::new(
            Reason::InvalidPopKey,
            format!("the signed request's cnf.jwk {detail}"),
        )
    };
    let value = claims
        .get("cnf")
        .and_then(|cnf| cnf.get("jwk"))
        .ok_or_else(|| invalid("is missing"))?;
    // Remembered by algorithm and JWK text: a key found was parsed from this very text and
    // found to fit this algorithm, so LCW's steady state skips both.
    let text = format!("{algorithm:?}\n{value}");
    if let Some(known) = verified.request_key(&text) {
        return Ok(known);
    }
    let jwk: Jwk =
        serde_json::from_value(value.clone()).map_err(|_| invalid("is not a public JWK"))?;
    let fits = match (&jwk.algorithm, algorithm) {
        (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        _ => false,
    };
    if !fits {
        return Err(invalid("does not fit the signed request's algorithm"));
    }
    let key = RequestKey {
        key: std::sync::Arc::new(
            DecodingKey::from_jwk(&jwk).map_err(|_| invalid("cannot be used"))?,
        ),
        thumbprint: jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| invalid("has no thumbprint"))?,
    };
    verified.remember_request_key(text, key.clone());
    Ok(key)
}

fn verify_request_signature(
    request: &UnverifiedJws<'_>,
    key: &RequestKey,
    algorithm: Algorithm,
) -> Result<(), AuthError> {
    let invalid = || {
        AuthError::new(
            Reason::InvalidPopSignature,
            "the signed request's signature does not verify with its cnf.jwk",
        )
    };
    // Header and payload were already decoded by `UnverifiedJws`; only the signature over
    // `header.payload` is left to check, so the request is not decoded a second time.
    let (message, signature) = request.text.rsplit_once('.').ok_or_else(invalid)?;
    match jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.key, algorithm) {
        Ok(true) => Ok(()),
        _ => Err(invalid()),
    }
}

/// The access token's `cnf` must name the request key: as `kid` or `jkt` (its RFC 7638
/// thumbprint), as the `jwk` itself, or as MSAL's base64url `req_cnf` text holding one of these.
fn check_binding(at_claims: &Map<String, Value>, thumbprint: &str) -> Result<(), AuthError> {
    let mismatch = |detail: &str| {
        AuthError::new(
            Reason::PopKeyMismatch,
            format!("the access token's cnf {detail}"),
        )
    };
    let cnf = match at_claims.get("cnf") {
        Some(Value::Object(cnf)) => cnf.clone(),
        Some(Value::String(text)) => {
            decode_base64_object(text).ok_or_else(|| mismatch("is not a confirmation object"))?
        }
        _ => return Err(mismatch("is missing: the token is not bound to a key")),
    };
    let named = ["kid", "jkt"]
        .iter()
        .filter_map(|name| cnf.get(*name).and_then(Value::as_str))
        .any(|reference| reference == thumbprint);
    let embedded = cnf
        .get("jwk")
        .and_then(|jwk| serde_json::from_value::<Jwk>(jwk.clone()).ok())
        .and_then(|jwk| jwk.thumbprint(ThumbprintHash::SHA256).ok())
        .is_some_and(|t| t == thumbprint);
    if named || embedded {
        Ok(())
    } else {
        Err(mismatch(
            "names another key than the one that signed the request",
        ))
    }
}

fn check_request_claims(
    claims: &Map<String, Value>,
    expect: &PopExpectations<'_>,
    now: i64,
) -> Result<(), AuthError> {
    let ts = claims.get("ts").and_then(|ts| {
        ts.as_i64()
            .or_else(|| ts.as_str().and_then(|s| s.parse().ok()))
    });
    match ts {
        Some(ts) if (ts - now).abs() <= TIMESTAMP_TOLERANCE_SECONDS => {}
        Some(_) => {
            return Err(AuthError::new(
                Reason::StaleTimestamp,
                format!(
                    "the signed request's ts is more than {TIMESTAMP_TOLERANCE_SECONDS}s from now"
                ),
            ));
        }
        None => {
            return Err(AuthError::new(
                Reason::StaleTimestamp,
                "the signed request has no ts",
            ));
        }
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or("");
    if !text("m").eq_ignore_ascii_case("POST") {
        return Err(AuthError::new(
            Reason::InvalidMethod,
            "the signed request's m is not POST",
        ));
    }
    if !text("u")
        .trim_end_matches('/')
        .eq_ignore_ascii_case(expect.host)
    {
        return Err(AuthError::new(
            Reason::InvalidHost,
            format!(
                "the signed request's u is not {} (LCW_POP_HOST)",
                expect.host
            ),
        ));
    }
    if !text("p")
        .trim_end_matches('/')
        .eq_ignore_ascii_case(expect.path)
    {
        return Err(AuthError::new(
            Reason::InvalidPath,
            "the signed request's p is not the configured LCW_POP_PATH",
        ));
    }
    Ok(())
}
