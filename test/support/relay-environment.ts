/**
 * The whole relay on one machine for integration tests: real Azurite, the Service Bus emulator,
 * the local Functions host (child process) loading functions/index.ts, and real HTTP servers
 * playing the flow and DM's Data and Security services.
 */
import fs from "node:fs";
import path from "node:path";
import { startAzuriteTables, type AzuriteTables } from "../../dev/azurite";
import { startServiceBusEmulator } from "../../dev/servicebus-emulator";
import {
  startDmSimulator,
  type DmSimulator,
  type DmSimulatorOptions,
} from "../../dev/simulators/dm-simulator";
import {
  startFlowSimulator,
  type FlowSimulator,
  type FlowSimulatorOptions,
} from "../../dev/simulators/flow-simulator";
import {
  makeAppRoot,
  startHostProcess,
  type RunningHostProcess,
} from "../fixtures/host-app-harness/host-process";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const ADMIN_KEY = "integration-admin-key";
export const SIGNING_KEY = "integration-signing-key-0123456789-abcdefghij";
export const DM_CREDENTIALS = {
  username: "svc-relay@contoso.com",
  password: "dm-password-S3cret!",
  clientId: "dm-client",
  clientSecret: "dm-client-secret-Zz9",
};
export const TENANT_ID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
export const CLIENT_ID = "7d9c0a51-2b1e-4c3a-9f00-1a2b3c4d5e6f";

/** Queues as in dev/servicebus-emulator/config.json but with a short lock, so a killed host's messages come back fast. */
function emulatorConfig(): unknown {
  const config = JSON.parse(
    fs.readFileSync(path.join(REPO_ROOT, "dev/servicebus-emulator/config.json"), "utf8"),
  );
  for (const queue of config.UserConfig.Namespaces[0].Queues)
    queue.Properties.LockDuration = "PT4S";
  return config;
}

export interface RelayEnvironmentOptions {
  flow?: FlowSimulatorOptions;
  dm?: DmSimulatorOptions;
  settings?: Record<string, string>;
  /** The entry the host loads; default functions/index.ts (a built package's index.js works too). */
  entry?: string;
}

