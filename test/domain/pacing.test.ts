import fc from "fast-check";
import { admit, freshPace, holdUntil, type Pace } from "../../shared/domain/pacing";

/**
 * Plays calls arriving at `arrivals` (ms) against one flow: a call refused a slot comes back at
 * its slot, as its scheduled message would. Answers when each call started, in order of start.
 */
function play(arrivals: number[], rate: number, holds: [at: number, until: number][] = []) {
  const pace: Pace = freshPace();
  const queue = arrivals.map((at, id) => ({ at, id, waited: false }));
  const started: { id: number; at: number }[] = [];
  const pendingHolds = [...holds];
  while (queue.length > 0) {
    queue.sort((a, b) => a.at - b.at || a.id - b.id);
    const call = queue.shift()!;
    while (pendingHolds.length > 0 && pendingHolds[0]![0] <= call.at)
      holdUntil(pace, pendingHolds.shift()![1]);
    const admission = admit(pace, call.at, rate, call.waited);
    if (admission.go) started.push({ id: call.id, at: call.at });
    else {
      expect(admission.at).toBeGreaterThan(call.at);
      queue.push({ ...call, at: admission.at, waited: true });
    }
  }
  return started;
}

function mostInOneSecond(starts: number[]): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let most = 0;
  for (const [index, start] of sorted.entries())
    most = Math.max(most, sorted.slice(index).filter((at) => at < start + 1000).length);
  return most;
}

describe("pacing calls to a flow", () => {
  it("lets a second's worth go at once, then one call per spacing as the second moves on", () => {
    const started = play(Array(103).fill(1000), 100);
    expect(started.slice(0, 100).every((call) => call.at === 1000)).toBe(true);
    expect(started.slice(100).map((call) => call.at)).toEqual([2000, 2010, 2020]);
  });

  it("gives a call after a quiet spell its start at once", () => {
    expect(play([0, 5000], 1).map((call) => call.at)).toEqual([0, 5000]);
  });

  it("lets no new call go ahead of those waiting for their slot", () => {
    const started = play([0, 0, 0, 500], 2);
    // Two go at once; the third waits for 1000; the one arriving at 500 waits behind it.
    expect(started).toEqual([
      { id: 0, at: 0 },
      { id: 1, at: 0 },
      { id: 2, at: 1000 },
      { id: 3, at: 1500 },
    ]);
  });

  it("starts nothing before a Retry-After has passed", () => {
    const started = play([0, 100, 200, 300], 100, [[50, 3000]]);
    expect(started.map((call) => call.at)).toEqual([0, 3000, 3010, 3020]);
  });

  it("never starts more calls in one second than the rate, and starts every call", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 200 }),
        (rate, arrivals) => {
          const started = play(arrivals, rate);
          expect(started).toHaveLength(arrivals.length);
          expect(mostInOneSecond(started.map((call) => call.at))).toBeLessThanOrEqual(rate);
          // Every call starts by the time the rate allows them all, after the last arrival.
          const last = Math.max(...arrivals);
          for (const call of started)
            expect(call.at).toBeLessThanOrEqual(last + 1000 * (arrivals.length / rate + 2));
        },
      ),
    );
  });
});
