/**
 * The composition root: the adapters built once from the validated config (shared/runtime.ts
 * validates it when the app loads), handed to the use cases as RelayDeps. Nothing else constructs
 * an adapter.
 */
import type { TokenCredential } from "@azure/identity";
import { createDataServiceClient, type DataServiceAuth } from "./adapters/data-service-client";
import { DmTokenProvider } from "./adapters/dm-token-provider";
import { createEntraAdminAuthenticator } from "./adapters/entra-admin-auth";
import { createFlowClient } from "./adapters/flow-client";
import {
  createPowerPlatformClient,
  powerPlatformTokenSources,
} from "./adapters/power-platform-client";
import { ServiceBusMessageQueue } from "./adapters/service-bus-queue";
import {
  CachedLinkRepository,
  CachedStoreRepository,
  RememberingRequestRepository,
} from "./adapters/caching";
import { createTableRepositories, type TablePipelinePolicies } from "./adapters/tables";
import { CredentialTokenSource, createAzureCredential } from "./adapters/token-source";
import type { RelayDeps } from "./app/deps";
import { FlowPacer } from "./app/flow-pacer";
import type { RelayConfig } from "./config";
import { functionKeyAuthenticator } from "./http/admin-access";
import type { AdminAuthenticator } from "./ports";
import { SecretBox } from "./security/secret-box";
import { CallbackTokens } from "./security/tokens";

let relay: Promise<RelayDeps> | undefined;

/** Registrations and links from memory: an admin change reaches every instance within 30 s. */
const ADMIN_RECORD_CACHE = { ttlMs: 30_000, maxEntries: 1000 };
/** The last written version of open requests, long enough for a flow's claim and quick decision. */
const REMEMBERED_REQUESTS = { ttlMs: 10 * 60_000, maxChars: 1_000_000 };

/** The relay's dependencies, built once per process (a failed build is retried next call). */
export function getRelay(config: RelayConfig): Promise<RelayDeps> {
  relay ??= buildRelay(config).catch((error: unknown) => {
    relay = undefined;
    throw error;
  });
  return relay;
}

let adminAuthenticator: AdminAuthenticator | undefined;

/**
 * Who calls the admin routes, per RELAY_ADMIN_AUTH; built once per process, so the tenant's keys
 * are read once and cached. Apart from the relay's dependencies: a caller is checked before they
 * are built, and a refused one never waits for Table Storage or Service Bus.
 */
export function getAdminAuthenticator(config: RelayConfig): AdminAuthenticator {
  const auth = config.adminAuth;
  adminAuthenticator ??=
    auth.mode === "key"
      ? functionKeyAuthenticator
      : createEntraAdminAuthenticator({
          tenantId: auth.tenantId,
          audiences: auth.audiences,
          authority: auth.authority,
          allowLoopback: config.allowLoopback,
          timeoutMs: config.httpTimeoutMs,
        });
  return adminAuthenticator;
}

/** What a test or bench may add to the relay it builds, to watch it. */
export interface Instrumentation {
  /** Added to every Table client's pipeline (a per-request policy counts transactions). */
  tablePolicies?: TablePipelinePolicies;
}

/**
 * The relay's dependencies, built afresh: `getRelay` builds them once per process; tests build
 * several to play several instances.
 */
export async function buildRelay(
  config: RelayConfig,
  instrumentation: Instrumentation = {},
): Promise<RelayDeps> {
  // Built lazily: only managed-identity settings need it, and local work has none.
  let credential: TokenCredential | undefined;
  const azureCredential = (): TokenCredential =>
    (credential ??= createAzureCredential({
      managedIdentityClientId: config.managedIdentityClientId,
    }));
  const tokenSource = new CredentialTokenSource({
    getToken: (scopes, options) => azureCredential().getToken(scopes, options),
  });

  const secrets = new SecretBox(config.signingKey, config.previousSigningKeys);
  const tables = createTableRepositories(
    config.tables.kind === "connectionString"
      ? { connectionString: config.tables.connectionString }
      : { endpoint: config.tables.endpoint, credential: azureCredential() },
    secrets,
    config.tablePrefix,
    instrumentation.tablePolicies,
  );
  await tables.ensureTables();

  const queue = new ServiceBusMessageQueue(
    config.serviceBus.kind === "connectionString"
      ? { connectionString: config.serviceBus.connectionString }
      : {
          fullyQualifiedNamespace: config.serviceBus.fullyQualifiedNamespace,
          credential: azureCredential(),
        },
  );

  return {
    stores: new CachedStoreRepository(tables.stores, ADMIN_RECORD_CACHE),
    links: new CachedLinkRepository(tables.links, ADMIN_RECORD_CACHE),
    requests: new RememberingRequestRepository(tables.requests, REMEMBERED_REQUESTS),
    queue,
    flows: createFlowClient({
      tokenSource,
      audience: config.flowAudience,
      timeoutMs: config.httpTimeoutMs,
    }),
    dataService: createDataServiceClient({
      auth: dataServiceAuth(config, tokenSource),
      timeoutMs: config.httpTimeoutMs,
    }),
    powerPlatform: createPowerPlatformClient({
      dataverseUrlTemplate: config.powerPlatform.dataverseUrlTemplate,
      dataverseAudienceTemplate: config.powerPlatform.dataverseAudienceTemplate,
      flowApiUrl: config.powerPlatform.flowApiUrl,
      flowAudience: config.flowAudience,
      tokensFor: powerPlatformTokenSources(config.powerPlatform.credential, tokenSource),
      timeoutMs: config.httpTimeoutMs,
    }),
    tokens: new CallbackTokens(config.signingKey, config.previousSigningKeys),
    pacer: new FlowPacer(),
    probes: [tables.health, queue.health],
    clock: { now: () => new Date() },
    random: Math.random,
    settings: {
      publicBaseUrl: config.publicBaseUrl,
      flowUrlPolicy: { allowedHosts: config.allowedFlowHosts, allowLoopback: config.allowLoopback },
      requireSecurityServiceUrl: config.dataServiceAuth.mode === "dm-token",
      flowRetry: { maxAttempts: config.flowMaxAttempts, ...config.retry },
      applyRetry: { maxAttempts: config.applyMaxAttempts, ...config.retry },
      reconcile: {
        stuckAfterMs: config.reconcile.stuckAfterMs,
        claimTimeoutMs: config.reconcile.claimTimeoutMs,
        requestTtlMs: config.reconcile.requestTtlMs,
        maxAttempts: { flow: config.flowMaxAttempts, apply: config.applyMaxAttempts },
      },
    },
  };
}

function dataServiceAuth(config: RelayConfig, tokenSource: CredentialTokenSource): DataServiceAuth {
  const auth = config.dataServiceAuth;
  switch (auth.mode) {
    case "dm-token":
      return {
        mode: "dm-token",
        tokens: new DmTokenProvider({
          username: auth.username,
          password: auth.password,
          clientId: auth.clientId,
          clientSecret: auth.clientSecret,
          timeoutMs: config.httpTimeoutMs,
        }),
      };
    case "entra":
      return {
        mode: "entra",
        tokenSource,
        ...(auth.scopeOverride && { scopeOverride: auth.scopeOverride }),
      };
    case "none":
      return { mode: "none" };
  }
}
