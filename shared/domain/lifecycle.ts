import type { Decision, HistoryEntry, Outcome, RelayRequest, RequestState } from "./model";

/**
 * The request state machine. Every change of a request goes through `transition`, so the rules
 * "a decision is recorded once" and "applied and superseded are final" hold in one place.
 */
export type RequestEvent =
  | { type: "flow-triggered"; attempt: number; runId?: string }
  | { type: "flow-attempt-failed"; attempt: number; reason: string }
  | { type: "flow-failed"; attempt: number; reason: string }
  | { type: "decided"; decision: Decision }
  | { type: "apply-attempt-failed"; attempt: number; reason: string; outcomeUnknown: boolean }
  | { type: "applied"; attempt: number; detail: string }
  | { type: "superseded"; attempt: number; dmOutcome?: Outcome; detail: string }
  | { type: "apply-failed"; attempt: number; reason: string }
  | { type: "redriven" };

export type Transition = { ok: true; request: RelayRequest } | { ok: false; reason: string };

export const FINAL_STATES: ReadonlySet<RequestState> = new Set(["applied", "superseded"]);
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
      // The flow can answer before its trigger call returns: keep the later state, note the run.
      if (request.decision && request.state !== "flow-failed")
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
          lastError: event.reason,
        },
      );
    case "flow-failed":
      if (request.state !== "queued") return refuse();
      return move("flow-failed", event.reason, {
        attempts: { ...request.attempts, flow: event.attempt },
        lastError: event.reason,
      });
    case "decided":
      if (request.decision || !DECIDABLE_STATES.has(request.state)) return refuse();
      return move("decided", describeDecision(event.decision), {
        decision: event.decision,
        lastError: undefined,
      });
    case "apply-attempt-failed":
      if (request.state !== "decided") return refuse();
      return move("decided", `apply attempt ${event.attempt} failed, retrying: ${event.reason}`, {
        attempts: { ...request.attempts, apply: event.attempt },
        applyOutcomeUnknown: event.outcomeUnknown,
        lastError: event.reason,
      });
    case "applied":
      if (request.state !== "decided") return refuse();
      return move("applied", event.detail, {
        attempts: { ...request.attempts, apply: event.attempt },
        applyOutcomeUnknown: undefined,
        lastError: undefined,
      });
    case "superseded":
      if (request.state !== "decided") return refuse();
      return move("superseded", event.detail, {
        attempts: { ...request.attempts, apply: event.attempt },
        dmOutcome: event.dmOutcome,
        applyOutcomeUnknown: undefined,
      });
    case "apply-failed":
      if (request.state !== "decided") return refuse();
      return move("apply-failed", event.reason, {
        attempts: { ...request.attempts, apply: event.attempt },
        lastError: event.reason,
      });
    case "redriven":
      if (request.state === "flow-failed")
        return move("queued", "redriven by an administrator: calling the flow again", {
          attempts: { ...request.attempts, flow: 0 },
          redrives: request.redrives + 1,
          lastError: undefined,
        });
      if (request.state === "apply-failed")
        return move("decided", "redriven by an administrator: writing the decision again", {
          attempts: { ...request.attempts, apply: 0 },
          redrives: request.redrives + 1,
          lastError: undefined,
        });
      return refuse();
  }
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
const STEP_STATE = { flow: "queued", apply: "decided" } as const;

/**
 * Whether a queue message is the next attempt of its step for this request: the request is still
 * waiting for that step, in the same drive (redrive count), and the attempt is not done yet. Any
 * other message (a redelivery, a duplicate, one from before a redrive) must not act.
 */
export function isCurrentStep(
  request: RelayRequest,
  step: keyof typeof STEP_STATE,
  message: { attempt: number; redrives: number },
): boolean {
  return (
    request.state === STEP_STATE[step] &&
    request.redrives === message.redrives &&
    request.attempts[step] < message.attempt
  );
}
