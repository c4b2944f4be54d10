//! App settings, read once at start into a typed [`Config`].
//!
//! Every value is validated before the handler starts serving, so a typo becomes a start-up error
//! that names the setting instead of a failed task an hour later. Reading goes through a lookup
//! function rather than the process environment directly so tests never mutate global state.

use std::fmt;
use std::time::Duration;

use reqwest::Url;

mod auth;
mod closest;
mod entitlement;
mod log_filter;
mod unknown;

use crate::iso_duration;
use crate::settings::*;

pub use auth::{
    AuthMode, AuthSettings, DEFAULT_AUTHORITY_URL, DEFAULT_POP_HOST, LIFECYCLE_WORKFLOWS_APP_ID,
};
pub use entitlement::ENTITLEMENT_MANAGEMENT_APP_ID;
pub use log_filter::{DEFAULT_LOG_FILTER, log_filter};
pub use unknown::{UnknownSetting, unknown_settings, unknown_settings_in_env};

/// Default Graph base URL (the global cloud).
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";
/// Matches the `timeoutDuration` we tell users to register (docs/protocol.md §5.5).
pub const DEFAULT_CALLBACK_TIMEOUT: &str = "PT30M";
/// Default of `LCW_MAX_CALLOUT_BYTES`: far above any real callout (a few KiB), far below what
/// would cost memory worth mentioning.
pub const DEFAULT_MAX_CALLOUT_BYTES: usize = 256 * 1024;
/// Upper bound of `LCW_MAX_CALLOUT_BYTES`. A work item carries the callout and must fit a queue
/// message ([`crate::work_item::WORK_ITEM_BUDGET`]), so a larger callout could never be
/// enqueued anyway; the bound only keeps the host-facing envelope limit (a multiple of this)
/// in tens of MiB.
pub const MAX_MAX_CALLOUT_BYTES: usize = 4 * 1024 * 1024;

/// A setting that is missing or malformed. The message always names the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The setting is required by another choice and is not set.
    #[error("app setting {setting} is required {because}")]
    Missing {
        /// The setting's name.
        setting: &'static str,
        /// Why it is required, e.g. "when LCW_TASK=webhook".
        because: &'static str,
    },
    /// The setting is set but cannot be used.
    #[error("app setting {setting}={value:?} is invalid: {problem}")]
    Invalid {
        /// The setting's name.
        setting: &'static str,
        /// The offending value (settings read here never hold secrets).
        value: String,
        /// What is wrong and what would be right.
        problem: String,
    },
}

/// Where the task comes from, which decides whether `LCW_TASK` means anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSource {
    /// The stock binary: `LCW_TASK` picks a built-in task (and its settings are validated).
    Builtin,
    /// A binary built with its own task (`lcw_handler::run(task)`): `LCW_TASK` and the
    /// webhook settings are not read at all, so they can neither apply nor stop a start.
    Custom,
}

/// The built-in task chosen with `LCW_TASK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuiltinTask {
    /// Acknowledge only: resume `completed` at once.
    Complete,
    /// POST the task as JSON to a URL; its status decides the outcome.
    Webhook {
        /// Target of the POST.
        url: Url,
        /// Timeout of one POST.
        timeout: Duration,
    },
}

/// Which Graph version the resume URL uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphVersion {
    /// `v1.0`, the default.
    V1,
    /// `beta`, which Microsoft's own Logic App uses.
    Beta,
}

impl GraphVersion {
    /// The URL path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            GraphVersion::V1 => "v1.0",
            GraphVersion::Beta => "beta",
        }
    }
}

/// Where and how to reach Microsoft Graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphSettings {
    /// Base URL without version and without trailing slash.
    pub base_url: String,
    /// Version segment for resume.
    pub version: GraphVersion,
}

/// The managed identity used for outbound tokens, as far as the handler can see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySettings {
    /// `IDENTITY_ENDPOINT`, set by the platform; `None` means IMDS would be tried.
    pub endpoint: Option<String>,
    /// Whether `IDENTITY_HEADER` is set (its value is a secret and is not kept here).
    pub header_present: bool,
    /// `AZURE_CLIENT_ID`: a user-assigned identity; `None` means system-assigned.
    pub client_id: Option<String>,
}

