import {
  FINAL_STATES,
  FLOW_OPEN_STATES,
  STEP_STATE,
  cancelPending,
  needsReconciling,
  type Step,
} from "./lifecycle";
import type { Outcome, RelayRequest } from "./model";

/** The thresholds of CONTRACT 6b; 0 means "now". */
export interface ReconcileRules {
  stuckAfterMs: number;
  claimTimeoutMs: number;
  requestTtlMs: number;
  maxAttempts: Record<Step, number>;
}

/** What reconciliation knows about a request besides its record. */
export interface ReconcileFacts {
  now: Date;
  /** DM's own decision, when its check call says the request is no longer Pending. */
  dmOutcome?: Outcome;
  /** Whether the request's flow claims its requests (CONTRACT 4b). */
  flowClaims: boolean;
}

export type ReconcileAction =
  /** Nothing left to watch: the index entry goes. */
  | { kind: "forget" }
  | { kind: "wait" }
  | { kind: "expire" }
  | { kind: "supersede"; dmOutcome: Outcome }
  | { kind: "cancel-run" }
  /** The step's message of `lostAttempt` never acted: queue the next attempt. */
  | { kind: "requeue"; step: Step; lostAttempt: number }
  /** No run claimed in time: call the flow again as `attempt`. */
  | { kind: "recall"; attempt: number }
  /** The step ran out of attempts while reconciling: it fails, for an administrator to redrive. */
  | { kind: "give-up"; step: Step; attempt: number; reason: string };

/**
 * The one thing a reconcile pass does to a request now, in order of precedence: cancel a run that
 * must not go on, expire what is past its TTL, record that DM decided first, queue again a step
 * whose message was lost, call again a claiming flow none of whose runs claimed.
 */
export function planReconcile(
  request: RelayRequest,
  facts: ReconcileFacts,
  rules: ReconcileRules,
): ReconcileAction {
  if (!needsReconciling(request)) return { kind: "forget" };
  if (cancelPending(request)) return { kind: "cancel-run" };
  if (FINAL_STATES.has(request.state)) return { kind: "wait" };
  const now = facts.now.getTime();
  if (now - Date.parse(request.createdAt) >= rules.requestTtlMs) return { kind: "expire" };
  if (facts.dmOutcome && FLOW_OPEN_STATES.has(request.state))
    return { kind: "supersede", dmOutcome: facts.dmOutcome };

  const stuck = stuckStep(request, facts.now, rules.stuckAfterMs);
  if (stuck) {
    if (stuck.lostAttempt >= rules.maxAttempts[stuck.step])
      return {
        kind: "give-up",
        step: stuck.step,
        attempt: stuck.lostAttempt,
        reason: `gave up after ${stuck.lostAttempt} attempts: the step's queue messages were lost`,
      };
    return { kind: "requeue", ...stuck };
  }

  if (
    request.state === "flow-triggered" &&
    !request.flowRun &&
    !request.decision &&
    facts.flowClaims &&
    now >= Date.parse(request.updatedAt) + rules.claimTimeoutMs
  ) {
    const attempt = request.attempts.flow + 1;
    if (attempt > rules.maxAttempts.flow)
      return {
        kind: "give-up",
        step: "flow",
        attempt: request.attempts.flow,
        reason: `the flow was called ${request.attempts.flow} times and no run claimed the request`,
      };
    return { kind: "recall", attempt };
  }
  return { kind: "wait" };
}

/**
 * The step a request waits for when it has waited too long: `queued` or `decided`, unchanged for
 * `stuckAfterMs` and with no retry pending (a scheduled retry counts from its due time). The
 * attempt whose message never acted is the one after the last recorded.
 */
export function stuckStep(
  request: RelayRequest,
  now: Date,
  stuckAfterMs: number,
): { step: Step; lostAttempt: number } | undefined {
  const step = (["flow", "apply"] as const).find((each) => request.state === STEP_STATE[each]);
  if (!step) return undefined;
  const since = Math.max(
    Date.parse(request.updatedAt),
    request.nextAttemptAt ? Date.parse(request.nextAttemptAt) : 0,
  );
  if (now.getTime() < since + stuckAfterMs) return undefined;
  return { step, lostAttempt: request.attempts[step] + 1 };
}
