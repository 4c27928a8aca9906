/**
 * The Azure template (infra/) against the code it deploys. Every check also runs on a broken copy
 * of the template, to prove it catches what it is for.
 */
import {
  appSettingProblems,
  appSettingsFor,
  deploymentChoices,
  EXPECTED_ROLES,
  mutate,
  queueProblems,
  readTemplate,
  resourcePropertyProblems,
  roleProblems,
  schemaSettingNames,
  secretProblems,
} from "./template-checks";

const template = readTemplate();

describe("app settings", () => {
  it("are read from shared/config.ts's schema", () => {
    const names = schemaSettingNames();
    expect(names).toEqual(
      expect.arrayContaining(["RELAY_SIGNING_KEY", "RELAY_PUBLIC_BASE_URL", "DATA_SERVICE_AUTH"]),
    );
  });

  it("cover every deployment choice (Data service auth, key rotation)", () => {
    const choices = deploymentChoices(template);
    expect(choices).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dataServiceAuth: "entra" }),
        expect.objectContaining({ dataServiceAuth: "dm-token" }),
        expect.objectContaining({ previousSigningKeyInVault: "true" }),
      ]),
    );
  });

  it("make a valid, identity-only configuration for every choice", () => {
    expect(appSettingProblems(template)).toEqual([]);
  });

  it("use Key Vault for the signing key and the DM credentials", () => {
    const dmToken = appSettingsFor(template, {
      dataServiceAuth: "dm-token",
      previousSigningKeyInVault: "true",
    });
    expect(dmToken.DM_SERVICE_USERNAME).toBe("dmServiceUsername-supplied");
    for (const name of [
      "RELAY_SIGNING_KEY",
      "RELAY_SIGNING_KEY_PREVIOUS",
      "DM_SERVICE_PASSWORD",
      "DM_CLIENT_SECRET",
    ])
      expect(dmToken[name]).toMatch(/^resolved-key-vault-secret/);
    const entra = appSettingsFor(template, {
      dataServiceAuth: "entra",
      previousSigningKeyInVault: "false",
    });
    expect(entra).not.toHaveProperty("DM_SERVICE_PASSWORD");
    expect(entra).not.toHaveProperty("RELAY_SIGNING_KEY_PREVIOUS");
  });

  it("checker: catches a required setting left out", () => {
    const broken = mutate(template, "relay", /^\s*RELAY_PUBLIC_BASE_URL: .*\n/m, "");
    expect(appSettingProblems(broken)).toEqual(
      expect.arrayContaining([
        expect.stringContaining("Setting RELAY_PUBLIC_BASE_URL is required"),
      ]),
    );
  });

  it("checker: catches a DM credential missing only in dm-token deployments", () => {
    const broken = mutate(template, "relay", /^\s*DM_CLIENT_ID: .*\n/m, "");
    const problems = appSettingProblems(broken);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((problem) => problem.includes('"dm-token"'))).toBe(true);
  });

  it("checker: catches a misspelt setting and a local-only one", () => {
    const misspelt = mutate(template, "relay", "RELAY_FLOW_AUDIENCE:", "RELAY_FLOW_AUDIENCES:");
    expect(appSettingProblems(misspelt).join("\n")).toMatch(/RELAY_FLOW_AUDIENCES is read neither/);
    const local = mutate(
      template,
      "relay",
      "RELAY_ALLOW_LOOPBACK: 'false'",
      "RELAY_LOCAL_KEY: 'x'",
    );
    expect(appSettingProblems(local).join("\n")).toMatch(/RELAY_LOCAL_KEY must not be set/);
  });

  it("checker: catches a connection string in place of the managed identity", () => {
    const broken = mutate(
      template,
      "relay",
      /ServiceBusConnection__fullyQualifiedNamespace: .*/,
      "ServiceBusConnection: 'Endpoint=sb://x.servicebus.windows.net/'",
    );
    expect(appSettingProblems(broken).join("\n")).toMatch(/must use the managed identity/);
  });
});

describe("Service Bus queues", () => {
  it("are the code's queues with the emulator's properties", () => {
    expect(queueProblems(template.relay)).toEqual([]);
  });

  it("checker: catches a property or a name that differs", () => {
    const fewerDeliveries = mutate(
      template,
      "relay",
      "maxDeliveryCount: 10",
      "maxDeliveryCount: 5",
    );
    expect(queueProblems(fewerDeliveries.relay)).toEqual([
      "workflow-events: maxDeliveryCount is 5, emulator 10",
      "approval-decisions: maxDeliveryCount is 5, emulator 10",
    ]);
    const noDuplicateDetection = mutate(
      template,
      "relay",
      "requiresDuplicateDetection: true",
      "requiresDuplicateDetection: false",
    );
    expect(queueProblems(noDuplicateDetection.relay)).toHaveLength(2);
    const renamed = mutate(template, "relay", "'approval-decisions'", "'approvals'");
    expect(queueProblems(renamed.relay).join("\n")).toMatch(/differ from shared\/ports.ts/);
  });
});

