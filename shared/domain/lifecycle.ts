import type { Decision, FlowRun, HistoryEntry, Outcome, RelayRequest, RequestState } from "./model";

/**
 * The request state machine. Every change of a request goes through `transition`, so the rules
 * "a decision is recorded once" and "applied and superseded are final" hold in one place.
 */
export type RequestEvent =
  | { type: "flow-triggered"; attempt: number; runId?: string }
  | { type: "flow-attempt-failed"; attempt: number; reason: string; nextAttemptAt: string }
  | { type: "flow-failed"; attempt: number; reason: string }
  /** A run of the flow claimed the request (CONTRACT 4b); only the first run may. */
  | { type: "claimed"; run: FlowRun }
  | { type: "decided"; decision: Decision }
  | {
      type: "apply-attempt-failed";
      attempt: number;
      reason: string;
      outcomeUnknown: boolean;
      nextAttemptAt: string;
    }
  | { type: "applied"; attempt: number; detail: string }
  /** DM decided first: found by the apply step (attempt given) or by reconciliation. */
  | { type: "superseded"; attempt?: number; dmOutcome?: Outcome; detail: string }
  | { type: "apply-failed"; attempt: number; reason: string }
  | { type: "redriven"; by?: string }
  /**
   * The step's message of attempt `lostAttempt` never acted (lost with an emulator restart, or a
   * send that failed after the record was written): it counts as made, and the next is queued.
   */
  | { type: "requeued"; step: Step; lostAttempt: number; detail: string }
  /** No run claimed the request in time: the flow is called again (flow attempt `attempt`). */
  | { type: "claim-timed-out"; attempt: number; detail: string }
  | { type: "expired"; detail: string }
  | { type: "run-cancelled" }
  | { type: "run-cancel-failed"; reason: string; final: boolean };

export type Step = "flow" | "apply";

export type Transition = { ok: true; request: RelayRequest } | { ok: false; reason: string };

export const FINAL_STATES: ReadonlySet<RequestState> = new Set([
  "applied",
  "superseded",
  "expired",
]);
/** States in which DM may still decide a request itself before the flow's decision arrives. */
export const FLOW_OPEN_STATES: ReadonlySet<RequestState> = new Set([
  "queued",
  "flow-triggered",
  "flow-failed",
]);
/** How often cancelling a run is tried (once per reconcile pass) before the error stands. */
export const MAX_CANCEL_ATTEMPTS = 3;
/** States in which the flow may still answer; a decision after a failed flow call still counts. */
const DECIDABLE_STATES: ReadonlySet<RequestState> = new Set([
  "queued",
  "flow-triggered",
  "flow-failed",
]);
export const HISTORY_LIMIT = 100;

export function newRequest(
  ids: { storeId: string; workflowId: string; requestId: string },
  at: Date,
): RelayRequest {
  const stamp = at.toISOString();
  return {
    storeId: ids.storeId,
    workflowId: ids.workflowId,
    requestId: ids.requestId,
    state: "queued",
    attempts: { flow: 0, apply: 0 },
    redrives: 0,
    history: [{ at: stamp, state: "queued", detail: "accepted from Directory Manager" }],
    createdAt: stamp,
    updatedAt: stamp,
  };
}

