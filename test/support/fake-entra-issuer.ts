/**
 * Entra ID's token issuer on 127.0.0.1, for tests of the admin sign-in (RELAY_ADMIN_AUTH=entra):
 * a real HTTP server publishing one tenant's OpenID metadata and JWKS where Entra does
 * (`<authority>/<tenant>/v2.0/.well-known/openid-configuration`), and tokens signed with the
 * tenant's key, shaped like Entra's access tokens for an API with app roles. It also mints the
 * tokens an attacker would try: expired, for another audience or tenant, unsigned, signed by
 * another key, or HS256 with the public key as the secret.
 *
 * Started with `{ https: true }` it also plays the parts of Entra that MSAL's redirect sign-in
 * uses (MSAL refuses an authority that is not https): an authorize endpoint that signs the chosen
 * user in at once and sends the browser back with a code, a token endpoint that redeems the code
 * (PKCE) or a refresh token for an access token, id token and client_info, and sign-out. Its
 * certificate is self-signed, made by openssl for 127.0.0.1; the relay trusts it through
 * NODE_EXTRA_CA_CERTS (in `relaySettings()`), the browser by ignoring certificate errors.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
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

export interface StartOptions {
  /** Serve https with a self-signed certificate (what MSAL needs); default http. */
  https?: boolean;
}

/** What the authorize endpoint handed out, redeemed once at the token endpoint. */
interface IssuedCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  nonce: string;
  scope: string;
  user: TokenClaims;
}

/** An OAuth error answer, as Entra shapes it. */
const oauthError = (error: string, description: string): Reply => ({
  status: 400,
  body: { error, error_description: description },
});

const base64url = (text: string): string => Buffer.from(text).toString("base64url");

export class FakeEntraIssuer {
  /** How often the relay asked for the metadata and for the key set. */
  readonly served = { metadata: 0, jwks: 0 };
  /** The `oid` of each user whose authorization code the token endpoint redeemed. */
  readonly redeemedCodes: string[] = [];

  private server: RunningServer | undefined;
  private certificateFolder: string | undefined;
  /** Who the authorize endpoint signs in: claims over `claims()`'s defaults. */
  private user: TokenClaims = {};
  private readonly codes = new Map<string, IssuedCode>();
  private readonly refreshTokens = new Map<string, { clientId: string; user: TokenClaims }>();

  private constructor(
    readonly tenantId: string,
    private readonly tenantKey: { kid: string; privateKey: CryptoKey; publicKey: CryptoKey },
    private readonly strangerKey: { kid: string; privateKey: CryptoKey },
    private readonly publicJwk: Record<string, unknown>,
  ) {}

  static async start(
    tenantId = ADMIN_TENANT_ID,
    options: StartOptions = {},
  ): Promise<FakeEntraIssuer> {
    const tenantKey = { kid: `tenant-${randomUUID()}`, ...(await generateKeyPair("RS256")) };
    const strangerKey = { kid: `stranger-${randomUUID()}`, ...(await generateKeyPair("RS256")) };
    const publicJwk = { ...(await exportJWK(tenantKey.publicKey)), kid: tenantKey.kid };
    const issuer = new FakeEntraIssuer(tenantId, tenantKey, strangerKey, {
      ...publicJwk,
      use: "sig",
      alg: "RS256",
    });
    let tls: { key: string; cert: string } | undefined;
    if (options.https) {
      issuer.certificateFolder = mkdtempSync(path.join(os.tmpdir(), "fake-entra-"));
      tls = selfSignedCertificate(issuer.certificateFolder);
    }
    issuer.server = await serve(0, (request) => issuer.answer(request), tls);
    return issuer;
  }

  /** The user the authorize endpoint signs in from now on: claims over the default admin's. */
  signInAs(user: TokenClaims): void {
    this.user = user;
  }

  /** Where Entra answers: metadata and keys, and (for MSAL) authorize, token and sign-out. */
  private async answer(request: ReceivedRequest): Promise<Reply> {
    const reply = await this.route(request);
    // MSAL reads the metadata and calls the token endpoint from the console's origin.
    return {
      ...reply,
      headers: { "access-control-allow-origin": "*", ...reply.headers },
    };
  }

  private async route(request: ReceivedRequest): Promise<Reply> {
    const base = this.authority + `/${this.tenantId}`;
    const endpoint = request.path.slice(`/${this.tenantId}`.length);
    if (!request.path.startsWith(`/${this.tenantId}/`)) return { status: 404 };
    if (request.method === "OPTIONS")
      return {
        status: 204,
        headers: {
          "access-control-allow-methods": "GET, POST",
          "access-control-allow-headers": String(
            request.headers["access-control-request-headers"] ?? "content-type",
          ),
        },
      };
    if (request.method === "POST" && endpoint === "/oauth2/v2.0/token") return this.redeem(request);
    if (request.method !== "GET") return { status: 405 };
    switch (endpoint) {
      case "/v2.0/.well-known/openid-configuration":
        this.served.metadata++;
        return {
          status: 200,
          body: {
            issuer: this.issuer,
            jwks_uri: `${base}/discovery/v2.0/keys`,
            authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
            token_endpoint: `${base}/oauth2/v2.0/token`,
            end_session_endpoint: `${base}/oauth2/v2.0/logout`,
            response_modes_supported: ["query", "fragment", "form_post"],
            id_token_signing_alg_values_supported: ["RS256"],
          },
        };
      case "/discovery/v2.0/keys":
        this.served.jwks++;
        return { status: 200, body: { keys: [this.publicJwk] } };
      case "/oauth2/v2.0/authorize":
        return this.authorize(request.query);
      case "/oauth2/v2.0/logout": {
        const back = request.query.get("post_logout_redirect_uri");
        return back ? { status: 302, headers: { location: back } } : { status: 200 };
      }
      default:
        return { status: 404 };
    }
  }

