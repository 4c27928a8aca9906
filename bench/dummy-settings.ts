/**
 * Valid settings for the relay's load-time validation (shared/config.ts), shaped like the ones the
 * Azure template sets (managed identity, no connection strings). Nothing is contacted at load.
 */
export const DUMMY_RELAY_SETTINGS = {
  AzureWebJobsStorage__accountName: "benchstorage",
  TABLES_CONNECTION__endpoint: "https://benchstorage.table.core.windows.net",
  ServiceBusConnection__fullyQualifiedNamespace: "bench.servicebus.windows.net",
  RELAY_PUBLIC_BASE_URL: "https://bench-relay.azurewebsites.net",
  RELAY_SIGNING_KEY: "k".repeat(40),
  DATA_SERVICE_AUTH: "entra",
  AZURE_CLIENT_ID: "00000000-0000-0000-0000-000000000000",
};
