/**
 * Issue 11: Table transactions per approval, counted through the Tables SDK's own pipeline (a
 * per-request policy sees every HTTP request; a batch is one), for the whole lifecycle through the
 * real use cases on Azurite and the Service Bus emulator: DM's trigger, the flow call, the flow's
 * claim and decision, the write to DM's Data service.
 */
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { ServiceBusClient } from "@azure/service-bus";
import { startAzuriteTables, type AzuriteTables } from "../../dev/azurite";
import { startServiceBusEmulator, type ServiceBusEmulator } from "../../dev/servicebus-emulator";
import { startDmSimulator, type DmSimulator } from "../../dev/simulators/dm-simulator";
import { startFlowSimulator, type FlowSimulator } from "../../dev/simulators/flow-simulator";
import type { ServiceBusMessageQueue } from "../../shared/adapters/service-bus-queue";
import { acceptTrigger } from "../../shared/app/accept-trigger";
import { applyDecision } from "../../shared/app/apply-decision";
import { claimRequest } from "../../shared/app/claim";
import type { RelayDeps } from "../../shared/app/deps";
import { dispatchToFlow } from "../../shared/app/dispatch";
import { linkWorkflow } from "../../shared/app/links";
import { recordDecision } from "../../shared/app/record-decision";
import { parseStepMessage } from "../../shared/app/step-message";
import { registerStore } from "../../shared/app/stores";
import { buildRelay } from "../../shared/composition";
import { loadConfig } from "../../shared/config";
import { createLogger } from "../../shared/logging";
import {
  APPROVAL_DECISIONS_QUEUE,
  WORKFLOW_EVENTS_QUEUE,
  type QueueName,
} from "../../shared/ports";

const quiet = { log: createLogger({ info() {}, warn() {}, error() {} }) };

/** Table requests as the SDK sends them, per instance of the relay. */
const sent: string[] = [];
const counting: PipelinePolicy = {
  name: "countTableRequests",
  sendRequest(request, next) {
    sent.push(`${request.method} ${decodeURIComponent(new URL(request.url).pathname)}`);
    return next(request);
  },
};

let azurite: AzuriteTables;
let emulator: ServiceBusEmulator;
let flow: FlowSimulator;
let dm: DmSimulator;
let serviceBus: ServiceBusClient;
/** Three instances of the relay on the same storage and queues, as three hosts in Azure. */
let instances: RelayDeps[];
let triggerKey: string;

beforeAll(async () => {
  [azurite, emulator, flow, dm] = await Promise.all([
    startAzuriteTables(),
    startServiceBusEmulator({ port: 0 }),
    startFlowSimulator(),
    startDmSimulator(),
  ]);
  serviceBus = new ServiceBusClient(emulator.connectionString);
  const config = loadConfig({
    AzureWebJobsStorage: azurite.connectionString,
    ServiceBusConnection: emulator.connectionString,
    RELAY_PUBLIC_BASE_URL: "http://127.0.0.1:7071",
    RELAY_SIGNING_KEY: "perf-test-signing-key-0123456789-abcdefghij",
    RELAY_ALLOW_LOOPBACK: "true",
    RELAY_ALLOWED_FLOW_HOSTS: "127.0.0.1",
    DATA_SERVICE_AUTH: "none",
  });
  const instrumentation = { tablePolicies: [{ policy: counting, position: "perRetry" as const }] };
  instances = await Promise.all([1, 2, 3].map(() => buildRelay(config, instrumentation)));
  const [first] = instances as [RelayDeps];
  await registerStore(
    first,
    "contoso",
    JSON.stringify({
      organizationCode: "contoso",
      region: "crm4",
      dataServiceUrl: dm.dataServiceUrl,
      identityStoreId: 7,
      tenantId: "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
      clientId: "7d9c0a51-2b1e-4c3a-9f00-1a2b3c4d5e6f",
    }),
  );
  const link = await linkWorkflow(
    first,
    "contoso",
    "group-join",
    JSON.stringify({ requestUrl: `${flow.flowUrl}?sig=flow-sig`, approvers: ["a@contoso.com"] }),
  );
  triggerKey = new URL(link.triggerUrl as string).searchParams.get("sig") as string;
}, 60_000);

afterAll(async () => {
  await Promise.all(instances?.map((deps) => (deps.queue as ServiceBusMessageQueue).close()) ?? []);
  await serviceBus?.close();
  await Promise.all([flow?.close(), dm?.close(), emulator?.close(), azurite?.stop()]);
});

/** Receives the next step message of `queue` and runs `step` on it, like the host's trigger. */
async function runStep(
  queue: QueueName,
  step: (deps: RelayDeps, message: ReturnType<typeof parseStepMessage>) => Promise<void>,
  deps: RelayDeps,
): Promise<void> {
  const receiver = serviceBus.createReceiver(queue);
  try {
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 10_000 });
    if (!message) throw new Error(`no message on ${queue}`);
    await step(deps, parseStepMessage(message.body));
    await receiver.completeMessage(message);
  } finally {
    await receiver.close();
  }
}

