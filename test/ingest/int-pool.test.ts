import { describe, expect, it } from "vitest";
import { freeInt32s, int32s, MAX_POOLED, resetInt32Pool } from "../../src/ingest/int-pool.js";
import { HourCounts } from "../../src/ingest/hour-counts.js";

describe("int32s (pooled small Int32Arrays)", () => {
  it("rounds small requests up to 16, 32, 64 or 128 numbers and gives longer ones their length", () => {
    expect([1, 16, 17, 32, 33, 64, 65, 128].map((n) => int32s(n).length)).toEqual([16, 16, 32, 32, 64, 64, 128, 128]);
    expect(int32s(MAX_POOLED + 1).length).toBe(MAX_POOLED + 1);
    expect(int32s(1000).length).toBe(1000);
  });

  it("hands out views that do not overlap, zeroed, and reuses a view given back, zeroed again", () => {
    resetInt32Pool();
    const views = Array.from({ length: 600 }, (_, i) => {
      const a = int32s(1 + (i % 128));
      expect(a.every((x) => x === 0)).toBe(true);
      a.fill(i + 1);
      return a;
    });
    // Each view still holds what its owner wrote: no two share a number.
    expect(views.every((a, i) => a.every((x) => x === i + 1))).toBe(true);
    const back = views[5]!;
    freeInt32s(back);
    const again = int32s(back.length);
    expect(again).toBe(back);
    expect(again.every((x) => x === 0)).toBe(true);
    expect(views.every((a, i) => i === 5 || a.every((x) => x === i + 1))).toBe(true);
  });

  it("leaves empty and long arrays to the garbage collector", () => {
    resetInt32Pool();
    const long = new Int32Array(MAX_POOLED + 8);
    freeInt32s(long);
    freeInt32s(new Int32Array(0));
    expect(int32s(MAX_POOLED + 8)).not.toBe(long);
    expect(int32s(4).length).toBe(16);
  });

  it("keeps HourCounts exact while its array grows through the pooled lengths and beyond", () => {
    resetInt32Pool();
    const hs = [new HourCounts(), new HourCounts()];
    const want = [new Map<number, number>(), new Map<number, number>()];
    // Two interleaved owners: a view one gives back is reused by the other, never shared.
    for (let i = 0; i < 400; i++)
      for (let k = 0; k < 2; k++) {
        const hour = 500_000 + (k === 0 ? i : 400 - i);
        hs[k]!.add(hour, k + 1, 0);
        want[k]!.set(hour, (want[k]!.get(hour) ?? 0) + k + 1);
      }
    for (let k = 0; k < 2; k++) expect([...hs[k]!.calls()].sort((a, b) => a[0] - b[0])).toEqual([...want[k]!].sort((a, b) => a[0] - b[0]));
  });
});
