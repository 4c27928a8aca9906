import fc from "fast-check";
import { decideClaim, flowRunPortalUrl } from "../../shared/domain/claim";
import {
  FINAL_STATES,
  cancelPending,
  isCurrentStep,
  needsReconciling,
  newRequest,
  transition,
  type RequestEvent,
} from "../../shared/domain/lifecycle";
import type { Outcome, RelayRequest } from "../../shared/domain/model";
import { planReconcile, stuckStep, type ReconcileRules } from "../../shared/domain/reconcile";

const start = new Date("2026-11-28T10:00:00Z");
const MINUTE = 60_000;
const rules: ReconcileRules = {
  stuckAfterMs: 15 * MINUTE,
  claimTimeoutMs: 15 * MINUTE,
  requestTtlMs: 30 * 24 * 60 * MINUTE,
  maxAttempts: { flow: 8, apply: 8 },
};
const fresh = (): RelayRequest =>
  newRequest({ storeId: "s", workflowId: "w", requestId: "1001" }, start);
const run = (runId: string) => ({ runId, flowName: "flow-1", environmentName: "Default-env" });
const later = (minutes: number) => new Date(start.getTime() + minutes * MINUTE);

function apply(request: RelayRequest, event: RequestEvent, at = start): RelayRequest {
  const next = transition(request, event, at);
  if (!next.ok) throw new Error(next.reason);
  return next.request;
}

describe("the claim (CONTRACT 4b)", () => {
  it("lets the first run proceed and counts it as the flow being triggered", () => {
    const verdict = decideClaim(fresh(), run("run-a"), start);
    expect(verdict.kind).toBe("proceed");
    if (verdict.kind !== "proceed") return;
    expect(verdict.request.state).toBe("flow-triggered");
    expect(verdict.request.flowRun).toEqual({ ...run("run-a"), claimedAt: start.toISOString() });
  });

  it("answers the same run the same, and refuses another run naming the first", () => {
    const claimed = apply(fresh(), { type: "claimed", run: { ...run("run-a"), claimedAt: "t" } });
    expect(decideClaim(claimed, run("run-a"), start)).toEqual({ kind: "again" });
    expect(decideClaim(claimed, run("run-b"), start)).toEqual({
      kind: "taken",
      claimedBy: "run-a",
    });
  });

  it("refuses every run once the request is decided or final", () => {
    const decided = apply(fresh(), {
      type: "decided",
      decision: { outcome: "approved", recordedAt: "t" },
    });
    expect(decideClaim(decided, run("run-a"), start)).toEqual({
      kind: "closed",
      state: "decided",
    });
    const superseded = apply(fresh(), { type: "superseded", dmOutcome: "denied", detail: "dm" });
    expect(decideClaim(superseded, run("run-a"), start)).toEqual({
      kind: "closed",
      state: "superseded",
    });
  });

  it("links the run in the Power Automate portal", () => {
    expect(flowRunPortalUrl(run("08584"))).toBe(
      "https://make.powerautomate.com/environments/Default-env/flows/flow-1/runs/08584",
    );
  });

  it("keeps a dispatcher's late record of the call from undoing the claim", () => {
    const claimed = apply(fresh(), { type: "claimed", run: { ...run("run-a"), claimedAt: "t" } });
    const confirmed = apply(claimed, { type: "flow-triggered", attempt: 1, runId: "wf-run" });
    expect(confirmed.state).toBe("flow-triggered");
    expect(confirmed.flowRun?.runId).toBe("run-a");
    expect(confirmed.attempts.flow).toBe(1);
  });
});

