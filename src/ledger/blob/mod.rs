//! The ledger on Azure Blob Storage: one JSON blob per task in the function app's own storage
//! account, written with compare-and-set on the blob's ETag.
//!
//! Why blobs: every Functions app already has a storage account, and its managed identity
//! already reaches it, so the ledger needs no new resource; a blob's ETag gives exactly the
//! compare-and-set the store contract asks for ([`super::store`]): `If-None-Match: *` to
//! create, `If-Match: <ETag>` to replace, and a conditional delete for retention so a record
//! changed after it was listed is kept. Why the official `azure_storage_blob` crate (1.x, the
//! `azure_core` 1.x family already used for the managed identity): it covers every call needed
//! (conditional Put Blob, Get Blob, List Blobs with metadata, conditional Delete Blob) and
//! brings Entra authentication, retries and the REST versioning; docs/ledger-blob.md has the
//! whole comparison.
//!
//! Each blob carries its record's `updated_at` as metadata (`updatedat`, Unix seconds), so
//! `list` and `purge` read only the listing to choose, and download or delete only the blobs
//! chosen.
//!
//! Errors never carry a URL: with a SAS the URL is a credential, so [`store_error`] keeps the
//! status and Storage's error code only.

mod naming;
pub mod settings;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use azure_core::Bytes;
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Etag, RetryOptions, StatusCode};
use azure_core::time::Duration as CoreDuration;
use azure_storage_blob::models::{
    BlobClientDeleteOptions, BlobClientDownloadOptions, BlobContainerClientListBlobsOptions,
    BlockBlobClientUploadOptions, ListBlobsIncludeItem,
};
use azure_storage_blob::{BlobContainerClient, BlobContainerClientOptions};
use futures::TryStreamExt;
use time::OffsetDateTime;
use tokio::sync::OnceCell;

use super::record::{TaskKey, TaskRecord};
use super::store::{LedgerStore, StoreError, Version, Versioned};
use naming::blob_name;
pub use settings::{BlobAuth, BlobService, BlobSettings};

/// Metadata key holding the record's `updated_at` (Unix seconds).
const UPDATED_AT: &str = "updatedat";
/// Bounded SDK retries: the rules retry through the queue, so a Storage outage should fail an
/// invocation in seconds, not after the SDK's default minute.
const MAX_RETRIES: u32 = 2;

/// The Blob backend.
pub struct BlobStore {
    container: BlobContainerClient,
    describe: String,
    /// Set once the container is known to exist (created if it was missing).
    container_ready: OnceCell<()>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore")
            .field("at", &self.describe)
            .finish_non_exhaustive()
    }
}

/// Why the Blob backend could not be set up. Names no secret.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the Blob ledger ({describe}): {problem}")]
pub struct BlobSetupError {
    describe: String,
    problem: String,
}

