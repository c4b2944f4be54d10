//! Where the Blob ledger lives and how it authenticates, from app settings.
//!
//! In Azure the ledger uses the function app's own storage account, found the way the Functions
//! host finds it with an identity-based connection: `AzureWebJobsStorage__blobServiceUri`, or
//! `AzureWebJobsStorage__accountName` → `https://{name}.blob.core.windows.net`. It signs in
//! with the app's managed identity (the infra grants it *Storage Blob Data Contributor*).
//!
//! `LCW_LEDGER_BLOB_SERVICE_URL` overrides the account (Azurite, another account), and
//! `LCW_LEDGER_BLOB_SAS` replaces the managed identity with a SAS: Azurite serves plain http,
//! where the official SDK refuses to send an Entra token. The SAS is a secret: it is never
//! printed, logged, or echoed in an error.

use std::fmt;

use reqwest::Url;

use crate::config::ConfigError;
use crate::settings::{
    AZURE_WEBJOBS_STORAGE_ACCOUNT_NAME, AZURE_WEBJOBS_STORAGE_BLOB_SERVICE_URI,
    LCW_LEDGER_BLOB_CONTAINER, LCW_LEDGER_BLOB_SAS, LCW_LEDGER_BLOB_SERVICE_URL,
};

/// The container used when `LCW_LEDGER_BLOB_CONTAINER` is unset (the infra creates it).
pub const DEFAULT_CONTAINER: &str = "lcw-ledger";

/// How the Blob ledger authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum BlobAuth {
    /// The app's managed identity (https only).
    ManagedIdentity,
    /// A SAS query string (without `?`). Never printed.
    Sas(String),
}

impl fmt::Debug for BlobAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobAuth::ManagedIdentity => f.write_str("ManagedIdentity"),
            BlobAuth::Sas(_) => f.write_str("Sas(<hidden>)"),
        }
    }
}

/// The blob service, and which setting named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobService {
    /// e.g. `https://myapp.blob.core.windows.net/` (never carries a query).
    pub url: Url,
    /// The setting it came from, for `check` and error messages.
    pub from: &'static str,
}

/// The Blob ledger's settings, validated as far as they are set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobSettings {
    /// The blob service; `None` when no setting names one.
    pub service: Option<BlobService>,
    /// The container of the records.
    pub container: String,
    /// How to authenticate.
    pub auth: BlobAuth,
}

impl BlobSettings {
    /// Reads the settings through `get`; each one that is set must be usable.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let service = match (
            get(LCW_LEDGER_BLOB_SERVICE_URL),
            get(AZURE_WEBJOBS_STORAGE_BLOB_SERVICE_URI),
            get(AZURE_WEBJOBS_STORAGE_ACCOUNT_NAME),
        ) {
            (Some(url), _, _) => Some(service_url(LCW_LEDGER_BLOB_SERVICE_URL, &url)?),
            (None, Some(url), _) => {
                Some(service_url(AZURE_WEBJOBS_STORAGE_BLOB_SERVICE_URI, &url)?)
            }
            (None, None, Some(account)) => Some(account_service(&account)?),
            (None, None, None) => None,
        };
        let container = match get(LCW_LEDGER_BLOB_CONTAINER) {
            None => DEFAULT_CONTAINER.to_owned(),
            Some(name) => container_name(&name)?,
        };
        let auth = match get(LCW_LEDGER_BLOB_SAS) {
            None => BlobAuth::ManagedIdentity,
            Some(sas) => BlobAuth::Sas(sas_query(&sas)?),
        };
        let settings = BlobSettings {
            service,
            container,
            auth,
        };
        if let (Some(service), BlobAuth::ManagedIdentity) = (&settings.service, &settings.auth)
            && service.url.scheme() != "https"
        {
            return Err(ConfigError::Invalid {
                setting: service.from,
                value: service.url.to_string(),
                problem: format!(
                    "the managed identity's token is sent over https only; use an https URL, or set {LCW_LEDGER_BLOB_SAS} (e.g. for Azurite)"
                ),
            });
        }
        Ok(settings)
    }

    /// The service, or the error that says which settings could name one.
    pub fn require_service(&self) -> Result<&BlobService, ConfigError> {
        self.service.as_ref().ok_or(ConfigError::Missing {
            setting: AZURE_WEBJOBS_STORAGE_ACCOUNT_NAME,
            because: "when LCW_LEDGER=blob (or AzureWebJobsStorage__blobServiceUri, or LCW_LEDGER_BLOB_SERVICE_URL): the ledger uses the function app's storage account",
        })
    }

    /// `https://…/container` for `check` and logs (no query, so no secret).
    pub fn describe(&self) -> String {
        let service = self
            .service
            .as_ref()
            .map_or_else(|| "(no blob service)".to_owned(), |s| s.url.to_string());
        let auth = match self.auth {
            BlobAuth::ManagedIdentity => "managed identity",
            BlobAuth::Sas(_) => "SAS",
        };
        format!(
            "blob container {}{} ({auth})",
            service.trim_end_matches('/').to_owned() + "/",
            self.container
        )
    }
}

