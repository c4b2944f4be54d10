//! What an admin needs to see of a rejected token to fix their setup — and nothing more.
//!
//! Decoded without verification, on purpose: the token was refused, and the point is to show
//! what the tenant really sends (issuer, audience, caller, tenant, and the signed request's
//! method, host, path and time). The token, its signature and every other claim stay out.

use serde_json::{Map, Value, json};

use super::jws::UnverifiedJws;

const TOKEN_CLAIMS: [&str; 6] = ["iss", "aud", "appid", "azp", "tid", "ver"];
const REQUEST_CLAIMS: [&str; 4] = ["m", "u", "p", "ts"];

/// The setup-relevant claims in an `Authorization` header, as JSON text.
pub(super) fn setup_claims(header: &str) -> String {
    let (scheme, credentials) = header.trim().split_once(' ').unwrap_or((header, ""));
    let Ok(outer) = UnverifiedJws::parse(credentials.trim(), "token") else {
        return json!({ "scheme": scheme, "token": "not a JWS" }).to_string();
    };
    let mut shown = Map::new();
    shown.insert("scheme".to_owned(), json!(scheme));
    if scheme.eq_ignore_ascii_case("pop") {
        shown.insert("request".to_owned(), pick(&outer.claims, &REQUEST_CLAIMS));
        let inner = outer
            .claim_str("at")
            .and_then(|at| UnverifiedJws::parse(at, "access token").ok());
        shown.insert(
            "at".to_owned(),
            inner.map_or(json!("not a JWS"), |at| pick(&at.claims, &TOKEN_CLAIMS)),
        );
    } else {
        shown.insert("token".to_owned(), pick(&outer.claims, &TOKEN_CLAIMS));
    }
    Value::Object(shown).to_string()
}

fn pick(claims: &Map<String, Value>, names: &[&str]) -> Value {
    Value::Object(
        names
            .iter()
            .filter_map(|name| claims.get(*name).map(|v| ((*name).to_owned(), v.clone())))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn jws(claims: Value) -> String {
        format!(
            "{}.{}.SIGNATURE",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn shows_setup_claims_and_nothing_else() {
        let at = jws(
            json!({"iss": "https://sts.windows.net/t/", "aud": "x", "appid": "a", "tid": "t", "secret_claim": "s3cret", "cnf": {"kid": "k"}}),
        );
        let shr = jws(
            json!({"at": at, "m": "POST", "u": "management.azure.com", "p": "/x", "ts": 1, "nonce": "n0nce"}),
        );
        let shown = setup_claims(&format!("PoP {shr}"));
        assert!(
            shown.contains("management.azure.com") && shown.contains("https://sts.windows.net/t/"),
            "{shown}"
        );
        for hidden in ["s3cret", "n0nce", "SIGNATURE", &at] {
            assert!(!shown.contains(hidden), "{hidden} leaked: {shown}");
        }
        assert!(setup_claims("Bearer garbage").contains("not a JWS"));
    }
}
