//! Reads `host.json` and every `function.json` the way the Functions host binds them
//! (docs/protocol.md §8.1, §8.2): keys case-insensitively, `%VAR%` expansion from app settings, and
//! defaults of the real host. Anything the emulator cannot honour is a [`HostError`] naming the
//! file and key, rather than a silently different behaviour.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::HostError;

/// Default `extensions.http.routePrefix`.
const DEFAULT_ROUTE_PREFIX: &str = "api";
/// Default `extensions.queues.maxDequeueCount` (first try included).
const DEFAULT_MAX_DEQUEUE_COUNT: u32 = 5;
/// Default `extensions.queues.batchSize`, and its maximum.
const DEFAULT_BATCH_SIZE: usize = 16;
const MAX_BATCH_SIZE: usize = 32;
/// Default `functionTimeout` on Premium, Dedicated and Flex plans (Consumption is 5 min).
const DEFAULT_FUNCTION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// App settings and the process environment, in that order, for `%VAR%` expansion.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) app_settings: Vec<(String, String)>,
}

impl Settings {
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.app_settings
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    }

    /// Expands `%VAR%` like .NET's `Environment.ExpandEnvironmentVariables`: unknown names are
    /// left as they are.
    pub(crate) fn expand(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find('%') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            match after.find('%') {
                Some(end) if end > 0 => {
                    let name = &after[..end];
                    match self.get(name) {
                        Some(value) => {
                            out.push_str(&value);
                            rest = &after[end + 1..];
                        }
                        None => {
                            out.push('%');
                            out.push_str(name);
                            rest = &after[end..];
                        }
                    }
                }
                _ => {
                    out.push('%');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// `extensions.queues`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueueSettings {
    pub(crate) max_dequeue_count: u32,
    pub(crate) visibility_timeout: Duration,
    pub(crate) batch_size: usize,
    /// How message bodies are stored. Every message in the emulator is written and read by
    /// the same host, so it only matters for the size limit (base64 grows a message by 4/3).
    pub(crate) message_encoding: MessageEncoding,
}

/// `extensions.queues.messageEncoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageEncoding {
    Base64,
    None,
}

/// What the emulator uses from `host.json`.
#[derive(Debug, Clone)]
pub(crate) struct HostConfig {
    /// `customHandler.description.defaultExecutablePath`, `%VAR%`-expanded.
    pub(crate) executable: String,
    /// `customHandler.description.arguments`, expanded, joined with spaces without quoting and
    /// split again, which is what the host's unquoted join amounts to.
    pub(crate) arguments: Vec<String>,
    /// `customHandler.description.workingDirectory`, relative to the app root.
    pub(crate) working_directory: Option<String>,
    /// The host.json setting enabling forwarding or proxying, if any.
    pub(crate) forwarding_setting: Option<&'static str>,
    pub(crate) route_prefix: String,
    pub(crate) queues: QueueSettings,
    /// `None` means unbounded (`-1`).
    pub(crate) function_timeout: Option<Duration>,
}

/// One function folder.
#[derive(Debug, Clone)]
pub(crate) struct FunctionConfig {
    pub(crate) name: String,
    pub(crate) trigger: Trigger,
    pub(crate) outputs: Vec<OutputBinding>,
}

impl FunctionConfig {
    /// Whether this function qualifies for forwarding/proxying (docs/protocol.md §8.8): exactly one
    /// `httpTrigger` input and one `http` output, nothing else.
    pub(crate) fn qualifies_for_forwarding(&self) -> bool {
        matches!(self.trigger, Trigger::Http(_))
            && self.outputs.len() == 1
            && matches!(self.outputs[0].kind, OutputKind::Http)
    }
}

/// The trigger binding.
#[derive(Debug, Clone)]
pub(crate) enum Trigger {
    Http(HttpTrigger),
    Queue(QueueTrigger),
}

/// An `httpTrigger` binding.
#[derive(Debug, Clone)]
pub(crate) struct HttpTrigger {
    pub(crate) name: String,
    /// Upper-case; empty means every method.
    pub(crate) methods: Vec<String>,
    pub(crate) route: String,
    /// Read for fidelity; keys are not enforced (like Core Tools running locally).
    #[allow(dead_code)]
    pub(crate) auth_level: String,
}

/// A `queueTrigger` binding.
#[derive(Debug, Clone)]
pub(crate) struct QueueTrigger {
    pub(crate) name: String,
    pub(crate) queue_name: String,
}

/// An output binding.
#[derive(Debug, Clone)]
pub(crate) struct OutputBinding {
    pub(crate) name: String,
    pub(crate) kind: OutputKind,
    /// `"dataType": "binary"`: exempt from the base64 pitfall.
    pub(crate) binary: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum OutputKind {
    Http,
    Queue {
        queue_name: String,
    },
    /// A binding type the emulator does not carry out; its values are recorded and dropped.
    Other {
        binding_type: String,
    },
}

/// A JSON object member looked up case-insensitively, as the host binds configuration.
pub(crate) fn get_ci<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn get_path<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| get_ci(v, key))
}

