import { createHash } from "node:crypto";
import { isCurrentStep, transition, type RequestEvent, type Step } from "../domain/lifecycle";
import { flowRunPortalUrl } from "../domain/claim";
import type { FlowRun, RelayRequest } from "../domain/model";
import type { Logger } from "../logging";
import {
  APPROVAL_DECISIONS_QUEUE,
  WORKFLOW_EVENTS_QUEUE,
  type QueueName,
  type StepMessage,
} from "../ports";
import type { RelayDeps } from "./deps";
import { unavailable } from "./errors";

const MAX_WRITE_RACES = 10;

/**
 * Reads a request, lets `change` decide its next version, and writes it only if nobody wrote in
 * between (ETag); on a lost race it reads again. `change` returns undefined to leave it as is.
 */
export async function updateRequest(
  deps: Pick<RelayDeps, "requests">,
  storeId: string,
  requestId: string,
  change: (current: RelayRequest) => RelayRequest | undefined,
): Promise<{ request: RelayRequest; changed: boolean } | undefined> {
  for (let race = 0; race < MAX_WRITE_RACES; race++) {
    const current = await deps.requests.get(storeId, requestId);
    if (!current) return undefined;
    const next = change(current.value);
    if (!next) return { request: current.value, changed: false };
    if ((await deps.requests.replace(next, current)) === "ok")
      return { request: next, changed: true };
  }
  throw unavailable(`request ${requestId} is being changed concurrently; try again`);
}

const QUEUE_OF_STEP: Record<Step, QueueName> = {
  flow: WORKFLOW_EVENTS_QUEUE,
  apply: APPROVAL_DECISIONS_QUEUE,
};

/**
 * The message id of one attempt of one step: the same attempt always gets the same id, so
 * Service Bus duplicate detection drops a second send of it.
 */
export function stepMessageId(step: Step, request: RelayRequest, attempt: number): string {
  const key = createHash("sha256")
    .update(`${request.storeId}/${request.requestId}`)
    .digest("hex")
    .slice(0, 40);
  return `${key}:${step}:r${request.redrives}:a${attempt}`;
}

export async function sendStep(
  deps: Pick<RelayDeps, "queue">,
  step: Step,
  request: RelayRequest,
  attempt: number,
  notBefore?: Date,
): Promise<void> {
  const body: StepMessage = {
    storeId: request.storeId,
    workflowId: request.workflowId,
    requestId: request.requestId,
    attempt,
    redrives: request.redrives,
  };
  await deps.queue.send(QUEUE_OF_STEP[step], {
    messageId: stepMessageId(step, request, attempt),
    body,
    ...(notBefore && { notBefore }),
  });
}

/** What status answers show: the record without internals. */
export function requestView(request: RelayRequest): Record<string, unknown> {
  return {
    storeId: request.storeId,
    workflowId: request.workflowId,
    requestId: request.requestId,
    state: request.state,
    ...(request.decision && { decision: request.decision }),
    ...(request.dmOutcome && { dmOutcome: request.dmOutcome }),
    ...(request.flowRunId && { flowRunId: request.flowRunId }),
    ...(request.flowRun && { flowRun: flowRunView(request.flowRun) }),
    ...(request.nextAttemptAt && { nextAttemptAt: request.nextAttemptAt }),
    attempts: request.attempts,
    ...(request.lastError && { lastError: request.lastError }),
    redrives: request.redrives,
    history: request.history,
    createdAt: request.createdAt,
    updatedAt: request.updatedAt,
  };
}

function flowRunView(run: FlowRun): Record<string, unknown> {
  return {
    runId: run.runId,
    flowName: run.flowName,
    environmentName: run.environmentName,
    claimedAt: run.claimedAt,
    portalUrl: flowRunPortalUrl(run),
    ...(run.cancelledAt && { cancelledAt: run.cancelledAt }),
    ...(run.cancelError && { cancelError: run.cancelError }),
  };
}

/** Applies a step's outcome to the stored request, unless the request has moved on meanwhile. */
export async function recordEvent(
  deps: Pick<RelayDeps, "requests" | "clock">,
  ids: { storeId: string; requestId: string },
  event: RequestEvent,
  log: Logger,
): Promise<void> {
  const result = await updateRequest(deps, ids.storeId, ids.requestId, (current) => {
    const next = transition(current, event, deps.clock.now());
    return next.ok ? next.request : undefined;
  });
  if (result?.changed) log.info(`request is ${result.request.state}`, { event: event.type });
  else log.info("outcome not recorded: the request moved on meanwhile", { event: event.type });
}

/** The request a step's message is for, or undefined (logged) when the message must not act. */
export async function loadForStep(
  deps: Pick<RelayDeps, "requests">,
  step: Step,
  message: StepMessage,
  log: Logger,
): Promise<RelayRequest | undefined> {
  const stored = await deps.requests.get(message.storeId, message.requestId);
  if (!stored) {
    log.warn(`dropping a ${step} message for an unknown request`);
    return undefined;
  }
  if (!isCurrentStep(stored.value, step, message)) {
    log.info(`dropping a stale ${step} message`, {
      state: stored.value.state,
      attempt: message.attempt,
    });
    return undefined;
  }
  return stored.value;
}
