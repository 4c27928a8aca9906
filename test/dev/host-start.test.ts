import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { TableServiceClient } from "@azure/data-tables";
import { ServiceBusClient } from "@azure/service-bus";
import { azuriteConnectionString } from "../../dev/azurite";
import { freePort } from "../../dev/free-port";

const REPO_ROOT = path.resolve(__dirname, "..", "..");

interface StartRun {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
  output(): string;
  /** Waits for `count` lines saying where something listens. */
  waitForListening(count: number): Promise<void>;
}

/** Runs dev/start.ts as npm does, minus npm, so a signal sent to it reaches start.ts itself. */
function runStart(args: string[], env: Record<string, string>): StartRun {
  const child = spawn(process.execPath, ["--import", "tsx", "dev/start.ts", ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    child,
    exited,
    output: () => output,
    async waitForListening(count) {
      const deadline = Date.now() + 40_000;
      while (output.split("\n").filter((l) => / listening on /.test(l)).length < count) {
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`start.ts did not get ready; output: ${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

async function emulatorPorts(): Promise<Record<string, string>> {
  return {
    AZURITE_TABLE_PORT: String(await freePort()),
    SERVICEBUS_EMULATOR_PORT: String(await freePort()),
  };
}

describe("dev/start.ts", () => {
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
        `Endpoint=sb://localhost:${ports.SERVICEBUS_EMULATOR_PORT};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`,
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
      if (run.child.exitCode === null) run.child.kill("SIGINT");
    }
    expect(await run.exited).toBe(0);
  });

  it("without flags runs emulators and host together; /api/health is healthy; SIGTERM stops all", async () => {
    const env = { ...(await emulatorPorts()), RELAY_PORT: String(await freePort()) };
    // The host creates local.settings.json from the sample when missing, as on a first `npm start`.
    const localSettings = path.join(REPO_ROOT, "local.settings.json");
    const hadLocalSettings = fs.existsSync(localSettings);
    const run = runStart([], env);
    try {
      await run.waitForListening(3);
      expect(run.output()).toContain(
        `Functions host listening on http://127.0.0.1:${env.RELAY_PORT} (`,
      );
      const response = await fetch(`http://127.0.0.1:${env.RELAY_PORT}/api/health`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: "healthy" });
    } finally {
      if (run.child.exitCode === null) run.child.kill("SIGTERM");
    }
    expect(await run.exited).toBe(0);
    if (!hadLocalSettings) fs.rmSync(localSettings, { force: true });
  });
});
