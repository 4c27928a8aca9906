/**
 * Checks of the Azure template against the code. Each takes the template's text and returns the
 * problems it finds (empty: none), so the tests can also run them on broken copies and prove that
 * each check catches what it is for.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../shared/config";
import { APPROVAL_DECISIONS_QUEUE, WORKFLOW_EVENTS_QUEUE } from "../../shared/ports";
import {
  type BicepParam,
  literal,
  objectProperties,
  params,
  resources,
  variableObject,
  variableSource,
  variableStrings,
} from "./bicep";

export const ROOT = path.resolve(__dirname, "../..");
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

export interface Template {
  /** infra/main.bicep: parameters and outputs. */
  main: string;
  /** infra/modules/relay.bicep: the resources. */
  relay: string;
  /** infra/main.parameters.json, as text. */
  parametersFile: string;
}

export function readTemplate(): Template {
  return {
    main: read("infra/main.bicep"),
    relay: read("infra/modules/relay.bicep"),
    parametersFile: read("infra/main.parameters.json"),
  };
}

/** A value nested in an object literal's source, by a dotted path of keys. */
export function propertyAt(objectSource: string, keyPath: string): string | undefined {
  let current: string | undefined = objectSource;
  for (const key of keyPath.split(".")) {
    if (!current?.startsWith("{")) return undefined;
    current = objectProperties(current).get(key);
  }
  return current;
}

// ---------------------------------------------------------------------------------------------
// App settings against shared/config.ts

/**
 * The setting names shared/config.ts reads: the keys of its environment schema, parsed from the
 * source so that a setting added to the schema is known here without a second list.
 */
export function schemaSettingNames(configSource = read("shared/config.ts")): string[] {
  const start = configSource.indexOf("const environmentSchema");
  const end = configSource.indexOf(".superRefine(", start);
  const schemaObject = configSource.slice(start, end);
  return [...schemaObject.matchAll(/^ {4}([A-Za-z_]\w*):/gm)].map((match) => match[1]);
}

/** Settings the Functions host reads itself (not the relay's config): allowed beside the schema's. */
export const HOST_SETTINGS = [
  "AzureWebJobsStorage__credential",
  "AzureWebJobsStorage__clientId",
  "ServiceBusConnection__credential",
  "ServiceBusConnection__clientId",
  "APPLICATIONINSIGHTS_CONNECTION_STRING",
  "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
];

/**
 * CONTRACT "Settings" (and README "Settings") that the deployment must set explicitly, defaults
 * included, so that the deployed values are visible and changeable as parameters.
 */
export const DEPLOYED_SETTINGS = {
  always: [
    "AzureWebJobsStorage__accountName",
    "TABLES_CONNECTION__endpoint",
    "ServiceBusConnection__fullyQualifiedNamespace",
    "RELAY_PUBLIC_BASE_URL",
    "RELAY_SIGNING_KEY",
    "RELAY_ALLOWED_FLOW_HOSTS",
    "RELAY_ALLOW_LOOPBACK",
    "DATA_SERVICE_AUTH",
    "DATA_SERVICE_SCOPE",
    "RELAY_FLOW_MAX_ATTEMPTS",
    "RELAY_APPLY_MAX_ATTEMPTS",
    "RELAY_FLOW_AUDIENCE",
    "AZURE_CLIENT_ID",
  ],
  dmToken: ["DM_SERVICE_USERNAME", "DM_SERVICE_PASSWORD", "DM_CLIENT_ID", "DM_CLIENT_SECRET"],
  /** Local work only: in Azure the admin routes take the Functions host keys. */
  never: ["RELAY_LOCAL_KEY", "AzureWebJobsStorage", "ServiceBusConnection", "TABLES_CONNECTION"],
};

/** What a resolved Key Vault reference stands for when the settings are probed. */
const RESOLVED_SECRET = "resolved-key-vault-secret-".padEnd(48, "x");

/** One deployment's choices: the parameters that decide which settings exist. */
type Choices = Record<string, string>;

