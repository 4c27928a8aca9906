// Everything the relay runs on, in one resource group. Every connection is made with the
// user-assigned managed identity: no keys or connection strings in settings; secrets in Key Vault.
// test/infra checks the compiled template against shared/config.ts and the emulator config.

@description('Tags of every resource.')
type tagsType = {
  *: string
}

param location string
param tags tagsType

@description('Makes the globally unique resource names unique.')
param resourceToken string

param dataServiceAuth string
param dataServiceScope string
param allowedFlowHosts string
param flowAudience string
param powerAutomateApiUrl string
param flowMaxAttempts int
param applyMaxAttempts int
param reconcileSchedule string
param stuckAfterMinutes int
param claimTimeoutMinutes int
param requestTtlDays int
param adminAuth string
param adminTenantId string
param adminAudience string
param consoleClientId string
param dmServiceUsername string
param dmClientId string

@secure()
param dmServicePassword string

@secure()
param dmClientSecret string

@secure()
param relaySigningKey string

param writeSigningKey bool
param previousSigningKeyInVault bool
param instanceMemoryMB int
param maximumInstanceCount int
param virtualNetworkSubnetId string

var deploymentContainerName = 'app-package'

// The tables and queues the code uses (shared/adapters/tables, shared/ports.ts).
var relayTables = ['RelayStores', 'RelayLinks', 'RelayRequests']
var relayQueues = ['workflow-events', 'approval-decisions']

// The same queue properties as the local emulator (dev/servicebus-emulator/config.json), so the
// relay behaves alike in both: duplicate detection drops a second send of the same step.
var queueProperties = {
  lockDuration: 'PT1M'
  maxDeliveryCount: 10
  requiresDuplicateDetection: true
  duplicateDetectionHistoryTimeWindow: 'P1D'
  defaultMessageTimeToLive: 'P14D'
  deadLetteringOnMessageExpiration: true
  requiresSession: false
}

// Built-in role definition ids (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var roles = {
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// Key Vault secret names allow letters, digits and dashes only.
var secretNames = {
  signingKey: 'relay-signing-key'
  previousSigningKey: 'relay-signing-key-previous'
  dmServicePassword: 'dm-service-password'
  dmClientSecret: 'dm-client-secret'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-relay-${resourceToken}'
  location: location
  tags: tags
}

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' = {
  name: 'strelay${resourceToken}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-09-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-09-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2026-09-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2026-09-01' = [
  for table in relayTables: {
    parent: tableService
    name: table
  }
]

resource serviceBus 'Microsoft.ServiceBus/namespaces@2026-01-01' = {
  name: 'sb-relay-${resourceToken}'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
  }
}

resource queues 'Microsoft.ServiceBus/namespaces/queues@2026-01-01' = [
  for queue in relayQueues: {
    parent: serviceBus
    name: queue
    properties: queueProperties
  }
]

// Purge protection: a deleted vault keeps its name for softDeleteRetentionInDays (README).
resource keyVault 'Microsoft.KeyVault/vaults@2026-05-15' = {
  name: 'kv-relay-${resourceToken}'
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
  }
}

resource signingKeySecret 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = if (writeSigningKey) {
  parent: keyVault
  name: secretNames.signingKey
  properties: {
    value: relaySigningKey
  }
}

resource dmServicePasswordSecret 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = if (!empty(dmServicePassword)) {
  parent: keyVault
  name: secretNames.dmServicePassword
  properties: {
    value: dmServicePassword
  }
}

resource dmClientSecretSecret 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = if (!empty(dmClientSecret)) {
  parent: keyVault
  name: secretNames.dmClientSecret
  properties: {
    value: dmClientSecret
  }
}

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: 'log-relay-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-relay-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // Telemetry is accepted only with an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
    DisableLocalAuth: true
  }
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: 'plan-relay-${resourceToken}'
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

// Flex Consumption routes all outbound traffic through the subnet when one is given: it has no
// vnetRouteAllEnabled.
resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: 'func-relay-${resourceToken}'
  location: location
  tags: union(tags, { 'azd-service-name': 'relay' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with this identity; the app has no system-assigned one.
    keyVaultReferenceIdentity: identity.id
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
  // The host starts, and the package upload and the scaler run, only once the identity holds its
  // roles: without them the first deploy can get a 403.
  dependsOn: [
    deploymentContainer
    storageBlobDataOwner
    storageQueueDataContributor
    storageTableDataContributor
    serviceBusDataOwner
    serviceBusDataReceiver
    monitoringMetricsPublisher
  ]
}

var keyVaultSecretsUri = '${keyVault.properties.vaultUri}secrets/'
// serviceBusEndpoint is https://<namespace host>:443/; the SDK and the trigger want the host.
var serviceBusHost = split(replace(serviceBus.properties.serviceBusEndpoint, 'https://', ''), ':')[0]

// What the Functions host itself needs: its storage, the Service Bus trigger connection and
// Application Insights, all through the managed identity.
var hostSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.properties.clientId
  ServiceBusConnection__fullyQualifiedNamespace: serviceBusHost
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identity.properties.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
}

