/**
 * The relay's performance benchmark (`npm run bench`): every figure of issue 11 beside baselines
 * measured in the same run, on the same emulators and SDKs, all on 127.0.0.1.
 *
 * Processes: Azurite (tables, in memory), the Service Bus emulator, the counting proxies in front
 * of both (bench/support/proxy-process.ts), the baseline server (bench/baseline-server.ts) and the
 * relay's local host (dev/host); the flow and DM's Data service are HTTP servers in this process.
 * Phases, in order:
 *   count       every function on one host; sequential approvals (trigger, flow call, claim,
 *               decision, DM call): Table transactions, Service Bus operations and Function
 *               executions per approval
 *   light load  the same host, one request at a time: trigger → flow call, decision → DM call
 *   ingest      the HTTP functions on a host of their own (as Flex Consumption runs them, apart
 *               from the Service Bus functions), side by side with the baselines (bare node:http,
 *               send one message, insert one entity and send one message, insert two entities in
 *               one transaction and send one message): unique triggers from 16 loops, in rounds
 *               that alternate relay and the insert baselines, so all see the same load of this
 *               shared machine; CPU per request; the host's RSS after the 1,000th and the last
 *   burst       every function on one host again: the triggers queued by ingest are dispatched
 *               and claimed, then all approved; the host's RSS after the 1,000th and the last
 *               decision
 *   pacing      a burst of triggers to a flow that accepts 100 calls/s and answers 429 beyond
 * Memory: each RSS sample is taken as it is and, through bench/support/memory-probe.ts (loaded
 * into the hosts with --expose-gc), after full collections: what the host keeps, apart from
 * garbage that waits for V8's next full collection.
 * Parameters (environment): BENCH_REQUESTS (ingest, default 5000), BENCH_BASELINE_REQUESTS
 * (node:http and send-only, 3000), BENCH_ROUNDS (5), BENCH_CONCURRENCY (16), BENCH_LIFECYCLES
 * (20), BENCH_SAMPLES (40), BENCH_PACING_TRIGGERS (5000), BENCH_PACING_RATE (calls/s the flow
 * accepts, 100); BENCH_NODE_ARGS are given to the relay's hosts and the baseline server (e.g.
 * --cpu-prof). Every wait is bounded.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { azuriteConnectionString, startAzuriteTables } from "../dev/azurite";
import { freePort } from "../dev/free-port";
import { emulatorConnectionString } from "../dev/servicebus-emulator";
import { startDmSimulator } from "../dev/simulators/dm-simulator";
import { startFlowServer, type FlowCall } from "./support/flow-server";
import {
  combine,
  createClient,
  percentile,
  runLoad,
  waitUntil,
  type LoadResult,
  type Sent,
} from "./support/load";
import {
  ROOT,
  cpuMsOf,
  startProxies,
  startScript,
  type Child,
  type CollectedMemory,
} from "./support/processes";
import type { ProxyCounts } from "./support/proxy-process";

const setting = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const PARAMS = {
  ingestRequests: setting("BENCH_REQUESTS", 5000),
  baselineRequests: setting("BENCH_BASELINE_REQUESTS", 3000),
  rounds: setting("BENCH_ROUNDS", 5),
  concurrency: setting("BENCH_CONCURRENCY", 16),
  lifecycles: setting("BENCH_LIFECYCLES", 20),
  samples: setting("BENCH_SAMPLES", 40),
  pacingTriggers: setting("BENCH_PACING_TRIGGERS", 5000),
  pacingRate: setting("BENCH_PACING_RATE", 100),
};
const MEMORY_EARLY_SAMPLE = 1000;
const ADMIN_KEY = "bench-admin-key";
const DM_CREDENTIALS = {
  username: "svc-relay@contoso.com",
  password: "bench-password",
  clientId: "dm-client",
  clientSecret: "bench-client-secret",
};
const BASELINE_QUEUE = "bench-baseline";

/** A DM trigger document of a realistic size (about 1 KiB), the same for relay and baselines. */
function document(requestId: number): string {
  return JSON.stringify({
    WorkflowRequestID: requestId,
    workflowName: "Group join approval",
    requester: { email: "bob@contoso.com", displayName: "Bob", department: "Sales" },
    target: { group: "CN=Sales Team,OU=Groups,DC=contoso,DC=com", action: "AddMember" },
    attributes: Array.from({ length: 12 }, (_, i) => ({
      name: `attribute${i}`,
      value: `value ${i} of the request`,
    })),
    submittedAt: "2026-12-01T10:00:00Z",
  });
}

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "relay-bench-"));
const children: Child[] = [];
const closers: (() => Promise<void>)[] = [];

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadAtStart = os.loadavg();
  console.log(
    `Relay benchmark, ${startedAt.toISOString()}, Node ${process.version}, ${os.availableParallelism()} CPUs`,
  );
  console.log(`Load average at start: ${loadAtStart.map((l) => l.toFixed(2)).join(" ")}`);
  console.log(`Parameters: ${JSON.stringify(PARAMS)}\n`);

  // ---- emulators and proxies ---------------------------------------------------------------
  const azurite = await startAzuriteTables();
  closers.push(() => azurite.stop());
  const emulatorConfig = JSON.parse(
    fs.readFileSync(path.join(ROOT, "dev/servicebus-emulator/config.json"), "utf8"),
  );
  const queues = emulatorConfig.UserConfig.Namespaces[0].Queues;
  queues.push({ ...queues[0], Name: BASELINE_QUEUE });
  const configFile = path.join(workDir, "emulator.json");
  fs.writeFileSync(configFile, JSON.stringify(emulatorConfig));
  const emulatorPort = await freePort();
  const emulator = await startScript({
    script: "dev/servicebus-emulator/main.ts",
    env: { SERVICEBUS_EMULATOR_PORT: String(emulatorPort), SERVICEBUS_EMULATOR_CONFIG: configFile },
    logFile: path.join(workDir, "emulator.log"),
    ready: /listening/,
  });
  children.push(emulator);
  const proxies = await startProxies(azurite.port, emulatorPort);
  children.push(proxies);
  const tables = azuriteConnectionString(proxies.tablePort);
  const serviceBus = emulatorConnectionString(proxies.serviceBusPort);

  const dmCalls = new Map<string, number>();
  const dm = await startDmSimulator({
    credentials: DM_CREDENTIALS,
    fault: (call) => {
      if (call.method === "POST" && /\/(Approve|Deny)$/.test(call.path))
        dmCalls.set(String(JSON.parse(call.body).workflowRequestID), performance.now());
      return undefined;
    },
  });
  closers.push(() => dm.close());
  const flows = await startFlowServer({
    full: { claim: true, approve: true },
    light: { claim: true, approve: false },
    paced: {
      claim: false,
      approve: false,
      callsPerSecond: PARAMS.pacingRate,
      retryAfterSeconds: 1,
    },
  });
  closers.push(() => flows.close());

  // ---- the relay ------------------------------------------------------------------------------
  const hostPort = await freePort();
  const baseUrl = `http://127.0.0.1:${hostPort}`;
  const appRoot = path.join(workDir, "app");
  fs.mkdirSync(appRoot);
  fs.copyFileSync(path.join(ROOT, "host.json"), path.join(appRoot, "host.json"));
  fs.writeFileSync(
    path.join(appRoot, "local.settings.json"),
    JSON.stringify({ IsEncrypted: false, Values: {} }),
  );
  let hostRuns = 0;
  /** The relay's host on `hostPort`, loading `entry`; its log is host-<n>.log. */
  const startHost = async (entry: string) => {
    const logFile = path.join(workDir, `host-${++hostRuns}.log`);
    const started = await startScript({
      script: "dev/host/main.ts",
      args: ["--app-root", appRoot, "--entry", path.join(ROOT, entry), "--port", String(hostPort)],
      env: {
        AzureWebJobsStorage: tables,
        ServiceBusConnection: serviceBus,
        RELAY_PUBLIC_BASE_URL: baseUrl,
        RELAY_SIGNING_KEY: "bench-signing-key-0123456789-abcdefghijklmnop",
        RELAY_ALLOW_LOOPBACK: "true",
        RELAY_ALLOWED_FLOW_HOSTS: "127.0.0.1",
        RELAY_LOCAL_KEY: ADMIN_KEY,
        DATA_SERVICE_AUTH: "dm-token",
        DM_SERVICE_USERNAME: DM_CREDENTIALS.username,
        DM_SERVICE_PASSWORD: DM_CREDENTIALS.password,
        DM_CLIENT_ID: DM_CREDENTIALS.clientId,
        DM_CLIENT_SECRET: DM_CREDENTIALS.clientSecret,
        // Nothing here is lost, and a pass would add Table reads to the counts.
        RELAY_RECONCILE_SCHEDULE: "0 0 0 1 1 *",
        // The queue of bench/host-baseline.ts, on the ingest host.
        BENCH_QUEUE: BASELINE_QUEUE,
      },
      logFile,
      ready: /Functions host listening/,
      memoryProbe: true,
    });
    children.push(started);
    return { ...started, logFile };
  };
  let host = await startHost("functions/index.ts");
  const client = createClient(PARAMS.concurrency);
  const admin = async (method: string, route: string, body: unknown) => {
    const answer = await client.send({
      url: `${baseUrl}/api/${route}`,
      method,
      body: JSON.stringify(body),
      headers: { "x-functions-key": ADMIN_KEY },
    });
    if (answer.status !== 200)
      throw new Error(`${method} ${route}: ${answer.status} ${answer.body}`);
    return JSON.parse(answer.body) as Record<string, unknown>;
  };
  await admin("PUT", "stores/contoso/power-automate", {
    organizationCode: "contoso",
    region: "crm4",
    dataServiceUrl: dm.dataServiceUrl,
    securityServiceUrl: dm.securityServiceUrl,
    identityStoreId: 7,
    tenantId: "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    clientId: "7d9c0a51-2b1e-4c3a-9f00-1a2b3c4d5e6f",
  });
  const triggerUrls: Record<string, string> = {};
  for (const flow of ["full", "light", "paced"]) {
    const link = await admin("PUT", `stores/contoso/workflows/${flow}/flow`, {
      requestUrl: `${flows.url}/flow/${flow}?api-version=2016-06-01&sig=bench-flow-sig`,
      workflowName: `Bench ${flow}`,
      approvers: ["alice@contoso.com"],
    });
    triggerUrls[flow] = link.triggerUrl as string;
  }
  const trigger = (flow: string, requestId: number) =>
    client.send({ url: triggerUrls[flow] as string, body: document(requestId) });
  const callsFor = (flow: string) => flows.calls.get(flow) as FlowCall[];
  const called = (flow: string, id: number) =>
    callsFor(flow).some((c) => c.requestId === String(id));

  // Warm-up: every function has run and every cache is filled before anything is measured.
  for (let id = 1; id <= 20; id++) await trigger("full", id);
  await waitUntil(() => dmCalls.size >= 20, 60_000);
  await quiet(proxies);

  // ---- count: one approval at a time ----------------------------------------------------------
  const before = await proxies.counts();
  const logFrom = fs.statSync(host.logFile).size;
  for (let i = 0; i < PARAMS.lifecycles; i++) {
    const id = 100_000 + i;
    await trigger("full", id);
    if (!(await waitUntil(() => dmCalls.has(String(id)), 30_000)))
      throw new Error(`lifecycle ${id} did not reach the Data service`);
  }
  const after = await quiet(proxies);
  const perApproval = {
    table: (after.table.requests - before.table.requests) / PARAMS.lifecycles,
    tableReads: (after.table.reads - before.table.reads) / PARAMS.lifecycles,
    tableWrites: (after.table.writes - before.table.writes) / PARAMS.lifecycles,
    tableBatches: (after.table.batches - before.table.batches) / PARAMS.lifecycles,
    sends: (after.serviceBus.sends - before.serviceBus.sends) / PARAMS.lifecycles,
    deliveries: (after.serviceBus.deliveries - before.serviceBus.deliveries) / PARAMS.lifecycles,
    settlements: (after.serviceBus.settlements - before.serviceBus.settlements) / PARAMS.lifecycles,
  };
  const executions = executionsSince(host.logFile, logFrom);
  const executionsPerApproval = executions.count / PARAMS.lifecycles;
  const executionMsPerApproval = executions.ms / PARAMS.lifecycles;
  console.log(`count: ${JSON.stringify(perApproval)}`);

  // ---- light load: one request at a time ------------------------------------------------------
  const toFlow: number[] = [];
  const toDm: number[] = [];
  for (let i = 0; i < PARAMS.samples; i++) {
    const id = 200_000 + i;
    const sentAt = performance.now();
    await trigger("light", id);
    if (!(await waitUntil(() => called("light", id), 30_000)))
      throw new Error(`no flow call for ${id}`);
    toFlow.push(
      (callsFor("light").find((c) => c.requestId === String(id)) as FlowCall).at - sentAt,
    );
    if (!(await waitUntil(() => flows.claimed.has(String(id)), 30_000)))
      throw new Error(`no claim for ${id}`);
    const run = flows.claimed.get(String(id));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const decidedAt = performance.now();
    const answer = await client.send({
      url: run?.callbackUrl as string,
      body: JSON.stringify({ outcome: "Approve", approver: { email: "alice@contoso.com" } }),
      headers: { authorization: `Bearer ${run?.token}`, "x-relay-run-id": run?.runId as string },
    });
    if (answer.status !== 202)
      throw new Error(`decision for ${id}: ${answer.status} ${answer.body}`);
    if (!(await waitUntil(() => dmCalls.has(String(id)), 30_000)))
      throw new Error(`no DM call for ${id}`);
    toDm.push((dmCalls.get(String(id)) as number) - decidedAt);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const light = { toFlowP50: percentile(toFlow, 0.5), toDmP50: percentile(toDm, 0.5) };
  console.log(
    `light load: trigger → flow p50 ${ms(light.toFlowP50)}, decision → DM p50 ${ms(light.toDmP50)}`,
  );

  // ---- ingest: the HTTP functions on a host of their own, beside the baselines ----------------
  await host.stop();
  const ingestHost = await startHost("bench/http-functions.ts");
  const baseline = await startScript({
    script: "bench/baseline-server.ts",
    env: { BENCH_TABLES: tables, BENCH_SERVICE_BUS: serviceBus, BENCH_QUEUE: BASELINE_QUEUE },
    logFile: path.join(workDir, "baseline.log"),
    ready: /listening (\d+)/,
  });
  children.push(baseline);
  const baselineUrl = `http://127.0.0.1:${baseline.match[1]}`;
  const load = (count: number, request: (i: number) => Sent, expected = 202) =>
    runLoad({
      count,
      concurrency: PARAMS.concurrency,
      request,
      expect: (status) => status === expected,
    });
  const baselineRequest = (route: string) => (i: number) => ({
    url: `${baselineUrl}/${route}`,
    body: document(i),
  });
  const baselines: Record<string, LoadResult> = {};
  for (const [route, status] of [
    ["hello", 200],
    ["send", 202],
  ] as const) {
    await load(200, baselineRequest(route), status);
    baselines[route] = await load(PARAMS.baselineRequests, baselineRequest(route), status);
    console.log(`baseline ${route}: ${describeLoad(baselines[route])}`);
  }
  const firstIngestId = 1_000_000;
  const triggerRequest = (i: number) => ({
    url: triggerUrls.light as string,
    body: document(firstIngestId + i),
  });
  // Warm-up of both sides, with ids past the measured ones.
  await load(200, baselineRequest("insert-send"));
  await load(200, (i) => triggerRequest(PARAMS.ingestRequests + i));
  const ingestMemory = { early: Number.NaN, end: Number.NaN };
  let ingestCollected: { early?: CollectedMemory; end?: CollectedMemory } = {};
  const roundSize = Math.ceil(PARAMS.ingestRequests / PARAMS.rounds);
  await load(200, baselineRequest("batch-send"));
  await load(200, (i) => ({ url: `${baseUrl}/api/bench/batch-send`, body: document(i) }));
  const insertSendRounds: LoadResult[] = [];
  const batchSendRounds: LoadResult[] = [];
  const batchSendOnHostRounds: LoadResult[] = [];
  const hostBaselineRequest = (i: number) => ({
    url: `${baseUrl}/api/bench/batch-send`,
    body: document(i),
  });
  const ingestRounds: LoadResult[] = [];
  // CPU of the process that serves each side and of both emulators while it runs: where a
  // request's cost goes on this machine, whose 2 cores all of them share.
  const sides = ["insertSend", "batchSend", "batchSendOnHost", "relay"] as const;
  type Side = (typeof sides)[number];
  const cpuNow = (server: Child) => ({
    server: server.cpuMs(),
    azurite: cpuMsOf(azurite.pid),
    emulator: emulator.cpuMs(),
  });
  const cpu = Object.fromEntries(
    sides.map((side) => [side, { server: 0, azurite: 0, emulator: 0 }]),
  ) as Record<Side, ReturnType<typeof cpuNow>>;
  const timed = async <T>(side: Side, server: Child, run: () => Promise<T>) => {
    const before = cpuNow(server);
    const result = await run();
    const after = cpuNow(server);
    for (const part of ["server", "azurite", "emulator"] as const)
      cpu[side][part] += after[part] - before[part];
    return result;
  };
  for (let start = 0; start < PARAMS.ingestRequests; start += roundSize) {
    const count = Math.min(roundSize, PARAMS.ingestRequests - start);
    insertSendRounds.push(
      await timed("insertSend", baseline, () => load(count, baselineRequest("insert-send"))),
    );
    batchSendRounds.push(
      await timed("batchSend", baseline, () => load(count, baselineRequest("batch-send"))),
    );
    batchSendOnHostRounds.push(
      await timed("batchSendOnHost", ingestHost, () => load(count, hostBaselineRequest)),
    );
    ingestRounds.push(
      await timed("relay", ingestHost, () =>
        runLoad({
          count,
          concurrency: PARAMS.concurrency,
          request: (i) => triggerRequest(start + i),
          expect: (status) => status === 202,
          onDone: (done) => {
            if (start + done === MEMORY_EARLY_SAMPLE) ingestMemory.early = ingestHost.rssMiB();
          },
        }),
      ),
    );
    // Measured between rounds, so the collections do not slow a measured one.
    if (!ingestCollected.early && start + count >= MEMORY_EARLY_SAMPLE)
      ingestCollected = { early: await ingestHost.collectedMemory() };
  }
  ingestMemory.end = ingestHost.rssMiB();
  ingestCollected.end = await ingestHost.collectedMemory();
  baselines["insert-send"] = combine(insertSendRounds);
  baselines["batch-send"] = combine(batchSendRounds);
  baselines["batch-send-on-host"] = combine(batchSendOnHostRounds);
  const ingest = combine(ingestRounds);
  console.log(`baseline insert-send: ${describeLoad(baselines["insert-send"])}`);
  console.log(`baseline batch-send: ${describeLoad(baselines["batch-send"])}`);
  console.log(
    `baseline batch-send as a function on the relay's host: ${describeLoad(baselines["batch-send-on-host"])}`,
  );
  const perRequest = (side: Side) => {
    const { server, azurite: tables, emulator: serviceBus } = cpu[side];
    const each = (total: number) => (total / PARAMS.ingestRequests).toFixed(2);
    return `${each(server)} server, ${each(tables)} Azurite, ${each(serviceBus)} Service Bus emulator`;
  };
  console.log(
    `CPU per request, ms: relay ${perRequest("relay")}; insert-and-send ${perRequest("insertSend")}; batch-and-send ${perRequest("batchSend")}; batch-and-send on the relay's host ${perRequest("batchSendOnHost")}`,
  );
  console.log(
    `ingest (HTTP functions alone): ${describeLoad(ingest)}; RSS ${JSON.stringify(ingestMemory)}; after full collections ${JSON.stringify(ingestCollected)}`,
  );
  await baseline.stop();
  await ingestHost.stop();

  // ---- the burst behind it: every function on one host, dispatching, claiming, applying ---------
  host = await startHost(process.env.BENCH_ENTRY ?? "functions/index.ts");
  const drainStarted = performance.now();
  const ingestIds = Array.from({ length: PARAMS.ingestRequests }, (_, i) =>
    String(firstIngestId + i),
  );
  const allClaimed = await waitUntil(() => ingestIds.every((id) => flows.claimed.has(id)), 300_000);
  const claimSeconds = (performance.now() - drainStarted) / 1000;
  const memory = { start: host.rssMiB(), early: Number.NaN, end: Number.NaN };
  let collectedEarly: Promise<CollectedMemory> | undefined;
  const decisions = await runLoad({
    count: PARAMS.ingestRequests,
    concurrency: PARAMS.concurrency,
    request: (i) => {
      const run = flows.claimed.get(ingestIds[i] as string);
      return {
        url: run?.callbackUrl ?? `${baseUrl}/missing`,
        body: JSON.stringify({ outcome: "Approve", approver: { email: "alice@contoso.com" } }),
        headers: { authorization: `Bearer ${run?.token}`, "x-relay-run-id": run?.runId ?? "" },
      };
    },
    expect: (status) => status === 202,
    onDone: (done) => {
      if (done !== MEMORY_EARLY_SAMPLE) return;
      memory.early = host.rssMiB();
      collectedEarly = host.collectedMemory();
    },
  });
  const allApplied = await waitUntil(() => ingestIds.every((id) => dmCalls.has(id)), 300_000);
  memory.end = host.rssMiB();
  const collected = { early: await collectedEarly, end: await host.collectedMemory() };
  console.log(
    `burst: ${PARAMS.ingestRequests} dispatched and claimed in ${claimSeconds.toFixed(1)} s (${allClaimed}); decisions ${describeLoad(decisions)}; all applied ${allApplied}; RSS ${JSON.stringify(memory)}; after full collections ${JSON.stringify(collected)}`,
  );

  // ---- pacing ---------------------------------------------------------------------------------
  const firstPacedId = 2_000_000;
  const pacedStarted = performance.now();
  const pacedLogFrom = fs.statSync(host.logFile).size;
  const pacedIngest = await runLoad({
    count: PARAMS.pacingTriggers,
    concurrency: PARAMS.concurrency,
    request: (i) => ({ url: triggerUrls.paced as string, body: document(firstPacedId + i) }),
    expect: (status) => status === 202,
  });
  const pacedIds = new Set(
    Array.from({ length: PARAMS.pacingTriggers }, (_, i) => String(firstPacedId + i)),
  );
  const delivered = () =>
    new Set(
      callsFor("paced")
        .filter((c) => c.status === 202)
        .map((c) => c.requestId),
    );
  const pacingBound = 60_000 + (PARAMS.pacingTriggers / PARAMS.pacingRate) * 3000;
  await waitUntil(() => delivered().size >= pacedIds.size, pacingBound);
  const pacing = pacingFigures(
    callsFor("paced"),
    pacedIds,
    (performance.now() - pacedStarted) / 1000,
  );
  const deferrals = (
    fs
      .readFileSync(host.logFile)
      .subarray(pacedLogFrom)
      .toString("utf8")
      .match(/flow call deferred to keep the flow's call rate/g) ?? []
  ).length;
  console.log(
    `pacing: ingest ${describeLoad(pacedIngest)}; ${JSON.stringify(pacing)}; ${deferrals} calls deferred`,
  );

  // ---- report ---------------------------------------------------------------------------------
  const insertSend = baselines["insert-send"] as LoadResult;
  const batchSend = baselines["batch-send"] as LoadResult;
  const batchSendOnHost = baselines["batch-send-on-host"] as LoadResult;
  const rows: [string, string, string, string, boolean | string][] = [
    [
      "Table transactions per approval",
      `${perApproval.table.toFixed(2)} (reads ${perApproval.tableReads.toFixed(2)}, writes ${perApproval.tableWrites.toFixed(2)}, batches ${perApproval.tableBatches.toFixed(2)})`,
      "-",
      "≤ 8",
      perApproval.table <= 8,
    ],
    [
      "ingest throughput vs insert-and-send",
      `${(ingest.perSecond / insertSend.perSecond).toFixed(2)}x (${ingest.perSecond.toFixed(0)} vs ${insertSend.perSecond.toFixed(0)} req/s)`,
      `send-only ${baselines.send?.perSecond.toFixed(0)} req/s, node:http ${baselines.hello?.perSecond.toFixed(0)} req/s`,
      "≥ 0.8x and ≥ 150 req/s",
      ingest.perSecond >= 0.8 * insertSend.perSecond && ingest.perSecond >= 150,
    ],
    [
      "ingest throughput vs batch-and-send",
      `${(ingest.perSecond / batchSend.perSecond).toFixed(2)}x (${ingest.perSecond.toFixed(0)} vs ${batchSend.perSecond.toFixed(0)} req/s)`,
      "the relay's own minimum: request and index row in one transaction, one message",
      "(not a target)",
      "-",
    ],
    [
      "ingest vs batch-and-send as a function on the relay's host",
      `${(ingest.perSecond / batchSendOnHost.perSecond).toFixed(2)}x (${ingest.perSecond.toFixed(0)} vs ${batchSendOnHost.perSecond.toFixed(0)} req/s), p99 ${(ingest.p99 / batchSendOnHost.p99).toFixed(2)}x (${ms(ingest.p99)} vs ${ms(batchSendOnHost.p99)})`,
      "the same minimum through the local host and @azure/functions: the relay's own cost",
      "(not a target)",
      "-",
    ],
    [
      "ingest p99 vs insert-and-send",
      `${(ingest.p99 / insertSend.p99).toFixed(2)}x (${ms(ingest.p99)} vs ${ms(insertSend.p99)})`,
      `send-only ${ms(baselines.send?.p99 ?? NaN)}, node:http ${ms(baselines.hello?.p99 ?? NaN)}`,
      "≤ 1.5x",
      ingest.p99 <= 1.5 * insertSend.p99,
    ],
    [
      "trigger → flow call, p50, one at a time",
      ms(light.toFlowP50),
      "-",
      "≤ 50 ms",
      light.toFlowP50 <= 50,
    ],
    [
      "decision → Data service call, p50, one at a time",
      ms(light.toDmP50),
      "-",
      "≤ 30 ms",
      light.toDmP50 <= 30,
    ],
    memoryRow(`HTTP functions' host, after ${PARAMS.ingestRequests} triggers`, ingestMemory, {
      early: ingestCollected.early as CollectedMemory,
      end: ingestCollected.end as CollectedMemory,
    }),
    memoryRow(`every function on one host, after ${PARAMS.ingestRequests} approvals`, memory, {
      early: collected.early as CollectedMemory,
      end: collected.end,
    }),
    [
      "pacing: delivered / lost",
      `${pacing.delivered} / ${pacing.lost}`,
      `${PARAMS.pacingTriggers} triggers`,
      "all / none",
      pacing.lost === 0,
    ],
    [
      "pacing: flow calls answered 429",
      `${(pacing.throttledShare * 100).toFixed(2)}% (${pacing.throttled} of ${pacing.calls})`,
      `flow accepts ${PARAMS.pacingRate}/s`,
      "≤ 2%",
      pacing.throttledShare <= 0.02,
    ],
    [
      "pacing: calls earlier than a Retry-After",
      String(pacing.early),
      "-",
      "0",
      pacing.early === 0,
    ],
  ];
  console.log(
    `\nPer approval: ${executionsPerApproval.toFixed(2)} Function executions lasting ${executionMsPerApproval.toFixed(0)} ms together, ${perApproval.table.toFixed(2)} Table transactions, Service Bus: ${perApproval.sends.toFixed(2)} sends, ${perApproval.deliveries.toFixed(2)} deliveries, ${perApproval.settlements.toFixed(2)} settlements (${(perApproval.sends + perApproval.deliveries + perApproval.settlements).toFixed(2)} operations)`,
  );
  console.log(
    `Pacing: the flow was called at ${pacing.callsPerSecond.toFixed(1)} calls/s over ${pacing.seconds.toFixed(1)} s; ${deferrals} calls were deferred to a later slot\n`,
  );
  const header: [string, string, string, string, boolean | string] = [
    "figure",
    "relay",
    "reference in this run",
    "target",
    "met",
  ];
  const widths = [0, 1, 2, 3].map((column) =>
    Math.max(...[header, ...rows].map((row) => String(row[column]).length)),
  );
  for (const row of [header, ...rows]) {
    const met = typeof row[4] === "string" ? row[4] : row[4] ? "yes" : "NO";
    console.log(
      `${row
        .slice(0, 4)
        .map((cell, i) => String(cell).padEnd(widths[i] as number))
        .join(" | ")} | ${met}`,
    );
  }
  console.log(
    `Not a target: ingest with every function on one host (the pacing burst, dispatch behind it): ${describeLoad(pacedIngest)}`,
  );
  console.log(
    `Load average at end: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}; took ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s`,
  );
  client.close();
}

function describeLoad(load: LoadResult): string {
  return `${load.perSecond.toFixed(0)} req/s, p50 ${ms(load.p50)}, p99 ${ms(load.p99)} (${load.requests} requests in ${load.seconds.toFixed(1)} s, ${load.failures} failed)`;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

/** Waits until the proxies count nothing new for a second (the host has finished its work). */
async function quiet(proxies: { counts(): Promise<ProxyCounts> }): Promise<ProxyCounts> {
  let last = await proxies.counts();
  for (let i = 0; i < 60; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = await proxies.counts();
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  return last;
}

/**
 * A host's memory as the issue's targets read it: RSS at most 250 MiB as measured, and flat from
 * the early sample to the last one in what the host keeps, its RSS after full collections (at an
 * arbitrary moment RSS also holds garbage that waits for V8's next full collection).
 */
function memoryRow(
  what: string,
  raw: { early: number; end: number },
  collected: { early: CollectedMemory; end: CollectedMemory },
): [string, string, string, string, boolean] {
  const flatness = collected.end.rssMiB / collected.early.rssMiB;
  return [
    `RSS, ${what}`,
    `${raw.end.toFixed(0)} MiB; after full GCs ${collected.end.rssMiB.toFixed(0)} MiB, ${flatness.toFixed(2)}x the ${MEMORY_EARLY_SAMPLE}th`,
    `as measured ${(raw.end / raw.early).toFixed(2)}x the ${MEMORY_EARLY_SAMPLE}th; heap in use after full GCs ${collected.early.heapUsedMiB.toFixed(0)} → ${collected.end.heapUsedMiB.toFixed(0)} MiB`,
    "≤ 250 MiB, ≤ 1.10x after full GCs",
    raw.end <= 250 && flatness <= 1.1,
  ];
}

/** Invocations the host ran after byte `from` of its log, and their durations added up. */
function executionsSince(logFile: string, from: number): { count: number; ms: number } {
  const text = fs.readFileSync(logFile).subarray(from).toString("utf8");
  const durations = [...text.matchAll(/Executed \(\w+, Id=[^,]+, Duration=(\d+)ms\)/g)];
  return {
    count: durations.length,
    ms: durations.reduce((sum, match) => sum + Number(match[1]), 0),
  };
}

function pacingFigures(calls: FlowCall[], ids: Set<string>, seconds: number) {
  const ours = calls.filter((call) => ids.has(call.requestId));
  const delivered = new Set(ours.filter((call) => call.status === 202).map((c) => c.requestId));
  const notBefore = new Map<string, number>();
  let early = 0;
  for (const call of ours) {
    if (call.at < (notBefore.get(call.requestId) ?? 0)) early += 1;
    if (call.notBefore !== undefined) notBefore.set(call.requestId, call.notBefore);
  }
  const throttled = ours.filter((call) => call.status === 429).length;
  const span =
    ours.length > 1 ? ((ours.at(-1) as FlowCall).at - (ours[0] as FlowCall).at) / 1000 : 0;
  return {
    delivered: delivered.size,
    lost: ids.size - delivered.size,
    calls: ours.length,
    throttled,
    throttledShare: ours.length ? throttled / ours.length : 0,
    early,
    seconds,
    callsPerSecond: span > 0 ? ours.length / span : 0,
  };
}

main()
  .catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const each of children.reverse()) await each.stop().catch(() => undefined);
    for (const close of closers.reverse()) await close().catch(() => undefined);
    console.log(`Logs: ${workDir}`);
  });