impl IdentitySettings {
    /// The identity's client id as a log line shows it: `AZURE_CLIENT_ID`, or a note that the
    /// system-assigned identity is used (its client id is on the app's Identity page).
    pub fn client_id_for_logs(&self) -> &str {
        self.client_id
            .as_deref()
            .unwrap_or("system-assigned (AZURE_CLIENT_ID unset: see the app's Identity page)")
    }
}

/// Settings that only standalone mode uses (the Functions host owns them otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandaloneSettings {
    /// Attempts per task, first included.
    pub max_attempts: u32,
    /// Tasks processed at once.
    pub workers: usize,
    /// Pause before a task is attempted again.
    pub retry_delay: Duration,
}

/// Everything the handler needs, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The built-in task named by `LCW_TASK`; `None` in a binary that brings its own task
    /// ([`TaskSource::Custom`]), where `LCW_TASK` is not read.
    pub builtin_task: Option<BuiltinTask>,
    /// Microsoft Graph.
    pub graph: GraphSettings,
    /// The extension's callback timeout.
    pub callback_timeout: Duration,
    /// Subtracted from the callback timeout to form the deadline.
    pub deadline_margin: Duration,
    /// How long one invocation retries before handing the task back to the queue.
    pub retry_window: Duration,
    /// How long the business logic may run in one attempt.
    pub task_timeout: Duration,
    /// Largest callout body accepted, in bytes.
    pub max_callout_bytes: usize,
    /// Outbound identity.
    pub identity: IdentitySettings,
    /// Standalone-mode settings.
    pub standalone: StandaloneSettings,
    /// The task ledger.
    pub ledger: crate::ledger::LedgerSettings,
    /// Log filter.
    pub log_filter: String,
    /// Caller authentication.
    pub auth: AuthMode,
    /// Caller authentication of the `entitlement` function: the same as [`auth`](Self::auth)
    /// but for Entitlement Management's application (`LCW_ENTITLEMENT_CALLER_APP_IDS`).
    pub entitlement_auth: AuthMode,
}

