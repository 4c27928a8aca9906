/**
 * Killing the host (SIGKILL) while flow calls are in flight: a call that reached the flow but was
 * never recorded is made again after redelivery and starts a second run. The claim (CONTRACT 4b)
 * must end every second run before its approval, so each request gets exactly one approval and
 * one decision applied, and nothing is lost.
 */
import { startRelayEnvironment, type RelayEnvironment } from "../support/relay-environment";

const REQUESTS = 40;
let env: RelayEnvironment;
let slowFlow = true;

beforeAll(async () => {
  env = await startRelayEnvironment({
    flow: {
      // The run starts at once, as Power Automate's does; the answer comes late while slowFlow is
      // on, so calls are in flight (sent, not recorded) when the host is killed.
      respond: () => ({ status: 202, ...(slowFlow && { delayMs: 1_500 }) }),
      // Runs of the killed calls claim late, after the relay has called the flow again.
      claimDelayMs: () => (slowFlow ? 8_000 : 0),
      approver: () => ({ outcome: "Approve", email: "alice@contoso.com", delayMs: 300 }),
    },
    settings: { RELAY_HTTP_TIMEOUT_MS: "20000" },
  });
  await env.registerStore("contoso");
}, 60_000);
afterAll(() => env?.stop());

it("gives each request one approval and one decision when the host dies mid-call", async () => {
  const triggerUrl = await env.link("contoso", "group-join");
  const ids = Array.from({ length: REQUESTS }, (_, i) => String(9000 + i));
  for (const id of ids) {
    const answer = await env.call("POST", triggerUrl, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ WorkflowRequestID: Number(id) }),
    });
    expect(answer.status).toBe(202);
  }
  await env.flow.waitFor((stats) => stats.calls >= 4, 20_000);
  await env.killHost();
  const inFlight = env.flow.stats().calls;
  slowFlow = false;
  await env.startHost();

  for (const id of ids) await env.waitForState("contoso", id, "applied", 60_000);
  // The killed calls' runs claim late; wait until every run has ended.
  const stats = await env.flow.waitFor((now) => now.runStatuses.Running === 0, 30_000);
  for (const id of ids) {
    expect(stats.byRequest[id]?.approvalsStarted).toBe(1);
    expect(env.dm.writes.get(id)).toBe(1);
  }
  // Requests whose call was in flight reached the flow twice; their second run ended on a 409.
  const repeated = ids.filter((id) => (stats.byRequest[id]?.runs ?? 0) > 1);
  expect(repeated.length).toBeGreaterThan(0);
  const secondRuns = env.flow.runs.filter(
    (run) => repeated.includes(run.requestId) && !run.approvalStarted,
  );
  expect(secondRuns.length).toBeGreaterThan(0);
  for (const run of secondRuns) {
    expect(run.claim?.status).toBe(409);
    expect(run.status).toBe("Cancelled");
  }
  process.stdout.write(
    `crash test: ${inFlight} flow calls before the kill, ${stats.runs} runs for ${REQUESTS} requests, ` +
      `${repeated.length} requests called twice, ${stats.approvalsStarted} approvals started\n`,
  );
}, 150_000);
