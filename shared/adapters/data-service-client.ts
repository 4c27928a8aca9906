/**
 * DM's Data service workflow API (CONTRACT "Writing the decision back to the Data service"):
 * approve, deny and the check call, and the workflow route that `configureDirectoryManager` sets;
 * authenticated by `DATA_SERVICE_AUTH`.
 */
import type { AxiosResponse } from "axios";
import type {
  ApplyOutcome,
  DataServiceClient,
  DataServiceTarget,
  RouteOutcome,
  RouteSaveOutcome,
  StatusesOutcome,
} from "../ports";
import { readEnvelope, readRequestStatus } from "./dm-envelope";
import type { DmTokens } from "./dm-token-provider";
import {
  DEFAULT_TIMEOUT_MS,
  type FailureOutcome,
  classifyTransportError,
  createHttpClient,
  deadline,
  describeAnswer,
  isSuccessStatus,
  isTransientStatus,
  joinUrl,
  parseJson,
  propertyOf,
  transientAnswer,
} from "./http-outcome";
import { tokenFailure, type TokenSource } from "./token-source";

export type DataServiceAuth =
  | { mode: "dm-token"; tokens: DmTokens }
  /** `scopeOverride` is `DATA_SERVICE_SCOPE`; otherwise `<clientId>/.default` of the store. */
  | { mode: "entra"; tokenSource: TokenSource; scopeOverride?: string }
  | { mode: "none" };

export interface DataServiceClientOptions {
  auth: DataServiceAuth;
  timeoutMs?: number;
}

export function createDataServiceClient(options: DataServiceClientOptions): DataServiceClient {
  return new HttpDataServiceClient(authorizerFor(options.auth), options.timeoutMs);
}

type StatusReadOutcome = Awaited<ReturnType<DataServiceClient["status"]>>;

const SERVICE = "the Data service";

class HttpDataServiceClient implements DataServiceClient {
  private readonly http = createHttpClient();

