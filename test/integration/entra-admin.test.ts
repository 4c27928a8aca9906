/**
 * Admin sign-in with Entra ID (RELAY_ADMIN_AUTH=entra, CONTRACT "HTTP API"), through the local
 * host, Azurite and the emulator, against a local issuer publishing OpenID metadata and a JWKS:
 * which tokens the admin routes take (401 otherwise), which roles they need (403 otherwise), and
 * the audit line each change logs.
 */
import { ADMIN_ROLE, FakeEntraIssuer, READER_ROLE } from "../support/fake-entra-issuer";
import {
  ADMIN_KEY,
  CLIENT_ID,
  TENANT_ID,
  startRelayEnvironment,
  type RelayEnvironment,
} from "../support/relay-environment";

const OTHER_TENANT_ID = "1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
const READER_OID = "5e4d3c2b-1a09-4f8e-a7d6-c5b4a3928170";

let issuer: FakeEntraIssuer;
let env: RelayEnvironment;
/** Every token the tests sent, to prove none of them reached the host's log. */
const sentTokens: string[] = [];

beforeAll(async () => {
  issuer = await FakeEntraIssuer.start();
  env = await startRelayEnvironment({
    settings: issuer.relaySettings(),
    // The flow refuses request 9001 for good, so it ends flow-failed and can be redriven.
    flow: {
      respond: (call) => ({ status: call.headers["x-relay-request-id"] === "9001" ? 404 : 202 }),
    },
  });
}, 60_000);
afterAll(async () => {
  await env?.stop();
  await issuer?.close();
});

type Answer = Awaited<ReturnType<RelayEnvironment["call"]>>;