impl Config {
    /// Reads the process environment, for the stock binary (built-in tasks).
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_env_for(TaskSource::Builtin)
    }

    /// Reads the process environment for a binary whose task comes from `source`.
    pub fn from_env_for(source: TaskSource) -> Result<Config, ConfigError> {
        Config::from_lookup_for(source, |name| std::env::var(name).ok())
    }

    /// Defaults with authentication off, for unit tests that are not about authentication.
    #[cfg(test)]
    pub(crate) fn unauthenticated_for_tests() -> Config {
        Config::from_lookup(|name| (name == LCW_AUTH).then(|| "none".to_owned()))
            .expect("defaults are valid")
    }

    /// Reads settings through `lookup` for the stock binary; an empty value counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::from_lookup_for(TaskSource::Builtin, lookup)
    }

    /// Reads settings through `lookup` for a binary whose task comes from `source`.
    pub fn from_lookup_for(
        source: TaskSource,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let callback_timeout_text =
            get(LCW_CALLBACK_TIMEOUT).unwrap_or_else(|| DEFAULT_CALLBACK_TIMEOUT.to_owned());
        let callback_timeout =
            iso_duration::parse(&callback_timeout_text).map_err(|e| ConfigError::Invalid {
                setting: LCW_CALLBACK_TIMEOUT,
                value: callback_timeout_text.clone(),
                problem: e.to_string(),
            })?;
        let deadline_margin = seconds(&get, LCW_DEADLINE_MARGIN_SECONDS, 60, 0)?;
        if deadline_margin >= callback_timeout {
            return Err(ConfigError::Invalid {
                setting: LCW_DEADLINE_MARGIN_SECONDS,
                value: deadline_margin.as_secs().to_string(),
                problem: format!(
                    "the margin must be shorter than {LCW_CALLBACK_TIMEOUT} ({callback_timeout_text})"
                ),
            });
        }

        let auth = auth::auth_mode(&get)?;
        Ok(Config {
            builtin_task: match source {
                TaskSource::Builtin => Some(builtin_task(&get)?),
                TaskSource::Custom => None,
            },
            graph: GraphSettings {
                base_url: http_url(&get, LCW_GRAPH_URL, DEFAULT_GRAPH_URL)?
                    .as_str()
                    .trim_end_matches('/')
                    .to_owned(),
                version: match get(LCW_GRAPH_VERSION).as_deref() {
                    None | Some("v1.0") => GraphVersion::V1,
                    Some("beta") => GraphVersion::Beta,
                    Some(other) => {
                        return Err(ConfigError::Invalid {
                            setting: LCW_GRAPH_VERSION,
                            value: other.to_owned(),
                            problem: "use v1.0 or beta".to_owned(),
                        });
                    }
                },
            },
            callback_timeout,
            deadline_margin,
            retry_window: seconds(&get, LCW_RETRY_WINDOW_SECONDS, 60, 1)?,
            task_timeout: seconds(&get, LCW_TASK_TIMEOUT_SECONDS, 120, 1)?,
            max_callout_bytes: number(
                &get,
                LCW_MAX_CALLOUT_BYTES,
                DEFAULT_MAX_CALLOUT_BYTES as u64,
                1024,
                MAX_MAX_CALLOUT_BYTES as u64,
            )? as usize,
            identity: IdentitySettings {
                endpoint: get(IDENTITY_ENDPOINT),
                header_present: get(IDENTITY_HEADER).is_some(),
                client_id: get(AZURE_CLIENT_ID),
            },
            standalone: StandaloneSettings {
                max_attempts: number(&get, LCW_MAX_ATTEMPTS, 5, 1, 100)? as u32,
                workers: number(&get, LCW_WORKERS, 16, 1, 1024)? as usize,
                retry_delay: seconds(&get, LCW_RETRY_DELAY_SECONDS, 10, 0)?,
            },
            ledger: crate::ledger::LedgerSettings::from_lookup(&get)?,
            log_filter: log_filter(&get(LCW_LOG).unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned()))?,
            entitlement_auth: entitlement::entitlement_auth_mode(&get, &auth)?,
            auth,
        })
    }
}

fn builtin_task(get: &impl Fn(&str) -> Option<String>) -> Result<BuiltinTask, ConfigError> {
    match get(LCW_TASK).as_deref() {
        None | Some("complete") => Ok(BuiltinTask::Complete),
        Some("webhook") => {
            if get(LCW_WEBHOOK_URL).is_none() {
                return Err(ConfigError::Missing {
                    setting: LCW_WEBHOOK_URL,
                    because: "when LCW_TASK=webhook",
                });
            }
            Ok(BuiltinTask::Webhook {
                url: http_url(get, LCW_WEBHOOK_URL, "")?,
                timeout: seconds(get, LCW_WEBHOOK_TIMEOUT_SECONDS, 10, 1)?,
            })
        }
        Some(other) => Err(ConfigError::Invalid {
            setting: LCW_TASK,
            value: other.to_owned(),
            problem: "use complete or webhook (or build your own binary with a custom task)"
                .to_owned(),
        }),
    }
}

pub(super) fn http_url(
    get: &impl Fn(&str) -> Option<String>,
    setting: &'static str,
    default: &str,
) -> Result<Url, ConfigError> {
    let text = get(setting).unwrap_or_else(|| default.to_owned());
    let invalid = |problem: String| ConfigError::Invalid {
        setting,
        value: text.clone(),
        problem,
    };
    let url = Url::parse(&text).map_err(|e| invalid(format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            "the scheme must be https (or http for a local fake)".to_owned(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("remove the query and fragment".to_owned()));
    }
    Ok(url)
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    setting: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(text) = get(setting) else {
        return Ok(default);
    };
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid {
            setting,
            value: text,
            problem: format!("expected a whole number from {min} to {max}"),
        }),
    }
}

