/** The Power Platform adapter's edges, in process: tokens, transport failures, odd answers. */
import { CredentialTokenSource, type TokenSource } from "../../shared/adapters/token-source";
import {
  createPowerPlatformClient,
  powerPlatformTokenSources,
} from "../../shared/adapters/power-platform-client";
import { loadConfig } from "../../shared/config";
import type { PowerPlatformTarget } from "../../shared/ports";
import { FakeHttpServer, refusedUrl } from "../adapters/http/fake-http-server";

const target: PowerPlatformTarget = {
  organizationCode: "contoso",
  region: "crm4",
  tenantId: "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
  clientId: "7d9c0a51-2b1e-4c3a-9f00-1a2b3c4d5e6f",
};

/** A token source that records the scopes and tenants it is asked for. */
function recordingTokens(fail?: Error) {
  const asked: { scope: string; tenantId?: string }[] = [];
  const source: TokenSource = {
    getToken: async (scope, tenantId) => {
      asked.push({ scope, tenantId });
      if (fail) throw fail;
      return `token-for ${scope}`;
    },
  };
  return { source, asked };
}

let server: FakeHttpServer;
beforeAll(async () => {
  server = await FakeHttpServer.start();
});
afterAll(() => server.close());

const clientFor = (tokens: TokenSource, base = server.baseUrl) =>
  createPowerPlatformClient({
    dataverseUrlTemplate: `${base}/{org}/{region}`,
    dataverseAudienceTemplate: "https://{org}.{region}.dynamics.com",
    flowApiUrl: base,
    flowAudience: "https://service.flow.microsoft.com/",
    tokensFor: () => tokens,
    timeoutMs: 2_000,
  });

describe("Power Platform client", () => {
  it("asks for the Dataverse scope of the environment and the flow scope, in the store's tenant", async () => {
    const { source, asked } = recordingTokens();
    server.respondInTurn(
      { status: 200, body: { Detail: { EnvironmentId: "Default-3f2504e0" } } },
      { status: 200, body: { value: "https://x.logic.azure.com/workflows/1?sig=s" } },
    );
    const client = clientFor(source);
    await expect(client.environmentId(target)).resolves.toEqual({
      ok: true,
      value: "Default-3f2504e0",
    });
    // Logic Apps' answer shape (value at the top) is read too.
    await expect(client.triggerUrl(target, "Default-3f2504e0", "f1")).resolves.toEqual({
      ok: true,
      value: "https://x.logic.azure.com/workflows/1?sig=s",
    });
    expect(asked).toEqual([
      { scope: "https://contoso.crm4.dynamics.com/.default", tenantId: target.tenantId },
      { scope: "https://service.flow.microsoft.com//.default", tenantId: target.tenantId },
    ]);
    expect(server.requests[0]?.url).toBe(
      "/contoso/crm4/api/data/v9.2/RetrieveCurrentOrganization(AccessType=Microsoft.Dynamics.CRM.EndpointAccessType'Default')",
    );
    expect(server.requests[0]?.headers).toMatchObject({
      authorization: "Bearer token-for https://contoso.crm4.dynamics.com/.default",
      "odata-version": "4.0",
      accept: "application/json",
    });
  });

  it("cancels a run through the Power Automate API with the flow scope", async () => {
    const { source, asked } = recordingTokens();
    server.respondInTurn({ status: 200 }, { status: 404 }, { status: 409 }, { status: 403 });
    const client = clientFor(source);
    const run = { environmentName: "Default-3f2504e0", flowName: "f 1", runId: "08584" };

    await expect(client.cancelRun(target, run)).resolves.toEqual({ ok: true, value: undefined });
    // A run that has ended already (404, 409) is as good as cancelled.
    await expect(client.cancelRun(target, run)).resolves.toEqual({ ok: true, value: undefined });
    await expect(client.cancelRun(target, run)).resolves.toEqual({ ok: true, value: undefined });
    await expect(client.cancelRun(target, run)).resolves.toMatchObject({
      ok: false,
      failure: { call: "Power Automate: cancel the flow run", status: 403, cause: "unauthorized" },
    });
    expect(server.requests[0]?.method).toBe("POST");
    expect(server.requests[0]?.url).toBe(
      "/providers/Microsoft.ProcessSimple/environments/Default-3f2504e0/flows/f%201/runs/08584/cancel?api-version=2016-11-01",
    );
    expect(asked[0]).toEqual({
      scope: "https://service.flow.microsoft.com//.default",
      tenantId: target.tenantId,
    });
  });

  it("names missing consent when the token cannot be had", async () => {
    const { source } = recordingTokens(
      new Error("AADSTS65001: The user or administrator has not consented to use the application"),
    );
    const answer = await clientFor(source).environmentId(target);
    expect(answer).toEqual({
      ok: false,
      failure: {
        call: "Dataverse: read the environment id",
        cause: "consent",
        reason: expect.stringMatching(
          /^no token for https:\/\/contoso\.crm4\.dynamics\.com\/\.default in tenant .*AADSTS65001/,
        ),
      },
    });
  });

  it("reports an unreachable service and an answer without what was asked for", async () => {
    const { source } = recordingTokens();
    const unreachable = await clientFor(source, await refusedUrl()).activateFlow(target, "f1");
    expect(unreachable).toMatchObject({
      ok: false,
      failure: { call: "Dataverse: turn the flow on", cause: "unreachable" },
    });
    server.respondInTurn({ status: 200, body: { Detail: {} } }, { status: 200, body: {} });
    await expect(clientFor(source).environmentId(target)).resolves.toMatchObject({
      ok: false,
      failure: { cause: "refused", reason: "the answer holds no Detail.EnvironmentId" },
    });
    await expect(clientFor(source).triggerUrl(target, "e", "f")).resolves.toMatchObject({
      ok: false,
      failure: { cause: "refused", reason: "the answer holds no trigger URL" },
    });
  });

  it("keeps secrets out of its reasons", async () => {
    const { source } = recordingTokens();
    server.respondInTurn({
      status: 400,
      body: { error: { message: "bad clientdata near https://x/y?sig=SECRET123" } },
    });
    const answer = await clientFor(source).activateFlow(target, "f1");
    expect(JSON.stringify(answer)).not.toContain("SECRET123");
    expect(answer).toMatchObject({ ok: false, failure: { cause: "refused", status: 400 } });
  });
});