/** An admin call carrying `headers` (e.g. a bearer token) instead of the function key. */
function callWith(
  headers: Record<string, string>,
  method: string,
  route: string,
  body?: unknown,
): Promise<Answer> {
  return env.call(method, `/api/${route}`, {
    headers: { "content-type": "application/json", ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

function callAs(token: string, method: string, route: string, body?: unknown): Promise<Answer> {
  sentTokens.push(token);
  return callWith({ authorization: `Bearer ${token}` }, method, route, body);
}

const registration = () => ({
  organizationCode: "contoso",
  region: "crm",
  dataServiceUrl: env.dm.dataServiceUrl,
  securityServiceUrl: env.dm.securityServiceUrl,
  identityStoreId: 3,
  tenantId: TENANT_ID,
  clientId: CLIENT_ID,
});
const flowLink = () => ({
  requestUrl: `${env.flow.flowUrl}?api-version=1&sig=flow-SIG-secret-123`,
  approvers: ["alice@contoso.com"],
});

function expectProblem(answer: Answer, status: number): void {
  expect(answer.status).toBe(status);
  expect(answer.headers.get("content-type")).toContain("application/problem+json");
  expect(answer.body).toMatchObject({
    status,
    title: expect.any(String),
    detail: expect.any(String),
  });
}

describe("a token of the relay's tenant for its API, with Relay.Admin", () => {
  it("may register a store and read it back", async () => {
    const token = await issuer.token();
    const put = await callAs(token, "PUT", "stores/contoso/power-automate", registration());
    expect(put.status).toBe(200);
    const get = await callAs(token, "GET", "stores/contoso/power-automate");
    expect(get.status).toBe(200);
    expect(get.body).toMatchObject({ storeId: "contoso", identityStoreId: 3 });
  });

  it("is taken as a v1.0 token too (issuer sts.windows.net, audience the App ID URI)", async () => {
    const token = await issuer.token({}, { version: "1.0" });
    const get = await callAs(token, "GET", "stores/contoso/power-automate");
    expect(get.status).toBe(200);
  });

  it("says who the caller is and that they may change things at GET /api/me", async () => {
    const v2 = await callAs(await issuer.token(), "GET", "me");
    expect(v2.status).toBe(200);
    expect(v2.body).toEqual({
      mode: "entra",
      actor: { id: "0b6f4d1e-3c2a-4f5b-8e9d-7a6c5b4d3e2f", name: "alice@contoso.com" },
      roles: [ADMIN_ROLE],
      canChange: true,
    });
    const nameOnly = await callAs(
      await issuer.token({ preferred_username: undefined }),
      "GET",
      "me",
    );
    expect(nameOnly.body.actor).toEqual({
      id: "0b6f4d1e-3c2a-4f5b-8e9d-7a6c5b4d3e2f",
      name: "Alice Admin",
    });
  });

  it("is checked against the tenant's keys read once, not on every request", async () => {
    const token = await issuer.token();
    await callAs(token, "GET", "me");
    const jwksReads = issuer.served.jwks;
    for (let i = 0; i < 5; i++) expect((await callAs(token, "GET", "me")).status).toBe(200);
    expect(issuer.served.jwks).toBe(jwksReads);
    expect(issuer.served.metadata).toBe(1);
  });
});

describe("401: no token, or one the relay must not trust", () => {
  const bearer = (token: string) => {
    sentTokens.push(token);
    return { authorization: `Bearer ${token}` };
  };
  const cases: [string, () => Promise<Record<string, string>> | Record<string, string>, RegExp][] =
    [
      ["no Authorization header", () => ({}), /no Authorization header/],
      ["only the function key", () => ({ "x-functions-key": ADMIN_KEY }), /no Authorization/],
      ["a Basic credential", () => ({ authorization: "Basic YWxpY2U6cHc=" }), /Bearer <token>/],
      ["a token that is not a JWT", () => bearer("not-a-token"), /Bearer <token>/],
      [
        "a token for another audience",
        async () => bearer(await issuer.token({ aud: "api://someone-else" })),
        /not for the relay.s API \(aud\)/,
      ],
      [
        "a token from another tenant (tid)",
        async () => bearer(await issuer.token({ tid: OTHER_TENANT_ID })),
        /another tenant/,
      ],
      [
        "a token from another tenant (issuer)",
        async () =>
          bearer(await issuer.token({ iss: `https://sts.windows.net/${OTHER_TENANT_ID}/` })),
        /not issued by the relay's tenant/,
      ],
      [
        "a v1.0 token for an API of another tenant",
        async () =>
          bearer(
            await issuer.token(
              { tid: OTHER_TENANT_ID, iss: `https://sts.windows.net/${OTHER_TENANT_ID}/` },
              { version: "1.0" },
            ),
          ),
        /not issued by the relay's tenant/,
      ],
      [
        "an expired token",
        async () => bearer(await issuer.token({}, { expiresIn: -600 })),
        /expired/,
      ],
      [
        "a token not valid yet",
        async () => bearer(await issuer.token({}, { notBefore: 600 })),
        /not valid yet/,
      ],
      ["an unsigned token (alg: none)", () => bearer(issuer.unsignedToken()), /RS256/],
      [
        "a token signed by another key",
        async () => bearer(await issuer.token({}, { signer: "stranger" })),
        /not signed by the tenant's keys/,
      ],
      [
        "a token signed by another key under the tenant's key id",
        async () => {
          const genuine = await issuer.token();
          const kid = JSON.parse(Buffer.from(genuine.split(".")[0], "base64url").toString()).kid;
          return bearer(await issuer.token({}, { signer: "stranger", kid }));
        },
        /not signed by the tenant's keys/,
      ],
      [
        "an HS256 token with the tenant's public key as the secret",
        async () => bearer(await issuer.hs256WithPublicKey()),
        /RS256/,
      ],
      ["a token without an oid", async () => bearer(await issuer.token({ oid: undefined })), /oid/],
    ];

  it.each(cases)("%s", async (_case, headers, reason) => {
    const given = await headers();
    for (const [method, route, body] of [
      ["GET", "stores/contoso/power-automate", undefined],
      ["PUT", "stores/contoso/power-automate", registration()],
    ] as const) {
      const answer = await callWith(given, method, route, body);
      expectProblem(answer, 401);
      expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
      expect(answer.body.detail).toMatch(reason);
      if (given.authorization)
        expect(JSON.stringify(answer.body)).not.toContain(given.authorization);
    }
  });

  it("names no error in the challenge when there was no token at all", async () => {
    expect((await callWith({}, "GET", "me")).headers.get("www-authenticate")).toBe("Bearer");
    const bad = await callWith(bearer(await issuer.token({}, { expiresIn: -600 })), "GET", "me");
    expect(bad.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
  });
});

describe("403: a valid token without the role the route needs", () => {
  it.each([
    ["no app role", { roles: undefined }],
    ["an empty roles claim", { roles: [] }],
    ["a role the relay does not know", { roles: ["Relay.Owner"] }],
  ])("refuses %s, on reads and changes alike", async (_case, claims) => {
    const token = await issuer.token(claims);
    for (const [method, route, body] of [
      ["GET", "stores/contoso/power-automate", undefined],
      ["GET", "me", undefined],
      ["PUT", "stores/contoso/power-automate", registration()],
    ] as const) {
      const answer = await callAs(token, method, route, body);
      expectProblem(answer, 403);
      expect(answer.body.detail).toMatch(/Relay\.Admin/);
      expect(answer.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope"');
    }
  });

  describe("Relay.Reader", () => {
    let reader: string;
    beforeAll(async () => {
      reader = await issuer.token({ oid: READER_OID, roles: [READER_ROLE] });
      const admin = await issuer.token();
      expect(
        (await callAs(admin, "PUT", "stores/readers/power-automate", registration())).status,
      ).toBe(200);
      expect(
        (await callAs(admin, "PUT", "stores/readers/workflows/wf-r/flow", flowLink())).status,
      ).toBe(200);
    });

    it("may use the GET routes", async () => {
      for (const route of [
        "stores/readers/power-automate",
        "stores/readers/workflows/wf-r/flow",
        "stores/readers/workflows/wf-r/flow-template",
        "stores/readers/requests",
      ])
        expect([route, (await callAs(reader, "GET", route)).status]).toEqual([route, 200]);
      expect((await callAs(reader, "GET", "me")).body).toEqual({
        mode: "entra",
        actor: { id: READER_OID, name: "alice@contoso.com" },
        roles: [READER_ROLE],
        canChange: false,
      });
    });

    it("may not change anything, and nothing changes", async () => {
      for (const [method, route, body] of [
        ["PUT", "stores/fabrikam/power-automate", registration()],
        ["PUT", "stores/readers/workflows/wf-r/flow", { ...flowLink(), rotateTriggerKey: true }],
        ["DELETE", "stores/readers/workflows/wf-r/flow", undefined],
        ["POST", "stores/readers/workflows/wf-r/flow/create", {}],
        ["POST", "stores/readers/requests/1/redrive", undefined],
      ] as const) {
        const answer = await callAs(reader, method, route, body);
        expectProblem(answer, 403);
        expect(answer.body.detail).toBe("this route needs the app role Relay.Admin");
      }
      const admin = await issuer.token();
      expect((await callAs(admin, "GET", "stores/fabrikam/power-automate")).status).toBe(404);
      expect((await callAs(admin, "GET", "stores/readers/workflows/wf-r/flow")).status).toBe(200);
    });
  });
});

describe("the audit trail", () => {
  const ADMIN_OID = "0b6f4d1e-3c2a-4f5b-8e9d-7a6c5b4d3e2f";
  const changeLines = () =>
    env
      .logs()
      .split("\n")
      .filter((line) => line.includes("admin change"));

  async function waitForState(token: string, requestId: string, state: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    let last: Answer | undefined;
    while (Date.now() < deadline) {
      last = await callAs(token, "GET", `stores/audited/requests/${requestId}`);
      if (last.body?.state === state) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`request ${requestId} never reached ${state}: ${JSON.stringify(last?.body)}`);
  }

  it("logs one line per change naming the admin, and none for reads or refusals", async () => {
    const admin = await issuer.token();
    const before = changeLines().length;
    expect(
      (await callAs(admin, "PUT", "stores/audited/power-automate", registration())).status,
    ).toBe(200);
    const linked = await callAs(admin, "PUT", "stores/audited/workflows/wf-a/flow", flowLink());
    expect(linked.status).toBe(200);
    const rotated = await callAs(admin, "PUT", "stores/audited/workflows/wf-a/flow", {
      ...flowLink(),
      rotateTriggerKey: true,
    });
    expect(rotated.body.triggerUrl).not.toBe(linked.body.triggerUrl);

    const triggered = await env.call("POST", rotated.body.triggerUrl, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ WorkflowRequestID: 9001 }),
    });
    expect(triggered.status).toBe(202);
    await waitForState(admin, "9001", "flow-failed");
    expect((await callAs(admin, "POST", "stores/audited/requests/9001/redrive")).status).toBe(202);
    expect((await callAs(admin, "DELETE", "stores/audited/workflows/wf-a/flow")).status).toBe(204);
    // Neither a read, nor a refused change, nor a change that failed is a change.
    await callAs(admin, "GET", "stores/audited/power-automate");
    expect((await callAs(admin, "DELETE", "stores/audited/workflows/wf-a/flow")).status).toBe(404);

    const lines = changeLines().slice(before);
    const actor = `actor=${ADMIN_OID} actorName=alice@contoso.com`;
    expect(lines).toEqual([
      expect.stringContaining(`${actor} action=registerStore method=PUT storeId=audited`),
      expect.stringContaining(
        `${actor} action=linkWorkflow method=PUT storeId=audited workflowId=wf-a]`,
      ),
      expect.stringContaining(
        `${actor} action=linkWorkflow method=PUT storeId=audited workflowId=wf-a rotateTriggerKey=true`,
      ),
      expect.stringContaining(`${actor} action=redrive method=POST storeId=audited requestId=9001`),
      expect.stringContaining(
        `${actor} action=unlinkWorkflow method=DELETE storeId=audited workflowId=wf-a`,
      ),
    ]);
    // The redrive's own line carries the admin too.
    expect(env.logs()).toMatch(new RegExp(`redriven: calling the flow again \\[${actor}`));
  });

  it("logs refusals as warnings, and never a token", async () => {
    await callAs(await issuer.token({ aud: "api://someone-else" }), "GET", "me");
    expect(env.logs()).toMatch(
      /warn: admin sign-in refused \[reason=the token is not for the relay's API \(aud\)\]/,
    );
    await callAs(await issuer.token({ roles: [] }), "GET", "me");
    expect(env.logs()).toMatch(
      new RegExp(
        `warn: admin access denied \\[actor=${ADMIN_OID} actorName=alice@contoso.com roles=none access=read\\]`,
      ),
    );
    const logs = env.logs();
    expect(sentTokens.length).toBeGreaterThan(30);
    for (const token of sentTokens) expect(logs).not.toContain(token.split(".").pop() || token);
  });
});
