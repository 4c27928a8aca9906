import fc from "fast-check";
import {
  FINAL_STATES,
  isCurrentStep,
  newRequest,
  transition,
  type RequestEvent,
} from "../../shared/domain/lifecycle";
import type { Decision, RelayRequest } from "../../shared/domain/model";

const at = new Date("2026-11-28T10:00:00Z");
const fresh = (): RelayRequest => newRequest({ storeId: "s", workflowId: "w", requestId: "1" }, at);
const decision = (outcome: Decision["outcome"]): Decision => ({
  outcome,
  recordedAt: at.toISOString(),
});

const eventArb: fc.Arbitrary<RequestEvent> = fc.oneof(
  fc.record({
    type: fc.constant("flow-triggered" as const),
    attempt: fc.nat(9),
    runId: fc.option(fc.string(), { nil: undefined }),
  }),
  fc.record({
    type: fc.constant("flow-attempt-failed" as const),
    attempt: fc.nat(9),
    reason: fc.string(),
    nextAttemptAt: fc.constant(at.toISOString()),
  }),
  fc.record({ type: fc.constant("flow-failed" as const), attempt: fc.nat(9), reason: fc.string() }),
  fc.record({
    type: fc.constant("decided" as const),
    decision: fc.constantFrom("approved", "denied").map((o) => decision(o as Decision["outcome"])),
  }),
  fc.record({
    type: fc.constant("apply-attempt-failed" as const),
    attempt: fc.nat(9),
    reason: fc.string(),
    outcomeUnknown: fc.boolean(),
    nextAttemptAt: fc.constant(at.toISOString()),
  }),
  fc.record({ type: fc.constant("applied" as const), attempt: fc.nat(9), detail: fc.string() }),
  fc.record({ type: fc.constant("superseded" as const), attempt: fc.nat(9), detail: fc.string() }),
  fc.record({
    type: fc.constant("apply-failed" as const),
    attempt: fc.nat(9),
    reason: fc.string(),
  }),
  fc.constant({ type: "redriven" as const }),
);

function run(events: RequestEvent[]): RelayRequest[] {
  const states = [fresh()];
  for (const event of events) {
    const result = transition(states[states.length - 1] as RelayRequest, event, at);
    if (result.ok) states.push(result.request);
  }
  return states;
}

describe("request state machine", () => {
  it("never records a second decision, whatever the events", () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 40 }), (events) => {
        const states = run(events);
        const first = states.find((s) => s.decision)?.decision;
        for (const state of states) if (state.decision) expect(state.decision).toEqual(first);
      }),
    );
  });

  it("never leaves applied or superseded", () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 40 }), (events) => {
        const states = run(events);
        const final = states.findIndex((s) => FINAL_STATES.has(s.state));
        if (final >= 0)
          for (const later of states.slice(final)) expect(later.state).toBe(states[final]?.state);
      }),
    );
  });

  it("only reaches applied or superseded with a decision, and keeps history bounded and in order", () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 150 }), (events) => {
        for (const state of run(events)) {
          if (
            FINAL_STATES.has(state.state) ||
            state.state === "decided" ||
            state.state === "apply-failed"
          )
            expect(state.decision).toBeDefined();
          expect(state.history.length).toBeLessThanOrEqual(100);
          expect(state.history[state.history.length - 1]?.state).toBe(state.state);
        }
      }),
    );
  });

  it("lets a step's message act only once: after its outcome is recorded it is stale", () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 40 }),
        fc.integer({ min: 1, max: 9 }),
        (events, attempt) => {
          for (const state of run(events)) {
            for (const step of ["flow", "apply"] as const) {
              const message = { attempt, redrives: state.redrives };
              if (state.attempts[step] >= attempt)
                expect(isCurrentStep(state, step, message)).toBe(false);
              expect(isCurrentStep(state, step, { ...message, redrives: state.redrives + 1 })).toBe(
                false,
              );
              if (FINAL_STATES.has(state.state))
                expect(isCurrentStep(state, step, message)).toBe(false);
            }
          }
        },
      ),
    );
  });

  it("walks the happy path queued → flow-triggered → decided → applied", () => {
    const steps: RequestEvent[] = [
      { type: "flow-triggered", attempt: 1, runId: "run-1" },
      { type: "decided", decision: decision("approved") },
      { type: "applied", attempt: 1, detail: "approved in Directory Manager" },
    ];
    const states = run(steps);
    expect(states.map((s) => s.state)).toEqual(["queued", "flow-triggered", "decided", "applied"]);
    expect(states[3]?.flowRunId).toBe("run-1");
  });

  it("accepts a decision that arrives before the trigger call is recorded, and keeps the run id", () => {
    const [, decided, confirmed] = run([
      { type: "decided", decision: decision("denied") },
      { type: "flow-triggered", attempt: 1, runId: "run-9" },
    ]);
    expect(decided?.state).toBe("decided");
    expect(confirmed?.state).toBe("decided");
    expect(confirmed?.flowRunId).toBe("run-9");
  });

  it("redrives a failed flow call with a fresh budget and a new redrive count", () => {
    const states = run([
      { type: "flow-attempt-failed", attempt: 1, reason: "503", nextAttemptAt: at.toISOString() },
      { type: "flow-failed", attempt: 2, reason: "gave up" },
      { type: "redriven" },
    ]);
    const last = states[states.length - 1] as RelayRequest;
    expect(last.state).toBe("queued");
    expect(last.attempts.flow).toBe(0);
    expect(last.redrives).toBe(1);
    expect(last.lastError).toBeUndefined();
  });

  it("refuses a redrive of a request that has not failed", () => {
    expect(transition(fresh(), { type: "redriven" }, at)).toEqual({
      ok: false,
      reason: "redriven is not allowed in state queued",
    });
  });
});
