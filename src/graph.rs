//! An authenticated Microsoft Graph client: base URL, version and a token credential.
//!
//! The runtime uses it for `resume`; user tasks get the same client in their context, so their
//! Graph calls share the managed identity's cached token. Getting the token is bounded: by the
//! caller's stop instant for the runtime, by [`GRAPH_REQUEST_TIMEOUT`] for a task's requests
//! ([`crate::token_source`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use reqwest::{Method, RequestBuilder};
use tokio::time::Instant;

use crate::config::{GraphSettings, GraphVersion};
use crate::token_source::{Generation, TokenError, TokenSource};

/// The scope of the global Graph service.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// Per-request timeout towards Graph, and the longest a task's request waits for its token.
/// Graph answers in well under a second; a request hanging for this long is treated as a
/// transient failure and retried.
pub const GRAPH_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Failure to prepare a Graph request.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// No token could be obtained (the message never contains a token).
    #[error("could not get a token for Microsoft Graph: {0}")]
    Token(#[from] TokenError),
}

/// A request with its token attached, and which credential instance issued that token (to
/// renew it if Graph refuses it).
#[derive(Debug)]
pub struct Authorized {
    /// The request, ready to send.
    pub request: RequestBuilder,
    /// The issuing credential instance.
    pub token: Generation,
}

/// A Graph client authenticated with a token credential. Cheap to clone.
#[derive(Clone)]
pub struct GraphClient {
    base_url: Arc<str>,
    version: GraphVersion,
    scope: Arc<str>,
    tokens: TokenSource,
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient")
            .field("base_url", &self.base_url)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl GraphClient {
    /// A client for `settings`, taking tokens from `credential` (never renewed).
    pub fn new(settings: &GraphSettings, credential: Arc<dyn TokenCredential>) -> GraphClient {
        GraphClient::with_tokens(settings, TokenSource::fixed(credential))
    }

    /// A client for `settings`, taking tokens from `tokens`.
    pub fn with_tokens(settings: &GraphSettings, tokens: TokenSource) -> GraphClient {
        GraphClient {
            base_url: settings.base_url.as_str().into(),
            version: settings.version,
            scope: scope_for(&settings.base_url).into(),
            tokens,
        }
    }

    /// Base URL without version.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The configured version segment.
    pub fn version(&self) -> GraphVersion {
        self.version
    }

    /// The full URL of a path under the configured version, e.g. `/users/{id}`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/{}/{}",
            self.base_url,
            self.version.as_str(),
            path.trim_start_matches('/')
        )
    }

    /// A request to an absolute URL with the bearer token attached, waiting at most
    /// [`GRAPH_REQUEST_TIMEOUT`] for the token.
    pub async fn request_url(
        &self,
        method: Method,
        url: &str,
    ) -> Result<RequestBuilder, GraphError> {
        let stop_at = Instant::now() + GRAPH_REQUEST_TIMEOUT;
        Ok(self.authorized(method, url, stop_at).await?.request)
    }

    /// A request to an absolute URL with the bearer token attached, waiting for the token no
    /// later than `stop_at`.
    pub async fn authorized(
        &self,
        method: Method,
        url: &str,
        stop_at: Instant,
    ) -> Result<Authorized, GraphError> {
        let (token, generation) = self.tokens.token(&self.scope, stop_at).await?;
        Ok(Authorized {
            request: crate::http_client::shared()
                .request(method, url)
                .timeout(GRAPH_REQUEST_TIMEOUT)
                .bearer_auth(token.token.secret()),
            token: generation,
        })
    }

    /// Graph answered `401` to a request authorized with `token`: the next request gets a
    /// freshly fetched token. Returns whether it will (a fixed credential cannot renew).
    pub fn token_refused(&self, token: Generation) -> bool {
        self.tokens.renew_after_refusal(token)
    }

    /// A request to `path` under the configured version with the bearer token attached.
    pub async fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, GraphError> {
        self.request_url(method, &self.url(path)).await
    }
}

/// National clouds have their own Graph resource; a plain-http base is a local fake standing in
/// for the global service, whose scope it expects.
fn scope_for(base_url: &str) -> String {
    if base_url.starts_with("https://") {
        format!("{base_url}/.default")
    } else {
        GRAPH_SCOPE.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_follows_the_cloud() {
        assert_eq!(scope_for("https://graph.microsoft.com"), GRAPH_SCOPE);
        assert_eq!(
            scope_for("https://microsoftgraph.chinacloudapi.cn"),
            "https://microsoftgraph.chinacloudapi.cn/.default"
        );
        assert_eq!(scope_for("http://127.0.0.1:4000"), GRAPH_SCOPE);
    }
}