  constructor(
    private readonly authorizer: Authorizer,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  approve(
    target: DataServiceTarget,
    requestId: string,
    idempotencyKey: string,
  ): Promise<ApplyOutcome> {
    const body = { workflowRequestID: dmRequestId(requestId) };
    return this.decide(target, "Approve", body, idempotencyKey);
  }

  deny(
    target: DataServiceTarget,
    requestId: string,
    reason: string,
    idempotencyKey: string,
  ): Promise<ApplyOutcome> {
    const body = { workflowRequestID: dmRequestId(requestId), reason };
    return this.decide(target, "Deny", body, idempotencyKey);
  }

  async status(target: DataServiceTarget, requestId: string): Promise<StatusReadOutcome> {
    const outcome = await this.statuses(target, [requestId]);
    return outcome.kind === "ok"
      ? { kind: "ok", status: outcome.statuses.get(requestId) ?? "Unknown" }
      : outcome;
  }

  async statuses(target: DataServiceTarget, requestIds: string[]): Promise<StatusesOutcome> {
    const query = requestIds.map((id) => `ids=${encodeURIComponent(id)}`).join("&");
    const answer = await this.exchange(target, {
      method: "GET",
      url: workflowsUrl(target, `Workflows?${query}`),
      // The contract's key for every call of a request; a check of several names the first.
      idempotencyKey: `${target.storeId}:${requestIds[0]}`,
    });
    return answer.kind === "answered" ? classifyStatusRead(answer.response, requestIds) : answer;
  }

  async workflowRoute(target: DataServiceTarget, workflowRouteId: string): Promise<RouteOutcome> {
    const answer = await this.exchange(target, {
      method: "GET",
      url: workflowsUrl(target, `Workflows/Routes/${encodeURIComponent(workflowRouteId)}`),
      idempotencyKey: `${target.storeId}:route:${workflowRouteId}`,
    });
    if (answer.kind !== "answered") return answer;
    const failure = routeFailure(answer.response);
    if (failure) return failure;
    const body = parseJson(answer.response.data);
    const route = propertyOf(body, "data") ?? body;
    return route !== null && typeof route === "object" && !Array.isArray(route)
      ? { kind: "ok", route: route as Record<string, unknown> }
      : { kind: "permanent", reason: `${SERVICE} answered without the workflow route` };
  }

  async saveWorkflowRoute(
    target: DataServiceTarget,
    route: Record<string, unknown>,
  ): Promise<RouteSaveOutcome> {
    const answer = await this.exchange(target, {
      method: "PATCH",
      url: workflowsUrl(target, "Workflows/Route"),
      body: JSON.stringify({ items: [route] }),
      idempotencyKey: `${target.storeId}:route:${String(propertyOf(route, "workflowRouteId"))}`,
    });
    if (answer.kind !== "answered") return answer;
    return routeFailure(answer.response) ?? { kind: "ok" };
  }

  private async decide(
    target: DataServiceTarget,
    action: "Approve" | "Deny",
    body: object,
    idempotencyKey: string,
  ): Promise<ApplyOutcome> {
    const answer = await this.exchange(target, {
      method: "POST",
      url: workflowsUrl(target, `Workflows/${action}`),
      body: JSON.stringify(body),
      idempotencyKey,
    });
    return answer.kind === "answered" ? classifyDecision(answer.response) : answer;
  }

  /** One call, made again once with a fresh credential when the first is refused with a 401. */
  private async exchange(
    target: DataServiceTarget,
    request: {
      method: "GET" | "POST" | "PATCH";
      url: string;
      body?: string;
      idempotencyKey: string;
    },
  ): Promise<{ kind: "answered"; response: AxiosResponse<string> } | FailureOutcome> {
    for (let attempt = 1; ; attempt += 1) {
      const credential = await this.authorizer.authorization(target);
      if (credential.kind !== "ok") return credential;
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: "application/json",
        "idempotency-key": request.idempotencyKey,
      };
      if (credential.authorization) headers.authorization = credential.authorization;

      let response: AxiosResponse<string>;
      try {
        response = await this.http.request<string>({
          method: request.method,
          url: request.url,
          data: request.body,
          headers,
          ...deadline(this.timeoutMs),
        });
      } catch (error) {
        return classifyTransportError(error, SERVICE, this.timeoutMs);
      }
      if (response.status !== 401) return { kind: "answered", response };
      if (attempt > 1) {
        return { kind: "permanent", reason: `${SERVICE} refused a fresh token too (HTTP 401)` };
      }
      if (!this.authorizer.renewAfterRefusal(target, credential.authorization)) {
        return { kind: "permanent", reason: `${SERVICE} refused the credentials (HTTP 401)` };
      }
    }
  }
}

/** DM numbers its requests: an id in canonical decimal form that fits a safe integer goes as a number. */
function dmRequestId(requestId: string): number | string {
  const asNumber = Number(requestId);
  // "007" stays a string: as 7 it would name another request.
  return /^\d+$/.test(requestId) && Number.isSafeInteger(asNumber) && String(asNumber) === requestId
    ? asNumber
    : requestId;
}

function workflowsUrl(target: DataServiceTarget, path: string): string {
  return joinUrl(target.dataServiceUrl, `api/IdentityStores/${target.identityStoreId}/${path}`);
}

/**
 * Approve/Deny answers, in this order: 429/408/5xx are transient even with a failure envelope (a
 * server fault, not DM's judgement); a 409 or a failure envelope is DM refusing (the caller checks
 * whether DM decided first); other non-2xx are permanent; a 2xx is applied only when the envelope
 * says success, otherwise unconfirmed.
 */
function classifyDecision(response: AxiosResponse<string>): ApplyOutcome {
  if (isTransientStatus(response.status)) {
    return transientAnswer(response, `${SERVICE} answered ${describeAnswer(response)}`);
  }
  const envelope = readEnvelope(parseJson(response.data));
  if (response.status === 409 || envelope.verdict === "failure") {
    return {
      kind: "refused",
      reason: envelope.message ?? `${SERVICE} answered HTTP ${response.status}`,
    };
  }
  if (!isSuccessStatus(response.status)) {
    return { kind: "permanent", reason: `${SERVICE} answered ${describeAnswer(response)}` };
  }
  if (envelope.verdict === "success") return { kind: "ok" };
  const detail =
    envelope.verdict === "contradictory"
      ? "an envelope reporting both success and an error"
      : "no recognisable success or failure";
  return {
    kind: "unconfirmed",
    reason: `${SERVICE} answered HTTP ${response.status} with ${detail}`,
  };
}

