/**
 * `POST .../flow/create` through the local host, against real HTTP servers playing Dataverse
 * and the Power Automate API, with tokens from the real @azure/identity managed identity code
 * (App Service endpoint on 127.0.0.1).
 */
import { cloudFlowId } from "../../shared/domain/flow-template";
import type { FakeHttpServer } from "../adapters/http/fake-http-server";
import { FakeIdentityEndpoint, tokenFor } from "../adapters/http/fake-identity-endpoint";
import {
  CURRENT_ORGANIZATION,
  DATAVERSE_API,
  environmentIdOf,
  startFakePowerPlatform,
  type FakePowerPlatform,
} from "../support/fake-power-platform";
import {
  CLIENT_ID,
  TENANT_ID,
  startRelayEnvironment,
  type RelayEnvironment,
} from "../support/relay-environment";

let identity: FakeIdentityEndpoint;
let platform: FakePowerPlatform;
let env: RelayEnvironment;

beforeAll(async () => {
  // Before the host starts, so that it inherits the managed identity environment.
  identity = await FakeIdentityEndpoint.start();
  platform = await startFakePowerPlatform(() => env.flow.flowUrl);
  env = await startRelayEnvironment({
    flow: { approver: () => ({ outcome: "Approve", email: "alice@contoso.com" }) },
    settings: platform.settings,
  });
}, 60_000);
afterAll(async () => {
  await env?.stop();
  await platform?.close();
  await identity?.close();
});

async function register(storeId: string, organizationCode: string, region: string) {
  const answer = await env.admin("PUT", `stores/${storeId}/power-automate`, {
    organizationCode,
    region,
    dataServiceUrl: env.dm.dataServiceUrl,
    securityServiceUrl: env.dm.securityServiceUrl,
    identityStoreId: 7,
    tenantId: TENANT_ID,
    clientId: CLIENT_ID,
  });
  expect(answer.status).toBe(200);
}

const create = (storeId: string, workflowId: string, body: unknown) =>
  env.admin("POST", `stores/${storeId}/workflows/${workflowId}/flow/create`, body);

const callsTo = (server: FakeHttpServer, prefix: string) =>
  server.requests.filter((request) => request.url.startsWith(prefix));

