/**
 * Keeping the calls to one flow under its rate (Power Automate allows 45,000 trigger calls per
 * five minutes per flow): at most `callsPerSecond` calls start in any one second. A call that
 * would go over is not made now: it gets a slot, its message is scheduled for it, and the slots
 * handed out follow each other one spacing (1/rate) apart, first come first served. A flow's
 * Retry-After holds every call until it has passed.
 */

/** Calls per second to one flow when its link names no rate. */
export const DEFAULT_CALLS_PER_SECOND = 100;
/** The most a link may ask for: Power Automate's limit is 150 calls per second on average. */
export const MAX_CALLS_PER_SECOND = 1000;
const WINDOW_MS = 1000;

export interface Pace {
  /** When the calls of the last second started (epoch ms, oldest first). */
  recent: number[];
  /** The slot the next waiting call gets, if it is later than now (epoch ms). */
  nextSlot: number;
  /** No call before this: the flow's last Retry-After (epoch ms). */
  heldUntil: number;
}

export type Admission = { go: true } | { go: false; at: number };

export function freshPace(): Pace {
  return { recent: [], nextSlot: 0, heldUntil: 0 };
}

/**
 * Whether a call may start at `now`, recording it when it may, else the slot it waits for.
 * `waited` says the call has waited for a slot already: a new call does not go ahead of those
 * still waiting for theirs. Changes `pace` in place.
 */
export function admit(pace: Pace, now: number, callsPerSecond: number, waited: boolean): Admission {
  while (pace.recent.length > 0 && (pace.recent[0] as number) <= now - WINDOW_MS)
    pace.recent.shift();
  const held = now < pace.heldUntil;
  const othersWaiting = !waited && pace.nextSlot > now;
  const full = pace.recent.length >= callsPerSecond;
  if (!held && !othersWaiting && !full) {
    pace.recent.push(now);
    return { go: true };
  }
  // A full second frees a place when its oldest call leaves it.
  const freed = full ? (pace.recent[0] as number) + WINDOW_MS : 0;
  const at = Math.max(now + 1, pace.nextSlot, pace.heldUntil, freed);
  pace.nextSlot = at + WINDOW_MS / callsPerSecond;
  return { go: false, at };
}

/** The flow asked to be left alone until `until` (its Retry-After). */
export function holdUntil(pace: Pace, until: number): void {
  pace.heldUntil = Math.max(pace.heldUntil, until);
}
