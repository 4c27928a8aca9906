import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { TableServiceClient } from "@azure/data-tables";
import { ServiceBusClient } from "@azure/service-bus";
import net from "node:net";
import { azuriteConnectionString } from "../../dev/azurite";
import { freePort } from "../../dev/free-port";
import { SAMPLE_LOCAL_VALUES } from "../../dev/local-ports";
import { emulatorConnectionString } from "../../dev/servicebus-emulator";
import { startDmSimulator, type DmSimulator } from "../../dev/simulators/dm-simulator";
import { startFlowSimulator, type FlowSimulator } from "../../dev/simulators/flow-simulator";

const REPO_ROOT = path.resolve(__dirname, "..", "..");

interface StartRun {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
  /** stdout and stderr together, in arrival order. */
  output(): string;
  stderr(): string;
  /** Waits for `count` lines saying where something listens. */
  waitForListening(count: number): Promise<void>;
  /** Sends the signal (unless the process already ended) and resolves with the exit code. */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/** Runs dev/start.ts as npm does, minus npm, so a signal sent to it reaches start.ts itself. */
function runStart(args: string[], env: Record<string, string>): StartRun {
  const child = spawn(process.execPath, ["--import", "tsx", "dev/start.ts", ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
  });
  let output = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    child,
    exited,
    output: () => output,
    stderr: () => stderr,
    async waitForListening(count) {
      const deadline = Date.now() + 40_000;
      while (output.split("\n").filter((l) => / listening on /.test(l)).length < count) {
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`start.ts did not get ready; output: ${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Exits by itself within the time limit (a start-up failure), or is killed and fails the test. */
async function exitCodeWithin(run: StartRun, timeoutMs = 40_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      run.child.kill("SIGKILL");
      reject(new Error(`start.ts did not exit; output: ${run.output()}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([run.exited, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function emulatorPorts(): Promise<Record<string, string>> {
  return {
    AZURITE_TABLE_PORT: String(await freePort()),
    SERVICEBUS_EMULATOR_PORT: String(await freePort()),
  };
}

const LOCAL_SETTINGS = path.join(REPO_ROOT, "local.settings.json");
const LOCAL_KEY = "start-test-admin-key";
/**
 * Settings that have nothing to do with ports, set here so the tests do not depend on them; the
 * port-related ones (public base URL, connection strings) come from local.settings.json as the
 * sample writes them, which the host creates when it is missing.
 */
const RELAY_ENV = {
  RELAY_LOCAL_KEY: LOCAL_KEY,
  RELAY_ALLOWED_FLOW_HOSTS: "127.0.0.1",
  RELAY_ALLOW_LOOPBACK: "true",
  DATA_SERVICE_AUTH: "none",
};

/** Register a store on the DM simulator and link a workflow to the flow simulator. */
async function registerAndLink(
  relayUrl: string,
  storeId: string,
  dm: DmSimulator,
  flow: FlowSimulator,
): Promise<string> {
  const admin = async (route: string, body: object): Promise<any> => {
    const response = await fetch(`${relayUrl}/api/${route}`, {
      method: "PUT",
      headers: { "x-functions-key": LOCAL_KEY, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (response.status !== 200) throw new Error(`${route}: ${JSON.stringify(answer)}`);
    return answer;
  };
  await admin(`stores/${storeId}/power-automate`, {
    organizationCode: "contoso",
    region: "crm4",
    dataServiceUrl: dm.dataServiceUrl,
    securityServiceUrl: dm.securityServiceUrl,
    identityStoreId: 7,
    tenantId: "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    clientId: "7d9c0a51-2b1e-4c3a-9f00-1a2b3c4d5e6f",
  });
  const link = await admin(`stores/${storeId}/workflows/group-join/flow`, {
    requestUrl: `${flow.flowUrl}?api-version=2016-06-01&sig=flow-SIG-secret-123`,
    workflowName: "Group join approval",
    approvers: ["alice@contoso.com"],
  });
  return link.triggerUrl as string;
}

describe("dev/start.ts", () => {
  let hadLocalSettings: boolean;

  beforeAll(() => {
    hadLocalSettings = fs.existsSync(LOCAL_SETTINGS);
    if (hadLocalSettings) {
      // These tests rely on the sample's local values, which follow the port settings.
      const values = JSON.parse(fs.readFileSync(LOCAL_SETTINGS, "utf8")).Values ?? {};
      for (const [name, value] of Object.entries(SAMPLE_LOCAL_VALUES)) {
        if (values[name] !== undefined && values[name] !== value) {
          throw new Error(`local.settings.json sets ${name} to other than the sample's value`);
        }
      }
    }
  });

  // The host creates local.settings.json from the sample when missing, as on a first `npm start`.
  afterAll(() => {
    if (!hadLocalSettings) fs.rmSync(LOCAL_SETTINGS, { force: true });
  });

  it("--emulators-only prints where each emulator listens, both answer, Ctrl-C exits 0", async () => {
    const ports = await emulatorPorts();
    const run = runStart(["--emulators-only"], ports);
    try {
      await run.waitForListening(2);
      expect(run.output()).toContain(
        `Azurite tables listening on http://127.0.0.1:${ports.AZURITE_TABLE_PORT}\n`,
      );
      expect(run.output()).toContain(
        `Service Bus emulator listening on amqp://127.0.0.1:${ports.SERVICEBUS_EMULATOR_PORT} (queues: `,
      );

      const tablePort = Number(ports.AZURITE_TABLE_PORT);
      const tables = TableServiceClient.fromConnectionString(azuriteConnectionString(tablePort), {
        allowInsecureConnection: true,
      });
      const tableName = `startsmoke${Date.now()}`;
      await tables.createTable(tableName);
      await tables.deleteTable(tableName);

      const serviceBus = new ServiceBusClient(
        emulatorConnectionString(Number(ports.SERVICEBUS_EMULATOR_PORT)),
      );
      try {
        const sender = serviceBus.createSender("workflow-events");
        await sender.sendMessages({ messageId: `start-smoke-${Date.now()}`, body: { ping: true } });
        const receiver = serviceBus.createReceiver("workflow-events", {
          receiveMode: "receiveAndDelete",
        });
        const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 10_000 });
        expect(message?.body).toEqual({ ping: true });
      } finally {
        await serviceBus.close();
      }
    } finally {
      await run.stop("SIGINT");
    }
    expect(await run.exited).toBe(0);
  });

  it("without flags runs emulators and host together, the links naming RELAY_PORT; SIGTERM stops all", async () => {
    const env = { ...(await emulatorPorts()), ...RELAY_ENV, RELAY_PORT: String(await freePort()) };
    const [flow, dm] = await Promise.all([startFlowSimulator(), startDmSimulator()]);
    const run = runStart([], env);
    try {
      await run.waitForListening(3);
      const relayUrl = `http://127.0.0.1:${env.RELAY_PORT}`;
      expect(run.output()).toContain(`Functions host listening on ${relayUrl} (`);
      const response = await fetch(`${relayUrl}/api/health`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: "healthy" });

      const triggerUrl = await registerAndLink(relayUrl, `start-${Date.now()}`, dm, flow);
      expect(triggerUrl).toMatch(new RegExp(`^http://localhost:${env.RELAY_PORT}/api/stores/`));
    } finally {
      await run.stop("SIGTERM");
      await Promise.all([flow.close(), dm.close()]);
    }
    expect(await run.exited).toBe(0);
  });

  it("the two halves started apart with moved ports find each other; a request reaches applied", async () => {
    const ports = await emulatorPorts();
    const relayPort = String(await freePort());
    const relayUrl = `http://127.0.0.1:${relayPort}`;
    const flow = await startFlowSimulator({
      approver: () => ({ outcome: "Approve", email: "alice@contoso.com", delayMs: 300 }),
    });
    const dm = await startDmSimulator();
    const emulators = runStart(["--emulators-only"], ports);
    let host: StartRun | undefined;
    try {
      await emulators.waitForListening(2);
      host = runStart(["--host-only"], { ...ports, ...RELAY_ENV, RELAY_PORT: relayPort });
      await host.waitForListening(1);

      const storeId = `halves-${Date.now()}`;
      const triggerUrl = await registerAndLink(relayUrl, storeId, dm, flow);
      expect(triggerUrl).toMatch(new RegExp(`^http://localhost:${relayPort}/`));
      const requestId = String(Date.now() % 1_000_000_000);
      const accepted = await fetch(triggerUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          WorkflowRequestID: Number(requestId),
          requester: "bob@contoso.com",
        }),
      });
      expect(accepted.status).toBe(202);

      let status: any;
      const deadline = Date.now() + 30_000;
      while (status?.state !== "applied" && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const answer = await fetch(`${relayUrl}/api/stores/${storeId}/requests/${requestId}`, {
          headers: { "x-functions-key": LOCAL_KEY },
        });
        status = await answer.json();
      }
      expect(status).toMatchObject({ state: "applied", decision: { outcome: "approved" } });
      // The flow was told to call back on the moved port, and DM got the decision.
      expect(flow.calls[0]?.headers["x-relay-callback-url"]).toMatch(
        new RegExp(`^http://localhost:${relayPort}/`),
      );
      expect(dm.statuses.get(requestId)).toBe("Approved");

      // Path ids that do not decode to an id reach the function, which names the field.
      for (const storeSegment of ["a%2Fb", "a%zz", "%FF%FE"]) {
        const refused = await fetch(`${relayUrl}/api/stores/${storeSegment}/power-automate`, {
          headers: { "x-functions-key": LOCAL_KEY },
        });
        expect(refused.status).toBe(400);
        expect(refused.headers.get("content-type")).toBe("application/problem+json");
        expect(await refused.json()).toMatchObject({
          status: 400,
          errors: [expect.objectContaining({ path: "/path/storeId" })],
        });
      }
    } finally {
      await host?.stop("SIGTERM");
      await emulators.stop("SIGINT");
      await Promise.all([flow.close(), dm.close()]);
    }
    expect(await host?.exited).toBe(0);
    expect(await emulators.exited).toBe(0);
  }, 120_000);

  it("stops with one line naming RELAY_PORT when it is not a port, before starting anything", async () => {
    const run = runStart([], { ...(await emulatorPorts()), RELAY_PORT: "abc" });
    expect(await exitCodeWithin(run)).toBe(1);
    expect(run.output()).toBe("Setting RELAY_PORT must be a port number (0-65535)\n");
  });

  it.each(["AZURITE_TABLE_PORT", "SERVICEBUS_EMULATOR_PORT"] as const)(
    "stops with one line naming %s when its port is in use",
    async (setting) => {
      const holder = net.createServer();
      await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
      const busyPort = (holder.address() as net.AddressInfo).port;
      try {
        const run = runStart(["--emulators-only"], {
          ...(await emulatorPorts()),
          [setting]: String(busyPort),
        });
        expect(await exitCodeWithin(run)).toBe(1);
        expect(run.stderr()).toMatch(
          new RegExp(`^Port ${busyPort} \\(${setting}\\) is in use: [^\\n]+\\n$`),
        );
      } finally {
        holder.close();
      }
    },
  );

  it("npm run host stops with one line naming RELAY_PORT when its port is in use", async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const busyPort = (holder.address() as net.AddressInfo).port;
    try {
      const run = runStart(["--host-only"], { ...RELAY_ENV, RELAY_PORT: String(busyPort) });
      expect(await exitCodeWithin(run)).toBe(1);
      expect(run.stderr()).toMatch(
        new RegExp(`^Port ${busyPort} \\(RELAY_PORT\\) is in use: [^\\n]+\\n$`),
      );
    } finally {
      holder.close();
    }
  });
});
