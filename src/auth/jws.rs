//! Splitting a compact JWS into its parts, before any trust is placed in it.
//!
//! Both the access token and the PoP signed request are compact JWS. Their header and payload
//! are read here as plain JSON so each check can name exactly what is wrong (an `alg` of
//! `none` is an unsupported algorithm, not a parse error); signatures are verified by
//! `jsonwebtoken` in the modules that know which key applies.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::reason::{AuthError, Reason};

/// No Entra token comes near this; anything larger is refused before decoding.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A compact JWS whose header and payload are JSON objects. Nothing in it is verified.
#[derive(Debug, Clone)]
pub(crate) struct UnverifiedJws<'a> {
    /// The token text, for signature verification.
    pub text: &'a str,
    /// The protected header.
    pub header: Map<String, Value>,
    /// The payload.
    pub claims: Map<String, Value>,
}

impl<'a> UnverifiedJws<'a> {
    /// Splits and decodes `text`; `what` names the token in error details.
    pub fn parse(text: &'a str, what: &str) -> Result<UnverifiedJws<'a>, AuthError> {
        if text.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::new(
                Reason::OversizedHeader,
                format!("the {what} is larger than {MAX_TOKEN_BYTES} bytes"),
            ));
        }
        let malformed =
            |problem: &str| AuthError::new(Reason::MalformedToken, format!("the {what} {problem}"));
        let mut parts = text.split('.');
        let (Some(header), Some(payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("is not three dot-separated parts"));
        };
        let header = decode_object(header)
            .ok_or_else(|| malformed("has a header that is not base64url JSON"))?;
        let claims = decode_object(payload)
            .ok_or_else(|| malformed("has a payload that is not base64url JSON"))?;
        Ok(UnverifiedJws {
            text,
            header,
            claims,
        })
    }

    /// A header member as text.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A claim as text.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

fn decode_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Decodes a base64url JSON object (MSAL's `req_cnf` form of `cnf`).
pub(crate) fn decode_base64_object(text: &str) -> Option<Map<String, Value>> {
    decode_object(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn splits_a_compact_jws() {
        let token = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"RS256"}"#),
            b64(r#"{"aud":"x"}"#)
        );
        let jws = UnverifiedJws::parse(&token, "token").unwrap();
        assert_eq!(jws.header_str("alg"), Some("RS256"));
        assert_eq!(jws.claim_str("aud"), Some("x"));
    }

    #[test]
    fn refuses_what_is_not_a_jws() {
        let good_header = b64(r#"{"alg":"RS256"}"#);
        let cases = [
            String::new(),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            format!("{good_header}.!!!.sig"),
            format!("{good_header}.{}.sig", b64("[1,2]")),
            format!("{}.{}.sig", b64("not json"), b64("{}")),
        ];
        for case in cases {
            let err = UnverifiedJws::parse(&case, "token").unwrap_err();
            assert_eq!(err.reason, Reason::MalformedToken, "{case}");
        }
        let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            UnverifiedJws::parse(&huge, "token").unwrap_err().reason,
            Reason::OversizedHeader
        );
    }
}
