/**
 * The relay's settings: one schema, checked when the app loads, so that a missing or malformed
 * setting stops the app with one line naming it. `zod/mini` (zod's tree-shakable form) keeps
 * this check cheap in the load path that every cold start pays; the rest of the app uses zod.
 * A namespace import, not `{ z }`, so the bundler keeps only the parts the schema uses.
 */
import * as z from "zod/mini";
import { checkServiceUrl, isHostPattern } from "./domain/flow-url";

/** A setting that is missing or malformed; its message is the one line the host prints. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const intSetting = (min: number, max: number, fallback: number) => {
  const error = `must be a whole number from ${min} to ${max}`;
  return z._default(
    z.coerce
      .number({ error })
      .check(z.int({ error }), z.gte(min, { error }), z.lte(max, { error })),
    fallback,
  );
};

const booleanSetting = z.pipe(
  z._default(
    z.enum(["true", "false", "1", "0", "yes", "no"], { error: "must be true or false" }),
    "false",
  ),
  z.transform((value: "true" | "false" | "1" | "0" | "yes" | "no") =>
    ["true", "1", "yes"].includes(value),
  ),
);

const optionalText = z.pipe(
  z.optional(z.string()),
  z.transform((value: string | undefined) =>
    value === undefined || value.trim() === "" ? undefined : value,
  ),
);

const hostPattern = z.string().check(
  z.refine(isHostPattern, {
    error:
      "must be comma-separated host names or IP addresses (localhost, 127.0.0.1, ::1), optionally starting with '*.'",
  }),
);

/** Azure's NCRONTAB: six fields, seconds first (the Functions timer trigger's format). */
const ncrontab = z.string().check(
  z.regex(/^\s*\S+(\s+\S+){5}\s*$/, {
    error: "must be an NCRONTAB expression with six fields, such as 0 */5 * * * *",
  }),
);

const guid = (what: string) =>
  z.string().check(
    z.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, {
      error: `must be ${what} (a GUID)`,
    }),
  );

/** Where a Dataverse environment lives, from its organization code and region. */
const DATAVERSE_URL_TEMPLATE = "https://{org}.{region}.dynamics.com";

