//! The few `host.json` values the handler must agree with the host on.
//!
//! The attempt limit decides when a task is resumed `failed` instead of retried. Reading it
//! from the very `host.json` the host reads (found through `FUNCTIONS_APP_ROOT_PATH`) means the
//! two can never disagree.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::json_keys::lowercase_keys;

/// The host's default `maxDequeueCount` (docs/protocol.md §8.10).
pub const DEFAULT_MAX_DEQUEUE_COUNT: u32 = 5;

/// What the handler takes from `host.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostJson {
    /// `extensions.queues.maxDequeueCount`: deliveries of a queue message, the first included.
    pub max_dequeue_count: u32,
}

/// `host.json` is missing or unusable.
#[derive(Debug, thiserror::Error)]
pub enum HostJsonError {
    /// The file cannot be read.
    #[error(
        "cannot read {path}: {source} (FUNCTIONS_APP_ROOT_PATH must name the function app root)"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not JSON or a value is out of range.
    #[error("{path}: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

impl HostJson {
    /// Reads `host.json` in `app_root`.
    pub fn read(app_root: &Path) -> Result<HostJson, HostJsonError> {
        let path = app_root.join("host.json");
        let text = std::fs::read_to_string(&path).map_err(|source| HostJsonError::Read {
            path: path.clone(),
            source,
        })?;
        HostJson::parse(&text).map_err(|problem| HostJsonError::Invalid { path, problem })
    }

    /// Parses the text of `host.json`; keys are case-insensitive, as the host binds them.
    pub fn parse(text: &str) -> Result<HostJson, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let value = lowercase_keys(value);
        let max = value
            .pointer("/extensions/queues/maxdequeuecount")
            .map(|v| match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            });
        let max_dequeue_count = match max {
            None => DEFAULT_MAX_DEQUEUE_COUNT,
            Some(Some(n)) if (1..=1000).contains(&n) => n as u32,
            Some(_) => {
                return Err(
                    "extensions.queues.maxDequeueCount must be a whole number from 1 to 1000"
                        .to_owned(),
                );
            }
        };
        Ok(HostJson { max_dequeue_count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_max_dequeue_count_case_insensitively() {
        assert_eq!(
            HostJson::parse(r#"{"Extensions":{"Queues":{"MaxDequeueCount":3}}}"#),
            Ok(HostJson {
                max_dequeue_count: 3
            })
        );
        assert_eq!(
            HostJson::parse(r#"{"version":"2.0"}"#),
            Ok(HostJson {
                max_dequeue_count: 5
            })
        );
        assert!(HostJson::parse(r#"{"extensions":{"queues":{"maxDequeueCount":0}}}"#).is_err());
        assert!(HostJson::parse("not json").is_err());
    }

    #[test]
    fn the_repository_host_json_is_what_the_handler_reads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let host = HostJson::read(root).expect("host.json at the repository root");
        assert!(host.max_dequeue_count >= 2, "a retry must be possible");
    }
}
