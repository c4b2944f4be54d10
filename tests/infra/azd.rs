//! azd's side: `azure.yaml` packages with the package step and deploys its zip, and
//! `infra/main.parameters.json` feeds every parameter `main.bicep` requires.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::bicep::{self, deploy_front_door, repo_root};
use crate::read_json;

/// `azure.yaml` as JSON (read with the tools' PyYAML).
fn azure_yaml() -> Value {
    let output = bicep::output_within(
        Command::new(bicep::python())
            .args([
                "-c",
                "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1], encoding='utf-8')), sys.stdout)",
            ])
            .arg(repo_root().join("azure.yaml")),
        Duration::from_secs(60),
    );
    assert!(
        output.status.success(),
        "azure.yaml: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[test]
fn azure_yaml_packages_with_the_package_step_and_deploys_its_zip() {
    let yaml = azure_yaml();
    let services = yaml["services"].as_object().expect("services");
    assert_eq!(services.len(), 1, "one service: the function app");
    let (name, service) = services.iter().next().unwrap();
    assert_eq!(service["host"], "function");
    assert_eq!(service["language"], "custom");
    assert_eq!(service["project"], ".");
    let dist = service["dist"].as_str().expect("dist");
    assert_eq!(
        dist, "target/lcw-package.zip",
        "azd deploys the package zip as it is"
    );
    for shell in ["posix", "windows"] {
        let run = service["hooks"]["prepackage"][shell]["run"]
            .as_str()
            .unwrap_or_else(|| panic!("prepackage hook for {shell}"));
        assert!(
            run.contains(&format!(
                "package --output {dist} --stage target/lcw-package"
            )),
            "{shell}: the hook builds {dist} (contract C): {run}"
        );
    }
    let site = deploy_front_door("direct");
    let site = site.only("Microsoft.Web/sites");
    assert_eq!(
        site.config["tags"]["azd-service-name"],
        name.as_str(),
        "azd finds the app by this tag"
    );
    assert_eq!(yaml["infra"]["path"].as_str().unwrap_or("infra"), "infra");
}

#[test]
fn main_parameters_json_feeds_every_required_parameter() {
    let file = read_json(&repo_root().join("infra/main.parameters.json"));
    let given = file["parameters"].as_object().expect("parameters");
    let template = bicep::infra().template("infra/main.bicep").unwrap();
    let declared = template["parameters"].as_object().unwrap();
    for (name, declaration) in declared {
        if declaration.get("default").is_none() {
            assert!(given.contains_key(name), "azd must supply {name}");
        }
    }
    // Substitute azd's `${VAR}` / `${VAR=default}` with placeholders or the defaults, convert to
    // the declared type as azd does, and evaluate.
    let mut params = Vec::new();
    for (name, entry) in given {
        assert!(
            declared.contains_key(name),
            "main.bicep has no parameter {name}"
        );
        let text = entry["value"]
            .as_str()
            .expect("a string with an azd variable");
        let inner = text
            .strip_prefix("${")
            .and_then(|t| t.strip_suffix('}'))
            .expect("${VAR}");
        let value = match inner.split_once('=') {
            Some((_, default)) => default.to_owned(),
            None if name == "location" => "westeurope".to_owned(),
            None => "lcw-contract".to_owned(),
        };
        let typed = match declared[name]["type"].as_str() {
            Some("int") => json!(value.parse::<i64>().expect("an integer default")),
            Some("bool") => json!(value.parse::<bool>().expect("a bool default")),
            _ => json!(value),
        };
        params.push((name.clone(), typed));
    }
    let deployment = bicep::Deployment::evaluate(bicep::infra(), "infra/main.bicep", params)
        .unwrap_or_else(|e| panic!("main.parameters.json: {e}"));
    assert_eq!(
        deployment.output("FRONT_DOOR"),
        "direct",
        "the default front door"
    );
}