export const environmentSchema = z
  .object({
    AzureWebJobsStorage: optionalText,
    TABLES_CONNECTION: optionalText,
    TABLES_CONNECTION__endpoint: optionalText,
    AzureWebJobsStorage__accountName: optionalText,
    ServiceBusConnection: optionalText,
    ServiceBusConnection__fullyQualifiedNamespace: optionalText,
    RELAY_PUBLIC_BASE_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
    RELAY_SIGNING_KEY: z
      .string()
      .check(z.minLength(32, { error: "must be at least 32 characters" })),
    RELAY_SIGNING_KEY_PREVIOUS: optionalText,
    RELAY_ALLOWED_FLOW_HOSTS: z.pipe(
      z.pipe(
        z._default(z.string(), "*.environment.api.powerplatform.com,*.logic.azure.com"),
        z.transform((value: string) => value.split(",").map((host) => host.trim().toLowerCase())),
      ),
      z.array(hostPattern).check(z.minLength(1)),
    ),
    RELAY_ALLOW_LOOPBACK: booleanSetting,
    DATA_SERVICE_AUTH: z._default(
      z.enum(["dm-token", "entra", "none"], { error: "must be dm-token, entra or none" }),
      "dm-token",
    ),
    DM_SERVICE_USERNAME: optionalText,
    DM_SERVICE_PASSWORD: optionalText,
    DM_CLIENT_ID: optionalText,
    DM_CLIENT_SECRET: optionalText,
    DATA_SERVICE_SCOPE: optionalText,
    RELAY_FLOW_MAX_ATTEMPTS: intSetting(1, 50, 8),
    RELAY_APPLY_MAX_ATTEMPTS: intSetting(1, 50, 8),
    RELAY_FLOW_AUDIENCE: z._default(
      z.url({ error: "must be a URL such as https://service.flow.microsoft.com/" }),
      "https://service.flow.microsoft.com/",
    ),
    RELAY_RETRY_BASE_MS: intSetting(10, 600_000, 2_000),
    RELAY_RETRY_MAX_MS: intSetting(10, 86_400_000, 300_000),
    RELAY_HTTP_TIMEOUT_MS: intSetting(100, 230_000, 30_000),
    RELAY_TABLE_PREFIX: z.optional(
      z
        .string()
        .check(z.regex(/^[A-Za-z][A-Za-z0-9]{0,20}$/, { error: "must be letters and digits" })),
    ),
    AZURE_CLIENT_ID: optionalText,
    POWER_PLATFORM_CLIENT_SECRET: optionalText,
    POWER_PLATFORM_CLIENT_CERTIFICATE_PATH: optionalText,
    POWER_PLATFORM_DATAVERSE_URL_TEMPLATE: z._default(z.string(), DATAVERSE_URL_TEMPLATE),
    POWER_PLATFORM_DATAVERSE_AUDIENCE_TEMPLATE: optionalText,
    POWER_AUTOMATE_API_URL: z._default(z.string(), "https://api.flow.microsoft.com"),
    RELAY_RECONCILE_SCHEDULE: z._default(ncrontab, "0 */5 * * * *"),
    RELAY_STUCK_AFTER_MINUTES: intSetting(0, 10_080, 15),
    RELAY_CLAIM_TIMEOUT_MINUTES: intSetting(0, 10_080, 15),
    RELAY_REQUEST_TTL_DAYS: intSetting(0, 365, 30),
    RELAY_ADMIN_AUTH: z.optional(z.enum(["key", "entra"], { error: "must be key or entra" })),
    RELAY_ADMIN_TENANT_ID: z.optional(guid("the relay's Entra tenant id")),
    RELAY_ADMIN_AUDIENCE: optionalText,
    RELAY_ADMIN_AUTHORITY: z._default(
      z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
      "https://login.microsoftonline.com",
    ),
    RELAY_CONSOLE_CLIENT_ID: z.optional(guid("the console's app registration client id")),
    // Set by App Service in Azure: there the admin routes default to Entra sign-in.
    WEBSITE_SITE_NAME: optionalText,
  })
  .check(
    z.superRefine((env, ctx) => {
      // App Service passes a Key Vault reference it could not resolve on as its literal text,
      // which would otherwise pass as a (guessable) signing key or password.
      for (const [name, value] of Object.entries(env))
        if (typeof value === "string" && value.startsWith("@Microsoft.KeyVault("))
          ctx.addIssue({
            code: "custom",
            path: [name],
            message:
              "is a Key Vault reference that did not resolve: check the secret exists and the app's identity may read it",
          });
      if (
        !env.TABLES_CONNECTION &&
        !env.TABLES_CONNECTION__endpoint &&
        !env.AzureWebJobsStorage &&
        !env.AzureWebJobsStorage__accountName
      )
        ctx.addIssue({
          code: "custom",
          path: ["AzureWebJobsStorage"],
          message:
            "is required (or TABLES_CONNECTION, TABLES_CONNECTION__endpoint, AzureWebJobsStorage__accountName)",
        });
      if (!env.ServiceBusConnection && !env.ServiceBusConnection__fullyQualifiedNamespace)
        ctx.addIssue({
          code: "custom",
          path: ["ServiceBusConnection"],
          message: "is required (or ServiceBusConnection__fullyQualifiedNamespace)",
        });
      if (env.DATA_SERVICE_AUTH === "dm-token")
        for (const name of [
          "DM_SERVICE_USERNAME",
          "DM_SERVICE_PASSWORD",
          "DM_CLIENT_ID",
          "DM_CLIENT_SECRET",
        ] as const)
          if (!env[name])
            ctx.addIssue({
              code: "custom",
              path: [name],
              message: "is required when DATA_SERVICE_AUTH is dm-token",
            });
      for (const name of [
        "POWER_PLATFORM_DATAVERSE_URL_TEMPLATE",
        "POWER_PLATFORM_DATAVERSE_AUDIENCE_TEMPLATE",
        "POWER_AUTOMATE_API_URL",
      ] as const) {
        const value = env[name];
        if (value === undefined) continue;
        const isTemplate = name !== "POWER_AUTOMATE_API_URL";
        if (isTemplate && !(value.includes("{org}") && value.includes("{region}"))) {
          ctx.addIssue({
            code: "custom",
            path: [name],
            message: "must contain {org} and {region}",
          });
          continue;
        }
        const check = checkServiceUrl(
          value.replace("{org}", "contoso").replace("{region}", "crm"),
          env.RELAY_ALLOW_LOOPBACK,
        );
        if (!check.ok) ctx.addIssue({ code: "custom", path: [name], message: check.message });
      }
      if (adminAuthMode(env) === "entra") {
        for (const name of ["RELAY_ADMIN_TENANT_ID", "RELAY_ADMIN_AUDIENCE"] as const)
          if (!env[name])
            ctx.addIssue({
              code: "custom",
              path: [name],
              message: "is required when RELAY_ADMIN_AUTH is entra (the default in Azure)",
            });
        // The tenant's signing keys are read below it: https, or loopback only for tests.
        const authority = checkServiceUrl(env.RELAY_ADMIN_AUTHORITY, env.RELAY_ALLOW_LOOPBACK);
        if (!authority.ok)
          ctx.addIssue({
            code: "custom",
            path: ["RELAY_ADMIN_AUTHORITY"],
            message: authority.message,
          });
      }
      if (env.POWER_PLATFORM_CLIENT_SECRET && env.POWER_PLATFORM_CLIENT_CERTIFICATE_PATH)
        ctx.addIssue({
          code: "custom",
          path: ["POWER_PLATFORM_CLIENT_CERTIFICATE_PATH"],
          message: "must not be set together with POWER_PLATFORM_CLIENT_SECRET",
        });
      if (env.RELAY_RETRY_MAX_MS < env.RELAY_RETRY_BASE_MS)
        ctx.addIssue({
          code: "custom",
          path: ["RELAY_RETRY_MAX_MS"],
          message: "must not be below RELAY_RETRY_BASE_MS",
        });
    }),
  );