impl BlobStore {
    /// A store on `service`/`container`, authenticated with `credential` (managed identity) or
    /// with the SAS of `settings`.
    pub fn new(
        settings: &BlobSettings,
        service: &BlobService,
        credential: Option<Arc<dyn TokenCredential>>,
    ) -> Result<BlobStore, BlobSetupError> {
        let describe = settings.describe();
        let setup = |problem: String| BlobSetupError {
            describe: describe.clone(),
            problem,
        };
        let mut url = service
            .url
            .join(&settings.container)
            .map_err(|e| setup(format!("invalid container URL: {e}")))?;
        let credential = match &settings.auth {
            BlobAuth::Sas(sas) => {
                url.set_query(Some(sas));
                None
            }
            BlobAuth::ManagedIdentity => {
                Some(credential.ok_or_else(|| setup("no managed identity credential".to_owned()))?)
            }
        };
        let options = BlobContainerClientOptions {
            client_options: ClientOptions {
                retry: RetryOptions::exponential(azure_core::http::ExponentialRetryOptions {
                    max_retries: MAX_RETRIES,
                    max_total_elapsed: CoreDuration::seconds(10),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let container = BlobContainerClient::new(url, credential, Some(options))
            // The SDK's message may quote the URL, which can hold the SAS.
            .map_err(|e| setup(redact(&e.to_string())))?;
        Ok(BlobStore {
            container,
            describe,
            container_ready: OnceCell::new(),
        })
    }

    /// Creates the container on first use if it does not exist (the infra creates it in
    /// Azure; Azurite starts empty).
    async fn ready(&self) -> Result<(), StoreError> {
        self.container_ready
            .get_or_try_init(|| async {
                match self.container.exists().await {
                    Ok(true) => Ok(()),
                    Ok(false) => match self.container.create(None).await {
                        Ok(_) => Ok(()),
                        Err(e) if e.http_status() == Some(StatusCode::Conflict) => Ok(()),
                        Err(e) => Err(store_error("create the container", &e)),
                    },
                    Err(e) => Err(store_error("read the container", &e)),
                }
            })
            .await
            .map(|_| ())
    }

    async fn upload(
        &self,
        record: &TaskRecord,
        condition: Condition<'_>,
    ) -> Result<Version, StoreError> {
        self.ready().await?;
        let body = serde_json::to_vec(record).map_err(|e| StoreError::Corrupt {
            key: record.key.to_string(),
            problem: e.to_string(),
        })?;
        let mut options = BlockBlobClientUploadOptions {
            blob_content_type: Some("application/json".to_owned()),
            metadata: Some(HashMap::from([(
                UPDATED_AT.to_owned(),
                record.updated_at.unix_timestamp().to_string(),
            )])),
            ..Default::default()
        };
        match condition {
            Condition::Absent => options.if_none_match = Some(Etag::from("*")),
            Condition::At(version) => options.if_match = Some(Etag::from(version.0.as_str())),
        }
        let blob = self.container.blob_client(&blob_name(&record.key));
        let uploaded = blob
            .upload(Bytes::from(body).into(), Some(options))
            .await
            .map_err(|e| match e.http_status() {
                // 409 BlobAlreadyExists (If-None-Match: *), 412 ConditionNotMet (If-Match),
                // 404 when the record to replace is gone.
                Some(
                    StatusCode::Conflict | StatusCode::PreconditionFailed | StatusCode::NotFound,
                ) => StoreError::Conflict,
                _ => store_error("write a record", &e),
            })?;
        uploaded
            .etag
            .map(|etag| Version(etag.to_string()))
            .ok_or_else(|| StoreError::Unavailable("the blob service answered no ETag".to_owned()))
    }

    /// Every blob's name, ETag and `updated_at`, from the listing (metadata included).
    async fn listing(&self) -> Result<Vec<Listed>, StoreError> {
        self.ready().await?;
        let options = BlobContainerClientListBlobsOptions {
            include: Some(vec![ListBlobsIncludeItem::Metadata]),
            ..Default::default()
        };
        let mut pages = self
            .container
            .list_blobs(Some(options))
            .map_err(|e| store_error("list records", &e))?
            .into_pages();
        let mut listed = Vec::new();
        while let Some(page) = pages
            .try_next()
            .await
            .map_err(|e| store_error("list records", &e))?
        {
            let page = page
                .into_model()
                .map_err(|e| store_error("read the record listing", &e))?;
            for item in page.blob_items {
                let Some(name) = item.name else { continue };
                let updated_at = item
                    .metadata
                    .and_then(|m| m.values)
                    .and_then(|values| values.get(UPDATED_AT).cloned())
                    .and_then(|text| text.parse::<i64>().ok())
                    .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok());
                let etag = item.properties.and_then(|p| p.etag);
                listed.push(Listed {
                    name,
                    etag,
                    updated_at,
                });
            }
        }
        Ok(listed)
    }

    async fn download(&self, name: &str, key: &str) -> Result<Option<Versioned>, StoreError> {
        let blob = self.container.blob_client(name);
        let downloaded = match blob.download(None::<BlobClientDownloadOptions<'_>>).await {
            Ok(downloaded) => downloaded,
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => return Ok(None),
            Err(e) => return Err(store_error("read a record", &e)),
        };
        let etag = downloaded.properties.etag.clone().ok_or_else(|| {
            StoreError::Unavailable("the blob service answered no ETag".to_owned())
        })?;
        let body = downloaded
            .body
            .collect()
            .await
            .map_err(|e| store_error("read a record", &e))?;
        let record: TaskRecord =
            serde_json::from_slice(&body).map_err(|e| StoreError::Corrupt {
                key: key.to_owned(),
                problem: e.to_string(),
            })?;
        Ok(Some(Versioned {
            record,
            version: Version(etag.to_string()),
        }))
    }
}

/// What a write requires of the stored blob.
enum Condition<'a> {
    Absent,
    At(&'a Version),
}

/// One blob of the listing.
struct Listed {
    name: String,
    etag: Option<Etag>,
    /// `None` for a blob without our metadata (not written by this backend).
    updated_at: Option<OffsetDateTime>,
}

#[async_trait]
impl LedgerStore for BlobStore {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    async fn get(&self, key: &TaskKey) -> Result<Option<Versioned>, StoreError> {
        self.ready().await?;
        self.download(&blob_name(key), &key.to_string()).await
    }

    async fn create(&self, record: &TaskRecord) -> Result<Version, StoreError> {
        self.upload(record, Condition::Absent).await
    }

    async fn replace(
        &self,
        record: &TaskRecord,
        expected: &Version,
    ) -> Result<Version, StoreError> {
        self.upload(record, Condition::At(expected)).await
    }

    async fn list(&self, since: OffsetDateTime) -> Result<Vec<TaskRecord>, StoreError> {
        let chosen: Vec<Listed> = self
            .listing()
            .await?
            .into_iter()
            .filter(|blob| blob.updated_at.is_none_or(|at| at >= since))
            .collect();
        let mut records = Vec::with_capacity(chosen.len());
        for blob in chosen {
            // Deleted since the listing: not a record any more.
            if let Some(found) = self.download(&blob.name, &blob.name).await?
                && found.record.updated_at >= since
            {
                records.push(found.record);
            }
        }
        Ok(records)
    }

    async fn purge(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let mut purged = 0;
        for blob in self.listing().await? {
            let (Some(updated_at), Some(etag)) = (blob.updated_at, blob.etag) else {
                continue;
            };
            if updated_at >= before {
                continue;
            }
            let options = BlobClientDeleteOptions {
                if_match: Some(etag),
                ..Default::default()
            };
            match self
                .container
                .blob_client(&blob.name)
                .delete(Some(options))
                .await
            {
                Ok(_) => purged += 1,
                // Changed since the listing (kept: it is no longer old) or already gone.
                Err(e)
                    if matches!(
                        e.http_status(),
                        Some(StatusCode::PreconditionFailed | StatusCode::NotFound)
                    ) => {}
                Err(e) => return Err(store_error("delete an expired record", &e)),
            }
        }
        Ok(purged)
    }
}

/// A Storage failure as [`StoreError::Unavailable`], with the status and Storage's error code
/// when the service answered, and never a URL.
fn store_error(doing: &str, error: &azure_core::Error) -> StoreError {
    use azure_core::error::ErrorKind;
    let detail = match error.kind() {
        ErrorKind::HttpResponse {
            status, error_code, ..
        } => format!(
            "HTTP {}{}",
            u16::from(*status),
            error_code
                .as_deref()
                .map(|code| format!(" {code}"))
                .unwrap_or_default()
        ),
        ErrorKind::Credential => "the managed identity gave no token for Storage".to_owned(),
        other => format!("{other:?}: {}", redact(&error.to_string())),
    };
    StoreError::Unavailable(format!("cannot {doing}: {detail}"))
}

/// Removes the value of every `sig=` parameter from a message (a URL in an error can carry a
/// SAS).
fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("sig=") {
        out.push_str(&rest[..at + 4]);
        out.push_str("REDACTED");
        let tail = &rest[at + 4..];
        let end = tail.find(['&', ')', ' ', '"', '\'']).unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_every_signature() {
        assert_eq!(
            redact("error sending request for url (http://h/c?sv=1&sig=abc%2B=&se=2) and sig=x"),
            "error sending request for url (http://h/c?sv=1&sig=REDACTED&se=2) and sig=REDACTED"
        );
        assert_eq!(redact("no secret here"), "no secret here");
    }
}
