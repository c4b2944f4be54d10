//! The infrastructure as the tests see it: every `infra/**/*.bicep` parsed by pycep-parser (from
//! `tools/.venv`), and the deployment `azd up` would make evaluated from it, with placeholders for
//! what only Azure knows (tenant, subscription, identities' client ids, endpoints).
//!
//! Why evaluate instead of grepping: the settings the function app gets are assembled from
//! parameters, variables, module outputs and a front-door switch. Only an evaluation shows what
//! the app really receives, so `lcw-handler check` can be run with exactly that
//! (`tests/infra/`) and the front doors can be played with it (`tests/front_doors.rs`).
//! The evaluator refuses anything it does not understand, naming it, rather than guessing.
//!
//! Sub-modules: `tools` (finding and installing the Python tools), `eval` (the evaluator),
//! `placeholders` (the stand-ins for runtime values).

#![allow(dead_code, unused_imports)] // each test binary uses a different part

mod eval;
mod placeholders;
mod tools;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

pub use eval::{DeployedResource, Deployment};
pub use placeholders::{SUBSCRIPTION_ID, TENANT_ID, client_id, principal_id};
pub use tools::{output_within, python, tool};

/// The repository root (where `infra/`, `function/`, `host.json` and `azure.yaml` live).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One `.bicep` file as pycep-parser saw it.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    /// Path relative to the repository root, with `/` separators.
    pub path: String,
    /// How long pycep-parser took for this file.
    pub seconds: f64,
    /// The template (see `tests/tools/bicep_json.py` for its shape), or the parser's message.
    pub template: Result<Value, String>,
}

/// Every `.bicep` file under `infra/`, parsed once per test binary.
#[derive(Debug)]
pub struct Parsed {
    /// By relative path.
    pub files: BTreeMap<String, ParsedFile>,
    /// Time to import pycep-parser and build its grammar.
    pub parser_load_seconds: f64,
    /// Wall time of the whole run, interpreter start-up included.
    pub wall_seconds: f64,
}

impl Parsed {
    /// The template of `path`, or a message naming the file and the parser's complaint.
    pub fn template(&self, path: &str) -> Result<&Value, String> {
        let file = self
            .files
            .get(path)
            .ok_or_else(|| format!("{path} is not a .bicep file under infra/"))?;
        file.template
            .as_ref()
            .map_err(|message| format!("{path} does not parse: {message}"))
    }
}

/// `infra/**/*.bicep`, relative to the repository root, sorted.
pub fn bicep_files(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "bicep") {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut files = Vec::new();
    walk(&root.join("infra"), root, &mut files);
    files.sort();
    files
}

/// Parses `files` (relative to `root`) with pycep-parser through `tests/tools/bicep_json.py`.
pub fn parse(root: &Path, files: &[String]) -> Parsed {
    let script = repo_root().join("tests/tools/bicep_json.py");
    let started = std::time::Instant::now();
    // Generous: the first run on a machine compiles pycep-parser's grammar (about 30 s on a busy
    // 2-core machine); later runs take about a second.
    let output = output_within(
        Command::new(python()).arg(&script).arg(root).args(files),
        Duration::from_secs(300),
    );
    assert!(
        output.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_slice(&output.stdout).expect("bicep_json.py prints one JSON document");
    let mut parsed = BTreeMap::new();
    for (path, file) in report["files"].as_object().expect("a files object") {
        let template = match (file.get("template"), file.get("error")) {
            (Some(template), _) => Ok(template.clone()),
            (None, Some(error)) => Err(error.as_str().unwrap_or("unknown error").to_owned()),
            (None, None) => Err("the parser reported nothing".to_owned()),
        };
        parsed.insert(
            path.clone(),
            ParsedFile {
                path: path.clone(),
                seconds: file["seconds"].as_f64().unwrap_or_default(),
                template,
            },
        );
    }
    Parsed {
        files: parsed,
        parser_load_seconds: report["parser_load_seconds"].as_f64().unwrap_or_default(),
        wall_seconds: started.elapsed().as_secs_f64(),
    }
}

/// The repository's `infra/`, parsed once per test binary.
pub fn infra() -> &'static Parsed {
    static PARSED: OnceLock<Parsed> = OnceLock::new();
    PARSED.get_or_init(|| {
        let root = repo_root();
        parse(&root, &bicep_files(&root))
    })
}

/// The deployment of `infra/main.bicep` with the given parameters (the azd ones get
/// placeholders: environment `lcw-contract`, region `westeurope`).
pub fn deploy(params: &[(&str, Value)]) -> Deployment {
    let mut all: Vec<(String, Value)> = vec![
        ("environmentName".to_owned(), Value::from("lcw-contract")),
        ("location".to_owned(), Value::from("westeurope")),
    ];
    for (name, value) in params {
        all.retain(|(n, _)| n != name);
        all.push(((*name).to_owned(), value.clone()));
    }
    Deployment::evaluate(infra(), "infra/main.bicep", all)
        .unwrap_or_else(|e| panic!("evaluating infra/main.bicep: {e}"))
}

/// The deployment for one front door (`direct` or `forwarder`), other parameters at defaults.
pub fn deploy_front_door(front_door: &str) -> Deployment {
    deploy(&[("frontDoor", Value::from(front_door))])
}

/// The function app's app settings in a deployment, in declaration order.
pub fn app_settings(deployment: &Deployment) -> Vec<(String, String)> {
    let site = deployment.only("Microsoft.Web/sites");
    let settings = site.config["properties"]["siteConfig"]["appSettings"]
        .as_array()
        .unwrap_or_else(|| panic!("{} has no siteConfig.appSettings array", site.name));
    settings
        .iter()
        .map(|entry| {
            let name = entry["name"]
                .as_str()
                .expect("every app setting has a name");
            let value = entry["value"]
                .as_str()
                .unwrap_or_else(|| panic!("app setting {name} must be a string: {entry}"));
            (name.to_owned(), value.to_owned())
        })
        .collect()
}
