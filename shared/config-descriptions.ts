/**
 * What each setting means, for the settings reference (`docs/settings.md`, `npm run docs`). Kept
 * apart from `config.ts` so the check every cold start runs does not load this text; the type
 * makes the compiler (and test/docs) insist on one entry per setting of the schema.
 */
import type { environmentSchema } from "./config";

export type AppSettingName = keyof (typeof environmentSchema)["shape"];

export const SETTING_GROUPS = [
  "Storage and messaging",
  "The relay",
  "Directory Manager's Data service",
  "Retries and timeouts",
  "Creating flows (Power Platform)",
  "Reconciliation",
  "Admin sign-in",
  "Azure",
] as const;

export interface SettingDescription {
  group: (typeof SETTING_GROUPS)[number];
  meaning: string;
  /** Markdown, when the default is not a fixed value of the schema (it depends on other settings). */
  defaultText?: string;
  /** A secret: a Key Vault reference in Azure. */
  secret?: true;
}

export const SETTING_DESCRIPTIONS: Record<AppSettingName, SettingDescription> = {
  AzureWebJobsStorage: {
    group: "Storage and messaging",
    meaning:
      "Storage connection string of the Functions host; the relay's tables live there unless `TABLES_CONNECTION` says otherwise. One of it, `TABLES_CONNECTION`, `TABLES_CONNECTION__endpoint` or `AzureWebJobsStorage__accountName` is required.",
    secret: true,
  },
  AzureWebJobsStorage__accountName: {
    group: "Storage and messaging",
    meaning:
      "With managed identity: the storage account's name; the tables are at `https://<name>.table.core.windows.net`.",
  },
  TABLES_CONNECTION: {
    group: "Storage and messaging",
    meaning:
      "Table Storage connection string for the relay's tables, if not `AzureWebJobsStorage`.",
    secret: true,
  },
  TABLES_CONNECTION__endpoint: {
    group: "Storage and messaging",
    meaning:
      "With managed identity: the Table service endpoint, e.g. `https://<account>.table.core.windows.net`.",
  },
  ServiceBusConnection: {
    group: "Storage and messaging",
    meaning:
      "Service Bus connection string (queues `workflow-events` and `approval-decisions`). This or `ServiceBusConnection__fullyQualifiedNamespace` is required.",
    secret: true,
  },
  ServiceBusConnection__fullyQualifiedNamespace: {
    group: "Storage and messaging",
    meaning: "With managed identity: the namespace, e.g. relay.servicebus.windows.net.",
  },
  RELAY_TABLE_PREFIX: {
    group: "Storage and messaging",
    meaning: "Prefix of the table names `RelayStores`, `RelayLinks` and `RelayRequests`.",
  },
  RELAY_PUBLIC_BASE_URL: {
    group: "The relay",
    meaning:
      "The relay's public base URL (without `/api`), used in trigger, callback and claim URLs; e.g. `https://<app>.azurewebsites.net`.",
  },
  RELAY_SIGNING_KEY: {
    group: "The relay",
    meaning:
      "Secret of at least 32 characters for callback tokens, trigger keys and the encryption of stored flow URLs.",
    secret: true,
  },
  RELAY_SIGNING_KEY_PREVIOUS: {
    group: "The relay",
    meaning:
      "The signing key before a rotation: callback tokens and stored secrets made with it still work.",
    secret: true,
  },
  RELAY_ALLOWED_FLOW_HOSTS: {
    group: "The relay",
    meaning:
      "Comma-separated hosts flow URLs may live on: host names (single labels such as `localhost` too), IP addresses (`127.0.0.1`, `::1`) or `*.<domain>` for any name below a domain. Applies to loopback flows too.",
  },
  RELAY_ALLOW_LOOPBACK: {
    group: "The relay",
    meaning:
      "Local work and tests only: allows plain http and loopback addresses for the Data service and for flows (a flow's loopback host must still be in `RELAY_ALLOWED_FLOW_HOSTS`).",
  },
  DATA_SERVICE_AUTH: {
    group: "Directory Manager's Data service",
    meaning:
      "How the relay signs in to DM's Data service: `dm-token` (DM's Security Service), `entra` (a token for an Entra application proxy) or `none` (local work and tests).",
  },
  DM_SERVICE_USERNAME: {
    group: "Directory Manager's Data service",
    meaning: "DM service account for `dm-token` (required then).",
  },
  DM_SERVICE_PASSWORD: {
    group: "Directory Manager's Data service",
    meaning: "Its password, for `dm-token` (required then).",
    secret: true,
  },
  DM_CLIENT_ID: {
    group: "Directory Manager's Data service",
    meaning: "DM Security Service client id, for `dm-token` (required then).",
  },
  DM_CLIENT_SECRET: {
    group: "Directory Manager's Data service",
    meaning: "DM Security Service client secret, for `dm-token` (required then).",
    secret: true,
  },
  DATA_SERVICE_SCOPE: {
    group: "Directory Manager's Data service",
    meaning: "Token scope for `entra`, if not `<clientId>/.default` of the store's registration.",
    defaultText: "`<clientId>/.default`",
  },
  RELAY_FLOW_MAX_ATTEMPTS: {
    group: "Retries and timeouts",
    meaning: "Tries of each call to a flow (429, 5xx and timeouts are retried).",
  },
  RELAY_APPLY_MAX_ATTEMPTS: {
    group: "Retries and timeouts",
    meaning: "Tries of each write-back to the Data service.",
  },
  RELAY_RETRY_BASE_MS: {
    group: "Retries and timeouts",
    meaning: "First backoff of a retry, in milliseconds (exponential, with jitter).",
  },
  RELAY_RETRY_MAX_MS: {
    group: "Retries and timeouts",
    meaning: "Longest backoff, in milliseconds; not below `RELAY_RETRY_BASE_MS`.",
  },
  RELAY_HTTP_TIMEOUT_MS: {
    group: "Retries and timeouts",
    meaning: "Timeout of each outbound call, in milliseconds.",
  },
  RELAY_FLOW_AUDIENCE: {
    group: "Creating flows (Power Platform)",
    meaning:
      "Token audience for `flowAuth: entra` and for Power Automate's API (the scope is `<audience>/.default`); other clouds set their own.",
  },
  AZURE_CLIENT_ID: {
    group: "Azure",
    meaning: "Client id of the relay's user-assigned managed identity.",
  },
  POWER_PLATFORM_CLIENT_SECRET: {
    group: "Creating flows (Power Platform)",
    meaning:
      "Secret of the store's registered app, to create flows as it; not together with `POWER_PLATFORM_CLIENT_CERTIFICATE_PATH`. With neither, the relay's own identity.",
    secret: true,
  },
  POWER_PLATFORM_CLIENT_CERTIFICATE_PATH: {
    group: "Creating flows (Power Platform)",
    meaning: "PEM certificate (with its key) of the store's registered app, instead of a secret.",
  },
  POWER_PLATFORM_DATAVERSE_URL_TEMPLATE: {
    group: "Creating flows (Power Platform)",
    meaning:
      "Where an environment's Dataverse is, from the registration's organizationCode (`{org}`) and region (`{region}`).",
  },
  POWER_PLATFORM_DATAVERSE_AUDIENCE_TEMPLATE: {
    group: "Creating flows (Power Platform)",
    meaning: "Token audience of Dataverse, same placeholders.",
    defaultText: "`POWER_PLATFORM_DATAVERSE_URL_TEMPLATE`",
  },
  POWER_AUTOMATE_API_URL: {
    group: "Creating flows (Power Platform)",
    meaning: "Power Automate's API, for trigger URLs of created flows and cancelling runs.",
  },
  RELAY_RECONCILE_SCHEDULE: {
    group: "Reconciliation",
    meaning: "NCRONTAB schedule (six fields, seconds first) of the `reconcile` timer.",
  },
  RELAY_STUCK_AFTER_MINUTES: {
    group: "Reconciliation",
    meaning:
      "A queued or decided request unchanged this long, with no retry pending, is queued again (0: at once).",
  },
  RELAY_CLAIM_TIMEOUT_MINUTES: {
    group: "Reconciliation",
    meaning:
      "A flow-triggered request of a claiming flow with no claim after this long is sent to the flow again (0: at once).",
  },
  RELAY_REQUEST_TTL_DAYS: {
    group: "Reconciliation",
    meaning:
      "A request open longer than this expires and its flow run is cancelled (0: at once; a flow run ends after 30 days).",
  },
  RELAY_ADMIN_AUTH: {
    group: "Admin sign-in",
    meaning:
      "How admin routes authenticate: `key` (function keys; locally `RELAY_LOCAL_KEY`) or `entra` (bearer tokens with app role `Relay.Admin`, or `Relay.Reader` for GET routes).",
    defaultText: "`entra` in Azure (`WEBSITE_SITE_NAME` set), `key` elsewhere",
  },
  RELAY_ADMIN_TENANT_ID: {
    group: "Admin sign-in",
    meaning: "The relay's Entra tenant, for `entra` (required then).",
  },
  RELAY_ADMIN_AUDIENCE: {
    group: "Admin sign-in",
    meaning:
      "Comma-separated accepted token audiences, the API's Application ID URI and/or client id, for `entra` (required then).",
  },
  RELAY_ADMIN_AUTHORITY: {
    group: "Admin sign-in",
    meaning: "Entra's authority host; the tenant's OpenID metadata is read below it.",
  },
  RELAY_CONSOLE_CLIENT_ID: {
    group: "Admin sign-in",
    meaning: "Client id of the admin console's app registration (single-page app).",
  },
  WEBSITE_SITE_NAME: {
    group: "Azure",
    meaning: "Set by App Service, never by hand: in Azure the admin routes default to `entra`.",
  },
};

