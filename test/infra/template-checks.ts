/**
 * Checks of the compiled Azure template (test/infra/arm.ts) against the code it deploys. Each
 * returns the problems it finds (empty: none), so the tests can also run it on a broken copy of
 * the JSON and prove it catches what it is for.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { APPROVAL_DECISIONS_QUEUE, WORKFLOW_EVENTS_QUEUE } from "../../shared/ports";
import {
  type ArmTemplate,
  evaluate,
  IDENTITY,
  moduleTemplate,
  resourceEntries,
  ROOT,
  type Snapshot,
  SUBSCRIPTION_ID,
} from "./arm";

export { ROOT };

const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

/** A copy of a JSON value, for the checkers' tests to break. */
export const copy = <T>(value: T): T => structuredClone(value);

/** The resource of a snapshot of one type (and name, if given), or an error. */
export function predicted(snapshot: Snapshot, type: string, name?: string) {
  const resource = snapshot.predictedResources.find(
    (candidate) => candidate.type === type && (name === undefined || candidate.name === name),
  );
  if (!resource) throw new Error(`the snapshot predicts no ${type} ${name ?? ""}`);
  return resource;
}

/** A value in a JSON object by a dotted path. */
function valueAt(value: unknown, keyPath: string): unknown {
  return keyPath
    .split(".")
    .reduce<unknown>((current, key) => (current as Record<string, unknown>)?.[key], value);
}

// ---------------------------------------------------------------------------------------------
// Resource types and API versions

/**
 * The newest GA version of each type that the pinned Bicep knows (the linter's
 * use-recent-api-versions names them): a version that is the newest stays accepted however
 * old it grows. Role assignments' 2022-04-01 and Application Insights' 2020-02-02 are.
 */
export const API_VERSIONS: Record<string, string> = {
  "Microsoft.Resources/resourceGroups": "2025-04-01",
  "Microsoft.Resources/deployments": "2025-04-01",
  "Microsoft.ManagedIdentity/userAssignedIdentities": "2024-11-30",
  "Microsoft.Storage/storageAccounts": "2026-09-01",
  "Microsoft.Storage/storageAccounts/blobServices": "2026-09-01",
  "Microsoft.Storage/storageAccounts/blobServices/containers": "2026-09-01",
  "Microsoft.Storage/storageAccounts/tableServices": "2026-09-01",
  "Microsoft.Storage/storageAccounts/tableServices/tables": "2026-09-01",
  "Microsoft.ServiceBus/namespaces": "2026-01-01",
  "Microsoft.ServiceBus/namespaces/queues": "2026-01-01",
  "Microsoft.KeyVault/vaults": "2026-05-15",
  "Microsoft.KeyVault/vaults/secrets": "2026-05-15",
  "Microsoft.OperationalInsights/workspaces": "2026-03-01",
  "Microsoft.Insights/components": "2020-02-02",
  "Microsoft.Web/serverfarms": "2025-03-01",
  "Microsoft.Web/sites": "2025-03-01",
  "Microsoft.Web/sites/config": "2025-03-01",
  "Microsoft.Authorization/roleAssignments": "2022-04-01",
};

/** Every resource of the template and of the modules it deploys. */
function allResources(template: ArmTemplate): { type: string; apiVersion: string }[] {
  return resourceEntries(template).flatMap(([, resource]) => [
    resource,
    ...(resource.type === "Microsoft.Resources/deployments"
      ? allResources(resource.properties.template as ArmTemplate)
      : []),
  ]);
}

export function apiVersionProblems(template: ArmTemplate): string[] {
  const problems: string[] = [];
  for (const { type, apiVersion } of allResources(template)) {
    if (apiVersion.includes("preview")) problems.push(`${type}@${apiVersion} is a preview`);
    if (!(type in API_VERSIONS)) problems.push(`${type} is not a type the relay uses`);
    else if (apiVersion !== API_VERSIONS[type])
      problems.push(`${type}@${apiVersion}, expected ${API_VERSIONS[type]}`);
  }
  return [...new Set(problems)];
}

// ---------------------------------------------------------------------------------------------
// Resource properties

