/**
 * Keeping the calls to one flow under its rate (Power Automate allows 45,000 trigger calls per
 * five minutes per flow): calls get slots spaced 1/rate apart, with a small burst allowed at once
 * (the "virtual scheduling" form of a token bucket, GCRA). A call whose slot is later is not
 * made now: its message is scheduled for the slot. A flow's Retry-After holds every slot until it
 * has passed, and calls after it resume evenly spaced.
 */

/** Calls per second to one flow when its link names no rate. */
export const DEFAULT_CALLS_PER_SECOND = 100;
/** The most a link may ask for: Power Automate's limit is 150 calls per second on average. */
export const MAX_CALLS_PER_SECOND = 1000;

export interface Pace {
  /** When the next call would fall if calls were evenly spaced from the last one (epoch ms). */
  nextAt: number;
  /** No slot before this: the flow's last Retry-After (epoch ms). */
  heldUntil: number;
}

/** Calls allowed at once: a tenth of a second's worth, at least one. */
export function burstOf(callsPerSecond: number): number {
  return Math.max(1, Math.ceil(callsPerSecond / 10));
}

/** The slot of the next call at `now`: `at` is now when it may go at once, else its due time. */
export function takeSlot(
  pace: Pace | undefined,
  now: number,
  callsPerSecond: number,
): { pace: Pace; at: number } {
  const spacing = 1000 / callsPerSecond;
  const tolerance = (burstOf(callsPerSecond) - 1) * spacing;
  const heldUntil = pace?.heldUntil ?? 0;
  // After a hold the burst is spent: calls resume one spacing apart.
  const due = Math.max(pace?.nextAt ?? now, now, heldUntil + tolerance);
  const at = Math.max(now, due - tolerance);
  return { pace: { nextAt: due + spacing, heldUntil }, at };
}

/** The flow asked to be left alone until `until` (its Retry-After). */
export function holdUntil(pace: Pace | undefined, until: number): Pace {
  return { nextAt: pace?.nextAt ?? 0, heldUntil: Math.max(pace?.heldUntil ?? 0, until) };
}
