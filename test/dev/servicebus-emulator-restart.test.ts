import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ServiceBusClient, type ServiceBusReceivedMessage } from "@azure/service-bus";
import { emulatorConnectionString, startServiceBusEmulator } from "../../dev/servicebus-emulator";
import { receiveCount } from "../support/service-bus";

// The emulator as its own process on a data folder, killed and started again.

const REPO_ROOT = path.join(__dirname, "..", "..");
const QUEUE = "durable";
const CONFIG = {
  UserConfig: {
    Namespaces: [
      {
        Name: "sbemulatorns",
        Queues: [
          {
            Name: QUEUE,
            Properties: {
              // Longer than the test: a message only comes back early if the restart freed it.
              LockDuration: "PT5M",
              MaxDeliveryCount: 10,
              RequiresDuplicateDetection: true,
              DuplicateDetectionHistoryTimeWindow: "PT1H",
            },
          },
        ],
        Topics: [],
      },
    ],
  },
};

interface EmulatorProcess {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
  connectionString: string;
}

const running = new Set<EmulatorProcess>();
const clients: ServiceBusClient[] = [];
let workDir: string;
let configPath: string;

beforeEach(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "servicebus-emulator-restart-"));
  configPath = path.join(workDir, "config.json");
  fs.writeFileSync(configPath, JSON.stringify(CONFIG));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const emulator of running) emulator.child.kill("SIGKILL");
  await Promise.all([...running].map((emulator) => emulator.exited));
  fs.rmSync(workDir, { recursive: true, force: true });
});

function runEmulator(args: string[]) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "dev/servicebus-emulator/main.ts", "--port", "0", ...args],
    { cwd: REPO_ROOT, env: { ...process.env, SERVICEBUS_EMULATOR_CONFIG: configPath } },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

