/**
 * The flow simulator (dev/simulators/flow-simulator.ts) behaves like a flow made from the
 * relay's template: it claims first, starts the approval only on a 200 with proceed, ends on a
 * 409, and posts the decision with x-relay-run-id. It runs against a real HTTP server playing
 * the relay's claim and decision routes.
 */
import {
  startFlowSimulator,
  type FlowSimulator,
  type FlowSimulatorStats,
} from "../../dev/simulators/flow-simulator";
import { startFakeClaimRelay, type FakeClaimRelay } from "../support/fake-claim-relay";

let relay: FakeClaimRelay;
let flow: FlowSimulator;
/** Requests whose approver does not answer, and requests whose next run stalls. */
const silent = new Set<string>();
const stalled = new Set<string>();
const requestIdOf = (call: { headers: Record<string, unknown> }) =>
  String(call.headers["x-relay-request-id"]);

beforeAll(async () => {
  relay = await startFakeClaimRelay();
  flow = await startFlowSimulator({
    approver: (call) =>
      silent.has(requestIdOf(call))
        ? undefined
        : { outcome: "Approve", email: "alice@contoso.com" },
    claim: (call) => {
      if (stalled.delete(requestIdOf(call))) return "stall";
      return call.headers["x-relay-claim-url"] ? "claim" : "skip";
    },
    respond: (call) => (requestIdOf(call) === "throttled" ? { status: 429 } : { status: 202 }),
  });
});
afterAll(async () => {
  await flow?.close();
  await relay?.close();
});

/** The relay's call to the flow (CONTRACT section 4). */
const callFlow = (requestId: string, attempt = 1, omit: string[] = []) => {
  const headers = relay.flowCallHeaders("contoso", requestId, attempt);
  for (const name of omit) delete headers[name];
  return fetch(`${flow.flowUrl}?sig=flow-sig`, {
    method: "POST",
    headers,
    body: JSON.stringify({ WorkflowRequestID: requestId }),
  });
};
const runsOf = (requestId: string) => flow.runs.filter((run) => run.requestId === requestId);
const ended = (requestId: string, count: number) =>
  flow.waitFor(
    () => runsOf(requestId).filter((run) => run.status !== "Running").length >= count,
    15_000,
  );

it("claims first and, for a repeated call of a request, starts one approval and one decision", async () => {
  const answers = await Promise.all([callFlow("3001"), callFlow("3001", 2)]);
  expect(answers.map((answer) => answer.status)).toEqual([202, 202]);
  const runIds = answers.map((answer) => answer.headers.get("x-ms-workflow-run-id"));
  expect(new Set(runIds).size).toBe(2);
  for (const runId of runIds) expect(runId).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
  await ended("3001", 2);

  const winner = relay.claimedBy("3001");
  expect(runIds).toContain(winner);
  const runs = runsOf("3001");
  expect(runs.map((run) => run.runId).sort()).toEqual([...runIds].sort());
  expect(runs.find((run) => run.runId === winner)).toMatchObject({
    approvalStarted: true,
    claim: { status: 200, attempts: 1, body: { proceed: true, runId: winner } },
    decision: { status: 202 },
    status: "Succeeded",
    clientTrackingId: "3001",
  });
  expect(runs.find((run) => run.runId !== winner)).toMatchObject({
    approvalStarted: false,
    claim: { status: 409, attempts: 1, body: { proceed: false, claimedBy: winner } },
    status: "Cancelled",
  });
  expect(relay.claims.filter((claim) => claim.requestId === "3001")).toEqual([
    expect.objectContaining({
      authorization: "Bearer v1.token-of-3001.mac",
      body: {
        runId: expect.any(String),
        flowName: expect.stringMatching(/^[A-Za-z0-9._-]+$/),
        environmentName: expect.stringMatching(/^[A-Za-z0-9._-]+$/),
      },
    }),
    expect.anything(),
  ]);
  expect(relay.decisions.filter((decision) => decision.requestId === "3001")).toEqual([
    expect.objectContaining({
      runId: winner,
      status: 202,
      body: expect.objectContaining({ outcome: "Approve" }),
    }),
  ]);
  // Calls and approvals are counted apart, per request.
  expect(flow.stats().byRequest["3001"]).toEqual({
    calls: 2,
    runs: 2,
    claims: 2,
    approvalsStarted: 1,
    decisionsPosted: 1,
  });
});