fn service_url(setting: &'static str, text: &str) -> Result<BlobService, ConfigError> {
    let invalid = |problem: &str| ConfigError::Invalid {
        setting,
        // A URL with a query may carry a SAS: only its origin and path are echoed.
        value: text.split('?').next().unwrap_or_default().to_owned(),
        problem: problem.to_owned(),
    };
    let mut url = Url::parse(text.trim()).map_err(|e| {
        invalid(&format!(
            "not a URL ({e}); e.g. https://myapp.blob.core.windows.net"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid("expected an http(s) URL of a blob service"));
    }
    if url.query().is_some() {
        return Err(invalid(&format!(
            "the URL must not carry a query; put a SAS in {LCW_LEDGER_BLOB_SAS}"
        )));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(BlobService { url, from: setting })
}

fn account_service(account: &str) -> Result<BlobService, ConfigError> {
    let account = account.trim();
    let valid = (3..=24).contains(&account.len())
        && account
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !valid {
        return Err(ConfigError::Invalid {
            setting: AZURE_WEBJOBS_STORAGE_ACCOUNT_NAME,
            value: account.to_owned(),
            problem: "a storage account name has 3 to 24 lowercase letters and digits".to_owned(),
        });
    }
    let url = Url::parse(&format!("https://{account}.blob.core.windows.net/")).map_err(|e| {
        ConfigError::Invalid {
            setting: AZURE_WEBJOBS_STORAGE_ACCOUNT_NAME,
            value: account.to_owned(),
            problem: e.to_string(),
        }
    })?;
    Ok(BlobService {
        url,
        from: AZURE_WEBJOBS_STORAGE_ACCOUNT_NAME,
    })
}

/// Container names: 3–63 characters, lowercase letters, digits and single hyphens, starting
/// and ending with a letter or digit.
fn container_name(name: &str) -> Result<String, ConfigError> {
    let name = name.trim();
    let bytes = name.as_bytes();
    let valid = (3..=63).contains(&name.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !name.contains("--");
    if !valid {
        return Err(ConfigError::Invalid {
            setting: LCW_LEDGER_BLOB_CONTAINER,
            value: name.to_owned(),
            problem: "a container name has 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit".to_owned(),
        });
    }
    Ok(name.to_owned())
}

/// A SAS query string: `sv=…&sig=…`, with or without the leading `?`.
fn sas_query(sas: &str) -> Result<String, ConfigError> {
    let query = sas.trim().trim_start_matches('?');
    if query.contains("://") || !query.split('&').any(|pair| pair.starts_with("sig=")) {
        return Err(ConfigError::Invalid {
            setting: LCW_LEDGER_BLOB_SAS,
            value: "(hidden: a SAS is a secret)".to_owned(),
            problem: "expected the SAS query string alone (sv=…&…&sig=…), not a URL".to_owned(),
        });
    }
    Ok(query.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<BlobSettings, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        BlobSettings::from_lookup(&|name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn the_account_name_gives_the_public_blob_endpoint() {
        let s = read(&[("AzureWebJobsStorage__accountName", "lcwfunc123")]).unwrap();
        let service = s.require_service().unwrap();
        assert_eq!(
            service.url.as_str(),
            "https://lcwfunc123.blob.core.windows.net/"
        );
        assert_eq!(service.from, "AzureWebJobsStorage__accountName");
        assert_eq!(s.container, DEFAULT_CONTAINER);
        assert_eq!(s.auth, BlobAuth::ManagedIdentity);
    }

    #[test]
    fn the_blob_service_uri_wins_over_the_account_and_ours_over_both() {
        let s = read(&[
            ("AzureWebJobsStorage__accountName", "lcwfunc123"),
            (
                "AzureWebJobsStorage__blobServiceUri",
                "https://other.blob.core.windows.net",
            ),
        ])
        .unwrap();
        assert_eq!(
            s.require_service().unwrap().url.as_str(),
            "https://other.blob.core.windows.net/"
        );
        let s = read(&[
            (
                "AzureWebJobsStorage__blobServiceUri",
                "https://other.blob.core.windows.net",
            ),
            (
                "LCW_LEDGER_BLOB_SERVICE_URL",
                "http://127.0.0.1:10000/devstoreaccount1",
            ),
            ("LCW_LEDGER_BLOB_SAS", "?sv=2021-08-06&sig=abc%2B"),
        ])
        .unwrap();
        let service = s.require_service().unwrap();
        assert_eq!(
            service.url.as_str(),
            "http://127.0.0.1:10000/devstoreaccount1/"
        );
        assert_eq!(service.from, "LCW_LEDGER_BLOB_SERVICE_URL");
        assert_eq!(s.auth, BlobAuth::Sas("sv=2021-08-06&sig=abc%2B".to_owned()));
    }

    #[test]
    fn nothing_set_is_an_error_only_when_required() {
        let s = read(&[]).unwrap();
        let error = s.require_service().unwrap_err().to_string();
        assert!(
            error.contains("AzureWebJobsStorage__accountName"),
            "{error}"
        );
        assert!(error.contains("LCW_LEDGER=blob"), "{error}");
    }

    #[test]
    fn a_token_is_never_sent_over_http() {
        let error = read(&[("LCW_LEDGER_BLOB_SERVICE_URL", "http://127.0.0.1:10000/acct")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("LCW_LEDGER_BLOB_SERVICE_URL"), "{error}");
        assert!(error.contains("https"), "{error}");
    }

    #[test]
    fn bad_values_name_their_setting_and_never_echo_a_sas() {
        for (name, value) in [
            ("AzureWebJobsStorage__accountName", "Not_An_Account"),
            ("LCW_LEDGER_BLOB_CONTAINER", "Ledger"),
            ("LCW_LEDGER_BLOB_CONTAINER", "a--b"),
            ("LCW_LEDGER_BLOB_SERVICE_URL", "not a url"),
            (
                "LCW_LEDGER_BLOB_SERVICE_URL",
                "https://x.blob.core.windows.net/?sig=SECRET",
            ),
            (
                "LCW_LEDGER_BLOB_SAS",
                "https://x.blob.core.windows.net/?sig=SECRET",
            ),
            ("LCW_LEDGER_BLOB_SAS", "sv=2021&se=SECRET"),
        ] {
            let error = read(&[(name, value)]).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
            assert!(!error.contains("SECRET"), "a secret leaked: {error}");
        }
    }

    #[test]
    fn debug_and_describe_hide_the_sas() {
        let s = read(&[
            (
                "LCW_LEDGER_BLOB_SERVICE_URL",
                "http://127.0.0.1:1/devstoreaccount1",
            ),
            ("LCW_LEDGER_BLOB_SAS", "sv=1&sig=SECRET"),
        ])
        .unwrap();
        assert!(!format!("{s:?}").contains("SECRET"));
        assert_eq!(
            s.describe(),
            "blob container http://127.0.0.1:1/devstoreaccount1/lcw-ledger (SAS)"
        );
    }
}
