import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { ServiceBusClient, type ServiceBusReceivedMessage } from "@azure/service-bus";
import { emulatorConnectionString } from "../../dev/servicebus-emulator";
import { ServiceBusMessageQueue } from "../../shared/adapters/service-bus-queue";
import {
  APPROVAL_DECISIONS_QUEUE,
  WORKFLOW_EVENTS_QUEUE,
  type OutgoingMessage,
  type QueueName,
} from "../../shared/ports";

const REPO_ROOT = path.join(__dirname, "..", "..");
const START_EMULATOR = `
  require("./dev/servicebus-emulator")
    .startServiceBusEmulator({ port: 0, configPath: "dev/servicebus-emulator/config.json" })
    .then((emulator) => console.log(JSON.stringify({ connectionString: emulator.connectionString })));
`;

/**
 * The emulator runs in a child process, so stopping it is a broker really going away: the process
 * and its sockets die with it, as when the namespace becomes unreachable.
 */
async function startEmulatorProcess(): Promise<{ connectionString: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", "-e", START_EMULATOR], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const firstLine = new Promise<string>((resolve, reject) => {
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("\n")) resolve(output.split("\n")[0]);
    });
    child.once("exit", (code) => reject(new Error(`the emulator exited early (${code})`)));
  });
  const { connectionString } = JSON.parse(await firstLine) as { connectionString: string };
  return { connectionString, child };
}

async function stopEmulatorProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

let emulator: ChildProcess;
let queue: ServiceBusMessageQueue;
/** A separate client, as the Functions host would be, to see what arrives. */
let observer: ServiceBusClient;

beforeAll(async () => {
  const started = await startEmulatorProcess();
  emulator = started.child;
  queue = new ServiceBusMessageQueue({ connectionString: started.connectionString });
  observer = new ServiceBusClient(started.connectionString);
}, 30_000);

afterAll(async () => {
  await queue?.close();
  await observer?.close();
  if (emulator) await stopEmulatorProcess(emulator);
});

function message(requestId: string, attempt = 1): OutgoingMessage {
  return {
    messageId: `${requestId}:flow:r0:a${attempt}`,
    body: { storeId: "store-1", workflowId: "wf-1", requestId, attempt, redrives: 0 },
  };
}

/** Receives, and completes, what arrives on `queueName` within `waitMs`. */
async function receiveAll(queueName: QueueName, waitMs: number) {
  const receiver = observer.createReceiver(queueName);
  try {
    const received: ServiceBusReceivedMessage[] = [];
    const until = Date.now() + waitMs;
    while (Date.now() < until) {
      const batch = await receiver.receiveMessages(10, { maxWaitTimeInMs: until - Date.now() });
      for (const each of batch) await receiver.completeMessage(each);
      received.push(...batch);
    }
    return received;
  } finally {
    await receiver.close();
  }
}

describe("ServiceBusMessageQueue", () => {
  it("sends the step message as JSON with its id and observability properties", async () => {
    await queue.send(WORKFLOW_EVENTS_QUEUE, message("req-1", 2));

    const [received, ...more] = await receiveAll(WORKFLOW_EVENTS_QUEUE, 1500);
    expect(more).toEqual([]);
    expect(received.messageId).toBe("req-1:flow:r0:a2");
    expect(received.contentType).toBe("application/json");
    expect(received.body).toEqual(message("req-1", 2).body);
    expect(received.applicationProperties).toEqual({
      storeId: "store-1",
      workflowId: "wf-1",
      requestId: "req-1",
      attempt: 2,
    });
  });

  it("sends to each queue by its name", async () => {
    await queue.send(APPROVAL_DECISIONS_QUEUE, message("req-2"));
    const received = await receiveAll(APPROVAL_DECISIONS_QUEUE, 1500);
    expect(received.map((m) => m.messageId)).toEqual(["req-2:flow:r0:a1"]);
    expect(await receiveAll(WORKFLOW_EVENTS_QUEUE, 500)).toEqual([]);
  });

  it("a second send of the same message id is dropped by duplicate detection", async () => {
    await queue.send(WORKFLOW_EVENTS_QUEUE, message("req-3"));
    await queue.send(WORKFLOW_EVENTS_QUEUE, message("req-3"));
    await queue.send(WORKFLOW_EVENTS_QUEUE, message("req-3", 2));
    const received = await receiveAll(WORKFLOW_EVENTS_QUEUE, 2000);
    expect(received.map((m) => m.messageId).sort()).toEqual([
      "req-3:flow:r0:a1",
      "req-3:flow:r0:a2",
    ]);
  });

  it("holds a message back until notBefore", async () => {
    const notBefore = new Date(Date.now() + 2500);
    await queue.send(WORKFLOW_EVENTS_QUEUE, { ...message("req-4"), notBefore });

    expect(await receiveAll(WORKFLOW_EVENTS_QUEUE, 1000)).toEqual([]);
    const received = await receiveAll(WORKFLOW_EVENTS_QUEUE, 4000);
    expect(received.map((m) => m.messageId)).toEqual(["req-4:flow:r0:a1"]);
    expect(received[0].enqueuedTimeUtc!.getTime()).toBeGreaterThanOrEqual(notBefore.getTime() - 50);
  });

  it("the health probe gives up within its bound when the broker accepts but never answers", async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as net.AddressInfo;
    const stuck = new ServiceBusMessageQueue({ connectionString: emulatorConnectionString(port) });
    try {
      const started = Date.now();
      await expect(stuck.health.check()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(7000);
    } finally {
      await stuck.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 20_000);

  it("the health probe passes while the broker answers and fails, within its bound, after", async () => {
    expect(queue.health.name).toBe("service-bus");
    await expect(queue.health.check()).resolves.toBeUndefined();

    await stopEmulatorProcess(emulator);
    const started = Date.now();
    await expect(queue.health.check()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(7000);
  }, 20_000);
});
