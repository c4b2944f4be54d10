// What the function's identity may do, and nothing more. Every role is scoped to one resource.
//
// - Storage Blob Data Owner: Functions host storage (leases, keys, containers it creates), the
//   Flex Consumption deployment package, and the ledger container.
// - Storage Queue Data Contributor: the queue output (callout) and queue trigger (process),
//   including moving a message to the -poison queue.
// - Storage Table Data Contributor: not for our functions. Since host 4.1038 the Functions host
//   writes its diagnostic events to AzureFunctionsDiagnosticEvents<yyyyMM> tables through
//   AzureWebJobsStorage, and reports a 403 every few minutes without it
//   (Azure/azure-functions-host#10995).
// - Monitoring Metrics Publisher on Application Insights: Entra-authenticated telemetry
//   (local auth is disabled there).
//
// Graph needs no role: the extension's callbackConfiguration.authorizedApps lets this identity
// resume its own tasks (docs/protocol.md §5.4).

@description('Principal (object) id of the function\'s user-assigned identity.')
param principalId string
param storageAccountName string
param applicationInsightsName string

var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource account 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, storageBlobDataOwner)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, storageQueueDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, storageTableDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalId, monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