fn read_json(path: &Path) -> Result<Value, HostError> {
    let text = std::fs::read_to_string(path).map_err(|source| HostError::Read {
        path: path.to_owned(),
        source,
    })?;
    // host.json and function.json may start with a UTF-8 byte order mark (Windows editors).
    serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|source| HostError::Json {
        path: path.to_owned(),
        source,
    })
}

fn config_error(path: &Path, key: &str, reason: impl Into<String>) -> HostError {
    HostError::Config {
        path: path.to_owned(),
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// A string-valued key, if present.
fn opt_str(value: &Value, path: &Path, keys: &[&str]) -> Result<Option<String>, HostError> {
    match get_path(value, keys) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(config_error(
            path,
            &keys.join("."),
            format!("must be a string, found {other}"),
        )),
    }
}

fn opt_bool(value: &Value, path: &Path, keys: &[&str]) -> Result<bool, HostError> {
    match get_path(value, keys) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(config_error(
            path,
            &keys.join("."),
            format!("must be true or false, found {other}"),
        )),
    }
}

fn opt_u64(value: &Value, path: &Path, keys: &[&str]) -> Result<Option<u64>, HostError> {
    match get_path(value, keys) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
        Some(Value::String(s)) if s.parse::<u64>().is_ok() => Ok(s.parse().ok()),
        Some(other) => Err(config_error(
            path,
            &keys.join("."),
            format!("must be a non-negative integer, found {other}"),
        )),
    }
}

