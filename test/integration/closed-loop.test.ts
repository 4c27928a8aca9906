/**
 * The closed loop end to end (CONTRACT 4b, 6 and 6b): the local host, Azurite and the emulator,
 * a flow that behaves as the relay's template does (it claims first), DM's Data service, Power
 * Automate's management API for cancelling runs, and @azure/identity against a local
 * managed-identity endpoint for its token.
 */
import { FakeHttpServer, type ReceivedRequest } from "../adapters/http/fake-http-server";
import { FakeIdentityEndpoint, tokenFor } from "../adapters/http/fake-identity-endpoint";
import { startRelayEnvironment, type RelayEnvironment } from "../support/relay-environment";

const JSON_HEADERS = { "content-type": "application/json" };
const approve = () => ({ outcome: "Approve" as const, email: "alice@contoso.com" });

let identity: FakeIdentityEndpoint;
let powerAutomate: FakeHttpServer;
/** Runs whose cancel Power Automate refuses with 403. */
const refusedRuns = new Set<string>();

const cancelCalls = (): ReceivedRequest[] =>
  powerAutomate.requests.filter((request) => request.url.includes("/cancel?"));
const cancelsOf = (runId: string): ReceivedRequest[] =>
  cancelCalls().filter((request) => request.url.includes(`/runs/${runId}/cancel`));

beforeAll(async () => {
  // Sets IDENTITY_ENDPOINT/IDENTITY_HEADER in this process; every host started below inherits them.
  identity = await FakeIdentityEndpoint.start();
  powerAutomate = await FakeHttpServer.start();
  powerAutomate.respondWith((request) => {
    const runId = /\/runs\/([^/]+)\/cancel/.exec(request.url)?.[1] ?? "";
    return refusedRuns.has(runId)
      ? { status: 403, body: { error: { code: "AuthorizationFailed", message: "no access" } } }
      : { status: 200, body: {} };
  });
});
afterAll(async () => {
  await powerAutomate?.close();
  await identity?.close();
});

async function trigger(env: RelayEnvironment, triggerUrl: string, id: number): Promise<void> {
  const answer = await env.call("POST", triggerUrl, {
    headers: JSON_HEADERS,
    body: JSON.stringify({ WorkflowRequestID: id, requester: "bob@contoso.com" }),
  });
  expect(answer.status).toBe(202);
}

async function reconcile(env: RelayEnvironment): Promise<void> {
  expect(await env.runFunction("reconcile")).toBe(202);
}

