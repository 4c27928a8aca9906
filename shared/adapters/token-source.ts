/** Entra access tokens for the relay's own identity, as plain strings for a bearer header. */
import type { TokenCredential } from "@azure/identity";
import { describeError } from "./http-outcome";

type Identity = typeof import("@azure/identity");
let identity: Promise<Identity> | undefined;

/**
 * A credential of `@azure/identity`, built when the first token is asked for: the library and
 * MSAL behind it (a fifth of the relay's memory at start) load only where a token is needed.
 */
export function lazyCredential(build: (library: Identity) => TokenCredential): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  return {
    async getToken(scopes, options) {
      credential ??= (identity ??= import("@azure/identity")).then(build);
      return (await credential).getToken(scopes, options);
    },
  };
}

export interface TokenSource {
  /** A bearer token for `scope` (e.g. `https://service.flow.microsoft.com//.default`); throws on failure. */
  getToken(scope: string, tenantId?: string): Promise<string>;
}

/**
 * A TokenSource over an `@azure/identity` credential, which caches and refreshes the tokens itself.
 *
 * The tenant goes in `GetTokenOptions.tenantId`. `ManagedIdentityCredential` (4.13) ignores it: it
 * only passes the resource to MSAL, and a managed identity's token always comes from the tenant the
 * identity lives in; so a managed identity works for stores in its own tenant and a flow in another
 * tenant answers 401. App-registration credentials honour the tenant when it is allowed.
 */
export class CredentialTokenSource implements TokenSource {
  constructor(private readonly credential: TokenCredential) {}

  async getToken(scope: string, tenantId?: string): Promise<string> {
    const accessToken = await this.credential.getToken(scope, tenantId ? { tenantId } : {});
    if (!accessToken?.token) throw new Error(`the credential returned no token for ${scope}`);
    return accessToken.token;
  }
}

export interface AzureCredentialOptions {
  /** Client id of the relay's user-assigned managed identity; defaults to `AZURE_CLIENT_ID`. */
  managedIdentityClientId?: string;
}

/**
 * The relay's identity as Azure provides it: the managed identity in Azure, environment or
 * developer credentials locally. Any tenant is allowed because a credential refuses a `tenantId`
 * other than its own unless told otherwise, and stores may live in other tenants.
 */
export function createAzureCredential(options: AzureCredentialOptions = {}): TokenCredential {
  return lazyCredential(
    ({ DefaultAzureCredential }) =>
      new DefaultAzureCredential({
        ...(options.managedIdentityClientId
          ? { managedIdentityClientId: options.managedIdentityClientId }
          : {}),
        additionallyAllowedTenants: ["*"],
      }),
  );
}

/**
 * Why no token came: permanent when no identity is configured or Entra refused the request
 * (4xx), transient when the identity endpoint or Entra could not answer (outage, 5xx, 429).
 */
export function tokenFailure(
  error: unknown,
  scope: string,
  tenantId: string,
): { kind: "transient" | "permanent"; reason: string } {
  const reason = `could not get an Entra token for ${scope} in tenant ${tenantId}: ${describeError(error)}`;
  // By name, as @azure/identity names its errors: the library is loaded only when it is used.
  const { name, statusCode: status } = (error ?? {}) as { name?: unknown; statusCode?: unknown };
  const refused =
    name === "CredentialUnavailableError" ||
    (name === "AuthenticationError" &&
      typeof status === "number" &&
      status >= 400 &&
      status < 500 &&
      status !== 408 &&
      status !== 429);
  return { kind: refused ? "permanent" : "transient", reason };
}
