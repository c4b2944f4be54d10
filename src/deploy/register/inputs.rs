//! Registration's inputs: from flags, else from an azd environment (contract A), validated once.
//!
//! Every problem is collected before anything is sent, and each names the flag and the azd
//! output the value could come from, so one run shows everything that is missing. A value read
//! from the azd file is reported as that output, not as the flag, because that is where a fix
//! belongs.

use std::fmt;

use reqwest::Url;

use super::azd_env::{AzdEnv, outputs};
use super::extension::{
    CLIENT_TIMEOUT_MS_RANGE, ClientSettings, Completion, ExtensionKind, ExtensionSpec,
    LogicAppEndpoint, MAXIMUM_RETRIES_RANGE,
};
use super::settings_check::{COMPARED_SETTINGS, DeployedSettings, SettingSource};
use crate::config::{DEFAULT_CALLBACK_TIMEOUT, DEFAULT_GRAPH_URL};
use crate::iso_duration;
use crate::settings::{LCW_CALLBACK_TIMEOUT, LCW_POP_PATH};

/// Documented bounds of an LCW `timeoutDuration` across both revisions of the docs: five
/// minutes (older) or 30 minutes (current) to three hours (docs/protocol.md §5.5).
const CALLBACK_TIMEOUT_MIN_SECS: u64 = 5 * 60;
/// The current documentation's minimum; below it registration warns.
const CALLBACK_TIMEOUT_SAFE_MIN_SECS: u64 = 30 * 60;
/// Upper bound of `timeoutDuration` for LCW.
const CALLBACK_TIMEOUT_MAX_SECS: u64 = 3 * 60 * 60;
/// Query parameter of a Logic App trigger URL that holds the SAS signature (a secret).
const SAS_SIGNATURE_PARAMETER: &str = "sig";

/// What the command line gave; `None` means not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterFlags {
    /// `--subscription`.
    pub subscription: Option<String>,
    /// `--resource-group`.
    pub resource_group: Option<String>,
    /// `--logic-app-name`.
    pub logic_app_name: Option<String>,
    /// `--url`.
    pub url: Option<String>,
    /// `--identity-client-id`.
    pub identity_client_id: Option<String>,
    /// `--callback-timeout`.
    pub callback_timeout: Option<String>,
    /// `--display-name`.
    pub display_name: Option<String>,
    /// `--description`.
    pub description: Option<String>,
    /// `--graph-url`.
    pub graph_url: Option<String>,
    /// `--client-timeout-ms`.
    pub client_timeout_ms: Option<u16>,
    /// `--maximum-retries`.
    pub maximum_retries: Option<u8>,
    /// `--launch-and-continue`.
    pub launch_and_continue: bool,
    /// `--workflow`.
    pub workflow: Option<String>,
    /// `--app-setting NAME=VALUE`, in order.
    pub app_settings: Vec<String>,
}

/// Validated inputs of one registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterInputs {
    /// What is registered.
    pub kind: ExtensionKind,
    /// The extension's properties.
    pub extension: ExtensionSpec,
    /// Graph base URL without version or trailing slash.
    pub graph_url: String,
    /// The workflow to add the task to.
    pub workflow_id: Option<String>,
    /// Deployed app settings known for the comparison.
    pub deployed: DeployedSettings,
    /// Things the user should know that do not stop the run.
    pub warnings: Vec<String>,
}

/// One input problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// Nothing gave the value.
    Missing {
        /// The flag that gives it.
        flag: &'static str,
        /// The azd output that gives it, if any.
        output: Option<&'static str>,
        /// The azd environment file that was read, if any.
        azd_file: Option<String>,
    },
    /// A value is unusable.
    Invalid {
        /// Where it came from: the flag, or the azd output and file.
        origin: String,
        /// What is wrong and what would be right (never a secret).
        problem: String,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Missing {
                flag,
                output: Some(output),
                azd_file: Some(file),
            } => write!(f, "{flag} is required: give it, or set {output} in {file}"),
            InputError::Missing {
                flag,
                output: Some(output),
                azd_file: None,
            } => write!(
                f,
                "{flag} is required: give it, or read azd output {output} with --azd-env NAME"
            ),
            InputError::Missing { flag, .. } => write!(f, "{flag} is required"),
            InputError::Invalid { origin, problem } => write!(f, "{origin}: {problem}"),
        }
    }
}

/// Every input problem of a run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputErrors(pub Vec<InputError>);

impl fmt::Display for InputErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot register with these inputs:")?;
        for error in &self.0 {
            write!(f, "\n  - {error}")?;
        }
        Ok(())
    }
}

