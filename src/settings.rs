//! The names of every app setting (environment variable) the handler reads, in one place.
//!
//! Azure Functions users configure an app through app settings, which reach a custom handler as
//! environment variables. Keeping the names here means an error message, `check` and the docs
//! can never disagree about what a setting is called.
//!
//! [`KNOWN`] lists them all: start-up and `check` warn about any `LCW_*` variable missing from
//! it (a typo would otherwise be ignored silently), and a unit test fails when a constant here
//! is not in the list, so a new setting cannot be forgotten.

/// Port the Functions host expects the handler to listen on (set by the host).
pub const FUNCTIONS_CUSTOMHANDLER_PORT: &str = "FUNCTIONS_CUSTOMHANDLER_PORT";
/// Legacy alias of [`FUNCTIONS_CUSTOMHANDLER_PORT`] still set by older hosts.
pub const FUNCTIONS_HTTPWORKER_PORT: &str = "FUNCTIONS_HTTPWORKER_PORT";
/// The function app root, where `host.json` lives (set by the host).
pub const FUNCTIONS_APP_ROOT_PATH: &str = "FUNCTIONS_APP_ROOT_PATH";

/// Which built-in task runs: `complete` or `webhook`.
pub const LCW_TASK: &str = "LCW_TASK";
/// Where the `webhook` task POSTs each task.
pub const LCW_WEBHOOK_URL: &str = "LCW_WEBHOOK_URL";
/// Per-request timeout of the `webhook` task, in seconds.
pub const LCW_WEBHOOK_TIMEOUT_SECONDS: &str = "LCW_WEBHOOK_TIMEOUT_SECONDS";
/// Microsoft Graph base URL, without version (national clouds and local fakes differ).
pub const LCW_GRAPH_URL: &str = "LCW_GRAPH_URL";
/// Graph version used for resume: `v1.0` or `beta`.
pub const LCW_GRAPH_VERSION: &str = "LCW_GRAPH_VERSION";
/// The extension's callback `timeoutDuration` (ISO 8601), which the callout does not carry.
pub const LCW_CALLBACK_TIMEOUT: &str = "LCW_CALLBACK_TIMEOUT";
/// Safety margin subtracted from the callback timeout to form the task deadline, in seconds.
pub const LCW_DEADLINE_MARGIN_SECONDS: &str = "LCW_DEADLINE_MARGIN_SECONDS";
/// How long one invocation keeps retrying before handing the task back to the queue, in seconds.
pub const LCW_RETRY_WINDOW_SECONDS: &str = "LCW_RETRY_WINDOW_SECONDS";
/// How long the business logic may run in one attempt, in seconds.
pub const LCW_TASK_TIMEOUT_SECONDS: &str = "LCW_TASK_TIMEOUT_SECONDS";
/// Largest callout body accepted, in bytes; larger ones are answered `413`.
pub const LCW_MAX_CALLOUT_BYTES: &str = "LCW_MAX_CALLOUT_BYTES";
/// Standalone mode only: attempts per task (the Functions host takes it from `host.json`).
pub const LCW_MAX_ATTEMPTS: &str = "LCW_MAX_ATTEMPTS";
/// Standalone mode only: how many tasks are processed at once.
pub const LCW_WORKERS: &str = "LCW_WORKERS";
/// Standalone mode only: seconds between attempts of a task (the host uses `visibilityTimeout`).
pub const LCW_RETRY_DELAY_SECONDS: &str = "LCW_RETRY_DELAY_SECONDS";
/// The task ledger: `sqlite:<path>`, `sqlite` (the default file), `blob`, or `off`.
pub const LCW_LEDGER: &str = "LCW_LEDGER";
/// Days a ledger record is kept after its last change (default 30).
pub const LCW_LEDGER_RETENTION_DAYS: &str = "LCW_LEDGER_RETENTION_DAYS";
/// Blob ledger: the container of the task records (default `lcw-ledger`).
pub const LCW_LEDGER_BLOB_CONTAINER: &str = "LCW_LEDGER_BLOB_CONTAINER";
/// Blob ledger: the blob service URL, overriding the Functions storage connection (e.g. Azurite).
pub const LCW_LEDGER_BLOB_SERVICE_URL: &str = "LCW_LEDGER_BLOB_SERVICE_URL";
/// Blob ledger: a SAS used instead of the managed identity (Azurite, local runs). A secret.
pub const LCW_LEDGER_BLOB_SAS: &str = "LCW_LEDGER_BLOB_SAS";
/// Functions identity-based host storage: the blob service URI.
pub const AZURE_WEBJOBS_STORAGE_BLOB_SERVICE_URI: &str = "AzureWebJobsStorage__blobServiceUri";
/// Functions identity-based host storage: the account name (`https://{name}.blob.core.windows.net`).
pub const AZURE_WEBJOBS_STORAGE_ACCOUNT_NAME: &str = "AzureWebJobsStorage__accountName";
/// Which callers are accepted: `pop`, `bearer`, `pop,bearer`, or `none` (explicitly unsafe).
pub const LCW_AUTH: &str = "LCW_AUTH";
/// The Entra tenant (directory) id whose tokens are accepted.
pub const LCW_TENANT_ID: &str = "LCW_TENANT_ID";
/// Where the tenant's signing keys are discovered (national clouds differ).
pub const LCW_AUTHORITY_URL: &str = "LCW_AUTHORITY_URL";
/// The host the PoP `u` claim must name (the ARM host, not ours).
pub const LCW_POP_HOST: &str = "LCW_POP_HOST";
/// The ARM path of the registered endpoint the PoP `p` claim must name.
pub const LCW_POP_PATH: &str = "LCW_POP_PATH";
/// Accepted bearer audiences (comma-separated): the app id in the extension's `resourceId`.
pub const LCW_AUDIENCE: &str = "LCW_AUDIENCE";
/// Accepted caller application ids (comma-separated).
pub const LCW_CALLER_APP_IDS: &str = "LCW_CALLER_APP_IDS";
/// Accepted callers of the `entitlement` function (comma-separated application ids); default
/// Entitlement Management's own application.
pub const LCW_ENTITLEMENT_CALLER_APP_IDS: &str = "LCW_ENTITLEMENT_CALLER_APP_IDS";
/// The ARM path the PoP `p` claim of Entitlement Management callouts must name; default
/// `LCW_POP_PATH`.
pub const LCW_ENTITLEMENT_POP_PATH: &str = "LCW_ENTITLEMENT_POP_PATH";
/// `1` logs the setup-relevant claims of rejected tokens (never the token itself).
pub const LCW_AUTH_DIAGNOSTICS: &str = "LCW_AUTH_DIAGNOSTICS";
/// Log filter, in `tracing` env-filter syntax (default `info`).
pub const LCW_LOG: &str = "LCW_LOG";

