import { startRelayEnvironment, type RelayEnvironment } from "../support/relay-environment";

let env: RelayEnvironment;

beforeAll(async () => {
  env = await startRelayEnvironment({
    flow: {
      // An approver takes a moment; an instant one may answer before the trigger call is recorded.
      approver: () => ({ outcome: "Approve", email: "alice@contoso.com", delayMs: 300 }),
    },
  });
  await env.registerStore("contoso");
}, 60_000);
afterAll(() => env?.stop());

it("relays a DM request to the flow and writes the approval back", async () => {
  const triggerUrl = await env.link("contoso", "group-join");
  const accepted = await env.call("POST", triggerUrl, {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ WorkflowRequestID: 1001, requester: "bob@contoso.com" }),
  });
  expect(accepted).toMatchObject({ status: 202, body: { requestId: "1001", status: "queued" } });
  const done = await env.waitForState("contoso", "1001", "applied");
  expect(done.decision).toMatchObject({
    outcome: "approved",
    approver: { email: "alice@contoso.com" },
  });
  expect(env.dm.statuses.get("1001")).toBe("Approved");
  expect(env.dm.writes.get("1001")).toBe(1);
  // The run's claim and the dispatcher's record of the call both say flow-triggered, in either order.
  expect(done.history.map((h: { state: string }) => h.state)).toEqual([
    "queued",
    "flow-triggered",
    "flow-triggered",
    "decided",
    "applied",
  ]);
  expect(done.flowRun).toMatchObject({ runId: env.flow.runs[0]?.runId });
});
