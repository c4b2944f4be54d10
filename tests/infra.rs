//! The infrastructure (`infra/`, `azure.yaml`) checked offline against the code, as CI runs it:
//! every `.bicep` file parses (pycep-parser), checkov passes with every skip justified, and the
//! deployment the Bicep describes agrees with the code — queue names, the callout route, the
//! outputs of contract A, the forwarder's policy, and every app setting, proven by running the
//! real `lcw-handler check` with exactly the settings the Bicep gives the function app.
//!
//! What these checks cannot prove (that ARM accepts every property, that Flex Consumption starts
//! the handler, that Lifecycle Workflows calls the endpoint) is listed in docs/infra.md.

mod bicep;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use bicep::{SUBSCRIPTION_ID, TENANT_ID, app_settings, deploy, deploy_front_door, repo_root};

/// Both front doors `main.bicep` offers.
const FRONT_DOORS: [&str; 2] = ["direct", "forwarder"];
/// Lifecycle Workflows' application id (docs/protocol.md §3.5).
const LIFECYCLE_WORKFLOWS_APP_ID: &str = "ce79fdc4-cd1d-4ea5-8139-e74d7dbe0bb7";
/// Contract A: exactly these outputs, nothing else (and nothing secret).
const CONTRACT_A_OUTPUTS: [&str; 11] = [
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_RESOURCE_GROUP",
    "FUNCTION_APP_NAME",
    "CALLOUT_URL",
    "FRONT_DOOR",
    "EXTENSION_ENDPOINT_URL",
    "EXTENSION_LOGIC_APP_NAME",
    "LCW_POP_PATH",
    "LCW_CALLBACK_TIMEOUT",
    "IDENTITY_CLIENT_ID",
    "IDENTITY_PRINCIPAL_ID",
];
/// Contract B: ledger settings the infrastructure sets before the code on this branch reads
/// them. Once the ledger lands they are constants in src/settings.rs as well.
const CONTRACT_B_LEDGER_SETTINGS: [&str; 4] = [
    "LCW_LEDGER",
    "LCW_LEDGER_URL",
    "LCW_LEDGER_PATH",
    "LCW_LEDGER_RETENTION_DAYS",
];
/// Built-in role definition ids (docs/infra.md, "Roles").
const STORAGE_BLOB_DATA_OWNER: &str = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
const STORAGE_QUEUE_DATA_CONTRIBUTOR: &str = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
const STORAGE_TABLE_DATA_CONTRIBUTOR: &str = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
const MONITORING_METRICS_PUBLISHER: &str = "3913510d-42f4-4e42-8a64-420c390055eb";

// ---- helpers ----------------------------------------------------------------------------------

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn function_json(function: &str) -> Value {
    read_json(
        &repo_root()
            .join("function")
            .join(function)
            .join("function.json"),
    )
}

fn bindings(function: &str) -> Vec<Value> {
    function_json(function)["bindings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn setting<'a>(settings: &'a [(String, String)], name: &str) -> &'a str {
    settings
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("the function app has no app setting {name}"))
}

