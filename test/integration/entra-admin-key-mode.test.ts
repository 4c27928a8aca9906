/**
 * RELAY_ADMIN_AUTH=key (the default outside Azure): the admin routes are as they were, the host
 * checks the function key, an Entra token does not stand in for it, and the key's holder is the
 * actor of the changes.
 */
import { FakeEntraIssuer } from "../support/fake-entra-issuer";
import { startRelayEnvironment, type RelayEnvironment } from "../support/relay-environment";

let issuer: FakeEntraIssuer;
let env: RelayEnvironment;

beforeAll(async () => {
  issuer = await FakeEntraIssuer.start();
  // The issuer's settings minus the mode: RELAY_ADMIN_AUTH is left to its default.
  const { RELAY_ADMIN_AUTH: _mode, ...entraSettings } = issuer.relaySettings();
  env = await startRelayEnvironment({ settings: entraSettings });
}, 60_000);
afterAll(async () => {
  await env?.stop();
  await issuer?.close();
});

it("answers GET /api/me for the function key's holder", async () => {
  const me = await env.admin("GET", "me");
  expect(me.status).toBe(200);
  expect(me.body).toEqual({
    mode: "key",
    actor: { id: "function-key" },
    roles: ["Relay.Admin"],
    canChange: true,
  });
});

it("takes no Entra token in place of the key, and never asks Entra", async () => {
  const token = await issuer.token();
  const withToken = await env.call("GET", "/api/me", {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(withToken.status).toBe(401);
  expect(issuer.served).toEqual({ metadata: 0, jwks: 0 });
});

it("logs a change with the function key as its actor", async () => {
  await env.registerStore("contoso");
  const line = "admin change [actor=function-key action=registerStore method=PUT storeId=contoso]";
  // The host writes an invocation's lines together, just after it answers.
  for (let tries = 0; tries < 50 && !env.logs().includes(line); tries++)
    await new Promise((resolve) => setTimeout(resolve, 100));
  expect(env.logs()).toContain(line);
});
