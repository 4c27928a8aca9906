import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ServiceBusClient } from "@azure/service-bus";
import { startServiceBusEmulator, type ServiceBusEmulator } from "../../dev/servicebus-emulator";
import {
  FIXTURES,
  makeAppRoot,
  startHostProcess,
  type RunningHostProcess,
} from "../fixtures/host-app-harness/host-process";
import { readRecords, waitFor } from "../fixtures/host-app-harness/records";

const entry = path.join(FIXTURES, "host-app-servicebus", "index.ts");
const POISON_MAX_DELIVERY_COUNT = 3;

function queue(name: string, properties: object): object {
  return { Name: name, Properties: { LockDuration: "PT2S", ...properties } };
}

interface Recorded {
  functionName: string;
  message: unknown;
  triggerMetadata: Record<string, unknown>;
}

function readRecordFile(file: string): Recorded[] {
  return readRecords<Recorded>(file);
}

describe("local Functions host: Service Bus triggers against the emulator", () => {
  let emulator: ServiceBusEmulator;
  let client: ServiceBusClient;
  let workDir: string;
  let appRoot: string;
  const hosts: RunningHostProcess[] = [];

  async function startHost(
    recordFile: string,
    env: Record<string, string> = {},
  ): Promise<RunningHostProcess> {
    const host = await startHostProcess({
      appRoot,
      entry,
      env: {
        ServiceBusConnection: emulator.connectionString,
        FIXTURE_RECORD_FILE: recordFile,
        ...env,
      },
    });
    hosts.push(host);
    return host;
  }

  beforeAll(async () => {
    emulator = await startServiceBusEmulator({
      port: 0,
      config: {
        UserConfig: {
          Namespaces: [
            {
              Name: "sbemulatorns",
              Queues: [
                queue("fixture-events", { MaxDeliveryCount: 10 }),
                queue("fixture-poison", { MaxDeliveryCount: POISON_MAX_DELIVERY_COUNT }),
              ],
              Topics: [],
            },
          ],
        },
      },
    });
    client = new ServiceBusClient(emulator.connectionString);
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "host-sb-"));
    appRoot = makeAppRoot({
      hostJson: {
        version: "2.0",
        extensions: {
          serviceBus: { maxConcurrentCalls: 2, maxAutoLockRenewalDuration: "00:00:30" },
        },
      },
    });
  });

  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop("SIGKILL")));
    await client?.close();
    await emulator?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
    fs.rmSync(appRoot, { recursive: true, force: true });
  });

  it("delivers a message with its body and trigger metadata, and completes it", async () => {
    const recordFile = path.join(workDir, "delivery.jsonl");
    const host = await startHost(recordFile);
    const sender = client.createSender("fixture-events");
    await sender.sendMessages({
      messageId: "message-one",
      body: { storeId: "s1", decision: "approve" },
      contentType: "application/json",
      correlationId: "correlation-one",
      applicationProperties: { kind: "decision", attempt: 1 },
    });
    await sender.close();

    const [record] = await waitFor("the message to be recorded", () => {
      const records = readRecordFile(recordFile);
      return records.length > 0 ? records : undefined;
    });
    expect(record?.functionName).toBe("recordMessage");
    expect(record?.message).toEqual({ storeId: "s1", decision: "approve" });
    expect(record?.triggerMetadata).toMatchObject({
      messageId: "message-one",
      deliveryCount: 1,
      correlationId: "correlation-one",
      contentType: "application/json",
      applicationProperties: { kind: "decision", attempt: 1 },
      lockToken: expect.stringMatching(/^[0-9a-f-]{36}$/i),
      sequenceNumber: expect.any(Number),
      enqueuedTimeUtc: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    await host.waitForStdout(/\[recordMessage\] info: recording message/);

    // Completed, so it is not delivered again once its 2 s lock would have expired.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(readRecordFile(recordFile)).toHaveLength(1);
    expect(await host.stop("SIGTERM")).toBe(0);
  });

  it("abandons on every throw until MaxDeliveryCount dead-letters the message", async () => {
    const recordFile = path.join(workDir, "poison.jsonl");
    const host = await startHost(recordFile);
    const sender = client.createSender("fixture-poison");
    await sender.sendMessages({ messageId: "poison-one", body: "not processable" });
    await sender.close();

    const deadLetters = client.createReceiver("fixture-poison", { subQueueType: "deadLetter" });
    const [deadLettered] = await deadLetters.receiveMessages(1, { maxWaitTimeInMs: 20_000 });
    expect(deadLettered?.messageId).toBe("poison-one");
    expect(deadLettered?.deliveryCount).toBe(POISON_MAX_DELIVERY_COUNT);
    expect(deadLettered?.deadLetterReason).toBe("MaxDeliveryCountExceeded");
    if (deadLettered) await deadLetters.completeMessage(deadLettered);
    await deadLetters.close();

    const attempts = readRecordFile(recordFile);
    expect(attempts.map((a) => a.triggerMetadata.deliveryCount)).toEqual([1, 2, 3]);
    expect(attempts[0]?.message).toBe("not processable");
    expect(await host.stop("SIGTERM")).toBe(0);
  });

  it("loses no message when the host is killed mid-work and started again", async () => {
    const recordFile = path.join(workDir, "kill.jsonl");
    const messageIds = Array.from({ length: 12 }, (_, i) => `kill-test-${i}`);
    const sender = client.createSender("fixture-events");
    await sender.sendMessages(messageIds.map((messageId, n) => ({ messageId, body: { n } })));
    await sender.close();

    const doomed = await startHost(recordFile, { FIXTURE_HANDLER_DELAY_MS: "300" });
    await waitFor("a first message to be processed", () =>
      readRecordFile(recordFile).length > 0 ? true : undefined,
    );
    expect(await doomed.stop("SIGKILL")).toBeNull();
    const beforeRestart = new Set(
      readRecordFile(recordFile).map((r) => r.triggerMetadata.messageId),
    );
    expect(beforeRestart.size).toBeLessThan(messageIds.length);

    const restarted = await startHost(recordFile);
    const processed = await waitFor("every message to be processed after the restart", () => {
      const ids = new Set(readRecordFile(recordFile).map((r) => r.triggerMetadata.messageId));
      return messageIds.every((id) => ids.has(id)) ? ids : undefined;
    });
    expect([...processed].sort()).toEqual([...messageIds].sort());
    expect(await restarted.stop("SIGTERM")).toBe(0);
  });

  it("runs a Service Bus function now through POST /admin/functions/<name>, input as the body", async () => {
    const recordFile = path.join(workDir, "admin.jsonl");
    const host = await startHost(recordFile, {
      RELAY_LOCAL_KEY: "sb-admin-key",
      FIXTURE_HANDLER_DELAY_MS: "300",
    });
    const run = (name: string, input: string): Promise<Response> =>
      fetch(`${host.baseUrl}/admin/functions/${name}`, {
        method: "POST",
        headers: { "x-functions-key": "sb-admin-key", "content-type": "application/json" },
        body: JSON.stringify({ input }),
      });

    const asJson = await run("recordMessage", JSON.stringify({ storeId: "s9", n: 1 }));
    expect(asJson.status).toBe(202);
    expect(await asJson.text()).toBe("");
    // Answered after the run (which takes 300 ms), so its record is there already.
    expect(readRecordFile(recordFile)).toEqual([
      {
        functionName: "recordMessage",
        message: { storeId: "s9", n: 1 },
        triggerMetadata: expect.objectContaining({
          deliveryCount: 1,
          messageId: expect.stringMatching(/^[0-9a-f]{32}$/),
        }),
      },
    ]);

    expect((await run("RecordMessage", "plain text")).status).toBe(202);
    expect(readRecordFile(recordFile)[1]?.message).toBe("plain text");

    // A throw is logged, the answer is still 202 (Azure does not report the outcome either).
    expect((await run("alwaysFails", "x")).status).toBe(202);
    await host.waitForStdout(/\[alwaysFails\] error: Executed \(Failed.*this handler always fails/);
    expect(readRecordFile(recordFile).map((r) => r.functionName)).toEqual([
      "recordMessage",
      "recordMessage",
      "alwaysFails",
    ]);
    expect(await host.stop("SIGTERM")).toBe(0);
  });

  it("lets an in-flight invocation finish on SIGTERM, then exits 0", async () => {
    const recordFile = path.join(workDir, "graceful.jsonl");
    const host = await startHost(recordFile, { FIXTURE_HANDLER_DELAY_MS: "1500" });
    const sender = client.createSender("fixture-events");
    await sender.sendMessages({ messageId: "graceful-one", body: { n: 1 } });
    await sender.close();

    await host.waitForStdout(/\[recordMessage\] info: Executing/);
    expect(await host.stop("SIGTERM")).toBe(0);
    expect(readRecordFile(recordFile).map((r) => r.triggerMetadata.messageId)).toEqual([
      "graceful-one",
    ]);
    expect(host.output().stdout).toMatch(/\[recordMessage\] info: Executed \(Succeeded/);
  });
});
