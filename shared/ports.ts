/** The small interfaces the use cases need from the outside world; adapters implement them. */
import type { RelayRequest, RequestState, StoreRegistration, WorkflowLink } from "./domain/model";

/** A stored record with the version token for a conditional write (Table ETag). */
export interface Versioned<T> {
  value: T;
  etag: string;
}

export interface StoreRepository {
  get(storeId: string): Promise<StoreRegistration | undefined>;
  put(registration: StoreRegistration): Promise<void>;
  /** Every registered store, ordered by storeId. */
  list(): Promise<StoreRegistration[]>;
}

export interface LinkRepository {
  get(storeId: string, workflowId: string): Promise<WorkflowLink | undefined>;
  put(link: WorkflowLink): Promise<void>;
  /** false when there was no link. */
  delete(storeId: string, workflowId: string): Promise<boolean>;
  /** Records that the link's flow claims its requests (a claim of it was seen). */
  markClaiming(storeId: string, workflowId: string): Promise<void>;
  /** The store's links, ordered by workflowId. */
  list(storeId: string): Promise<WorkflowLink[]>;
}

export type WriteResult = "ok" | "conflict";

/** A request as stored: its record, its version and, when stored with it, DM's document. */
export interface StoredRequest extends Versioned<RelayRequest> {
  /** The trigger document when the request's own record holds it (small ones); else getPayload. */
  payloadJson?: string;
}

export interface RequestRepository {
  get(storeId: string, requestId: string): Promise<StoredRequest | undefined>;
  /** Inserts the request and its trigger payload; "conflict" when it already exists. */
  create(request: RelayRequest, payloadJson: string): Promise<WriteResult>;
  /**
   * Replaces `current` (as read or written before) with `next` if nobody wrote in between (ETag):
   * the new version, or "conflict" when another writer won. Keeps the index of requests that
   * need reconciling in step, and the document stored with the request, in the same write.
   */
  replace(next: RelayRequest, current: StoredRequest): Promise<StoredRequest | "conflict">;
  /**
   * The version of an open request this instance wrote last, while it remembers it: a guess for a
   * caller whose conditional write checks it anyway. May be stale; undefined when there is none.
   */
  lastWritten(storeId: string, requestId: string): StoredRequest | undefined;
  /** DM's trigger document, wherever it is stored. */
  getPayload(storeId: string, requestId: string): Promise<string | undefined>;
  list(storeId: string, state?: RequestState): Promise<RelayRequest[]>;
  /**
   * One page of the ids of a store's requests that need reconciling (`needsReconciling`), in id
   * order, after `after`; its size grows with open requests, never with history.
   */
  listWatched(storeId: string, page: { limit: number; after?: string }): Promise<string[]>;
  /** Drops an index entry whose request no longer needs reconciling (left by a crash). */
  unwatch(storeId: string, requestId: string): Promise<void>;
}

export const WORKFLOW_EVENTS_QUEUE = "workflow-events";
export const APPROVAL_DECISIONS_QUEUE = "approval-decisions";
export type QueueName = typeof WORKFLOW_EVENTS_QUEUE | typeof APPROVAL_DECISIONS_QUEUE;

/** What travels on both queues: only ids; the state and payload live in Table Storage. */
export interface StepMessage {
  storeId: string;
  workflowId: string;
  requestId: string;
  /** 1-based attempt of this step within the current drive. */
  attempt: number;
  redrives: number;
  /**
   * How many times this attempt was put off to a later slot to keep its flow's call rate (0 or
   * absent: never); part of the message id, so each deferred copy is a message of its own.
   */
  deferrals?: number;
}

export interface OutgoingMessage {
  /** Deterministic, so Service Bus duplicate detection drops a second send. */
  messageId: string;
  body: StepMessage;
  /** Enqueue later (retry backoff); omitted means now. */
  notBefore?: Date;
}

export interface MessageQueue {
  send(queue: QueueName, message: OutgoingMessage): Promise<void>;
}

/** The call to a flow's HTTP trigger (CONTRACT section 4). */
export interface FlowCall {
  requestUrl: string;
  flowAuth: "sas" | "entra";
  tenantId: string;
  payloadJson: string;
  headers: Record<string, string>;
}

export type CallOutcome =
  | { kind: "ok"; status: number; runId?: string }
  | { kind: "transient"; reason: string; retryAfterMs?: number }
  | { kind: "permanent"; reason: string };

export interface FlowClient {
  trigger(call: FlowCall): Promise<CallOutcome>;
}

/** Where and as whom the Data service of one identity store is called. */
export interface DataServiceTarget {
  storeId: string;
  dataServiceUrl: string;
  securityServiceUrl?: string;
  identityStoreId: number;
  tenantId: string;
  clientId: string;
}

export type DmRequestStatus = "Pending" | "Approved" | "Denied" | "Unknown";

export type ApplyOutcome =
  | { kind: "ok" }
  /** DM refused (409 or a failure envelope): the caller checks whether DM decided first. */
  | { kind: "refused"; reason: string }
  /** A 2xx whose envelope says neither success nor failure: the caller confirms with the check call. */
  | { kind: "unconfirmed"; reason: string }
  | { kind: "transient"; reason: string; retryAfterMs?: number }
  | { kind: "permanent"; reason: string };

