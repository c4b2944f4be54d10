//! The function app as a crate declares it: `host.json` at the crate root and one folder per
//! function under `function/`, each with its `function.json`.
//!
//! The source tree keeps the functions under `function/` so the crate root stays tidy; the
//! Functions host wants them at the app root, so the package flattens
//! `function/<name>/function.json` to `<name>/function.json`. The executable goes where
//! `host.json` says the host will look for it (`customHandler.description.defaultExecutablePath`,
//! resolved against the app root), which must therefore name a place inside the app.

use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::json_keys::lowercase_keys;

/// The folder, under the crate root, holding one sub-folder per function.
pub const FUNCTIONS_DIR: &str = "function";
/// The host configuration file, at the crate root and at the app root.
pub const HOST_JSON: &str = "host.json";
/// Each function's binding file.
pub const FUNCTION_JSON: &str = "function.json";

/// `host.json`'s key naming the executable, as errors spell it.
const EXECUTABLE_KEY: &str = "customHandler.description.defaultExecutablePath";

/// One function folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The folder name: the function's name.
    pub name: String,
    /// `function.json`, verbatim.
    pub function_json: Vec<u8>,
}

/// `host.json` and the functions, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionApp {
    /// `host.json`, verbatim.
    pub host_json: Vec<u8>,
    /// Where the executable goes, relative to the app root, with `/` separators.
    pub executable: String,
    /// The functions, sorted by name.
    pub functions: Vec<Function>,
}

/// The crate's function app files are missing or unusable.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A file or folder cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A JSON file does not parse or lacks what the host needs.
    #[error("{path}: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// `defaultExecutablePath` does not name a place inside the app.
    #[error(
        "host.json {EXECUTABLE_KEY} = {value:?} {problem}; the package puts the binary at that path inside the app, so it must be a plain relative path such as \"lcw-handler\""
    )]
    ExecutablePath {
        /// The value as written.
        value: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// No function folder.
    #[error("{dir} holds no function folder (a sub-folder with a function.json)")]
    NoFunctions {
        /// The `function/` folder.
        dir: PathBuf,
    },
}

impl FunctionApp {
    /// Reads `host.json` and `function/*/function.json` under the crate root.
    pub fn read(crate_root: &Path) -> Result<FunctionApp, AppError> {
        let host_path = crate_root.join(HOST_JSON);
        let host_json = read(&host_path)?;
        let executable = executable_path(&host_path, &host_json)?;
        let functions = read_functions(&crate_root.join(FUNCTIONS_DIR))?;
        if functions
            .iter()
            .any(|f| executable == format!("{}/{FUNCTION_JSON}", f.name))
            || executable == HOST_JSON
        {
            return Err(AppError::ExecutablePath {
                value: executable,
                problem: "names one of the app's configuration files",
            });
        }
        Ok(FunctionApp {
            host_json,
            executable,
            functions,
        })
    }
}

fn read(path: &Path) -> Result<Vec<u8>, AppError> {
    std::fs::read(path).map_err(|source| AppError::Read {
        path: path.to_owned(),
        source,
    })
}

fn parse_json(path: &Path, bytes: &[u8]) -> Result<Value, AppError> {
    serde_json::from_slice(bytes).map_err(|e| AppError::Invalid {
        path: path.to_owned(),
        problem: format!("not valid JSON: {e}"),
    })
}

/// `defaultExecutablePath` from `host.json` (keys case-insensitive, as the host binds them),
/// checked and normalised.
fn executable_path(path: &Path, host_json: &[u8]) -> Result<String, AppError> {
    let json = lowercase_keys(parse_json(path, host_json)?);
    let value = json
        .pointer("/customhandler/description/defaultexecutablepath")
        .and_then(Value::as_str)
        .ok_or_else(|| AppError::Invalid {
            path: path.to_owned(),
            problem: format!("{EXECUTABLE_KEY} is missing (or not a string)"),
        })?;
    normalise_executable_path(value)
}

/// Turns `defaultExecutablePath` into a relative path inside the app, or says why it is not one.
pub fn normalise_executable_path(value: &str) -> Result<String, AppError> {
    let refuse = |problem| AppError::ExecutablePath {
        value: value.to_owned(),
        problem,
    };
    if value.trim().is_empty() {
        return Err(refuse("is empty"));
    }
    if value.contains('%') {
        return Err(refuse(
            "uses a %VARIABLE%, which the host expands from app settings at run time, so the package cannot know where to put the binary",
        ));
    }
    if value.contains('\\') {
        return Err(refuse(
            "contains a backslash; the Functions Linux workers separate folders with /",
        ));
    }
    let mut parts = Vec::new();
    for component in Path::new(value).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse("contains .., leaving the app folder")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse(
                    "is absolute, outside the app folder the package deploys",
                ));
            }
        }
    }
    if parts.is_empty() || value.ends_with('/') {
        return Err(refuse("names a folder, not a file"));
    }
    Ok(parts.join("/"))
}

/// Every `function/<name>/function.json`, sorted by name. Other files under `function/` are
/// not part of the app and are left out.
fn read_functions(dir: &Path) -> Result<Vec<Function>, AppError> {
    let entries = std::fs::read_dir(dir).map_err(|source| AppError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut functions = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| AppError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let folder = entry.path();
        if !folder.is_dir() {
            continue;
        }
        let file = folder.join(FUNCTION_JSON);
        if !file.is_file() {
            continue;
        }
        let name = entry
            .file_name()
            .to_str()
            .map(str::to_owned)
            .ok_or_else(|| AppError::Invalid {
                path: folder.clone(),
                problem: "the function folder's name is not valid UTF-8".to_owned(),
            })?;
        let function_json = read(&file)?;
        check_function_json(&file, &function_json)?;
        functions.push(Function {
            name,
            function_json,
        });
    }
    if functions.is_empty() {
        return Err(AppError::NoFunctions {
            dir: dir.to_owned(),
        });
    }
    functions.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(functions)
}