/** Properties that keep every resource identity-only, private and on Flex Consumption. */
export const REQUIRED_PROPERTIES: Record<string, Record<string, unknown>> = {
  "Microsoft.ServiceBus/namespaces": { "properties.disableLocalAuth": true },
  "Microsoft.Storage/storageAccounts": {
    "properties.allowSharedKeyAccess": false,
    "properties.allowBlobPublicAccess": false,
    "properties.minimumTlsVersion": "TLS1_2",
    "properties.supportsHttpsTrafficOnly": true,
  },
  "Microsoft.Insights/components": { "properties.DisableLocalAuth": true },
  "Microsoft.KeyVault/vaults": {
    "properties.enableRbacAuthorization": true,
    "properties.enableSoftDelete": true,
    "properties.enablePurgeProtection": true,
  },
  "Microsoft.Web/serverfarms": { "sku.name": "FC1", "sku.tier": "FlexConsumption" },
  "Microsoft.Web/sites": {
    kind: "functionapp,linux",
    "identity.type": "UserAssigned",
    "tags.azd-service-name": "relay",
    "properties.httpsOnly": true,
    "properties.functionAppConfig.runtime.name": "node",
    "properties.functionAppConfig.runtime.version": "20",
    "properties.functionAppConfig.deployment.storage.type": "blobContainer",
    "properties.functionAppConfig.deployment.storage.authentication.type": "UserAssignedIdentity",
    // Not read by Flex Consumption: all outbound traffic goes through the subnet.
    "properties.vnetRouteAllEnabled": undefined,
  },
};

