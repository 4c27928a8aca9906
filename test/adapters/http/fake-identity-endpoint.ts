/**
 * An Azure App Service managed identity endpoint on 127.0.0.1, so the real @azure/identity code
 * (MSAL's App Service source: `GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=...` with
 * the `X-IDENTITY-HEADER` secret) fetches tokens from the test.
 */
import { FakeHttpServer, type ReceivedRequest } from "./fake-http-server";

export const IDENTITY_HEADER_SECRET = "test-identity-header-secret";
export const MANAGED_IDENTITY_CLIENT_ID = "11111111-2222-3333-4444-555555555555";
/** Resources for which the endpoint refuses to issue a token (400, which MSAL does not retry). */
export const REFUSED_RESOURCE = "https://refused.example/";

const ENVIRONMENT = {
  IDENTITY_ENDPOINT: undefined,
  IDENTITY_HEADER: IDENTITY_HEADER_SECRET,
  // Kept out so that no other credential or managed identity source is chosen.
  MSI_ENDPOINT: undefined,
  MSI_SECRET: undefined,
  IDENTITY_SERVER_THUMBPRINT: undefined,
  IMDS_ENDPOINT: undefined,
  AZURE_TENANT_ID: undefined,
  AZURE_CLIENT_SECRET: undefined,
  AZURE_FEDERATED_TOKEN_FILE: undefined,
  AZURE_TOKEN_CREDENTIALS: undefined,
} satisfies Record<string, string | undefined>;

/** The token the endpoint issues for a resource. */
export function tokenFor(resource: string): string {
  return `mi-token-for ${resource}`;
}

export class FakeIdentityEndpoint {
  private readonly savedEnvironment: Record<string, string | undefined> = {};

  private constructor(readonly server: FakeHttpServer) {}

  /** Starts the endpoint and points the process's managed identity environment at it. */
  static async start(): Promise<FakeIdentityEndpoint> {
    const endpoint = new FakeIdentityEndpoint(await FakeHttpServer.start());
    endpoint.setEnvironment({
      ...ENVIRONMENT,
      IDENTITY_ENDPOINT: `${endpoint.server.baseUrl}/msi/token`,
    });
    endpoint.server.respondWith(issueToken);
    return endpoint;
  }

  /** The resources requested so far, in order. */
  requestedResources(): string[] {
    return this.server.requests.map(
      (request) => new URL(request.url, "http://x").searchParams.get("resource") ?? "",
    );
  }

  lastRequest(): URL {
    const last = this.server.requests.at(-1);
    if (!last) throw new Error("no token was requested");
    return new URL(last.url, "http://x");
  }

  async close(): Promise<void> {
    for (const [name, value] of Object.entries(this.savedEnvironment)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await this.server.close();
  }

  private setEnvironment(values: Record<string, string | undefined>): void {
    for (const [name, value] of Object.entries(values)) {
      this.savedEnvironment[name] = process.env[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

function issueToken(request: ReceivedRequest) {
  const query = new URL(request.url, "http://x").searchParams;
  const resource = query.get("resource") ?? "";
  if (request.headers["x-identity-header"] !== IDENTITY_HEADER_SECRET) {
    return { status: 401, body: { error: "unauthorized" } };
  }
  if (resource === REFUSED_RESOURCE) {
    return {
      status: 400,
      body: { error: "invalid_resource", error_description: "no such resource" },
    };
  }
  return {
    status: 200,
    body: {
      access_token: tokenFor(resource),
      expires_on: String(Math.floor(Date.now() / 1000) + 3600),
      resource,
      token_type: "Bearer",
      client_id: query.get("client_id") ?? "",
    },
  };
}
