/**
 * The Azure template (infra/) as the Bicep compiler makes it and ARM evaluates it, against the
 * code it deploys. Each checker also runs on a broken copy of the JSON, to prove it catches what
 * it is for.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../shared/config";
import {
  type ArmTemplate,
  compileTemplate,
  describeCompiled,
  evaluate,
  IDENTITY,
  moduleTemplate,
  type Parameters,
  ROOT,
  type Snapshot,
  snapshotOf,
  TENANT_ID,
} from "./arm";
import {
  apiVersionProblems,
  appSettings,
  copy,
  EXPECTED_ROLES,
  orderingProblems,
  predicted,
  propertyProblems,
  queueProblems,
  roleProblems,
  secretProblems,
  settingProblems,
} from "./template-checks";

/** `azd up` the first time: no resource group named, the signing key written. */
const FIRST: Parameters = { environmentName: "relay-test", location: "westeurope" };
/** Every later `azd provision`: azd passes back the group it made, the key stays. */
const LATER: Parameters = {
  ...FIRST,
  resourceGroupName: "rg-relay-test",
  writeSigningKey: false,
  adminAudience: "api://dm-flow-relay",
  consoleClientId: "44444444-4444-4444-8444-444444444444",
};
/** DM's Security Service, a key rotation, host keys, a private network, an existing group. */
const DM_TOKEN: Parameters = {
  environmentName: "relay-prod",
  location: "swedencentral",
  resourceGroupName: "rg-shared",
  dataServiceAuth: "dm-token",
  dmServiceUsername: "relay-service",
  dmClientId: "dm-client",
  dmServicePassword: "service-password",
  dmClientSecret: "client-secret",
  writeSigningKey: false,
  previousSigningKeyInVault: true,
  adminAuth: "key",
  virtualNetworkSubnetId:
    "/subscriptions/00000000-0000-4000-8000-00000000a001/resourceGroups/rg-network" +
    "/providers/Microsoft.Network/virtualNetworks/vnet-dm/subnets/relay-apps",
  reconcileSchedule: "0 */1 * * * *",
  stuckAfterMinutes: 0,
  claimTimeoutMinutes: 5,
  requestTtlDays: 7,
};

const HOST_SETTINGS = [
  "AzureWebJobsStorage__accountName",
  "AzureWebJobsStorage__credential",
  "AzureWebJobsStorage__clientId",
  "ServiceBusConnection__fullyQualifiedNamespace",
  "ServiceBusConnection__credential",
  "ServiceBusConnection__clientId",
  "APPLICATIONINSIGHTS_CONNECTION_STRING",
  "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
];
const RELAY_SETTINGS = [
  "TABLES_CONNECTION__endpoint",
  "AZURE_CLIENT_ID",
  "RELAY_PUBLIC_BASE_URL",
  "RELAY_SIGNING_KEY",
  "RELAY_ALLOWED_FLOW_HOSTS",
  "RELAY_ALLOW_LOOPBACK",
  "DATA_SERVICE_AUTH",
  "DATA_SERVICE_SCOPE",
  "RELAY_FLOW_MAX_ATTEMPTS",
  "RELAY_APPLY_MAX_ATTEMPTS",
  "RELAY_FLOW_AUDIENCE",
  "POWER_AUTOMATE_API_URL",
  "RELAY_RECONCILE_SCHEDULE",
  "RELAY_STUCK_AFTER_MINUTES",
  "RELAY_CLAIM_TIMEOUT_MINUTES",
  "RELAY_REQUEST_TTL_DAYS",
  "RELAY_ADMIN_AUTH",
];
const ENTRA_ADMIN_SETTINGS = [
  "RELAY_ADMIN_TENANT_ID",
  "RELAY_ADMIN_AUDIENCE",
  "RELAY_CONSOLE_CLIENT_ID",
];
const DM_TOKEN_SETTINGS = [
  "DM_SERVICE_USERNAME",
  "DM_CLIENT_ID",
  "DM_SERVICE_PASSWORD",
  "DM_CLIENT_SECRET",
];

/** What App Service puts in place of a Key Vault reference it resolved. */
const resolved = (settings: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(settings).map(([name, value]) => [
      name,
      value.startsWith("@Microsoft.KeyVault(") ? `resolved-${name}`.padEnd(48, "x") : value,
    ]),
  );

let template: ArmTemplate;
let first: Snapshot;
let later: Snapshot;
let dmToken: Snapshot;

