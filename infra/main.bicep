// The relay in Azure: `azd up`, or `az deployment sub create` + one publish (README "Deploy to
// Azure"). Subscription scope, so one deployment can also create the resource group.
// `npm run infra:check` compiles and lints it (infra/bicepconfig.json: warnings are errors).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the environment (azd: AZURE_ENV_NAME); makes the resource names unique.')
param environmentName string

// The regions that offer the Flex Consumption plan, so a wrong one fails before anything is made
// (`az functionapp list-flexconsumption-locations`).
@minLength(1)
@description('Azure region of every resource; it must offer the Flex Consumption plan.')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({ azd: { type: 'location' } })
param location string

@description('Resource group: empty or rg-<environmentName> creates that group; any other name deploys into that existing group, whose location and tags are left as they are.')
param resourceGroupName string = ''

@description('How the relay authenticates to the DM Data service (DATA_SERVICE_AUTH): entra for a Data service behind an Entra application proxy, dm-token for DM\'s Security Service.')
@allowed(['entra', 'dm-token'])
param dataServiceAuth string = 'entra'

@description('DATA_SERVICE_SCOPE: token scope for entra when not <clientId>/.default of the store registration; empty uses that default.')
param dataServiceScope string = ''

@description('RELAY_ALLOWED_FLOW_HOSTS: comma-separated host patterns flows may live on.')
param allowedFlowHosts string = '*.environment.api.powerplatform.com,*.logic.azure.com'

@description('RELAY_FLOW_AUDIENCE: token audience for flows linked with flowAuth entra (other clouds).')
param flowAudience string = 'https://service.flow.microsoft.com/'

@description('POWER_AUTOMATE_API_URL: the Power Automate API, to create flows and cancel flow runs (other clouds).')
param powerAutomateApiUrl string = 'https://api.flow.microsoft.com'

@description('RELAY_FLOW_MAX_ATTEMPTS: tries of each flow call.')
@minValue(1)
@maxValue(50)
param flowMaxAttempts int = 8

@description('RELAY_APPLY_MAX_ATTEMPTS: tries of each Data service write-back.')
@minValue(1)
@maxValue(50)
param applyMaxAttempts int = 8

@description('RELAY_RECONCILE_SCHEDULE: NCRONTAB schedule of the reconcile timer function.')
param reconcileSchedule string = '0 */5 * * * *'

@description('RELAY_STUCK_AFTER_MINUTES: minutes after which a queued or decided request with no retry pending is queued again.')
@minValue(0)
param stuckAfterMinutes int = 15

@description('RELAY_CLAIM_TIMEOUT_MINUTES: minutes after which a flow that claims and has not claimed is called again.')
@minValue(0)
param claimTimeoutMinutes int = 15

@description('RELAY_REQUEST_TTL_DAYS: days after which an open request expires and its flow run is cancelled.')
@minValue(0)
param requestTtlDays int = 30

@description('RELAY_ADMIN_AUTH: entra (bearer tokens for the relay API app registration, app roles Relay.Admin and Relay.Reader) or key (Functions host keys).')
@allowed(['entra', 'key'])
param adminAuth string = 'entra'

@description('RELAY_ADMIN_TENANT_ID, for entra: the tenant of the relay API app registration; empty is the deployment\'s tenant.')
param adminTenantId string = ''

@description('RELAY_ADMIN_AUDIENCE, for entra: the Application ID URI (or client id) of the relay API app registration.')
param adminAudience string = ''

@description('RELAY_CONSOLE_CLIENT_ID, for entra: client id of the web console\'s single-page app registration.')
param consoleClientId string = ''

@description('DM_SERVICE_USERNAME, for dm-token.')
param dmServiceUsername string = ''

@description('DM_CLIENT_ID, for dm-token.')
param dmClientId string = ''

@secure()
@description('DM_SERVICE_PASSWORD, for dm-token: written to Key Vault when given; empty keeps the stored one.')
param dmServicePassword string = ''