/** Why a route call failed, in DM's words where it gave any; undefined for a success. */
function routeFailure(
  response: AxiosResponse<string>,
): Exclude<RouteSaveOutcome, { kind: "ok" }> | undefined {
  const envelope = readEnvelope(parseJson(response.data));
  const words = envelope.message ? `: ${envelope.message}` : "";
  if (isTransientStatus(response.status))
    return transientAnswer(response, `${SERVICE} answered ${describeAnswer(response)}`);
  if (!isSuccessStatus(response.status))
    return { kind: "permanent", reason: `${SERVICE} answered HTTP ${response.status}${words}` };
  if (envelope.verdict === "failure")
    return { kind: "permanent", reason: `${SERVICE} refused${words}` };
  return undefined;
}

/** Check-call answers: a failure envelope on a 2xx means DM could not read the requests. */
function classifyStatusRead(
  response: AxiosResponse<string>,
  requestIds: string[],
): StatusesOutcome {
  const reason = `${SERVICE} answered ${describeAnswer(response)}`;
  if (isTransientStatus(response.status)) return transientAnswer(response, reason);
  if (!isSuccessStatus(response.status)) return { kind: "permanent", reason };
  const body = parseJson(response.data);
  const envelope = readEnvelope(body);
  if (envelope.verdict === "failure") {
    return {
      kind: "permanent",
      reason: `DM could not read ${requestIds.length === 1 ? "request" : "requests"} ${requestIds.join(", ")}: ${envelope.message ?? "failure envelope"}`,
    };
  }
  return {
    kind: "ok",
    statuses: new Map(requestIds.map((id) => [id, readRequestStatus(body, id, requestIds.length)])),
  };
}

type Credential = { kind: "ok"; authorization?: string } | FailureOutcome;

interface Authorizer {
  /** The `Authorization` header for the target (none in mode `none`), or why there is none. */
  authorization(target: DataServiceTarget): Promise<Credential>;
  /** After a 401: forgets the refused credential; true when a fresh one is worth one more call. */
  renewAfterRefusal(target: DataServiceTarget, refused: string | undefined): boolean;
}

function authorizerFor(auth: DataServiceAuth): Authorizer {
  switch (auth.mode) {
    case "dm-token":
      return dmTokenAuthorizer(auth.tokens);
    case "entra":
      return entraAuthorizer(auth.tokenSource, auth.scopeOverride);
    case "none":
      return { authorization: async () => ({ kind: "ok" }), renewAfterRefusal: () => false };
  }
}

const BEARER_PREFIX = "Bearer ";

function dmTokenAuthorizer(tokens: DmTokens): Authorizer {
  return {
    async authorization(target) {
      const outcome = await tokens.getToken(target);
      return outcome.kind === "ok"
        ? { kind: "ok", authorization: BEARER_PREFIX + outcome.token }
        : outcome;
    },
    renewAfterRefusal(target, refused) {
      tokens.invalidate(target.storeId, refused?.slice(BEARER_PREFIX.length));
      return true;
    },
  };
}

/** Entra tokens come from a cache the credential manages; asking again would give the same one. */
function entraAuthorizer(tokenSource: TokenSource, scopeOverride: string | undefined): Authorizer {
  return {
    async authorization(target) {
      const scope = scopeOverride ?? `${target.clientId}/.default`;
      try {
        const token = await tokenSource.getToken(scope, target.tenantId);
        return { kind: "ok", authorization: BEARER_PREFIX + token };
      } catch (error) {
        return tokenFailure(error, scope, target.tenantId);
      }
    },
    renewAfterRefusal: () => false,
  };
}
