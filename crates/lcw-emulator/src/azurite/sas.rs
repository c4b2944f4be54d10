//! An account SAS for Azurite's well-known development account.
//!
//! The official Azure SDK crates authenticate with an Entra token (over https only) or a SAS in
//! the URL; they have no shared-key signing, and `azure_storage_sas` builds user-delegation
//! SAS only (which needs an Entra token again). Azurite serves plain http, so a client reaches
//! it with an account SAS, signed here with the emulator's published account key
//! (https://learn.microsoft.com/azure/storage/common/storage-use-azurite#well-known-storage-account-and-key).
//! The string to sign follows
//! https://learn.microsoft.com/rest/api/storageservices/create-account-sas (version 2020-12-06
//! and later: an empty encryption-scope line before the final newline).

use std::time::{Duration, SystemTime};

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;
use time::macros::format_description;

/// Azurite's development account.
pub const ACCOUNT_NAME: &str = "devstoreaccount1";
/// Its published key (not a secret: it is the same in every Azurite).
const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The signed version.
const SIGNED_VERSION: &str = "2021-08-06";
/// Read, write, delete, list, add, create, update, process.
const PERMISSIONS: &str = "rwdlacup";
/// Blob, queue, table.
const SERVICES: &str = "bqt";
/// Service, container, object.
const RESOURCE_TYPES: &str = "sco";

/// The query string (without `?`) of an account SAS valid for `lifetime`.
pub(crate) fn account_sas(lifetime: Duration) -> String {
    let expiry = OffsetDateTime::from(SystemTime::now() + lifetime)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        // Formatting a UTC date with fixed components cannot fail for dates in range.
        .unwrap_or_default();
    let string_to_sign = [
        ACCOUNT_NAME,
        PERMISSIONS,
        SERVICES,
        RESOURCE_TYPES,
        "", // start
        &expiry,
        "", // IP range
        "", // protocol
        SIGNED_VERSION,
        "", // encryption scope
        "",
    ]
    .join("\n");
    let key_bytes = STANDARD.decode(ACCOUNT_KEY).unwrap_or_default();
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key_bytes);
    let signature = STANDARD.encode(hmac::sign(&key, string_to_sign.as_bytes()).as_ref());
    format!(
        "sv={SIGNED_VERSION}&ss={SERVICES}&srt={RESOURCE_TYPES}&sp={PERMISSIONS}&se={}&sig={}",
        query_escape(&expiry),
        query_escape(&signature)
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sas_carries_every_field_azurite_requires() {
        let sas = account_sas(Duration::from_secs(3600));
        for field in ["sv=", "ss=bqt", "srt=sco", "sp=rwdlacup", "se=", "sig="] {
            assert!(sas.contains(field), "{field} missing from {sas}");
        }
        assert!(!sas.contains('+') && !sas.contains('/') && !sas.contains(':'));
    }

    #[test]
    fn the_account_key_is_valid_base64() {
        assert_eq!(STANDARD.decode(ACCOUNT_KEY).map(|k| k.len()).ok(), Some(64));
    }
}
