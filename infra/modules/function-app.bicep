// The Flex Consumption plan and the function app running lcw-handler as a custom handler, with
// every app setting the handler and the Functions host need. The app settings are the contract
// with the code: tests/infra/ extracts them from this file and runs `lcw-handler check` with
// exactly them, for both front doors.

param name string
param planName string
param location string
param tags object

@description('Resource id of the function\'s user-assigned identity.')
param identityId string
@description('Client id of the same identity (AZURE_CLIENT_ID, host storage, Application Insights).')
param identityClientId string

param storageAccountName string
@description('https://<account>.blob.core.windows.net/ (with the trailing slash ARM returns).')
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param deploymentContainerName string
param ledgerContainerName string
param applicationInsightsConnectionString string

@minValue(0)
param alwaysReadyHttpInstances int
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@allowed([
  'direct'
  'forwarder'
])
param frontDoor string
@description('Directory (tenant) id whose tokens are accepted.')
param tenantId string
@description('The ARM path registered in the extension (the PoP p claim).')
param popPath string
@description('The ARM host LCW signs into the PoP u claim.')
param popHost string
@description('The extension\'s callback timeoutDuration (ISO 8601).')
param callbackTimeout string
param authDiagnostics bool
@description('Forwarder only: client id of the forwarder\'s identity, the one caller accepted.')
param forwarderClientId string
@description('Forwarder only: the audience the forwarder requests its token for.')
param forwarderAudience string

// The public route of the callout function: host.json extensions.http.routePrefix ("api") +
// function/callout/function.json route ("lifecycle/callout").
var calloutRoute = 'api/lifecycle/callout'
// The service name in azure.yaml: azd finds the app to deploy to by this tag.
var azdServiceName = 'handler'

var hostSettings = [
  // Host storage through the identity (no connection string: shared keys are disabled).
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storageAccountName
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: blobEndpoint
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: queueEndpoint
  }
  {
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: tableEndpoint
  }
  // Entra-authenticated telemetry: the component refuses the instrumentation key alone.
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsightsConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
]

var handlerSettings = [
  // Graph's resume and the ledger use this identity (put its client id in authorizedApps).
  {
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
  {
    name: 'LCW_TENANT_ID'
    value: tenantId
  }
  // The registered ARM path. The handler checks it in PoP mode; with the forwarder the Logic
  // App's policy checks the same value, and `register` compares it with the registration.
  {
    name: 'LCW_POP_PATH'
    value: popPath
  }
  {
    name: 'LCW_POP_HOST'
    value: popHost
  }
  {
    name: 'LCW_CALLBACK_TIMEOUT'
    value: callbackTimeout
  }
  {
    name: 'LCW_AUTH_DIAGNOSTICS'
    value: authDiagnostics ? '1' : '0'
  }
  // The ledger: one blob per task in this container of the host storage account, which the
  // handler finds from AzureWebJobsStorage__blobServiceUri and reaches with AZURE_CLIENT_ID
  // (Storage Blob Data Owner on the account, roles.bicep).
  {
    name: 'LCW_LEDGER'
    value: 'blob'
  }
  {
    name: 'LCW_LEDGER_BLOB_CONTAINER'
    value: ledgerContainerName
  }
]

// direct: Lifecycle Workflows calls the function and the handler verifies its PoP signed request.
var directSettings = [
  {
    name: 'LCW_AUTH'
    value: 'pop'
  }
]

// forwarder: the Logic App verified PoP; the handler accepts only the forwarder's bearer token.
var forwarderSettings = [
  {
    name: 'LCW_AUTH'
    value: 'bearer'
  }
  {
    name: 'LCW_AUDIENCE'
    value: forwarderAudience
  }
  {
    name: 'LCW_CALLER_APP_IDS'
    value: forwarderClientId
  }
]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption offers zone redundancy only in some regions; leaving it off keeps the template deployable in every Flex region. Set properties.zoneRedundant where the region supports it.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: Lifecycle Workflows (direct) and the forwarder Logic App call the callout URL from Microsoft's public service addresses; no private path from them exists. Every caller is authenticated by the handler (PoP or bearer).
  // checkov:skip=CKV_AZURE_17: Lifecycle Workflows presents no client certificate; callers prove themselves with Entra tokens (PoP signed requests or the forwarder's bearer token), which the handler validates.
  // checkov:skip=CKV_AZURE_212: siteConfig.numberOfWorkers does not apply to Flex Consumption, whose scale controller sizes the app per function group; the always-ready HTTP instance (alwaysReadyHttpInstances) is the availability knob.
  // checkov:skip=CKV_AZURE_213: an App Service health check would need a public, unauthenticated health route of its own; the Functions host already restarts a handler that exits or stops answering its readiness probe (docs/protocol.md §8.9).
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': azdServiceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      appSettings: concat(hostSettings, handlerSettings, (frontDoor == 'forwarder') ? forwarderSettings : directSettings)
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: (alwaysReadyHttpInstances > 0) ? [
          {
            name: 'http'
            instanceCount: alwaysReadyHttpInstances
          }
        ] : []
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
}

// azd deploys with an Entra token; publishing with a user name and password stays off.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = site.name
output calloutUrl string = 'https://${site.properties.defaultHostName}/${calloutRoute}'