  /** Signs the chosen user in without a page and sends the browser back with a code. */
  private authorize(query: URLSearchParams): Reply {
    const redirectUri = query.get("redirect_uri");
    const clientId = query.get("client_id");
    const codeChallenge = query.get("code_challenge");
    if (!redirectUri || !clientId) return oauthError("invalid_request", "redirect_uri, client_id");
    if (!codeChallenge || query.get("code_challenge_method") !== "S256")
      return oauthError("invalid_request", "PKCE with S256 is required");
    const code = randomUUID();
    this.codes.set(code, {
      clientId,
      redirectUri,
      codeChallenge,
      nonce: query.get("nonce") ?? "",
      scope: query.get("scope") ?? "",
      user: this.user,
    });
    const answer = new URLSearchParams({
      code,
      state: query.get("state") ?? "",
      client_info: this.clientInfo(this.user),
    });
    const separator = query.get("response_mode") === "query" ? "?" : "#";
    return { status: 302, headers: { location: `${redirectUri}${separator}${answer}` } };
  }

  /** The token endpoint: an authorization code (with its PKCE verifier) or a refresh token. */
  private async redeem(request: ReceivedRequest): Promise<Reply> {
    const form = new URLSearchParams(request.body);
    const clientId = form.get("client_id") ?? "";
    let user: TokenClaims;
    let nonce: string | undefined;
    const grant = form.get("grant_type");
    if (grant === "authorization_code") {
      const issued = this.codes.get(form.get("code") ?? "");
      this.codes.delete(form.get("code") ?? "");
      if (
        !issued ||
        issued.clientId !== clientId ||
        issued.redirectUri !== form.get("redirect_uri")
      )
        return oauthError("invalid_grant", "unknown code, or another client or redirect URI");
      const verifier = form.get("code_verifier");
      if (
        !verifier ||
        createHash("sha256").update(verifier).digest("base64url") !== issued.codeChallenge
      )
        return oauthError("invalid_grant", "the code_verifier does not match the code_challenge");
      ({ user, nonce } = issued);
      this.redeemedCodes.push(this.claims(user).oid ?? "");
    } else if (grant === "refresh_token") {
      const known = this.refreshTokens.get(form.get("refresh_token") ?? "");
      if (!known || known.clientId !== clientId)
        return oauthError("invalid_grant", "unknown refresh token");
      ({ user } = known);
    } else {
      return oauthError("unsupported_grant_type", String(grant));
    }
    const refreshToken = randomUUID();
    this.refreshTokens.set(refreshToken, { clientId, user });
    const profile = this.claims(user);
    const idToken = await this.timed(
      new SignJWT({
        iss: this.issuer,
        aud: clientId,
        tid: this.tenantId,
        oid: profile.oid,
        sub: profile.oid,
        name: profile.name,
        preferred_username: profile.preferred_username ?? profile.upn,
        ver: "2.0",
        ...(nonce && { nonce }),
      }),
      {},
    )
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: this.tenantKey.kid })
      .sign(this.tenantKey.privateKey);
    return {
      status: 200,
      headers: { "cache-control": "no-store" },
      body: {
        token_type: "Bearer",
        scope: [...new Set((form.get("scope") ?? "").split(" "))]
          .filter((scope) => scope.startsWith(API_APP_ID_URI))
          .join(" "),
        expires_in: 3600,
        ext_expires_in: 3600,
        access_token: await this.token(user),
        id_token: idToken,
        refresh_token: refreshToken,
        client_info: this.clientInfo(user),
      },
    };
  }

  /** What Entra returns as client_info: the user's object id and tenant, base64url JSON. */
  private clientInfo(user: TokenClaims): string {
    const profile = this.claims(user);
    return base64url(JSON.stringify({ uid: profile.oid, utid: profile.tid }));
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
      ...(this.certificateFolder && {
        NODE_EXTRA_CA_CERTS: path.join(this.certificateFolder, CERTIFICATE_FILE),
      }),
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
    if (this.certificateFolder) rmSync(this.certificateFolder, { recursive: true, force: true });
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

const CERTIFICATE_FILE = "certificate.pem";

/** A self-signed certificate for 127.0.0.1 (its own CA), written to `folder` by openssl. */
function selfSignedCertificate(folder: string): { key: string; cert: string } {
  const keyFile = path.join(folder, "key.pem");
  const certificateFile = path.join(folder, CERTIFICATE_FILE);
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"],
      ...["-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE"],
      ...["-keyout", keyFile, "-out", certificateFile],
    ],
    { stdio: "ignore", timeout: 30_000 },
  );
  return { key: readFileSync(keyFile, "utf8"), cert: readFileSync(certificateFile, "utf8") };
}