/// Parses a .NET `TimeSpan` as host.json writes it: `hh:mm:ss`, `hh:mm:ss.fffffff` or
/// `d.hh:mm:ss`.
pub(crate) fn parse_timespan(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (days, clock) = match text.split_once('.') {
        Some((d, rest)) if !d.contains(':') => (d.parse::<u64>().ok()?, rest),
        _ => (0, text),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let [h, m, s] = parts.as_slice() else {
        return None;
    };
    let hours: u64 = h.parse().ok()?;
    let minutes: u64 = m.parse().ok()?;
    let seconds: f64 = s.parse().ok()?;
    if hours > 23 && days > 0 || minutes > 59 || !(0.0..60.0).contains(&seconds) {
        return None;
    }
    let whole = days * 86_400 + hours * 3_600 + minutes * 60;
    Some(Duration::from_secs(whole) + Duration::from_secs_f64(seconds))
}

fn opt_timespan(value: &Value, path: &Path, keys: &[&str]) -> Result<Option<Duration>, HostError> {
    match opt_str(value, path, keys)? {
        None => Ok(None),
        Some(text) => parse_timespan(&text).map(Some).ok_or_else(|| {
            config_error(
                path,
                &keys.join("."),
                format!("must be a time span like \"00:05:00\", found {text:?}"),
            )
        }),
    }
}

/// Reads `<app_root>/host.json`.
pub(crate) fn load_host(app_root: &Path, settings: &Settings) -> Result<HostConfig, HostError> {
    let path = app_root.join("host.json");
    let json = read_json(&path)?;
    let description = ["customHandler", "description"];

    let executable = opt_str(
        &json,
        &path,
        &[description[0], description[1], "defaultExecutablePath"],
    )?
    .filter(|s| !s.trim().is_empty())
    .map(|s| settings.expand(&s));
    let executable = executable.ok_or_else(|| {
        config_error(
            &path,
            "customHandler.description.defaultExecutablePath",
            "is required",
        )
    })?;

    let arguments = match get_path(&json, &[description[0], description[1], "arguments"]) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut joined = Vec::new();
            for item in items {
                let Some(text) = item.as_str() else {
                    return Err(config_error(
                        &path,
                        "customHandler.description.arguments",
                        "must be an array of strings",
                    ));
                };
                joined.push(settings.expand(text));
            }
            joined
                .join(" ")
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        }
        Some(_) => {
            return Err(config_error(
                &path,
                "customHandler.description.arguments",
                "must be an array of strings",
            ));
        }
    };
    let working_directory = opt_str(
        &json,
        &path,
        &[description[0], description[1], "workingDirectory"],
    )?
    .filter(|s| !s.is_empty())
    .map(|s| settings.expand(&s));

    // Proxying wins over forwarding when both are on (2025+ hosts).
    let forwarding_setting = if opt_bool(
        &json,
        &path,
        &["customHandler", "enableProxyingHttpRequest"],
    )? {
        Some("enableProxyingHttpRequest")
    } else if opt_bool(
        &json,
        &path,
        &["customHandler", "enableForwardingHttpRequest"],
    )? {
        Some("enableForwardingHttpRequest")
    } else {
        None
    };

    let route_prefix = opt_str(&json, &path, &["extensions", "http", "routePrefix"])?
        .unwrap_or_else(|| DEFAULT_ROUTE_PREFIX.to_owned())
        .trim_matches('/')
        .to_owned();

    let queues_key = ["extensions", "queues"];
    let max_dequeue_count = match opt_u64(
        &json,
        &path,
        &[queues_key[0], queues_key[1], "maxDequeueCount"],
    )? {
        None => DEFAULT_MAX_DEQUEUE_COUNT,
        Some(n) if (1..=u64::from(u32::MAX)).contains(&n) => n as u32,
        Some(_) => {
            return Err(config_error(
                &path,
                "extensions.queues.maxDequeueCount",
                "must be at least 1",
            ));
        }
    };
    let visibility_timeout = opt_timespan(
        &json,
        &path,
        &[queues_key[0], queues_key[1], "visibilityTimeout"],
    )?
    .unwrap_or(Duration::ZERO);
    let batch_size = match opt_u64(&json, &path, &[queues_key[0], queues_key[1], "batchSize"])? {
        None => DEFAULT_BATCH_SIZE,
        Some(n) if (1..=MAX_BATCH_SIZE as u64).contains(&n) => n as usize,
        Some(_) => {
            return Err(config_error(
                &path,
                "extensions.queues.batchSize",
                format!("must be between 1 and {MAX_BATCH_SIZE}"),
            ));
        }
    };
    let message_encoding = match opt_str(
        &json,
        &path,
        &[queues_key[0], queues_key[1], "messageEncoding"],
    )? {
        None => MessageEncoding::Base64,
        Some(s) if s.eq_ignore_ascii_case("base64") => MessageEncoding::Base64,
        Some(s) if s.eq_ignore_ascii_case("none") => MessageEncoding::None,
        Some(other) => {
            return Err(config_error(
                &path,
                "extensions.queues.messageEncoding",
                format!("must be \"base64\" or \"none\", found {other:?}"),
            ));
        }
    };

    let function_timeout = match opt_str(&json, &path, &["functionTimeout"])? {
        None => Some(DEFAULT_FUNCTION_TIMEOUT),
        Some(text) if text.trim() == "-1" => None,
        Some(text) => Some(parse_timespan(&text).ok_or_else(|| {
            config_error(
                &path,
                "functionTimeout",
                format!("must be a time span like \"00:10:00\" or \"-1\", found {text:?}"),
            )
        })?),
    };

    Ok(HostConfig {
        executable,
        arguments,
        working_directory,
        forwarding_setting,
        route_prefix,
        queues: QueueSettings {
            max_dequeue_count,
            visibility_timeout,
            batch_size,
            message_encoding,
        },
        function_timeout,
    })
}

