/** CONTRACT sections 1, 2 and 6 (reads), through the local host, Azurite and the emulator. */
import {
  CLIENT_ID,
  TENANT_ID,
  startRelayEnvironment,
  type RelayEnvironment,
} from "../support/relay-environment";

let env: RelayEnvironment;
beforeAll(async () => {
  env = await startRelayEnvironment();
}, 60_000);
afterAll(() => env?.stop());

const registration = (dm: RelayEnvironment["dm"], change: Record<string, unknown> = {}) => ({
  organizationCode: "contoso",
  region: "crm",
  dataServiceUrl: dm.dataServiceUrl,
  securityServiceUrl: dm.securityServiceUrl,
  identityStoreId: 3,
  tenantId: TENANT_ID,
  clientId: CLIENT_ID,
  ...change,
});

describe("1. registering a store's Power Automate client", () => {
  it("stores and returns the registration", async () => {
    const put = await env.admin("PUT", "stores/fabrikam/power-automate", registration(env.dm));
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      storeId: "fabrikam",
      region: "crm",
      identityStoreId: 3,
      tenantId: TENANT_ID,
    });
    const get = await env.admin("GET", "stores/fabrikam/power-automate");
    expect(get.status).toBe(200);
    expect(get.body).toEqual(put.body);
  });

  it("answers 404 for a store that is not registered", async () => {
    const answer = await env.admin("GET", "stores/nobody/power-automate");
    expect(answer.status).toBe(404);
    expect(answer.headers.get("content-type")).toContain("application/problem+json");
  });

  it.each([
    [{ tenantId: "not-a-guid" }, "/tenantId"],
    [{ clientId: 5 }, "/clientId"],
    [{ dataServiceUrl: "http://dm.contoso.com/GroupIDDataService" }, "/dataServiceUrl"],
    [{ dataServiceUrl: "https://user:pw@dm.contoso.com/x" }, "/dataServiceUrl"],
    [{ region: "crm.dynamics" }, "/region"],
    [{ region: "westeurope" }, "/region"],
    [{ organizationCode: "con toso" }, "/organizationCode"],
    [{ identityStoreId: 0 }, "/identityStoreId"],
    [{ identityStoreId: "1" }, "/identityStoreId"],
    [{ securityServiceUrl: undefined }, "/securityServiceUrl"],
  ])("refuses %j with a 400 naming the field", async (change, path) => {
    const answer = await env.admin(
      "PUT",
      "stores/fabrikam/power-automate",
      registration(env.dm, change),
    );
    expect(answer.status).toBe(400);
    expect(answer.headers.get("content-type")).toContain("application/problem+json");
    expect(answer.body).toMatchObject({
      status: 400,
      title: expect.any(String),
      detail: expect.any(String),
    });
    expect(answer.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it("refuses a body that is not JSON, and a bad store id, with 400 problems", async () => {
    const notJson = await env.call("PUT", "/api/stores/fabrikam/power-automate", {
      headers: { "x-functions-key": "integration-admin-key" },
      body: "{nope",
    });
    expect(notJson.status).toBe(400);
    const badId = await env.admin("PUT", "stores/-bad!/power-automate", registration(env.dm));
    expect(badId.status).toBe(400);
    expect(badId.body.errors).toEqual([{ path: "/path/storeId", message: expect.any(String) }]);
  });

  it("needs the admin key", async () => {
    const anonymous = await env.call("GET", "/api/stores/fabrikam/power-automate");
    expect(anonymous.status).toBe(401);
    const wrong = await env.call("GET", "/api/stores/fabrikam/power-automate?code=wrong");
    expect(wrong.status).toBe(401);
    const viaQuery = await env.call(
      "GET",
      "/api/stores/fabrikam/power-automate?code=integration-admin-key",
    );
    expect(viaQuery.status).toBe(200);
  });
});

describe("2. linking a workflow to a flow", () => {
  beforeAll(() => env.registerStore("contoso"));

  it("returns the trigger URL once, and the link without secrets afterwards", async () => {
    const put = await env.admin("PUT", "stores/contoso/workflows/wf-1/flow", {
      requestUrl: `${env.flow.flowUrl}?api-version=1&sig=flow-SIG-secret-123`,
      workflowName: "Group join approval",
      approvers: ["alice@contoso.com"],
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      storeId: "contoso",
      workflowId: "wf-1",
      flowAuth: "sas",
      flow: { host: `127.0.0.1:${env.flow.port}` },
    });
    expect(put.body.triggerUrl).toMatch(
      new RegExp(
        `^${env.baseUrl}/api/stores/contoso/workflows/wf-1/trigger\\?sig=[A-Za-z0-9_-]{40,}$`,
      ),
    );
    expect(JSON.stringify(put.body)).not.toContain("flow-SIG-secret-123");
    expect(put.body.flow.redactedUrl).toContain("sig=REDACTED");

    const get = await env.admin("GET", "stores/contoso/workflows/wf-1/flow");
    expect(get.status).toBe(200);
    expect(get.body.triggerUrl).toBeUndefined();
    expect(JSON.stringify(get.body)).not.toContain("flow-SIG-secret-123");
    expect(JSON.stringify(get.body)).not.toContain(
      new URL(put.body.triggerUrl).searchParams.get("sig"),
    );
  });

  it("keeps the trigger URL on re-link and changes it only when asked", async () => {
    const first = await env.link("contoso", "wf-2");
    expect(await env.link("contoso", "wf-2", { workflowName: "renamed" })).toBe(first);
    const rotated = await env.link("contoso", "wf-2", { rotateTriggerKey: true });
    expect(rotated).not.toBe(first);
    const old = await env.call("POST", first, {
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(old.status).toBe(401);
  });

  it("defaults flowAuth to entra for a URL without sig", async () => {
    const answer = await env.admin("PUT", "stores/contoso/workflows/wf-3/flow", {
      requestUrl: `${env.flow.flowUrl}?api-version=1`,
    });
    expect(answer.body.flowAuth).toBe("entra");
  });

  it("answers 409 when the store is not registered", async () => {
    const answer = await env.admin("PUT", "stores/unregistered/workflows/wf/flow", {
      requestUrl: `${env.flow.flowUrl}?sig=x`,
    });
    expect(answer.status).toBe(409);
  });

  it.each([
    ["http://flows.example.com/x?sig=1", "/requestUrl"],
    ["https://evil.example.com/x?sig=1", "/requestUrl"],
    ["https://user:pw@x.environment.api.powerplatform.com/x", "/requestUrl"],
    ["https://10.1.2.3/x?sig=1", "/requestUrl"],
    ["https://169.254.169.254/metadata", "/requestUrl"],
    ["not a url", "/requestUrl"],
  ])("refuses the flow URL %s", async (requestUrl, path) => {
    const answer = await env.admin("PUT", "stores/contoso/workflows/wf-bad/flow", { requestUrl });
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((e: { path: string }) => e.path)).toEqual([path]);
  });

  it("refuses bad approvers, flowAuth and pointers naming each field", async () => {
    const answer = await env.admin("PUT", "stores/contoso/workflows/wf-bad/flow", {
      requestUrl: `${env.flow.flowUrl}?sig=1`,
      approvers: ["not-an-email"],
      flowAuth: "basic",
      requestIdPointer: "request.id",
    });
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      "/approvers/0",
      "/flowAuth",
      "/requestIdPointer",
    ]);
  });

  it("unlinks: the trigger URL then answers 404, and so does a second unlink", async () => {
    const triggerUrl = await env.link("contoso", "wf-4");
    expect((await env.admin("DELETE", "stores/contoso/workflows/wf-4/flow")).status).toBe(204);
    expect((await env.admin("GET", "stores/contoso/workflows/wf-4/flow")).status).toBe(404);
    const trigger = await env.call("POST", triggerUrl, {
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(trigger.status).toBe(404);
    expect((await env.admin("DELETE", "stores/contoso/workflows/wf-4/flow")).status).toBe(404);
  });
});

describe("6. request status (reads)", () => {
  it("answers 404 for an unknown request and 400 for an unknown state filter", async () => {
    expect((await env.admin("GET", "stores/contoso/requests/unknown-1")).status).toBe(404);
    const badState = await env.admin("GET", "stores/contoso/requests?state=finished");
    expect(badState.status).toBe(400);
    expect(badState.body.errors[0].path).toBe("/query/state");
    expect((await env.admin("GET", "stores/contoso/requests/bad!id")).status).toBe(400);
  });
});