@secure()
@description('DM_CLIENT_SECRET, for dm-token: written to Key Vault when given; empty keeps the stored one.')
param dmClientSecret string = ''

@secure()
@description('RELAY_SIGNING_KEY, written to Key Vault when writeSigningKey is true. The default is a fresh random value of every deployment.')
param relaySigningKey string = '${newGuid()}${newGuid()}'

@description('Write relaySigningKey to Key Vault. True on the first deployment only: writing it again replaces the key, and callback tokens and stored flow URLs made with the old one stop working (azd sets it to false after the first provision).')
param writeSigningKey bool = true

@description('Set RELAY_SIGNING_KEY_PREVIOUS from the Key Vault secret relay-signing-key-previous (during a key rotation).')
param previousSigningKeyInVault bool = false

@description('Memory of each Flex Consumption instance, in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Resource id of a subnet (delegated to Microsoft.App/environments, name without _) for VNet integration, to reach a private Data service; empty means none.')
param virtualNetworkSubnetId string = ''

var tags = { 'azd-env-name': environmentName }

// The template owns rg-<environmentName> and may PUT it again (same location and tags); a group
// named by the operator is only deployed into, so it is never moved or its tags replaced.
var ownResourceGroupName = 'rg-${environmentName}'
var createsResourceGroup = empty(resourceGroupName) || resourceGroupName == ownResourceGroupName
var relayResourceGroupName = createsResourceGroup ? ownResourceGroupName : resourceGroupName

resource ownResourceGroup 'Microsoft.Resources/resourceGroups@2025-04-01' = if (createsResourceGroup) {
  name: ownResourceGroupName
  location: location
  tags: tags
}

module relay 'modules/relay.bicep' = {
  name: 'relay'
  scope: resourceGroup(relayResourceGroupName)
  dependsOn: [
    ownResourceGroup
  ]
  params: {
    location: location
    tags: tags
    resourceToken: toLower(uniqueString(subscription().id, environmentName, location))
    dataServiceAuth: dataServiceAuth
    dataServiceScope: dataServiceScope
    allowedFlowHosts: allowedFlowHosts
    flowAudience: flowAudience
    powerAutomateApiUrl: powerAutomateApiUrl
    flowMaxAttempts: flowMaxAttempts
    applyMaxAttempts: applyMaxAttempts
    reconcileSchedule: reconcileSchedule
    stuckAfterMinutes: stuckAfterMinutes
    claimTimeoutMinutes: claimTimeoutMinutes
    requestTtlDays: requestTtlDays
    adminAuth: adminAuth
    adminTenantId: empty(adminTenantId) ? subscription().tenantId : adminTenantId
    adminAudience: adminAudience
    consoleClientId: consoleClientId
    dmServiceUsername: dmServiceUsername
    dmClientId: dmClientId
    dmServicePassword: dmServicePassword
    dmClientSecret: dmClientSecret
    relaySigningKey: relaySigningKey
    writeSigningKey: writeSigningKey
    previousSigningKeyInVault: previousSigningKeyInVault
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    virtualNetworkSubnetId: virtualNetworkSubnetId
  }
}

output RELAY_BASE_URL string = relay.outputs.baseUrl
output FUNCTION_APP_NAME string = relay.outputs.functionAppName
output RESOURCE_GROUP string = relayResourceGroupName
output AZURE_RESOURCE_GROUP string = relayResourceGroupName
output MANAGED_IDENTITY_CLIENT_ID string = relay.outputs.identityClientId
output MANAGED_IDENTITY_PRINCIPAL_ID string = relay.outputs.identityPrincipalId
output KEY_VAULT_NAME string = relay.outputs.keyVaultName
output SERVICE_BUS_NAMESPACE string = relay.outputs.serviceBusNamespace
output STORAGE_ACCOUNT_NAME string = relay.outputs.storageAccountName
output APPLICATION_INSIGHTS_NAME string = relay.outputs.applicationInsightsName
