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
  type StoredRequest,
} from "../ports";
import type { RelayDeps } from "./deps";
import { unavailable } from "./errors";

const MAX_WRITE_RACES = 10;

export interface UpdateStart {
  /** The version the caller has just read: written against without reading it again. */
  current?: StoredRequest;
  /**
   * A version that may be stale (one this instance wrote lately): tried first when it leads to a
   * write, which its ETag checks; a "no change" on it is confirmed by a fresh read.
   */
  guess?: StoredRequest;
}

export interface UpdateResult {
  request: RelayRequest;
  /** The version stored now, for a later write without a read. */
  stored: StoredRequest;
  changed: boolean;
}

/**
 * Lets `change` decide the next version of a request and writes it only if nobody wrote in
 * between (ETag); on a lost race it reads again. `change` returns undefined to leave it as is.
 * The request is read unless `start` gives a version to begin with.
 */
export async function updateRequest(
  deps: Pick<RelayDeps, "requests">,
  storeId: string,
  requestId: string,
  change: (current: RelayRequest) => RelayRequest | undefined,
  start: UpdateStart = {},
): Promise<UpdateResult | undefined> {
  const read = () => deps.requests.get(storeId, requestId);
  let guess = start.current ? undefined : start.guess;
  let current = start.current ?? guess ?? (await read());
  for (let race = 0; race < MAX_WRITE_RACES; race++) {
    if (!current) return undefined;
    const next = change(current.value);
    if (!next) {
      if (current !== guess) return { request: current.value, stored: current, changed: false };
    } else {
      const written = await deps.requests.replace(next, current);
      if (written !== "conflict") return { request: next, stored: written, changed: true };
    }
    guess = undefined;
    current = await read();
  }
  throw unavailable(`request ${requestId} is being changed concurrently; try again`);
}

const QUEUE_OF_STEP: Record<Step, QueueName> = {
  flow: WORKFLOW_EVENTS_QUEUE,
  apply: APPROVAL_DECISIONS_QUEUE,
};

/** What a step message names: the request and the drive it belongs to. */
export type StepTarget = Pick<RelayRequest, "storeId" | "workflowId" | "requestId" | "redrives">;

/**
 * The message id of one attempt of one step: the same attempt always gets the same id, so
 * Service Bus duplicate detection drops a second send of it. A copy deferred to keep a flow's
 * rate gets an id of its own per deferral, so a redelivered original defers to the same copy.
 */
export function stepMessageId(
  step: Step,
  request: StepTarget,
  attempt: number,
  deferrals = 0,
): string {
  const key = createHash("sha256")
    .update(`${request.storeId}/${request.requestId}`)
    .digest("hex")
    .slice(0, 40);
  const deferral = deferrals > 0 ? `:d${deferrals}` : "";
  return `${key}:${step}:r${request.redrives}:a${attempt}${deferral}`;
}

export async function sendStep(
  deps: Pick<RelayDeps, "queue">,
  step: Step,
  request: StepTarget,
  attempt: number,
  notBefore?: Date,
  deferrals = 0,
): Promise<void> {
  const body: StepMessage = {
    storeId: request.storeId,
    workflowId: request.workflowId,
    requestId: request.requestId,
    attempt,
    redrives: request.redrives,
    ...(deferrals > 0 && { deferrals }),
  };
  await deps.queue.send(QUEUE_OF_STEP[step], {
    messageId: stepMessageId(step, request, attempt, deferrals),
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

/**
 * Applies a step's outcome to the stored request, unless the request has moved on meanwhile;
 * `current` is the version the step read, written against without reading it again.
 */
export async function recordEvent(
  deps: Pick<RelayDeps, "requests" | "clock">,
  current: StoredRequest,
  event: RequestEvent,
  log: Logger,
): Promise<void> {
  const { storeId, requestId } = current.value;
  const change = (request: RelayRequest) => {
    const next = transition(request, event, deps.clock.now());
    return next.ok ? next.request : undefined;
  };
  const result = await updateRequest(deps, storeId, requestId, change, { current });
  if (result?.changed) log.info(`request is ${result.request.state}`, { event: event.type });
  else log.info("outcome not recorded: the request moved on meanwhile", { event: event.type });
}

/** The request a step's message is for, or undefined (logged) when the message must not act. */
export async function loadForStep(
  deps: Pick<RelayDeps, "requests">,
  step: Step,
  message: StepMessage,
  log: Logger,
): Promise<StoredRequest | undefined> {
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
  return stored;
}
