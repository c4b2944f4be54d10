//! Why a caller was refused: one short code per check, safe to send back and to log.

use std::fmt;

/// The check that failed. The code goes into the `401` answer and the log; it names the claim
/// or rule, never the token's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No `Authorization` header.
    MissingAuthorization,
    /// The header is larger than any real token.
    OversizedHeader,
    /// The scheme is neither `PoP` nor `Bearer`.
    UnsupportedScheme,
    /// The scheme is known but not enabled by `LCW_AUTH`.
    SchemeNotAllowed,
    /// Not a compact JWS (three base64url parts of JSON).
    MalformedToken,
    /// `alg` is not on the allow-list (never `none`, never HMAC).
    UnsupportedAlgorithm,
    /// The access token names no key (`kid`).
    MissingKid,
    /// The access token's key is not among the tenant's signing keys.
    UnknownKid,
    /// The access token's signature does not verify.
    InvalidSignature,
    /// `exp` has passed.
    TokenExpired,
    /// `nbf` is in the future.
    TokenNotYetValid,
    /// `iss` is not the tenant's issuer for this token version.
    InvalidIssuer,
    /// `ver` contradicts the issuer (a v1/v2 mix-up).
    InvalidTokenVersion,
    /// `aud` is not accepted.
    InvalidAudience,
    /// `tid` is not the configured tenant.
    InvalidTenant,
    /// `appid` (v1) or `azp` (v2) is not an accepted caller.
    InvalidCaller,
    /// The signed request's `typ` is not `pop`.
    InvalidPopType,
    /// The signed request carries no access token (`at`).
    MissingAccessToken,
    /// The signed request carries no usable key (`cnf.jwk`).
    InvalidPopKey,
    /// The signed request's signature does not verify with its own key.
    InvalidPopSignature,
    /// The access token is not bound to the signed request's key (`cnf`).
    PopKeyMismatch,
    /// `ts` is missing or outside ±5 minutes.
    StaleTimestamp,
    /// `m` is not `POST`.
    InvalidMethod,
    /// `u` is not the configured host.
    InvalidHost,
    /// `p` is not the configured ARM path.
    InvalidPath,
    /// The signed request has no `nonce`.
    MissingNonce,
    /// The `nonce` was already used by another callout.
    ReplayedNonce,
}

impl Reason {
    /// The code sent in `WWW-Authenticate` and logged.
    pub fn code(self) -> &'static str {
        use Reason::*;
        match self {
            MissingAuthorization => "missing_authorization",
            OversizedHeader => "oversized_header",
            UnsupportedScheme => "unsupported_scheme",
            SchemeNotAllowed => "scheme_not_allowed",
            MalformedToken => "malformed_token",
            UnsupportedAlgorithm => "unsupported_algorithm",
            MissingKid => "missing_kid",
            UnknownKid => "unknown_kid",
            InvalidSignature => "invalid_signature",
            TokenExpired => "token_expired",
            TokenNotYetValid => "token_not_yet_valid",
            InvalidIssuer => "invalid_issuer",
            InvalidTokenVersion => "invalid_token_version",
            InvalidAudience => "invalid_audience",
            InvalidTenant => "invalid_tenant",
            InvalidCaller => "invalid_caller",
            InvalidPopType => "invalid_pop_type",
            MissingAccessToken => "missing_access_token",
            InvalidPopKey => "invalid_pop_key",
            InvalidPopSignature => "invalid_pop_signature",
            PopKeyMismatch => "pop_key_mismatch",
            StaleTimestamp => "stale_timestamp",
            InvalidMethod => "invalid_method",
            InvalidHost => "invalid_host",
            InvalidPath => "invalid_path",
            MissingNonce => "missing_nonce",
            ReplayedNonce => "replayed_nonce",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A refused caller: the reason, plus a detail for the log (claim names and expectations,
/// never token content or signatures).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct AuthError {
    /// The check that failed.
    pub reason: Reason,
    /// What was expected, for the operator.
    pub detail: String,
}

impl AuthError {
    pub(crate) fn new(reason: Reason, detail: impl Into<String>) -> AuthError {
        AuthError {
            reason,
            detail: detail.into(),
        }
    }
}

/// The signing keys cannot be had right now: not the caller's fault, so not a `401`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the tenant's signing keys are not available yet: {0}")]
pub struct KeysUnavailable(pub String);

/// Either outcome of a failed authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The caller did not prove itself: answer `401`.
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// We could not check: answer `503` so LCW retries.
    #[error(transparent)]
    Unavailable(#[from] KeysUnavailable),
}