it("retries a claim answered 503, and fails a run whose claim keeps failing", async () => {
  relay.failNextClaims("3002", [503, 503]);
  await callFlow("3002");
  relay.failNextClaims("3003", Array(10).fill(500));
  await callFlow("3003");
  await ended("3002", 1);
  await ended("3003", 1);
  expect(runsOf("3002")[0]).toMatchObject({
    claim: { status: 200, attempts: 3 },
    approvalStarted: true,
    status: "Succeeded",
  });
  // The template's policy: 6 retries, then Terminate as Failed; no approval.
  expect(runsOf("3003")[0]).toMatchObject({
    claim: { status: 500, attempts: 7 },
    approvalStarted: false,
    status: "Failed",
  });
  expect(relay.decisions.some((decision) => decision.requestId === "3003")).toBe(false);
});

it("ends a run whose request is decided already, and one the relay refuses (401, not retried)", async () => {
  await callFlow("3004");
  await ended("3004", 1);
  await callFlow("3004", 2);
  await ended("3004", 2);
  expect(runsOf("3004")[1]).toMatchObject({
    claim: { status: 409, body: { proceed: false, state: "decided" } },
    status: "Cancelled",
  });

  const headers = relay.flowCallHeaders("contoso", "3005");
  await fetch(flow.flowUrl, {
    method: "POST",
    headers: { ...headers, "x-relay-callback-token": "v1.forged.mac" },
    body: "{}",
  });
  await ended("3005", 1);
  expect(runsOf("3005")[0]).toMatchObject({
    claim: { status: 401, attempts: 1 },
    approvalStarted: false,
    status: "Failed",
  });
});

it("waits on an approval nobody answers, and keeps a stalled run from claiming", async () => {
  silent.add("3006");
  stalled.add("3007");
  await callFlow("3006");
  await callFlow("3007");
  await flow.waitFor((stats) => stats.byRequest["3006"]?.approvalsStarted === 1, 15_000);
  expect(runsOf("3006")[0]?.status).toBe("Running");
  expect(runsOf("3007")[0]).toMatchObject({ status: "Running", approvalStarted: false });
  expect(runsOf("3007")[0]?.claim).toBeUndefined();
  // The next call of the request (the relay calling again) claims and is approved.
  await callFlow("3007", 2);
  await flow.waitFor(() => runsOf("3007").some((run) => run.status === "Succeeded"), 15_000);
  expect(relay.claimedBy("3007")).toBe(runsOf("3007")[1]?.runId);
});

it("plays a hand-made flow without the claim step when the call offers no claim URL", async () => {
  await callFlow("3008", 1, ["x-relay-claim-url"]);
  await flow.waitFor(() => runsOf("3008")[0]?.approvalStarted === true, 15_000);
  expect(runsOf("3008")[0]?.claim).toBeUndefined();
  expect(relay.claims.some((claim) => claim.requestId === "3008")).toBe(false);
});

it("starts no run for a call it refuses, and serves its counts at GET /stats", async () => {
  expect((await callFlow("throttled")).status).toBe(429);
  expect(runsOf("throttled")).toEqual([]);
  const served = await fetch(flow.statsUrl);
  expect(served.status).toBe(200);
  const stats = (await served.json()) as FlowSimulatorStats;
  expect(stats).toEqual(flow.stats());
  expect(stats.byRequest.throttled).toEqual({
    calls: 1,
    runs: 0,
    claims: 0,
    approvalsStarted: 0,
    decisionsPosted: 0,
  });
  expect(stats.calls).toBe(flow.calls.length);
  expect(stats.approvalsStarted).toBe(flow.runs.filter((run) => run.approvalStarted).length);
  expect(stats.approvalsStarted).toBeLessThan(stats.calls);
});