describe("role assignments", () => {
  it("grant the identity exactly the built-in roles it needs, each on its own resource", () => {
    expect(roleProblems(template.relay)).toEqual([]);
  });

  it("checker: catches a wrong role definition id", () => {
    // Storage Blob Data Contributor in place of Storage Queue Data Contributor.
    const broken = mutate(
      template,
      "relay",
      EXPECTED_ROLES.storageQueueDataContributor.id,
      "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    );
    expect(roleProblems(broken.relay)).toEqual([
      "role storageQueueDataContributor is ba92f5b4-2d11-453d-a403-e96b0029c9fe, " +
        "should be 974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    ]);
  });

  it("checker: catches a role granted on a wider scope or not at all", () => {
    const wider = mutate(template, "relay", /scope: keyVault\n/, "scope: resourceGroup()\n");
    expect(roleProblems(wider.relay).join("\n")).toMatch(
      /keyVaultSecretsUser on resourceGroup\(\)/,
    );
    const missing = mutate(
      template,
      "relay",
      /resource monitoringMetricsPublisher [\s\S]*?\n}\n/,
      "",
    );
    expect(roleProblems(missing.relay)).toEqual(["monitoringMetricsPublisher is assigned 0 times"]);
  });
});

describe("secrets and local authentication", () => {
  it("no key, connection string or hard-coded secret is in the template", () => {
    expect(secretProblems(template)).toEqual([]);
  });

  it("checker: catches keys, connection strings and literal secrets", () => {
    const accountKey = mutate(
      template,
      "relay",
      "AzureWebJobsStorage__credential: 'managedidentity'",
      "AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc=='",
    );
    expect(secretProblems(accountKey)).toEqual([
      expect.stringContaining("a storage account key"),
      expect.stringContaining("a storage connection string"),
    ]);
    const listKeys = mutate(
      template,
      "relay",
      "storage.name\n",
      "storage.listKeys().keys[0].value\n",
    );
    expect(secretProblems(listKeys).join("\n")).toMatch(/a key read at deployment/);
    const literalKey = mutate(
      template,
      "relay",
      /RELAY_SIGNING_KEY: .*/,
      "RELAY_SIGNING_KEY: 'a-hard-coded-signing-key-of-forty-chars!'",
    );
    expect(secretProblems(literalKey)).toEqual(["RELAY_SIGNING_KEY must be a Key Vault reference"]);
    const defaultPassword = mutate(
      template,
      "main",
      "param dmServicePassword string = ''",
      "param dmServicePassword string = 'P@ssw0rd!'",
    );
    expect(secretProblems(defaultPassword)).toEqual([
      "secure parameter dmServicePassword has a hard-coded default 'P@ssw0rd!'",
    ]);
    const passwordInFile = mutate(template, "parametersFile", "${DM_SERVICE_PASSWORD}", "hunter2");
    expect(secretProblems(passwordInFile)).toEqual([
      "main.parameters.json gives dmServicePassword a value other than ${ENV_VAR}",
    ]);
  });

  it("every resource is identity-only, private and on Flex Consumption", () => {
    expect(resourcePropertyProblems(template.relay)).toEqual([]);
  });

  it("checker: catches local auth on Service Bus and shared keys on storage", () => {
    const serviceBusKeys = mutate(
      template,
      "relay",
      "disableLocalAuth: true",
      "disableLocalAuth: false",
    );
    expect(resourcePropertyProblems(serviceBusKeys.relay)).toEqual([
      "serviceBus.properties.disableLocalAuth is false, not true",
    ]);
    const sharedKey = mutate(
      template,
      "relay",
      "allowSharedKeyAccess: false",
      "allowSharedKeyAccess: true",
    );
    expect(resourcePropertyProblems(sharedKey.relay)).toEqual([
      "storage.properties.allowSharedKeyAccess is true, not false",
    ]);
    const unset = mutate(template, "relay", /^\s*DisableLocalAuth: true\n/m, "");
    expect(resourcePropertyProblems(unset.relay)).toEqual([
      "appInsights.properties.DisableLocalAuth is undefined, not true",
    ]);
  });
});
