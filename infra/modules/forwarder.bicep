// The forwarder front door: a minimal Consumption Logic App registered as the custom task
// extension's endpoint. Lifecycle Workflows is documented to call out to Logic Apps; whether it
// calls a function URL directly is not (docs/infra.md, "Two front doors").
//
// - Its Request trigger accepts only Lifecycle Workflows' PoP signed requests for this very
//   workflow: the AADPOP policy pins iss, appid, m, u and p (docs/protocol.md §3.3), and
//   shared-access-signature URLs are disabled, so the policy cannot be bypassed with a SAS.
// - One HTTP action forwards the callout body to the handler with a bearer token of the
//   forwarder's own user-assigned identity. The handler runs LCW_AUTH=bearer and accepts exactly
//   that identity's client id and this audience (modules/function-app.bicep).
// - With no Response action the trigger answers 202 at once, within LCW's acknowledgement budget;
//   the forward happens in the run, retried by the action's retry policy.
// - Inputs and outputs are secured: run history shows neither the user data nor any header.

param name string
param location string
param tags object

@description('Resource id of the forwarder\'s user-assigned identity (no role assignments).')
param identityId string
@description('Directory (tenant) id: the issuer of Lifecycle Workflows\' token.')
param tenantId string
@description('The ARM path registered in the extension: this workflow\'s own resource id.')
param popPath string
@description('The ARM host LCW signs into the PoP u claim.')
param popHost string
@description('The handler\'s callout URL.')
param targetUrl string
@description('The audience the forwarder requests its token for (the handler\'s LCW_AUDIENCE).')
param audience string

// Lifecycle Workflows' first-party application (docs/protocol.md §3.5).
var lifecycleWorkflowsAppId = 'ce79fdc4-cd1d-4ea5-8139-e74d7dbe0bb7'
var triggerName = 'manual'
// The api-version Logic Apps puts on every Request trigger's callback URL.
var triggerApiVersion = '2016-10-01'

resource workflow 'Microsoft.Logic/workflows@2019-05-01' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    state: 'Enabled'
    // any(): the AADPOP policy type and sasAuthenticationPolicy are documented for Consumption
    // workflows but newer than the 2019-05-01 type definitions the Bicep CLI ships, which would
    // otherwise warn (BCP036/BCP037). ARM receives the object exactly as written.
    accessControl: any({
      triggers: {
        sasAuthenticationPolicy: {
          state: 'Disabled'
        }
        openAuthenticationPolicies: {
          policies: {
            AzureADLifecycleWorkflowsAuthPOPAuthPolicy: {
              type: 'AADPOP'
              claims: [
                {
                  name: 'iss'
                  value: 'https://sts.windows.net/${tenantId}/'
                }
                {
                  name: 'appid'
                  value: lifecycleWorkflowsAppId
                }
                {
                  name: 'm'
                  value: 'POST'
                }
                {
                  name: 'u'
                  value: popHost
                }
                {
                  name: 'p'
                  value: popPath
                }
              ]
            }
          }
        }
      }
    })
    definition: {
      '$schema': 'https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#'
      contentVersion: '1.0.0.0'
      triggers: {
        '${triggerName}': {
          type: 'Request'
          kind: 'Http'
          inputs: {
            method: 'POST'
          }
          runtimeConfiguration: {
            secureData: {
              properties: [
                'outputs'
              ]
            }
          }
        }
      }
      actions: {
        Forward_to_handler: {
          type: 'Http'
          runAfter: {}
          inputs: {
            method: 'POST'
            uri: targetUrl
            headers: {
              'Content-Type': 'application/json'
            }
            body: '@triggerBody()'
            authentication: {
              type: 'ManagedServiceIdentity'
              identity: identityId
              audience: audience
            }
            retryPolicy: {
              type: 'exponential'
              count: 6
              interval: 'PT10S'
            }
          }
          runtimeConfiguration: {
            secureData: {
              properties: [
                'inputs'
                'outputs'
              ]
            }
          }
        }
      }
      outputs: {}
    }
  }
}

// The trigger URL without any shared-access-signature query: what the extension registers as
// its url (the workflow's access endpoint + the trigger's invoke path).
output triggerUrl string = '${workflow.properties.accessEndpoint}/triggers/${triggerName}/paths/invoke?api-version=${triggerApiVersion}'
