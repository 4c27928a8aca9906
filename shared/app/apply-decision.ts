import { denialReason } from "../domain/decision";
import type { RequestEvent } from "../domain/lifecycle";
import type { Decision, Outcome, RelayRequest } from "../domain/model";
import { nextAttempt } from "../domain/retry";
import type { DataServiceTarget, DmRequestStatus, StepMessage } from "../ports";
import type { Invocation, RelayDeps } from "./deps";
import { loadForStep, recordEvent, sendStep } from "./request-records";

const DM_OUTCOME: Partial<Record<DmRequestStatus, Outcome>> = {
  Approved: "approved",
  Denied: "denied",
};

/** What one attempt concluded: a final event, or "try again later". */
type Verdict =
  RequestEvent | { type: "retry"; reason: string; retryAfterMs?: number; outcomeUnknown: boolean };

/**
 * One attempt to write a recorded decision to DM's Data service (Service Bus trigger on
 * approval-decisions). When DM refuses, the check call tells "DM decided first" (superseded)
 * from a real failure; an earlier attempt whose outcome was unknown and that DM now shows as
 * ours counts as applied, so a decision is never written twice.
 */
export async function applyDecision(
  deps: RelayDeps,
  message: StepMessage,
  { log }: Invocation,
): Promise<void> {
  const [stored, store] = await Promise.all([
    loadForStep(deps, "apply", message, log),
    deps.stores.get(message.storeId),
  ]);
  const request = stored?.value;
  // A request waiting for its apply step always holds a decision.
  if (!stored || !request?.decision) return;
  const verdict = store
    ? await attemptApply(deps, store, request, request.decision, message.attempt)
    : ({
        type: "apply-failed",
        attempt: message.attempt,
        reason: "the identity store is no longer registered",
      } as const);
  if (verdict.type !== "retry") return recordEvent(deps, stored, verdict, log);

  const next = nextAttempt(
    message.attempt,
    deps.settings.applyRetry,
    verdict.retryAfterMs,
    deps.random,
  );
  if (!next.retry)
    return recordEvent(
      deps,
      stored,
      {
        type: "apply-failed",
        attempt: message.attempt,
        reason: `gave up after ${message.attempt} attempts: ${verdict.reason}`,
      },
      log,
    );
  // Schedule before recording, as for flow calls: a crash in between cannot lose the retry.
  const at = new Date(deps.clock.now().getTime() + next.delayMs);
  await sendStep(deps, "apply", request, message.attempt + 1, at);
  log.warn("writing the decision failed, retry scheduled", {
    attempt: message.attempt,
    delayMs: next.delayMs,
    reason: verdict.reason,
  });
  return recordEvent(
    deps,
    stored,
    {
      type: "apply-attempt-failed",
      attempt: message.attempt,
      reason: verdict.reason,
      outcomeUnknown: verdict.outcomeUnknown,
      nextAttemptAt: at.toISOString(),
    },
    log,
  );
}

async function attemptApply(
  deps: RelayDeps,
  store: DataServiceTarget,
  request: RelayRequest,
  decision: Decision,
  attempt: number,
): Promise<Verdict> {
  const ours = decision.outcome;
  const idempotencyKey = `${request.storeId}:${request.requestId}`;
  const outcome =
    ours === "approved"
      ? await deps.dataService.approve(store, request.requestId, idempotencyKey)
      : await deps.dataService.deny(
          store,
          request.requestId,
          denialReason(decision),
          idempotencyKey,
        );
  switch (outcome.kind) {
    case "ok":
      return { type: "applied", attempt, detail: `${ours} in Directory Manager` };
    case "refused":
    case "unconfirmed":
      return settleWithCheck(deps, store, request, ours, outcome, attempt);
    case "permanent":
      return {
        type: "apply-failed",
        attempt,
        reason: `the Data service refused: ${outcome.reason}`,
      };
    case "transient":
      return {
        type: "retry",
        reason: outcome.reason,
        retryAfterMs: outcome.retryAfterMs,
        outcomeUnknown: true,
      };
  }
}

/** DM said no, or did not say: its own view of the request decides what happened. */
async function settleWithCheck(
  deps: RelayDeps,
  target: DataServiceTarget,
  request: RelayRequest,
  ours: Outcome,
  outcome: { kind: "refused" | "unconfirmed"; reason: string },
  attempt: number,
): Promise<Verdict> {
  const mayHaveLanded = outcome.kind === "unconfirmed" || request.applyOutcomeUnknown === true;
  const check = await deps.dataService.status(target, request.requestId);
  if (check.kind === "transient")
    return {
      type: "retry",
      reason: `the check call failed: ${check.reason}`,
      retryAfterMs: check.retryAfterMs,
      outcomeUnknown: mayHaveLanded,
    };
  if (check.kind === "permanent")
    return {
      type: "apply-failed",
      attempt,
      reason: `${outcome.reason}; the check call failed: ${check.reason}`,
    };
  const dmOutcome = DM_OUTCOME[check.status];
  if (!dmOutcome)
    return outcome.kind === "unconfirmed"
      ? {
          type: "retry",
          reason: `DM's answer was unclear and the request is ${check.status}`,
          outcomeUnknown: true,
        }
      : { type: "apply-failed", attempt, reason: `Directory Manager refused: ${outcome.reason}` };
  if (dmOutcome === ours && mayHaveLanded)
    return {
      type: "applied",
      attempt,
      detail: `${ours} in Directory Manager (confirmed by the check call)`,
    };
  return {
    type: "superseded",
    attempt,
    dmOutcome,
    detail: `Directory Manager had already ${dmOutcome} the request; the flow's decision (${ours}) was not written`,
  };
}