/** Settings read outside the app: by the local platform (`npm start`, the local host) and the CLI. */
export const LOCAL_SETTING_DESCRIPTIONS: {
  name: string;
  readBy: string;
  defaultText?: string;
  meaning: string;
}[] = [
  {
    name: "RELAY_LOCAL_KEY",
    readBy: "local host",
    meaning:
      "The key function- and admin-level routes require locally (`x-functions-key` or `?code=`); unset, they answer 401.",
  },
  {
    name: "RELAY_PORT",
    readBy: "local host",
    defaultText: "`7071`",
    meaning: "The local host's HTTP port (`--port` wins).",
  },
  {
    name: "AZURITE_TABLE_PORT",
    readBy: "npm start",
    defaultText: "`10002`",
    meaning: "Port of the local Azurite tables.",
  },
  {
    name: "SERVICEBUS_EMULATOR_PORT",
    readBy: "npm start",
    defaultText: "`5672`",
    meaning: "Port of the local Service Bus emulator.",
  },
  {
    name: "SERVICEBUS_EMULATOR_CONFIG",
    readBy: "npm start",
    defaultText: "`dev/servicebus-emulator/config.json`",
    meaning: "The emulator's queues, in the format of Microsoft's Service Bus emulator.",
  },
  {
    name: "RELAY_URL",
    readBy: "CLI",
    defaultText: "`http://localhost:7071`",
    meaning: "The relay the dm-flow-relay CLI calls (`--url` wins).",
  },
  {
    name: "RELAY_ADMIN_KEY",
    readBy: "CLI",
    meaning: "The admin key the CLI sends (`--key` wins); locally `RELAY_LOCAL_KEY`.",
  },
];
