// lcw-handler on Azure Functions Flex Consumption, for `azd up` (docs/infra.md).
//
// One resource group holds: the function's user-assigned identity, its storage account (host
// storage, deployment package, the work queue and its poison queue, the ledger container), Log
// Analytics + Application Insights with Entra-only ingestion, the Flex Consumption plan and app,
// the role assignments, and — with frontDoor = 'forwarder' — the forwarder Logic App and its own
// identity. Nothing secret is created, passed or output: every caller authenticates with Entra.
//
// The names that tie the code and the infrastructure together (queue names, the callout route,
// every LCW_* app setting, the PoP path) are cross-checked against the code by tests/infra/.
// Paths in these comments (docs/…, tests/…) are in the lcw-handler repository.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; it names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Azure region of every resource. It must offer the Flex Consumption plan.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@allowed([
  'direct'
  'forwarder'
])
@description('How Lifecycle Workflows reaches the handler: direct (the extension calls the function, PoP checked by the handler) or forwarder (a Logic App checks PoP and forwards with a managed-identity bearer token). See docs/infra.md.')
param frontDoor string = 'direct'

@minValue(0)
@maxValue(10)
@description('Always-ready instances for the HTTP function group: 1 keeps a warm instance so a cold start never eats Lifecycle Workflows\' acknowledgement budget (at most 2 s).')
param alwaysReadyHttpInstances int = 1

@minValue(40)
@maxValue(1000)
@description('Upper bound of instances the app scales out to.')
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
@description('Memory of each instance, in MB. The handler itself needs about 10 MiB; a heavy custom task may need more.')
param instanceMemoryMB int = 512

@description('The custom task extension\'s callback timeoutDuration (ISO 8601, PT30M to PT3H). Register the extension with the same value: the callout does not carry it, and the handler derives each task\'s deadline from it.')
param callbackTimeout string = 'PT30M'

@description('The logicAppWorkflowName registered in the extension. It forms the PoP path (LCW_POP_PATH); with the forwarder it is also the Logic App\'s name. Empty: logic-lcw-<token>.')
param extensionLogicAppName string = ''

@description('Forwarder only: the audience the forwarder requests its bearer token for, and the only one the handler accepts (LCW_AUDIENCE). Empty: Azure Resource Manager, which needs no app registration; the forwarder\'s identity has no role there (docs/infra.md, "The forwarder\'s token"). With an app registration of your own, give its application ID URI.')
param forwarderAudience string = ''

@description('Log the setup-relevant claims of rejected callers (never a token); turn on while setting up.')
param authDiagnostics bool = false

@description('Storage account redundancy.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_LRS'

@minValue(30)
@maxValue(730)
@description('Log Analytics retention, in days.')
param logRetentionDays int = 30

// Every global name gets the same 13-character token, unique per subscription, environment and region.
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var resourceGroupName = 'rg-${environmentName}'
var functionAppName = 'func-lcw-${resourceToken}'
var storageAccountName = 'stlcw${resourceToken}'
var logicAppName = empty(extensionLogicAppName) ? 'logic-lcw-${resourceToken}' : extensionLogicAppName

// The path Lifecycle Workflows signs into the PoP `p` claim. It is built exactly as
// `lcw-handler register` builds it from the registered subscriptionId, resourceGroupName and
// logicAppWorkflowName (docs/protocol.md §3.3), so the setting, the output and the forwarder's
// policy can never disagree with the registration.
var popPath = '/subscriptions/${subscription().subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.Logic/workflows/${logicAppName}'

// The forwarder's token audience: ARM unless an app registration's ID URI is given.
var forwarderTokenAudience = empty(forwarderAudience) ? environment().resourceManager : forwarderAudience

// The host LCW signs into the PoP `u` claim: Azure Resource Manager's, without scheme or slash.
var popHost = split(environment().resourceManager, '/')[2]

// The work queue, named in function/process/function.json (queueTrigger) and
// function/callout/function.json (queue output).
var workQueueName = 'lcw-tasks'
// The handler's idempotency ledger (LCW_LEDGER=blob).
var ledgerContainerName = 'lcw-ledger'

resource rg 'Microsoft.Resources/resourceGroups@2024-11-01' = {
  name: resourceGroupName
  location: location
  tags: tags
}

module identity './modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-lcw-${resourceToken}'
    location: location
    tags: tags
  }
}

// The forwarder's caller identity: no role assignment anywhere, used only to obtain the bearer
// token the handler accepts (docs/infra.md, "The forwarder's token").
module forwarderIdentity './modules/identity.bicep' = if (frontDoor == 'forwarder') {
  name: 'forwarder-identity'
  scope: rg
  params: {
    name: 'id-lcw-forwarder-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring './modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    workspaceName: 'log-lcw-${resourceToken}'
    applicationInsightsName: 'appi-lcw-${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionDays
  }
}

module storage './modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: storageAccountName
    location: location
    tags: tags
    skuName: storageSku
    deploymentContainerName: 'app-package'
    ledgerContainerName: ledgerContainerName
    workQueueName: workQueueName
  }
}

module roles './modules/roles.bicep' = {
  name: 'roles'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module functionApp './modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  dependsOn: [
    // The host reads its package and storage with the identity from its first start.
    roles
  ]
  params: {
    name: functionAppName
    planName: 'plan-lcw-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    ledgerContainerName: storage.outputs.ledgerContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    frontDoor: frontDoor
    tenantId: tenant().tenantId
    popPath: popPath
    popHost: popHost
    callbackTimeout: callbackTimeout
    authDiagnostics: authDiagnostics
    forwarderClientId: (frontDoor == 'forwarder') ? forwarderIdentity.outputs.clientId : ''
    forwarderAudience: forwarderTokenAudience
  }
}

module forwarder './modules/forwarder.bicep' = if (frontDoor == 'forwarder') {
  name: 'forwarder'
  scope: rg
  params: {
    name: logicAppName
    location: location
    tags: tags
    identityId: (frontDoor == 'forwarder') ? forwarderIdentity.outputs.id : ''
    tenantId: tenant().tenantId
    popPath: popPath
    popHost: popHost
    targetUrl: functionApp.outputs.calloutUrl
    audience: forwarderTokenAudience
  }
}

// Contract A (register, docs): what `lcw-handler register --azd-env` reads. Nothing secret.
output AZURE_SUBSCRIPTION_ID string = subscription().subscriptionId
output AZURE_RESOURCE_GROUP string = rg.name
output FUNCTION_APP_NAME string = functionApp.outputs.name
output CALLOUT_URL string = functionApp.outputs.calloutUrl
output FRONT_DOOR string = frontDoor
output EXTENSION_ENDPOINT_URL string = (frontDoor == 'forwarder') ? forwarder.outputs.triggerUrl : functionApp.outputs.calloutUrl
output EXTENSION_LOGIC_APP_NAME string = logicAppName
output LCW_POP_PATH string = popPath
output LCW_CALLBACK_TIMEOUT string = callbackTimeout
output IDENTITY_CLIENT_ID string = identity.outputs.clientId
output IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
