import {
  FLOW_OPEN_STATES,
  cancelPending,
  transition,
  type RequestEvent,
} from "../domain/lifecycle";
import type { Outcome, RelayRequest, StoreRegistration } from "../domain/model";
import { planReconcile, type ReconcileAction } from "../domain/reconcile";
import { isDerivedRequestId } from "../domain/trigger-payload";
import type { Logger } from "../logging";
import type { PlatformFailure, StoredRequest } from "../ports";
import type { Invocation, RelayDeps } from "./deps";
import { sendStep, updateRequest } from "./request-records";

/** Watched requests read per page; a pass walks every page. */
const PAGE_SIZE = 100;
/** DM's check call takes at most 50 `ids=` (CONTRACT 6b). */
const DM_CHECK_BATCH = 50;
/** Requests read from Table Storage at once. */
const READ_CONCURRENCY = 10;

const DM_OUTCOME: Partial<Record<string, Outcome>> = { Approved: "approved", Denied: "denied" };

export interface ReconcileReport {
  stores: number;
  examined: number;
  /** How many requests each kind of action was taken for. */
  actions: Partial<Record<ReconcileAction["kind"], number>>;
  failures: number;
}

/**
 * One reconciliation pass (timer `reconcile`, CONTRACT 6b): for every store, page by page over
 * the requests that still need it, so that DM, Power Automate and the relay end up agreeing.
 * Safe to run on two instances at once: every change is an ETag-conditional transition that
 * re-checks its precondition, queued steps have deterministic message ids, and cancelling a run
 * twice is harmless.
 */