/** Waits until a run has claimed the request; its status then names the run. */
async function waitForClaim(env: RelayEnvironment, id: string): Promise<any> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const status = (await env.admin("GET", `stores/contoso/requests/${id}`)).body;
    if (status?.flowRun) return status;
    if (Date.now() > deadline)
      throw new Error(`request ${id} was never claimed: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("when DM decides first", () => {
  let env: RelayEnvironment;
  beforeAll(async () => {
    // Nobody answers the approvals: they wait, as Power Automate's do, until DM decides.
    env = await startRelayEnvironment({
      flow: { approver: () => undefined },
      settings: { POWER_AUTOMATE_API_URL: powerAutomate.baseUrl },
    });
    await env.registerStore("contoso");
  }, 60_000);
  afterAll(() => env?.stop());

  it("checks 60 open requests with DM in at most 3 calls", async () => {
    const triggerUrl = await env.link("contoso", "bulk");
    const ids = Array.from({ length: 60 }, (_, i) => 5000 + i);
    for (const id of ids) await trigger(env, triggerUrl, id);
    await env.flow.waitFor((stats) => stats.approvalsStarted >= 60, 60_000);
    for (const id of ids) await waitForClaim(env, String(id));

    const checks = () =>
      env.dm.calls.filter((call) => call.method === "GET" && call.path.endsWith("/Workflows"));
    const before = checks().length;
    await reconcile(env);
    const made = checks().slice(before);
    expect(made.length).toBeGreaterThan(0);
    expect(made.length).toBeLessThanOrEqual(3);
    const asked = made.flatMap((call) => call.query.getAll("ids"));
    expect(new Set(asked)).toEqual(new Set(ids.map(String)));
    for (const call of made) expect(call.query.getAll("ids").length).toBeLessThanOrEqual(50);
    // DM still shows them Pending: nothing changed, nothing was cancelled.
    expect((await env.admin("GET", "stores/contoso/requests/5000")).body.state).toBe(
      "flow-triggered",
    );
    expect(cancelCalls()).toHaveLength(0);
  }, 120_000);

  it("records superseded and cancels the claimed run exactly once", async () => {
    const triggerUrl = await env.link("contoso", "dm-first");
    await trigger(env, triggerUrl, 6001);
    const claimed = await waitForClaim(env, "6001");
    const runId: string = claimed.flowRun.runId;
    expect(env.flow.runs.find((run) => run.requestId === "6001")?.runId).toBe(runId);
    expect(claimed.flowRun.portalUrl).toBe(
      `https://make.powerautomate.com/environments/${claimed.flowRun.environmentName}/flows/${claimed.flowRun.flowName}/runs/${runId}`,
    );

    env.dm.statuses.set("6001", "Approved");
    await reconcile(env);
    const status = (await env.admin("GET", "stores/contoso/requests/6001")).body;
    expect(status).toMatchObject({ state: "superseded", dmOutcome: "approved" });
    expect(status.flowRun.cancelledAt).toEqual(expect.any(String));
    const [cancel] = cancelsOf(runId);
    expect(cancel?.method).toBe("POST");
    expect(cancel?.url).toBe(
      `/providers/Microsoft.ProcessSimple/environments/${claimed.flowRun.environmentName}/flows/${claimed.flowRun.flowName}/runs/${runId}/cancel?api-version=2016-11-01`,
    );
    expect(cancel?.headers.authorization).toBe(
      `Bearer ${tokenFor("https://service.flow.microsoft.com/")}`,
    );

    // Later passes leave it alone; a late decision from the run is refused naming DM.
    await reconcile(env);
    expect(cancelsOf(runId)).toHaveLength(1);
    expect(env.dm.writes.get("6001")).toBeUndefined();
  }, 60_000);

  it("records a refused cancel in the status, keeps the state, and does not try again", async () => {
    const triggerUrl = await env.link("contoso", "refused-cancel");
    await trigger(env, triggerUrl, 6002);
    const runId: string = (await waitForClaim(env, "6002")).flowRun.runId;
    refusedRuns.add(runId);

    env.dm.statuses.set("6002", "Denied");
    await reconcile(env);
    await reconcile(env);
    await reconcile(env);
    const status = (await env.admin("GET", "stores/contoso/requests/6002")).body;
    expect(status).toMatchObject({ state: "superseded", dmOutcome: "denied" });
    expect(status.flowRun.cancelError).toMatch(/403/);
    expect(status.flowRun.cancelledAt).toBeUndefined();
    expect(cancelsOf(runId)).toHaveLength(1);
  }, 60_000);
});

