// The function's storage account: Functions host storage (blobs, queues, the host's diagnostic
// events table), the Flex Consumption deployment package, the work queue and its poison queue, and
// the ledger container. Entra-only: shared keys are disabled, so no connection string exists
// anywhere and every reader is a role assignment (modules/roles.bicep).

param name string
param location string
param tags object
param skuName string

@description('Blob container Flex Consumption deploys the package to.')
param deploymentContainerName string

@description('Blob container of the handler\'s idempotency ledger (LCW_LEDGER=blob).')
param ledgerContainerName string

@description('The queue the callout function writes and the process function reads (function/*/function.json).')
param workQueueName string

resource account 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  // checkov:skip=CKV_AZURE_35: without virtual network integration the Flex Consumption workers reach host storage over its public endpoint, which the trusted-services bypass does not cover; access is Entra-only (shared keys disabled). Private endpoints need the VNet variant (docs/infra.md).
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35: public network access stays enabled for the Flex Consumption workers; every request must carry an Entra token of an identity with a data role.
  // checkov:skip=CKV_AZURE_206: locally redundant by default so the template deploys in every Flex Consumption region; the account holds only in-flight work items, the ledger and the package. Choose Standard_ZRS or Standard_GZRS with the storageSku parameter.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource ledgerContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: ledgerContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' = {
  parent: account
  name: 'default'
}

resource workQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' = {
  parent: queueService
  name: workQueueName
}

// Where the host moves a work item after extensions.queues.maxDequeueCount attempts
// (docs/protocol.md §8.10). Created up front so operators can find it before the first failure.
resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' = {
  parent: queueService
  name: '${workQueueName}-poison'
}

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
output deploymentContainerName string = deploymentContainer.name
output ledgerContainerName string = ledgerContainer.name