/// Reads `<functions_dir>/<name>/function.json` for every sub-folder that has one, in name
/// order. Functions disabled by `"disabled": true` or the app setting
/// `AzureWebJobs.<name>.Disabled` are skipped, as the host does.
pub(crate) fn load_functions(
    functions_dir: &Path,
    settings: &Settings,
) -> Result<Vec<FunctionConfig>, HostError> {
    let entries = std::fs::read_dir(functions_dir).map_err(|source| HostError::Read {
        path: functions_dir.to_owned(),
        source,
    })?;
    let mut folders = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| HostError::Read {
            path: functions_dir.to_owned(),
            source,
        })?;
        let folder = entry.path();
        if folder.join("function.json").is_file() {
            folders.push(folder);
        }
    }
    folders.sort();

    let mut functions = Vec::new();
    for folder in folders {
        let name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = folder.join("function.json");
        let json = read_json(&path)?;
        let disabled_setting = settings
            .get(&format!("AzureWebJobs.{name}.Disabled"))
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        if opt_bool(&json, &path, &["disabled"])? || disabled_setting {
            tracing::debug!(function = %name, "function disabled; skipped");
            continue;
        }
        functions.push(parse_function(&name, &path, &json, settings)?);
    }
    Ok(functions)
}

fn parse_function(
    name: &str,
    path: &Path,
    json: &Value,
    settings: &Settings,
) -> Result<FunctionConfig, HostError> {
    let bindings = match get_ci(json, "bindings") {
        Some(Value::Array(bindings)) => bindings,
        _ => return Err(config_error(path, "bindings", "must be an array")),
    };
    let mut trigger = None;
    let mut outputs = Vec::new();
    for (index, binding) in bindings.iter().enumerate() {
        let key = |field: &str| format!("bindings[{index}].{field}");
        let field = |field: &str| -> Result<Option<String>, HostError> {
            match get_ci(binding, field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(config_error(path, &key(field), "must be a string")),
            }
        };
        let binding_type =
            field("type")?.ok_or_else(|| config_error(path, &key("type"), "is required"))?;
        let binding_name =
            field("name")?.ok_or_else(|| config_error(path, &key("name"), "is required"))?;
        let direction = field("direction")?.unwrap_or_default();
        let queue_name = || -> Result<String, HostError> {
            let raw = field("queueName")?
                .ok_or_else(|| config_error(path, &key("queueName"), "is required"))?;
            resolve_queue_name(&raw, settings)
                .map_err(|reason| config_error(path, &key("queueName"), reason))
        };

        if binding_type.to_ascii_lowercase().ends_with("trigger") {
            if trigger.is_some() {
                return Err(config_error(
                    path,
                    &key("type"),
                    "a function has exactly one trigger",
                ));
            }
            trigger = Some(match binding_type.to_ascii_lowercase().as_str() {
                "httptrigger" => {
                    let methods = match get_ci(binding, "methods") {
                        None | Some(Value::Null) => Vec::new(),
                        Some(Value::Array(items)) => items
                            .iter()
                            .map(|m| m.as_str().map(str::to_ascii_uppercase))
                            .collect::<Option<Vec<_>>>()
                            .ok_or_else(|| {
                                config_error(path, &key("methods"), "must be an array of strings")
                            })?,
                        Some(_) => {
                            return Err(config_error(
                                path,
                                &key("methods"),
                                "must be an array of strings",
                            ));
                        }
                    };
                    Trigger::Http(HttpTrigger {
                        name: binding_name,
                        methods,
                        route: field("route")?
                            .map(|r| r.trim_matches('/').to_owned())
                            .unwrap_or_else(|| name.to_owned()),
                        auth_level: field("authLevel")?.unwrap_or_else(|| "function".to_owned()),
                    })
                }
                "queuetrigger" => Trigger::Queue(QueueTrigger {
                    name: binding_name,
                    queue_name: queue_name()?,
                }),
                _ => {
                    return Err(config_error(
                        path,
                        &key("type"),
                        format!(
                            "trigger type {binding_type:?} is not emulated (httpTrigger and queueTrigger are)"
                        ),
                    ));
                }
            });
        } else if direction.eq_ignore_ascii_case("out") {
            let binary = field("dataType")?.is_some_and(|t| t.eq_ignore_ascii_case("binary"));
            let kind = match binding_type.to_ascii_lowercase().as_str() {
                "http" => OutputKind::Http,
                "queue" => OutputKind::Queue {
                    queue_name: queue_name()?,
                },
                _ => OutputKind::Other {
                    binding_type: binding_type.clone(),
                },
            };
            outputs.push(OutputBinding {
                name: binding_name,
                kind,
                binary,
            });
        } else {
            return Err(config_error(
                path,
                &key("type"),
                format!("input binding {binding_type:?} is not emulated"),
            ));
        }
    }
    let trigger =
        trigger.ok_or_else(|| config_error(path, "bindings", "has no trigger binding"))?;
    Ok(FunctionConfig {
        name: name.to_owned(),
        trigger,
        outputs,
    })
}

