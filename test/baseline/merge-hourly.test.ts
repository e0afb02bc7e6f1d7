import { describe, expect, test } from "vitest";
import { mergeHourly } from "../../src/baseline/merge.js";
import { rng } from "../../src/util/rng.js";

/** The union as first written (a map of every hour, then filter and sort): the reference. */
function reference(stored: Array<[number, number, number]>, calls: Map<number, number>, errors: Map<number, number>, minHour: number): Array<[number, number, number]> {
  const hourly = new Map<number, [number, number]>();
  for (const [h, n, e] of stored) hourly.set(h, [n, e]);
  for (const [h, n] of calls) {
    const cur = hourly.get(h);
    if (!cur || cur[0] < n) hourly.set(h, [n, errors.get(h) ?? 0]);
  }
  return [...hourly.entries()]
    .filter(([h]) => h >= minHour)
    .sort((a, b) => a[0] - b[0])
    .map(([h, [n, e]]) => [h, n, e]);
}

/** The scan's hours as the accumulator gives them (Observed.hourlyCounts): flat [hour, calls, errors], ascending. */
function triples(calls: Map<number, number>, errors: Map<number, number>): number[] {
  return [...calls.keys()].sort((a, b) => a - b).flatMap((h) => [h, calls.get(h)!, errors.get(h) ?? 0]);
}

describe("mergeHourly", () => {
  test("equals the plain union on random histories: sorted, unsorted, duplicated, overlapping, beyond the horizon", () => {
    const r = rng(7);
    const int = (n: number) => Math.floor(r() * n);
    for (let k = 0; k < 2000; k++) {
      const base = 400_000 + int(50);
      const stored: Array<[number, number, number]> = [];
      for (let h = base; h < base + 200; h++) if (r() < 0.3) stored.push([h, 1 + int(9), int(3)]);
      const shape = k % 4;
      if (shape === 1) stored.reverse(); // unsorted
      if (shape === 2 && stored.length > 1) stored.push([stored[0]![0], 99, 1]); // a duplicate hour
      const calls = new Map<number, number>();
      const errors = new Map<number, number>();
      for (let i = 100; i < 300; i++) {
        const h = k % 2 ? base + i : base + 399 - i; // scans meet hours in either order
        if (r() < 0.3) {
          calls.set(h, 1 + int(9));
          if (r() < 0.5) errors.set(h, int(4));
        }
      }
      const minHour = base + int(150);
      expect(mergeHourly(stored, triples(calls, errors), minHour)).toEqual(reference(stored, calls, errors, minHour));
    }
  });
});
