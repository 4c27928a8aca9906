import type { RelayRequest, WorkflowLink } from "../domain/model";
import { DEFAULT_CALLS_PER_SECOND } from "../domain/pacing";
import { nextAttempt } from "../domain/retry";
import { redact } from "../logging";
import type { StepMessage } from "../ports";
import type { Invocation, RelayDeps } from "./deps";
import { loadForStep, recordEvent, sendStep } from "./request-records";

/**
 * One attempt to start the flow of a queued request (Service Bus trigger on workflow-events).
 * A message that no longer matches the request (already handled, superseded by a redrive or a
 * later attempt) is dropped, so a redelivery never calls the flow a second time. A call that would
 * go over the flow's rate is not made now: the message is queued again for the call's slot.
 */
export async function dispatchToFlow(
  deps: RelayDeps,
  message: StepMessage,
  { log }: Invocation,
): Promise<void> {
  const link = await deps.links.get(message.storeId, message.workflowId);
  if (link && (await deferredToSlot(deps, link, message, log))) return;
  const [stored, store] = await Promise.all([
    loadForStep(deps, "flow", message, log),
    deps.stores.get(message.storeId),
  ]);
  if (!stored) return;
  const request = stored.value;

  const fail = (reason: string) =>
    recordEvent(deps, stored, { type: "flow-failed", attempt: message.attempt, reason }, log);
  if (!link) return fail("the workflow is no longer linked to a flow");
  if (!store) return fail("the identity store is no longer registered");
  const payloadJson =
    stored.payloadJson ?? (await deps.requests.getPayload(message.storeId, message.requestId));
  if (payloadJson === undefined) return fail("the request's trigger document is missing");

  const now = deps.clock.now();
  const outcome = await deps.flows.trigger({
    requestUrl: link.requestUrl,
    flowAuth: link.flowAuth,
    tenantId: store.tenantId,
    payloadJson,
    headers: {
      "x-relay-request-id": request.requestId,
      "x-relay-store-id": request.storeId,
      "x-relay-workflow-id": request.workflowId,
      "x-relay-callback-url": requestUrl(deps, request, "decision"),
      "x-relay-callback-token": deps.tokens.issue(request.storeId, request.requestId, now),
      "x-relay-attempt": String(message.attempt),
      "x-relay-claim-url": requestUrl(deps, request, "claim"),
      // Logic Apps takes the run's client tracking id from it; Power Automate ignores it.
      "x-ms-client-tracking-id": request.requestId,
    },
  });

  switch (outcome.kind) {
    case "ok":
      return recordEvent(
        deps,
        stored,
        { type: "flow-triggered", attempt: message.attempt, runId: outcome.runId },
        log,
      );
    case "permanent":
      return fail(`the flow refused the call: ${redact(outcome.reason)}`);
    case "transient": {
      const reason = redact(outcome.reason);
      // The flow's own word on when to call again holds for every request to it.
      if (outcome.retryAfterMs !== undefined)
        deps.pacer.hold(flowOf(link), now.getTime() + outcome.retryAfterMs);
      const next = nextAttempt(
        message.attempt,
        deps.settings.flowRetry,
        outcome.retryAfterMs,
        deps.random,
      );
      if (!next.retry) return fail(`gave up after ${message.attempt} attempts: ${reason}`);
      // Schedule before recording: if we crash in between, the redelivered message schedules the
      // same message id again (dropped as a duplicate) instead of losing the retry.
      const nextAttemptAt = new Date(now.getTime() + next.delayMs);
      await sendStep(deps, "flow", request, message.attempt + 1, nextAttemptAt);
      log.warn("flow call failed, retry scheduled", {
        attempt: message.attempt,
        delayMs: next.delayMs,
        reason,
      });
      return recordEvent(
        deps,
        stored,
        {
          type: "flow-attempt-failed",
          attempt: message.attempt,
          reason,
          nextAttemptAt: nextAttemptAt.toISOString(),
        },
        log,
      );
    }
  }
}

/**
 * Keeps the link's call rate: true when this call's slot is later, and the message has been
 * queued again for it (the same attempt, one more deferral). Nothing is read or written for it;
 * so a stale message takes a slot too, which only slows a flow's calls a little.
 */
async function deferredToSlot(
  deps: RelayDeps,
  link: WorkflowLink,
  message: StepMessage,
  log: Invocation["log"],
): Promise<boolean> {
  const now = deps.clock.now().getTime();
  const rate = link.maxCallsPerSecond ?? DEFAULT_CALLS_PER_SECOND;
  const deferrals = message.deferrals ?? 0;
  const admission = deps.pacer.admit(flowOf(link), rate, now, deferrals > 0);
  if (admission.go) return false;
  await sendStep(deps, "flow", message, message.attempt, new Date(admission.at), deferrals + 1);
  log.info("flow call deferred to keep the flow's call rate", {
    attempt: message.attempt,
    delayMs: admission.at - now,
    callsPerSecond: rate,
  });
  return true;
}

/** Calls to one flow share one rate, whichever link names it: the flow is its URL's path. */
function flowOf(link: WorkflowLink): string {
  const url = new URL(link.requestUrl);
  return `${url.host}${url.pathname}`;
}

/** The relay's URL of a request's decision callback or claim, as the flow calls it. */
export function requestUrl(
  deps: Pick<RelayDeps, "settings">,
  request: RelayRequest,
  action: "decision" | "claim",
): string {
  return (
    `${deps.settings.publicBaseUrl}/api/stores/${encodeURIComponent(request.storeId)}` +
    `/requests/${encodeURIComponent(request.requestId)}/${action}`
  );
}