export type StatusOutcome =
  | { kind: "ok"; status: DmRequestStatus }
  | { kind: "transient"; reason: string; retryAfterMs?: number }
  | { kind: "permanent"; reason: string };

export interface DataServiceClient {
  approve(
    target: DataServiceTarget,
    requestId: string,
    idempotencyKey: string,
  ): Promise<ApplyOutcome>;
  deny(
    target: DataServiceTarget,
    requestId: string,
    reason: string,
    idempotencyKey: string,
  ): Promise<ApplyOutcome>;
  /** The request's status in DM (the check call), or a failure to read it. */
  status(target: DataServiceTarget, requestId: string): Promise<StatusOutcome>;
  /** The check call for several requests at once (repeated `ids=`; the caller keeps to 50). */
  statuses(target: DataServiceTarget, requestIds: string[]): Promise<StatusesOutcome>;
  /** DM's workflow route (`Workflows/Routes/<workflowRouteId>`): where DM posts the workflow. */
  workflowRoute(target: DataServiceTarget, workflowRouteId: string): Promise<RouteOutcome>;
  /** Saves a workflow route as read, changed (`PATCH Workflows/Route`). */
  saveWorkflowRoute(
    target: DataServiceTarget,
    route: Record<string, unknown>,
  ): Promise<RouteSaveOutcome>;
}

export type RouteOutcome =
  | { kind: "ok"; route: Record<string, unknown> }
  | { kind: "transient" | "permanent"; reason: string; retryAfterMs?: number };

export type RouteSaveOutcome =
  { kind: "ok" } | { kind: "transient" | "permanent"; reason: string; retryAfterMs?: number };

export type StatusesOutcome =
  | { kind: "ok"; statuses: Map<string, DmRequestStatus> }
  | { kind: "transient"; reason: string; retryAfterMs?: number }
  | { kind: "permanent"; reason: string };

export interface HealthProbe {
  name: string;
  check(): Promise<void>;
}

export interface Clock {
  now(): Date;
}

/** A store's Power Platform environment, and the app registration DM's "Register Client" names. */
export interface PowerPlatformTarget {
  organizationCode: string;
  region: string;
  tenantId: string;
  clientId: string;
}

/** A cloud flow as Dataverse keeps it in its `workflow` table. */
export interface CloudFlowRecord {
  /** The Dataverse `workflowid`, which is also the flow's name in the Power Automate API. */
  flowId: string;
  name: string;
  description: string;
  /** JSON text of `{ properties: { connectionReferences, definition }, schemaVersion }`. */
  clientData: string;
}

export interface PlatformFailure {
  /** Which call failed, in words, e.g. "Dataverse: save the flow". */
  call: string;
  cause: "consent" | "unauthorized" | "not-found" | "throttled" | "unreachable" | "refused";
  /** The upstream status, when there was an answer. */
  status?: number;
  reason: string;
  retryAfterMs?: number;
}

export type PlatformAnswer<T> = { ok: true; value: T } | { ok: false; failure: PlatformFailure };

/** Dataverse and the Power Automate API, as far as creating a flow needs them. */
export interface PowerPlatformClient {
  /** The environment id Power Automate knows the Dataverse organization by. */
  environmentId(target: PowerPlatformTarget): Promise<PlatformAnswer<string>>;
  /** Creates the flow with that id, or updates it when it exists. */
  saveFlow(target: PowerPlatformTarget, flow: CloudFlowRecord): Promise<PlatformAnswer<void>>;
  /** Turns the flow on. */
  activateFlow(target: PowerPlatformTarget, flowId: string): Promise<PlatformAnswer<void>>;
  /** The HTTP POST URL of the flow's manual trigger. */
  triggerUrl(
    target: PowerPlatformTarget,
    environmentId: string,
    flowId: string,
  ): Promise<PlatformAnswer<string>>;
  /** Cancels a run; a run that has ended already (404, 409) counts as cancelled. */
  cancelRun(target: PowerPlatformTarget, run: FlowRunRef): Promise<PlatformAnswer<void>>;
}

/** A run as the Power Automate API names it. */
export interface FlowRunRef {
  environmentName: string;
  flowName: string;
  runId: string;
}

/** Who an admin request comes from, once its credential has been checked. */
export interface AdminPrincipal {
  /** The token's `oid`, or "function-key" in key mode. */
  id: string;
  /** The token's `upn`, `preferred_username` or `name`, when it has one. */
  name?: string;
  /** The app roles granted to the caller (the token's `roles` claim). */
  roles: string[];
}

export type AdminAuthentication =
  | { kind: "signed-in"; principal: AdminPrincipal }
  /** No credential, or one that does not prove who the caller is: 401. */
  | { kind: "refused"; reason: string }
  /** The credential could not be checked (Entra's keys unreachable): 503, try again. */
  | { kind: "unavailable"; reason: string };

/** Checks the caller of an admin route (CONTRACT "HTTP API", `RELAY_ADMIN_AUTH`). */
export interface AdminAuthenticator {
  /** `authorization` is the request's Authorization header, null when it has none. */
  authenticate(authorization: string | null): Promise<AdminAuthentication>;
}
