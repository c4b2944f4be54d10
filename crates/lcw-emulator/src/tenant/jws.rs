//! Compact JWS assembly and the key material behind it, built from `aws-lc-rs` primitives.
//!
//! Every token is put together by hand, `base64url(header) '.' base64url(payload) '.'
//! base64url(signature)`, instead of with a JWT library. The emulator is the *other side* of the
//! handler's validator, which does use a JWT library: sharing one would let a misreading of the
//! formats pass unnoticed on both ends. It also lets tests sign headers that a JWT library would
//! refuse to produce (wrong `alg`, `none`, HMAC with a public key's name).
//!
//! Signatures: RS256 is RSASSA-PKCS1-v1_5 with SHA-256; ES256 is ECDSA P-256 with SHA-256 in
//! JOSE's *fixed* form (`r || s`, 64 bytes, RFC 7518 §3.4), not ASN.1 DER; HS256 is HMAC-SHA256.
//!
//! Private keys never leave this module's types, and their `Debug` output names only the public
//! side (a thumbprint or kid), so a key can never end up in a log line by accident.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use aws_lc_rs::{digest, hmac, rand as lc_rand, rsa};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// `base64url` without padding, the encoding of every JWS part and JWK member.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Random bytes, `base64url`-encoded: key ids and nonces.
pub(crate) fn random_b64url(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    // SystemRandom only fails if the operating system's generator is unavailable, in which
    // case no key could have been generated either.
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator is available");
    b64url(&bytes)
}

/// `base64url(header) '.' base64url(payload)`: the JWS signing input.
pub(crate) fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

/// Appends `'.' base64url(signature)` (nothing after the dot for an empty signature).
pub(crate) fn compact(signing_input: String, signature: &[u8]) -> String {
    format!("{signing_input}.{}", b64url(signature))
}

/// HS256 over the signing input.
pub(crate) fn hmac_sha256(secret: &[u8], message: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::sign(&key, message).as_ref().to_vec()
}

/// An RSA key pair with its public modulus and exponent (big-endian, no leading zeros).
pub(crate) struct RsaKey {
    pair: RsaKeyPair,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl RsaKey {
    /// A fresh RSA-2048 key, the size Entra signs tokens with.
    pub(crate) fn generate() -> Result<Self, aws_lc_rs::error::Unspecified> {
        let pair = RsaKeyPair::generate(rsa::KeySize::Rsa2048)?;
        let (n, e) = rsa_public_components(pair.public_key().as_ref())
            .ok_or(aws_lc_rs::error::Unspecified)?;
        Ok(Self { pair, n, e })
    }

    /// RS256 signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        // Fails only on an internal error: the buffer has the modulus length the API asks for.
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &lc_rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .expect("RSA signing with a correctly sized buffer");
        signature
    }

    /// `n`, `base64url`.
    pub(crate) fn n_b64(&self) -> String {
        b64url(&self.n)
    }

    /// `e`, `base64url` (`AQAB` for 65537).
    pub(crate) fn e_b64(&self) -> String {
        b64url(&self.e)
    }
}

/// Reads `n` and `e` out of a DER `RSAPublicKey` (RFC 8017 A.1.1: `SEQUENCE { INTEGER n,
/// INTEGER e }`), which is what `aws-lc-rs` exposes without its `ring-io` feature.
fn rsa_public_components(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (0x30, sequence, []) = der_tlv(der)? else {
        return None;
    };
    let (0x02, n, rest) = der_tlv(sequence)? else {
        return None;
    };
    let (0x02, e, []) = der_tlv(rest)? else {
        return None;
    };
    Some((unsigned(n), unsigned(e)))
}

/// One DER tag-length-value: `(tag, value, rest)`. Definite lengths only, as DER requires.
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (len_bytes, rest) = rest.split_at(count);
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// A DER INTEGER's content without the sign-padding zero bytes JWK forbids.
fn unsigned(integer: &[u8]) -> Vec<u8> {
    let start = integer
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(integer.len().saturating_sub(1));
    integer[start..].to_vec()
}