// The relay's own settings (shared/config.ts). No RELAY_LOCAL_KEY: that is the local host's.
var relaySettings = {
  TABLES_CONNECTION__endpoint: storage.properties.primaryEndpoints.table
  AZURE_CLIENT_ID: identity.properties.clientId
  RELAY_PUBLIC_BASE_URL: 'https://${functionApp.properties.defaultHostName}'
  RELAY_SIGNING_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultSecretsUri}${secretNames.signingKey})'
  RELAY_ALLOWED_FLOW_HOSTS: allowedFlowHosts
  RELAY_ALLOW_LOOPBACK: 'false'
  DATA_SERVICE_AUTH: dataServiceAuth
  DATA_SERVICE_SCOPE: dataServiceScope
  RELAY_FLOW_MAX_ATTEMPTS: string(flowMaxAttempts)
  RELAY_APPLY_MAX_ATTEMPTS: string(applyMaxAttempts)
  RELAY_FLOW_AUDIENCE: flowAudience
  POWER_AUTOMATE_API_URL: powerAutomateApiUrl
  RELAY_RECONCILE_SCHEDULE: reconcileSchedule
  RELAY_STUCK_AFTER_MINUTES: string(stuckAfterMinutes)
  RELAY_CLAIM_TIMEOUT_MINUTES: string(claimTimeoutMinutes)
  RELAY_REQUEST_TTL_DAYS: string(requestTtlDays)
  RELAY_ADMIN_AUTH: adminAuth
}

// With entra the app checks bearer tokens of the relay API app registration itself (README).
var entraAdminSettings = adminAuth == 'entra' ? {
  RELAY_ADMIN_TENANT_ID: adminTenantId
  RELAY_ADMIN_AUDIENCE: adminAudience
  RELAY_CONSOLE_CLIENT_ID: consoleClientId
} : {}

var dmTokenSettings = dataServiceAuth == 'dm-token' ? {
  DM_SERVICE_USERNAME: dmServiceUsername
  DM_CLIENT_ID: dmClientId
  DM_SERVICE_PASSWORD: '@Microsoft.KeyVault(SecretUri=${keyVaultSecretsUri}${secretNames.dmServicePassword})'
  DM_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVaultSecretsUri}${secretNames.dmClientSecret})'
} : {}

// Only while rotating: a reference to a secret that does not exist would not resolve, and the app
// would get the reference text itself as a key.
var previousSigningKeySettings = previousSigningKeyInVault ? {
  RELAY_SIGNING_KEY_PREVIOUS: '@Microsoft.KeyVault(SecretUri=${keyVaultSecretsUri}${secretNames.previousSigningKey})'
} : {}

// A child resource, so RELAY_PUBLIC_BASE_URL can use the app's host name. It waits for every
// secret it references and for the right to read them: App Service caches a reference that did
// not resolve, and the settings check would refuse its text.
resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union(hostSettings, relaySettings, entraAdminSettings, dmTokenSettings, previousSigningKeySettings)
  dependsOn: [
    signingKeySecret
    dmServicePasswordSecret
    dmClientSecretSecret
    keyVaultSecretsUser
  ]
}

// Least privilege for the identity, each role on the one resource it is for. Service Bus: Data
// Owner because Flex's target-based scaler reads queue lengths with Manage rights, Data Receiver
// as in Microsoft's Flex Service Bus sample (Owner also sends). Storage: tables for the relay's
// data; blob (owner: the host's leases and the deployment container) and queue for the host.
// Key Vault: read secrets. Application Insights: publish telemetry.
resource serviceBusDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, identity.id, roles.serviceBusDataOwner)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource serviceBusDataReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, identity.id, roles.serviceBusDataReceiver)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource storageTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource storageBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource storageQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource keyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, identity.id, roles.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource monitoringMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output baseUrl string = 'https://${functionApp.properties.defaultHostName}'
output functionAppName string = functionApp.name
output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
output keyVaultName string = keyVault.name
output serviceBusNamespace string = serviceBus.name
output storageAccountName string = storage.name
output applicationInsightsName string = appInsights.name
