import { startRelayEnvironment, type RelayEnvironment } from "../support/relay-environment";

let env: RelayEnvironment;
const outcome = "Approve" as "Approve" | "Reject";

beforeAll(async () => {
  env = await startRelayEnvironment({
    flow: {
      approver: () => ({
        outcome,
        email: "alice@contoso.com",
        comments: outcome === "Reject" ? "not this group" : undefined,
      }),
    },
  });
  await env.registerStore("contoso");
}, 60_000);
afterAll(async () => {
  if (process.env.SHOW_LOGS) console.log(env?.logs());
  await env?.stop();
});

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
  expect(done.history.map((h: { state: string }) => h.state)).toEqual([
    "queued",
    "flow-triggered",
    "decided",
    "applied",
  ]);
});