/// Where a value came from.
#[derive(Debug, Clone)]
enum Origin {
    Flag(&'static str),
    Azd(&'static str, String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => f.write_str(flag),
            Origin::Azd(output, file) => write!(f, "{output} in {file}"),
        }
    }
}

/// Collects values and problems.
struct Resolver<'a> {
    azd: Option<&'a AzdEnv>,
    errors: Vec<InputError>,
}

impl Resolver<'_> {
    /// The flag's value, else the azd output's.
    fn lookup(
        &self,
        flag: &'static str,
        given: &Option<String>,
        output: Option<&'static str>,
    ) -> Option<(String, Origin)> {
        if let Some(value) = given.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            return Some((value.to_owned(), Origin::Flag(flag)));
        }
        let (azd, output) = (self.azd?, output?);
        azd.get(output).map(|value| {
            (
                value.trim().to_owned(),
                Origin::Azd(output, azd.path.display().to_string()),
            )
        })
    }

    /// As [`lookup`](Self::lookup), recording a missing value as an error.
    fn required(
        &mut self,
        flag: &'static str,
        given: &Option<String>,
        output: Option<&'static str>,
    ) -> Option<(String, Origin)> {
        let found = self.lookup(flag, given, output);
        if found.is_none() {
            self.errors.push(InputError::Missing {
                flag,
                output,
                azd_file: self.azd.map(|azd| azd.path.display().to_string()),
            });
        }
        found
    }

    /// Runs `validate` on a found value, recording its complaint.
    fn checked<T>(
        &mut self,
        found: Option<(String, Origin)>,
        validate: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let (value, origin) = found?;
        match validate(&value) {
            Ok(value) => Some(value),
            Err(problem) => {
                self.errors.push(InputError::Invalid {
                    origin: origin.to_string(),
                    problem,
                });
                None
            }
        }
    }

    fn invalid(&mut self, origin: impl Into<String>, problem: impl Into<String>) {
        self.errors.push(InputError::Invalid {
            origin: origin.into(),
            problem: problem.into(),
        });
    }
}

/// Resolves and validates the inputs of one registration.
pub fn resolve(flags: &RegisterFlags, azd: Option<&AzdEnv>) -> Result<RegisterInputs, InputErrors> {
    let mut r = Resolver {
        azd,
        errors: Vec::new(),
    };
    let mut warnings = Vec::new();
    let endpoint = endpoint(&mut r, flags);
    let completion = completion(&mut r, flags, &mut warnings);
    let client = client_settings(&mut r, flags);
    let graph_url = r.checked(
        Some((
            flags
                .graph_url
                .clone()
                .unwrap_or_else(|| DEFAULT_GRAPH_URL.to_owned()),
            Origin::Flag("--graph-url"),
        )),
        graph_url,
    );
    let found = r.lookup("--workflow", &flags.workflow, None);
    let workflow_id = r.checked(found, |v| guid(v).map(str::to_owned));
    let (display_name, description) = naming(&mut r, flags, endpoint.as_ref());
    let deployed = deployed_settings(&mut r, flags);

    // Every `None` above recorded its reason in `r.errors`.
    let (
        Some(endpoint),
        Some(completion),
        Some(client),
        Some(graph_url),
        Some(display_name),
        Some(description),
    ) = (
        endpoint,
        completion,
        client,
        graph_url,
        display_name,
        description,
    )
    else {
        return Err(InputErrors(r.errors));
    };
    if !r.errors.is_empty() {
        return Err(InputErrors(r.errors));
    }
    Ok(RegisterInputs {
        kind: ExtensionKind::LifecycleTask,
        extension: ExtensionSpec {
            display_name,
            description,
            endpoint,
            client,
            completion,
        },
        graph_url,
        workflow_id,
        deployed,
        warnings,
    })
}

/// The Logic App trigger endpoint: the three ids of the PoP path, and the URL LCW calls.
fn endpoint(r: &mut Resolver<'_>, flags: &RegisterFlags) -> Option<LogicAppEndpoint> {
    let found = r.required(
        "--subscription",
        &flags.subscription,
        Some(outputs::AZURE_SUBSCRIPTION_ID),
    );
    let subscription_id = r.checked(found, |v| guid(v).map(str::to_owned));
    let found = r.required(
        "--resource-group",
        &flags.resource_group,
        Some(outputs::AZURE_RESOURCE_GROUP),
    );
    let resource_group = r.checked(found, |v| arm_name(v, 90).map(str::to_owned));
    let found = r.required(
        "--logic-app-name",
        &flags.logic_app_name,
        Some(outputs::EXTENSION_LOGIC_APP_NAME),
    );
    let logic_app_name = r.checked(found, |v| arm_name(v, 80).map(str::to_owned));
    let found = r.required("--url", &flags.url, Some(outputs::EXTENSION_ENDPOINT_URL));
    let url = r.checked(found, endpoint_url);
    Some(LogicAppEndpoint {
        subscription_id: subscription_id?,
        resource_group: resource_group?,
        logic_app_name: logic_app_name?,
        url: url?,
    })
}

