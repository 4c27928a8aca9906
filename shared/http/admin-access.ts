/**
 * Who may use an admin route (CONTRACT "HTTP API"): app role `Relay.Admin` any admin route,
 * `Relay.Reader` only the GET ones. In key mode the Functions host has checked the key before
 * the app runs, and the key's holder may do what an admin may.
 */
import type { HttpResponseInit } from "@azure/functions";
import type { AdminActor } from "../app/deps";
import type { LogFields, Logger } from "../logging";
import type { AdminAuthenticator, AdminPrincipal } from "../ports";
import { problem } from "./responses";

export const ADMIN_ROLE = "Relay.Admin";
export const READER_ROLE = "Relay.Reader";

/** What a route does: `read` (GET) or `change` (anything else). */
export type AdminAccess = "read" | "change";

/** The caller of an admin route, as the route's handler and `GET /api/me` see it. */
export interface AdminCaller {
  actor: AdminActor;
  roles: string[];
  /** Whether the caller may use the routes that change something. */
  canChange: boolean;
}

export type Admission =
  { admitted: true; caller: AdminCaller } | { admitted: false; response: HttpResponseInit };

/** In key mode: the host let the request in, so its caller holds the function key. */
export const functionKeyAuthenticator: AdminAuthenticator = {
  authenticate: async () => ({
    kind: "signed-in",
    principal: { id: "function-key", roles: [ADMIN_ROLE] },
  }),
};

export function mayAccess(roles: readonly string[], access: AdminAccess): boolean {
  return roles.includes(ADMIN_ROLE) || (access === "read" && roles.includes(READER_ROLE));
}

/** Lets the caller in, or answers 401 (who?), 403 (not allowed) or 503 (cannot tell now). */
export async function admitAdmin(
  authenticator: AdminAuthenticator,
  authorization: string | null,
  access: AdminAccess,
  log: Logger,
): Promise<Admission> {
  const authentication = await authenticator.authenticate(authorization);
  switch (authentication.kind) {
    case "refused":
      log.warn("admin sign-in refused", { reason: authentication.reason });
      return {
        admitted: false,
        response: withChallenge(
          problem(401, "Unauthorized", authentication.reason),
          // RFC 6750: no error code when the request carried no token at all.
          authorization ? 'Bearer error="invalid_token"' : "Bearer",
        ),
      };
    case "unavailable":
      log.warn("admin sign-in could not be checked", { reason: authentication.reason });
      return {
        admitted: false,
        response: problem(
          503,
          "Service unavailable",
          "the relay could not check the sign-in with Entra ID; try again",
        ),
      };
    case "signed-in":
      return admitPrincipal(authentication.principal, access, log);
  }
}

function admitPrincipal(principal: AdminPrincipal, access: AdminAccess, log: Logger): Admission {
  const actor: AdminActor = { id: principal.id, ...(principal.name && { name: principal.name }) };
  if (mayAccess(principal.roles, access))
    return {
      admitted: true,
      caller: { actor, roles: principal.roles, canChange: mayAccess(principal.roles, "change") },
    };
  log.warn("admin access denied", {
    ...actorFields(actor),
    roles: principal.roles.join(",") || "none",
    access,
  });
  const needed = access === "read" ? `${ADMIN_ROLE} or ${READER_ROLE}` : ADMIN_ROLE;
  return {
    admitted: false,
    response: withChallenge(
      problem(403, "Forbidden", `this route needs the app role ${needed}`),
      'Bearer error="insufficient_scope"',
    ),
  };
}

/** The actor as log fields: `actor=<oid> actorName=<upn>`. */
export function actorFields(actor: AdminActor): LogFields {
  return { actor: actor.id, actorName: actor.name };
}

function withChallenge(response: HttpResponseInit, challenge: string): HttpResponseInit {
  return {
    ...response,
    headers: { ...(response.headers as Record<string, string>), "www-authenticate": challenge },
  };
}
