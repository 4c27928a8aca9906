import { holdUntil, takeSlot, type Pace } from "../domain/pacing";

/**
 * The call rate of every flow this instance calls, shared by all concurrent dispatch invocations
 * (one per process, built by the composition root). Each instance paces its own calls: with
 * several instances a flow gets up to that many times its rate.
 */
export class FlowPacer {
  private readonly flows = new Map<string, Pace>();

  /**
   * When a call to the flow may be made, reserving that slot: `now` when it may go at once. A
   * message that was deferred holds its reserved slot already (`deferred`): it goes at once unless
   * the flow has asked to be left alone meanwhile.
   */
  slot(flow: string, callsPerSecond: number, now: number, deferred: boolean): number {
    const pace = this.flows.get(flow);
    if (deferred && (pace?.heldUntil ?? 0) <= now) return now;
    const { pace: next, at } = takeSlot(pace, now, callsPerSecond);
    this.flows.set(flow, next);
    return at;
  }

  /** The flow answered with a Retry-After: no call to it before `until`. */
  hold(flow: string, until: number): void {
    this.flows.set(flow, holdUntil(this.flows.get(flow), until));
  }
}