type Environment = z.output<typeof environmentSchema>;

export type TablesConnection =
  { kind: "connectionString"; connectionString: string } | { kind: "endpoint"; endpoint: string };

export type ServiceBusConnectionConfig =
  | { kind: "connectionString"; connectionString: string }
  | { kind: "namespace"; fullyQualifiedNamespace: string };

export type DataServiceAuthConfig =
  | {
      mode: "dm-token";
      username: string;
      password: string;
      clientId: string;
      clientSecret: string;
    }
  | { mode: "entra"; scopeOverride?: string }
  | { mode: "none" };

/**
 * As whom the relay calls Dataverse and Power Automate to create flows: the store's registered app
 * (its clientId in its tenant) with a secret or certificate, else the relay's own identity.
 */
export type PowerPlatformCredentialConfig =
  | { kind: "client-secret"; secret: string }
  | { kind: "client-certificate"; certificatePath: string }
  | { kind: "relay-identity" };

export interface PowerPlatformConfig {
  /** `{org}` and `{region}` are replaced by the registration's organizationCode and region. */
  dataverseUrlTemplate: string;
  /** The token audience of a Dataverse environment, same placeholders. */
  dataverseAudienceTemplate: string;
  flowApiUrl: string;
  credential: PowerPlatformCredentialConfig;
}

/** How the admin routes authenticate their callers (CONTRACT "HTTP API"). */
export type AdminAuthConfig =
  | { mode: "key" }
  | {
      mode: "entra";
      tenantId: string;
      /** Accepted `aud` values: the API's Application ID URI and/or client id. */
      audiences: string[];
      /** Entra's authority host; the tenant's OpenID metadata is read below it. */
      authority: string;
      consoleClientId?: string;
    };

export interface ReconcileConfig {
  /** NCRONTAB schedule of the reconcile timer. */
  schedule: string;
  stuckAfterMs: number;
  claimTimeoutMs: number;
  requestTtlMs: number;
}

export interface RelayConfig {
  tables: TablesConnection;
  tablePrefix?: string;
  serviceBus: ServiceBusConnectionConfig;
  publicBaseUrl: string;
  signingKey: string;
  previousSigningKeys: string[];
  allowedFlowHosts: string[];
  allowLoopback: boolean;
  dataServiceAuth: DataServiceAuthConfig;
  flowMaxAttempts: number;
  applyMaxAttempts: number;
  flowAudience: string;
  retry: { baseMs: number; maxMs: number };
  httpTimeoutMs: number;
  managedIdentityClientId?: string;
  powerPlatform: PowerPlatformConfig;
  reconcile: ReconcileConfig;
  adminAuth: AdminAuthConfig;
}

/** Validates the app settings once; throws a ConfigError whose message names the bad setting. */
export function loadConfig(env: NodeJS.ProcessEnv): RelayConfig {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? "settings");
    const message =
      issue?.code === "invalid_type" && env[name] === undefined ? "is required" : issue?.message;
    throw new ConfigError(`Setting ${name} ${message}`);
  }
  return toRelayConfig(parsed.data);
}

