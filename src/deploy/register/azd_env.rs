//! Reading an azd environment: `.azure/<env>/.env`, and `.azure/config.json` for the default.
//!
//! `azd provision` writes every output of `infra/main.bicep` into the environment file (contract
//! A of the deployment), so registration can take all its inputs from there instead of asking
//! the user to copy ids by hand.
//!
//! azd writes the file with Go's godotenv: `NAME="value"` with `\\`, `\"`, `\n`, `\r`, `\!`, `\$`
//! and `` \` `` escaped inside double quotes (bare numbers unquoted). The `dotenvy` crate rejects
//! the `\!` and `` \` `` escapes and substitutes `$NAME` from the process environment, so this
//! module reads that one format itself; it never touches the process environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The deployment outputs registration reads (contract A).
pub mod outputs {
    /// Subscription of the deployment.
    pub const AZURE_SUBSCRIPTION_ID: &str = "AZURE_SUBSCRIPTION_ID";
    /// Resource group of the deployment.
    pub const AZURE_RESOURCE_GROUP: &str = "AZURE_RESOURCE_GROUP";
    /// The `logicAppWorkflowName` to register.
    pub const EXTENSION_LOGIC_APP_NAME: &str = "EXTENSION_LOGIC_APP_NAME";
    /// The `url` to register.
    pub const EXTENSION_ENDPOINT_URL: &str = "EXTENSION_ENDPOINT_URL";
    /// Client id of the function's user-assigned managed identity (goes into `authorizedApps`).
    pub const IDENTITY_CLIENT_ID: &str = "IDENTITY_CLIENT_ID";
}

/// Folder azd keeps its environments in, under the project folder.
const AZURE_DIR: &str = ".azure";
/// azd's project-level configuration, naming the default environment.
const CONFIG_FILE: &str = "config.json";
/// The environment file inside `.azure/<env>/`.
const ENV_FILE: &str = ".env";

/// An azd environment could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AzdEnvError {
    /// `--azd-env` names an environment whose file does not exist.
    #[error(
        "--azd-env {name}: {path} does not exist (run `azd provision` first, or check the name with `azd env list`)"
    )]
    NotFound {
        /// The environment name.
        name: String,
        /// The file looked for.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read the azd environment file {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A line is not `NAME=value`.
    #[error("{path} line {line}: {problem}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong (never the value: the file may hold secrets of other tools).
        problem: &'static str,
    },
    /// `--azd-env` is not a plain folder name.
    #[error("--azd-env {0:?} is not an environment name (letters, digits, '-', '_' and '.')")]
    BadName(String),
}

/// The values of one azd environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzdEnv {
    /// The environment's name.
    pub name: String,
    /// The file the values came from.
    pub path: PathBuf,
    values: BTreeMap<String, String>,
}

