//! The public answer to a callout, the same under the Functions host and standalone.
//!
//! `202` with an empty body when accepted (a Logic App's answer, which LCW expects);
//! `401` + `WWW-Authenticate` with a short reason code when the caller is not proven;
//! `503` + `Retry-After` when the signing keys cannot be had yet (LCW retries once);
//! `400` naming the JSON path when the body is not a callout; `413` naming the limit when the
//! body or its work item is too large (a client error: LCW does not retry it as an outage).
//! Bodies never echo input.

use serde_json::json;

use crate::auth::Authenticator;
use crate::pipeline::{Refused, TooLarge};

/// A status, headers and body, ready for either transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalloutReply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(&'static str, String)>,
    /// Response body (empty for `202`).
    pub body: String,
}

impl CalloutReply {
    /// `202 Accepted`, empty body.
    pub fn accepted() -> CalloutReply {
        CalloutReply {
            status: 202,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// `413 Payload Too Large`, naming the limit.
    pub fn too_large(error: &TooLarge) -> CalloutReply {
        CalloutReply {
            status: 413,
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: json!({
                "error": {
                    "code": error.code(),
                    "message": error.to_string(),
                    "limit": error.limit(),
                }
            })
            .to_string(),
        }
    }

    /// The answer to a refusal.
    pub fn refused(refused: &Refused) -> CalloutReply {
        let json_type = ("Content-Type", "application/json".to_owned());
        match refused {
            Refused::Unauthorized { error, challenge } => CalloutReply {
                status: 401,
                headers: vec![json_type, ("WWW-Authenticate", challenge.clone())],
                body: Authenticator::refusal_body(error.reason).to_string(),
            },
            Refused::Unavailable(_) => CalloutReply {
                status: 503,
                headers: vec![json_type, ("Retry-After", "1".to_owned())],
                body: json!({"error": {"code": "signing_keys_unavailable", "message": "the caller cannot be verified yet; retry"}}).to_string(),
            },
            Refused::Invalid(error) => CalloutReply {
                status: 400,
                headers: vec![json_type],
                body: json!({
                    "error": {
                        "code": "invalid_callout",
                        "message": error.to_string(),
                        "field": error.path(),
                    }
                })
                .to_string(),
            },
            Refused::TooLarge(error) => CalloutReply::too_large(error),
        }
    }
}
