/**
 * flowAuth "entra" and DATA_SERVICE_AUTH=entra end to end: the host's real @azure/identity
 * (managed identity, App Service source) gets tokens from a local identity endpoint, and the
 * flow and the Data service receive them for the right audiences.
 */
import { FakeIdentityEndpoint, tokenFor } from "../adapters/http/fake-identity-endpoint";
import {
  CLIENT_ID,
  startRelayEnvironment,
  type RelayEnvironment,
} from "../support/relay-environment";

let identity: FakeIdentityEndpoint;
let env: RelayEnvironment;

beforeAll(async () => {
  // Sets IDENTITY_ENDPOINT/IDENTITY_HEADER in this process; the host inherits them.
  identity = await FakeIdentityEndpoint.start();
  env = await startRelayEnvironment({
    flow: { approver: () => ({ outcome: "Approve", email: "alice@contoso.com" }) },
    dm: { credentials: undefined },
    settings: { DATA_SERVICE_AUTH: "entra" },
  });
  await env.registerStore("contoso");
}, 60_000);
afterAll(async () => {
  await env?.stop();
  await identity?.close();
});

it("calls the flow and the Data service with managed identity tokens for their audiences", async () => {
  const triggerUrl = await env.link("contoso", "entra-flow", {
    requestUrl: `${env.flow.flowUrl}?api-version=1`,
    flowAuth: "entra",
  });
  const accepted = await env.call("POST", triggerUrl, {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ WorkflowRequestID: 7001 }),
  });
  expect(accepted.status).toBe(202);
  await env.waitForState("contoso", "7001", "applied");

  expect(env.flow.calls[0]?.headers.authorization).toBe(
    `Bearer ${tokenFor("https://service.flow.microsoft.com/")}`,
  );
  const approve = env.dm.calls.find((call) => call.path.endsWith("/Workflows/Approve"));
  expect(approve?.headers.authorization).toBe(`Bearer ${tokenFor(CLIENT_ID)}`);
  expect(identity.requestedResources()).toEqual(
    expect.arrayContaining(["https://service.flow.microsoft.com/", CLIENT_ID]),
  );
});
