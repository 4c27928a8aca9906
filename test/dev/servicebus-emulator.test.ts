import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {
  ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
} from "@azure/service-bus";
import { freePort } from "../../dev/free-port";
import {
  ConfigError,
  parseIsoDuration,
  startServiceBusEmulator,
  type ServiceBusEmulator,
} from "../../dev/servicebus-emulator";
import { receiveCount } from "../support/service-bus";

const FIXTURE_CONFIG = path.join(__dirname, "fixtures", "servicebus-emulator.config.json");
const REPO_ROOT = path.join(__dirname, "..", "..");

let emulator: ServiceBusEmulator;
let client: ServiceBusClient;
let dataDir: string;
const extraClients: ServiceBusClient[] = [];

// On disk, as `npm start` runs it: every answer waits for the write (restarts: the -restart test).
beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "servicebus-emulator-"));
  emulator = await startServiceBusEmulator({
    port: await freePort(),
    configPath: FIXTURE_CONFIG,
    dataDir,
  });
  client = new ServiceBusClient(emulator.connectionString);
});

afterAll(async () => {
  await Promise.all([client, ...extraClients].map((c) => c.close()));
  await emulator.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function newClient(): ServiceBusClient {
  const created = new ServiceBusClient(emulator.connectionString, {
    retryOptions: { maxRetries: 0, timeoutInMs: 10_000 },
  });
  extraClients.push(created);
  return created;
}

async function expectEmpty(receiver: ServiceBusReceiver): Promise<void> {
  expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toEqual([]);
}

describe("Service Bus emulator through @azure/service-bus", () => {
  test("listens on 127.0.0.1 with the configured queues", () => {
    expect(emulator.queues).toContain("basic");
    expect(emulator.connectionString).toBe(
      `Endpoint=sb://localhost:${emulator.port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`,
    );
  });

  test("delivers a message sent after a subscriber is waiting, from another connection", async () => {
    const receiver = client.createReceiver("basic");
    const received = new Promise<unknown>((resolve, reject) => {
      receiver.subscribe(
        {
          processMessage: async (message) => resolve(message.body),
          processError: async ({ error }) => reject(error),
        },
        { maxConcurrentCalls: 4 },
      );
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await newClient()
      .createSender("basic")
      .sendMessages({ body: { late: true }, messageId: "late-1" });
    expect(await received).toEqual({ late: true });
    await receiver.close();
  });

  test("sends single, array and batch; receives in order with broker properties; complete removes", async () => {
    const sender = client.createSender("basic");
    const receiver = client.createReceiver("basic");
    const before = Date.now();
    await sender.sendMessages({
      body: { kind: "single" },
      messageId: "single-1",
      subject: "s",
      correlationId: "c-1",
      contentType: "application/json",
      applicationProperties: { tenant: "t1", attempt: 3, flag: true },
    });
    await sender.sendMessages([{ body: "array-1" }, { body: "array-2" }]);
    const batch = await sender.createMessageBatch();
    expect(batch.tryAddMessage({ body: "batch-1" })).toBe(true);
    expect(batch.tryAddMessage({ body: "batch-2" })).toBe(true);
    await sender.sendMessages(batch);

    const messages = await receiveCount(receiver, 5);
    expect(messages.map((m) => m.body)).toEqual([
      { kind: "single" },
      "array-1",
      "array-2",
      "batch-1",
      "batch-2",
    ]);
    const [first] = messages;
    expect(first).toMatchObject({
      messageId: "single-1",
      subject: "s",
      correlationId: "c-1",
      contentType: "application/json",
      applicationProperties: { tenant: "t1", attempt: 3, flag: true },
      deliveryCount: 0,
    });
    const sequenceNumbers = messages.map((m) => m.sequenceNumber!.toNumber());
    expect([...sequenceNumbers].sort((a, b) => a - b)).toEqual(sequenceNumbers);
    expect(new Set(sequenceNumbers).size).toBe(5);
    for (const message of messages) {
      expect(message.messageId).toBeDefined();
      expect(message.lockToken).toMatch(/^[0-9a-f-]{36}$/);
      expect(message.enqueuedTimeUtc!.getTime()).toBeGreaterThanOrEqual(before - 5);
      expect(message.lockedUntilUtc!.getTime()).toBeGreaterThan(Date.now());
    }
    for (const message of messages) await receiver.completeMessage(message);
    await expectEmpty(receiver);
    expect(await receiver.peekMessages(10)).toEqual([]);
  });

  test("abandon redelivers with deliveryCount + 1 and merged properties", async () => {
    const sender = client.createSender("basic");
    const receiver = client.createReceiver("basic");
    await sender.sendMessages({ body: "retry-me", applicationProperties: { keep: "yes" } });
    const [first] = await receiveCount(receiver, 1);
    await receiver.abandonMessage(first, { note: "tried once" });
    const [second] = await receiveCount(receiver, 1);
    expect(second.messageId).toBe(first.messageId);
    expect(second.deliveryCount).toBe(1);
    expect(second.applicationProperties).toEqual({ keep: "yes", note: "tried once" });
    await receiver.completeMessage(second);
    await expect(receiver.completeMessage(second)).rejects.toThrow();
  });

  test("dead-letter with reason and description lands in $DeadLetterQueue", async () => {
    await client.createSender("basic").sendMessages({ body: "poison", messageId: "poison-1" });
    const receiver = client.createReceiver("basic");
    const [message] = await receiveCount(receiver, 1);
    await receiver.deadLetterMessage(message, {
      deadLetterReason: "ValidationFailed",
      deadLetterErrorDescription: "field x missing",
    });
    await expectEmpty(receiver);

    const deadLetters = client.createReceiver("basic", { subQueueType: "deadLetter" });
    const [dead] = await receiveCount(deadLetters, 1);
    expect(dead).toMatchObject({
      body: "poison",
      messageId: "poison-1",
      deadLetterReason: "ValidationFailed",
      deadLetterErrorDescription: "field x missing",
    });
    expect(dead.sequenceNumber!.toNumber()).toBe(message.sequenceNumber!.toNumber());
    await deadLetters.completeMessage(dead);
    await expectEmpty(deadLetters);
  });

  test("defer hides a message until receiveDeferredMessages; settling goes through $management", async () => {
    await client.createSender("basic").sendMessages({ body: "later" });
    const receiver = client.createReceiver("basic");
    const [message] = await receiveCount(receiver, 1);
    await receiver.deferMessage(message);
    await expectEmpty(receiver);
    const [peeked] = await receiver.peekMessages(1, { fromSequenceNumber: message.sequenceNumber });
    expect(peeked.state).toBe("deferred");

    const [deferred] = await receiver.receiveDeferredMessages(message.sequenceNumber!);
    expect(deferred.body).toBe("later");
    expect(deferred.lockToken).toBeDefined();
    await receiver.completeMessage(deferred);
    expect(await receiver.peekMessages(1, { fromSequenceNumber: message.sequenceNumber })).toEqual(
      [],
    );
    await expect(receiver.receiveDeferredMessages(message.sequenceNumber!)).rejects.toMatchObject({
      code: "MessageNotFound",
    });
  });

  test("deferred messages can be abandoned and dead-lettered (via $management)", async () => {
    await client.createSender("basic").sendMessages({ body: "deferred twice" });
    const receiver = client.createReceiver("basic");
    const [message] = await receiveCount(receiver, 1);
    await receiver.deferMessage(message);
    const [firstTry] = await receiver.receiveDeferredMessages(message.sequenceNumber!);
    await receiver.abandonMessage(firstTry, { retried: true });
    await expectEmpty(receiver); // abandoning keeps it deferred
    const [secondTry] = await receiver.receiveDeferredMessages(message.sequenceNumber!);
    expect(secondTry.deliveryCount).toBe(2);
    expect(secondTry.applicationProperties).toEqual({ retried: true });
    await receiver.deadLetterMessage(secondTry, {
      deadLetterReason: "GaveUp",
      deadLetterErrorDescription: "deferred too often",
    });
    const deadLetters = client.createReceiver("basic", { subQueueType: "deadLetter" });
    const [dead] = await receiveCount(deadLetters, 1);
    expect(dead).toMatchObject({
      body: "deferred twice",
      deadLetterReason: "GaveUp",
      deadLetterErrorDescription: "deferred too often",
    });
    await deadLetters.completeMessage(dead);
  });

  test("receiveAndDelete removes messages on delivery", async () => {
    await client.createSender("receive-and-delete").sendMessages([{ body: 1 }, { body: 2 }]);
    const receiver = client.createReceiver("receive-and-delete", {
      receiveMode: "receiveAndDelete",
    });
    const messages = await receiveCount(receiver, 2);
    expect(messages.map((m) => m.body)).toEqual([1, 2]);
    expect(messages[0].lockToken).toBeUndefined();
    expect(await receiver.peekMessages(10)).toEqual([]);
  });

  test("peekMessages browses without locking, from a sequence number", async () => {
    const sender = client.createSender("peek");
    await sender.sendMessages([{ body: "p1" }, { body: "p2" }, { body: "p3" }]);
    const receiver = client.createReceiver("peek");
    const all = await receiver.peekMessages(10);
    const bodies = all.map((m) => m.body);
    expect(bodies).toEqual(["p1", "p2", "p3"]);
    const third = await receiver.peekMessages(10, { fromSequenceNumber: all[2].sequenceNumber });
    expect(third.map((m) => m.body)).toEqual(["p3"]);
    expect(all[0].lockToken).toBeUndefined();
    const received = await receiveCount(receiver, 3);
    for (const message of received) await receiver.completeMessage(message);
  });

  test("an expired lock redelivers with deliveryCount + 1; the stale lock is lost", async () => {
    await client.createSender("short-lock").sendMessages({ body: "slow" });
    // The SDK renews locks of received messages by default; this receiver lets them lapse.
    const receiver = client.createReceiver("short-lock", { maxAutoLockRenewalDurationInMs: 0 });
    const [first] = await receiveCount(receiver, 1);
    expect(first.lockedUntilUtc!.getTime() - Date.now()).toBeLessThanOrEqual(1000);
    await expectEmpty(receiver); // locked: not handed out again meanwhile
    await sleep(1100);
    const [second] = await receiveCount(receiver, 1);
    expect(second.messageId).toBe(first.messageId);
    expect(second.deliveryCount).toBe(1);
    await expect(receiver.completeMessage(first)).rejects.toMatchObject({
      code: "MessageLockLost",
    });
    await receiver.completeMessage(second);
  });

  test("MaxDeliveryCount exceeded moves the message to the DLQ", async () => {
    await client.createSender("short-lock").sendMessages({ body: "doomed", messageId: "doomed" });
    const receiver = client.createReceiver("short-lock");
    for (let attempt = 0; attempt < 2; attempt++) {
      const [message] = await receiveCount(receiver, 1);
      expect(message.deliveryCount).toBe(attempt);
      await receiver.abandonMessage(message);
    }
    await expectEmpty(receiver);
    const deadLetters = client.createReceiver("short-lock", { subQueueType: "deadLetter" });
    const [dead] = await receiveCount(deadLetters, 1);
    expect(dead.messageId).toBe("doomed");
    expect(dead.deadLetterReason).toBe("MaxDeliveryCountExceeded");
    expect(dead.deadLetterErrorDescription).toContain("2 delivery attempts");
    await deadLetters.completeMessage(dead);
  });

  test("renewMessageLock extends lockedUntilUtc past the lock duration", async () => {
    await client.createSender("renewal").sendMessages({ body: "long job" });
    const receiver = client.createReceiver("renewal", { maxAutoLockRenewalDurationInMs: 0 });
    const [message] = await receiveCount(receiver, 1);
    const firstLockedUntil = message.lockedUntilUtc!.getTime();
    await sleep(1200);
    const renewedUntil = await receiver.renewMessageLock(message);
    expect(renewedUntil.getTime()).toBeGreaterThan(firstLockedUntil + 1000);
    await sleep(1200); // past the original lock
    await expectEmpty(receiver);
    await receiver.completeMessage(message);
  });

  test("subscribe auto-renews the lock while the handler runs past LockDuration", async () => {
    await client.createSender("renewal").sendMessages({ body: "slow handler" });
    const receiver = client.createReceiver("renewal");
    const deliveries: ServiceBusReceivedMessage[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const subscription = receiver.subscribe(
        {
          processMessage: async (message) => {
            deliveries.push(message);
            await sleep(4500); // more than twice the 2 s lock
            await subscription.close();
            resolve();
          },
          processError: async (args) => reject(args.error),
        },
        { autoCompleteMessages: false, maxConcurrentCalls: 1 },
      );
    });
    await done;
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0].lockedUntilUtc!.getTime()).toBeGreaterThan(Date.now());
    await receiver.completeMessage(deliveries[0]);
    await expectEmpty(receiver);
  });

  test("duplicate messageIds are dropped within the window and accepted after it", async () => {
    const sender = client.createSender("dedup");
    const receiver = client.createReceiver("dedup", { receiveMode: "receiveAndDelete" });
    await sender.sendMessages({ body: "first", messageId: "order-42" });
    await sender.sendMessages({ body: "duplicate", messageId: "order-42" });
    await sender.sendMessages({ body: "other", messageId: "order-43" });
    expect((await receiveCount(receiver, 3, 800)).map((m) => m.body)).toEqual(["first", "other"]);
    await sleep(2100);
    await sender.sendMessages({ body: "after window", messageId: "order-42" });
    expect((await receiveCount(receiver, 1)).map((m) => m.body)).toEqual(["after window"]);
  });

  test("scheduled messages appear at their time; cancel removes them", async () => {
    const sender = client.createSender("scheduled");
    const receiver = client.createReceiver("scheduled", { receiveMode: "receiveAndDelete" });
    const at = new Date(Date.now() + 1500);
    await sender.sendMessages({ body: "via property", scheduledEnqueueTimeUtc: at });
    const [kept, cancelled] = await sender.scheduleMessages(
      [{ body: "via scheduleMessages" }, { body: "cancelled" }],
      at,
    );
    expect(cancelled.toNumber()).toBeGreaterThan(kept.toNumber());
    await sender.cancelScheduledMessages([cancelled]);

    const peeked = await receiver.peekMessages(10);
    expect(peeked.map((m) => [m.body, m.state])).toEqual([
      ["via property", "scheduled"],
      ["via scheduleMessages", "scheduled"],
    ]);
    await expectEmpty(receiver);
    await sleep(at.getTime() - Date.now() + 100);
    const delivered = await receiveCount(receiver, 3, 800);
    expect(delivered.map((m) => m.body).sort()).toEqual(["via property", "via scheduleMessages"]);
    expect(delivered[0].enqueuedTimeUtc!.getTime()).toBeGreaterThanOrEqual(at.getTime());
  });

  test("expired messages are dropped, or dead-lettered with TTLExpiredException", async () => {
    await client.createSender("ttl-drop").sendMessages({ body: "queue default TTL" });
    await client
      .createSender("ttl-dead-letter")
      .sendMessages({ body: "message TTL", timeToLive: 500 });
    await sleep(1100);
    await expectEmpty(client.createReceiver("ttl-drop"));
    expect(
      await client.createReceiver("ttl-drop", { subQueueType: "deadLetter" }).peekMessages(1),
    ).toEqual([]);
    await expectEmpty(client.createReceiver("ttl-dead-letter"));
    const deadLetters = client.createReceiver("ttl-dead-letter", { subQueueType: "deadLetter" });
    const [dead] = await receiveCount(deadLetters, 1);
    expect(dead.body).toBe("message TTL");
    expect(dead.deadLetterReason).toBe("TTLExpiredException");
    await deadLetters.completeMessage(dead);
  });

  test("unknown queues are refused with MessagingEntityNotFound", async () => {
    const strict = newClient();
    await expect(
      strict.createSender("no-such-queue").sendMessages({ body: 1 }),
    ).rejects.toMatchObject({ code: "MessagingEntityNotFound" });
    await expect(
      strict.createReceiver("no-such-queue").receiveMessages(1, { maxWaitTimeInMs: 500 }),
    ).rejects.toMatchObject({ code: "MessagingEntityNotFound" });
  });

  test("sessions and topic subscriptions are refused with a clear error", async () => {
    const strict = newClient();
    await expect(strict.acceptSession("basic", "session-1")).rejects.toThrow(/not supported/i);
    await expect(
      strict.createReceiver("some-topic", "some-subscription").receiveMessages(1, {
        maxWaitTimeInMs: 500,
      }),
    ).rejects.toThrow(/not supported/i);
  });

  test("two competing subscribers each handle every message exactly once", async () => {
    const total = 200;
    const sender = client.createSender("competing");
    const bodies = Array.from({ length: total }, (_, index) => ({ body: index }));
    for (let start = 0; start < total; start += 50) {
      await sender.sendMessages(bodies.slice(start, start + 50));
    }
    const handledBy = new Map<number, string[]>();
    let handled = 0;
    let finish: () => void = () => undefined;
    const allHandled = new Promise<void>((resolve) => (finish = resolve));
    const subscriptions = ["A", "B"].map((name) => {
      const receiver = newClient().createReceiver("competing");
      return receiver.subscribe(
        {
          processMessage: async (message) => {
            handledBy.set(message.body, [...(handledBy.get(message.body) ?? []), name]);
            await sleep(Math.random() * 5);
            if (++handled === total) finish();
          },
          processError: async () => undefined,
        },
        { maxConcurrentCalls: 5 },
      );
    });
    await allHandled;
    await sleep(300); // any stray redelivery would show up here
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    expect(handledBy.size).toBe(total);
    expect([...handledBy.values()].every((names) => names.length === 1)).toBe(true);
    const perReceiver = ["A", "B"].map(
      (name) => [...handledBy.values()].filter(([handler]) => handler === name).length,
    );
    expect(Math.min(...perReceiver)).toBeGreaterThan(0);
    expect(await client.createReceiver("competing").peekMessages(1)).toEqual([]);
  });
});

describe("configuration", () => {
  test.each([
    ["PT1M", 60_000],
    ["PT20S", 20_000],
    ["PT1.5S", 1500],
    ["P14D", 14 * 86_400_000],
    ["P1DT2H3M4S", 86_400_000 + 7_384_000],
    ["P1W", 7 * 86_400_000],
  ])("parseIsoDuration(%s) = %d ms", (text, ms) => {
    expect(parseIsoDuration(text)).toBe(ms);
  });

  test.each(["", "P", "PT", "1M", "PT1X", "-PT1S", "P1DT", "PT1M junk"])(
    "parseIsoDuration rejects %j",
    (text) => {
      expect(() => parseIsoDuration(text)).toThrow(/ISO-8601 duration/);
    },
  );

  const configWith = (
    properties: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ) => ({
    UserConfig: {
      Namespaces: [
        { Name: "ns", Queues: [{ Name: "q", Properties: properties }], Topics: [], ...extra },
      ],
    },
  });

  test.each([
    [configWith({ LockDuration: "1 minute" }), /Queues\[0\]\.Properties\.LockDuration: .*ISO-8601/],
    [configWith({ LockDuration: "PT10M" }), /LockDuration: .*maximum PT5M/],
    [configWith({ MaxDeliveryCount: 0 }), /Properties\.MaxDeliveryCount/],
    [configWith({ LockDurration: "PT1M" }), /Properties: Unrecognized key: "LockDurration"/],
    [configWith({ RequiresSession: true }), /RequiresSession: sessions are not supported/],
    [configWith({ ForwardTo: "elsewhere" }), /ForwardTo: .*not supported/],
    [
      configWith({}, { Topics: [{ Name: "t" }] }),
      /Topics: topics and subscriptions are not supported/,
    ],
    [{ UserConfig: { Namespaces: [] } }, /UserConfig\.Namespaces: exactly one namespace/],
    [{}, /UserConfig: /],
  ])(
    "a bad config is refused with a one-line error naming the field (%#)",
    async (config, message) => {
      const attempt = startServiceBusEmulator({ port: 0, config });
      await expect(attempt).rejects.toBeInstanceOf(ConfigError);
      await expect(attempt).rejects.toThrow(message);
      await expect(attempt).rejects.toThrow(/^[^\n]+$/);
    },
  );

  test("the default config declares the relay's queues", async () => {
    const defaults = await startServiceBusEmulator({ port: 0, configPath: undefined });
    try {
      expect(defaults.queues).toEqual(["workflow-events", "approval-decisions"]);
    } finally {
      await defaults.close();
    }
  });
});

describe("CLI", () => {
  const tsxCli = require.resolve("tsx/cli");

  function runCli(env: Record<string, string>) {
    const child = spawn(process.execPath, [tsxCli, "dev/servicebus-emulator/main.ts"], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    return { child, exited, output: () => ({ stdout, stderr }) };
  }

  test("prints one line, serves, and stops on SIGTERM", async () => {
    const port = await freePort();
    const cli = runCli({ SERVICEBUS_EMULATOR_PORT: String(port), SERVICEBUS_EMULATOR_CONFIG: "" });
    while (!cli.output().stdout.includes("\n")) await sleep(50);
    expect(cli.output().stdout).toBe(
      `Service Bus emulator listening on amqp://127.0.0.1:${port} (queues: workflow-events, approval-decisions)\n`,
    );
    cli.child.kill("SIGTERM");
    expect(await cli.exited).toBe(0);
  });

  test("a bad config or a busy port exits 1 with one line on stderr", async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const busyPort = (busy.address() as net.AddressInfo).port;
    const badConfig = runCli({ SERVICEBUS_EMULATOR_CONFIG: path.join(__dirname, "missing.json") });
    const portInUse = runCli({
      SERVICEBUS_EMULATOR_PORT: String(busyPort),
      SERVICEBUS_EMULATOR_CONFIG: FIXTURE_CONFIG,
    });
    try {
      expect(await badConfig.exited).toBe(1);
      expect(badConfig.output().stderr).toMatch(
        /^Cannot read Service Bus emulator config .*missing\.json: .*\n$/,
      );
      expect(await portInUse.exited).toBe(1);
      expect(portInUse.output().stderr).toBe(`Port ${busyPort} on 127.0.0.1 is already in use\n`);
    } finally {
      busy.close();
    }
  });
});