export function propertyProblems(snapshot: Snapshot): string[] {
  const problems: string[] = [];
  for (const [type, required] of Object.entries(REQUIRED_PROPERTIES)) {
    const ofType = snapshot.predictedResources.filter((resource) => resource.type === type);
    if (ofType.length === 0) problems.push(`no ${type}`);
    for (const resource of ofType)
      for (const [keyPath, value] of Object.entries(required)) {
        const actual = valueAt(resource, keyPath);
        if (actual !== value)
          problems.push(`${resource.name}: ${keyPath} is ${JSON.stringify(actual)}, not ${value}`);
      }
  }
  // The app and its deployment container reach storage with the identity, not with a key.
  const site = predicted(snapshot, "Microsoft.Web/sites");
  const identity = predicted(snapshot, "Microsoft.ManagedIdentity/userAssignedIdentities");
  for (const keyPath of [
    "properties.keyVaultReferenceIdentity",
    "properties.functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId",
  ])
    if (valueAt(site, keyPath) !== identity.id)
      problems.push(`${site.name}: ${keyPath} is not the user-assigned identity`);
  if (Object.keys(site.identity?.userAssignedIdentities ?? {}).join() !== identity.id)
    problems.push(`${site.name}: the user-assigned identity must be its only identity`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// App settings

/** The function app's settings, with what Azure gives at deployment filled in. */
export function appSettings(snapshot: Snapshot): Record<string, string> {
  const config = snapshot.predictedResources.find(
    (resource) =>
      resource.type === "Microsoft.Web/sites/config" && resource.name.endsWith("/appsettings"),
  );
  if (!config) throw new Error("the snapshot predicts no appsettings");
  return evaluate(config.properties) as Record<string, string>;
}

/**
 * Settings Flex Consumption does not allow, or ignores, because the plan's own configuration
 * (functionAppConfig) holds them: learn.microsoft.com/azure/azure-functions/functions-app-settings.
 */
export const FLEX_UNSUPPORTED_SETTINGS = [
  "FUNCTIONS_EXTENSION_VERSION",
  "FUNCTIONS_WORKER_RUNTIME",
  "FUNCTIONS_WORKER_RUNTIME_VERSION",
  "FUNCTIONS_MAX_HTTP_CONCURRENCY",
  "FUNCTIONS_WORKER_PROCESS_COUNT",
  "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
  "SCM_DO_BUILD_DURING_DEPLOYMENT",
  "ENABLE_ORYX_BUILD",
  "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
  "WEBSITE_CONTENTOVERVNET",
  "WEBSITE_CONTENTSHARE",
  "WEBSITE_DNS_SERVER",
  "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
  "WEBSITE_NODE_DEFAULT_VERSION",
  "WEBSITE_RUN_FROM_PACKAGE",
  "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
  "WEBSITE_VNET_ROUTE_ALL",
  "WEBSITES_ENABLE_APP_SERVICE_STORAGE",
];

/** Connection strings (keys) in place of the identity-based `__` settings. */
const CONNECTION_STRING_SETTINGS = [
  "AzureWebJobsStorage",
  "ServiceBusConnection",
  "TABLES_CONNECTION",
];

const KEY_TEXT = [/AccountKey=/i, /SharedAccessKey(Name)?=/i, /DefaultEndpointsProtocol/i];

/** The Key Vault secret each secret setting references. */
export const SECRET_SETTINGS: Record<string, string> = {
  RELAY_SIGNING_KEY: "relay-signing-key",
  RELAY_SIGNING_KEY_PREVIOUS: "relay-signing-key-previous",
  DM_SERVICE_PASSWORD: "dm-service-password",
  DM_CLIENT_SECRET: "dm-client-secret",
};

/** Problems of one deployment's settings, expected to be exactly `expectedNames`. */
export function settingProblems(
  snapshot: Snapshot,
  expectedNames: string[],
  settings = appSettings(snapshot),
): string[] {
  const problems: string[] = [];
  for (const name of expectedNames) if (!(name in settings)) problems.push(`${name} is not set`);
  for (const name of Object.keys(settings))
    if (!expectedNames.includes(name)) problems.push(`${name} is not a setting of this deployment`);
  for (const name of FLEX_UNSUPPORTED_SETTINGS)
    if (name in settings) problems.push(`${name} is not allowed on Flex Consumption`);
  for (const name of CONNECTION_STRING_SETTINGS)
    if (name in settings) problems.push(`${name} is a connection string, not the identity`);
  for (const [name, value] of Object.entries(settings)) {
    if (KEY_TEXT.some((pattern) => pattern.test(value))) problems.push(`${name} holds a key`);
    const secret = SECRET_SETTINGS[name];
    const vault = predicted(snapshot, "Microsoft.KeyVault/vaults").name;
    const reference = `@Microsoft.KeyVault(SecretUri=https://${vault}.vault.azure.net/secrets/${secret})`;
    if (/(KEY|SECRET|PASSWORD)(_PREVIOUS)?$/.test(name) && value !== reference)
      problems.push(`${name} is ${value}, not a reference to its Key Vault secret`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Role assignments

/**
 * Built-in role definition ids (Microsoft's "Azure built-in roles") and the type of the one
 * resource each is granted on: least privilege, never the resource group or subscription.
 */
export const EXPECTED_ROLES: Record<string, { id: string; scope: string }> = {
  "Azure Service Bus Data Owner": {
    id: "090c5cfd-751d-490a-894a-3ce6f1109419",
    scope: "Microsoft.ServiceBus/namespaces",
  },
  "Azure Service Bus Data Receiver": {
    id: "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
    scope: "Microsoft.ServiceBus/namespaces",
  },
  "Storage Table Data Contributor": {
    id: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    scope: "Microsoft.Storage/storageAccounts",
  },
  "Storage Blob Data Owner": {
    id: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    scope: "Microsoft.Storage/storageAccounts",
  },
  "Storage Queue Data Contributor": {
    id: "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    scope: "Microsoft.Storage/storageAccounts",
  },
  "Key Vault Secrets User": {
    id: "4633458b-17de-408a-b874-0445c86b69e6",
    scope: "Microsoft.KeyVault/vaults",
  },
  "Monitoring Metrics Publisher": {
    id: "3913510d-42f4-4e42-8a64-420c390055eb",
    scope: "Microsoft.Insights/components",
  },
};

const ASSIGNMENT = "/providers/Microsoft.Authorization/roleAssignments/";

export function roleProblems(snapshot: Snapshot): string[] {
  const problems: string[] = [];
  const assigned = new Map<string, number>();
  for (const assignment of snapshot.predictedResources.filter(
    (resource) => resource.type === "Microsoft.Authorization/roleAssignments",
  )) {
    const definition = String(assignment.properties.roleDefinitionId);
    const roleId = definition.replace(
      `/subscriptions/${SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/`,
      "",
    );
    const role = Object.keys(EXPECTED_ROLES).find((name) => EXPECTED_ROLES[name].id === roleId);
    if (!role) {
      problems.push(`role definition ${definition} is not one the relay needs`);
      continue;
    }
    assigned.set(role, (assigned.get(role) ?? 0) + 1);
    const scope = assignment.id.slice(0, assignment.id.indexOf(ASSIGNMENT));
    const scopeType = /\/providers\/([^/]+\/[^/]+)\/[^/]+$/.exec(scope)?.[1] ?? scope;
    if (scopeType !== EXPECTED_ROLES[role].scope)
      problems.push(`${role} on ${scopeType}, should be on ${EXPECTED_ROLES[role].scope}`);
    const scopeResource = snapshot.predictedResources.find((resource) => resource.id === scope);
    if (!scopeResource) problems.push(`${role} on ${scope}, which the deployment does not make`);
    if (evaluate(assignment.properties.principalId) !== IDENTITY.principalId)
      problems.push(`${role} must be granted to the user-assigned identity`);
    if (assignment.properties.principalType !== "ServicePrincipal")
      problems.push(`${role}: principalType is ${assignment.properties.principalType}`);
  }
  for (const role of Object.keys(EXPECTED_ROLES))
    if (assigned.get(role) !== 1)
      problems.push(`${role} is assigned ${assigned.get(role) ?? 0} times`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Deployment order

/**
 * The first deployment must not start the app before what it needs exists: the settings wait
 * for every Key Vault secret and for the right to read them (App Service caches a reference
 * that did not resolve); the app waits for its storage and Service Bus roles (a 403 uploading
 * the package, a scaler that cannot read queue lengths).
 */
export function orderingProblems(template: ArmTemplate): string[] {
  const relay = moduleTemplate(template, "relay");
  if (Array.isArray(relay.resources))
    return ["the relay module must compile with symbolic names (languageVersion 2.0)"];
  const entries = resourceEntries(relay);
  const symbolsWhere = (test: (resource: (typeof entries)[number][1]) => boolean) =>
    entries.filter(([, resource]) => test(resource)).map(([symbol]) => symbol);
  const roleOn = (scopeType: string) =>
    symbolsWhere(
      (resource) =>
        resource.type === "Microsoft.Authorization/roleAssignments" &&
        String(resource.scope).includes(`'${scopeType}'`),
    );
  const problems: string[] = [];
  const mustWait = (type: string, waitsFor: string[]) => {
    const [symbol, resource] = entries.find(([, candidate]) => candidate.type === type) ?? [];
    if (!symbol || !resource) {
      problems.push(`no ${type}`);
      return;
    }
    for (const dependency of waitsFor)
      if (!resource.dependsOn?.includes(dependency))
        problems.push(`${symbol} does not wait for ${dependency}`);
  };
  mustWait("Microsoft.Web/sites/config", [
    ...symbolsWhere((resource) => resource.type === "Microsoft.KeyVault/vaults/secrets"),
    ...roleOn("Microsoft.KeyVault/vaults"),
  ]);
  mustWait("Microsoft.Web/sites", [
    ...roleOn("Microsoft.Storage/storageAccounts"),
    ...roleOn("Microsoft.ServiceBus/namespaces"),
  ]);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Queues against shared/ports.ts and the emulator config

interface EmulatorQueue {
  Name: string;
  Properties: Record<string, string | number | boolean>;
}

export function readEmulatorQueues(): EmulatorQueue[] {
  const config = JSON.parse(read("dev/servicebus-emulator/config.json")) as {
    UserConfig: { Namespaces: { Queues: EmulatorQueue[] }[] };
  };
  return config.UserConfig.Namespaces.flatMap((namespace) => namespace.Queues);
}

const camelCase = (name: string) => name[0].toLowerCase() + name.slice(1);

export function queueProblems(
  snapshot: Snapshot,
  emulatorQueues = readEmulatorQueues(),
  codeQueues = [WORKFLOW_EVENTS_QUEUE, APPROVAL_DECISIONS_QUEUE],
): string[] {
  const problems: string[] = [];
  const deployed = snapshot.predictedResources.filter(
    (resource) => resource.type === "Microsoft.ServiceBus/namespaces/queues",
  );
  const names = deployed.map((queue) => queue.name.split("/").pop() ?? "");
  const sameNames = (a: string[], b: string[]) => [...a].sort().join() === [...b].sort().join();
  if (!sameNames(names, codeQueues))
    problems.push(`queues ${names} differ from shared/ports.ts: ${codeQueues}`);
  if (
    !sameNames(
      names,
      emulatorQueues.map((queue) => queue.Name),
    )
  )
    problems.push(`queues ${names} differ from the emulator's`);
  for (const queue of deployed) {
    const name = queue.name.split("/").pop();
    const emulator = emulatorQueues.find((candidate) => candidate.Name === name);
    if (!emulator) continue;
    // The emulator's empty strings are its way of saying "not set".
    const expected = Object.entries(emulator.Properties).filter(([, value]) => value !== "");
    for (const [property, value] of expected)
      if (queue.properties?.[camelCase(property)] !== value)
        problems.push(
          `${name}: ${camelCase(property)} is ${queue.properties?.[camelCase(property)]}, emulator ${value}`,
        );
    for (const property of Object.keys(queue.properties ?? {}))
      if (!expected.some(([emulatorName]) => camelCase(emulatorName) === property))
        problems.push(`${name}: ${property} is not set in the emulator config`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Secrets in the template and main.parameters.json

const FORBIDDEN_TEXT: [RegExp, string][] = [
  [/AccountKey=/i, "a storage account key"],
  [/SharedAccessKey(Name)?=/i, "a Service Bus shared access key"],
  [/DefaultEndpointsProtocol/i, "a storage connection string"],
  [/\blist(Keys|ConnectionStrings|AccountSas|ServiceSas)\(/, "a key read at deployment"],
  [/UseDevelopmentStorage|UseDevelopmentEmulator/i, "a local emulator connection"],
];

/** A secure parameter's default: empty, or fresh random GUIDs (never a fixed value). */
const SAFE_SECURE_DEFAULT = /^(|\[format\('(\{\d\})+'(, newGuid\(\))+\)\])$/;

export function secretProblems(template: ArmTemplate, parametersFile: string): string[] {
  const problems: string[] = [];
  const text = JSON.stringify(template);
  for (const [pattern, what] of FORBIDDEN_TEXT)
    if (pattern.test(text)) problems.push(`the template holds ${what} (${pattern})`);
  const secure = Object.entries(template.parameters).filter(([, p]) => p.type === "securestring");
  for (const [name, parameter] of secure)
    if (!SAFE_SECURE_DEFAULT.test(String(parameter.defaultValue ?? "")))
      problems.push(`secure parameter ${name} has a fixed default ${parameter.defaultValue}`);
  const values = JSON.parse(parametersFile) as { parameters: Record<string, { value: unknown }> };
  for (const [name] of secure) {
    const value = values.parameters[name]?.value;
    if (value !== undefined && !/^\$\{[A-Z][A-Z0-9_]*\}$/.test(String(value)))
      problems.push(`main.parameters.json gives ${name} a value other than \${ENV_VAR}`);
  }
  // Every secret the vault gets comes from a secure parameter of the module.
  const relay = moduleTemplate(template, "relay");
  for (const [symbol, resource] of resourceEntries(relay)) {
    if (resource.type !== "Microsoft.KeyVault/vaults/secrets") continue;
    const source = /^\[parameters\('(\w+)'\)\]$/.exec(String(resource.properties?.value))?.[1];
    if (!source || relay.parameters[source]?.type !== "securestring")
      problems.push(`Key Vault secret ${symbol} is not set from a secure parameter`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// main.parameters.json (azd) against the template's parameters

/** The azd variables main.parameters.json maps to each parameter, with their `=default`s. */
export function parameterVariables(
  parametersFile: string,
): Map<string, { variable: string; fallback?: string }> {
  const parsed = JSON.parse(parametersFile) as { parameters: Record<string, { value: unknown }> };
  const mapped = new Map<string, { variable: string; fallback?: string }>();
  for (const [name, { value }] of Object.entries(parsed.parameters)) {
    const reference = /^\$\{([A-Z][A-Z0-9_]*)(?:=(.*))?\}$/.exec(String(value));
    if (reference) mapped.set(name, { variable: reference[1], fallback: reference[2] });
  }
  return mapped;
}

/** A parameter's default when it is a plain value (not an expression such as newGuid()). */
export function literalDefault(template: ArmTemplate, name: string): unknown {
  const fallback = template.parameters[name]?.defaultValue;
  return typeof fallback === "string" && fallback.startsWith("[") ? undefined : fallback;
}

export function parametersFileProblems(template: ArmTemplate, parametersFile: string): string[] {
  const problems: string[] = [];
  const parsed = JSON.parse(parametersFile) as { parameters: Record<string, unknown> };
  const mapped = parameterVariables(parametersFile);
  for (const name of Object.keys(parsed.parameters)) {
    const parameter = template.parameters[name];
    if (!parameter)
      problems.push(`main.parameters.json sets ${name}, which main.bicep does not declare`);
    if (!mapped.has(name)) problems.push(`main.parameters.json sets ${name} to a literal`);
    const fallback = mapped.get(name)?.fallback;
    const declared = literalDefault(template, name);
    if (parameter && fallback !== undefined && String(declared) !== fallback)
      problems.push(`${name}: azd default ${fallback} differs from main.bicep's ${declared}`);
  }
  for (const [name, parameter] of Object.entries(template.parameters))
    if (parameter.defaultValue === undefined && !(name in parsed.parameters))
      problems.push(`required parameter ${name} is not in main.parameters.json`);
  return problems;
}
