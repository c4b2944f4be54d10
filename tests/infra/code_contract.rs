//! (c) The infrastructure against the code: the queues the functions use, the callout route, and
//! every app setting, proven by running the real `lcw-handler check` with exactly the settings
//! the Bicep gives the function app.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::bicep::{self, app_settings, deploy_front_door, repo_root};
use crate::{FRONT_DOORS, bindings, read_json, setting};

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

#[test]
fn the_queues_are_the_ones_the_functions_use() {
    let output_queues: Vec<String> = bindings("callout")
        .iter()
        .filter(|b| b["type"] == "queue" && b["direction"] == "out")
        .map(|b| b["queueName"].as_str().unwrap().to_owned())
        .collect();
    let entitlement_queues: Vec<String> = bindings("entitlement")
        .iter()
        .filter(|b| b["type"] == "queue" && b["direction"] == "out")
        .map(|b| b["queueName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        entitlement_queues, output_queues,
        "entitlement writes the work queue callout writes (one queue, one poison queue)"
    );
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
    for function in ["callout", "entitlement", "process"] {
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
        // The Blob ledger: in the host storage account the Bicep names, in the container it
        // creates, signed in with the managed identity (no SAS in Azure).
        let account = deployment.only("Microsoft.Storage/storageAccounts");
        assert_eq!(shown.get("LCW_LEDGER").map(String::as_str), Some("blob"));
        let blob_service = format!(
            "blob service https://{}.blob.core.windows.net/ (from AzureWebJobsStorage__blobServiceUri)",
            account.name
        );
        assert!(
            stdout
                .lines()
                .any(|line| line.split_whitespace().collect::<Vec<_>>().join(" ") == blob_service),
            "{front_door}: check resolves the ledger's blob service from the host storage settings: {stdout}"
        );
        let containers: BTreeSet<String> = deployment
            .of_type("Microsoft.Storage/storageAccounts/blobServices/containers")
            .iter()
            .map(|c| c.name.clone())
            .collect();
        let ledger_container = shown
            .get("LCW_LEDGER_BLOB_CONTAINER")
            .cloned()
            .unwrap_or_default();
        assert!(
            containers.contains(&ledger_container),
            "{front_door}: the ledger container {ledger_container:?} is one the Bicep creates: {containers:?}"
        );
        assert!(
            shown
                .get("LCW_LEDGER_BLOB_SAS")
                .is_some_and(|v| v.contains("managed identity")),
            "{front_door}: no SAS in Azure: {shown:?}"
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
                    known.contains(name),
                    "{front_door}: {name} is not a setting the handler reads (typo?)"
                );
            }
        }
        assert_eq!(setting(&settings, "LCW_LEDGER"), "blob", "the Blob ledger");
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
