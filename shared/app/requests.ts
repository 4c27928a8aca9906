import { z } from "zod";
import { transition } from "../domain/lifecycle";
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
 * Queues a failed request again from the step that failed, with a fresh retry budget. A request
 * whose first message of the current drive may not have been sent (queued or decided with no
 * attempt yet) is sent again too: same message id, so never twice.
 */
export async function redriveRequest(
  deps: RelayDeps,
  storeId: string,
  requestId: string,
  { log }: Invocation,
): Promise<{ requestId: string; state: string }> {
  const result = await updateRequest(deps, storeId, requestId, (current) => {
    const next = transition(current, { type: "redriven" }, deps.clock.now());
    return next.ok ? next.request : undefined;
  });
  if (!result) throw notFound(`request ${requestId} is not known to the relay`);
  const request = result.request;
  const step =
    request.state === "queued" && request.attempts.flow === 0
      ? "flow"
      : request.state === "decided" && request.attempts.apply === 0
        ? "apply"
        : undefined;
  if (!step)
    throw conflict(
      `request ${requestId} is ${request.state}: only a failed or stuck request can be redriven`,
      {
        state: request.state,
      },
    );
  await sendStep(deps, step, request, 1);
  log
    .with({ workflowId: request.workflowId })
    .info(`redriven: ${step === "flow" ? "calling the flow" : "writing the decision"} again`);
  return { requestId, state: request.state };
}
