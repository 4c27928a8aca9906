import type { RelayRequest } from "../domain/model";
import { nextAttempt } from "../domain/retry";
import { redact } from "../logging";
import type { StepMessage } from "../ports";
import type { Invocation, RelayDeps } from "./deps";
import { loadForStep, recordEvent, sendStep } from "./request-records";

/**
 * One attempt to start the flow of a queued request (Service Bus trigger on workflow-events).
 * A message that no longer matches the request (already handled, superseded by a redrive or a
 * later attempt) is dropped, so a redelivery never calls the flow a second time.
 */
export async function dispatchToFlow(
  deps: RelayDeps,
  message: StepMessage,
  { log }: Invocation,
): Promise<void> {
  const request = await loadForStep(deps, "flow", message, log);
  if (!request) return;

  const fail = (reason: string) =>
    recordEvent(deps, message, { type: "flow-failed", attempt: message.attempt, reason }, log);
  const link = await deps.links.get(message.storeId, message.workflowId);
  if (!link) return fail("the workflow is no longer linked to a flow");
  const store = await deps.stores.get(message.storeId);
  if (!store) return fail("the identity store is no longer registered");
  const payloadJson = await deps.requests.getPayload(message.storeId, message.requestId);
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
        message,
        { type: "flow-triggered", attempt: message.attempt, runId: outcome.runId },
        log,
      );
    case "permanent":
      return fail(`the flow refused the call: ${redact(outcome.reason)}`);
    case "transient": {
      const reason = redact(outcome.reason);
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
        message,
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
