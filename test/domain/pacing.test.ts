import fc from "fast-check";
import { burstOf, holdUntil, takeSlot, type Pace } from "../../shared/domain/pacing";

/** The slots of calls arriving at `arrivals` (epoch ms, ascending), one flow, `rate` per second. */
function slotsOf(arrivals: number[], rate: number, holds: Map<number, number> = new Map()) {
  let pace: Pace | undefined;
  return arrivals.map((now, index) => {
    const hold = holds.get(index);
    if (hold !== undefined) pace = holdUntil(pace, hold);
    const taken = takeSlot(pace, now, rate);
    pace = taken.pace;
    return taken.at;
  });
}

describe("pacing calls to a flow", () => {
  it("lets a tenth of a second's worth go at once, then spaces calls 1/rate apart", () => {
    expect(burstOf(100)).toBe(10);
    expect(burstOf(5)).toBe(1);
    const slots = slotsOf(Array(13).fill(1000), 100);
    expect(slots.slice(0, 10)).toEqual(Array(10).fill(1000));
    expect(slots.slice(10)).toEqual([1010, 1020, 1030]);
  });

  it("gives a call after a quiet spell its slot at once", () => {
    expect(slotsOf([0, 5000], 1)).toEqual([0, 5000]);
  });

  it("holds every slot until a Retry-After has passed, then resumes evenly spaced", () => {
    const slots = slotsOf(Array(4).fill(1000), 100, new Map([[0, 3000]]));
    expect(slots).toEqual([3000, 3010, 3020, 3030]);
  });

  it("never gives more calls than the rate allows in any window, plus the burst", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 300 }),
        (rate, offsets) => {
          const arrivals = [...offsets].sort((a, b) => a - b);
          const slots = slotsOf(arrivals, rate);
          slots.forEach((slot, index) => expect(slot).toBeGreaterThanOrEqual(arrivals[index]!));
          const sorted = [...slots].sort((a, b) => a - b);
          // Within any 1-second window starting at a slot: at most rate + burst calls.
          for (const [index, start] of sorted.entries()) {
            const inWindow = sorted.slice(index).filter((slot) => slot < start + 1000).length;
            expect(inWindow).toBeLessThanOrEqual(rate + burstOf(rate));
          }
        },
      ),
    );
  });
});
