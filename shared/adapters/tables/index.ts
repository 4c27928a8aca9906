import { TableClient, type TableServiceClientOptions } from "@azure/data-tables";
import type { TokenCredential } from "@azure/identity";
import type { HealthProbe, LinkRepository, RequestRepository, StoreRepository } from "../../ports";
import type { SecretBox } from "../../security/secret-box";
import { TableLinkRepository } from "./link-repository";
import { TableRequestRepository } from "./request-repository";
import { TableStoreRepository } from "./store-repository";

export { InvalidTableKeyError } from "./table-keys";
export { InvalidRequestIdError } from "./request-repository";

/** A connection string (keys, SAS or Azurite), or the https table endpoint and a managed identity. */
export type TableStorageConnection =
  { connectionString: string } | { endpoint: string; credential: TokenCredential };

export interface TableRepositories {
  stores: StoreRepository;
  links: LinkRepository;
  requests: RequestRepository;
  /** Round-trips a one-row query to each table, bounded to a few seconds. */
  health: HealthProbe;
  /** Creates the tables that are missing; safe to call on every start. */
  ensureTables(): Promise<void>;
}

const HEALTH_TIMEOUT_MS = 5000;
const TABLE_PREFIX = /^([A-Za-z][A-Za-z0-9]{0,40})?$/;

/** Policies added to every Table client's pipeline, e.g. to count requests. */
export type TablePipelinePolicies = TableServiceClientOptions["additionalPolicies"];

/**
 * @param tablePrefix prepended to the table names `RelayStores`, `RelayLinks`, `RelayRequests`
 *   (letters and digits), e.g. to give each test or environment its own tables in one account.
 */
export function createTableRepositories(
  connection: TableStorageConnection,
  secrets: SecretBox,
  tablePrefix = "",
  policies?: TablePipelinePolicies,
): TableRepositories {
  if (!TABLE_PREFIX.test(tablePrefix)) {
    throw new Error("the table prefix must start with a letter and hold only letters and digits");
  }
  const client = (name: string) =>
    createTableClient(connection, `${tablePrefix}${name}`, { additionalPolicies: policies });
  const stores = client("RelayStores");
  const links = client("RelayLinks");
  const requests = client("RelayRequests");
  const tables = [stores, links, requests];
  return {
    stores: new TableStoreRepository(stores),
    links: new TableLinkRepository(links, secrets),
    requests: new TableRequestRepository(requests),
    health: {
      name: "tables",
      async check() {
        const abortSignal = AbortSignal.timeout(HEALTH_TIMEOUT_MS);
        await Promise.all(
          tables.map((table) =>
            table
              .listEntities({ abortSignal, queryOptions: { select: ["PartitionKey"] } })
              .byPage({ maxPageSize: 1 })
              .next(),
          ),
        );
      },
    },
    async ensureTables() {
      // createTable already treats 409 TableAlreadyExists as success.
      await Promise.all(tables.map((table) => table.createTable()));
    },
  };
}

function createTableClient(
  connection: TableStorageConnection,
  tableName: string,
  options: TableServiceClientOptions,
): TableClient {
  if ("connectionString" in connection) {
    // The SDK parses the connection string; the URL it yields tells whether this is a local emulator.
    const client = TableClient.fromConnectionString(
      connection.connectionString,
      tableName,
      options,
    );
    return isLoopbackHttp(client.url)
      ? TableClient.fromConnectionString(connection.connectionString, tableName, {
          ...options,
          allowInsecureConnection: true,
        })
      : client;
  }
  // The SDK sends tokens over https only; failing here names the cause at start-up.
  if (new URL(connection.endpoint).protocol !== "https:") {
    throw new Error("a Table endpoint used with a token credential must be https://");
  }
  return new TableClient(connection.endpoint, tableName, connection.credential, options);
}

/** Plain http is allowed to a local emulator only. */
function isLoopbackHttp(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(hostname);
}
