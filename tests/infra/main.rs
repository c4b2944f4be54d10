//! The infrastructure (`infra/`, `azure.yaml`) checked offline against the code, as CI runs it:
//! every `.bicep` file parses (pycep-parser), checkov passes with every skip justified, and the
//! deployment the Bicep describes agrees with the code — queue names, the callout route, the
//! outputs of contract A, the forwarder's policy, and every app setting, proven by running the
//! real `lcw-handler check` with exactly the settings the Bicep gives the function app.
//!
//! What these checks cannot prove (that ARM accepts every property, that Flex Consumption starts
//! the handler, that Lifecycle Workflows calls the endpoint) is listed in docs/infra.md.

#[path = "../bicep/mod.rs"]
mod bicep;

mod azd;
mod checkov;
mod code_contract;
mod deployment;
mod parse;

use std::path::Path;

use serde_json::Value;

use bicep::repo_root;

/// Both front doors `main.bicep` offers.
pub const FRONT_DOORS: [&str; 2] = ["direct", "forwarder"];

pub fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

pub fn function_json(function: &str) -> Value {
    read_json(
        &repo_root()
            .join("function")
            .join(function)
            .join("function.json"),
    )
}

pub fn bindings(function: &str) -> Vec<Value> {
    function_json(function)["bindings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub fn setting<'a>(settings: &'a [(String, String)], name: &str) -> &'a str {
    settings
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("the function app has no app setting {name}"))
}
