//! Checks an Entra access token (a bearer token, or the `at` inside a PoP signed request).
//!
//! Order matters only for which reason is reported when several claims are wrong; each single
//! wrong claim maps to exactly one reason. The signature is checked before any claim is
//! trusted, against the tenant's keys only, with RS256 only: Entra signs access tokens with
//! RSA, and accepting anything else would open the `none`/HMAC confusion attacks.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::jws::UnverifiedJws;
use super::keys::{KEY_WAIT_BUDGET, KeyCache, Lookup};
use super::reason::{AuthError, Reason, Rejection};
use super::verified::Verified;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const CLOCK_SKEW_SECONDS: u64 = 120;

/// Token versions, told apart by issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenVersion {
    /// `https://sts.windows.net/{tid}/`, caller in `appid`.
    V1,
    /// `https://login.microsoftonline.com/{tid}/v2.0`, caller in `azp`.
    V2,
}

/// What a token must say to be accepted.
pub(crate) struct Expectations<'a> {
    pub tenant_id: &'a str,
    /// Accepted audiences, compared without a trailing slash.
    pub audiences: &'a [String],
    pub caller_app_ids: &'a [String],
    /// Whether a v2 token is acceptable (PoP's `at` is always v1).
    pub allow_v2: bool,
}

/// A token that passed every check.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedToken {
    pub claims: Map<String, Value>,
    pub caller_app_id: String,
}

pub(crate) fn v1_issuer(tenant_id: &str) -> String {
    format!("https://sts.windows.net/{tenant_id}/")
}

pub(crate) fn v2_issuer(tenant_id: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant_id}/v2.0")
}

/// Verifies `token` against `expect`.
/// Verifies `token` against `expect`, answering from `verified` when this very token passed
/// before under `profile` and is still within its lifetime at `now`.
pub(crate) async fn verify_remembered(
    token: &str,
    what: &str,
    profile: &str,
    expect: &Expectations<'_>,
    keys: &KeyCache,
    verified: &Verified,
    now: i64,
) -> Result<VerifiedToken, Rejection> {
    if let Some(known) = verified.token(profile, token, now) {
        return Ok(known);
    }
    let checked = verify(token, what, expect, keys).await?;
    verified.remember_token(profile, token, &checked);
    Ok(checked)
}

/// Verifies `token` against `expect`.
pub(crate) async fn verify(
    token: &str,
    what: &str,
    expect: &Expectations<'_>,
    keys: &KeyCache,
) -> Result<VerifiedToken, Rejection> {
    let jws = UnverifiedJws::parse(token, what)?;
    match jws.header_str("alg") {
        Some("RS256") => {}
        other => {
            return Err(AuthError::new(
                Reason::UnsupportedAlgorithm,
                format!(
                    "the {what} is signed with {}, only RS256 is accepted",
                    other.unwrap_or("no algorithm")
                ),
            )
            .into());
        }
    }
    let kid = jws.header_str("kid").ok_or_else(|| {
        AuthError::new(
            Reason::MissingKid,
            format!("the {what} names no signing key (kid)"),
        )
    })?;
    let key = match keys.key(kid, KEY_WAIT_BUDGET).await? {
        Lookup::Found(key) => key,
        Lookup::Unknown => {
            return Err(AuthError::new(
                Reason::UnknownKid,
                format!("the {what}'s key is not one of the tenant's signing keys"),
            )
            .into());
        }
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = CLOCK_SKEW_SECONDS;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp"]);
    jsonwebtoken::decode::<Value>(jws.text, &key, &validation).map_err(|e| {
        let (reason, detail) = match e.kind() {
            ErrorKind::InvalidSignature => {
                (Reason::InvalidSignature, "the signature does not verify")
            }
            ErrorKind::ExpiredSignature => (Reason::TokenExpired, "exp has passed"),
            ErrorKind::ImmatureSignature => (Reason::TokenNotYetValid, "nbf is in the future"),
            ErrorKind::MissingRequiredClaim(_) => (Reason::MalformedToken, "exp is missing"),
            ErrorKind::InvalidAlgorithm => (
                Reason::UnsupportedAlgorithm,
                "the algorithm does not match the key",
            ),
            _ => (Reason::MalformedToken, "it cannot be decoded"),
        };
        AuthError::new(reason, format!("the {what}: {detail}"))
    })?;
    check_claims(jws.claims, what, expect).map_err(Rejection::from)
}

/// The claim checks, once the signature and lifetime are known good.
fn check_claims(
    claims: Map<String, Value>,
    what: &str,
    expect: &Expectations<'_>,
) -> Result<VerifiedToken, AuthError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);

    let tid = text("tid").unwrap_or_default();
    if !tid.eq_ignore_ascii_case(expect.tenant_id) {
        return Err(AuthError::new(
            Reason::InvalidTenant,
            format!(
                "the {what}'s tid is not the configured tenant {}",
                expect.tenant_id
            ),
        ));
    }

    let issuer = text("iss").unwrap_or_default();
    let version = if issuer == v1_issuer(expect.tenant_id) {
        TokenVersion::V1
    } else if issuer == v2_issuer(expect.tenant_id) && expect.allow_v2 {
        TokenVersion::V2
    } else {
        let accepted = if expect.allow_v2 {
            format!(
                "{} or {}",
                v1_issuer(expect.tenant_id),
                v2_issuer(expect.tenant_id)
            )
        } else {
            v1_issuer(expect.tenant_id)
        };
        return Err(AuthError::new(
            Reason::InvalidIssuer,
            format!("the {what}'s iss is not {accepted}"),
        ));
    };
    let expected_ver = match version {
        TokenVersion::V1 => "1.0",
        TokenVersion::V2 => "2.0",
    };
    if let Some(ver) = text("ver")
        && ver != expected_ver
    {
        return Err(AuthError::new(
            Reason::InvalidTokenVersion,
            format!("the {what}'s ver {ver} contradicts its issuer (expected {expected_ver})"),
        ));
    }

    let audiences: Vec<String> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let accepted_audience = audiences.iter().any(|aud| {
        expect.audiences.iter().any(|want| {
            aud.trim_end_matches('/')
                .eq_ignore_ascii_case(want.trim_end_matches('/'))
        })
    });
    if !accepted_audience {
        return Err(AuthError::new(
            Reason::InvalidAudience,
            format!(
                "the {what}'s aud is not one of {}",
                expect.audiences.join(", ")
            ),
        ));
    }

    // v1 names the caller in `appid`, v2 in `azp`; the other claim is deliberately not
    // consulted, so a token cannot pass by carrying the right id in the wrong claim.
    let caller_claim = match version {
        TokenVersion::V1 => "appid",
        TokenVersion::V2 => "azp",
    };
    let caller = text(caller_claim).unwrap_or_default();
    if !expect
        .caller_app_ids
        .iter()
        .any(|id| id.eq_ignore_ascii_case(&caller))
    {
        return Err(AuthError::new(
            Reason::InvalidCaller,
            format!(
                "the {what}'s {caller_claim} is not an accepted caller ({})",
                expect.caller_app_ids.join(", ")
            ),
        ));
    }
    Ok(VerifiedToken {
        claims,
        caller_app_id: caller.to_ascii_lowercase(),
    })
}