/// Launch-and-continue, or launch-and-wait with the identity allowed to resume and the timeout.
fn completion(
    r: &mut Resolver<'_>,
    flags: &RegisterFlags,
    warnings: &mut Vec<String>,
) -> Option<Completion> {
    if flags.launch_and_continue {
        return Some(Completion::LaunchAndContinue);
    }
    let found = r.required(
        "--identity-client-id",
        &flags.identity_client_id,
        Some(outputs::IDENTITY_CLIENT_ID),
    );
    let client_id = r.checked(found, |v| guid(v).map(str::to_owned));
    let found = r
        .lookup(
            "--callback-timeout",
            &flags.callback_timeout,
            Some(LCW_CALLBACK_TIMEOUT),
        )
        .unwrap_or_else(|| {
            (
                DEFAULT_CALLBACK_TIMEOUT.to_owned(),
                Origin::Flag("--callback-timeout"),
            )
        });
    let (timeout_duration, seconds) = r.checked(Some(found), callback_timeout)?;
    if seconds < CALLBACK_TIMEOUT_SAFE_MIN_SECS {
        warnings.push(
            "the callback timeout is under 30 minutes; current Microsoft documentation gives PT30M as the minimum and Graph may refuse it (docs/protocol.md §5.5)"
                .to_owned(),
        );
    }
    Some(Completion::LaunchAndWait {
        timeout_duration,
        authorized_app_id: client_id?,
    })
}

/// The display name (by default derived from the Logic App name, so each deployment's
/// registration is found again by a re-run) and the description.
fn naming(
    r: &mut Resolver<'_>,
    flags: &RegisterFlags,
    endpoint: Option<&LogicAppEndpoint>,
) -> (Option<String>, Option<String>) {
    let display_name = match &flags.display_name {
        Some(name) => r.checked(Some((name.clone(), Origin::Flag("--display-name"))), text),
        None => endpoint.map(|e| format!("lcw-handler {}", e.logic_app_name)),
    };
    let description = match &flags.description {
        Some(description) => r.checked(
            Some((description.clone(), Origin::Flag("--description"))),
            text,
        ),
        None => Some("Runs an lcw-handler task (Azure Functions custom handler)".to_owned()),
    };
    (display_name, description)
}

fn client_settings(r: &mut Resolver<'_>, flags: &RegisterFlags) -> Option<ClientSettings> {
    let mut client = ClientSettings::default();
    if let Some(ms) = flags.client_timeout_ms {
        if !CLIENT_TIMEOUT_MS_RANGE.contains(&ms) {
            r.invalid(
                "--client-timeout-ms",
                format!("{ms} is outside the documented range 200–2000"),
            );
            return None;
        }
        client.timeout_ms = ms;
    }
    if let Some(retries) = flags.maximum_retries {
        if !MAXIMUM_RETRIES_RANGE.contains(&retries) {
            r.invalid("--maximum-retries", format!("{retries} is not 0 or 1"));
            return None;
        }
        client.maximum_retries = retries;
    }
    Some(client)
}

/// The azd file's `LCW_POP_PATH` / `LCW_CALLBACK_TIMEOUT`, then each `--app-setting`.
fn deployed_settings(r: &mut Resolver<'_>, flags: &RegisterFlags) -> DeployedSettings {
    let mut deployed = DeployedSettings::default();
    if let Some(azd) = r.azd {
        for name in COMPARED_SETTINGS {
            if let Some(value) = azd.get(name) {
                deployed.insert(
                    name,
                    value.to_owned(),
                    SettingSource::AzdEnv(azd.path.clone()),
                );
            }
        }
    }
    for pair in &flags.app_settings {
        let Some((name, value)) = pair.split_once('=') else {
            r.invalid(
                format!("--app-setting {pair:?}"),
                "expected NAME=VALUE, e.g. LCW_POP_PATH=/subscriptions/…",
            );
            continue;
        };
        match COMPARED_SETTINGS
            .iter()
            .find(|known| **known == name.trim())
        {
            Some(known) => deployed.insert(known, value.trim().to_owned(), SettingSource::Flag),
            None => r.invalid(
                format!("--app-setting {}", name.trim()),
                format!("only {LCW_POP_PATH} and {LCW_CALLBACK_TIMEOUT} are compared"),
            ),
        }
    }
    deployed
}

