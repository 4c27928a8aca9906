import { randomBytes } from "node:crypto";
import { serve, type ReceivedRequest, type Reply, type RunningServer } from "./http-util";

export type DmStatus = "Pending" | "Approved" | "Denied";

export interface DmSimulatorOptions {
  port?: number;
  /** Credentials the Security Service accepts; undefined accepts none (auth "none" callers only). */
  credentials?: { username: string; password: string; clientId: string; clientSecret: string };
  /** Lifetime of issued tokens in seconds. */
  tokenLifetimeSeconds?: number;
  /** Status of requests DM has not seen decided (default Pending). */
  initialStatus?: (requestId: string) => DmStatus;
  /** Overrides the answer to a Data service call (outages, odd envelopes); undefined = normal. */
  fault?: (call: ReceivedRequest) => Reply | "hang" | undefined;
  log?: (line: string) => void;
}

export interface DmSimulator extends RunningServer {
  dataServiceUrl: string;
  securityServiceUrl: string;
  calls: ReceivedRequest[];
  tokensIssued: number;
  statuses: Map<string, DmStatus>;
  /** Approve/Deny calls that changed a request, per request id (must be 1 at most). */
  writes: Map<string, number>;
  /** Workflow routes by workflowRouteId, as DM's route API keeps them. */
  routes: Map<string, Record<string, unknown>>;
  /** Makes every token issued so far invalid, as if it had expired. */
  expireTokens(): void;
}

const envelope = (
  status: "Success" | "Failure",
  message: string,
  data: unknown = null,
  errorCode: number | null = null,
) => ({
  status,
  message,
  errorCode,
  data,
  details: [],
});

/**
 * Plays DM's Data service and Security Service as documented: `connect/token` (password grant),
 * `Workflows/Approve`, `Workflows/Deny` and `Workflows?ids=`, answering with DM's envelope.
 */
export async function startDmSimulator(options: DmSimulatorOptions = {}): Promise<DmSimulator> {
  const validTokens = new Map<string, number>();
  const log = options.log ?? (() => undefined);
  const state = {
    calls: [] as ReceivedRequest[],
    tokensIssued: 0,
    statuses: new Map<string, DmStatus>(),
    writes: new Map<string, number>(),
    routes: new Map<string, Record<string, unknown>>(),
  };
  const statusOf = (id: string): DmStatus =>
    state.statuses.get(id) ?? options.initialStatus?.(id) ?? "Pending";

  const server = await serve(options.port ?? 0, (call) => {
    if (call.method === "POST" && call.path === "/GroupIDSecurityService/connect/token")
      return issueToken(call);
    const route =
      /^\/GroupIDDataService\/api\/IdentityStores\/(\d+)\/Workflows\/(?:Routes\/([^/]+)|Route)$/.exec(
        call.path,
      );
    const match =
      /^\/GroupIDDataService\/api\/IdentityStores\/(\d+)\/Workflows(?:\/(Approve|Deny))?$/.exec(
        call.path,
      );
    if (route) return routeCall(call, route[2]);
    if (!match) return { status: 404, body: envelope("Failure", "not found") };
    state.calls.push(call);
    if (options.credentials) {
      const token = /^Bearer (.+)$/.exec(call.headers.authorization ?? "")?.[1];
      if (!token || !validTokens.has(token) || (validTokens.get(token) as number) < Date.now())
        return { status: 401, body: envelope("Failure", "unauthorized") };
    }
    const fault = options.fault?.(call);
    if (fault) return fault;
    const action = match[2];
    if (!action) {
      // DM takes repeated `ids=` parameters (a comma list is read too).
      const ids = call.query
        .getAll("ids")
        .flatMap((value) => value.split(","))
        .filter(Boolean);
      const data = ids.map((id) => ({
        workflowRequestID: /^\d+$/.test(id) ? Number(id) : id,
        statusId: statusOf(id),
        workflowStatusDTO: { description: statusOf(id) },
      }));
      return { status: 200, body: envelope("Success", "ok", data) };
    }
    const body = JSON.parse(call.body || "{}") as { workflowRequestID?: unknown; reason?: unknown };
    const id = String(body.workflowRequestID ?? "");
    if (!id)
      return { status: 400, body: envelope("Failure", "workflowRequestID is required", null, 400) };
    if (statusOf(id) !== "Pending")
      return {
        status: 409,
        body: envelope("Failure", `request ${id} is already ${statusOf(id)}`, null, 409),
      };
    state.statuses.set(id, action === "Approve" ? "Approved" : "Denied");
    state.writes.set(id, (state.writes.get(id) ?? 0) + 1);
    log(`dm: request ${id} ${action === "Approve" ? "approved" : "denied"}`);
    return {
      status: 200,
      body: envelope("Success", `request ${id} updated`, {
        workflowRequestID: body.workflowRequestID,
      }),
    };
  });

  /** DM's workflow route API: read one route, or save routes (`{items: [...]}`). */
  function routeCall(call: ReceivedRequest, routeId: string | undefined): Reply {
    if (!authorized(call)) return { status: 401, body: envelope("Failure", "unauthorized") };
    state.calls.push(call);
    const fault = options.fault?.(call);
    if (fault && fault !== "hang") return fault;
    if (call.method === "GET" && routeId) {
      const stored = state.routes.get(routeId);
      return stored
        ? { status: 200, body: envelope("Success", "ok", stored) }
        : {
            status: 404,
            body: envelope("Failure", `workflow route ${routeId} not found`, null, 404),
          };
    }
    if (call.method !== "PATCH" || routeId)
      return { status: 405, body: envelope("Failure", "method not allowed") };
    const { items } = JSON.parse(call.body || "{}") as { items?: Record<string, unknown>[] };
    for (const item of items ?? []) state.routes.set(String(item.workflowRouteId), item);
    return { status: 200, body: envelope("Success", `${items?.length ?? 0} routes saved`) };
  }

  function authorized(call: ReceivedRequest): boolean {
    if (!options.credentials) return true;
    const token = /^Bearer (.+)$/.exec(call.headers.authorization ?? "")?.[1];
    return Boolean(token && (validTokens.get(token) ?? 0) >= Date.now());
  }

  function issueToken(call: ReceivedRequest): Reply {
    const form = new URLSearchParams(call.body);
    const expected = options.credentials;
    const accepted =
      expected &&
      form.get("grant_type") === "password" &&
      form.get("username") === expected.username &&
      form.get("password") === expected.password &&
      form.get("client_id") === expected.clientId &&
      form.get("client_secret") === expected.clientSecret &&
      /^\d+$/.test(form.get("identity_store_id") ?? "");
    if (!accepted) return { status: 400, body: { error: "invalid_grant" } };
    const lifetime = options.tokenLifetimeSeconds ?? 3600;
    const token = randomBytes(24).toString("base64url");
    validTokens.set(token, Date.now() + lifetime * 1000);
    state.tokensIssued++;
    return {
      status: 200,
      body: { access_token: token, expires_in: lifetime, token_type: "Bearer" },
    };
  }

  return Object.assign(state, server, {
    dataServiceUrl: `${server.url}/GroupIDDataService`,
    securityServiceUrl: `${server.url}/GroupIDSecurityService`,
    expireTokens: () => validTokens.clear(),
  });
}