impl AzdEnv {
    /// Reads `<project>/.azure/<name>/.env`.
    pub fn load(project: &Path, name: &str) -> Result<AzdEnv, AzdEnvError> {
        if name.is_empty()
            || name.starts_with('.')
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(AzdEnvError::BadName(name.to_owned()));
        }
        let path = project.join(AZURE_DIR).join(name).join(ENV_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AzdEnvError::NotFound {
                    name: name.to_owned(),
                    path,
                });
            }
            Err(e) => {
                return Err(AzdEnvError::Unreadable {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        let values = parse(&text).map_err(|(line, problem)| AzdEnvError::Malformed {
            path: path.clone(),
            line,
            problem,
        })?;
        Ok(AzdEnv {
            name: name.to_owned(),
            path,
            values,
        })
    }

    /// A value; empty values count as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// An environment from values in memory (tests).
    #[cfg(test)]
    pub(crate) fn from_pairs(name: &str, pairs: &[(&str, &str)]) -> AzdEnv {
        AzdEnv {
            name: name.to_owned(),
            path: PathBuf::from(format!(".azure/{name}/.env")),
            values: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }
}

/// The default environment named by `<project>/.azure/config.json` (`defaultEnvironment`), if
/// that file exists and names one.
pub fn default_environment(project: &Path) -> Option<String> {
    let text = std::fs::read_to_string(project.join(AZURE_DIR).join(CONFIG_FILE)).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    config
        .get("defaultEnvironment")?
        .as_str()
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

/// Parses godotenv's output; an error carries the 1-based line and the problem.
fn parse(text: &str) -> Result<BTreeMap<String, String>, (usize, &'static str)> {
    let mut values = BTreeMap::new();
    for (index, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (name, value) = line
            .split_once('=')
            .ok_or((index + 1, "expected NAME=value"))?;
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err((index + 1, "the name before '=' is empty or has spaces"));
        }
        let value = unquote(value.trim()).map_err(|problem| (index + 1, problem))?;
        values.insert(name.to_owned(), value);
    }
    Ok(values)
}

/// `"…"` with godotenv's escapes, `'…'` verbatim, or a bare value up to a ` #` comment.
fn unquote(value: &str) -> Result<String, &'static str> {
    if let Some(inner) = value.strip_prefix('"') {
        let inner = inner
            .strip_suffix('"')
            .ok_or("a double-quoted value has no closing quote")?;
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(escaped @ ('\\' | '"' | '!' | '$' | '`')) => out.push(escaped),
                Some(other) => {
                    // godotenv keeps unknown escapes as written.
                    out.push('\\');
                    out.push(other);
                }
                None => return Err("a double-quoted value ends with a lone backslash"),
            }
        }
        return Ok(out);
    }
    if let Some(inner) = value.strip_prefix('\'') {
        return inner
            .strip_suffix('\'')
            .map(str::to_owned)
            .ok_or("a single-quoted value has no closing quote");
    }
    let bare = value.split(" #").next().unwrap_or_default();
    Ok(bare.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_azd_writes() {
        let text = concat!(
            "AZURE_ENV_NAME=\"dev\"\n",
            "AZURE_SUBSCRIPTION_ID=\"c500b67c-e9b7-4ad2-a90d-77d41385ae55\"\n",
            "EXTENSION_ENDPOINT_URL=\"https://func-x.azurewebsites.net/api/lifecycle/callout\"\n",
            "ESCAPED=\"a\\\"b\\\\c\\!d\\$e\\`f\\ng\"\n",
            "NUMBER=42\n",
            "\n# a comment\n",
            "export SINGLE='x \"y\"'\n",
            "BARE=plain # trailing comment\n",
        );
        let values = parse(text).unwrap();
        assert_eq!(values["AZURE_ENV_NAME"], "dev");
        assert_eq!(
            values["EXTENSION_ENDPOINT_URL"],
            "https://func-x.azurewebsites.net/api/lifecycle/callout"
        );
        assert_eq!(values["ESCAPED"], "a\"b\\c!d$e`f\ng");
        assert_eq!(values["NUMBER"], "42");
        assert_eq!(values["SINGLE"], "x \"y\"");
        assert_eq!(values["BARE"], "plain");
    }

    #[test]
    fn malformed_lines_are_named_by_number() {
        assert_eq!(
            parse("A=\"1\"\nnot a pair\n"),
            Err((2, "expected NAME=value"))
        );
        assert_eq!(
            parse("A=\"open\n").unwrap_err().1,
            "a double-quoted value has no closing quote"
        );
    }

    #[test]
    fn loads_files_and_the_default_environment() {
        let project = std::env::temp_dir().join(format!("lcw-azd-env-{}", std::process::id()));
        let env_dir = project.join(".azure").join("dev");
        std::fs::create_dir_all(&env_dir).unwrap();
        std::fs::write(
            env_dir.join(".env"),
            "AZURE_RESOURCE_GROUP=\"rg-lcw\"\nEMPTY=\"\"\n",
        )
        .unwrap();
        std::fs::write(
            project.join(".azure").join("config.json"),
            r#"{"version":1,"defaultEnvironment":"dev"}"#,
        )
        .unwrap();

        assert_eq!(default_environment(&project).as_deref(), Some("dev"));
        let env = AzdEnv::load(&project, "dev").unwrap();
        assert_eq!(env.get(outputs::AZURE_RESOURCE_GROUP), Some("rg-lcw"));
        assert_eq!(env.get("EMPTY"), None, "empty values count as unset");
        let missing = AzdEnv::load(&project, "prod").unwrap_err().to_string();
        assert!(
            missing.contains("--azd-env prod") && missing.contains("azd provision"),
            "{missing}"
        );
        assert!(matches!(
            AzdEnv::load(&project, "../dev"),
            Err(AzdEnvError::BadName(_))
        ));
        std::fs::remove_dir_all(&project).unwrap();
    }
}