describe("reconciliation's plan (CONTRACT 6b)", () => {
  const facts = (minutes: number, extra: { dmOutcome?: Outcome; flowClaims?: boolean } = {}) => ({
    now: later(minutes),
    flowClaims: extra.flowClaims ?? false,
    ...(extra.dmOutcome && { dmOutcome: extra.dmOutcome }),
  });

  it("leaves a fresh queued request alone, and queues its next attempt once it is stuck", () => {
    expect(planReconcile(fresh(), facts(14), rules)).toEqual({ kind: "wait" });
    expect(planReconcile(fresh(), facts(15), rules)).toEqual({
      kind: "requeue",
      step: "flow",
      lostAttempt: 1,
    });
  });

  it("counts a pending retry from its due time", () => {
    const retrying = apply(fresh(), {
      type: "flow-attempt-failed",
      attempt: 1,
      reason: "503",
      nextAttemptAt: later(60).toISOString(),
    });
    expect(stuckStep(retrying, later(70), rules.stuckAfterMs)).toBeUndefined();
    expect(stuckStep(retrying, later(75), rules.stuckAfterMs)).toEqual({
      step: "flow",
      lostAttempt: 2,
    });
  });

  it("gives up a step whose messages were lost through its whole budget", () => {
    const worn = { ...fresh(), attempts: { flow: 7, apply: 0 } };
    expect(planReconcile(worn, facts(20), rules)).toMatchObject({
      kind: "give-up",
      step: "flow",
    });
  });

  it("records DM's own decision for a request whose flow is open", () => {
    const triggered = apply(fresh(), { type: "flow-triggered", attempt: 1 });
    expect(planReconcile(triggered, facts(1, { dmOutcome: "approved" }), rules)).toEqual({
      kind: "supersede",
      dmOutcome: "approved",
    });
  });

  it("calls a claiming flow again when no run claimed in time, and only a claiming one", () => {
    const triggered = apply(fresh(), { type: "flow-triggered", attempt: 1 });
    expect(planReconcile(triggered, facts(16, { flowClaims: true }), rules)).toEqual({
      kind: "recall",
      attempt: 2,
    });
    expect(planReconcile(triggered, facts(16, { flowClaims: false }), rules)).toEqual({
      kind: "wait",
    });
    const recalled = apply(
      triggered,
      { type: "claim-timed-out", attempt: 2, detail: "again" },
      later(16),
    );
    expect(recalled.state).toBe("queued");
    expect(isCurrentStep(recalled, "flow", { attempt: 2, redrives: 0 })).toBe(true);
  });

  it("expires what is open past its TTL, and then wants its run cancelled", () => {
    const claimed = apply(fresh(), { type: "claimed", run: { ...run("run-a"), claimedAt: "t" } });
    expect(planReconcile(claimed, facts(30 * 24 * 60), rules)).toEqual({ kind: "expire" });
    const expired = apply(claimed, { type: "expired", detail: "ttl" });
    expect(FINAL_STATES.has(expired.state)).toBe(true);
    expect(cancelPending(expired)).toBe(true);
    expect(planReconcile(expired, facts(1), rules)).toEqual({ kind: "cancel-run" });
    const cancelled = apply(expired, { type: "run-cancelled" });
    expect(cancelled.state).toBe("expired");
    expect(needsReconciling(cancelled)).toBe(false);
    expect(planReconcile(cancelled, facts(1), rules)).toEqual({ kind: "forget" });
  });

  it("stops trying to cancel after a refusal", () => {
    const claimed = apply(fresh(), { type: "claimed", run: { ...run("run-a"), claimedAt: "t" } });
    const superseded = apply(claimed, { type: "superseded", dmOutcome: "denied", detail: "dm" });
    const refused = apply(superseded, { type: "run-cancel-failed", reason: "403", final: true });
    expect(refused.flowRun?.cancelError).toBe("403");
    expect(cancelPending(refused)).toBe(false);
    const throttled = apply(superseded, { type: "run-cancel-failed", reason: "429", final: false });
    expect(cancelPending(throttled)).toBe(true);
  });
});

/**
 * Any interleaving of what the outside world and the relay's own steps can do to one request:
 * runs claiming, decisions arriving, step messages delivered again, reconcile passes with any DM
 * status, redrives. Whatever the order, at most one run proceeds, the decision never changes
 * once made, and a final state is never left.
 */
type Step =
  | { kind: "claim"; run: number }
  | { kind: "decide"; outcome: Outcome }
  | {
      kind: "dispatch";
      attempt: number;
      redrives: number;
      result: "ok" | "transient" | "permanent";
    }
  | { kind: "apply"; attempt: number; redrives: number; result: "ok" | "dm-first" | "transient" }
  | { kind: "reconcile"; minutes: number; dm?: Outcome; flowClaims: boolean; cancelOk: boolean }
  | { kind: "redrive" };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("claim" as const), run: fc.nat(3) }),
  fc.record({
    kind: fc.constant("decide" as const),
    outcome: fc.constantFrom<Outcome>("approved", "denied"),
  }),
  fc.record({
    kind: fc.constant("dispatch" as const),
    attempt: fc.integer({ min: 1, max: 9 }),
    redrives: fc.nat(2),
    result: fc.constantFrom("ok" as const, "transient" as const, "permanent" as const),
  }),
  fc.record({
    kind: fc.constant("apply" as const),
    attempt: fc.integer({ min: 1, max: 9 }),
    redrives: fc.nat(2),
    result: fc.constantFrom("ok" as const, "dm-first" as const, "transient" as const),
  }),
  fc.record(
    {
      kind: fc.constant("reconcile" as const),
      minutes: fc.integer({ min: 0, max: 60 * 24 * 40 }),
      dm: fc.constantFrom<Outcome>("approved", "denied"),
      flowClaims: fc.boolean(),
      cancelOk: fc.boolean(),
    },
    { requiredKeys: ["kind", "minutes", "flowClaims", "cancelOk"] },
  ),
  fc.constant({ kind: "redrive" as const }),
);