export async function reconcile(deps: RelayDeps, { log }: Invocation): Promise<ReconcileReport> {
  const report: ReconcileReport = { stores: 0, examined: 0, actions: {}, failures: 0 };
  for (const store of await deps.stores.list()) {
    report.stores += 1;
    const storeLog = log.with({ storeId: store.storeId });
    try {
      await reconcileStore(deps, store, report, storeLog);
    } catch (error) {
      // One store's outage must not keep the others from being reconciled.
      report.failures += 1;
      storeLog.error("reconciling the store failed; the next pass tries again", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  log.info("reconcile pass done", { ...report, actions: JSON.stringify(report.actions) });
  return report;
}

async function reconcileStore(
  deps: RelayDeps,
  store: StoreRegistration,
  report: ReconcileReport,
  log: Logger,
): Promise<void> {
  const flowClaims = linkClaimsLookup(deps, store.storeId);
  let after: string | undefined;
  for (;;) {
    const ids = await deps.requests.listWatched(store.storeId, { limit: PAGE_SIZE, after });
    if (ids.length === 0) return;
    after = ids[ids.length - 1];
    const requests: StoredRequest[] = [];
    for (let start = 0; start < ids.length; start += READ_CONCURRENCY) {
      const chunk = ids.slice(start, start + READ_CONCURRENCY);
      const read = await Promise.all(chunk.map((id) => deps.requests.get(store.storeId, id)));
      read.forEach((stored, index) => {
        if (stored) requests.push(stored);
        else void deps.requests.unwatch(store.storeId, chunk[index] as string);
      });
    }
    const dmOutcomes = await outcomesInDm(
      deps,
      store,
      requests.map((stored) => stored.value),
      log,
    );
    for (const stored of requests) {
      const request = stored.value;
      report.examined += 1;
      const facts = {
        now: deps.clock.now(),
        dmOutcome: dmOutcomes.get(request.requestId),
        flowClaims: request.state === "flow-triggered" && (await flowClaims(request.workflowId)),
      };
      const action = planReconcile(request, facts, deps.settings.reconcile);
      if (action.kind === "wait") continue;
      report.actions[action.kind] = (report.actions[action.kind] ?? 0) + 1;
      const requestLog = log.with({ workflowId: request.workflowId, requestId: request.requestId });
      try {
        await act(deps, store, stored, action, requestLog);
      } catch (error) {
        report.failures += 1;
        requestLog.error("reconciling the request failed; the next pass tries again", {
          action: action.kind,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    if (ids.length < PAGE_SIZE) return;
  }
}

/** Whether a workflow's flow claims its requests, read once per pass and workflow. */
function linkClaimsLookup(
  deps: RelayDeps,
  storeId: string,
): (workflowId: string) => Promise<boolean> {
  const known = new Map<string, Promise<boolean>>();
  return (workflowId) => {
    let claims = known.get(workflowId);
    if (!claims) {
      claims = deps.links.get(storeId, workflowId).then((link) => link?.claims === true);
      known.set(workflowId, claims);
    }
    return claims;
  };
}

/**
 * DM's own decision for the requests it may have decided first, by the check call in batches of
 * at most 50 ids. A batch that fails is logged and skipped: the next pass asks again.
 */
async function outcomesInDm(
  deps: RelayDeps,
  store: StoreRegistration,
  requests: RelayRequest[],
  log: Logger,
): Promise<Map<string, Outcome>> {
  const ids = requests
    .filter((request) => FLOW_OPEN_STATES.has(request.state))
    .map((request) => request.requestId)
    .filter((id) => !isDerivedRequestId(id));
  const outcomes = new Map<string, Outcome>();
  for (let start = 0; start < ids.length; start += DM_CHECK_BATCH) {
    const batch = ids.slice(start, start + DM_CHECK_BATCH);
    const answer = await deps.dataService.statuses(store, batch);
    if (answer.kind !== "ok") {
      log.warn("DM's check call failed; requests it would have shown decided wait", {
        requests: batch.length,
        reason: answer.reason,
      });
      continue;
    }
    for (const [id, status] of answer.statuses) {
      const outcome = DM_OUTCOME[status];
      if (outcome) outcomes.set(id, outcome);
    }
  }
  return outcomes;
}

async function act(
  deps: RelayDeps,
  store: StoreRegistration,
  stored: StoredRequest,
  action: Exclude<ReconcileAction, { kind: "wait" }>,
  log: Logger,
): Promise<void> {
  const request = stored.value;
  switch (action.kind) {
    case "forget":
      return deps.requests.unwatch(request.storeId, request.requestId);
    case "cancel-run":
      return cancelRun(deps, store, stored, log);
    case "expire": {
      const days = Math.round(deps.settings.reconcile.requestTtlMs / 86_400_000);
      const expired = await change(deps, stored, {
        type: "expired",
        detail: `open longer than ${days} days: expired`,
      });
      log.warn("request expired", { state: request.state });
      if (expired && cancelPending(expired.value)) await cancelRun(deps, store, expired, log);
      return;
    }
    case "supersede": {
      const superseded = await change(deps, stored, {
        type: "superseded",
        dmOutcome: action.dmOutcome,
        detail: `Directory Manager had already ${action.dmOutcome} the request; the flow's approval is no longer needed`,
      });
      log.info("DM decided first: superseded", { dmOutcome: action.dmOutcome });
      if (superseded && cancelPending(superseded.value))
        await cancelRun(deps, store, superseded, log);
      return;
    }
    case "requeue": {
      const next = action.lostAttempt + 1;
      // Sent before it is recorded, as retries are: a crash in between leaves a duplicate that
      // the step drops, never a lost step.
      await sendStep(deps, action.step, request, next);
      await change(deps, stored, {
        type: "requeued",
        step: action.step,
        lostAttempt: action.lostAttempt,
        detail: `attempt ${action.lostAttempt} never ran (its queue message was lost): queued attempt ${next}`,
      });
      log.warn("a lost step was queued again", { step: action.step, attempt: next });
      return;
    }
    case "recall": {
      const minutes = Math.round(deps.settings.reconcile.claimTimeoutMs / 60_000);
      // Recorded before it is sent: the message acts only on a queued request. A crash in
      // between leaves a queued request without a message, which the next pass finds stuck.
      const queued = await change(deps, stored, {
        type: "claim-timed-out",
        attempt: action.attempt,
        detail: `no flow run claimed the request within ${minutes} minutes: calling the flow again (attempt ${action.attempt})`,
      });
      if (!queued) return;
      await sendStep(deps, "flow", queued.value, action.attempt);
      log.warn("no run claimed the request: calling the flow again", { attempt: action.attempt });
      return;
    }
    case "give-up": {
      const event: RequestEvent =
        action.step === "flow"
          ? { type: "flow-failed", attempt: action.attempt, reason: action.reason }
          : { type: "apply-failed", attempt: action.attempt, reason: action.reason };
      await change(deps, stored, event);
      log.error("reconciliation gave up on a step", { step: action.step, reason: action.reason });
      return;
    }
  }
}

/**
 * Applies one event to the request, written against the version read (read again only on a lost
 * race): the version stored now, or undefined if the request moved on.
 */
async function change(
  deps: RelayDeps,
  current: StoredRequest,
  event: RequestEvent,
): Promise<StoredRequest | undefined> {
  const { storeId, requestId } = current.value;
  const apply = (request: RelayRequest) => {
    const next = transition(request, event, deps.clock.now());
    return next.ok ? next.request : undefined;
  };
  const result = await updateRequest(deps, storeId, requestId, apply, { current });
  return result?.changed ? result.stored : undefined;
}

/** Cancels the claimed run in Power Automate (CONTRACT 6b); the request's state stands either way. */
async function cancelRun(
  deps: RelayDeps,
  store: StoreRegistration,
  stored: StoredRequest,
  log: Logger,
): Promise<void> {
  const run = stored.value.flowRun;
  if (!run) return;
  const answer = await deps.powerPlatform.cancelRun(store, run);
  if (answer.ok) {
    await change(deps, stored, { type: "run-cancelled" });
    log.info("flow run cancelled", { runId: run.runId });
    return;
  }
  const final = !isPassing(answer.failure);
  await change(deps, stored, {
    type: "run-cancel-failed",
    reason: `${answer.failure.call}: ${answer.failure.reason}`,
    final,
  });
  log.warn("cancelling the flow run failed", {
    runId: run.runId,
    final,
    reason: answer.failure.reason,
  });
}

/** A failure that a later pass may get past: throttling, an outage, a server fault. */
function isPassing(failure: PlatformFailure): boolean {
  return (
    failure.cause === "throttled" ||
    failure.cause === "unreachable" ||
    (failure.status !== undefined && failure.status >= 500)
  );
}