/// `lcw-handler check` with exactly `settings` as its environment.
fn check(settings: &[(String, String)]) -> Output {
    bicep::output_within(
        Command::new(env!("CARGO_BIN_EXE_lcw-handler"))
            .arg("check")
            .env_clear()
            .envs(settings.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        Duration::from_secs(60),
    )
}

/// `check`'s effective-configuration lines as `NAME -> value`.
fn shown_by_check(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(char::is_whitespace)?;
            let is_setting = name.chars().all(|c| c.is_ascii_uppercase() || c == '_');
            is_setting.then(|| (name.to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// The app-setting names `src/settings.rs` defines (`pub const NAME: &str = "NAME";`).
fn settings_the_code_defines() -> BTreeSet<String> {
    let source = std::fs::read_to_string(repo_root().join("src/settings.rs"))
        .expect("src/settings.rs is readable");
    source
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub const "))
        .filter_map(|rest| rest.split_once("= \"")?.1.split_once('"'))
        .map(|(value, _)| value.to_owned())
        .collect()
}

/// The PoP path exactly as contract A says `register` computes it.
fn registered_pop_path(subscription: &str, resource_group: &str, logic_app: &str) -> String {
    format!(
        "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Logic/workflows/{logic_app}"
    )
}

/// The client id Azure gives the user-assigned identity with this resource id (placeholder).
fn client_id_of(deployment: &bicep::Deployment, identity_id: &str) -> String {
    let identity = deployment
        .of_type("Microsoft.ManagedIdentity/userAssignedIdentities")
        .into_iter()
        .find(|r| r.id == identity_id)
        .unwrap_or_else(|| panic!("no identity {identity_id} is deployed"));
    bicep::client_id(&identity.id)
}

// ---- (a) every .bicep file parses ------------------------------------------------------------

#[test]
fn every_bicep_file_parses() {
    let parsed = bicep::infra();
    for required in ["infra/main.bicep", "infra/modules/forwarder.bicep"] {
        assert!(parsed.files.contains_key(required), "{required} exists");
    }
    let failures: Vec<String> = parsed
        .files
        .values()
        .filter_map(|f| {
            f.template
                .as_ref()
                .err()
                .map(|e| format!("{}: {e}", f.path))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "pycep-parser rejects:\n{}",
        failures.join("\n")
    );
    eprintln!(
        "pycep-parser: load {:.2}s; {} (whole run {:.2}s, interpreter included)",
        parsed.parser_load_seconds,
        parsed
            .files
            .values()
            .map(|f| format!("{} {:.3}s", f.path, f.seconds))
            .collect::<Vec<_>>()
            .join(", "),
        parsed.wall_seconds
    );
}

#[test]
fn a_syntax_error_is_reported_with_the_file_and_the_parsers_message() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bicep-broken-{}", std::process::id()));
    std::fs::create_dir_all(root.join("infra")).unwrap();
    std::fs::write(
        root.join("infra/broken.bicep"),
        "param name string\n\nresource account 'Microsoft.Storage/storageAccounts@2024-01-01' = {\n  name: name\n  location: \n",
    )
    .unwrap();
    let parsed = bicep::parse(&root, &bicep::bicep_files(&root));
    let error = parsed
        .template("infra/broken.bicep")
        .expect_err("an unterminated resource does not parse");
    assert!(error.contains("infra/broken.bicep"), "{error}");
    assert!(
        error.len() > "infra/broken.bicep does not parse: ".len() + 10,
        "the parser's message is kept: {error}"
    );
    std::fs::remove_dir_all(&root).ok();
}

// ---- (b) checkov -----------------------------------------------------------------------------

/// checkov's report for `dir` (Bicep only, offline).
fn checkov(dir: &Path) -> Value {
    let started = Instant::now();
    // Offline: no policy download, no version check.
    let output = bicep::output_within(
        Command::new(bicep::tool("checkov"))
            .arg("--directory")
            .arg(dir)
            .args([
                "--framework",
                "bicep",
                "--skip-download",
                "--output",
                "json",
            ])
            .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true"),
        Duration::from_secs(600),
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    eprintln!(
        "checkov on {}: {:.1}s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    // One framework gives one report; some versions wrap it in a list.
    match report {
        Value::Array(mut reports) if reports.len() == 1 => reports.remove(0),
        report => report,
    }
}

/// A skip comment's reason, judged: it must say why, in a sentence, not just name the check.
fn justification_problem(reason: &str) -> Option<String> {
    let words = reason.split_whitespace().count();
    if reason.trim().is_empty() || reason.contains("No comment provided") {
        Some("no reason given".to_owned())
    } else if words < 8 {
        Some(format!("a reason of {words} words does not explain a skip"))
    } else {
        None
    }
}

/// Every `checkov:skip=ID:reason` comment under `dir`: (file, id, reason).
fn skip_comments(dir: &Path) -> Vec<(String, String, String)> {
    let root = dir.parent().unwrap_or(dir);
    let mut found = Vec::new();
    for file in bicep::bicep_files(root) {
        let text = std::fs::read_to_string(root.join(&file)).unwrap_or_default();
        for line in text.lines() {
            if let Some(rest) = line.split_once("checkov:skip=").map(|(_, r)| r) {
                let (id, reason) = rest.split_once(':').unwrap_or((rest, ""));
                found.push((file.clone(), id.trim().to_owned(), reason.trim().to_owned()));
            }
        }
    }
    found
}

fn check_ids(report: &Value, kind: &str) -> Vec<(String, String, String)> {
    report["results"][kind]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["check_id"].as_str().unwrap_or_default().to_owned(),
                c["resource"].as_str().unwrap_or_default().to_owned(),
                c["check_result"]["suppress_comment"]
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn checkov_passes_on_infra_and_every_skip_is_justified() {
    let infra = repo_root().join("infra");
    let report = checkov(&infra);
    let summary = &report["summary"];
    let failed = check_ids(&report, "failed_checks");
    let skipped = check_ids(&report, "skipped_checks");
    eprintln!("checkov {}: {summary}", summary["checkov_version"]);
    for (id, resource, reason) in &skipped {
        eprintln!("  skipped {id} on {resource}: {reason}");
    }
    assert_eq!(
        summary["checkov_version"], "3.3.30",
        "the pinned checkov ran"
    );
    assert_eq!(summary["parsing_errors"], 0, "checkov parsed every file");
    assert!(
        summary["passed"].as_u64() > Some(0),
        "checkov ran checks: {summary}"
    );
    assert!(failed.is_empty(), "checkov fails: {failed:#?}");

    for (id, resource, reason) in &skipped {
        assert!(
            justification_problem(reason).is_none(),
            "{id} on {resource}: {}",
            justification_problem(reason).unwrap_or_default()
        );
    }
    let comments = skip_comments(&infra);
    for (file, id, reason) in &comments {
        if let Some(problem) = justification_problem(reason) {
            panic!("{file}: checkov:skip={id}: {problem}");
        }
        assert!(
            skipped.iter().any(|(skipped_id, _, _)| skipped_id == id),
            "{file} skips {id}, which no longer applies to anything: remove the comment"
        );
    }
}

#[test]
fn checkov_and_the_skip_rule_reject_a_weakened_copy() {
    // The same infrastructure with TLS 1.0 on storage, plain HTTP on the app, and a skip without
    // a reason: checkov must fail the first two and the skip rule must refuse the third.
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("infra-weakened-{}", std::process::id()));
    let infra = root.join("infra");
    for file in bicep::bicep_files(&repo_root()) {
        let target = root.join(&file);
        std::fs::create_dir_all(target.parent().expect("a file in a folder")).unwrap();
        let mut text = std::fs::read_to_string(repo_root().join(&file)).unwrap();
        if file.ends_with("storage.bicep") {
            text = text.replacen(
                "minimumTlsVersion: 'TLS1_2'",
                "minimumTlsVersion: 'TLS1_0'",
                1,
            );
            text = text.replacen(
                "  kind: 'StorageV2'",
                "  // checkov:skip=CKV_AZURE_43\n  kind: 'StorageV2'",
                1,
            );
        }
        if file.ends_with("function-app.bicep") {
            text = text.replacen("httpsOnly: true", "httpsOnly: false", 1);
        }
        std::fs::write(&target, text).unwrap();
    }
    let report = checkov(&infra);
    let failed: BTreeSet<String> = check_ids(&report, "failed_checks")
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert!(
        failed.contains("CKV_AZURE_44"),
        "TLS 1.0 on storage is caught: {failed:?}"
    );
    assert!(
        failed.contains("CKV_AZURE_70"),
        "plain HTTP on the app is caught: {failed:?}"
    );
    let unjustified: Vec<_> = skip_comments(&infra)
        .into_iter()
        .filter(|(_, _, reason)| justification_problem(reason).is_some())
        .collect();
    assert_eq!(
        unjustified.len(),
        1,
        "the bare skip is refused: {unjustified:?}"
    );
    assert_eq!(unjustified[0].1, "CKV_AZURE_43");
    assert!(justification_problem("too short").is_some());
    std::fs::remove_dir_all(&root).ok();
}

// ---- (c) the contract with the code ---------------------------------------------------------

#[test]
fn the_queues_are_the_ones_the_functions_use() {
    let output_queues: Vec<String> = bindings("callout")
        .iter()
        .filter(|b| b["type"] == "queue" && b["direction"] == "out")
        .map(|b| b["queueName"].as_str().unwrap().to_owned())
        .collect();
    let trigger_queues: Vec<String> = bindings("process")
        .iter()
        .filter(|b| b["type"] == "queueTrigger")
        .map(|b| b["queueName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(output_queues.len(), 1, "callout writes one queue");
    assert_eq!(
        output_queues, trigger_queues,
        "process reads the queue callout writes"
    );
    let work_queue = &trigger_queues[0];
    for function in ["callout", "process"] {
        for binding in bindings(function)
            .iter()
            .filter(|b| b.get("queueName").is_some())
        {
            assert_eq!(
                binding["connection"], "AzureWebJobsStorage",
                "{function}: host storage"
            );
        }
    }

    for front_door in FRONT_DOORS {
        let deployment = deploy_front_door(front_door);
        let queues: BTreeSet<String> = deployment
            .of_type("Microsoft.Storage/storageAccounts/queueServices/queues")
            .iter()
            .map(|q| q.name.clone())
            .collect();
        let expected: BTreeSet<String> =
            [work_queue.clone(), format!("{work_queue}-poison")].into();
        assert_eq!(
            queues, expected,
            "{front_door}: the work queue and its poison queue"
        );
        let account = deployment.only("Microsoft.Storage/storageAccounts");
        let settings = app_settings(&deployment);
        assert_eq!(
            setting(&settings, "AzureWebJobsStorage__accountName"),
            account.name
        );
        assert_eq!(
            setting(&settings, "AzureWebJobsStorage__credential"),
            "managedidentity"
        );
        assert_eq!(
            setting(&settings, "AzureWebJobsStorage__queueServiceUri"),
            format!("https://{}.queue.core.windows.net/", account.name)
        );
        assert_eq!(
            setting(&settings, "AzureWebJobsStorage__clientId"),
            setting(&settings, "AZURE_CLIENT_ID"),
            "the host and the handler use the same identity"
        );
        assert!(
            !settings.iter().any(|(n, _)| n == "AzureWebJobsStorage"),
            "no connection string: shared keys are disabled"
        );
    }
}

#[test]
fn the_callout_url_is_the_functions_route() {
    let host = read_json(&repo_root().join("host.json"));
    let prefix = host["extensions"]["http"]["routePrefix"]
        .as_str()
        .unwrap_or("api");
    let trigger = bindings("callout")
        .into_iter()
        .find(|b| b["type"] == "httpTrigger")
        .expect("callout is HTTP-triggered");
    let route = format!("/{prefix}/{}", trigger["route"].as_str().unwrap());
    assert_eq!(
        trigger["authLevel"], "anonymous",
        "LCW presents no function key"
    );
    for front_door in FRONT_DOORS {
        let deployment = deploy_front_door(front_door);
        let site = deployment.only("Microsoft.Web/sites");
        assert_eq!(
            deployment.output("CALLOUT_URL"),
            format!("https://{}.azurewebsites.net{route}", site.name),
            "{front_door}"
        );
    }
}

#[test]
fn check_accepts_the_settings_of_both_front_doors() {
    for front_door in FRONT_DOORS {
        let deployment = deploy_front_door(front_door);
        let settings = app_settings(&deployment);
        let started = Instant::now();
        let output = check(&settings);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{front_door}: lcw-handler check refuses the Bicep's settings: {}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!(
            "{front_door}: check passed in {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        // check shows what it took: the Bicep's values, not defaults.
        let shown = shown_by_check(&stdout);
        let mut expected = vec![
            "LCW_AUTH",
            "LCW_TENANT_ID",
            "LCW_CALLBACK_TIMEOUT",
            "AZURE_CLIENT_ID",
            "LCW_AUTH_DIAGNOSTICS",
        ];
        match front_door {
            "direct" => expected.extend(["LCW_POP_PATH", "LCW_POP_HOST"]),
            _ => expected.extend(["LCW_AUDIENCE", "LCW_CALLER_APP_IDS"]),
        }
        for name in expected {
            let value = setting(&settings, name);
            let seen = shown.get(name).map(String::as_str).unwrap_or("(not shown)");
            let seen_matches = seen.eq_ignore_ascii_case(value)
                || seen.eq_ignore_ascii_case(value.trim_end_matches('/'));
            assert!(
                seen_matches,
                "{front_door}: check shows {name}={seen}, the Bicep sets {value}"
            );
        }
        assert_eq!(
            shown.get("LCW_AUTH").map(String::as_str),
            Some(match front_door {
                "direct" => "pop",
                _ => "bearer",
            })
        );
    }
}

#[test]
fn dropping_a_required_setting_makes_check_fail() {
    let known_required: [(&str, &[&str]); 2] = [
        ("direct", &["LCW_TENANT_ID", "LCW_POP_PATH"]),
        ("forwarder", &["LCW_TENANT_ID", "LCW_AUDIENCE"]),
    ];
    for (front_door, required) in known_required {
        let settings = app_settings(&deploy_front_door(front_door));
        let mut refused = Vec::new();
        for (name, _) in settings
            .iter()
            .filter(|(n, _)| n.starts_with("LCW_") || n == "AZURE_CLIENT_ID")
        {
            let without: Vec<(String, String)> = settings
                .iter()
                .filter(|(n, _)| n != name)
                .cloned()
                .collect();
            let output = check(&without);
            if !output.status.success() {
                refused.push((
                    name.clone(),
                    String::from_utf8_lossy(&output.stderr).into_owned(),
                ));
            }
        }
        eprintln!(
            "{front_door}: check refuses to start without {:?}",
            refused.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()
        );
        for name in required {
            let (_, stderr) = refused
                .iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("{front_door}: check passes without {name}"));
            assert!(
                stderr.contains(name),
                "{front_door}: the refusal names {name}: {stderr}"
            );
        }
    }
}

#[test]
fn every_lcw_setting_is_one_the_code_defines() {
    let known = settings_the_code_defines();
    assert!(known.contains("LCW_POP_PATH"), "src/settings.rs was read");
    for front_door in FRONT_DOORS {
        let settings = app_settings(&deploy_front_door(front_door));
        let mut names = BTreeSet::new();
        for (name, _) in &settings {
            assert!(
                names.insert(name.clone()),
                "{front_door}: {name} is set twice"
            );
            if name.starts_with("LCW_") || name.starts_with("AZURE_") {
                assert!(
                    known.contains(name) || CONTRACT_B_LEDGER_SETTINGS.contains(&name.as_str()),
                    "{front_door}: {name} is not a setting the handler reads (typo?)"
                );
            }
        }
        assert_eq!(setting(&settings, "LCW_LEDGER"), "blob", "contract B");
        for platform_owned in [
            "FUNCTIONS_WORKER_RUNTIME",
            "WEBSITE_RUN_FROM_PACKAGE",
            "FUNCTIONS_EXTENSION_VERSION",
        ] {
            assert!(
                !names.contains(platform_owned),
                "{front_door}: Flex Consumption refuses {platform_owned}"
            );
        }
    }
}

#[test]
fn the_outputs_are_contract_a_and_agree_with_the_settings() {
    for front_door in FRONT_DOORS {
        let deployment = deploy_front_door(front_door);
        let outputs: BTreeSet<&str> = deployment.outputs.keys().map(String::as_str).collect();
        assert_eq!(
            outputs,
            CONTRACT_A_OUTPUTS.into(),
            "{front_door}: exactly contract A"
        );
        let settings = app_settings(&deployment);
        let out = |name: &str| deployment.output(name).to_owned();

        assert_eq!(out("AZURE_SUBSCRIPTION_ID"), SUBSCRIPTION_ID);
        let group = deployment.only("Microsoft.Resources/resourceGroups");
        assert_eq!(out("AZURE_RESOURCE_GROUP"), group.name);
        assert_eq!(
            out("FUNCTION_APP_NAME"),
            deployment.only("Microsoft.Web/sites").name
        );
        assert_eq!(out("FRONT_DOOR"), front_door);
        assert_eq!(
            out("LCW_POP_PATH"),
            registered_pop_path(
                &out("AZURE_SUBSCRIPTION_ID"),
                &out("AZURE_RESOURCE_GROUP"),
                &out("EXTENSION_LOGIC_APP_NAME")
            ),
            "{front_door}: the path register computes from the registered ids"
        );
        assert_eq!(setting(&settings, "LCW_POP_PATH"), out("LCW_POP_PATH"));
        assert_eq!(
            out("LCW_CALLBACK_TIMEOUT"),
            "PT30M",
            "the default timeoutDuration"
        );
        assert_eq!(
            setting(&settings, "LCW_CALLBACK_TIMEOUT"),
            out("LCW_CALLBACK_TIMEOUT")
        );
        assert_eq!(
            setting(&settings, "AZURE_CLIENT_ID"),
            out("IDENTITY_CLIENT_ID")
        );
        let identity = deployment
            .of_type("Microsoft.ManagedIdentity/userAssignedIdentities")
            .into_iter()
            .find(|i| bicep::client_id(&i.id) == out("IDENTITY_CLIENT_ID"))
            .expect("IDENTITY_CLIENT_ID is a deployed identity's");
        assert_eq!(
            out("IDENTITY_PRINCIPAL_ID"),
            bicep::principal_id(&identity.id)
        );
        let site = deployment.only("Microsoft.Web/sites");
        assert!(
            site.config["identity"]["userAssignedIdentities"]
                .get(&identity.id)
                .is_some(),
            "the app runs as IDENTITY_CLIENT_ID"
        );

        let endpoint = out("EXTENSION_ENDPOINT_URL");
        for secret_marker in [
            "sig=",
            "sp=",
            "sv=",
            "AccountKey",
            "InstrumentationKey",
            "code=",
        ] {
            for (name, value) in &deployment.outputs {
                assert!(
                    !value.as_str().unwrap_or_default().contains(secret_marker),
                    "{front_door}: output {name} carries {secret_marker}"
                );
            }
        }
        match front_door {
            "direct" => {
                assert_eq!(endpoint, out("CALLOUT_URL"));
                assert!(deployment.of_type("Microsoft.Logic/workflows").is_empty());
            }
            _ => {
                let workflow = deployment.only("Microsoft.Logic/workflows");
                assert_eq!(workflow.name, out("EXTENSION_LOGIC_APP_NAME"));
                assert!(
                    endpoint.starts_with("https://") && endpoint.contains("/workflows/"),
                    "{endpoint}"
                );
                assert!(
                    endpoint.ends_with("/triggers/manual/paths/invoke?api-version=2016-10-01"),
                    "the trigger URL without its SAS: {endpoint}"
                );
            }
        }
    }
}

#[test]
fn the_forwarder_admits_only_lifecycle_workflows_and_the_handler_only_the_forwarder() {
    let deployment = deploy_front_door("forwarder");
    let settings = app_settings(&deployment);
    let workflow = deployment.only("Microsoft.Logic/workflows");
    let triggers = &workflow.config["properties"]["accessControl"]["triggers"];
    assert_eq!(
        triggers["sasAuthenticationPolicy"]["state"], "Disabled",
        "no SAS bypass"
    );
    let policies = triggers["openAuthenticationPolicies"]["policies"]
        .as_object()
        .expect("authorization policies");
    assert_eq!(policies.len(), 1, "one policy: Lifecycle Workflows'");
    let policy = policies.values().next().unwrap();
    assert_eq!(policy["type"], "AADPOP");
    let claims: BTreeMap<String, String> = policy["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: BTreeMap<String, String> = [
        ("iss", format!("https://sts.windows.net/{TENANT_ID}/")),
        ("appid", LIFECYCLE_WORKFLOWS_APP_ID.to_owned()),
        ("m", "POST".to_owned()),
        ("u", "management.azure.com".to_owned()),
        ("p", deployment.output("LCW_POP_PATH").to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(
        claims, expected,
        "the AADPOP policy of docs/protocol.md §3.3"
    );
    assert_eq!(claims["p"], setting(&settings, "LCW_POP_PATH"));

    let definition = &workflow.config["properties"]["definition"];
    let triggers = definition["triggers"].as_object().unwrap();
    assert_eq!(triggers.len(), 1);
    let (trigger_name, trigger) = triggers.iter().next().unwrap();
    assert_eq!(trigger["type"], "Request");
    assert!(
        deployment
            .output("EXTENSION_ENDPOINT_URL")
            .contains(&format!("/triggers/{trigger_name}/")),
        "the registered URL invokes this trigger"
    );
    let actions = definition["actions"].as_object().unwrap();
    assert!(
        actions.values().all(|a| a["type"] != "Response"),
        "no Response action: the trigger answers 202 at once"
    );
    let forwards: Vec<&Value> = actions.values().filter(|a| a["type"] == "Http").collect();
    assert_eq!(forwards.len(), 1, "one HTTP action forwards");
    let inputs = &forwards[0]["inputs"];
    assert_eq!(inputs["method"], "POST");
    assert_eq!(inputs["uri"], deployment.output("CALLOUT_URL"));
    assert_eq!(inputs["body"], "@triggerBody()");
    let auth = &inputs["authentication"];
    assert_eq!(auth["type"], "ManagedServiceIdentity");
    assert_eq!(
        auth["audience"],
        setting(&settings, "LCW_AUDIENCE"),
        "the token is for the handler's audience"
    );
    let forwarder_identity = auth["identity"].as_str().unwrap();
    assert!(
        workflow.config["identity"]["userAssignedIdentities"]
            .get(forwarder_identity)
            .is_some()
    );
    assert_eq!(
        setting(&settings, "LCW_CALLER_APP_IDS"),
        client_id_of(&deployment, forwarder_identity),
        "the handler accepts exactly the forwarder's identity"
    );
    assert_ne!(
        setting(&settings, "LCW_CALLER_APP_IDS"),
        setting(&settings, "AZURE_CLIENT_ID")
    );
    assert_eq!(setting(&settings, "LCW_AUTH"), "bearer");
    let forwarder_principal = bicep::principal_id(forwarder_identity);
    for assignment in deployment.of_type("Microsoft.Authorization/roleAssignments") {
        assert_ne!(
            assignment.config["properties"]["principalId"], forwarder_principal,
            "the forwarder's identity has no role anywhere"
        );
    }
    // With an app registration of one's own, its ID URI is the audience on both sides.
    let registered = deploy(&[
        ("frontDoor", json!("forwarder")),
        ("forwarderAudience", json!("api://lcw-handler")),
    ]);
    let action =
        registered.only("Microsoft.Logic/workflows").config["properties"]["definition"]["actions"]
            .as_object()
            .and_then(|a| a.values().find(|a| a["type"] == "Http").cloned())
            .unwrap();
    assert_eq!(
        action["inputs"]["authentication"]["audience"],
        "api://lcw-handler"
    );
    assert_eq!(
        setting(&app_settings(&registered), "LCW_AUDIENCE"),
        "api://lcw-handler"
    );

    for secured in [trigger, forwards[0]] {
        let secure = &secured["runtimeConfiguration"]["secureData"]["properties"];
        assert!(
            secure
                .as_array()
                .is_some_and(|p| p.contains(&json!("outputs"))),
            "run history hides user data"
        );
    }
}

#[test]
fn the_function_app_is_flex_consumption_running_the_custom_handler() {
    let deployment = deploy_front_door("direct");
    let settings = app_settings(&deployment);
    let plan = deployment.only("Microsoft.Web/serverfarms");
    assert_eq!(
        plan.config["sku"],
        json!({"name": "FC1", "tier": "FlexConsumption"})
    );
    assert_eq!(plan.config["properties"]["reserved"], true, "Linux");
    let site = deployment.only("Microsoft.Web/sites");
    assert_eq!(site.config["kind"], "functionapp,linux");
    let properties = &site.config["properties"];
    assert_eq!(properties["serverFarmId"], plan.id);
    assert_eq!(properties["httpsOnly"], true);
    assert_eq!(properties["siteConfig"]["minTlsVersion"], "1.2");
    let config = &properties["functionAppConfig"];
    assert_eq!(
        config["runtime"],
        json!({"name": "custom", "version": "1.0"})
    );
    assert_eq!(
        config["scaleAndConcurrency"],
        json!({"maximumInstanceCount": 40, "instanceMemoryMB": 512, "alwaysReady": [{"name": "http", "instanceCount": 1}]}),
        "one always-ready HTTP instance by default"
    );
    let account = deployment.only("Microsoft.Storage/storageAccounts");
    let identity_id = site.config["identity"]["userAssignedIdentities"]
        .as_object()
        .and_then(|ids| ids.keys().next().cloned())
        .expect("a user-assigned identity");
    let containers: BTreeSet<String> = deployment
        .of_type("Microsoft.Storage/storageAccounts/blobServices/containers")
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let storage = &config["deployment"]["storage"];
    assert_eq!(storage["type"], "blobContainer");
    let package_container = storage["value"]
        .as_str()
        .and_then(|url| {
            url.strip_prefix(&format!("https://{}.blob.core.windows.net/", account.name))
        })
        .expect("the package lives in the function's storage account");
    assert!(
        containers.contains(package_container),
        "{package_container} is created"
    );
    assert_eq!(
        storage["authentication"],
        json!({"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": identity_id})
    );
    assert_eq!(
        setting(&settings, "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"),
        format!(
            "ClientId={};Authorization=AAD",
            setting(&settings, "AZURE_CLIENT_ID")
        )
    );
    let insights = deployment.only("Microsoft.Insights/components");
    assert_eq!(insights.config["properties"]["DisableLocalAuth"], true);
    assert_eq!(
        insights.config["properties"]["WorkspaceResourceId"],
        deployment
            .only("Microsoft.OperationalInsights/workspaces")
            .id
    );
    let account_properties = &account.config["properties"];
    assert_eq!(account_properties["allowSharedKeyAccess"], false);
    assert_eq!(account_properties["minimumTlsVersion"], "TLS1_2");
    assert_eq!(account_properties["allowBlobPublicAccess"], false);
    assert!(
        containers.contains("lcw-ledger"),
        "contract B: the ledger container"
    );
    assert_eq!(
        setting(&settings, "LCW_LEDGER_URL"),
        format!("https://{}.blob.core.windows.net/lcw-ledger", account.name),
        "contract B: the ledger container's URL"
    );

    let no_warm_instance = deploy(&[("alwaysReadyHttpInstances", json!(0))]);
    assert_eq!(
        no_warm_instance.only("Microsoft.Web/sites").config["properties"]["functionAppConfig"]["scaleAndConcurrency"]
            ["alwaysReady"],
        json!([]),
        "alwaysReadyHttpInstances=0 means none"
    );
}

#[test]
fn the_roles_are_exactly_the_documented_ones() {
    for front_door in FRONT_DOORS {
        let deployment = deploy_front_door(front_door);
        let principal = deployment.output("IDENTITY_PRINCIPAL_ID").to_owned();
        let account = deployment.only("Microsoft.Storage/storageAccounts");
        let insights = deployment.only("Microsoft.Insights/components");
        let granted: BTreeSet<(String, String)> = deployment
            .of_type("Microsoft.Authorization/roleAssignments")
            .iter()
            .map(|a| {
                let properties = &a.config["properties"];
                assert_eq!(
                    properties["principalId"], principal,
                    "only the function's identity"
                );
                assert_eq!(properties["principalType"], "ServicePrincipal");
                let role = properties["roleDefinitionId"].as_str().unwrap();
                let role = role.rsplit('/').next().unwrap().to_owned();
                (
                    role,
                    a.scope_id
                        .clone()
                        .expect("every role is scoped to one resource"),
                )
            })
            .collect();
        let expected: BTreeSet<(String, String)> = [
            (STORAGE_BLOB_DATA_OWNER, &account.id),
            (STORAGE_QUEUE_DATA_CONTRIBUTOR, &account.id),
            (STORAGE_TABLE_DATA_CONTRIBUTOR, &account.id),
            (MONITORING_METRICS_PUBLISHER, &insights.id),
        ]
        .into_iter()
        .map(|(role, scope)| (role.to_owned(), scope.clone()))
        .collect();
        assert_eq!(granted, expected, "{front_door}");
    }
}

#[test]
fn parameters_out_of_range_are_refused() {
    for (name, bad) in [
        ("frontDoor", json!("sideways")),
        ("instanceMemoryMB", json!(1024)),
        ("maximumInstanceCount", json!(10)),
        ("alwaysReadyHttpInstances", json!(-1)),
    ] {
        let error = bicep::Deployment::evaluate(
            bicep::infra(),
            "infra/main.bicep",
            vec![
                ("environmentName".to_owned(), json!("lcw-contract")),
                ("location".to_owned(), json!("westeurope")),
                (name.to_owned(), bad.clone()),
            ],
        )
        .expect_err(name);
        assert!(error.contains(name), "{error}");
    }
}

// ---- azd -------------------------------------------------------------------------------------

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