/**
 * One approval from DM's trigger to the Data service: trigger and steps on `host`, the flow's
 * claim and decision on the instances they reach. Answers the Table requests each step made.
 */
async function lifecycle(
  requestId: number,
  reached: { host: RelayDeps; claim: RelayDeps; decision: RelayDeps },
): Promise<Record<string, string[]>> {
  const { host } = reached;
  const steps: Record<string, string[]> = {};
  const counted = async (name: string, run: () => Promise<unknown>) => {
    const from = sent.length;
    await run();
    steps[name] = sent.slice(from);
  };
  const id = String(requestId);
  await counted("trigger", () =>
    acceptTrigger(
      host,
      {
        storeId: "contoso",
        workflowId: "group-join",
        key: triggerKey,
        contentType: "application/json",
        body: JSON.stringify({ WorkflowRequestID: requestId, requester: "bob@contoso.com" }),
      },
      quiet,
    ),
  );
  await counted("dispatch", () =>
    runStep(WORKFLOW_EVENTS_QUEUE, (deps, message) => dispatchToFlow(deps, message, quiet), host),
  );
  const call = flow.calls.find((each) => each.headers["x-relay-request-id"] === id);
  const authorization = `Bearer ${String(call?.headers["x-relay-callback-token"])}`;
  const runId = `run-${id}`;
  await counted("claim", () =>
    claimRequest(
      reached.claim,
      {
        storeId: "contoso",
        requestId: id,
        authorization,
        body: JSON.stringify({ runId, flowName: "flow-1", environmentName: "Default-env" }),
      },
      quiet,
    ),
  );
  await counted("decision", () =>
    recordDecision(
      reached.decision,
      {
        storeId: "contoso",
        requestId: id,
        authorization,
        runId,
        body: JSON.stringify({ outcome: "Approve", approver: { email: "alice@contoso.com" } }),
      },
      quiet,
    ),
  );
  await counted("apply", () =>
    runStep(APPROVAL_DECISIONS_QUEUE, (deps, message) => applyDecision(deps, message, quiet), host),
  );
  expect(dm.writes.get(id)).toBe(1);
  return steps;
}

const total = (steps: Record<string, string[]>) =>
  Object.values(steps).reduce((sum, requests) => sum + requests.length, 0);

describe("Table transactions per approval (issue 11)", () => {
  it("are at most 8 for a whole lifecycle, claim included, on one instance", async () => {
    const [host] = instances as [RelayDeps];
    const one = { host, claim: host, decision: host };
    // The first approval of a link fills the caches and marks the link as claiming.
    const cold = await lifecycle(5001, one);
    const warm = await lifecycle(5002, one);
    console.log(
      `Table requests, first approval: ${total(cold)} ${JSON.stringify(cold, null, 1)}\n` +
        `next approval: ${total(warm)} ${JSON.stringify(warm, null, 1)}`,
    );
    expect(total(warm)).toBeLessThanOrEqual(8);
    // The trigger reads nothing (the link is in memory) and writes request and index in one batch;
    // each step reads once (the request with its document) and writes once; the flow's callbacks
    // write against the version written before them.
    expect(warm).toEqual({
      trigger: ["POST /devstoreaccount1/$batch"],
      dispatch: [expect.stringMatching(/^GET /), expect.stringMatching(/^PUT /)],
      claim: [expect.stringMatching(/^PUT /)],
      decision: [expect.stringMatching(/^PUT /)],
      apply: [expect.stringMatching(/^GET /), "POST /devstoreaccount1/$batch"],
    });
  });

  it("are at most 8 when the flow's callbacks reach another instance than the steps", async () => {
    const [host, other] = instances as [RelayDeps, RelayDeps];
    // That instance reads the link once, then serves it from memory too.
    await lifecycle(5003, { host, claim: other, decision: other });
    const steps = await lifecycle(5004, { host, claim: other, decision: other });
    console.log(`Table requests, callbacks on another instance: ${total(steps)}`);
    expect(total(steps)).toBeLessThanOrEqual(8);
    // The claim reads once; the decision writes against the claim's version.
    expect(steps.claim).toHaveLength(2);
    expect(steps.decision).toHaveLength(1);
  });

  it("cost a refused write and a read when the version an instance remembers is stale", async () => {
    const [host, other] = instances as [RelayDeps, RelayDeps];
    // The host remembers the dispatcher's record; the claim on another instance changes it.
    const steps = await lifecycle(5006, { host, claim: other, decision: host });
    expect(steps.decision).toEqual([
      expect.stringMatching(/^PUT /),
      expect.stringMatching(/^GET /),
      expect.stringMatching(/^PUT /),
    ]);
  });

  it("are 9 when claim and decision reach two instances that have not seen the request", async () => {
    const [host, other, third] = instances as [RelayDeps, RelayDeps, RelayDeps];
    const steps = await lifecycle(5005, { host, claim: other, decision: third });
    console.log(`Table requests, claim and decision on instances of their own: ${total(steps)}`);
    expect(total(steps)).toBe(9);
  });
});
