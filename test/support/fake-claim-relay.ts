/**
 * A real HTTP server on 127.0.0.1 playing the relay's side of a flow run: the claim (CONTRACT
 * section 4b) and the decision callback (section 5), for tests of the flow template and the flow
 * simulator that need no whole relay. It keeps the contract's rules: the first run to claim a
 * request has it, the same run may claim again, any other run gets 409, and a decision must come
 * from the run that claimed.
 */
import { serve, type Reply, type RunningServer } from "../../dev/simulators/http-util";

const RUN_FIELD = /^[A-Za-z0-9._-]{1,128}$/;

export interface ClaimSeen {
  requestId: string;
  body: unknown;
  authorization?: string;
  status: number;
}

export interface DecisionSeen {
  requestId: string;
  runId?: string;
  body: unknown;
  status: number;
}

export interface FakeClaimRelay extends RunningServer {
  /** The headers of the relay's call to the flow for this request (section 4), claim URL included. */
  flowCallHeaders(storeId: string, requestId: string, attempt?: number): Record<string, string>;
  /** Answers the request's next claims with these statuses (e.g. 503 while storage is down). */
  failNextClaims(requestId: string, statuses: number[]): void;
  /** The run that has the request, if one claimed it. */
  claimedBy(requestId: string): string | undefined;
  claims: ClaimSeen[];
  decisions: DecisionSeen[];
}

const tokenOf = (requestId: string): string => `v1.token-of-${requestId}.mac`;

export async function startFakeClaimRelay(): Promise<FakeClaimRelay> {
  const claimed = new Map<string, { runId: string; decision?: string }>();
  const faults = new Map<string, number[]>();
  const known = new Set<string>();
  const claims: ClaimSeen[] = [];
  const decisions: DecisionSeen[] = [];
  const problem = (status: number, extra: Record<string, unknown> = {}): Reply => ({
    status,
    headers: { "content-type": "application/problem+json" },
    body: { type: "about:blank", title: "refused", status, ...extra },
  });

  const server = await serve(0, (call) => {
    const route = /^\/api\/stores\/[^/]+\/requests\/([^/]+)\/(claim|decision)$/.exec(call.path);
    if (call.method !== "POST" || !route) return { status: 404 };
    const requestId = decodeURIComponent(route[1] as string);
    let body: unknown;
    try {
      body = JSON.parse(call.body);
    } catch {
      body = call.body;
    }
    const authorization = call.headers.authorization;
    const answer = (status: number, reply: Reply): Reply => {
      if (route[2] === "claim")
        claims.push({ requestId, body, status, ...(authorization && { authorization }) });
      else
        decisions.push({
          requestId,
          body,
          status,
          ...(call.headers["x-relay-run-id"] && { runId: String(call.headers["x-relay-run-id"]) }),
        });
      return reply;
    };
    if (!known.has(requestId)) return answer(404, problem(404));
    if (authorization !== `Bearer ${tokenOf(requestId)}`) return answer(401, problem(401));
    const standing = claimed.get(requestId);

    if (route[2] === "claim") {
      const fault = faults.get(requestId)?.shift();
      if (fault) return answer(fault, problem(fault));
      const fields = body as Record<string, unknown>;
      const bad = ["runId", "flowName", "environmentName"].filter(
        (field) => typeof fields?.[field] !== "string" || !RUN_FIELD.test(fields[field] as string),
      );
      if (bad.length > 0)
        return answer(400, problem(400, { errors: bad.map((field) => ({ path: `/${field}` })) }));
      const runId = fields.runId as string;
      if (standing?.decision)
        return answer(409, problem(409, { proceed: false, state: "decided" }));
      if (standing && standing.runId !== runId)
        return answer(409, problem(409, { proceed: false, claimedBy: standing.runId }));
      claimed.set(requestId, { runId });
      return answer(200, { status: 200, body: { requestId, proceed: true, runId } });
    }

    const runId = call.headers["x-relay-run-id"];
    if (!standing || runId !== standing.runId)
      return answer(409, problem(409, { detail: "the decision is not from the run that claimed" }));
    const outcome = String((body as { outcome?: unknown })?.outcome);
    if (standing.decision === outcome) return answer(200, { status: 200, body: { requestId } });
    if (standing.decision) return answer(409, problem(409, { decision: standing.decision }));
    standing.decision = outcome;
    return answer(202, { status: 202, body: { requestId, status: "decided" } });
  });

  return {
    ...server,
    flowCallHeaders(storeId, requestId, attempt = 1) {
      known.add(requestId);
      const base = `${server.url}/api/stores/${storeId}/requests/${encodeURIComponent(requestId)}`;
      return {
        "content-type": "application/json",
        "x-relay-request-id": requestId,
        "x-relay-store-id": storeId,
        "x-relay-workflow-id": "group-join",
        "x-relay-callback-url": `${base}/decision`,
        "x-relay-callback-token": tokenOf(requestId),
        "x-relay-attempt": String(attempt),
        "x-relay-claim-url": `${base}/claim`,
        "x-ms-client-tracking-id": requestId,
      };
    },
    failNextClaims(requestId, statuses) {
      faults.set(requestId, [...statuses]);
    },
    claimedBy: (requestId) => claimed.get(requestId)?.runId,
    claims,
    decisions,
  };
}
