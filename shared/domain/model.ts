/** The relay's records, as the use cases see them (storage-agnostic). */

export interface StoreRegistration {
  storeId: string;
  organizationCode: string;
  region: string;
  dataServiceUrl: string;
  securityServiceUrl?: string;
  identityStoreId: number;
  tenantId: string;
  clientId: string;
  updatedAt: string;
}

export type FlowAuth = "sas" | "entra";

export interface WorkflowLink {
  storeId: string;
  workflowId: string;
  workflowName?: string;
  approvers: string[];
  flowAuth: FlowAuth;
  /** The flow's HTTP POST URL, secret (its `sig` is a credential); encrypted at rest. */
  requestUrl: string;
  /** The key DM presents as `?sig=` on the trigger URL; encrypted at rest. */
  triggerKey: string;
  requestIdPointer?: string;
  /**
   * Whether the flow claims each request before its approval (CONTRACT 4b): true when it was made
   * from the relay's template or a claim of it was seen. Reconciliation re-calls only such flows
   * when no claim arrives, since a hand-made flow may never claim.
   */
  claims?: boolean;
  /** Calls per second the relay makes to the flow at most (DEFAULT_CALLS_PER_SECOND if unset). */
  maxCallsPerSecond?: number;
  updatedAt: string;
}

export const REQUEST_STATES = [
  "queued",
  "flow-triggered",
  "decided",
  "applied",
  "superseded",
  "expired",
  "flow-failed",
  "apply-failed",
] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

export type Outcome = "approved" | "denied";

export interface Approver {
  email?: string;
  displayName?: string;
}

export interface Decision {
  outcome: Outcome;
  approver?: Approver;
  comments?: string;
  respondedAt?: string;
  /** When the relay recorded it. */
  recordedAt: string;
}

export interface HistoryEntry {
  at: string;
  state: RequestState;
  detail: string;
}

/** The flow run that claimed the request (CONTRACT 4b), and what became of cancelling it. */
export interface FlowRun {
  runId: string;
  flowName: string;
  environmentName: string;
  claimedAt: string;
  cancelledAt?: string;
  cancelError?: string;
  /** Cancel calls made so far; MAX_CANCEL_ATTEMPTS once a refusal ends the trying. */
  cancelAttempts?: number;
}

export interface RelayRequest {
  storeId: string;
  workflowId: string;
  requestId: string;
  state: RequestState;
  decision?: Decision;
  /** What DM itself decided, when it decided before the relay could write (superseded). */
  dmOutcome?: Outcome;
  flowRunId?: string;
  flowRun?: FlowRun;
  /** When the current step's scheduled retry is due; reconciliation leaves it alone until then. */
  nextAttemptAt?: string;
  /** Attempts made in the current drive of each step (reset by a redrive). */
  attempts: { flow: number; apply: number };
  /** How many times an administrator redrove the request; part of message ids. */
  redrives: number;
  /** True when the last apply attempt ended without knowing whether DM took it (timeout, 5xx). */
  applyOutcomeUnknown?: boolean;
  lastError?: string;
  history: HistoryEntry[];
  createdAt: string;
  updatedAt: string;
}

/** DM's trigger body, kept so the flow gets the same document on every attempt and redrive. */
export interface TriggerPayload {
  /** The raw JSON text DM sent, unchanged. */
  json: string;
}
