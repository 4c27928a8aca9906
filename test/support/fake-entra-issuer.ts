/**
 * Entra ID's token issuer on 127.0.0.1, for tests of the admin sign-in (RELAY_ADMIN_AUTH=entra):
 * a real HTTP server publishing one tenant's OpenID metadata and JWKS where Entra does
 * (`<authority>/<tenant>/v2.0/.well-known/openid-configuration`), and tokens signed with the
 * tenant's key, shaped like Entra's access tokens for an API with app roles. It also mints the
 * tokens an attacker would try: expired, for another audience or tenant, unsigned, signed by
 * another key, or HS256 with the public key as the secret.
 */
import { randomUUID } from "node:crypto";
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  UnsecuredJWT,
  type CryptoKey,
  type JWTPayload,
} from "jose";
import {
  serve,
  type ReceivedRequest,
  type Reply,
  type RunningServer,
} from "../../dev/simulators/http-util";

/** The relay's tenant in tests, and the API app registration its admins get tokens for. */
export const ADMIN_TENANT_ID = "9b1c7e2a-5d4f-4e8a-b3c6-2f7d1a0e9c55";
export const API_APP_ID_URI = "api://dm-flow-relay-tests";
export const API_CLIENT_ID = "4e0c2b9d-8a1f-4c3e-9d7b-6a5f0e1d2c3b";
export const ADMIN_ROLE = "Relay.Admin";
export const READER_ROLE = "Relay.Reader";

/** Claims of a minted token; `undefined` leaves a default claim out. */
export type TokenClaims = JWTPayload & {
  oid?: string;
  tid?: string;
  roles?: string[];
  upn?: string;
  preferred_username?: string;
  name?: string;
};

export interface MintOptions {
  /** v2.0 (default): aud is the API's client id; v1.0: aud is its App ID URI, issuer sts.windows.net. */
  version?: "1.0" | "2.0";
  /** Seconds from now; negative for a token that has expired. Default 3600. */
  expiresIn?: number;
  /** Seconds from now before which the token is not valid. Default: valid since a minute ago. */
  notBefore?: number;
  /** "stranger": a key the tenant never published, under its own key id unless `kid` says. */
  signer?: "tenant" | "stranger";
  kid?: string;
}

export class FakeEntraIssuer {
  /** How often the relay asked for the metadata and for the key set. */
  readonly served = { metadata: 0, jwks: 0 };

  private server: RunningServer | undefined;

  private constructor(
    readonly tenantId: string,
    private readonly tenantKey: { kid: string; privateKey: CryptoKey; publicKey: CryptoKey },
    private readonly strangerKey: { kid: string; privateKey: CryptoKey },
    private readonly publicJwk: Record<string, unknown>,
  ) {}

  static async start(tenantId = ADMIN_TENANT_ID): Promise<FakeEntraIssuer> {
    const tenantKey = { kid: `tenant-${randomUUID()}`, ...(await generateKeyPair("RS256")) };
    const strangerKey = { kid: `stranger-${randomUUID()}`, ...(await generateKeyPair("RS256")) };
    const publicJwk = { ...(await exportJWK(tenantKey.publicKey)), kid: tenantKey.kid };
    const issuer = new FakeEntraIssuer(tenantId, tenantKey, strangerKey, {
      ...publicJwk,
      use: "sig",
      alg: "RS256",
    });
    issuer.server = await serve(0, (request) => issuer.answer(request));
    return issuer;
  }

  /** Where Entra publishes them: the tenant's metadata, and the key set it points to. */
  private answer(request: ReceivedRequest): Reply {
    const tenantPath = `/${this.tenantId}`;
    if (request.method !== "GET") return { status: 405 };
    if (request.path === `${tenantPath}/v2.0/.well-known/openid-configuration`) {
      this.served.metadata++;
      const base = this.authority + tenantPath;
      return {
        status: 200,
        body: {
          issuer: this.issuer,
          jwks_uri: `${base}/discovery/v2.0/keys`,
          authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          token_endpoint: `${base}/oauth2/v2.0/token`,
          id_token_signing_alg_values_supported: ["RS256"],
        },
      };
    }
    if (request.path === `${tenantPath}/discovery/v2.0/keys`) {
      this.served.jwks++;
      return { status: 200, body: { keys: [this.publicJwk] } };
    }
    return { status: 404 };
  }

  /** What RELAY_ADMIN_AUTHORITY names: http://127.0.0.1:<port>. */
  get authority(): string {
    if (!this.server) throw new Error("the issuer has not started");
    return this.server.url;
  }

  /** The v2.0 issuer, as the metadata announces it. */
  get issuer(): string {
    return `${this.authority}/${this.tenantId}/v2.0`;
  }

  /** The issuer of v1.0 access tokens. */
  get v1Issuer(): string {
    return `https://sts.windows.net/${this.tenantId}/`;
  }

  /** The relay's settings that make it trust this issuer (with RELAY_ALLOW_LOOPBACK=true). */
  relaySettings(): Record<string, string> {
    return {
      RELAY_ADMIN_AUTH: "entra",
      RELAY_ADMIN_TENANT_ID: this.tenantId,
      RELAY_ADMIN_AUDIENCE: `${API_APP_ID_URI},${API_CLIENT_ID}`,
      RELAY_ADMIN_AUTHORITY: this.authority,
    };
  }

  /** The claims Entra puts in an admin's access token for the relay's API, with `claims` on top. */
  claims(claims: TokenClaims = {}, version: "1.0" | "2.0" = "2.0"): TokenClaims {
    const v1 = version === "1.0";
    return {
      iss: v1 ? this.v1Issuer : this.issuer,
      aud: v1 ? API_APP_ID_URI : API_CLIENT_ID,
      tid: this.tenantId,
      oid: "0b6f4d1e-3c2a-4f5b-8e9d-7a6c5b4d3e2f",
      ...(v1 ? { upn: "alice@contoso.com" } : { preferred_username: "alice@contoso.com" }),
      name: "Alice Admin",
      roles: [ADMIN_ROLE],
      ver: version,
      ...claims,
    };
  }

  /** An RS256 token signed with the tenant's published key (or, as asked, a stranger's). */
  async token(claims: TokenClaims = {}, options: MintOptions = {}): Promise<string> {
    const stranger = options.signer === "stranger";
    const key = stranger ? this.strangerKey : this.tenantKey;
    return this.timed(new SignJWT(this.claims(claims, options.version)), options)
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: options.kid ?? key.kid })
      .sign(key.privateKey);
  }

  /** The same claims with `alg: none` and no signature. */
  unsignedToken(claims: TokenClaims = {}): string {
    return this.timed(new UnsecuredJWT(this.claims(claims)), {}).encode();
  }

  /** Algorithm confusion: HS256 with the tenant's public key (PEM) as the HMAC secret. */
  async hs256WithPublicKey(claims: TokenClaims = {}): Promise<string> {
    const secret = new TextEncoder().encode(await exportSPKI(this.tenantKey.publicKey));
    return this.timed(new SignJWT(this.claims(claims)), {})
      .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: this.tenantKey.kid })
      .sign(secret);
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  private timed<T extends SignJWT | UnsecuredJWT>(jwt: T, options: MintOptions): T {
    const now = Math.floor(Date.now() / 1000);
    jwt
      .setIssuedAt(now - 60)
      .setNotBefore(now + (options.notBefore ?? -60))
      .setExpirationTime(now + (options.expiresIn ?? 3600));
    return jwt;
  }
}
