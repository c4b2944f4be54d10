//! The app settings that must match the registration, and whether the deployed ones do.
//!
//! The handler cannot learn the registration from the callout: it checks the PoP `p` claim
//! against `LCW_POP_PATH` and plans its deadline from `LCW_CALLBACK_TIMEOUT`. A registration
//! that disagrees with them fails every callout (401) or resumes too late, so registration
//! prints both and compares them with the deployed values it can see: the azd environment file
//! (the infrastructure outputs the values it set) or `--app-setting NAME=VALUE`. Registration
//! cannot read the function app's live settings without an ARM call, so that is all it compares.

use std::fmt;
use std::path::PathBuf;

use super::extension::{Completion, ExtensionSpec};
use super::pop_path::same_pop_path;
use crate::iso_duration;
use crate::settings::{LCW_CALLBACK_TIMEOUT, LCW_POP_PATH};

/// The settings `--app-setting` may name.
pub const COMPARED_SETTINGS: [&str; 2] = [LCW_POP_PATH, LCW_CALLBACK_TIMEOUT];

/// Where a deployed value was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingSource {
    /// An azd environment file.
    AzdEnv(PathBuf),
    /// `--app-setting NAME=VALUE`.
    Flag,
}

impl fmt::Display for SettingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingSource::AzdEnv(path) => write!(f, "{}", path.display()),
            SettingSource::Flag => f.write_str("--app-setting"),
        }
    }
}

/// Deployed values known to registration; a later [`insert`](Self::insert) of the same name
/// wins, so `--app-setting` overrides the azd file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployedSettings {
    values: Vec<(&'static str, String, SettingSource)>,
}

impl DeployedSettings {
    /// Records a deployed value of one of [`COMPARED_SETTINGS`].
    pub fn insert(&mut self, name: &'static str, value: String, source: SettingSource) {
        self.values.retain(|(n, _, _)| *n != name);
        self.values.push((name, value, source));
    }

    fn get(&self, name: &str) -> Option<(&str, &SettingSource)> {
        self.values
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, v, s)| (v.as_str(), s))
    }
}

/// How one required setting compares with the deployed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The deployed value means the same.
    Matches(SettingSource),
    /// The deployed value differs: the handler will not accept this registration's callouts
    /// (or will plan the wrong deadline) until it is changed.
    Differs {
        /// The deployed value.
        deployed: String,
        /// Where it was read.
        source: SettingSource,
    },
    /// No deployed value is known.
    NotKnown,
}

/// One setting the function app needs for this registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingCheck {
    /// The app setting.
    pub name: &'static str,
    /// The value this registration needs.
    pub required: String,
    /// How the deployed value compares.
    pub verdict: Verdict,
}

/// The settings `spec` needs, each compared with `deployed`. The callback timeout only matters
/// when LCW waits for a resume.
pub fn check(spec: &ExtensionSpec, deployed: &DeployedSettings) -> Vec<SettingCheck> {
    let mut required = vec![(LCW_POP_PATH, spec.endpoint.pop_path())];
    if let Completion::LaunchAndWait {
        timeout_duration, ..
    } = &spec.completion
    {
        required.push((LCW_CALLBACK_TIMEOUT, timeout_duration.clone()));
    }
    required
        .into_iter()
        .map(|(name, value)| {
            let verdict = match deployed.get(name) {
                None => Verdict::NotKnown,
                Some((deployed, source)) if same_value(name, deployed, &value) => {
                    Verdict::Matches(source.clone())
                }
                Some((deployed, source)) => Verdict::Differs {
                    deployed: deployed.to_owned(),
                    source: source.clone(),
                },
            };
            SettingCheck {
                name,
                required: value,
                verdict,
            }
        })
        .collect()
}

/// Equality as the handler reads each setting: the PoP path as an ARM path, the timeout as a
/// duration (`PT30M` = `PT0.5H`).
fn same_value(name: &str, deployed: &str, required: &str) -> bool {
    if name == LCW_POP_PATH {
        return same_pop_path(deployed, required);
    }
    match (
        iso_duration::parse(deployed.trim()),
        iso_duration::parse(required),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::register::extension::sample_spec;

    #[test]
    fn unknown_matching_and_differing_values() {
        let spec = sample_spec();
        let mut deployed = DeployedSettings::default();
        let checks = check(&spec, &deployed);
        assert_eq!(
            checks.iter().map(|c| c.name).collect::<Vec<_>>(),
            [LCW_POP_PATH, LCW_CALLBACK_TIMEOUT]
        );
        assert!(checks.iter().all(|c| c.verdict == Verdict::NotKnown));

        let azd = SettingSource::AzdEnv(".azure/dev/.env".into());
        deployed.insert(
            LCW_POP_PATH,
            spec.endpoint.pop_path().to_uppercase(),
            azd.clone(),
        );
        deployed.insert(LCW_CALLBACK_TIMEOUT, "PT0.5H".into(), azd.clone());
        let checks = check(&spec, &deployed);
        assert!(
            checks
                .iter()
                .all(|c| c.verdict == Verdict::Matches(azd.clone())),
            "{checks:?}"
        );

        deployed.insert(LCW_CALLBACK_TIMEOUT, "PT1H".into(), SettingSource::Flag);
        let checks = check(&spec, &deployed);
        assert_eq!(
            checks[1].verdict,
            Verdict::Differs {
                deployed: "PT1H".into(),
                source: SettingSource::Flag
            },
            "--app-setting overrides the azd file"
        );
    }

    #[test]
    fn launch_and_continue_needs_no_callback_timeout() {
        let spec = ExtensionSpec {
            completion: Completion::LaunchAndContinue,
            ..sample_spec()
        };
        let checks = check(&spec, &DeployedSettings::default());
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].name, LCW_POP_PATH);
    }
}