describe("creating a workflow's flow in the store's environment", () => {
  it.each(["crm", "crm4", "crm11"])(
    "creates, turns on and links the flow in the %s region",
    async (region) => {
      const storeId = `store-${region}`;
      await register(storeId, "contoso", region);
      const answer = await create(storeId, "group-join", {
        workflowName: "Group join approval",
        approvers: ["alice@contoso.com"],
      });
      expect(answer.status).toBe(200);
      const flowId = cloudFlowId(storeId, "group-join");
      const environmentId = environmentIdOf("contoso", region);
      expect(answer.body).toMatchObject({
        storeId,
        workflowId: "group-join",
        workflowName: "Group join approval",
        approvers: ["alice@contoso.com"],
        flowAuth: "sas",
        flow: { host: `127.0.0.1:${env.flow.port}` },
        cloudFlow: { flowId, environmentId, name: "DM approval: Group join approval", state: "on" },
      });
      expect(answer.body.triggerUrl).toMatch(
        new RegExp(`^${env.baseUrl}/api/stores/${storeId}/workflows/group-join/trigger\\?sig=`),
      );
      expect(JSON.stringify(answer.body)).not.toContain(`sig=created-`);

      // Dataverse: where the environment is, no such flow yet, create it, turn it on.
      const calls = callsTo(platform.dataverse, `/contoso.${region}/`);
      expect(calls.map((call) => `${call.method} ${decodeURIComponent(call.url)}`)).toEqual([
        `GET /contoso.${region}/${DATAVERSE_API}/${CURRENT_ORGANIZATION}`,
        `GET /contoso.${region}/${DATAVERSE_API}/workflows(${flowId})?$select=statecode`,
        `POST /contoso.${region}/${DATAVERSE_API}/workflows`,
        `PATCH /contoso.${region}/${DATAVERSE_API}/workflows(${flowId})`,
      ]);
      for (const call of calls)
        expect(call.headers.authorization).toBe(
          `Bearer ${tokenFor(`https://contoso.${region}.dynamics.com`)}`,
        );
      const created = JSON.parse(calls[2]?.body.toString() ?? "");
      expect(created).toMatchObject({
        workflowid: flowId,
        category: 5,
        type: 1,
        primaryentity: "none",
        name: "DM approval: Group join approval",
      });
      const template = await env.admin(
        "GET",
        `stores/${storeId}/workflows/group-join/flow-template`,
      );
      expect(JSON.parse(created.clientdata)).toEqual({
        properties: {
          connectionReferences: template.body.connectionReferences,
          definition: template.body.definition,
        },
        schemaVersion: "1.0.0.0",
      });
      expect(JSON.parse(calls[3]?.body.toString() ?? "")).toEqual({ statecode: 1, statuscode: 2 });

      // Power Automate: the trigger URL of the flow, in the environment Dataverse named.
      const [listCallbackUrl, ...others] = callsTo(
        platform.flowApi,
        `/providers/Microsoft.ProcessSimple/environments/${environmentId}/`,
      );
      expect(others).toEqual([]);
      expect(listCallbackUrl?.method).toBe("POST");
      expect(listCallbackUrl?.url).toBe(
        `/providers/Microsoft.ProcessSimple/environments/${environmentId}/flows/${flowId}/triggers/manual/listCallbackUrl?api-version=2016-11-01`,
      );
      expect(listCallbackUrl?.headers.authorization).toBe(
        `Bearer ${tokenFor("https://service.flow.microsoft.com/")}`,
      );
      expect(identity.requestedResources()).toEqual(
        expect.arrayContaining([
          `https://contoso.${region}.dynamics.com`,
          "https://service.flow.microsoft.com/",
        ]),
      );
    },
  );

  it("links the workflow to the created flow: DM's request runs it and is applied", async () => {
    const answer = await create("store-crm4", "access-request", {
      approvers: ["alice@contoso.com"],
    });
    expect(answer.status).toBe(200);
    // Made from the relay's template: a flow that claims (CONTRACT 4b).
    expect(answer.body.claims).toBe(true);
    const trigger = await env.call("POST", answer.body.triggerUrl, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ WorkflowRequestID: 5150 }),
    });
    expect(trigger.status).toBe(202);
    await env.waitForState("store-crm4", "5150", "applied");
    const call = env.flow.calls.find((c) => c.headers["x-relay-request-id"] === "5150");
    expect(call?.query.get("sig")).toBe(`created-${cloudFlowId("store-crm4", "access-request")}`);
  });

  it("updates the same flow when created again, keeping the trigger URL", async () => {
    const first = await create("store-crm11", "renamed", { approvers: ["alice@contoso.com"] });
    const before = platform.dataverse.requests.length;
    const again = await create("store-crm11", "renamed", {
      workflowName: "Renamed workflow",
      approvers: ["bob@contoso.com"],
    });
    expect(again.status).toBe(200);
    expect(again.body.triggerUrl).toBe(first.body.triggerUrl);
    expect(again.body.approvers).toEqual(["bob@contoso.com"]);
    const flowId = cloudFlowId("store-crm11", "renamed");
    const calls = platform.dataverse.requests.slice(before);
    expect(calls.map((call) => call.method)).toEqual(["GET", "GET", "PATCH", "PATCH", "PATCH"]);
    expect(calls.slice(2).map((call) => JSON.parse(call.body.toString()))).toEqual([
      { statecode: 0, statuscode: 1 },
      expect.objectContaining({ name: "DM approval: Renamed workflow" }),
      { statecode: 1, statuscode: 2 },
    ]);
    expect(calls[3]?.headers["if-match"]).toBe("*");
    expect(platform.flows.get(`contoso.crm11/${flowId}`)?.statecode).toBe(1);
  });

  it.each([
    ["noconsent", "Dataverse: read the environment id", "consent", 401, "consent is missing"],
    [
      "gone",
      "Dataverse: read the environment id",
      "not-found",
      404,
      "environment or flow not found",
    ],
    ["busy", "Power Automate: read the trigger URL", "throttled", 429, "throttled"],
  ])(
    "answers a 502 problem naming the call when org %s fails",
    async (org, call, cause, status, reason) => {
      const storeId = `failing-${org}`;
      await register(storeId, org, "crm");
      const answer = await create(storeId, "group-join", { approvers: ["alice@contoso.com"] });
      expect(answer.status).toBe(502);
      expect(answer.headers.get("content-type")).toContain("application/problem+json");
      expect(answer.body.detail).toContain(`${call} failed: ${reason}`);
      expect(answer.body.upstream).toMatchObject({ call, cause, status });
      if (cause === "throttled") expect(answer.body.upstream.retryAfterSeconds).toBe(7);
      expect((await env.admin("GET", `stores/${storeId}/workflows/group-join/flow`)).status).toBe(
        404,
      );
    },
  );

  it("refuses what it cannot create: unregistered store, no approvers, a bad body", async () => {
    expect((await create("nobody", "wf", { approvers: ["a@contoso.com"] })).status).toBe(409);
    expect((await create("store-crm", "never-linked", {})).status).toBe(404);
    const bad = await create("store-crm", "wf", { approvers: ["nope"], flowAuth: "basic" });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      "/approvers/0",
      "/flowAuth",
    ]);
  });
});
