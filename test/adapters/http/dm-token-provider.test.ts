import { DmTokenProvider } from "../../../shared/adapters/dm-token-provider";
import type { DataServiceTarget } from "../../../shared/ports";
import { FakeHttpServer, type ScriptedAnswer, refusedUrl } from "./fake-http-server";

const CREDENTIALS = {
  username: "svc-relay@contoso.com",
  password: "p@ss word&=1",
  clientId: "dm-client",
  clientSecret: "dm-client-secret",
};
const TIMEOUT_MS = 300;

let security: FakeHttpServer;
let nowMs: number;
const clock = { now: () => new Date(nowMs) };

beforeAll(async () => {
  security = await FakeHttpServer.start();
});

afterAll(async () => {
  await security.close();
});

beforeEach(() => {
  nowMs = Date.parse("2026-01-01T00:00:00Z");
  issueTokens();
});

function target(overrides: Partial<DataServiceTarget> = {}): DataServiceTarget {
  return {
    storeId: "contoso",
    dataServiceUrl: "http://127.0.0.1:1/GroupIDDataService",
    securityServiceUrl: `${security.baseUrl}/GroupIDSecurityService/`,
    identityStoreId: 3,
    tenantId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    clientId: "bbbbbbbb-cccc-dddd-eeee-ffffffffffff",
    ...overrides,
  };
}

/** The Security Service issuing `dm-token-1`, `dm-token-2`, … after an optional delay. */
function issueTokens(expiresIn: unknown = 3600, delayMs = 0): void {
  let issued = 0;
  security.respondWith(async () => {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    issued += 1;
    return {
      status: 200,
      body: { access_token: `dm-token-${issued}`, token_type: "Bearer", expires_in: expiresIn },
    };
  });
}

function provider(): DmTokenProvider {
  return new DmTokenProvider({ ...CREDENTIALS, timeoutMs: TIMEOUT_MS, clock });
}

