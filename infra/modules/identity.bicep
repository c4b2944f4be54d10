// A user-assigned managed identity. The function uses one for everything it reaches (host
// storage, the deployment package, Application Insights, Graph's resume); the forwarder gets its
// own, so the handler can tell the forwarder's calls from anything else by the token's appid.

@description('Identity name.')
param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
