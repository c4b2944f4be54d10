//! (c) The deployment itself: contract A's outputs and their agreement with the app settings, the
//! forwarder's policy and token, the Flex Consumption shape, the roles, and the parameters'
//! constraints.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::bicep::{self, SUBSCRIPTION_ID, TENANT_ID, app_settings, deploy, deploy_front_door};
use crate::{FRONT_DOORS, setting};

/// Lifecycle Workflows' application id (docs/protocol.md §3.5).
const LIFECYCLE_WORKFLOWS_APP_ID: &str = "ce79fdc4-cd1d-4ea5-8139-e74d7dbe0bb7";
/// Contract A: exactly these outputs, nothing else (and nothing secret).
const CONTRACT_A_OUTPUTS: [&str; 13] = [
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
    "STORAGE_ACCOUNT_NAME",
    "APPLICATIONINSIGHTS_NAME",
];
/// Built-in role definition ids (docs/infra.md, "Roles").
const STORAGE_BLOB_DATA_OWNER: &str = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
const STORAGE_QUEUE_DATA_CONTRIBUTOR: &str = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
const STORAGE_TABLE_DATA_CONTRIBUTOR: &str = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
const MONITORING_METRICS_PUBLISHER: &str = "3913510d-42f4-4e42-8a64-420c390055eb";

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
    assert!(containers.contains("lcw-ledger"), "the ledger container");
    assert_eq!(
        setting(&settings, "LCW_LEDGER_BLOB_CONTAINER"),
        "lcw-ledger",
        "the ledger's container"
    );
    assert_eq!(
        setting(&settings, "AzureWebJobsStorage__blobServiceUri"),
        format!("https://{}.blob.core.windows.net/", account.name),
        "the ledger finds its account from the host storage connection"
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
