import { z } from "zod";
import { transition } from "../domain/lifecycle";
import { stuckStep } from "../domain/reconcile";
import { REQUEST_STATES, type RelayRequest } from "../domain/model";
import type { Invocation, RelayDeps } from "./deps";
import { conflict, invalid, notFound } from "./errors";
import { requestView, sendStep, updateRequest } from "./request-records";

const stateSchema = z.enum(REQUEST_STATES);

export async function getRequestStatus(
  deps: RelayDeps,
  storeId: string,
  requestId: string,
): Promise<Record<string, unknown>> {
  const stored = await deps.requests.get(storeId, requestId);
  if (!stored) throw notFound(`request ${requestId} is not known to the relay`);
  return requestView(stored.value);
}

export async function listRequests(
  deps: RelayDeps,
  storeId: string,
  state: string | null,
): Promise<{ storeId: string; state?: string; requests: Record<string, unknown>[] }> {
  let filter: RelayRequest["state"] | undefined;
  if (state !== null) {
    const parsed = stateSchema.safeParse(state);
    if (!parsed.success)
      throw invalid("unknown state", [
        { path: "/query/state", message: `must be one of ${REQUEST_STATES.join(", ")}` },
      ]);
    filter = parsed.data;
  }
  const requests = await deps.requests.list(storeId, filter);
  return { storeId, ...(filter && { state: filter }), requests: requests.map(requestView) };
}

/**
 * Queues a failed request again from the step that failed, with a fresh retry budget; a stuck one
 * (`queued` or `decided` unchanged for RELAY_STUCK_AFTER_MINUTES) from the step it waits for, as
 * its next attempt. A request whose first message may not have been sent yet (no attempt made) is
 * sent it again: the same message id, so never twice.
 */
export async function redriveRequest(
  deps: RelayDeps,
  storeId: string,
  requestId: string,
  { log, actor }: Invocation,
): Promise<{ requestId: string; state: string }> {
  const by = actor && (actor.name ?? actor.id);
  const now = deps.clock.now();
  const result = await updateRequest(deps, storeId, requestId, (current) => {
    const next = transition(current, { type: "redriven", by }, now);
    return next.ok ? next.request : undefined;
  });
  if (!result) throw notFound(`request ${requestId} is not known to the relay`);
  const requestLog = log.with({ workflowId: result.request.workflowId });

  if (result.changed) {
    const step = result.request.state === "queued" ? "flow" : "apply";
    await sendStep(deps, step, result.request, 1);
    requestLog.info(
      `redriven: ${step === "flow" ? "calling the flow" : "writing the decision"} again`,
      { by },
    );
    return { requestId, state: result.request.state };
  }

  const request = result.request;
  const stuck = stuckStep(request, now, deps.settings.reconcile.stuckAfterMs);
  if (stuck) {
    const attempt = stuck.lostAttempt + 1;
    await sendStep(deps, stuck.step, request, attempt);
    const requeue = (current: RelayRequest) => {
      const next = transition(
        current,
        {
          type: "requeued",
          ...stuck,
          detail: `redriven by an administrator${by ? ` (${by})` : ""}: attempt ${stuck.lostAttempt} never ran, queued attempt ${attempt}`,
        },
        deps.clock.now(),
      );
      return next.ok ? next.request : undefined;
    };
    // Written against the version just read: no second read.
    const requeued = await updateRequest(deps, storeId, requestId, requeue, {
      current: result.stored,
    });
    requestLog.info("redriven: a stuck step was queued again", {
      step: stuck.step,
      attempt,
      by,
    });
    return { requestId, state: requeued?.request.state ?? request.state };
  }

  const unsent =
    request.state === "queued" && request.attempts.flow === 0
      ? "flow"
      : request.state === "decided" && request.attempts.apply === 0
        ? "apply"
        : undefined;
  if (!unsent) {
    const minutes = deps.settings.reconcile.stuckAfterMs / 60_000;
    throw conflict(
      `request ${requestId} is ${request.state}: only a failed request, or a stuck one (queued or decided unchanged for ${minutes} minutes), can be redriven`,
      { state: request.state },
    );
  }
  await sendStep(deps, unsent, request, 1);
  requestLog.info("redriven: the step's first message was sent again", { step: unsent, by });
  return { requestId, state: request.state };
}
