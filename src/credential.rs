//! Outbound tokens: the managed identity, through the official `azure_identity` crate.
//!
//! The credential is created once per process and shared; `azure_identity` caches the token and
//! refreshes it five minutes before expiry, so one fetch serves every resume of its lifetime.
//! We add no second cache (docs/protocol.md §9.4). The SDK's own retry is switched off: the
//! runtime retries token failures with its one retry policy, bounded by the invocation's stop
//! instant, and the SDK's default (about 82 s against a failing endpoint, under the cache's
//! write lock) is what made concurrent invocations queue for minutes in an outage
//! ([`crate::token_source`]).

use std::sync::Arc;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::RetryOptions;
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};

use crate::config::IdentitySettings;
use crate::token_source::TokenSource;

/// The managed identity could not be set up.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot set up the managed identity (check IDENTITY_ENDPOINT, IDENTITY_HEADER and AZURE_CLIENT_ID): {0}"
)]
pub struct CredentialError(String);

/// Builds the managed-identity credential the environment describes: App Service / Functions
/// when `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set, IMDS otherwise; `AZURE_CLIENT_ID`
/// selects a user-assigned identity.
pub fn managed_identity(
    settings: &IdentitySettings,
) -> Result<Arc<dyn TokenCredential>, CredentialError> {
    let mut options = ManagedIdentityCredentialOptions {
        user_assigned_id: settings.client_id.clone().map(UserAssignedId::ClientId),
        ..Default::default()
    };
    // Share the process's HTTP client rather than let the SDK build (and load roots for) its own,
    // and build it on first use, after the handler is already answering the host.
    options.client_options.transport =
        Some(azure_core::http::Transport::new(Arc::new(SharedHttpClient)));
    // One try per request: retries belong to the caller, who knows when its time is up.
    options.client_options.retry = RetryOptions::none();
    let credential = ManagedIdentityCredential::new(Some(options))
        .map_err(|e| CredentialError(e.to_string()))?;
    Ok(credential)
}

/// The managed identity as a [`TokenSource`]: a fresh credential instance replaces the current
/// one when Graph refuses its token.
pub fn managed_identity_source(
    settings: &IdentitySettings,
) -> Result<TokenSource, CredentialError> {
    let settings = settings.clone();
    TokenSource::renewable(move || managed_identity(&settings))
}

/// The SDK's transport, delegating to [`crate::http_client::shared`] when a token is needed.
#[derive(Debug)]
struct SharedHttpClient;

#[async_trait::async_trait]
impl azure_core::http::HttpClient for SharedHttpClient {
    async fn execute_request(
        &self,
        request: &azure_core::http::Request,
    ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
        crate::http_client::shared().execute_request(request).await
    }
}

/// A credential that never yields a token: the Graph client of a [`TaskContext`] built for a
/// unit test, where no identity exists. Any Graph call fails with a clear message.
///
/// [`TaskContext`]: crate::task::TaskContext
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCredential;

#[async_trait::async_trait]
impl TokenCredential for NoCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            "no managed identity in this context (a TaskContext built for a test)",
        ))
    }
}