/** Starts `main.ts` on the data folder and waits for the line with its port. */
async function startEmulator(extraArgs: string[] = []): Promise<EmulatorProcess> {
  const run = runEmulator(["--data-dir", path.join(workDir, "data"), ...extraArgs]);
  const deadline = Date.now() + 30_000;
  let port: string | undefined;
  while (!port) {
    port = /listening on amqp:\/\/127\.0\.0\.1:(\d+) /.exec(run.output().stdout)?.[1];
    if (run.child.exitCode !== null || Date.now() > deadline) {
      run.child.kill("SIGKILL");
      throw new Error(`the emulator did not start: ${JSON.stringify(run.output())}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const emulator = {
    child: run.child,
    exited: run.exited,
    connectionString: emulatorConnectionString(Number(port)),
  };
  running.add(emulator);
  void run.exited.then(() => running.delete(emulator));
  return emulator;
}

async function stop(emulator: EmulatorProcess, signal: "SIGKILL" | "SIGTERM"): Promise<void> {
  emulator.child.kill(signal);
  await emulator.exited;
}

function connect(emulator: { connectionString: string }): ServiceBusClient {
  // No retries: a request that reached a killed emulator fails instead of waiting for it.
  const client = new ServiceBusClient(emulator.connectionString, {
    retryOptions: { maxRetries: 0, timeoutInMs: 10_000 },
  });
  clients.push(client);
  return client;
}

const sequenceNumberOf = (message: ServiceBusReceivedMessage) => message.sequenceNumber!.toNumber();

test("after SIGKILL every message is back: ready, locked, scheduled, dead-lettered, deferred, duplicate ids", async () => {
  const first = await startEmulator();
  const before = connect(first);
  const sender = before.createSender(QUEUE);
  const receiver = before.createReceiver(QUEUE);
  await sender.sendMessages([
    { messageId: "locked", body: "held when killed" },
    { messageId: "dead", body: { bad: true } },
    { messageId: "deferred", body: "for later" },
    { messageId: "completed", body: "done before the kill" },
  ]);
  const [locked, dead, deferred, completed] = await receiveCount(receiver, 4);
  expect([locked, dead, deferred, completed].map((m) => m.messageId)).toEqual([
    "locked",
    "dead",
    "deferred",
    "completed",
  ]);
  await receiver.deadLetterMessage(dead, {
    deadLetterReason: "ValidationFailed",
    deadLetterErrorDescription: "field x missing",
  });
  await receiver.deferMessage(deferred);
  await receiver.completeMessage(completed);
  await sender.sendMessages({
    messageId: "ready",
    body: { step: 1 },
    subject: "s",
    applicationProperties: { tenant: "t1", attempt: 3 },
  });
  await sender.sendMessages({ messageId: "ready", body: "a duplicate, dropped" });
  await sender.sendMessages({ messageId: "ready-2", body: "second" });
  const soon = new Date(Date.now() + 3_000);
  const later = new Date(Date.now() + 3_600_000);
  const [soonSequenceNumber] = await sender.scheduleMessages({ body: "on time" }, soon);
  const [laterSequenceNumber] = await sender.scheduleMessages({ body: "cancelled" }, later);

  await stop(first, "SIGKILL");
  const second = await startEmulator();
  const after = connect(second);
  const afterReceiver = after.createReceiver(QUEUE);

  const [peekedLater] = await afterReceiver.peekMessages(1, {
    fromSequenceNumber: laterSequenceNumber,
  });
  expect(peekedLater).toMatchObject({ body: "cancelled", state: "scheduled" });
  expect(peekedLater.scheduledEnqueueTimeUtc!.getTime()).toBe(later.getTime());
  await after.createSender(QUEUE).cancelScheduledMessages(laterSequenceNumber);

  // The lock died with the process: the message is available at once, its delivery counted.
  const ready = await receiveCount(afterReceiver, 3);
  expect(ready.map((m) => [m.messageId, m.body, m.deliveryCount])).toEqual([
    ["locked", "held when killed", 1],
    ["ready", { step: 1 }, 0],
    ["ready-2", "second", 0],
  ]);
  expect(sequenceNumberOf(ready[0])).toBe(sequenceNumberOf(locked));
  expect(ready[1]).toMatchObject({
    subject: "s",
    applicationProperties: { tenant: "t1", attempt: 3 },
  });
  for (const message of ready) await afterReceiver.completeMessage(message);

  const deadLetters = after.createReceiver(QUEUE, { subQueueType: "deadLetter" });
  const [deadAfter] = await receiveCount(deadLetters, 1);
  expect(deadAfter).toMatchObject({
    messageId: "dead",
    body: { bad: true },
    deadLetterReason: "ValidationFailed",
    deadLetterErrorDescription: "field x missing",
  });
  await deadLetters.completeMessage(deadAfter);

  const [deferredAfter] = await afterReceiver.receiveDeferredMessages(deferred.sequenceNumber!);
  expect(deferredAfter).toMatchObject({ messageId: "deferred", body: "for later" });
  await afterReceiver.completeMessage(deferredAfter);

  const [onTime] = await receiveCount(afterReceiver, 1, soon.getTime() - Date.now() + 10_000);
  expect(Date.now()).toBeGreaterThanOrEqual(soon.getTime());
  expect(onTime.body).toBe("on time");
  expect(sequenceNumberOf(onTime)).toBe(soonSequenceNumber.toNumber());
  expect(onTime.enqueuedTimeUtc!.getTime()).toBe(soon.getTime());
  await afterReceiver.completeMessage(onTime);

  // Duplicate detection remembers "ready"; sequence numbers go on from before the kill.
  const afterSender = after.createSender(QUEUE);
  await afterSender.sendMessages({ messageId: "ready", body: "a duplicate after the restart" });
  await afterSender.sendMessages({ messageId: "new", body: "new" });
  const [fresh, ...rest] = await receiveCount(afterReceiver, 2, 1_000);
  expect([fresh.messageId, rest]).toEqual(["new", []]);
  expect(sequenceNumberOf(fresh)).toBeGreaterThan(laterSequenceNumber.toNumber());
  await afterReceiver.completeMessage(fresh);
  expect(
    await afterReceiver.peekMessages(10, { fromSequenceNumber: locked.sequenceNumber }),
  ).toEqual([]);
});

test("a graceful stop keeps the messages too, and --reset starts empty", async () => {
  const first = await startEmulator();
  const sender = connect(first).createSender(QUEUE);
  await sender.sendMessages([
    { messageId: "kept-1", body: 1 },
    { messageId: "kept-2", body: 2 },
  ]);
  const [scheduled] = await sender.scheduleMessages(
    { body: "scheduled" },
    new Date(Date.now() + 3_600_000),
  );

  await stop(first, "SIGTERM");
  const second = await startEmulator();
  const receiver = connect(second).createReceiver(QUEUE);
  const peeked = await receiver.peekMessages(10);
  expect(peeked.map((m) => [m.body, m.state])).toEqual([
    [1, "active"],
    [2, "active"],
    ["scheduled", "scheduled"],
  ]);
  expect(sequenceNumberOf(peeked[2])).toBe(scheduled.toNumber());

  await stop(second, "SIGTERM");
  const reset = await startEmulator(["--reset"]);
  const client = connect(reset);
  expect(await client.createReceiver(QUEUE).peekMessages(10)).toEqual([]);
  expect(
    await client.createReceiver(QUEUE, { subQueueType: "deadLetter" }).peekMessages(10),
  ).toEqual([]);
  // Nothing is remembered either: "kept-1" is not a duplicate any more.
  await client.createSender(QUEUE).sendMessages({ messageId: "kept-1", body: "again" });
  const [again] = await receiveCount(client.createReceiver(QUEUE), 1);
  expect(again.body).toBe("again");
});

test("a data folder in use by another emulator stops the second with one line", async () => {
  await startEmulator();
  const second = runEmulator(["--data-dir", path.join(workDir, "data")]);
  expect(await second.exited).toBe(1);
  expect(second.output().stderr).toBe(
    `The Service Bus emulator's data folder ${path.join(workDir, "data")} is in use by another process\n`,
  );
});

test("in process, close() frees the data folder for the next start, which has the messages", async () => {
  const dataDir = path.join(workDir, "in-process");
  const first = await startServiceBusEmulator({ port: 0, config: CONFIG, dataDir });
  const firstClient = new ServiceBusClient(first.connectionString);
  await firstClient.createSender(QUEUE).sendMessages({ messageId: "kept", body: "kept" });
  await firstClient.close();
  await first.close();

  const second = await startServiceBusEmulator({ port: 0, config: CONFIG, dataDir });
  try {
    const receiver = connect({ connectionString: second.connectionString }).createReceiver(QUEUE);
    const [kept] = await receiveCount(receiver, 1);
    expect(kept.body).toBe("kept");
    await receiver.completeMessage(kept);
  } finally {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await second.close();
  }
});