/// Managed-identity token endpoint (set by App Service / Functions).
pub const IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";
/// Anti-SSRF secret for [`IDENTITY_ENDPOINT`] (set and rotated by the platform).
pub const IDENTITY_HEADER: &str = "IDENTITY_HEADER";
/// Client ID of a user-assigned managed identity; unset means the system-assigned identity.
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";

/// Every setting above: what the unknown-setting warning compares `LCW_*` variables with.
pub const KNOWN: &[&str] = &[
    FUNCTIONS_CUSTOMHANDLER_PORT,
    FUNCTIONS_HTTPWORKER_PORT,
    FUNCTIONS_APP_ROOT_PATH,
    LCW_TASK,
    LCW_WEBHOOK_URL,
    LCW_WEBHOOK_TIMEOUT_SECONDS,
    LCW_GRAPH_URL,
    LCW_GRAPH_VERSION,
    LCW_CALLBACK_TIMEOUT,
    LCW_DEADLINE_MARGIN_SECONDS,
    LCW_RETRY_WINDOW_SECONDS,
    LCW_TASK_TIMEOUT_SECONDS,
    LCW_MAX_CALLOUT_BYTES,
    LCW_MAX_ATTEMPTS,
    LCW_WORKERS,
    LCW_RETRY_DELAY_SECONDS,
    LCW_LEDGER,
    LCW_LEDGER_RETENTION_DAYS,
    LCW_LEDGER_BLOB_CONTAINER,
    LCW_LEDGER_BLOB_SERVICE_URL,
    LCW_LEDGER_BLOB_SAS,
    LCW_AUTH,
    LCW_TENANT_ID,
    LCW_AUTHORITY_URL,
    LCW_POP_HOST,
    LCW_POP_PATH,
    LCW_AUDIENCE,
    LCW_CALLER_APP_IDS,
    LCW_ENTITLEMENT_CALLER_APP_IDS,
    LCW_ENTITLEMENT_POP_PATH,
    LCW_AUTH_DIAGNOSTICS,
    LCW_LOG,
    IDENTITY_ENDPOINT,
    IDENTITY_HEADER,
    AZURE_CLIENT_ID,
];

#[cfg(test)]
mod tests {
    use super::KNOWN;

    /// `(name, value)` of every setting constant in this file's source — every
    /// `pub const LCW_…: &str`, and any other `&str` constant named after its value — however
    /// rustfmt wraps it.
    fn declared_settings() -> Vec<(String, String)> {
        let source = include_str!("settings.rs");
        let mut declared = Vec::new();
        for declaration in source.split("\npub const ").skip(1) {
            let Some((name, rest)) = declaration.split_once(':') else {
                continue;
            };
            let Some(rest) = rest.trim_start().strip_prefix("&str") else {
                continue; // `KNOWN` itself, or a constant that is not a name
            };
            let Some(value) = rest.split('"').nth(1) else {
                continue;
            };
            let name = name.trim();
            if name.starts_with("LCW_") || name == value {
                declared.push((name.to_owned(), value.to_owned()));
            }
        }
        declared
    }

    #[test]
    fn every_setting_declared_here_is_known() {
        let declared = declared_settings();
        assert!(
            declared.len() >= KNOWN.len(),
            "the parser found {} settings, fewer than KNOWN lists: {declared:?}",
            declared.len()
        );
        for (name, value) in &declared {
            assert!(
                KNOWN.contains(&value.as_str()),
                "settings::{name} (\"{value}\") is missing from settings::KNOWN: add it there, or \
                 start-up will warn that {value} is an unknown setting"
            );
        }
    }

    #[test]
    fn known_lists_each_setting_once() {
        let mut names = KNOWN.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KNOWN.len(), "KNOWN lists a setting twice");
    }
}