/// A GUID in its 8-4-4-4-12 form.
fn guid(value: &str) -> Result<&str, String> {
    let groups: Vec<&str> = value.split('-').collect();
    let shape_ok = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()));
    if shape_ok {
        Ok(value)
    } else {
        Err(format!(
            "{value:?} is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
        ))
    }
}

/// An ARM resource (group) name: it becomes a path segment of the PoP path, so anything that
/// could change the path's shape is refused.
fn arm_name(value: &str, max_len: usize) -> Result<&str, String> {
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')');
    if value.chars().count() > max_len {
        return Err(format!("{value:?} is longer than {max_len} characters"));
    }
    if !value.chars().all(allowed) || value.ends_with('.') {
        return Err(format!(
            "{value:?} is not an Azure resource name (letters, digits, '-', '_', '.', '(', ')'; not ending in '.')"
        ));
    }
    Ok(value)
}

/// The endpoint LCW calls: https, and never a SAS signature, which is a secret and which the
/// PoP-protected trigger does not use. Problems never echo the value, since it could hold one.
fn endpoint_url(value: &str) -> Result<String, String> {
    let url = Url::parse(value).map_err(|e| format!("not an absolute URL ({e})"))?;
    if url.scheme() != "https" || url.host_str().is_none() {
        return Err("LCW calls https URLs only; give https://<host>/<path>".to_owned());
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("remove the fragment and any user name or password".to_owned());
    }
    if url
        .query_pairs()
        .any(|(name, _)| name.eq_ignore_ascii_case(SAS_SIGNATURE_PARAMETER))
    {
        return Err(
            "the URL carries a SAS signature (sig=…), a secret: register the trigger URL without its SAS query; PoP replaces it"
                .to_owned(),
        );
    }
    Ok(value.to_owned())
}

/// The callback timeout text and its length in seconds.
fn callback_timeout(value: &str) -> Result<(String, u64), String> {
    let duration = iso_duration::parse(value).map_err(|e| e.to_string())?;
    let seconds = duration.as_secs();
    if !(CALLBACK_TIMEOUT_MIN_SECS..=CALLBACK_TIMEOUT_MAX_SECS).contains(&seconds)
        || duration.subsec_nanos() != 0
    {
        return Err(format!(
            "{value} is outside the documented range of whole seconds from PT5M to PT3H (PT30M or more recommended)"
        ));
    }
    Ok((value.to_owned(), seconds))
}