/// The spellings of a yes/no setting, accepted the same way by every such setting.
const TRUE_WORDS: &[&str] = &["1", "true", "yes", "on"];
const FALSE_WORDS: &[&str] = &["0", "false", "no", "off"];

/// A yes/no setting: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`, in any case.
pub(super) fn flag(
    get: &impl Fn(&str) -> Option<String>,
    setting: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    let Some(text) = get(setting) else {
        return Ok(default);
    };
    let word = text.to_ascii_lowercase();
    if TRUE_WORDS.contains(&word.as_str()) {
        Ok(true)
    } else if FALSE_WORDS.contains(&word.as_str()) {
        Ok(false)
    } else {
        Err(ConfigError::Invalid {
            setting,
            value: text,
            problem: format!(
                "use {} to turn it on, or {} to turn it off",
                TRUE_WORDS.join(", "),
                FALSE_WORDS.join(", ")
            ),
        })
    }
}

fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    setting: &'static str,
    default: u64,
    min: u64,
) -> Result<Duration, ConfigError> {
    number(get, setting, default, min, 7 * 86_400).map(Duration::from_secs)
}

impl fmt::Display for Config {
    /// The effective configuration as `check` prints it. Secrets are never held in [`Config`],
    /// so nothing here can leak one; `IDENTITY_HEADER` is shown only as set or unset.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A binary with its own task does not read LCW_TASK: `check` says so in its own line.
        if let Some(builtin) = &self.builtin_task {
            let task = match builtin {
                BuiltinTask::Complete => "complete".to_owned(),
                BuiltinTask::Webhook { url, timeout } => {
                    format!(
                        "webhook → {} (timeout {}s)",
                        redact_url(url),
                        timeout.as_secs()
                    )
                }
            };
            writeln!(f, "{LCW_TASK:<30} {task}")?;
        }
        let unset = "(unset)";
        writeln!(f, "{LCW_GRAPH_URL:<30} {}", self.graph.base_url)?;
        writeln!(f, "{LCW_GRAPH_VERSION:<30} {}", self.graph.version.as_str())?;
        writeln!(
            f,
            "{LCW_CALLBACK_TIMEOUT:<30} {}",
            iso_duration::format(self.callback_timeout)
        )?;
        writeln!(
            f,
            "{LCW_DEADLINE_MARGIN_SECONDS:<30} {}",
            self.deadline_margin.as_secs()
        )?;
        writeln!(
            f,
            "{LCW_RETRY_WINDOW_SECONDS:<30} {}",
            self.retry_window.as_secs()
        )?;
        writeln!(
            f,
            "{LCW_TASK_TIMEOUT_SECONDS:<30} {}",
            self.task_timeout.as_secs()
        )?;
        writeln!(f, "{LCW_MAX_CALLOUT_BYTES:<30} {}", self.max_callout_bytes)?;
        writeln!(
            f,
            "{IDENTITY_ENDPOINT:<30} {} (set by the platform)",
            self.identity.endpoint.as_deref().unwrap_or(unset)
        )?;
        writeln!(
            f,
            "{IDENTITY_HEADER:<30} {} (set by the platform)",
            if self.identity.header_present {
                "(set, redacted)"
            } else {
                unset
            }
        )?;
        writeln!(
            f,
            "{AZURE_CLIENT_ID:<30} {}",
            self.identity
                .client_id
                .as_deref()
                .unwrap_or("(unset: system-assigned identity)")
        )?;
        writeln!(
            f,
            "{LCW_MAX_ATTEMPTS:<30} {} (standalone only)",
            self.standalone.max_attempts
        )?;
        writeln!(
            f,
            "{LCW_WORKERS:<30} {} (standalone only)",
            self.standalone.workers
        )?;
        writeln!(
            f,
            "{LCW_RETRY_DELAY_SECONDS:<30} {} (standalone only)",
            self.standalone.retry_delay.as_secs()
        )?;
        match &self.ledger.configured {
            Some(backend) => writeln!(f, "{LCW_LEDGER:<30} {backend}")?,
            None => writeln!(
                f,
                "{LCW_LEDGER:<30} (unset: {} under the Functions host, {} standalone)",
                self.ledger.for_host(),
                self.ledger.for_standalone()
            )?,
        }
        writeln!(
            f,
            "{LCW_LEDGER_RETENTION_DAYS:<30} {}",
            self.ledger.retention_days()
        )?;
        if self.ledger.for_host() == crate::ledger::LedgerBackend::Blob
            || self.ledger.for_standalone() == crate::ledger::LedgerBackend::Blob
        {
            let blob = &self.ledger.blob;
            match &blob.service {
                Some(service) => writeln!(
                    f,
                    "{:<30} {} (from {})",
                    "blob service", service.url, service.from
                )?,
                None => writeln!(
                    f,
                    "{:<30} (none: set AzureWebJobsStorage__accountName)",
                    "blob service"
                )?,
            }
            writeln!(f, "{LCW_LEDGER_BLOB_CONTAINER:<30} {}", blob.container)?;
            let auth = match blob.auth {
                crate::ledger::blob::BlobAuth::ManagedIdentity => {
                    "(unset: the managed identity signs in)"
                }
                crate::ledger::blob::BlobAuth::Sas(_) => "(set, hidden)",
            };
            writeln!(f, "{LCW_LEDGER_BLOB_SAS:<30} {auth}")?;
        }
        writeln!(f, "{LCW_LOG:<30} {}", self.log_filter)?;
        match &self.auth {
            AuthMode::Disabled => write!(
                f,
                "{LCW_AUTH:<30} none  <-- WARNING: callouts are not authenticated; anyone who knows the URL can complete or fail tasks"
            ),
            AuthMode::Enforced(a) => {
                let schemes = match (a.pop, a.bearer) {
                    (true, true) => "pop,bearer",
                    (true, false) => "pop",
                    _ => "bearer",
                };
                writeln!(f, "{LCW_AUTH:<30} {schemes}")?;
                writeln!(f, "{LCW_TENANT_ID:<30} {}", a.tenant_id)?;
                writeln!(f, "{LCW_AUTHORITY_URL:<30} {}", a.authority_url)?;
                if a.pop {
                    writeln!(f, "{LCW_POP_HOST:<30} {}", a.pop_host)?;
                    writeln!(
                        f,
                        "{LCW_POP_PATH:<30} {}",
                        a.pop_path.as_deref().unwrap_or("")
                    )?;
                }
                if a.bearer {
                    writeln!(f, "{LCW_AUDIENCE:<30} {}", a.audiences.join(","))?;
                }
                writeln!(f, "{LCW_CALLER_APP_IDS:<30} {}", a.caller_app_ids.join(","))?;
                if let AuthMode::Enforced(em) = &self.entitlement_auth {
                    writeln!(
                        f,
                        "{LCW_ENTITLEMENT_CALLER_APP_IDS:<30} {} (the entitlement function)",
                        em.caller_app_ids.join(",")
                    )?;
                    if em.pop {
                        writeln!(
                            f,
                            "{LCW_ENTITLEMENT_POP_PATH:<30} {}",
                            em.pop_path.as_deref().unwrap_or("")
                        )?;
                    }
                }
                write!(
                    f,
                    "{LCW_AUTH_DIAGNOSTICS:<30} {}",
                    if a.diagnostics { 1 } else { 0 }
                )
            }
        }
    }
}