function eventsFor(request: RelayRequest, step: Step, now: Date): RequestEvent[] {
  switch (step.kind) {
    case "claim": {
      const verdict = decideClaim(request, run(`run-${step.run}`), now);
      return verdict.kind === "proceed"
        ? [
            {
              type: "claimed",
              run: verdict.request.flowRun as NonNullable<RelayRequest["flowRun"]>,
            },
          ]
        : [];
    }
    case "decide":
      return [
        { type: "decided", decision: { outcome: step.outcome, recordedAt: now.toISOString() } },
      ];
    case "dispatch":
      if (!isCurrentStep(request, "flow", step)) return [];
      return step.result === "ok"
        ? [{ type: "flow-triggered", attempt: step.attempt }]
        : step.result === "transient"
          ? [
              {
                type: "flow-attempt-failed",
                attempt: step.attempt,
                reason: "503",
                nextAttemptAt: now.toISOString(),
              },
            ]
          : [{ type: "flow-failed", attempt: step.attempt, reason: "404" }];
    case "apply":
      if (!isCurrentStep(request, "apply", step)) return [];
      return step.result === "ok"
        ? [{ type: "applied", attempt: step.attempt, detail: "ok" }]
        : step.result === "dm-first"
          ? [{ type: "superseded", attempt: step.attempt, dmOutcome: "denied", detail: "dm" }]
          : [
              {
                type: "apply-attempt-failed",
                attempt: step.attempt,
                reason: "503",
                outcomeUnknown: true,
                nextAttemptAt: now.toISOString(),
              },
            ];
    case "reconcile": {
      const action = planReconcile(
        request,
        { now, flowClaims: step.flowClaims, ...(step.dm && { dmOutcome: step.dm }) },
        rules,
      );
      switch (action.kind) {
        case "expire":
          return [{ type: "expired", detail: "ttl" }];
        case "supersede":
          return [{ type: "superseded", dmOutcome: action.dmOutcome, detail: "dm" }];
        case "cancel-run":
          return [
            step.cancelOk
              ? { type: "run-cancelled" }
              : { type: "run-cancel-failed", reason: "500", final: false },
          ];
        case "requeue":
          return [
            { type: "requeued", step: action.step, lostAttempt: action.lostAttempt, detail: "" },
          ];
        case "recall":
          return [{ type: "claim-timed-out", attempt: action.attempt, detail: "" }];
        case "give-up":
          return [
            action.step === "flow"
              ? { type: "flow-failed", attempt: action.attempt, reason: action.reason }
              : { type: "apply-failed", attempt: action.attempt, reason: action.reason },
          ];
        case "forget":
        case "wait":
          return [];
      }
      return [];
    }
    case "redrive":
      return [{ type: "redriven" }];
  }
}

describe("the closed loop under any interleaving", () => {
  it("gives at most one run a go, records at most one decision, never leaves a final state", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
        let request = fresh();
        let clock = start.getTime();
        const proceeded = new Set<string>();
        for (const step of steps) {
          if (step.kind === "reconcile") clock += step.minutes * MINUTE;
          const now = new Date(clock);
          if (step.kind === "claim") {
            const verdict = decideClaim(request, run(`run-${step.run}`), now);
            if (verdict.kind === "proceed" || verdict.kind === "again")
              proceeded.add(`run-${step.run}`);
          }
          const before = request;
          for (const event of eventsFor(request, step, now)) {
            const next = transition(request, event, now);
            if (next.ok) request = next.request;
          }
          expect(proceeded.size).toBeLessThanOrEqual(1);
          if (before.decision) expect(request.decision).toEqual(before.decision);
          if (FINAL_STATES.has(before.state)) expect(request.state).toBe(before.state);
          if (before.flowRun) expect(request.flowRun?.runId).toBe(before.flowRun.runId);
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