describeCompiled("the compiled template", () => {
  beforeAll(async () => {
    template = await compileTemplate();
    [first, later, dmToken] = await Promise.all([FIRST, LATER, DM_TOKEN].map((p) => snapshotOf(p)));
  }, 180_000);

  describe("resources", () => {
    it("are the types the relay needs, each at its newest GA API version", () => {
      expect(apiVersionProblems(template)).toEqual([]);
      const types = new Set(first.predictedResources.map((resource) => resource.type));
      expect([...types].sort()).toEqual(
        [
          "Microsoft.Authorization/roleAssignments",
          "Microsoft.Insights/components",
          "Microsoft.KeyVault/vaults",
          "Microsoft.KeyVault/vaults/secrets",
          "Microsoft.ManagedIdentity/userAssignedIdentities",
          "Microsoft.OperationalInsights/workspaces",
          "Microsoft.Resources/resourceGroups",
          "Microsoft.ServiceBus/namespaces",
          "Microsoft.ServiceBus/namespaces/queues",
          "Microsoft.Storage/storageAccounts",
          "Microsoft.Storage/storageAccounts/blobServices",
          "Microsoft.Storage/storageAccounts/blobServices/containers",
          "Microsoft.Storage/storageAccounts/tableServices",
          "Microsoft.Storage/storageAccounts/tableServices/tables",
          "Microsoft.Web/serverfarms",
          "Microsoft.Web/sites",
          "Microsoft.Web/sites/config",
        ].sort(),
      );
      const tables = first.predictedResources
        .filter(
          (resource) => resource.type === "Microsoft.Storage/storageAccounts/tableServices/tables",
        )
        .map((resource) => resource.name.split("/").pop());
      expect(tables.sort()).toEqual(["RelayLinks", "RelayRequests", "RelayStores"]);
    });

    it("checker: catches a preview or an older API version", () => {
      const broken = copy(template);
      const relay = moduleTemplate(broken, "relay");
      Object.values(relay.resources).find(
        (resource) => resource.type === "Microsoft.ServiceBus/namespaces",
      )!.apiVersion = "2022-10-01-preview";
      expect(apiVersionProblems(broken)).toEqual([
        "Microsoft.ServiceBus/namespaces@2022-10-01-preview is a preview",
        "Microsoft.ServiceBus/namespaces@2022-10-01-preview, expected 2026-01-01",
      ]);
    });

    it("are identity-only, private and on Flex Consumption, in every deployment", () => {
      for (const snapshot of [first, later, dmToken])
        expect(propertyProblems(snapshot)).toEqual([]);
    });

    it("checker: catches local auth, shared keys and vnetRouteAllEnabled", () => {
      const broken = copy(first);
      predicted(broken, "Microsoft.ServiceBus/namespaces").properties.disableLocalAuth = false;
      predicted(broken, "Microsoft.Storage/storageAccounts").properties.allowSharedKeyAccess = true;
      predicted(broken, "Microsoft.Web/sites").properties.vnetRouteAllEnabled = true;
      expect(propertyProblems(broken)).toEqual([
        expect.stringMatching(/^sb-relay-\w+: properties.disableLocalAuth is false, not true$/),
        expect.stringMatching(/^strelay\w+: properties.allowSharedKeyAccess is true, not false$/),
        expect.stringMatching(
          /^func-relay-\w+: properties.vnetRouteAllEnabled is true, not undefined$/,
        ),
      ]);
    });

    it("join the given subnet for VNet integration, and none by default", () => {
      expect(predicted(first, "Microsoft.Web/sites").properties.virtualNetworkSubnetId).toBeNull();
      expect(predicted(dmToken, "Microsoft.Web/sites").properties.virtualNetworkSubnetId).toBe(
        DM_TOKEN.virtualNetworkSubnetId,
      );
    });

    it("accept only regions that offer Flex Consumption", async () => {
      expect(template.parameters.location.allowedValues).toEqual(
        expect.arrayContaining(["westeurope", "eastus", "swedencentral"]),
      );
      // West India has no Flex Consumption: the deployment fails before it makes anything.
      await expect(snapshotOf({ ...FIRST, location: "westindia" })).rejects.toThrow(/BCP033/);
    });
  });

  describe("resource group", () => {
    const groupOf = (snapshot: Snapshot) =>
      new Set(
        snapshot.predictedResources
          .filter((resource) => resource.type !== "Microsoft.Resources/resourceGroups")
          .map(
            (resource) =>
              /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\//.exec(resource.id)?.[1],
          ),
      );

    it("is rg-<environment>, made by the template, on the first and every later provision", () => {
      for (const snapshot of [first, later]) {
        const group = predicted(snapshot, "Microsoft.Resources/resourceGroups");
        expect(group).toMatchObject({
          name: "rg-relay-test",
          location: "westeurope",
          tags: { "azd-env-name": "relay-test" },
        });
        expect(groupOf(snapshot)).toEqual(new Set(["rg-relay-test"]));
        expect(snapshot.outputs).toMatchObject({
          RESOURCE_GROUP: "rg-relay-test",
          AZURE_RESOURCE_GROUP: "rg-relay-test",
        });
      }
    });

    it("named by the operator is only deployed into: not made again, its location and tags kept", () => {
      expect(
        dmToken.predictedResources.filter(
          (resource) => resource.type === "Microsoft.Resources/resourceGroups",
        ),
      ).toEqual([]);
      expect(groupOf(dmToken)).toEqual(new Set(["rg-shared"]));
      expect(dmToken.outputs).toMatchObject({ AZURE_RESOURCE_GROUP: "rg-shared" });
    });
  });

  describe("app settings", () => {
    it("are exactly the host's and the relay's, for every deployment choice", () => {
      expect(
        settingProblems(first, [...HOST_SETTINGS, ...RELAY_SETTINGS, ...ENTRA_ADMIN_SETTINGS]),
      ).toEqual([]);
      expect(
        settingProblems(later, [...HOST_SETTINGS, ...RELAY_SETTINGS, ...ENTRA_ADMIN_SETTINGS]),
      ).toEqual([]);
      expect(
        settingProblems(dmToken, [
          ...HOST_SETTINGS,
          ...RELAY_SETTINGS,
          ...DM_TOKEN_SETTINGS,
          "RELAY_SIGNING_KEY_PREVIOUS",
        ]),
      ).toEqual([]);
    });

    it("checker: catches a Flex-forbidden setting, a connection string, a literal secret, one missing", () => {
      const settings = appSettings(dmToken);
      const broken = {
        ...settings,
        WEBSITE_RUN_FROM_PACKAGE: "1",
        AzureWebJobsStorage: "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc==",
        DM_CLIENT_SECRET: "a-literal-client-secret",
      };
      delete (broken as Record<string, string>).RELAY_PUBLIC_BASE_URL;
      const expected = Object.keys(settings);
      expect(settingProblems(dmToken, expected, broken)).toEqual([
        "RELAY_PUBLIC_BASE_URL is not set",
        "WEBSITE_RUN_FROM_PACKAGE is not a setting of this deployment",
        "AzureWebJobsStorage is not a setting of this deployment",
        "WEBSITE_RUN_FROM_PACKAGE is not allowed on Flex Consumption",
        "AzureWebJobsStorage is a connection string, not the identity",
        "DM_CLIENT_SECRET is a-literal-client-secret, not a reference to its Key Vault secret",
        "AzureWebJobsStorage holds a key",
      ]);
    });

    it("connect with the user-assigned identity to storage, tables and Service Bus", () => {
      const settings = appSettings(later);
      const storage = predicted(later, "Microsoft.Storage/storageAccounts").name;
      const serviceBus = predicted(later, "Microsoft.ServiceBus/namespaces").name;
      expect(settings).toMatchObject({
        AzureWebJobsStorage__accountName: storage,
        AzureWebJobsStorage__credential: "managedidentity",
        AzureWebJobsStorage__clientId: IDENTITY.clientId,
        ServiceBusConnection__fullyQualifiedNamespace: `${serviceBus}.servicebus.windows.net`,
        ServiceBusConnection__credential: "managedidentity",
        ServiceBusConnection__clientId: IDENTITY.clientId,
        // Read from the account, not made up from its name.
        TABLES_CONNECTION__endpoint: `https://${storage}.table.core.windows.net/`,
        AZURE_CLIENT_ID: IDENTITY.clientId,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `ClientId=${IDENTITY.clientId};Authorization=AAD`,
      });
    });

    it("pass the relay's settings check and reach its configuration as deployed", () => {
      const site = predicted(later, "Microsoft.Web/sites").name;
      const entra = loadConfig(resolved(appSettings(later)));
      expect(entra).toMatchObject({
        tables: { kind: "endpoint" },
        serviceBus: { kind: "namespace" },
        publicBaseUrl: `https://${site}.azurewebsites.net`,
        allowLoopback: false,
        allowedFlowHosts: ["*.environment.api.powerplatform.com", "*.logic.azure.com"],
        dataServiceAuth: { mode: "entra" },
        flowMaxAttempts: 8,
        applyMaxAttempts: 8,
        flowAudience: "https://service.flow.microsoft.com/",
        managedIdentityClientId: IDENTITY.clientId,
        powerPlatform: { flowApiUrl: "https://api.flow.microsoft.com" },
        previousSigningKeys: [],
      });
      const dm = loadConfig(resolved(appSettings(dmToken)));
      expect(dm.dataServiceAuth).toMatchObject({
        mode: "dm-token",
        username: "relay-service",
        clientId: "dm-client",
      });
      expect(dm.previousSigningKeys).toHaveLength(1);
    });

    it("carry the reconciliation and admin sign-in settings, with their defaults", () => {
      expect(appSettings(later)).toMatchObject({
        RELAY_RECONCILE_SCHEDULE: "0 */5 * * * *",
        RELAY_STUCK_AFTER_MINUTES: "15",
        RELAY_CLAIM_TIMEOUT_MINUTES: "15",
        RELAY_REQUEST_TTL_DAYS: "30",
        RELAY_ADMIN_AUTH: "entra",
        RELAY_ADMIN_TENANT_ID: TENANT_ID,
        RELAY_ADMIN_AUDIENCE: "api://dm-flow-relay",
        RELAY_CONSOLE_CLIENT_ID: LATER.consoleClientId,
      });
      expect(appSettings(first)).toMatchObject({
        RELAY_ADMIN_AUDIENCE: "",
        RELAY_CONSOLE_CLIENT_ID: "",
      });
      expect(appSettings(dmToken)).toMatchObject({
        RELAY_RECONCILE_SCHEDULE: "0 */1 * * * *",
        RELAY_STUCK_AFTER_MINUTES: "0",
        RELAY_CLAIM_TIMEOUT_MINUTES: "5",
        RELAY_REQUEST_TTL_DAYS: "7",
        RELAY_ADMIN_AUTH: "key",
      });
    });

    it("are written only after every secret they reference and the right to read it", () => {
      expect(orderingProblems(template)).toEqual([]);
    });

    it("checker: catches settings or an app that would start too early", () => {
      const broken = copy(template);
      const resources = moduleTemplate(broken, "relay").resources as Record<string, any>;
      resources.appSettings.dependsOn = resources.appSettings.dependsOn.filter(
        (symbol: string) => symbol !== "dmClientSecretSecret",
      );
      resources.functionApp.dependsOn = resources.functionApp.dependsOn.filter(
        (symbol: string) => symbol !== "serviceBusDataOwner",
      );
      expect(orderingProblems(broken)).toEqual([
        "appSettings does not wait for dmClientSecretSecret",
        "functionApp does not wait for serviceBusDataOwner",
      ]);
    });
  });

  describe("Key Vault secrets", () => {
    it("get the signing key on the first provision only", () => {
      const signingKey = (snapshot: Snapshot) =>
        snapshot.predictedResources.filter((resource) =>
          resource.name.endsWith("/relay-signing-key"),
        );
      expect(signingKey(first)).toHaveLength(1);
      expect(signingKey(later)).toEqual([]);
    });

    it("come from secure parameters; no key or connection string is in the template", () => {
      const parametersFile = readFileSync(path.join(ROOT, "infra/main.parameters.json"), "utf8");
      expect(secretProblems(template, parametersFile)).toEqual([]);
    });

    it("checker: catches keys read at deployment, fixed secure defaults and passwords in files", () => {
      const broken = copy(template);
      broken.parameters.dmServicePassword.defaultValue = "P@ssw0rd!";
      moduleTemplate(broken, "relay").variables!.storageKey =
        "[listKeys(resourceId('Microsoft.Storage/storageAccounts', 'x'), '2026-09-01')]";
      const parametersFile = readFileSync(path.join(ROOT, "infra/main.parameters.json"), "utf8");
      expect(
        secretProblems(broken, parametersFile.replace("${DM_SERVICE_PASSWORD}", "hunter2")),
      ).toEqual([
        "the template holds a key read at deployment (/\\blist(Keys|ConnectionStrings|AccountSas|ServiceSas)\\(/)",
        "secure parameter dmServicePassword has a fixed default P@ssw0rd!",
        "main.parameters.json gives dmServicePassword a value other than ${ENV_VAR}",
      ]);
    });
  });

  describe("role assignments", () => {
    it("grant the identity exactly the built-in roles it needs, each on its own resource", () => {
      for (const snapshot of [first, dmToken]) expect(roleProblems(snapshot)).toEqual([]);
    });

    it("checker: catches a wrong role, a wider scope and another principal", () => {
      const broken = copy(first);
      const assignments = broken.predictedResources.filter(
        (resource) => resource.type === "Microsoft.Authorization/roleAssignments",
      );
      const owner = assignments.find((assignment) =>
        assignment.properties.roleDefinitionId.endsWith(
          EXPECTED_ROLES["Azure Service Bus Data Owner"].id,
        ),
      )!;
      // Azure Service Bus Data Sender cannot read queue lengths for the scaler.
      owner.properties.roleDefinitionId = owner.properties.roleDefinitionId.replace(
        EXPECTED_ROLES["Azure Service Bus Data Owner"].id,
        "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
      );
      const vaultUser = assignments.find((assignment) =>
        assignment.properties.roleDefinitionId.endsWith(
          EXPECTED_ROLES["Key Vault Secrets User"].id,
        ),
      )!;
      vaultUser.id = vaultUser.id.replace(/\/providers\/Microsoft.KeyVault\/vaults\/[^/]+/, "");
      vaultUser.properties.principalId = "55555555-5555-4555-8555-555555555555";
      expect(roleProblems(broken)).toEqual([
        expect.stringMatching(/^role definition .*69a216fc-b8fb-44d8-bc22-1f3c2cd27a39 is not one/),
        expect.stringMatching(
          /^Key Vault Secrets User on \/subscriptions\/.*\/resourceGroups\/rg-relay-test, should be on Microsoft.KeyVault\/vaults$/,
        ),
        "Key Vault Secrets User must be granted to the user-assigned identity",
        "Azure Service Bus Data Owner is assigned 0 times",
      ]);
    });
  });

  describe("Service Bus queues", () => {
    it("are the code's queues with the emulator's properties", () => {
      expect(queueProblems(first)).toEqual([]);
    });

    it("checker: catches a property or a name that differs", () => {
      const broken = copy(first);
      const [events, decisions] = broken.predictedResources.filter(
        (resource) => resource.type === "Microsoft.ServiceBus/namespaces/queues",
      );
      events.properties.maxDeliveryCount = 5;
      decisions.name = decisions.name.replace("approval-decisions", "approvals");
      expect(queueProblems(broken)).toEqual([
        "queues workflow-events,approvals differ from shared/ports.ts: workflow-events,approval-decisions",
        "queues workflow-events,approvals differ from the emulator's",
        "workflow-events: maxDeliveryCount is 5, emulator 10",
      ]);
    });
  });

  describe("outputs", () => {
    it("are the names azd and the README use, with the deployed values", () => {
      expect(Object.keys(template.outputs).sort()).toEqual(
        [
          "APPLICATION_INSIGHTS_NAME",
          "AZURE_RESOURCE_GROUP",
          "FUNCTION_APP_NAME",
          "KEY_VAULT_NAME",
          "MANAGED_IDENTITY_CLIENT_ID",
          "MANAGED_IDENTITY_PRINCIPAL_ID",
          "RELAY_BASE_URL",
          "RESOURCE_GROUP",
          "SERVICE_BUS_NAMESPACE",
          "STORAGE_ACCOUNT_NAME",
        ].sort(),
      );
      const name = (type: string) => predicted(later, type).name;
      expect(
        Object.fromEntries(Object.entries(later.outputs).map(([k, v]) => [k, evaluate(v)])),
      ).toEqual({
        RELAY_BASE_URL: `https://${name("Microsoft.Web/sites")}.azurewebsites.net`,
        FUNCTION_APP_NAME: name("Microsoft.Web/sites"),
        RESOURCE_GROUP: "rg-relay-test",
        AZURE_RESOURCE_GROUP: "rg-relay-test",
        MANAGED_IDENTITY_CLIENT_ID: IDENTITY.clientId,
        MANAGED_IDENTITY_PRINCIPAL_ID: IDENTITY.principalId,
        KEY_VAULT_NAME: name("Microsoft.KeyVault/vaults"),
        SERVICE_BUS_NAMESPACE: name("Microsoft.ServiceBus/namespaces"),
        STORAGE_ACCOUNT_NAME: name("Microsoft.Storage/storageAccounts"),
        APPLICATION_INSIGHTS_NAME: name("Microsoft.Insights/components"),
      });
    });
  });
});