/// Drops user info from a URL: webhook URLs sometimes carry a key in the password part.
fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    if !shown.username().is_empty() || shown.password().is_some() {
        // Setting credentials on an http(s) URL cannot fail; ignoring the result is safe.
        let _ = shown.set_username("redacted");
        let _ = shown.set_password(None);
    }
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const POP_PATH: &str =
        "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Logic/workflows/lcw";

    /// Settings with the PoP basics filled in, then `pairs` on top.
    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = HashMap::from([
            ("LCW_TENANT_ID".to_owned(), TENANT.to_owned()),
            ("LCW_POP_PATH".to_owned(), POP_PATH.to_owned()),
        ]);
        map.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn authentication_defaults_to_pop_for_lifecycle_workflows() {
        let AuthMode::Enforced(auth) = config(&[]).unwrap().auth else {
            panic!("authentication must be on by default");
        };
        assert!(auth.pop && !auth.bearer);
        assert_eq!(auth.pop_host, "management.azure.com");
        assert_eq!(auth.caller_app_ids, [LIFECYCLE_WORKFLOWS_APP_ID]);
        assert_eq!(auth.authority_url, "https://login.microsoftonline.com");
    }

    #[test]
    fn authentication_is_off_only_when_said_so() {
        assert_eq!(
            config(&[("LCW_AUTH", "none")]).unwrap().auth,
            AuthMode::Disabled
        );
        let shown = config(&[("LCW_AUTH", "none")]).unwrap().to_string();
        assert!(shown.contains("WARNING"), "{shown}");
        let err = Config::from_lookup(|_| None).unwrap_err();
        assert!(err.to_string().contains("LCW_TENANT_ID"), "{err}");
    }

    #[test]
    fn each_scheme_names_what_it_misses() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("LCW_POP_PATH", "")], "LCW_POP_PATH"),
            (&[("LCW_POP_PATH", "subscriptions/x")], "LCW_POP_PATH"),
            (&[("LCW_AUTH", "bearer")], "LCW_AUDIENCE"),
            (&[("LCW_AUTH", "pop,bearer")], "LCW_AUDIENCE"),
            (&[("LCW_AUTH", "saml")], "LCW_AUTH"),
            (&[("LCW_AUTH", "none,pop")], "LCW_AUTH"),
            (
                &[("LCW_TENANT_ID", "contoso.onmicrosoft.com")],
                "LCW_TENANT_ID",
            ),
            (&[("LCW_CALLER_APP_IDS", "lifecycle")], "LCW_CALLER_APP_IDS"),
            (&[("LCW_AUTH_DIAGNOSTICS", "maybe")], "LCW_AUTH_DIAGNOSTICS"),
        ];
        for (pairs, setting) in cases {
            let err = config(pairs).expect_err(setting);
            assert!(
                err.to_string().contains(setting),
                "{err} should name {setting}"
            );
        }
        let bearer = config(&[
            ("LCW_AUTH", "bearer"),
            (
                "LCW_AUDIENCE",
                "api://x, 00000000-0000-0000-0000-000000000001",
            ),
        ])
        .unwrap();
        let AuthMode::Enforced(auth) = bearer.auth else {
            panic!("bearer is enforced")
        };
        assert_eq!(
            auth.audiences,
            ["api://x", "00000000-0000-0000-0000-000000000001"]
        );
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let c = config(&[]).unwrap();
        assert_eq!(c.builtin_task, Some(BuiltinTask::Complete));
        assert_eq!(c.graph.base_url, "https://graph.microsoft.com");
        assert_eq!(c.graph.version, GraphVersion::V1);
        assert_eq!(c.callback_timeout, Duration::from_secs(1800));
        assert_eq!(c.retry_window, Duration::from_secs(60));
        assert_eq!(c.standalone.max_attempts, 5);
        assert_eq!(c.max_callout_bytes, 256 * 1024);
        assert!(
            c.to_string()
                .contains("LCW_MAX_CALLOUT_BYTES          262144")
        );
    }

    #[test]
    fn errors_name_the_setting() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("LCW_TASK", "webhook")], "LCW_WEBHOOK_URL"),
            (&[("LCW_TASK", "email")], "LCW_TASK"),
            (
                &[("LCW_CALLBACK_TIMEOUT", "30 minutes")],
                "LCW_CALLBACK_TIMEOUT",
            ),
            (
                &[("LCW_RETRY_WINDOW_SECONDS", "-1")],
                "LCW_RETRY_WINDOW_SECONDS",
            ),
            (&[("LCW_GRAPH_URL", "ftp://graph")], "LCW_GRAPH_URL"),
            (&[("LCW_MAX_CALLOUT_BYTES", "1k")], "LCW_MAX_CALLOUT_BYTES"),
            (&[("LCW_MAX_CALLOUT_BYTES", "100")], "LCW_MAX_CALLOUT_BYTES"),
            (
                &[("LCW_MAX_CALLOUT_BYTES", "4194305")],
                "LCW_MAX_CALLOUT_BYTES",
            ),
            (&[("LCW_GRAPH_VERSION", "v2")], "LCW_GRAPH_VERSION"),
            (
                &[
                    ("LCW_CALLBACK_TIMEOUT", "PT1M"),
                    ("LCW_DEADLINE_MARGIN_SECONDS", "60"),
                ],
                "LCW_DEADLINE_MARGIN_SECONDS",
            ),
            (
                &[("LCW_TASK", "webhook"), ("LCW_WEBHOOK_URL", "not a url")],
                "LCW_WEBHOOK_URL",
            ),
        ];
        for (pairs, setting) in cases {
            let err = config(pairs).expect_err(setting);
            assert!(
                err.to_string().contains(setting),
                "{err} should name {setting}"
            );
        }
    }

    #[test]
    fn a_custom_task_binary_does_not_read_lcw_task_at_all() {
        let lookup = |name: &str| match name {
            "LCW_TASK" => Some("webhook".to_owned()), // and no LCW_WEBHOOK_URL
            "LCW_WEBHOOK_TIMEOUT_SECONDS" => Some("not a number".to_owned()),
            "LCW_AUTH" => Some("none".to_owned()),
            _ => None,
        };
        let err = Config::from_lookup(lookup).expect_err("the stock binary validates LCW_TASK");
        assert!(err.to_string().contains("LCW_WEBHOOK_URL"), "{err}");
        let custom = Config::from_lookup_for(TaskSource::Custom, lookup)
            .expect("a custom task binary ignores LCW_TASK and the webhook settings");
        assert_eq!(custom.builtin_task, None);
        let shown = custom.to_string();
        assert!(
            !shown.lines().any(|line| line.starts_with("LCW_TASK ")),
            "{shown}"
        );
    }

    #[test]
    fn every_yes_no_spelling_is_accepted_and_the_error_lists_them() {
        for (text, on) in [
            ("1", true),
            ("true", true),
            ("YES", true),
            ("on", true),
            ("0", false),
            ("False", false),
            ("no", false),
            ("off", false),
        ] {
            let AuthMode::Enforced(auth) = config(&[("LCW_AUTH_DIAGNOSTICS", text)])
                .unwrap_or_else(|e| panic!("{text}: {e}"))
                .auth
            else {
                panic!("authentication is on");
            };
            assert_eq!(auth.diagnostics, on, "{text}");
        }
        let err = config(&[("LCW_AUTH_DIAGNOSTICS", "sometimes")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("LCW_AUTH_DIAGNOSTICS")
                && err.contains("1, true, yes, on")
                && err.contains("0, false, no, off"),
            "{err}"
        );
    }

    #[test]
    fn an_unusable_log_filter_stops_the_start() {
        let err = config(&[("LCW_LOG", "verbose")]).unwrap_err().to_string();
        assert!(err.contains("LCW_LOG"), "{err}");
        assert_eq!(
            config(&[("LCW_LOG", "lcw_handler=debug,warn")])
                .unwrap()
                .log_filter,
            "lcw_handler=debug,warn"
        );
    }

    #[test]
    fn graph_url_loses_its_trailing_slash() {
        let c = config(&[("LCW_GRAPH_URL", "http://127.0.0.1:9/")]).unwrap();
        assert_eq!(c.graph.base_url, "http://127.0.0.1:9");
    }

    #[test]
    fn display_never_shows_the_identity_header_or_url_passwords() {
        let c = config(&[
            ("IDENTITY_HEADER", "s3cr3t-header"),
            ("LCW_TASK", "webhook"),
            ("LCW_WEBHOOK_URL", "https://user:hunter2@hooks.example/x"),
        ])
        .unwrap();
        let shown = c.to_string();
        assert!(!shown.contains("s3cr3t-header"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("(set, redacted)"), "{shown}");
    }
}