fn graph_url(value: &str) -> Result<String, String> {
    let url = Url::parse(value).map_err(|e| format!("{value:?} is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "{value:?}: the scheme must be https (or http for a local fake)"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{value:?}: remove the query and fragment"));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

fn text(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err("it is empty".to_owned());
    }
    if value.chars().any(char::is_control) {
        return Err("control characters are not allowed".to_owned());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "c500b67c-e9b7-4ad2-a90d-77d41385ae55";
    const CLIENT: &str = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9";

    fn full_flags() -> RegisterFlags {
        RegisterFlags {
            subscription: Some(SUB.into()),
            resource_group: Some("rg-lcw".into()),
            logic_app_name: Some("lcw-callout".into()),
            url: Some("https://func-lcw.azurewebsites.net/api/lifecycle/callout".into()),
            identity_client_id: Some(CLIENT.into()),
            ..RegisterFlags::default()
        }
    }

    fn problems(flags: &RegisterFlags, azd: Option<&AzdEnv>) -> Vec<String> {
        resolve(flags, azd)
            .unwrap_err()
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn flags_alone_give_the_documented_defaults() {
        let inputs = resolve(&full_flags(), None).unwrap();
        assert_eq!(inputs.graph_url, "https://graph.microsoft.com");
        assert_eq!(inputs.extension.display_name, "lcw-handler lcw-callout");
        assert_eq!(inputs.extension.client, ClientSettings::default());
        assert_eq!(
            inputs.extension.completion,
            Completion::LaunchAndWait {
                timeout_duration: "PT30M".into(),
                authorized_app_id: CLIENT.into()
            }
        );
        assert!(inputs.warnings.is_empty());
    }

    #[test]
    fn every_missing_value_is_named_with_its_azd_output() {
        let all = problems(&RegisterFlags::default(), None);
        for (flag, output) in [
            ("--subscription", "AZURE_SUBSCRIPTION_ID"),
            ("--resource-group", "AZURE_RESOURCE_GROUP"),
            ("--logic-app-name", "EXTENSION_LOGIC_APP_NAME"),
            ("--url", "EXTENSION_ENDPOINT_URL"),
            ("--identity-client-id", "IDENTITY_CLIENT_ID"),
        ] {
            assert!(
                all.iter()
                    .any(|p| p.starts_with(flag) && p.contains(output) && p.contains("--azd-env")),
                "{flag}: {all:?}"
            );
        }
        let azd = AzdEnv::from_pairs("dev", &[("AZURE_SUBSCRIPTION_ID", SUB)]);
        let with_azd = problems(&RegisterFlags::default(), Some(&azd));
        assert!(
            with_azd
                .iter()
                .any(|p| p.contains("--resource-group") && p.contains(".azure/dev/.env")),
            "{with_azd:?}"
        );
        assert!(!with_azd.iter().any(|p| p.contains("--subscription")));
    }

    #[test]
    fn azd_values_fill_in_and_flags_override_them() {
        let azd = AzdEnv::from_pairs(
            "dev",
            &[
                ("AZURE_SUBSCRIPTION_ID", SUB),
                ("AZURE_RESOURCE_GROUP", "rg-from-azd"),
                ("EXTENSION_LOGIC_APP_NAME", "la-from-azd"),
                (
                    "EXTENSION_ENDPOINT_URL",
                    "https://fwd.example/trigger?api-version=2016-10-01",
                ),
                ("IDENTITY_CLIENT_ID", CLIENT),
                ("LCW_CALLBACK_TIMEOUT", "PT1H"),
                ("LCW_POP_PATH", "/subscriptions/x"),
            ],
        );
        let flags = RegisterFlags {
            resource_group: Some("rg-flag".into()),
            app_settings: vec!["LCW_POP_PATH=/subscriptions/y".into()],
            ..RegisterFlags::default()
        };
        let inputs = resolve(&flags, Some(&azd)).unwrap();
        assert_eq!(inputs.extension.endpoint.resource_group, "rg-flag");
        assert_eq!(inputs.extension.endpoint.logic_app_name, "la-from-azd");
        assert!(matches!(
            &inputs.extension.completion,
            Completion::LaunchAndWait { timeout_duration, .. } if timeout_duration == "PT1H"
        ));
        let checks = super::super::settings_check::check(&inputs.extension, &inputs.deployed);
        assert!(matches!(
            &checks[0].verdict,
            super::super::settings_check::Verdict::Differs { deployed, source: SettingSource::Flag } if deployed == "/subscriptions/y"
        ));
    }

    #[test]
    fn bad_values_are_refused_naming_their_origin() {
        let flags = RegisterFlags {
            subscription: Some("not-a-guid".into()),
            resource_group: Some("rg/../other".into()),
            url: Some("http://func.example/api".into()),
            callback_timeout: Some("PT4H".into()),
            client_timeout_ms: Some(5000),
            workflow: Some("w 1".into()),
            app_settings: vec!["LCW_AUTH=none".into()],
            ..full_flags()
        };
        let all = problems(&flags, None);
        for origin in [
            "--subscription",
            "--resource-group",
            "--url",
            "--callback-timeout",
            "--client-timeout-ms",
            "--workflow",
            "--app-setting LCW_AUTH",
        ] {
            assert!(
                all.iter().any(|p| p.starts_with(origin)),
                "{origin}: {all:?}"
            );
        }
    }

    #[test]
    fn a_sas_signature_is_refused_without_being_echoed() {
        let flags = RegisterFlags {
            url: Some("https://prod.logic.azure.com/workflows/x/triggers/manual/paths/invoke?api-version=2016-10-01&sig=SECRETVALUE".into()),
            ..full_flags()
        };
        let all = problems(&flags, None);
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(all[0].contains("SAS"), "{all:?}");
        assert!(
            !all[0].contains("SECRETVALUE"),
            "the signature must not be echoed"
        );
    }

    #[test]
    fn short_callback_timeouts_warn_and_continue_needs_no_identity() {
        let flags = RegisterFlags {
            callback_timeout: Some("PT10M".into()),
            ..full_flags()
        };
        assert_eq!(resolve(&flags, None).unwrap().warnings.len(), 1);
        let flags = RegisterFlags {
            identity_client_id: None,
            launch_and_continue: true,
            ..full_flags()
        };
        assert_eq!(
            resolve(&flags, None).unwrap().extension.completion,
            Completion::LaunchAndContinue
        );
    }
}
