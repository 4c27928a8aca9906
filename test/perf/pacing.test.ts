/**
 * Issue 11, pacing: a burst of triggers to one flow that accepts a fixed number of calls per
 * second and answers 429 with Retry-After beyond it (a real HTTP server), dispatched by the real
 * use case from the Service Bus emulator by concurrent invocations, as the host runs them. Every
 * request reaches the flow, at most 2% of the calls are refused, and none comes before its
 * Retry-After. The 5,000-trigger burst at 100 calls per second is in `npm run bench`.
 */
import { ServiceBusClient } from "@azure/service-bus";
import { startFlowServer, type FlowServer } from "../../bench/support/flow-server";
import { waitUntil } from "../../bench/support/load";
import { startAzuriteTables, type AzuriteTables } from "../../dev/azurite";
import { startServiceBusEmulator, type ServiceBusEmulator } from "../../dev/servicebus-emulator";
import type { ServiceBusMessageQueue } from "../../shared/adapters/service-bus-queue";
import { acceptTrigger } from "../../shared/app/accept-trigger";
import type { RelayDeps } from "../../shared/app/deps";
import { dispatchToFlow } from "../../shared/app/dispatch";
import { linkWorkflow } from "../../shared/app/links";
import { parseStepMessage } from "../../shared/app/step-message";
import { registerStore } from "../../shared/app/stores";
import { buildRelay } from "../../shared/composition";
import { loadConfig } from "../../shared/config";
import { createLogger } from "../../shared/logging";
import { WORKFLOW_EVENTS_QUEUE } from "../../shared/ports";

const TRIGGERS = 400;
const CALLS_PER_SECOND = 25;
/** As host.json's serviceBus.maxConcurrentCalls. */
const CONCURRENT_INVOCATIONS = 16;
const quiet = { log: createLogger({ info() {}, warn() {}, error() {} }) };

let azurite: AzuriteTables;
let emulator: ServiceBusEmulator;
let flow: FlowServer;
let serviceBus: ServiceBusClient;
let deps: RelayDeps;

beforeAll(async () => {
  [azurite, emulator, flow] = await Promise.all([
    startAzuriteTables(),
    startServiceBusEmulator({ port: 0 }),
    startFlowServer({
      limited: {
        claim: false,
        approve: false,
        callsPerSecond: CALLS_PER_SECOND,
        retryAfterSeconds: 1,
      },
    }),
  ]);
  serviceBus = new ServiceBusClient(emulator.connectionString);
  deps = await buildRelay(
    loadConfig({
      AzureWebJobsStorage: azurite.connectionString,
      ServiceBusConnection: emulator.connectionString,
      RELAY_PUBLIC_BASE_URL: "http://127.0.0.1:7071",
      RELAY_SIGNING_KEY: "pacing-test-signing-key-0123456789-abcdefghij",
      RELAY_ALLOW_LOOPBACK: "true",
      RELAY_ALLOWED_FLOW_HOSTS: "127.0.0.1",
      DATA_SERVICE_AUTH: "none",
    }),
  );
}, 60_000);

afterAll(async () => {
  await (deps?.queue as ServiceBusMessageQueue | undefined)?.close();
  await serviceBus?.close();
  await Promise.all([flow?.close(), emulator?.close(), azurite?.stop()]);
});

it("keeps a burst to one flow under the flow's rate: all delivered, few 429s, none early", async () => {
  await registerStore(
    deps,
    "contoso",
    JSON.stringify({
      organizationCode: "contoso",
      region: "crm4",
      dataServiceUrl: "https://dm.contoso.com/GroupIDDataService",
      identityStoreId: 7,
      tenantId: "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
      clientId: "7d9c0a51-2b1e-4c3a-9f00-1a2b3c4d5e6f",
    }),
  );
  const link = await linkWorkflow(
    deps,
    "contoso",
    "bulk-change",
    JSON.stringify({
      requestUrl: `${flow.url}/flow/limited?sig=flow-sig`,
      maxCallsPerSecond: CALLS_PER_SECOND,
    }),
  );
  expect(link.maxCallsPerSecond).toBe(CALLS_PER_SECOND);
  const key = new URL(link.triggerUrl as string).searchParams.get("sig");

  // The dispatcher, as the host runs it: concurrent invocations, complete on success.
  const receiver = serviceBus.createReceiver(WORKFLOW_EVENTS_QUEUE);
  const failures: string[] = [];
  const subscription = receiver.subscribe(
    {
      processMessage: async (message) => {
        await dispatchToFlow(deps, parseStepMessage(message.body), quiet);
      },
      processError: async (args) => {
        failures.push(args.error.message);
      },
    },
    { maxConcurrentCalls: CONCURRENT_INVOCATIONS },
  );
  try {
    const ids = Array.from({ length: TRIGGERS }, (_, i) => String(90_000 + i));
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < ids.length) {
          const id = ids[next++] as string;
          await acceptTrigger(
            deps,
            {
              storeId: "contoso",
              workflowId: "bulk-change",
              key,
              contentType: "application/json",
              body: JSON.stringify({ WorkflowRequestID: Number(id) }),
            },
            quiet,
          );
        }
      }),
    );
    const calls = () => flow.calls.get("limited") ?? [];
    const delivered = () =>
      new Set(
        calls()
          .filter((c) => c.status === 202)
          .map((c) => c.requestId),
      );
    const allDelivered = await waitUntil(() => delivered().size === TRIGGERS, 90_000);

    const throttled = calls().filter((call) => call.status === 429);
    const retryAfter = new Map<string, number>();
    const early = calls().filter((call) => {
      const tooSoon = call.at < (retryAfter.get(call.requestId) ?? 0);
      if (call.notBefore !== undefined) retryAfter.set(call.requestId, call.notBefore);
      return tooSoon;
    });
    console.log(
      `pacing: ${delivered().size} of ${TRIGGERS} delivered in ${calls().length} calls, ` +
        `${throttled.length} answered 429, ${early.length} before a Retry-After`,
    );
    expect(allDelivered).toBe(true);
    expect(new Set(calls().map((call) => call.requestId))).toEqual(new Set(ids));
    expect(throttled.length).toBeLessThanOrEqual(0.02 * calls().length);
    expect(early).toEqual([]);
    expect(failures).toEqual([]);
  } finally {
    await subscription.close();
    await receiver.close();
  }
}, 150_000);
