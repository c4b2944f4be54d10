//! The caller-authentication settings (`LCW_AUTH` and friends).
//!
//! Authentication fails closed: the default is PoP, and `none` must be written out. A scheme
//! that is chosen but not fully configured stops the start with the missing setting's name,
//! because a half-configured validator is worse than none: it looks like protection.

use crate::settings::*;

use super::{ConfigError, flag, http_url};

/// The Lifecycle Workflows first-party application (docs/protocol.md §3.5).
pub const LIFECYCLE_WORKFLOWS_APP_ID: &str = "ce79fdc4-cd1d-4ea5-8139-e74d7dbe0bb7";
/// Entra ID's public authority.
pub const DEFAULT_AUTHORITY_URL: &str = "https://login.microsoftonline.com";
/// The `u` claim LCW's signed requests carry (the ARM host).
pub const DEFAULT_POP_HOST: &str = "management.azure.com";

/// Which proofs of the caller are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// No authentication: anyone who knows the URL can complete or fail tasks.
    Disabled,
    /// At least one scheme is enabled.
    Enforced(AuthSettings),
}

/// Settings of an enforced validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// `Authorization: PoP …` accepted.
    pub pop: bool,
    /// `Authorization: Bearer …` accepted.
    pub bearer: bool,
    /// The tenant whose tokens are accepted.
    pub tenant_id: String,
    /// Base of the key discovery URL, without trailing slash.
    pub authority_url: String,
    /// Expected PoP `u`.
    pub pop_host: String,
    /// Expected PoP `p` (compared case-insensitively, trailing slash ignored).
    pub pop_path: Option<String>,
    /// Accepted bearer audiences.
    pub audiences: Vec<String>,
    /// Accepted caller application ids.
    pub caller_app_ids: Vec<String>,
    /// Log setup-relevant claims of rejected tokens.
    pub diagnostics: bool,
}

pub(super) fn auth_mode(get: &impl Fn(&str) -> Option<String>) -> Result<AuthMode, ConfigError> {
    let text = get(LCW_AUTH).unwrap_or_else(|| "pop".to_owned());
    let invalid = |problem: &str| ConfigError::Invalid {
        setting: LCW_AUTH,
        value: text.clone(),
        problem: problem.to_owned(),
    };
    let (mut pop, mut bearer, mut none) = (false, false, false);
    for scheme in text.split(',').map(|s| s.trim().to_ascii_lowercase()) {
        match scheme.as_str() {
            "pop" => pop = true,
            "bearer" => bearer = true,
            "none" => none = true,
            _ => return Err(invalid("use pop, bearer, pop,bearer or none")),
        }
    }
    if none {
        if pop || bearer {
            return Err(invalid("none cannot be combined with a scheme"));
        }
        return Ok(AuthMode::Disabled);
    }
    let tenant_id = get(LCW_TENANT_ID).ok_or(ConfigError::Missing {
        setting: LCW_TENANT_ID,
        because: "to authenticate callouts (or set LCW_AUTH=none, which is unsafe)",
    })?;
    if !is_guid(&tenant_id) {
        return Err(ConfigError::Invalid {
            setting: LCW_TENANT_ID,
            value: tenant_id,
            problem: "expected the directory (tenant) id, a GUID".to_owned(),
        });
    }
    let pop_path = get(LCW_POP_PATH).map(|p| p.trim_end_matches('/').to_owned());
    if pop {
        match &pop_path {
            None => {
                return Err(ConfigError::Missing {
                    setting: LCW_POP_PATH,
                    because: "when LCW_AUTH includes pop (the ARM path registered in the extension, e.g. /subscriptions/…/providers/Microsoft.Logic/workflows/…)",
                });
            }
            Some(path) if !path.starts_with('/') => {
                return Err(ConfigError::Invalid {
                    setting: LCW_POP_PATH,
                    value: path.clone(),
                    problem: "expected an ARM path starting with /subscriptions/".to_owned(),
                });
            }
            Some(_) => {}
        }
    }
    let audiences = list(get(LCW_AUDIENCE));
    if bearer && audiences.is_empty() {
        return Err(ConfigError::Missing {
            setting: LCW_AUDIENCE,
            because: "when LCW_AUTH includes bearer (the application id in the extension's resourceId)",
        });
    }
    let mut caller_app_ids = list(get(LCW_CALLER_APP_IDS));
    if caller_app_ids.is_empty() {
        caller_app_ids.push(LIFECYCLE_WORKFLOWS_APP_ID.to_owned());
    }
    if let Some(bad) = caller_app_ids.iter().find(|id| !is_guid(id)) {
        return Err(ConfigError::Invalid {
            setting: LCW_CALLER_APP_IDS,
            value: bad.clone(),
            problem: "expected application ids (GUIDs), comma-separated".to_owned(),
        });
    }
    let diagnostics = flag(get, LCW_AUTH_DIAGNOSTICS, false)?;
    Ok(AuthMode::Enforced(AuthSettings {
        pop,
        bearer,
        tenant_id: tenant_id.to_ascii_lowercase(),
        authority_url: http_url(get, LCW_AUTHORITY_URL, DEFAULT_AUTHORITY_URL)?
            .as_str()
            .trim_end_matches('/')
            .to_owned(),
        pop_host: get(LCW_POP_HOST)
            .unwrap_or_else(|| DEFAULT_POP_HOST.to_owned())
            .trim_end_matches('/')
            .to_owned(),
        pop_path,
        audiences,
        caller_app_ids: caller_app_ids
            .iter()
            .map(|id| id.to_ascii_lowercase())
            .collect(),
        diagnostics,
    }))
}

pub(super) fn list(text: Option<String>) -> Vec<String> {
    text.map(|t| {
        t.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

pub(super) fn is_guid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n)
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}
