/** Killing the host between DM's trigger and the dispatch loses nothing and applies each decision once. */
import { startRelayEnvironment, type RelayEnvironment } from "../support/relay-environment";

let env: RelayEnvironment;
let slowFlow = true;

beforeAll(async () => {
  env = await startRelayEnvironment({
    // While slowFlow is on, the flow takes long enough for the host to be killed mid-call.
    flow: {
      respond: () => (slowFlow ? "hang" : { status: 202 }),
      approver: () => ({ outcome: "Approve", email: "alice@contoso.com" }),
    },
    settings: { RELAY_HTTP_TIMEOUT_MS: "20000" },
  });
  await env.registerStore("contoso");
}, 60_000);
afterAll(() => env?.stop());

it("loses no request when the host is killed while they wait or run, and applies each once", async () => {
  const triggerUrl = await env.link("contoso", "group-join");
  const ids = Array.from({ length: 12 }, (_, i) => String(9000 + i));
  for (const id of ids) {
    const answer = await env.call("POST", triggerUrl, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ WorkflowRequestID: Number(id) }),
    });
    expect(answer.status).toBe(202);
  }
  // Some flow calls are under way (hanging), the rest wait in the emulator.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await env.killHost();
  slowFlow = false;
  await env.startHost();

  for (const id of ids) await env.waitForState("contoso", id, "applied", 40_000);
  for (const id of ids) expect(env.dm.writes.get(id)).toBe(1);
}, 90_000);