export interface RelayEnvironment {
  baseUrl: string;
  /** Azurite's connection string, for tests that read the stored rows themselves. */
  tablesConnectionString: string;
  flow: FlowSimulator;
  dm: DmSimulator;
  /** Everything the host printed, across restarts. */
  logs(): string;
  admin(
    method: string,
    route: string,
    body?: unknown,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  call(
    method: string,
    url: string,
    init?: { body?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  registerStore(storeId: string, identityStoreId?: number): Promise<void>;
  /** Links a workflow to the flow simulator; returns the trigger URL. */
  link(storeId: string, workflowId: string, extra?: Record<string, unknown>): Promise<string>;
  waitForState(storeId: string, requestId: string, state: string, timeoutMs?: number): Promise<any>;
  killHost(): Promise<void>;
  startHost(): Promise<void>;
  /** Stops the Service Bus emulator and starts an empty one on the same port: every message is lost. */
  restartEmulatorEmpty(): Promise<void>;
  /** Runs a non-HTTP function now, as `POST /admin/functions/<name>` does in Azure. */
  runFunction(name: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startRelayEnvironment(
  options: RelayEnvironmentOptions = {},
): Promise<RelayEnvironment> {
  const azurite: AzuriteTables = await startAzuriteTables();
  let emulator = await startServiceBusEmulator({ port: 0, config: emulatorConfig() });
  const flow = await startFlowSimulator(options.flow);
  const dm = await startDmSimulator({ credentials: DM_CREDENTIALS, ...options.dm });
  const appRoot = makeAppRoot({
    hostJson: JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "host.json"), "utf8")),
    sampleValues: {},
  });
  const env = {
    AzureWebJobsStorage: azurite.connectionString,
    ServiceBusConnection: emulator.connectionString,
    RELAY_PUBLIC_BASE_URL: "http://127.0.0.1:0", // replaced once the port is known
    RELAY_SIGNING_KEY: SIGNING_KEY,
    RELAY_ALLOW_LOOPBACK: "true",
    RELAY_ALLOWED_FLOW_HOSTS:
      "*.environment.api.powerplatform.com,*.logic.azure.com,127.0.0.1,localhost",
    RELAY_LOCAL_KEY: ADMIN_KEY,
    DATA_SERVICE_AUTH: "dm-token",
    DM_SERVICE_USERNAME: DM_CREDENTIALS.username,
    DM_SERVICE_PASSWORD: DM_CREDENTIALS.password,
    DM_CLIENT_ID: DM_CREDENTIALS.clientId,
    DM_CLIENT_SECRET: DM_CREDENTIALS.clientSecret,
    RELAY_RETRY_BASE_MS: "100",
    RELAY_RETRY_MAX_MS: "400",
    RELAY_HTTP_TIMEOUT_MS: "3000",
    // Tests run reconcile themselves (runFunction); the timer stays out of their way.
    RELAY_RECONCILE_SCHEDULE: "0 0 0 1 1 *",
    ...options.settings,
  };

  let output = "";
  let host: RunningHostProcess | undefined;
  let port = 0;
  const startHost = async (): Promise<void> => {
    // The callback URL must name the host's port, so the first start picks one and keeps it.
    port ||= await (await import("../../dev/free-port")).freePort();
    host = await startHostProcess({
      appRoot,
      entry: options.entry ?? path.join(REPO_ROOT, "functions", "index.ts"),
      env: { ...env, RELAY_PUBLIC_BASE_URL: `http://127.0.0.1:${port}` },
      args: ["--port", String(port)],
    });
  };
  const collect = (): void => {
    if (host) {
      const { stdout, stderr } = host.output();
      output += stdout + stderr;
    }
  };
  await startHost();
  const baseUrl = `http://127.0.0.1:${port}`;

  const call: RelayEnvironment["call"] = async (method, url, init = {}) => {
    const response = await fetch(url.startsWith("http") ? url : baseUrl + url, {
      method,
      headers: init.headers,
      body: init.body,
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body, headers: response.headers };
  };
  const admin: RelayEnvironment["admin"] = (method, route, body) =>
    call(method, `/api/${route}`, {
      headers: { "x-functions-key": ADMIN_KEY, "content-type": "application/json" },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  return {
    baseUrl,
    tablesConnectionString: azurite.connectionString,
    flow,
    dm,
    logs: () => {
      const { stdout, stderr } = host?.output() ?? { stdout: "", stderr: "" };
      return output + stdout + stderr;
    },
    admin,
    call,
    async registerStore(storeId, identityStoreId = 7) {
      const answer = await admin("PUT", `stores/${storeId}/power-automate`, {
        organizationCode: "contoso",
        region: "crm4",
        dataServiceUrl: dm.dataServiceUrl,
        securityServiceUrl: dm.securityServiceUrl,
        identityStoreId,
        tenantId: TENANT_ID,
        clientId: CLIENT_ID,
      });
      if (answer.status !== 200) throw new Error(`register failed: ${JSON.stringify(answer.body)}`);
    },
    async link(storeId, workflowId, extra = {}) {
      const answer = await admin("PUT", `stores/${storeId}/workflows/${workflowId}/flow`, {
        requestUrl: `${flow.flowUrl}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=flow-SIG-secret-123`,
        workflowName: "Group join approval",
        approvers: ["alice@contoso.com"],
        ...extra,
      });
      if (answer.status !== 200) throw new Error(`link failed: ${JSON.stringify(answer.body)}`);
      return answer.body.triggerUrl as string;
    },
    async waitForState(storeId, requestId, state, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last: any;
      while (Date.now() < deadline) {
        last = (await admin("GET", `stores/${storeId}/requests/${requestId}`)).body;
        if (last?.state === state) return last;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`request ${requestId} never reached ${state}: ${JSON.stringify(last)}`);
    },
    async killHost() {
      collect();
      await host?.stop("SIGKILL");
      host = undefined;
    },
    startHost,
    async restartEmulatorEmpty() {
      const { port: emulatorPort } = emulator;
      await emulator.close();
      emulator = await startServiceBusEmulator({ port: emulatorPort, config: emulatorConfig() });
    },
    async runFunction(name) {
      const answer = await call("POST", `/admin/functions/${name}`, {
        headers: { "x-functions-key": ADMIN_KEY, "content-type": "application/json" },
        body: JSON.stringify({ input: "" }),
      });
      return answer.status;
    },
    async stop() {
      collect();
      await host?.stop("SIGTERM");
      await Promise.all([flow.close(), dm.close(), emulator.close(), azurite.stop()]);
      fs.rmSync(appRoot, { recursive: true, force: true });
    },
  };
}