/// RFC 7638 JWK thumbprint: SHA-256 over the JSON object of the key type's required members,
/// in lexicographic order, without whitespace, `base64url` without padding.
///
/// Understands `RSA` (`e`, `kty`, `n`), `EC` (`crv`, `kty`, `x`, `y`) and `oct` (`k`, `kty`);
/// `None` when `kty` is another value or a required member is missing or not a string.
/// Members other than the required ones (`kid`, `use`, `alg`, …) do not change the thumbprint.
pub fn jwk_thumbprint(jwk: &Value) -> Option<String> {
    let member = |name: &str| -> Option<String> {
        // `Value::to_string` on a string gives it JSON-quoted and escaped, as RFC 7638 requires.
        jwk.get(name)
            .filter(|v| v.is_string())
            .map(Value::to_string)
    };
    let kty = member("kty")?;
    let canonical = match jwk.get("kty").and_then(Value::as_str)? {
        "RSA" => format!(
            r#"{{"e":{},"kty":{kty},"n":{}}}"#,
            member("e")?,
            member("n")?
        ),
        "EC" => format!(
            r#"{{"crv":{},"kty":{kty},"x":{},"y":{}}}"#,
            member("crv")?,
            member("x")?,
            member("y")?
        ),
        "oct" => format!(r#"{{"k":{},"kty":{kty}}}"#, member("k")?),
        _ => return None,
    };
    Some(b64url(
        digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref(),
    ))
}

/// The caller's own proof-of-possession key: the key whose public half travels in the signed
/// HTTP request's `cnf.jwk` and whose thumbprint the access token's `cnf` references.
///
/// Clones share the key. `Debug` shows only the algorithm and thumbprint.
#[derive(Clone)]
pub struct CallerKey {
    inner: Arc<CallerKeyInner>,
}

enum CallerKeyInner {
    Rsa(RsaKey),
    Ec(EcdsaKeyPair),
}

impl CallerKey {
    /// A fresh RSA-2048 key (`RS256`), the kind MSAL generates for PoP.
    pub fn rsa() -> CallerKey {
        // Key generation fails only on an internal error of the crypto library.
        let key = RsaKey::generate().expect("RSA-2048 key generation");
        CallerKey {
            inner: Arc::new(CallerKeyInner::Rsa(key)),
        }
    }

    /// A fresh P-256 key (`ES256`).
    pub fn ec_p256() -> CallerKey {
        // Key generation fails only on an internal error of the crypto library.
        let pair =
            EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256 key generation");
        CallerKey {
            inner: Arc::new(CallerKeyInner::Ec(pair)),
        }
    }

    /// The JWS `alg` this key signs with: `RS256` or `ES256`.
    pub fn alg(&self) -> &'static str {
        match &*self.inner {
            CallerKeyInner::Rsa(_) => "RS256",
            CallerKeyInner::Ec(_) => "ES256",
        }
    }

    /// The public key as a JWK with exactly the RFC 7638 required members: RSA `{e, kty, n}`,
    /// EC `{crv: "P-256", kty: "EC", x, y}` (coordinates from the uncompressed point).
    pub fn public_jwk(&self) -> Value {
        match &*self.inner {
            CallerKeyInner::Rsa(key) => json!({
                "kty": "RSA",
                "n": key.n_b64(),
                "e": key.e_b64(),
            }),
            CallerKeyInner::Ec(pair) => {
                // SEC 1 uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
                let point = pair.public_key().as_ref();
                let (x, y) = point[1..].split_at(32);
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": b64url(x),
                    "y": b64url(y),
                })
            }
        }
    }

    /// RFC 7638 thumbprint of [`public_jwk`](Self::public_jwk), the SHR header's `kid`.
    pub fn thumbprint(&self) -> String {
        // public_jwk always carries every required member for its kty.
        jwk_thumbprint(&self.public_jwk()).expect("a complete JWK")
    }

    /// Signs `message` with this key's algorithm: RS256, or ES256 as fixed `r || s`.
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &*self.inner {
            CallerKeyInner::Rsa(key) => key.sign(message),
            // Fails only on an internal error of the crypto library.
            CallerKeyInner::Ec(pair) => pair
                .sign(&lc_rand::SystemRandom::new(), message)
                .expect("ECDSA signing")
                .as_ref()
                .to_vec(),
        }
    }
}

impl fmt::Debug for CallerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallerKey")
            .field("alg", &self.alg())
            .field("thumbprint", &self.thumbprint())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_integers_lose_their_sign_padding() {
        // SEQUENCE { INTEGER 0x00 0x80 0x01, INTEGER 0x01 0x00 0x01 }
        let der = [
            0x30, 0x0a, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01,
        ];
        let (n, e) = rsa_public_components(&der).unwrap();
        assert_eq!(n, vec![0x80, 0x01]);
        assert_eq!(e, vec![0x01, 0x00, 0x01]);
        assert!(rsa_public_components(&der[..der.len() - 1]).is_none());
    }

    #[test]
    fn long_form_lengths_are_read() {
        let mut der = vec![0x30, 0x82, 0x01, 0x08, 0x02, 0x82, 0x01, 0x01, 0x00];
        der.extend(std::iter::repeat_n(0xab, 256));
        der.extend([0x02, 0x01, 0x03]);
        let (n, e) = rsa_public_components(&der).unwrap();
        assert_eq!(n.len(), 256);
        assert_eq!(e, vec![3]);
    }

    #[test]
    fn generated_rsa_key_has_65537_and_2048_bits() {
        let key = RsaKey::generate().unwrap();
        assert_eq!(key.e_b64(), "AQAB");
        assert_eq!(key.n.len(), 256);
        assert_eq!(key.sign(b"x").len(), 256);
    }

    #[test]
    fn debug_shows_no_key_material() {
        let key = CallerKey::ec_p256();
        let shown = format!("{key:?}");
        assert!(shown.contains("ES256"));
        assert!(shown.contains(&key.thumbprint()));
        assert!(!shown.contains(key.public_jwk()["x"].as_str().unwrap()));
    }

    #[test]
    fn thumbprint_ignores_extra_members_and_rejects_incomplete_keys() {
        let key = CallerKey::rsa();
        let mut jwk = key.public_jwk();
        jwk["kid"] = json!("whatever");
        jwk["use"] = json!("sig");
        assert_eq!(jwk_thumbprint(&jwk), Some(key.thumbprint()));
        assert_eq!(jwk_thumbprint(&json!({"kty": "RSA", "n": "AQAB"})), None);
        assert_eq!(jwk_thumbprint(&json!({"kty": "OKP", "x": "AA"})), None);
    }
}