/// A `function.json` the host can bind: a JSON object with a `bindings` array.
fn check_function_json(path: &Path, bytes: &[u8]) -> Result<(), AppError> {
    let json = lowercase_keys(parse_json(path, bytes)?);
    match json.get("bindings") {
        Some(Value::Array(bindings)) if !bindings.is_empty() => Ok(()),
        _ => Err(AppError::Invalid {
            path: path.to_owned(),
            problem: "has no \"bindings\" array".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_paths_are_kept_and_normalised() {
        assert_eq!(
            normalise_executable_path("lcw-handler").unwrap(),
            "lcw-handler"
        );
        assert_eq!(
            normalise_executable_path("./lcw-handler").unwrap(),
            "lcw-handler"
        );
        assert_eq!(
            normalise_executable_path("bin/handler").unwrap(),
            "bin/handler"
        );
        assert_eq!(
            normalise_executable_path("bin//./handler").unwrap(),
            "bin/handler"
        );
    }

    #[test]
    fn paths_leaving_the_app_or_unknowable_at_package_time_are_refused() {
        for (value, problem) in [
            ("/usr/bin/lcw-handler", "is absolute"),
            ("../lcw-handler", "contains .."),
            ("bin/../../lcw-handler", "contains .."),
            ("%HANDLER_PATH%", "%VARIABLE%"),
            ("bin/%NAME%", "%VARIABLE%"),
            ("bin\\handler", "backslash"),
            ("", "is empty"),
            ("  ", "is empty"),
            (".", "names a folder"),
            ("bin/", "names a folder"),
        ] {
            let error = normalise_executable_path(value)
                .expect_err(value)
                .to_string();
            assert!(error.contains(problem), "{value:?}: {error}");
            assert!(
                error.contains("defaultExecutablePath"),
                "the error names the setting: {error}"
            );
        }
    }

    /// A crate root in a scratch folder, removed on drop.
    struct Root(PathBuf);
    impl Root {
        fn new(name: &str, host_json: &str, functions: &[(&str, &str)]) -> Root {
            let path =
                std::env::temp_dir().join(format!("lcw-handler-app-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(path.join(FUNCTIONS_DIR)).unwrap();
            std::fs::write(path.join(HOST_JSON), host_json).unwrap();
            for (function, json) in functions {
                let folder = path.join(FUNCTIONS_DIR).join(function);
                std::fs::create_dir_all(&folder).unwrap();
                std::fs::write(folder.join(FUNCTION_JSON), json).unwrap();
            }
            Root(path)
        }
    }
    impl Drop for Root {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const HOST: &str =
        r#"{"CustomHandler": {"Description": {"DefaultExecutablePath": "bin/handler"}}}"#;
    const BINDINGS: &str = r#"{"bindings": [{"type": "queueTrigger"}]}"#;

    #[test]
    fn keys_are_case_insensitive_and_other_files_are_left_out() {
        let root = Root::new("casing", HOST, &[("b", BINDINGS), ("a", BINDINGS)]);
        std::fs::write(root.0.join(FUNCTIONS_DIR).join("README.md"), "notes").unwrap();
        std::fs::create_dir_all(root.0.join(FUNCTIONS_DIR).join("drafts")).unwrap();
        let app = FunctionApp::read(&root.0).unwrap();
        assert_eq!(app.executable, "bin/handler");
        let names: Vec<&str> = app.functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["a", "b"],
            "sorted; folders without function.json skipped"
        );
    }

    #[test]
    fn unusable_app_files_are_named() {
        let error = |root: &Root| FunctionApp::read(&root.0).unwrap_err().to_string();
        let root = Root::new("no-functions", HOST, &[]);
        assert!(
            error(&root).contains("holds no function folder"),
            "{}",
            error(&root)
        );
        let root = Root::new("no-bindings", HOST, &[("callout", "{}")]);
        assert!(
            error(&root).contains("function.json: has no \"bindings\""),
            "{}",
            error(&root)
        );
        let root = Root::new("bad-json", HOST, &[("callout", "{")]);
        assert!(error(&root).contains("not valid JSON"), "{}", error(&root));
        let root = Root::new("no-path", r#"{"version": "2.0"}"#, &[("callout", BINDINGS)]);
        assert!(
            error(&root).contains("customHandler.description.defaultExecutablePath is missing"),
            "{}",
            error(&root)
        );
        let clash = r#"{"customHandler": {"description": {"defaultExecutablePath": "callout/function.json"}}}"#;
        let root = Root::new("clash", clash, &[("callout", BINDINGS)]);
        assert!(
            error(&root).contains("configuration files"),
            "{}",
            error(&root)
        );
        let missing = Root::new("missing-host", HOST, &[("callout", BINDINGS)]);
        std::fs::remove_file(missing.0.join(HOST_JSON)).unwrap();
        assert!(
            error(&missing).starts_with("cannot read"),
            "{}",
            error(&missing)
        );
        assert!(error(&missing).contains("host.json"), "{}", error(&missing));
    }

    #[test]
    fn the_repositorys_own_app_reads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let app = FunctionApp::read(root).expect("the repository's function app is valid");
        assert_eq!(app.executable, "lcw-handler");
        let names: Vec<&str> = app.functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["callout", "entitlement", "process"]);
        assert_eq!(
            app.host_json,
            std::fs::read(root.join(HOST_JSON)).unwrap(),
            "host.json is taken verbatim"
        );
    }
}
