//! The Graph fake's registration APIs over real sockets, with reqwest as an independent client:
//! custom task extensions, workflows and task definitions (docs/protocol.md §6).

use lcw_emulator::tenant::{TenantEmulator, TenantOptions};
use reqwest::Method;
use serde_json::{Value, json};

const GRAPH: &str = "https://graph.microsoft.com";

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn graph_token(tenant: &TenantEmulator) -> String {
    let response = client()
        .get(format!(
            "{}?api-version=2019-08-01&resource={GRAPH}",
            tenant.identity_endpoint()
        ))
        .header("x-identity-header", tenant.identity_header())
        .header("metadata", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn url(tenant: &TenantEmulator, path: &str) -> String {
    format!(
        "{}/v1.0/identityGovernance/lifecycleWorkflows/{path}",
        tenant.graph_url()
    )
}

async fn call(
    tenant: &TenantEmulator,
    token: Option<&str>,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client().request(method, url(tenant, path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    assert!(response.headers().contains_key("request-id"));
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn extension(name: &str) -> Value {
    json!({
        "displayName": name,
        "description": "d",
        "endpointConfiguration": {
            "@odata.type": "#microsoft.graph.logicAppTriggerEndpointConfiguration",
            "subscriptionId": "c500b67c-e9b7-4ad2-a90d-77d41385ae55",
            "resourceGroupName": "rg",
            "logicAppWorkflowName": "la",
            "url": "https://func.example/api/lifecycle/callout"
        },
        "authenticationConfiguration": {"@odata.type": "#microsoft.graph.azureAdPopTokenAuthentication"},
        "clientConfiguration": {"@odata.type": "#microsoft.graph.customExtensionClientConfiguration", "timeoutInMilliseconds": 2000, "maximumRetries": 1},
        "callbackConfiguration": {
            "@odata.type": "#microsoft.graph.identityGovernance.customTaskExtensionCallbackConfiguration",
            "timeoutDuration": "PT30M",
            "authorizedApps": [{"id": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"}]
        }
    })
}

#[tokio::test]
async fn extensions_are_created_found_updated_and_validated() {
    let tenant = TenantEmulator::start(TenantOptions::default())
        .await
        .unwrap();
    let token = graph_token(&tenant).await;
    let token = Some(token.as_str());

    let (status, created) = call(
        &tenant,
        token,
        Method::POST,
        "customTaskExtensions",
        Some(extension("ext a")),
    )
    .await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(
        created["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("customTaskExtensions/$entity")
    );
    assert_eq!(
        created["callbackConfiguration"]["authorizedApps"][0]["id"],
        "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
    );

    let (status, _) = call(
        &tenant,
        token,
        Method::POST,
        "customTaskExtensions",
        Some(extension("ext b")),
    )
    .await;
    assert_eq!(status, 201);
    let (status, found) = call(
        &tenant,
        token,
        Method::GET,
        "customTaskExtensions?$filter=displayName%20eq%20%27ext%20a%27",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(found["value"].as_array().unwrap().len(), 1);
    assert_eq!(found["value"][0]["id"], id.as_str());

    let (status, error) = call(
        &tenant,
        token,
        Method::POST,
        "customTaskExtensions",
        Some(extension("EXT A")),
    )
    .await;
    assert_eq!(status, 409, "display names are unique: {error}");

    let (status, _) = call(
        &tenant,
        token,
        Method::PATCH,
        &format!("customTaskExtensions/{id}"),
        Some(json!({"clientConfiguration": {"timeoutInMilliseconds": 1500}, "callbackConfiguration": null})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, read) = call(
        &tenant,
        token,
        Method::GET,
        &format!("customTaskExtensions/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(read["clientConfiguration"]["timeoutInMilliseconds"], 1500);
    assert_eq!(read["callbackConfiguration"], Value::Null);

    let (status, error) = call(
        &tenant,
        token,
        Method::PATCH,
        &format!("customTaskExtensions/{id}"),
        Some(json!({"clientConfiguration": {"maximumRetries": 3}})),
    )
    .await;
    assert_eq!(status, 400);
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("'clientConfiguration.maximumRetries'"),
        "{message}"
    );
    let recorded = tenant.registration_requests().pop().unwrap();
    assert_eq!(
        (recorded.status, recorded.error.as_deref()),
        (400, Some(message))
    );

    let (status, _) = call(
        &tenant,
        token,
        Method::GET,
        "customTaskExtensions/00000000-0000-0000-0000-000000000000",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &tenant,
        token,
        Method::GET,
        "customTaskExtensions?$filter=startswith(displayName,'e')",
        None,
    )
    .await;
    assert_eq!(status, 400, "unsupported filters are refused, not ignored");
}

#[tokio::test]
async fn registration_needs_a_graph_token_and_can_be_forbidden() {
    let tenant = TenantEmulator::start(TenantOptions::default())
        .await
        .unwrap();
    let (status, error) = call(&tenant, None, Method::GET, "customTaskExtensions", None).await;
    assert_eq!(status, 401);
    assert_eq!(error["error"]["code"], "InvalidAuthenticationToken");
    let (status, _) = call(
        &tenant,
        Some("made-up"),
        Method::POST,
        "customTaskExtensions",
        Some(extension("x")),
    )
    .await;
    assert_eq!(status, 401);
    assert!(tenant.custom_task_extensions().is_empty());

    let token = graph_token(&tenant).await;
    tenant.set_registration_forbidden(true);
    let (status, error) = call(
        &tenant,
        Some(&token),
        Method::POST,
        "customTaskExtensions",
        Some(extension("x")),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(error["error"]["code"], "Authorization_RequestDenied");
    assert!(error["error"]["innerError"]["request-id"].is_string());
    let recorded = tenant.registration_requests();
    assert_eq!(
        recorded
            .iter()
            .map(|r| (r.authorized, r.status))
            .collect::<Vec<_>>(),
        [(false, 401), (false, 401), (true, 403)]
    );

    tenant.set_registration_forbidden(false);
    let (status, _) = call(
        &tenant,
        Some(&token),
        Method::POST,
        "customTaskExtensions",
        Some(extension("x")),
    )
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn workflows_take_a_new_version_with_a_valid_extension_task() {
    let tenant = TenantEmulator::start(TenantOptions::default())
        .await
        .unwrap();
    let token = graph_token(&tenant).await;
    let token = Some(token.as_str());
    let workflow_id = tenant.seed_workflow(json!({
        "category": "joiner",
        "displayName": "Onboard",
        "isEnabled": true,
        "isSchedulingEnabled": false,
        "tasks": [{"displayName": "Enable User Account", "taskDefinitionId": "6fc52c9d-398b-4305-9763-15f42c1676fc", "arguments": [], "isEnabled": true}]
    }));

    let (status, workflow) = call(
        &tenant,
        token,
        Method::GET,
        &format!("workflows/{workflow_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(workflow["version"], 1);
    assert!(
        workflow["tasks"][0]["id"].is_string(),
        "tasks come expanded, with ids"
    );
    assert_eq!(workflow["tasks"][0]["executionSequence"], 1);

    let (status, definitions) = call(
        &tenant,
        token,
        Method::GET,
        "taskDefinitions?$filter=displayName%20eq%20%27Run%20a%20Custom%20Task%20Extension%27",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(definitions["value"].as_array().unwrap().len(), 1);
    assert_eq!(
        definitions["value"][0]["id"],
        "4262b724-8dba-4fad-afc3-43fcbb497a0e"
    );
    assert_eq!(
        definitions["value"][0]["parameters"][0]["name"],
        "customTaskExtensionID"
    );

    let (_, created) = call(
        &tenant,
        token,
        Method::POST,
        "customTaskExtensions",
        Some(extension("x")),
    )
    .await;
    let extension_id = created["id"].as_str().unwrap();
    let kept = json!({"displayName": "Enable User Account", "taskDefinitionId": "6fc52c9d-398b-4305-9763-15f42c1676fc", "arguments": [], "isEnabled": true});
    let ours = |value: &str| {
        json!({
            "displayName": "x", "taskDefinitionId": "4262b724-8dba-4fad-afc3-43fcbb497a0e", "isEnabled": true, "continueOnError": false,
            "arguments": [{"name": "customTaskExtensionID", "value": value}]
        })
    };
    let path = format!("workflows/{workflow_id}/createNewVersion");

    let body = json!({"workflow": {"category": "joiner", "displayName": "Onboard", "tasks": [kept.clone(), ours("00000000-0000-0000-0000-000000000000")]}});
    let (status, error) = call(&tenant, token, Method::POST, &path, Some(body)).await;
    assert_eq!(status, 400);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'workflow.tasks[1].arguments[0].value'"),
        "{error}"
    );
    assert_eq!(
        tenant.workflow(&workflow_id).unwrap()["version"],
        1,
        "a refused version changes nothing"
    );

    let body = json!({"workflow": {"category": "joiner", "displayName": "Onboard", "tasks": [kept, ours(extension_id)]}});
    let (status, workflow) = call(&tenant, token, Method::POST, &path, Some(body)).await;
    assert_eq!(status, 200);
    assert_eq!(workflow["version"], 2);
    assert_eq!(workflow["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(workflow["tasks"][1]["executionSequence"], 2);
    let (status, _) = call(
        &tenant,
        token,
        Method::POST,
        "workflows/unknown/createNewVersion",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 404);
}
