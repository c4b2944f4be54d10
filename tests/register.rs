//! `lcw-handler register` through the real binary, against the tenant emulator's Graph fake,
//! which validates every body field by field (docs/protocol.md §6) and records every request.
//! The binary authenticates with the emulator's managed identity, as it would in Azure.

#![cfg(feature = "deploy")]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use lcw_emulator::tenant::{RecordedRegistration, TenantEmulator, TenantOptions};
use serde_json::{Value, json};

const SUBSCRIPTION: &str = "c500b67c-e9b7-4ad2-a90d-77d41385ae55";
const IDENTITY_CLIENT_ID: &str = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
const CALLOUT_URL: &str = "https://func-lcw.azurewebsites.net/api/lifecycle/callout";
const RUN_CUSTOM_TASK_EXTENSION: &str = "4262b724-8dba-4fad-afc3-43fcbb497a0e";
/// Upper bound for one run of the binary; never a timing assertion.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// A finished run.
struct Run {
    output: Output,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    fn assert_success(&self) {
        assert!(
            self.output.status.success(),
            "register failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.output.status,
            self.stdout(),
            self.stderr()
        );
    }
}

/// A scratch project folder (where `.azure/` would live), removed on drop.
struct Project(PathBuf);

impl Project {
    fn new(name: &str) -> Project {
        let dir = std::env::temp_dir().join(format!("lcw-register-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Project(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `.azure/<env>/.env` as azd does (`NAME="value"`), and makes `env` the default.
    fn azd_env(&self, env: &str, values: &[(&str, &str)]) {
        let folder = self.0.join(".azure").join(env);
        std::fs::create_dir_all(&folder).expect("azd folder");
        let text: String = values
            .iter()
            .map(|(name, value)| format!("{name}=\"{value}\"\n"))
            .collect();
        std::fs::write(folder.join(".env"), text).expect("azd env file");
        std::fs::write(
            self.0.join(".azure").join("config.json"),
            format!(r#"{{"version":1,"defaultEnvironment":"{env}"}}"#),
        )
        .expect("azd config");
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `lcw-handler register <args>` in `project` with only the emulator's managed-identity
/// endpoint in its environment.
async fn register(tenant: &TenantEmulator, project: &Project, args: &[&str]) -> Run {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lcw-handler"))
        .arg("register")
        .args(args)
        .env_clear()
        .env("IDENTITY_ENDPOINT", tenant.identity_endpoint())
        .env("IDENTITY_HEADER", tenant.identity_header())
        .current_dir(project.path())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(RUN_TIMEOUT, child)
        .await
        .expect("register finishes in time")
        .expect("the binary runs");
    Run { output }
}

/// Every input as a flag, against the emulator's Graph.
fn flags(tenant: &TenantEmulator) -> Vec<String> {
    [
        "--subscription",
        SUBSCRIPTION,
        "--resource-group",
        "rg-lcw",
        "--logic-app-name",
        "lcw-callout",
        "--url",
        CALLOUT_URL,
        "--identity-client-id",
        IDENTITY_CLIENT_ID,
        "--credential",
        "managed-identity",
        "--graph-url",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([tenant.graph_url()])
    .collect()
}

fn with<'a>(base: &'a [String], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        .collect()
}

async fn tenant() -> TenantEmulator {
    TenantEmulator::start(TenantOptions::default())
        .await
        .expect("tenant emulator starts")
}

fn pop_path(logic_app: &str) -> String {
    format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-lcw/providers/Microsoft.Logic/workflows/{logic_app}"
    )
}

/// `(method, path)` of each recorded request, for order assertions.
fn calls(requests: &[RecordedRegistration]) -> Vec<(String, String)> {
    requests
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect()
}

const EXTENSIONS: &str = "identityGovernance/lifecycleWorkflows/customTaskExtensions";

#[tokio::test]
async fn creates_the_extension_with_every_documented_field() {
    let tenant = tenant().await;
    let project = Project::new("create");
    let base = flags(&tenant);
    let run = register(&tenant, &project, &with(&base, &[])).await;
    run.assert_success();

    let requests = tenant.registration_requests();
    assert_eq!(
        calls(&requests),
        [
            ("GET".to_owned(), EXTENSIONS.to_owned()),
            ("POST".to_owned(), EXTENSIONS.to_owned())
        ]
    );
    assert!(
        requests
            .iter()
            .all(|r| r.authorized && r.api_version == "v1.0")
    );
    assert_eq!(
        requests[0].filter.as_deref(),
        Some("displayName eq 'lcw-handler lcw-callout'")
    );
    let create = &requests[1];
    assert_eq!(
        create.status, 201,
        "the fake refused the body: {:?}",
        create.error
    );
    assert_eq!(
        create.body,
        json!({
            "displayName": "lcw-handler lcw-callout",
            "description": "Runs an lcw-handler task (Azure Functions custom handler)",
            "endpointConfiguration": {
                "@odata.type": "#microsoft.graph.logicAppTriggerEndpointConfiguration",
                "subscriptionId": SUBSCRIPTION,
                "resourceGroupName": "rg-lcw",
                "logicAppWorkflowName": "lcw-callout",
                "url": CALLOUT_URL
            },
            "authenticationConfiguration": {"@odata.type": "#microsoft.graph.azureAdPopTokenAuthentication"},
            "clientConfiguration": {
                "@odata.type": "#microsoft.graph.customExtensionClientConfiguration",
                "timeoutInMilliseconds": 2000,
                "maximumRetries": 1
            },
            "callbackConfiguration": {
                "@odata.type": "#microsoft.graph.identityGovernance.customTaskExtensionCallbackConfiguration",
                "timeoutDuration": "PT30M",
                "authorizedApps": [{"id": IDENTITY_CLIENT_ID}]
            }
        })
    );

    let stored = tenant.custom_task_extensions();
    assert_eq!(stored.len(), 1);
    let id = stored[0]["id"].as_str().unwrap();
    let stdout = run.stdout();
    assert!(
        stdout.contains(&format!("created custom task extension {id}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("LCW_POP_PATH={}", pop_path("lcw-callout"))),
        "{stdout}"
    );
    assert!(stdout.contains("LCW_CALLBACK_TIMEOUT=PT30M"), "{stdout}");
    assert!(
        tenant.token_fetches() >= 1,
        "a managed-identity token was used"
    );
}

#[tokio::test]
async fn a_rerun_updates_the_extension_in_place() {
    let tenant = tenant().await;
    let project = Project::new("rerun");
    let base = flags(&tenant);
    register(&tenant, &project, &with(&base, &[]))
        .await
        .assert_success();
    let id = tenant.custom_task_extensions()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let rerun = register(
        &tenant,
        &project,
        &with(&base, &["--callback-timeout", "PT1H"]),
    )
    .await;
    rerun.assert_success();
    assert!(
        rerun
            .stdout()
            .contains(&format!("updated custom task extension {id}")),
        "{}",
        rerun.stdout()
    );
    let requests = tenant.registration_requests();
    assert_eq!(
        calls(&requests),
        [
            ("GET".to_owned(), EXTENSIONS.to_owned()),
            ("POST".to_owned(), EXTENSIONS.to_owned()),
            ("GET".to_owned(), EXTENSIONS.to_owned()),
            ("PATCH".to_owned(), format!("{EXTENSIONS}/{id}")),
        ],
        "a re-run finds the extension and patches it; no second POST"
    );
    assert_eq!(requests[3].status, 204, "{:?}", requests[3].error);
    let stored = tenant.custom_task_extensions();
    assert_eq!(stored.len(), 1, "still one extension");
    assert_eq!(
        stored[0]["callbackConfiguration"]["timeoutDuration"],
        "PT1H"
    );

    // Switching to launch-and-continue must clear the callback, not leave the old one.
    register(&tenant, &project, &with(&base, &["--launch-and-continue"]))
        .await
        .assert_success();
    let patch = tenant.registration_requests().pop().unwrap();
    assert_eq!((patch.method.as_str(), patch.status), ("PATCH", 204));
    assert_eq!(patch.body["callbackConfiguration"], Value::Null);
    assert_eq!(
        tenant.custom_task_extensions()[0]["callbackConfiguration"],
        Value::Null
    );
}

/// The documented `GET …/workflows/{id}` sample, shortened (two tasks).
fn sample_workflow() -> Value {
    json!({
        "category": "joiner",
        "description": "Configure new hire tasks for onboarding employees on their first day",
        "displayName": "Onboard new hire employee",
        "isEnabled": true,
        "isSchedulingEnabled": false,
        "executionConditions": {
            "@odata.type": "#microsoft.graph.identityGovernance.triggerAndScopeBasedConditions",
            "scope": {"@odata.type": "#microsoft.graph.identityGovernance.ruleBasedSubjectSet", "rule": "(department eq 'Marketing')"},
            "trigger": {"@odata.type": "#microsoft.graph.identityGovernance.timeBasedAttributeTrigger", "timeBasedAttribute": "employeeHireDate", "offsetInDays": 0}
        },
        "tasks": [
            {"category": "joiner,leaver", "continueOnError": false, "description": "Enable user account in the directory",
             "displayName": "Enable User Account", "isEnabled": true, "taskDefinitionId": "6fc52c9d-398b-4305-9763-15f42c1676fc", "arguments": []},
            {"category": "joiner", "continueOnError": false, "description": "Send welcome email to new hire",
             "displayName": "Send Welcome Email", "isEnabled": true, "taskDefinitionId": "70b29d51-b59a-4773-9280-8841dfd3f2ea", "arguments": []}
        ]
    })
}

#[tokio::test]
async fn adds_the_task_to_a_workflow_once() {
    let tenant = tenant().await;
    let project = Project::new("workflow");
    let workflow_id = tenant.seed_workflow(sample_workflow());
    let base = flags(&tenant);
    let args = with(&base, &["--workflow", &workflow_id]);

    let run = register(&tenant, &project, &args).await;
    run.assert_success();
    let extension_id = tenant.custom_task_extensions()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        run.stdout().contains(&format!(
            "added a \"Run a Custom Task Extension\" task to workflow {workflow_id} (new version 2)"
        )),
        "{}",
        run.stdout()
    );
    let requests = tenant.registration_requests();
    let workflow_path = format!("identityGovernance/lifecycleWorkflows/workflows/{workflow_id}");
    assert_eq!(
        calls(&requests)[2..],
        [
            (
                "GET".to_owned(),
                "identityGovernance/lifecycleWorkflows/taskDefinitions".to_owned()
            ),
            ("GET".to_owned(), workflow_path.clone()),
            (
                "POST".to_owned(),
                format!("{workflow_path}/createNewVersion")
            ),
        ]
    );
    assert_eq!(
        requests[2].filter.as_deref(),
        Some("displayName eq 'Run a Custom Task Extension'")
    );
    let new_version = &requests[4];
    assert_eq!(
        new_version.status, 200,
        "the fake refused: {:?}",
        new_version.error
    );
    let sent = &new_version.body["workflow"];
    let sample = sample_workflow();
    for kept in [
        "category",
        "description",
        "displayName",
        "isEnabled",
        "isSchedulingEnabled",
        "executionConditions",
    ] {
        assert_eq!(sent[kept], sample[kept], "{kept} is kept");
    }
    let tasks = sent["tasks"].as_array().unwrap();
    assert_eq!(
        tasks.len(),
        3,
        "both existing tasks are kept and ours is added"
    );
    for (sent_task, existing) in tasks.iter().zip(sample["tasks"].as_array().unwrap()) {
        assert_eq!(sent_task["taskDefinitionId"], existing["taskDefinitionId"]);
        assert_eq!(sent_task["displayName"], existing["displayName"]);
        assert!(sent_task.get("id").is_none() && sent_task.get("executionSequence").is_none());
    }
    assert_eq!(tasks[2]["taskDefinitionId"], RUN_CUSTOM_TASK_EXTENSION);
    assert_eq!(
        tasks[2]["arguments"],
        json!([{"name": "customTaskExtensionID", "value": extension_id}])
    );
    let stored = tenant.workflow(&workflow_id).unwrap();
    assert_eq!(stored["version"], 2);
    assert_eq!(stored["tasks"].as_array().unwrap().len(), 3);

    let again = register(&tenant, &project, &args).await;
    again.assert_success();
    assert!(
        again
            .stdout()
            .contains("already runs this extension; nothing to add"),
        "{}",
        again.stdout()
    );
    let new_versions = tenant
        .registration_requests()
        .iter()
        .filter(|r| r.path.ends_with("createNewVersion"))
        .count();
    assert_eq!(new_versions, 1, "a second run adds nothing");
    assert_eq!(tenant.workflow(&workflow_id).unwrap()["version"], 2);
}

#[tokio::test]
async fn forbidden_names_the_permission_and_role() {
    let tenant = tenant().await;
    tenant.set_registration_forbidden(true);
    let project = Project::new("forbidden");
    let base = flags(&tenant);
    let run = register(&tenant, &project, &with(&base, &[])).await;

    assert!(!run.output.status.success(), "a 403 fails the run");
    let stderr = run.stderr();
    for needed in [
        "403",
        "Authorization_RequestDenied",
        "request-id",
        "LifecycleWorkflows-CustomExt.ReadWrite.All",
        "LifecycleWorkflows.ReadWrite.All",
        "Lifecycle Workflows Administrator",
    ] {
        assert!(stderr.contains(needed), "{needed}: {stderr}");
    }
    let requests = tenant.registration_requests();
    assert_eq!(requests.len(), 1, "nothing is tried after the refusal");
    assert!(
        requests[0].authorized,
        "the token was valid; the permission was missing"
    );
    assert_eq!(requests[0].status, 403);
    assert!(tenant.custom_task_extensions().is_empty());
}

#[tokio::test]
async fn dry_run_prints_every_request_and_sends_nothing() {
    let tenant = tenant().await;
    let project = Project::new("dry-run");
    let workflow_id = tenant.seed_workflow(sample_workflow());
    let base = flags(&tenant);
    let run = register(
        &tenant,
        &project,
        &with(&base, &["--workflow", &workflow_id, "--dry-run"]),
    )
    .await;
    run.assert_success();

    assert!(
        tenant.registration_requests().is_empty(),
        "nothing was sent"
    );
    assert_eq!(tenant.token_fetches(), 0, "not even a token was requested");

    let stdout = run.stdout();
    let requests: Vec<&str> = stdout.lines().filter(|l| !l.starts_with('#')).collect();
    let graph = tenant.graph_url();
    let methods_and_paths: Vec<(&str, &str)> = requests
        .iter()
        .map(|line| {
            let mut parts = line.splitn(3, ' ');
            let method = parts.next().unwrap();
            let url = parts.next().unwrap_or_default();
            (method, url.strip_prefix(&graph).unwrap_or(url))
        })
        .collect();
    let workflow = format!("/v1.0/identityGovernance/lifecycleWorkflows/workflows/{workflow_id}");
    assert_eq!(
        methods_and_paths,
        [
            (
                "GET",
                "/v1.0/identityGovernance/lifecycleWorkflows/customTaskExtensions?$filter=displayName%20eq%20%27lcw-handler%20lcw-callout%27"
            ),
            (
                "POST",
                "/v1.0/identityGovernance/lifecycleWorkflows/customTaskExtensions"
            ),
            (
                "PATCH",
                "/v1.0/identityGovernance/lifecycleWorkflows/customTaskExtensions/{customTaskExtensionId}"
            ),
            (
                "GET",
                "/v1.0/identityGovernance/lifecycleWorkflows/taskDefinitions?$filter=displayName%20eq%20%27Run%20a%20Custom%20Task%20Extension%27"
            ),
            ("GET", workflow.as_str()),
            ("POST", format!("{workflow}/createNewVersion").as_str()),
        ],
        "{stdout}"
    );
    // Bodies are compact JSON on the same line: the create body is the one a real run sends.
    let create_body: Value =
        serde_json::from_str(requests[1].splitn(3, ' ').nth(2).expect("a body")).unwrap();
    assert_eq!(create_body["endpointConfiguration"]["url"], CALLOUT_URL);
    assert_eq!(
        create_body["callbackConfiguration"]["authorizedApps"],
        json!([{"id": IDENTITY_CLIENT_ID}])
    );
    assert!(
        stdout.contains(&format!("#   LCW_POP_PATH={}", pop_path("lcw-callout"))),
        "{stdout}"
    );
}

#[tokio::test]
async fn missing_inputs_are_each_named_with_their_azd_output() {
    let tenant = tenant().await;
    let project = Project::new("missing");
    let run = register(&tenant, &project, &["--credential", "managed-identity"]).await;

    assert_eq!(run.output.status.code(), Some(2));
    let stderr = run.stderr();
    for (flag, output) in [
        ("--subscription", "AZURE_SUBSCRIPTION_ID"),
        ("--resource-group", "AZURE_RESOURCE_GROUP"),
        ("--logic-app-name", "EXTENSION_LOGIC_APP_NAME"),
        ("--url", "EXTENSION_ENDPOINT_URL"),
        ("--identity-client-id", "IDENTITY_CLIENT_ID"),
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(flag) && l.contains(output)),
            "{flag} / {output}: {stderr}"
        );
    }
    assert_eq!(tenant.token_fetches(), 0);
    assert!(tenant.registration_requests().is_empty());
}

/// The outputs `azd provision` writes (contract A), for logic app `logic_app`.
fn azd_outputs(logic_app: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AZURE_ENV_NAME", "dev".into()),
        ("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION.into()),
        ("AZURE_RESOURCE_GROUP", "rg-lcw".into()),
        ("FUNCTION_APP_NAME", "func-lcw".into()),
        ("CALLOUT_URL", CALLOUT_URL.into()),
        ("FRONT_DOOR", "direct".into()),
        ("EXTENSION_ENDPOINT_URL", CALLOUT_URL.into()),
        ("EXTENSION_LOGIC_APP_NAME", logic_app.into()),
        ("LCW_POP_PATH", pop_path(logic_app)),
        ("LCW_CALLBACK_TIMEOUT", "PT45M".into()),
        ("IDENTITY_CLIENT_ID", IDENTITY_CLIENT_ID.into()),
        (
            "IDENTITY_PRINCIPAL_ID",
            "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d".into(),
        ),
    ]
}

#[tokio::test]
async fn takes_every_value_from_the_azd_environment() {
    let tenant = tenant().await;
    let project = Project::new("azd");
    let outputs = azd_outputs("lcw-la");
    let pairs: Vec<(&str, &str)> = outputs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    project.azd_env("dev", &pairs);
    let graph = tenant.graph_url();
    let run = register(
        &tenant,
        &project,
        &[
            "--azd-env",
            "dev",
            "--credential",
            "managed-identity",
            "--graph-url",
            &graph,
        ],
    )
    .await;
    run.assert_success();

    let create = tenant
        .registration_requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("a create");
    assert_eq!(create.status, 201, "{:?}", create.error);
    let endpoint = &create.body["endpointConfiguration"];
    assert_eq!(endpoint["subscriptionId"], SUBSCRIPTION);
    assert_eq!(endpoint["resourceGroupName"], "rg-lcw");
    assert_eq!(endpoint["logicAppWorkflowName"], "lcw-la");
    assert_eq!(endpoint["url"], CALLOUT_URL);
    assert_eq!(create.body["displayName"], "lcw-handler lcw-la");
    assert_eq!(
        create.body["callbackConfiguration"]["timeoutDuration"],
        "PT45M"
    );
    assert_eq!(
        create.body["callbackConfiguration"]["authorizedApps"],
        json!([{"id": IDENTITY_CLIENT_ID}])
    );
    let stdout = run.stdout();
    assert!(
        stdout.contains(&format!(
            "LCW_POP_PATH={}  (matches .azure/dev/.env)",
            pop_path("lcw-la")
        )) || stdout.contains(&format!("LCW_POP_PATH={}  (matches ", pop_path("lcw-la"))),
        "{stdout}"
    );
    assert!(!run.stderr().contains("warning"), "{}", run.stderr());
}

#[tokio::test]
async fn warns_when_the_deployed_settings_differ() {
    let tenant = tenant().await;
    let project = Project::new("mismatch");
    // The infrastructure was deployed for logic app "old-name"; registration overrides it.
    let outputs = azd_outputs("old-name");
    let pairs: Vec<(&str, &str)> = outputs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    project.azd_env("dev", &pairs);
    let graph = tenant.graph_url();
    // No --azd-env: the default environment of .azure/config.json is used.
    let run = register(
        &tenant,
        &project,
        &[
            "--logic-app-name",
            "new-name",
            "--app-setting",
            "LCW_CALLBACK_TIMEOUT=PT2H",
            "--credential",
            "managed-identity",
            "--graph-url",
            &graph,
        ],
    )
    .await;
    run.assert_success();

    let stderr = run.stderr();
    assert!(stderr.contains("using azd environment \"dev\""), "{stderr}");
    let pop_warning = stderr
        .lines()
        .find(|l| l.starts_with("warning:") && l.contains("LCW_POP_PATH"))
        .unwrap_or_else(|| panic!("no LCW_POP_PATH warning: {stderr}"));
    assert!(pop_warning.contains(&pop_path("old-name")), "{pop_warning}");
    assert!(pop_warning.contains(&pop_path("new-name")), "{pop_warning}");
    assert!(
        pop_warning.contains(".env"),
        "names where the deployed value came from: {pop_warning}"
    );
    let timeout_warning = stderr
        .lines()
        .find(|l| l.starts_with("warning:") && l.contains("LCW_CALLBACK_TIMEOUT"))
        .unwrap_or_else(|| panic!("no LCW_CALLBACK_TIMEOUT warning: {stderr}"));
    assert!(
        timeout_warning.contains("PT2H") && timeout_warning.contains("--app-setting"),
        "{timeout_warning}"
    );
    assert!(run.stdout().contains("DIFFERS"), "{}", run.stdout());
}

#[tokio::test]
async fn graph_errors_show_the_odata_error_and_request_id() {
    let tenant = tenant().await;
    let project = Project::new("not-found");
    let base = flags(&tenant);
    let missing_workflow = "00000000-1111-4222-8333-444444444444";
    let run = register(
        &tenant,
        &project,
        &with(&base, &["--workflow", missing_workflow]),
    )
    .await;

    assert!(!run.output.status.success());
    let stderr = run.stderr();
    assert!(stderr.contains("404 ResourceNotFound"), "{stderr}");
    assert!(stderr.contains("request-id"), "{stderr}");
    assert!(
        stderr.contains("the extension is registered (created"),
        "a partial success says what was done: {stderr}"
    );
}

#[tokio::test]
async fn two_extensions_with_the_name_are_not_guessed_between() {
    let tenant = tenant().await;
    let project = Project::new("ambiguous");
    let twin = json!({"displayName": "lcw-handler lcw-callout"});
    let first = tenant.seed_custom_task_extension(twin.clone()).unwrap();
    let second = tenant.seed_custom_task_extension(twin).unwrap();
    let base = flags(&tenant);
    let run = register(&tenant, &project, &with(&base, &[])).await;

    assert!(!run.output.status.success());
    let stderr = run.stderr();
    assert!(
        stderr.contains(&first) && stderr.contains(&second),
        "{stderr}"
    );
    assert!(
        !tenant
            .registration_requests()
            .iter()
            .any(|r| r.method != "GET"),
        "nothing is written"
    );
}