/** A setting's value as it would be in Azure, with stand-ins for what only Azure knows. */
function settingValue(source: string, paramValues: Choices): string {
  if (source.includes("@Microsoft.KeyVault(")) return RESOLVED_SECRET;
  const value = literal(source);
  if (value !== undefined) return String(value);
  if (/^'.*'$/s.test(source)) return source.slice(1, -1).replace(/\$\{[^}]*\}/g, "example");
  const name = /^(?:string\()?(\w+)\)?$/.exec(source)?.[1];
  if (name && name in paramValues) return paramValues[name];
  return "example-resource-property";
}

/** Whether a `cond ? {...} : {}` var's condition holds for these choices. */
function conditionHolds(condition: string, choices: Choices): boolean {
  const comparison = /^(\w+)\s*==\s*'([^']*)'$/.exec(condition);
  if (comparison) return choices[comparison[1]] === comparison[2];
  if (/^\w+$/.test(condition)) return choices[condition] === "true";
  throw new Error(`cannot evaluate the condition ${condition}`);
}

/** The names of the vars the `appsettings` resource unions, in order. */
function appSettingsVars(relay: string): string[] {
  const resource = resources(relay).find((r) => r.type === "Microsoft.Web/sites/config");
  const properties = resource && propertyAt(resource.body, "properties");
  const union = properties && /^union\(([\w\s,]+)\)$/.exec(properties);
  if (!union) throw new Error("the appsettings resource's properties must be union(<vars>)");
  return union[1].split(",").map((name) => name.trim());
}