/// Resolves `%Setting%` binding expressions (which, unlike `%VAR%` in host.json, must resolve)
/// and checks the result is a valid Storage queue name.
fn resolve_queue_name(raw: &str, settings: &Settings) -> Result<String, String> {
    let resolved = settings.expand(raw);
    if resolved.contains('%') {
        return Err(format!("{raw:?} refers to an app setting that is not set"));
    }
    let valid = (3..=63).contains(&resolved.len())
        && resolved
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !resolved.starts_with('-')
        && !resolved.ends_with('-')
        && !resolved.contains("--");
    if valid {
        Ok(resolved)
    } else {
        Err(format!(
            "{resolved:?} is not a valid queue name (3-63 lower-case letters, digits and single hyphens)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings() -> Settings {
        Settings {
            app_settings: vec![("HANDLER".into(), "bin/handler".into())],
        }
    }

    #[test]
    fn timespans_parse_like_dotnet() {
        assert_eq!(parse_timespan("00:00:00"), Some(Duration::ZERO));
        assert_eq!(parse_timespan("00:05:30"), Some(Duration::from_secs(330)));
        assert_eq!(
            parse_timespan("1.02:00:00"),
            Some(Duration::from_secs(93_600))
        );
        assert_eq!(
            parse_timespan("00:00:00.5"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_timespan("5 minutes"), None);
        assert_eq!(parse_timespan("00:61:00"), None);
    }

    #[test]
    fn expansion_leaves_unknown_variables() {
        let s = settings();
        assert_eq!(s.expand("%HANDLER%"), "bin/handler");
        assert_eq!(
            s.expand("x %LCW_EMULATOR_SURELY_UNSET% y"),
            "x %LCW_EMULATOR_SURELY_UNSET% y"
        );
        assert_eq!(s.expand("100%"), "100%");
    }

    #[test]
    fn keys_bind_case_insensitively() {
        let value = json!({"CustomHandler": {"Description": {"DefaultExecutablePath": "x"}}});
        assert_eq!(
            get_path(
                &value,
                &["customHandler", "description", "defaultExecutablePath"]
            ),
            Some(&json!("x"))
        );
    }

    #[test]
    fn function_json_errors_name_the_key() {
        let path = Path::new("f/function.json");
        let json = json!({"bindings": [{"type": "queueTrigger", "name": "m", "direction": "in"}]});
        let error = parse_function("f", path, &json, &settings()).unwrap_err();
        assert!(
            error.to_string().contains("bindings[0].queueName"),
            "{error}"
        );

        let bad_queue =
            json!({"bindings": [{"type": "queueTrigger", "name": "m", "queueName": "Bad_Name"}]});
        let error = parse_function("f", path, &bad_queue, &settings()).unwrap_err();
        assert!(
            error.to_string().contains("not a valid queue name"),
            "{error}"
        );
    }

    #[test]
    fn http_route_defaults_to_folder_name() {
        let json = json!({"bindings": [
            {"type": "httpTrigger", "name": "req", "direction": "in", "methods": ["post"]},
            {"type": "http", "name": "res", "direction": "out"}
        ]});
        let function = parse_function("callout", Path::new("x"), &json, &settings()).unwrap();
        let Trigger::Http(http) = &function.trigger else {
            panic!("expected an HTTP trigger");
        };
        assert_eq!(http.route, "callout");
        assert_eq!(http.methods, vec!["POST".to_owned()]);
        assert!(function.qualifies_for_forwarding());
    }
}