describe("DM Security Service token provider", () => {
  it("asks for a password grant with the store's identity store id, form-encoded", async () => {
    expect(await provider().getToken(target())).toEqual({ kind: "ok", token: "dm-token-1" });

    expect(security.requests).toHaveLength(1);
    const [request] = security.requests;
    expect(request.method).toBe("POST");
    expect(request.url).toBe("/GroupIDSecurityService/connect/token");
    expect(request.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(request.body.toString("utf8")))).toEqual({
      grant_type: "password",
      username: CREDENTIALS.username,
      password: CREDENTIALS.password,
      client_id: CREDENTIALS.clientId,
      client_secret: CREDENTIALS.clientSecret,
      identity_store_id: "3",
    });
  });

  it("reuses the token until a minute before it expires", async () => {
    const tokens = provider();
    await tokens.getToken(target());

    nowMs += 3539_000;
    expect(await tokens.getToken(target())).toEqual({ kind: "ok", token: "dm-token-1" });
    nowMs += 2_000;
    expect(await tokens.getToken(target())).toEqual({ kind: "ok", token: "dm-token-2" });
    expect(security.requests).toHaveLength(2);
  });

  it("refreshes a short-lived token when 10% of its lifetime is left", async () => {
    issueTokens("100");
    const tokens = provider();
    await tokens.getToken(target());

    nowMs += 89_000;
    expect(await tokens.getToken(target())).toEqual({ kind: "ok", token: "dm-token-1" });
    nowMs += 2_000;
    expect(await tokens.getToken(target())).toEqual({ kind: "ok", token: "dm-token-2" });
  });

  it("does not keep a token that came without expires_in", async () => {
    security.respondInTurn(
      { status: 200, body: { access_token: "dm-token-1", token_type: "Bearer" } },
      { status: 200, body: { access_token: "dm-token-2", token_type: "Bearer" } },
    );
    const tokens = provider();

    await tokens.getToken(target());
    expect(await tokens.getToken(target())).toEqual({ kind: "ok", token: "dm-token-2" });
  });

  it("lets concurrent callers share one fetch", async () => {
    issueTokens(3600, 100);
    const tokens = provider();

    const outcomes = await Promise.all([1, 2, 3, 4, 5].map(() => tokens.getToken(target())));

    expect(outcomes).toEqual(Array(5).fill({ kind: "ok", token: "dm-token-1" }));
    expect(security.requests).toHaveLength(1);
  });

  it("keeps a token per store, and a new one when the store's registration changes", async () => {
    const tokens = provider();

    await tokens.getToken(target());
    expect(await tokens.getToken(target({ storeId: "fabrikam" }))).toEqual({
      kind: "ok",
      token: "dm-token-2",
    });
    expect(await tokens.getToken(target({ identityStoreId: 4 }))).toEqual({
      kind: "ok",
      token: "dm-token-3",
    });
    expect(
      security.requests.map((r) => new URLSearchParams(r.body.toString()).get("identity_store_id")),
    ).toEqual(["3", "3", "4"]);
  });

  it("forgets a refused token, but not a newer one fetched meanwhile", async () => {
    const tokens = provider();
    await tokens.getToken(target());

    tokens.invalidate("contoso", "some-older-token");
    expect(await tokens.getToken(target())).toEqual({ kind: "ok", token: "dm-token-1" });
    tokens.invalidate("contoso", "dm-token-1");
    expect(await tokens.getToken(target())).toEqual({ kind: "ok", token: "dm-token-2" });
    tokens.invalidate("contoso");
    expect(await tokens.getToken(target())).toEqual({ kind: "ok", token: "dm-token-3" });
  });

  it.each([400, 401])("is permanent when the credentials are refused (%i)", async (status) => {
    security.respondWith(() => ({
      status,
      body: { error: "invalid_grant", error_description: "invalid_username_or_password" },
    }));

    const outcome = await provider().getToken(target());

    expect(outcome).toEqual({
      kind: "permanent",
      reason: `DM Security Service refused the credentials: HTTP ${status} (invalid_grant: invalid_username_or_password)`,
    });
  });

  it.each<[string, ScriptedAnswer | "hang", object]>([
    [
      "a 503 with Retry-After",
      { status: 503, headers: { "retry-after": "12" } },
      { kind: "transient", reason: "DM Security Service answered HTTP 503", retryAfterMs: 12_000 },
    ],
    [
      "a 500",
      { status: 500 },
      { kind: "transient", reason: "DM Security Service answered HTTP 500" },
    ],
    [
      "no answer in time",
      "hang",
      { kind: "transient", reason: `DM Security Service did not answer within ${TIMEOUT_MS} ms` },
    ],
    [
      "a 404",
      { status: 404 },
      { kind: "permanent", reason: "DM Security Service answered HTTP 404" },
    ],
    [
      "a 200 without access_token",
      { status: 200, body: "<html>sign in</html>" },
      { kind: "permanent", reason: "DM Security Service answered without an access_token" },
    ],
  ])("classifies %s", async (_case, answer, expected) => {
    security.respondWith(() => answer);

    expect(await provider().getToken(target())).toEqual(expected);
  });

  it("is transient when the Security Service refuses connections", async () => {
    const outcome = await provider().getToken(target({ securityServiceUrl: await refusedUrl() }));

    expect(outcome).toEqual({
      kind: "transient",
      reason: "DM Security Service could not be reached (ECONNREFUSED)",
    });
  });

  it("is permanent when the store has no Security Service URL", async () => {
    const outcome = await provider().getToken(target({ securityServiceUrl: undefined }));

    expect(outcome).toEqual({
      kind: "permanent",
      reason: "store contoso has no securityServiceUrl for a DM token",
    });
    expect(security.requests).toHaveLength(0);
  });

  it("does not keep a failure: the next call asks again", async () => {
    security.respondInTurn(
      { status: 503 },
      { status: 200, body: { access_token: "dm-token-after-outage", expires_in: 3600 } },
    );
    const tokens = provider();

    expect((await tokens.getToken(target())).kind).toBe("transient");
    expect(await tokens.getToken(target())).toEqual({ kind: "ok", token: "dm-token-after-outage" });
  });
});