describe("the identity of Power Platform calls", () => {
  const relayIdentity = recordingTokens().source;

  it("is the relay's own identity without a secret or certificate", () => {
    const tokensFor = powerPlatformTokenSources({ kind: "relay-identity" }, relayIdentity);
    expect(tokensFor(target)).toBe(relayIdentity);
  });

  it("is the store's registered app, one credential per app, with a secret or certificate", () => {
    for (const credential of [
      { kind: "client-secret", secret: "s" } as const,
      { kind: "client-certificate", certificatePath: "/certs/relay.pem" } as const,
    ]) {
      const tokensFor = powerPlatformTokenSources(credential, relayIdentity);
      const source = tokensFor(target);
      expect(source).toBeInstanceOf(CredentialTokenSource);
      expect(tokensFor({ ...target })).toBe(source);
      expect(tokensFor({ ...target, clientId: "00000000-0000-0000-0000-000000000001" })).not.toBe(
        source,
      );
    }
  });

  const baseSettings = {
    AzureWebJobsStorage: "UseDevelopmentStorage=true",
    ServiceBusConnection: "Endpoint=sb://localhost",
    RELAY_PUBLIC_BASE_URL: "https://relay.example",
    RELAY_SIGNING_KEY: "k".repeat(40),
    DATA_SERVICE_AUTH: "none",
  };

  it("comes from settings, with public defaults for the service addresses", () => {
    expect(loadConfig(baseSettings).powerPlatform).toEqual({
      dataverseUrlTemplate: "https://{org}.{region}.dynamics.com",
      dataverseAudienceTemplate: "https://{org}.{region}.dynamics.com",
      flowApiUrl: "https://api.flow.microsoft.com",
      credential: { kind: "relay-identity" },
    });
    expect(
      loadConfig({ ...baseSettings, POWER_PLATFORM_CLIENT_SECRET: "s3cret" }).powerPlatform
        .credential,
    ).toEqual({ kind: "client-secret", secret: "s3cret" });
  });

  it.each([
    [{ POWER_PLATFORM_DATAVERSE_URL_TEMPLATE: "https://dataverse.example" }, "must contain {org}"],
    [{ POWER_AUTOMATE_API_URL: "http://127.0.0.1:9" }, "must not point at a loopback address"],
    [{ POWER_AUTOMATE_API_URL: "http://flow.example" }, "must use https"],
    [
      { POWER_PLATFORM_CLIENT_SECRET: "s", POWER_PLATFORM_CLIENT_CERTIFICATE_PATH: "/c.pem" },
      "must not be set together",
    ],
  ])("refuses %j with one line naming it", (settings, message) => {
    expect(() => loadConfig({ ...baseSettings, ...settings })).toThrow(message);
  });

  it("allows loopback http only with RELAY_ALLOW_LOOPBACK", () => {
    const config = loadConfig({
      ...baseSettings,
      RELAY_ALLOW_LOOPBACK: "true",
      POWER_AUTOMATE_API_URL: "http://127.0.0.1:9/",
    });
    expect(config.powerPlatform.flowApiUrl).toBe("http://127.0.0.1:9");
  });
});
