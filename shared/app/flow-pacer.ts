import { admit, freshPace, holdUntil, type Admission, type Pace } from "../domain/pacing";

/**
 * The call rate of every flow this instance calls, shared by all concurrent dispatch invocations
 * (one per process, built by the composition root). Each instance paces its own calls: with
 * several instances a flow gets up to that many times its rate.
 */
export class FlowPacer {
  private readonly flows = new Map<string, Pace>();

  /** Whether a call to the flow may start now (counted if so), else the slot it waits for. */
  admit(flow: string, callsPerSecond: number, now: number, waited: boolean): Admission {
    return admit(this.pace(flow), now, callsPerSecond, waited);
  }

  /** The flow answered with a Retry-After: no call to it before `until`. */
  hold(flow: string, until: number): void {
    holdUntil(this.pace(flow), until);
  }

  private pace(flow: string): Pace {
    let pace = this.flows.get(flow);
    if (!pace) {
      pace = freshPace();
      this.flows.set(flow, pace);
    }
    return pace;
  }
}
