/**
 * `configureDirectoryManager` (CONTRACT 2): the relay writes its trigger URL into DM's workflow
 * route itself, through DM's route API played by a real HTTP server with DM's envelope.
 */
import { startRelayEnvironment, type RelayEnvironment } from "../support/relay-environment";

let env: RelayEnvironment;

beforeAll(async () => {
  env = await startRelayEnvironment();
  await env.registerStore("contoso");
}, 60_000);
afterAll(() => env?.stop());

const linkBody = (extra: Record<string, unknown> = {}) => ({
  requestUrl: `${env.flow.flowUrl}?api-version=1&sig=flow-SIG-secret-123`,
  approvers: ["alice@contoso.com"],
  configureDirectoryManager: true,
  ...extra,
});

it("reads the workflow route and saves it with the trigger URL, keeping the rest", async () => {
  env.dm.routes.set("42", {
    workflowRouteId: 42,
    name: "Group join approval",
    isEnabled: true,
    msFlowRequestUrl: "https://old.environment.api.powerplatform.com/flow?sig=old",
  });

  const answer = await env.admin("PUT", "stores/contoso/workflows/42/flow", linkBody());
  expect(answer.status).toBe(200);
  expect(answer.body.directoryManager).toEqual({ configured: true });
  expect(env.dm.routes.get("42")).toEqual({
    workflowRouteId: 42,
    name: "Group join approval",
    isEnabled: true,
    msFlowRequestUrl: answer.body.triggerUrl,
  });
  const patch = env.dm.calls.find((call) => call.method === "PATCH");
  expect(patch?.path).toBe("/GroupIDDataService/api/IdentityStores/7/Workflows/Route");
  expect(JSON.parse(patch?.body ?? "{}").items).toHaveLength(1);
  expect(patch?.headers.authorization).toMatch(/^Bearer /);

  // DM now posts to the relay: a request through the configured URL reaches applied.
  const trigger = await env.call("POST", String(env.dm.routes.get("42")?.msFlowRequestUrl), {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ WorkflowRequestID: 4242 }),
  });
  expect(trigger.status).toBe(202);
});

it("keeps the link and answers 502 naming DM's call when DM refuses; running it again is safe", async () => {
  const refused = await env.admin("PUT", "stores/contoso/workflows/43/flow", linkBody());
  expect(refused.status).toBe(502);
  expect(refused.headers.get("content-type")).toBe("application/problem+json");
  expect(refused.body.upstream.call).toBe("Directory Manager: read workflow route 43");
  expect(refused.body.detail).toMatch(/workflow route 43 not found/);
  expect(refused.body.triggerUrl).toMatch(/\/workflows\/43\/trigger\?sig=/);
  expect((await env.admin("GET", "stores/contoso/workflows/43/flow")).status).toBe(200);

  env.dm.routes.set("43", { workflowRouteId: 43, name: "Manager change" });
  const again = await env.admin("PUT", "stores/contoso/workflows/43/flow", linkBody());
  expect(again.status).toBe(200);
  // Re-linking keeps the trigger URL, so DM's route names the same one the 502 gave.
  expect(again.body.triggerUrl).toBe(refused.body.triggerUrl);
  expect(env.dm.routes.get("43")?.msFlowRequestUrl).toBe(again.body.triggerUrl);
});
