//! Whose token registration uses: a developer's sign-in by default, or a managed identity.
//!
//! `azure_identity` 1.0 has no `DefaultAzureCredential` (docs/protocol.md §9.4), so the choice
//! is explicit. A person registering from a laptop is signed in with the Azure CLI (or azd),
//! which `DeveloperToolsCredential` uses; automation running in Azure uses the managed identity
//! exactly as the handler does ([`crate::credential::managed_identity`]), with
//! `AZURE_CLIENT_ID` selecting a user-assigned one. Nothing is created until a real run needs
//! it, so a dry run never touches a credential.

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_identity::DeveloperToolsCredential;

use crate::config::IdentitySettings;
use crate::settings::{AZURE_CLIENT_ID, IDENTITY_ENDPOINT, IDENTITY_HEADER};

/// The credential to register with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CredentialChoice {
    /// Azure CLI (`az login`), then Azure Developer CLI (`azd auth login`).
    #[default]
    DeveloperTools,
    /// The managed identity of the machine or app this runs on.
    ManagedIdentity,
}

/// The credential could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CredentialChoiceError {
    /// The developer-tools credential failed to build.
    #[error("cannot use the Azure CLI / Azure Developer CLI sign-in: {0}")]
    DeveloperTools(String),
    /// The managed identity failed to build.
    #[error(transparent)]
    ManagedIdentity(#[from] crate::credential::CredentialError),
}

impl CredentialChoice {
    /// Builds the chosen credential; `lookup` reads the environment (the process's in the CLI).
    pub fn build(
        self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Arc<dyn TokenCredential>, CredentialChoiceError> {
        match self {
            CredentialChoice::DeveloperTools => {
                let credential = DeveloperToolsCredential::new(None)
                    .map_err(|e| CredentialChoiceError::DeveloperTools(e.to_string()))?;
                Ok(credential)
            }
            CredentialChoice::ManagedIdentity => {
                let settings = IdentitySettings {
                    endpoint: lookup(IDENTITY_ENDPOINT),
                    header_present: lookup(IDENTITY_HEADER).is_some(),
                    client_id: lookup(AZURE_CLIENT_ID).filter(|id| !id.trim().is_empty()),
                };
                Ok(crate::credential::managed_identity(&settings)?)
            }
        }
    }

    /// What to do when this credential yields no token.
    pub fn sign_in_hint(self) -> &'static str {
        match self {
            CredentialChoice::DeveloperTools => {
                "sign in with `az login` (or `azd auth login`), or pass --credential managed-identity where a managed identity exists"
            }
            CredentialChoice::ManagedIdentity => {
                "check that this machine or app has a managed identity (IDENTITY_ENDPOINT/IDENTITY_HEADER, or IMDS) and that AZURE_CLIENT_ID names an assigned one"
            }
        }
    }
}