describe("when a step is lost or a run never claims", () => {
  let env: RelayEnvironment;
  /** Requests whose first flow call answers 503 with a short Retry-After. */
  const throttledOnce = new Set<string>();
  /** Requests whose first run never gets to its claim. */
  const stallFirstRun = new Set<string>();
  beforeAll(async () => {
    env = await startRelayEnvironment({
      flow: {
        approver: approve,
        respond: (call) => {
          const id = String(call.headers["x-relay-request-id"]);
          if (!throttledOnce.delete(id)) return { status: 202 };
          return { status: 503, headers: { "retry-after": "2" } };
        },
        claim: (call) =>
          stallFirstRun.delete(String(call.headers["x-relay-request-id"])) ? "stall" : "claim",
      },
      settings: {
        POWER_AUTOMATE_API_URL: powerAutomate.baseUrl,
        RELAY_STUCK_AFTER_MINUTES: "0",
        RELAY_CLAIM_TIMEOUT_MINUTES: "0",
      },
    });
    await env.registerStore("contoso");
  }, 60_000);
  afterAll(() => env?.stop());

  it("queues a retry lost with an emulator restart again, and applies it after one reconcile", async () => {
    const triggerUrl = await env.link("contoso", "lost-retry");
    throttledOnce.add("7001");
    await trigger(env, triggerUrl, 7001);
    const deadline = Date.now() + 20_000;
    let waiting: any;
    do {
      waiting = (await env.admin("GET", "stores/contoso/requests/7001")).body;
      if (Date.now() > deadline) throw new Error(JSON.stringify(waiting));
    } while (!waiting.nextAttemptAt);
    expect(waiting).toMatchObject({ state: "queued", attempts: { flow: 1 } });

    // The retry was a scheduled message in the emulator; an empty emulator has lost it.
    await env.restartEmulatorEmpty();
    await new Promise((resolve) =>
      setTimeout(resolve, Date.parse(waiting.nextAttemptAt) - Date.now() + 200),
    );
    await reconcile(env);
    const applied = await env.waitForState("contoso", "7001", "applied", 30_000);
    expect(applied.history.map((entry: { detail: string }) => entry.detail)).toEqual(
      expect.arrayContaining([expect.stringMatching(/attempt 2 never ran.*queued attempt 3/)]),
    );
    expect(env.flow.stats().byRequest["7001"]).toMatchObject({ approvalsStarted: 1 });
    expect(env.dm.writes.get("7001")).toBe(1);
  }, 90_000);

  it("calls a claiming flow again when its run never claims, and applies the request", async () => {
    const triggerUrl = await env.link("contoso", "silent-run");
    // A first request claims: the relay learns that this link's flow claims.
    await trigger(env, triggerUrl, 7101);
    await env.waitForState("contoso", "7101", "applied");
    expect((await env.admin("GET", "stores/contoso/workflows/silent-run/flow")).body.claims).toBe(
      true,
    );

    stallFirstRun.add("7102");
    await trigger(env, triggerUrl, 7102);
    await env.waitForState("contoso", "7102", "flow-triggered");
    await reconcile(env);
    await env.waitForState("contoso", "7102", "applied", 30_000);
    expect(env.flow.stats().byRequest["7102"]).toMatchObject({ runs: 2, approvalsStarted: 1 });
    expect(env.dm.writes.get("7102")).toBe(1);
  }, 90_000);
});

describe("when a request outlives its TTL", () => {
  let env: RelayEnvironment;
  beforeAll(async () => {
    env = await startRelayEnvironment({
      flow: { approver: () => undefined },
      settings: { POWER_AUTOMATE_API_URL: powerAutomate.baseUrl, RELAY_REQUEST_TTL_DAYS: "0" },
    });
    await env.registerStore("contoso");
  }, 60_000);
  afterAll(() => env?.stop());

  it("expires it and cancels its run", async () => {
    const triggerUrl = await env.link("contoso", "forgotten");
    await trigger(env, triggerUrl, 8001);
    const runId: string = (await waitForClaim(env, "8001")).flowRun.runId;
    await reconcile(env);
    const status = (await env.admin("GET", "stores/contoso/requests/8001")).body;
    expect(status.state).toBe("expired");
    expect(status.flowRun.cancelledAt).toEqual(expect.any(String));
    expect(cancelsOf(runId)).toHaveLength(1);
    // The run's claim and decision are refused from now on.
    const claim = await env.call("POST", `/api/stores/contoso/requests/8001/claim`, {
      headers: {
        ...JSON_HEADERS,
        authorization: `Bearer ${env.flow.calls.at(-1)?.headers["x-relay-callback-token"]}`,
      },
      body: JSON.stringify({ runId: "another", flowName: "f", environmentName: "e" }),
    });
    expect(claim.status).toBe(409);
    expect(claim.body).toMatchObject({ proceed: false, state: "expired" });
  }, 60_000);
});
