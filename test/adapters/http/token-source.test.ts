import {
  AuthenticationError,
  CredentialUnavailableError,
  type GetTokenOptions,
  type TokenCredential,
} from "@azure/identity";
import {
  CredentialTokenSource,
  createAzureCredential,
  tokenFailure,
} from "../../../shared/adapters/token-source";
import {
  FakeIdentityEndpoint,
  IDENTITY_HEADER_SECRET,
  MANAGED_IDENTITY_CLIENT_ID,
  tokenFor,
} from "./fake-identity-endpoint";

const TENANT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

let identity: FakeIdentityEndpoint;

beforeAll(async () => {
  identity = await FakeIdentityEndpoint.start();
});

afterAll(async () => {
  await identity.close();
});

describe("Azure token source", () => {
  it("gets the user-assigned managed identity's token, a tenant id notwithstanding", async () => {
    const tokenSource = new CredentialTokenSource(
      createAzureCredential({ managedIdentityClientId: MANAGED_IDENTITY_CLIENT_ID }),
    );

    const token = await tokenSource.getToken(
      "https://service.flow.microsoft.com//.default",
      TENANT_ID,
    );

    expect(token).toBe(tokenFor("https://service.flow.microsoft.com/"));
    const request = identity.lastRequest();
    expect(request.pathname).toBe("/msi/token");
    expect(request.searchParams.get("resource")).toBe("https://service.flow.microsoft.com/");
    expect(request.searchParams.get("client_id")).toBe(MANAGED_IDENTITY_CLIENT_ID);
    expect(identity.server.requests.at(-1)?.headers["x-identity-header"]).toBe(
      IDENTITY_HEADER_SECRET,
    );
  });
});

describe("Credential token source", () => {
  /** A credential that records what it is asked and answers with `token`. */
  function recordingCredential(token: string | null) {
    const calls: { scopes: string | string[]; options?: GetTokenOptions }[] = [];
    const credential: TokenCredential = {
      getToken: async (scopes, options) => {
        calls.push({ scopes, options });
        return token === null ? null : { token, expiresOnTimestamp: Date.now() + 3600_000 };
      },
    };
    return { credential, calls };
  }

  it("passes the scope and the tenant to the credential", async () => {
    const { credential, calls } = recordingCredential("t-1");

    await expect(
      new CredentialTokenSource(credential).getToken("api://x/.default", TENANT_ID),
    ).resolves.toBe("t-1");
    await new CredentialTokenSource(credential).getToken("api://y/.default");

    expect(calls).toEqual([
      { scopes: "api://x/.default", options: { tenantId: TENANT_ID } },
      { scopes: "api://y/.default", options: {} },
    ]);
  });

  it("fails when the credential gives no token", async () => {
    const { credential } = recordingCredential(null);

    await expect(
      new CredentialTokenSource(credential).getToken("api://x/.default"),
    ).rejects.toThrow("the credential returned no token for api://x/.default");
  });
});

describe("token failures", () => {
  const scope = "https://service.flow.microsoft.com//.default";
  const refusal = { error: "invalid_request", error_description: "no" };

  it.each([
    ["no identity configured", "permanent", new CredentialUnavailableError("no managed identity")],
    ["Entra refusing the request", "permanent", new AuthenticationError(400, refusal)],
    ["Entra throttling", "transient", new AuthenticationError(429, refusal)],
    ["an identity endpoint outage", "transient", new AuthenticationError(503, refusal)],
    ["a network error", "transient", new Error("connect ECONNREFUSED 169.254.169.254:80")],
  ])("treats %s as %s", (_case, kind, error) => {
    expect(tokenFailure(error, scope, "tenant-1")).toEqual({
      kind,
      reason: expect.stringContaining(
        `could not get an Entra token for ${scope} in tenant tenant-1`,
      ),
    });
  });
});