/** Every deployment the template can make: each allowed value of each deciding parameter. */
export function deploymentChoices(template: Template): Choices[] {
  const mainParams = params(template.main);
  const deciding = new Set<string>();
  for (const name of appSettingsVars(template.relay)) {
    const condition = /^(.+?)\s*\?\s*\{/s.exec(variableSource(template.relay, name))?.[1];
    const identifiers = condition?.replace(/'[^']*'/g, "").match(/\b[a-z]\w*\b/g) ?? [];
    for (const identifier of identifiers) deciding.add(identifier);
  }
  let combinations: Choices[] = [{}];
  for (const name of deciding) {
    const param = mainParams.find((p) => p.name === name);
    const values = param?.type === "bool" ? ["true", "false"] : param?.allowed;
    if (!values) throw new Error(`${name} decides app settings but has no finite set of values`);
    combinations = combinations.flatMap((combination) =>
      values.map((value) => ({ ...combination, [name]: value })),
    );
  }
  return combinations;
}

/** The app settings the template gives the function app for these choices. */
export function appSettingsFor(template: Template, choices: Choices): Record<string, string> {
  const paramValues: Choices = {};
  for (const param of params(template.main)) {
    const fallback = literal(param.defaultValue ?? "");
    paramValues[param.name] = fallback ? String(fallback) : `${param.name}-supplied`;
  }
  Object.assign(paramValues, choices);
  const settings: Record<string, string> = {};
  for (const name of appSettingsVars(template.relay)) {
    const source = variableSource(template.relay, name);
    const condition = /^(.+?)\s*\?\s*\{/s.exec(source)?.[1];
    if (condition !== undefined && !conditionHolds(condition, paramValues)) continue;
    for (const [key, value] of variableObject(template.relay, name))
      settings[key] = settingValue(value, paramValues);
  }
  return settings;
}

export function appSettingProblems(
  template: Template,
  schemaNames = schemaSettingNames(),
): string[] {
  const problems: string[] = [];
  for (const choices of deploymentChoices(template)) {
    const label = JSON.stringify(choices);
    const settings = appSettingsFor(template, choices);
    for (const name of Object.keys(settings))
      if (!schemaNames.includes(name) && !HOST_SETTINGS.includes(name))
        problems.push(`${label}: ${name} is read neither by shared/config.ts nor by the host`);
    const expected = [
      ...DEPLOYED_SETTINGS.always,
      ...(settings.DATA_SERVICE_AUTH === "dm-token" ? DEPLOYED_SETTINGS.dmToken : []),
    ];
    for (const name of expected)
      if (!(name in settings)) problems.push(`${label}: ${name} is not set`);
    for (const name of DEPLOYED_SETTINGS.never)
      if (name in settings) problems.push(`${label}: ${name} must not be set in Azure`);
    try {
      const config = loadConfig(settings);
      if (config.tables.kind !== "endpoint" || config.serviceBus.kind !== "namespace")
        problems.push(`${label}: Table Storage and Service Bus must use the managed identity`);
      if (config.allowLoopback) problems.push(`${label}: loopback flows must not be allowed`);
      if (!config.managedIdentityClientId)
        problems.push(`${label}: AZURE_CLIENT_ID must name the user-assigned identity`);
    } catch (error) {
      problems.push(`${label}: ${(error as Error).message}`);
    }
  }
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
  relay: string,
  emulatorQueues = readEmulatorQueues(),
  codeQueues = [WORKFLOW_EVENTS_QUEUE, APPROVAL_DECISIONS_QUEUE],
): string[] {
  const problems: string[] = [];
  const deployed = variableStrings(relay, "relayQueues");
  const sameNames = (a: string[], b: string[]) => [...a].sort().join() === [...b].sort().join();
  if (!sameNames(deployed, codeQueues))
    problems.push(`queues ${deployed} differ from shared/ports.ts: ${codeQueues}`);
  if (
    !sameNames(
      deployed,
      emulatorQueues.map((queue) => queue.Name),
    )
  )
    problems.push(`queues ${deployed} differ from the emulator's`);

  const queueResource = resources(relay).find(
    (r) => r.type === "Microsoft.ServiceBus/namespaces/queues",
  );
  if (!queueResource) return [...problems, "no Service Bus queue resource"];
  if (!/^\[\s*for\s+\w+\s+in\s+relayQueues\s*:/.test(queueResource.body))
    problems.push("the queue resource must be made for each of relayQueues");
  if (!/^\s*properties:\s*queueProperties\s*$/m.test(queueResource.body))
    problems.push("the queue resource must use queueProperties");

  const properties = variableObject(relay, "queueProperties");
  for (const queue of emulatorQueues) {
    const expected = Object.entries(queue.Properties).filter(([, value]) => value !== "");
    for (const [name, value] of expected) {
      const deployedValue = literal(properties.get(camelCase(name)) ?? "");
      if (deployedValue !== value)
        problems.push(`${queue.Name}: ${camelCase(name)} is ${deployedValue}, emulator ${value}`);
    }
    for (const name of properties.keys())
      if (!expected.some(([emulatorName]) => camelCase(emulatorName) === name))
        problems.push(`${queue.Name}: ${name} is not set in the emulator config`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Role assignments

/**
 * Built-in role definition ids, checked against Microsoft's "Azure built-in roles" page, and the
 * resource each is granted on (least privilege: never the resource group or subscription).
 */
export const EXPECTED_ROLES: Record<string, { id: string; scope: string }> = {
  serviceBusDataSender: { id: "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39", scope: "serviceBus" },
  serviceBusDataReceiver: { id: "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0", scope: "serviceBus" },
  storageTableDataContributor: { id: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", scope: "storage" },
  storageBlobDataOwner: { id: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", scope: "storage" },
  storageQueueDataContributor: { id: "974c5e8b-45b9-4653-ba55-5f855dd0fb88", scope: "storage" },
  keyVaultSecretsUser: { id: "4633458b-17de-408a-b874-0445c86b69e6", scope: "keyVault" },
  monitoringMetricsPublisher: { id: "3913510d-42f4-4e42-8a64-420c390055eb", scope: "appInsights" },
};

export function roleProblems(relay: string): string[] {
  const problems: string[] = [];
  const roleIds = variableObject(relay, "roles");
  for (const [name, expected] of Object.entries(EXPECTED_ROLES)) {
    const id = literal(roleIds.get(name) ?? "");
    if (id !== expected.id) problems.push(`role ${name} is ${id}, should be ${expected.id}`);
  }
  for (const name of roleIds.keys())
    if (!(name in EXPECTED_ROLES)) problems.push(`role ${name} is not one the relay needs`);

  const assigned = new Map<string, number>();
  for (const assignment of resources(relay).filter(
    (r) => r.type === "Microsoft.Authorization/roleAssignments",
  )) {
    const definition = propertyAt(assignment.body, "properties.roleDefinitionId") ?? "";
    const role = /roles\.(\w+)\)$/.exec(definition)?.[1];
    const expected = role ? EXPECTED_ROLES[role] : undefined;
    if (!role || !expected) {
      problems.push(`${assignment.symbol}: role definition ${definition} is not from roles`);
      continue;
    }
    assigned.set(role, (assigned.get(role) ?? 0) + 1);
    const scope = propertyAt(assignment.body, "scope");
    if (scope !== expected.scope)
      problems.push(`${assignment.symbol}: ${role} on ${scope}, should be on ${expected.scope}`);
    if (propertyAt(assignment.body, "properties.principalId") !== "identity.properties.principalId")
      problems.push(`${assignment.symbol}: must be granted to the user-assigned identity`);
  }
  for (const role of Object.keys(EXPECTED_ROLES))
    if (assigned.get(role) !== 1)
      problems.push(`${role} is assigned ${assigned.get(role) ?? 0} times`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Secrets, keys and local authentication

const FORBIDDEN_TEXT: [RegExp, string][] = [
  [/AccountKey=/i, "a storage account key"],
  [/SharedAccessKey(Name)?=/i, "a Service Bus shared access key"],
  [/DefaultEndpointsProtocol/i, "a storage connection string"],
  [/InstrumentationKey=/i, "an Application Insights instrumentation key"],
  [/\blist(Keys|ConnectionStrings|AccountSas|ServiceSas)\(/, "a key read at deployment"],
  [/UseDevelopmentStorage|UseDevelopmentEmulator/i, "a local emulator connection"],
];

/** Setting names that hold secrets: their values must be Key Vault references. */
const SECRET_SETTING = /(KEY|SECRET|PASSWORD)(_PREVIOUS)?$/;

export function secretProblems(template: Template): string[] {
  const problems: string[] = [];
  const files = { "main.bicep": template.main, "relay.bicep": template.relay };
  for (const [file, text] of Object.entries({
    ...files,
    "main.parameters.json": template.parametersFile,
  }))
    for (const [pattern, what] of FORBIDDEN_TEXT)
      if (pattern.test(text)) problems.push(`${file} holds ${what} (${pattern})`);

  const secureParams: BicepParam[] = [...params(template.main), ...params(template.relay)].filter(
    (p) => p.secure,
  );
  for (const param of secureParams) {
    const fallback = param.defaultValue;
    if (fallback && fallback !== "''" && !/^'(\$\{newGuid\(\)\})+'$/.test(fallback))
      problems.push(`secure parameter ${param.name} has a hard-coded default ${fallback}`);
  }
  const parameterValues = JSON.parse(template.parametersFile) as {
    parameters: Record<string, { value: unknown }>;
  };
  for (const param of params(template.main).filter((p) => p.secure)) {
    const value = parameterValues.parameters[param.name]?.value;
    if (value !== undefined && !/^\$\{[A-Z][A-Z0-9_]*\}$/.test(String(value)))
      problems.push(`main.parameters.json gives ${param.name} a value other than \${ENV_VAR}`);
  }

  for (const secret of resources(template.relay).filter(
    (r) => r.type === "Microsoft.KeyVault/vaults/secrets",
  )) {
    const value = propertyAt(secret.body, "properties.value") ?? "";
    if (!secureParams.some((p) => p.name === value))
      problems.push(`Key Vault secret ${secret.symbol} is not set from a secure parameter`);
  }

  // Every setting of every var, whichever deployment choices include it.
  for (const name of appSettingsVars(template.relay))
    for (const [setting, source] of variableObject(template.relay, name))
      if (SECRET_SETTING.test(setting) && !/^'@Microsoft\.KeyVault\(SecretUri=/.test(source))
        problems.push(`${setting} must be a Key Vault reference`);
  return problems;
}

/** Properties that keep every resource identity-only and private; value as Bicep source. */
export const REQUIRED_PROPERTIES: Record<string, Record<string, string>> = {
  "Microsoft.ServiceBus/namespaces": { "properties.disableLocalAuth": "true" },
  "Microsoft.Storage/storageAccounts": {
    "properties.allowSharedKeyAccess": "false",
    "properties.allowBlobPublicAccess": "false",
    "properties.minimumTlsVersion": "'TLS1_2'",
  },
  "Microsoft.Insights/components": { "properties.DisableLocalAuth": "true" },
  "Microsoft.KeyVault/vaults": {
    "properties.enableRbacAuthorization": "true",
    "properties.enableSoftDelete": "true",
    "properties.enablePurgeProtection": "true",
  },
  "Microsoft.Web/serverfarms": { "sku.name": "'FC1'", "sku.tier": "'FlexConsumption'" },
  "Microsoft.Web/sites": {
    "identity.type": "'UserAssigned'",
    "properties.httpsOnly": "true",
    "properties.keyVaultReferenceIdentity": "identity.id",
    "properties.functionAppConfig.runtime.name": "'node'",
    "properties.functionAppConfig.runtime.version": "'20'",
    "properties.functionAppConfig.deployment.storage.authentication.type": "'UserAssignedIdentity'",
    "properties.functionAppConfig.scaleAndConcurrency.instanceMemoryMB": "instanceMemoryMB",
    "properties.functionAppConfig.scaleAndConcurrency.maximumInstanceCount": "maximumInstanceCount",
    "properties.virtualNetworkSubnetId":
      "empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId",
  },
};

export function resourcePropertyProblems(relay: string): string[] {
  const problems: string[] = [];
  const all = resources(relay);
  for (const [type, required] of Object.entries(REQUIRED_PROPERTIES)) {
    const ofType = all.filter((r) => r.type === type);
    if (ofType.length === 0) problems.push(`no ${type}`);
    for (const resource of ofType)
      for (const [keyPath, value] of Object.entries(required)) {
        const actual = propertyAt(resource.body, keyPath);
        if (actual !== value)
          problems.push(`${resource.symbol}.${keyPath} is ${actual}, not ${value}`);
      }
  }
  const site = all.find((r) => r.type === "Microsoft.Web/sites");
  if (site && !/'azd-service-name':\s*'relay'/.test(propertyAt(site.body, "tags") ?? ""))
    problems.push("the function app must be tagged azd-service-name: 'relay'");
  return problems;
}

/** For the mutation tests: the template with one piece of text replaced (which must exist). */
export function mutate(
  template: Template,
  file: keyof Template,
  from: string | RegExp,
  to: string,
): Template {
  const text = template[file];
  if (!(typeof from === "string" ? text.includes(from) : from.test(text)))
    throw new Error(`the mutation's text ${from} is not in ${file}`);
  return { ...template, [file]: text.replace(from, to) };
}

// ---------------------------------------------------------------------------------------------
// main.parameters.json (azd) against main.bicep

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

export function parametersFileProblems(template: Template): string[] {
  const problems: string[] = [];
  const declared = params(template.main);
  const parsed = JSON.parse(template.parametersFile) as { parameters: Record<string, unknown> };
  const mapped = parameterVariables(template.parametersFile);
  for (const name of Object.keys(parsed.parameters)) {
    const param = declared.find((p) => p.name === name);
    if (!param)
      problems.push(`main.parameters.json sets ${name}, which main.bicep does not declare`);
    if (!mapped.has(name)) problems.push(`main.parameters.json sets ${name} to a literal`);
    const fallback = mapped.get(name)?.fallback;
    if (param && fallback !== undefined && String(literal(param.defaultValue ?? "")) !== fallback)
      problems.push(
        `${name}: azd default ${fallback} differs from main.bicep's ${param.defaultValue}`,
      );
  }
  for (const param of declared)
    if (param.defaultValue === undefined && !(param.name in parsed.parameters))
      problems.push(`required parameter ${param.name} is not in main.parameters.json`);
  return problems;
}