function toRelayConfig(env: Environment): RelayConfig {
  return {
    tables: tablesConnection(env),
    tablePrefix: env.RELAY_TABLE_PREFIX,
    serviceBus: env.ServiceBusConnection
      ? { kind: "connectionString", connectionString: env.ServiceBusConnection }
      : {
          kind: "namespace",
          fullyQualifiedNamespace: env.ServiceBusConnection__fullyQualifiedNamespace as string,
        },
    publicBaseUrl: env.RELAY_PUBLIC_BASE_URL.replace(/\/+$/, ""),
    signingKey: env.RELAY_SIGNING_KEY,
    previousSigningKeys: env.RELAY_SIGNING_KEY_PREVIOUS ? [env.RELAY_SIGNING_KEY_PREVIOUS] : [],
    allowedFlowHosts: env.RELAY_ALLOWED_FLOW_HOSTS,
    allowLoopback: env.RELAY_ALLOW_LOOPBACK,
    dataServiceAuth: dataServiceAuth(env),
    flowMaxAttempts: env.RELAY_FLOW_MAX_ATTEMPTS,
    applyMaxAttempts: env.RELAY_APPLY_MAX_ATTEMPTS,
    flowAudience: env.RELAY_FLOW_AUDIENCE,
    retry: { baseMs: env.RELAY_RETRY_BASE_MS, maxMs: env.RELAY_RETRY_MAX_MS },
    httpTimeoutMs: env.RELAY_HTTP_TIMEOUT_MS,
    managedIdentityClientId: env.AZURE_CLIENT_ID,
    powerPlatform: powerPlatform(env),
    reconcile: {
      schedule: env.RELAY_RECONCILE_SCHEDULE.trim(),
      stuckAfterMs: env.RELAY_STUCK_AFTER_MINUTES * MINUTE_MS,
      claimTimeoutMs: env.RELAY_CLAIM_TIMEOUT_MINUTES * MINUTE_MS,
      requestTtlMs: env.RELAY_REQUEST_TTL_DAYS * 24 * 60 * MINUTE_MS,
    },
    adminAuth: adminAuth(env),
  };
}

const MINUTE_MS = 60_000;

function adminAuthMode(env: Pick<Environment, "RELAY_ADMIN_AUTH" | "WEBSITE_SITE_NAME">) {
  return env.RELAY_ADMIN_AUTH ?? (env.WEBSITE_SITE_NAME ? "entra" : "key");
}

function adminAuth(env: Environment): AdminAuthConfig {
  if (adminAuthMode(env) === "key") return { mode: "key" };
  return {
    mode: "entra",
    tenantId: (env.RELAY_ADMIN_TENANT_ID as string).toLowerCase(),
    audiences: (env.RELAY_ADMIN_AUDIENCE as string)
      .split(",")
      .map((audience) => audience.trim())
      .filter(Boolean),
    authority: env.RELAY_ADMIN_AUTHORITY.replace(/\/+$/, ""),
    consoleClientId: env.RELAY_CONSOLE_CLIENT_ID,
  };
}

/** TABLES_CONNECTION wins over AzureWebJobsStorage, so the relay's tables can live elsewhere. */
function tablesConnection(env: Environment): TablesConnection {
  if (env.TABLES_CONNECTION)
    return { kind: "connectionString", connectionString: env.TABLES_CONNECTION };
  if (env.TABLES_CONNECTION__endpoint)
    return { kind: "endpoint", endpoint: env.TABLES_CONNECTION__endpoint };
  if (!env.AzureWebJobsStorage && env.AzureWebJobsStorage__accountName)
    return {
      kind: "endpoint",
      endpoint: `https://${env.AzureWebJobsStorage__accountName}.table.core.windows.net`,
    };
  return { kind: "connectionString", connectionString: env.AzureWebJobsStorage as string };
}

function dataServiceAuth(env: Environment): DataServiceAuthConfig {
  switch (env.DATA_SERVICE_AUTH) {
    case "dm-token":
      return {
        mode: "dm-token",
        username: env.DM_SERVICE_USERNAME as string,
        password: env.DM_SERVICE_PASSWORD as string,
        clientId: env.DM_CLIENT_ID as string,
        clientSecret: env.DM_CLIENT_SECRET as string,
      };
    case "entra":
      return { mode: "entra", scopeOverride: env.DATA_SERVICE_SCOPE };
    case "none":
      return { mode: "none" };
  }
}

function powerPlatform(env: Environment): PowerPlatformConfig {
  const credential: PowerPlatformCredentialConfig = env.POWER_PLATFORM_CLIENT_SECRET
    ? { kind: "client-secret", secret: env.POWER_PLATFORM_CLIENT_SECRET }
    : env.POWER_PLATFORM_CLIENT_CERTIFICATE_PATH
      ? { kind: "client-certificate", certificatePath: env.POWER_PLATFORM_CLIENT_CERTIFICATE_PATH }
      : { kind: "relay-identity" };
  return {
    dataverseUrlTemplate: env.POWER_PLATFORM_DATAVERSE_URL_TEMPLATE.replace(/\/+$/, ""),
    // The audience follows the URL unless told otherwise (tests call a local server).
    dataverseAudienceTemplate: (
      env.POWER_PLATFORM_DATAVERSE_AUDIENCE_TEMPLATE ?? env.POWER_PLATFORM_DATAVERSE_URL_TEMPLATE
    ).replace(/\/+$/, ""),
    flowApiUrl: env.POWER_AUTOMATE_API_URL.replace(/\/+$/, ""),
    credential,
  };
}
