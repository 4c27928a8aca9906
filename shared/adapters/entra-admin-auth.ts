/**
 * Admin sign-in with Entra ID (RELAY_ADMIN_AUTH=entra): the bearer token of an admin request is
 * checked with `jose` against the relay's tenant, its keys read from the tenant's JWKS (found
 * through its OpenID metadata) and cached by jose, which fetches them again when they age or a
 * token names an unknown key (at most once per cooldown, so unknown keys cannot flood Entra).
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import { checkServiceUrl } from "../domain/flow-url";
import type { AdminAuthentication, AdminAuthenticator } from "../ports";

export interface EntraAdminAuthOptions {
  tenantId: string;
  /** Accepted `aud` values: the API's Application ID URI and/or its client id. */
  audiences: string[];
  /** Entra's authority host, e.g. https://login.microsoftonline.com. */
  authority: string;
  /** Lets the authority and its keys live on http://127.0.0.1 (tests). */
  allowLoopback: boolean;
  timeoutMs: number;
}

/** Clocks of Entra and the relay may differ a little; a minute is plenty and stays strict. */
const CLOCK_TOLERANCE_SECONDS = 60;
/** Entra's tokens are a few kilobytes; anything far bigger is not one. */
const MAX_TOKEN_LENGTH = 16_384;
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i;

const metadataSchema = z.object({ issuer: z.string().min(1), jwks_uri: z.string().min(1) });

const claimsSchema = z.object({
  tid: z.string(),
  oid: z.string().min(1),
  upn: z.string().optional(),
  preferred_username: z.string().optional(),
  name: z.string().optional(),
  roles: z.array(z.string()).default([]),
});

interface TenantKeys {
  issuers: string[];
  keys: JWTVerifyGetKey;
}

/** The tenant's key set could not be read; the token itself may well be fine. */
class KeysUnavailable extends Error {
  override name = "KeysUnavailable";
}

export function createEntraAdminAuthenticator(options: EntraAdminAuthOptions): AdminAuthenticator {
  const tenantId = options.tenantId.toLowerCase();
  let tenantKeys: Promise<TenantKeys> | undefined;
  // Read once per process (a failed read is retried by the next request): Entra's issuer and key
  // set address do not change; the keys themselves rotate and jose keeps them fresh.
  const discover = (): Promise<TenantKeys> =>
    (tenantKeys ??= discoverTenantKeys(options, tenantId).catch((error: unknown) => {
      tenantKeys = undefined;
      throw error;
    }));

  return {
    async authenticate(authorization): Promise<AdminAuthentication> {
      if (!authorization) return refused("the request has no Authorization header");
      if (authorization.length > MAX_TOKEN_LENGTH) return refused("the token is too long");
      const token = BEARER.exec(authorization.trim())?.[1];
      if (!token) return refused("the Authorization header must be 'Bearer <token>'");

      let tenant: TenantKeys;
      try {
        tenant = await discover();
      } catch (error) {
        return { kind: "unavailable", reason: describe(error) };
      }
      try {
        const { payload } = await jwtVerify(token, tenant.keys, {
          algorithms: ["RS256"],
          issuer: tenant.issuers,
          audience: options.audiences,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ["exp", "tid", "oid"],
        });
        const claims = claimsSchema.safeParse(payload);
        if (!claims.success) return refused("the token's tid, oid or roles claim is malformed");
        if (claims.data.tid.toLowerCase() !== tenantId)
          return refused("the token is from another tenant (tid)");
        const name = claims.data.upn ?? claims.data.preferred_username ?? claims.data.name;
        return {
          kind: "signed-in",
          principal: { id: claims.data.oid, ...(name && { name }), roles: claims.data.roles },
        };
      } catch (error) {
        if (error instanceof KeysUnavailable) return { kind: "unavailable", reason: error.message };
        return refused(refusalReason(error));
      }
    },
  };
}

async function discoverTenantKeys(
  options: EntraAdminAuthOptions,
  tenantId: string,
): Promise<TenantKeys> {
  const metadataUrl = `${options.authority}/${tenantId}/v2.0/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetch(metadataUrl, {
      redirect: "error",
      signal: AbortSignal.timeout(options.timeoutMs),
      headers: { accept: "application/json" },
    });
  } catch (error) {
    throw new Error(`the tenant's OpenID metadata could not be read: ${describe(error)}`, {
      cause: error,
    });
  }
  if (response.status !== 200)
    throw new Error(`the tenant's OpenID metadata answered HTTP ${response.status}`);
  const metadata = metadataSchema.safeParse(await response.json().catch(() => undefined));
  if (!metadata.success) throw new Error("the tenant's OpenID metadata has no issuer or jwks_uri");
  const jwksUri = checkServiceUrl(metadata.data.jwks_uri, options.allowLoopback);
  if (!jwksUri.ok) throw new Error(`the tenant's jwks_uri ${jwksUri.message}`);

  const remoteKeys = createRemoteJWKSet(jwksUri.url, { timeoutDuration: options.timeoutMs });
  return {
    // v2.0 tokens name the metadata's issuer; v1.0 tokens (an API whose manifest leaves
    // accessTokenAcceptedVersion unset) are issued by sts.windows.net.
    issuers: [metadata.data.issuer, `https://sts.windows.net/${tenantId}/`],
    keys: async (header, token) => {
      try {
        return await remoteKeys(header, token);
      } catch (error) {
        if (
          error instanceof errors.JWKSNoMatchingKey ||
          error instanceof errors.JWKSMultipleMatchingKeys
        )
          throw error;
        throw new KeysUnavailable(
          `the tenant's signing keys could not be read: ${describe(error)}`,
        );
      }
    },
  };
}

const refused = (reason: string): AdminAuthentication => ({ kind: "refused", reason });

/** Why jose refused the token, in words an administrator can act on (never the token itself). */
function refusalReason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "the token has expired (exp)";
  if (error instanceof errors.JWTClaimValidationFailed)
    switch (error.claim) {
      case "aud":
        return "the token is not for the relay's API (aud)";
      case "iss":
        return "the token was not issued by the relay's tenant (iss)";
      case "nbf":
        return "the token is not valid yet (nbf)";
      default:
        return `the token's ${error.claim} claim is missing or not valid`;
    }
  if (error instanceof errors.JOSEAlgNotAllowed) return "the token must be signed with RS256";
  if (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWSSignatureVerificationFailed
  )
    return "the token is not signed by the tenant's keys";
  return "the token is malformed";
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