export function transition(request: RelayRequest, event: RequestEvent, at: Date): Transition {
  const refuse = (): Transition => ({
    ok: false,
    reason: `${event.type} is not allowed in state ${request.state}`,
  });
  const move = (
    state: RequestState,
    detail: string,
    changes: Partial<RelayRequest> = {},
  ): Transition => ({
    ok: true,
    request: withHistory({ ...request, ...changes, state }, detail, at),
  });

  switch (event.type) {
    case "flow-triggered": {
      const runDetail = event.runId ? ` (run ${event.runId})` : "";
      if (request.state === "queued")
        return move("flow-triggered", `flow triggered on attempt ${event.attempt}${runDetail}`, {
          attempts: { ...request.attempts, flow: event.attempt },
          flowRunId: event.runId,
          lastError: undefined,
        });
      // The flow can claim or answer before its trigger call returns: keep the later state.
      if ((request.decision || request.flowRun) && !FINAL_STATES.has(request.state))
        return move(request.state, `flow trigger confirmed${runDetail}`, {
          attempts: { ...request.attempts, flow: event.attempt },
          flowRunId: event.runId ?? request.flowRunId,
        });
      return refuse();
    }
    case "flow-attempt-failed":
      if (request.state !== "queued") return refuse();
      return move(
        "queued",
        `flow call attempt ${event.attempt} failed, retrying: ${event.reason}`,
        {
          attempts: { ...request.attempts, flow: event.attempt },
          nextAttemptAt: event.nextAttemptAt,
          lastError: event.reason,
        },
      );
    case "flow-failed":
      // From flow-triggered only when no run ever claimed: the flow was called and never answered.
      if (
        request.state !== "queued" &&
        !(request.state === "flow-triggered" && !request.flowRun && !request.decision)
      )
        return refuse();
      return move("flow-failed", event.reason, {
        attempts: { ...request.attempts, flow: event.attempt },
        nextAttemptAt: undefined,
        lastError: event.reason,
      });
    case "claimed": {
      // A claim counts as the flow being triggered, even when the dispatcher's record was lost.
      if (request.flowRun || request.decision || !FLOW_OPEN_STATES.has(request.state))
        return refuse();
      return move("flow-triggered", `claimed by flow run ${event.run.runId}`, {
        flowRun: event.run,
        nextAttemptAt: undefined,
        lastError: undefined,
      });
    }
    case "decided":
      if (request.decision || !DECIDABLE_STATES.has(request.state)) return refuse();
      return move("decided", describeDecision(event.decision), {
        decision: event.decision,
        nextAttemptAt: undefined,
        lastError: undefined,
      });
    case "apply-attempt-failed":
      if (request.state !== "decided") return refuse();
      return move("decided", `apply attempt ${event.attempt} failed, retrying: ${event.reason}`, {
        attempts: { ...request.attempts, apply: event.attempt },
        applyOutcomeUnknown: event.outcomeUnknown,
        nextAttemptAt: event.nextAttemptAt,
        lastError: event.reason,
      });
    case "applied":
      if (request.state !== "decided") return refuse();
      return move("applied", event.detail, {
        attempts: { ...request.attempts, apply: event.attempt },
        applyOutcomeUnknown: undefined,
        nextAttemptAt: undefined,
        lastError: undefined,
      });
    case "superseded": {
      const byApply = event.attempt !== undefined;
      if (byApply ? request.state !== "decided" : !FLOW_OPEN_STATES.has(request.state))
        return refuse();
      return move("superseded", event.detail, {
        ...(byApply && { attempts: { ...request.attempts, apply: event.attempt as number } }),
        dmOutcome: event.dmOutcome,
        applyOutcomeUnknown: undefined,
        nextAttemptAt: undefined,
      });
    }
    case "apply-failed":
      if (request.state !== "decided") return refuse();
      return move("apply-failed", event.reason, {
        attempts: { ...request.attempts, apply: event.attempt },
        nextAttemptAt: undefined,
        lastError: event.reason,
      });
    case "redriven": {
      const by = event.by ? ` (${event.by})` : "";
      if (request.state === "flow-failed")
        return move("queued", `redriven by an administrator${by}: calling the flow again`, {
          attempts: { ...request.attempts, flow: 0 },
          redrives: request.redrives + 1,
          lastError: undefined,
        });
      if (request.state === "apply-failed")
        return move("decided", `redriven by an administrator${by}: writing the decision again`, {
          attempts: { ...request.attempts, apply: 0 },
          redrives: request.redrives + 1,
          lastError: undefined,
        });
      return refuse();
    }
    case "requeued": {
      const step = event.step;
      if (request.state !== STEP_STATE[step] || request.attempts[step] !== event.lostAttempt - 1)
        return refuse();
      return move(request.state, event.detail, {
        attempts: { ...request.attempts, [step]: event.lostAttempt },
        nextAttemptAt: undefined,
      });
    }
    case "claim-timed-out":
      if (request.state !== "flow-triggered" || request.flowRun || request.decision)
        return refuse();
      if (request.attempts.flow !== event.attempt - 1) return refuse();
      return move("queued", event.detail, { flowRunId: undefined, nextAttemptAt: undefined });
    case "expired":
      if (FINAL_STATES.has(request.state)) return refuse();
      return move("expired", event.detail, { nextAttemptAt: undefined });
    case "run-cancelled":
      if (!request.flowRun || request.flowRun.cancelledAt) return refuse();
      return move(request.state, `flow run ${request.flowRun.runId} cancelled`, {
        flowRun: { ...request.flowRun, cancelledAt: at.toISOString(), cancelError: undefined },
      });
    case "run-cancel-failed": {
      const run = request.flowRun;
      if (!run || run.cancelledAt) return refuse();
      const tries = event.final ? MAX_CANCEL_ATTEMPTS : (run.cancelAttempts ?? 0) + 1;
      return move(request.state, `cancelling flow run ${run.runId} failed: ${event.reason}`, {
        flowRun: { ...run, cancelError: event.reason, cancelAttempts: tries },
      });
    }
  }
}

/**
 * Whether a run's cancellation is still wanted: DM decided first or the request expired while a
 * claimed run may still wait for its approval, and cancelling has not succeeded or given up.
 */
export function cancelPending(request: RelayRequest): boolean {
  const run = request.flowRun;
  return (
    (request.state === "superseded" || request.state === "expired") &&
    run !== undefined &&
    !request.decision &&
    !run.cancelledAt &&
    (run.cancelAttempts ?? 0) < MAX_CANCEL_ATTEMPTS
  );
}

/**
 * Whether reconciliation must keep looking at a request: it is open, or its run still has to be
 * cancelled. The Table adapter keeps an index of exactly these, so a pass never reads history.
 */
export function needsReconciling(request: RelayRequest): boolean {
  return !FINAL_STATES.has(request.state) || cancelPending(request);
}

function withHistory(request: RelayRequest, detail: string, at: Date): RelayRequest {
  const stamp = at.toISOString();
  const entry: HistoryEntry = { at: stamp, state: request.state, detail };
  return {
    ...request,
    updatedAt: stamp,
    history: [...request.history, entry].slice(-HISTORY_LIMIT),
  };
}

function describeDecision(decision: Decision): string {
  const who = decision.approver?.email ?? decision.approver?.displayName;
  return `${decision.outcome} in Power Automate${who ? ` by ${who}` : ""}`;
}

/** The state a request must be in for a step's message to act, and that step's attempt counter. */
export const STEP_STATE = { flow: "queued", apply: "decided" } as const satisfies Record<
  Step,
  RequestState
>;

/**
 * Whether a queue message is the next attempt of its step for this request: the request is still
 * waiting for that step, in the same drive (redrive count), and the attempt is not done yet. Any
 * other message (a redelivery, a duplicate, one from before a redrive) must not act.
 */
export function isCurrentStep(
  request: RelayRequest,
  step: Step,
  message: { attempt: number; redrives: number },
): boolean {
  return (
    request.state === STEP_STATE[step] &&
    request.redrives === message.redrives &&
    request.attempts[step] < message.attempt
  );
}
