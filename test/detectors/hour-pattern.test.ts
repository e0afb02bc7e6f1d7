/**
 * hourPattern (src/detectors/lib/hours.ts) counts the distinct recent days near each hour with a
 * bit per day (sets beyond 31 days): the same pattern as the union of sets it replaced, kept here
 * as the reference, on random histories (held-back spans, long and short hourly histories).
 */
import { describe, expect, it } from "vitest";
import { DAY, DEFAULT_BASELINE_CONFIG, HOUR, decayFactor, emptyProfile, type Profile } from "../../src/baseline/profile.js";
import { BaselineView } from "../../src/baseline/view.js";
import { hourPattern, type HourKind, type HourPattern } from "../../src/detectors/lib/hours.js";
import { rng } from "../../src/util/rng.js";

/** The implementation before the bitmasks (fab57e2). */
function reference(b: BaselineView): HourPattern | undefined {
  const p = b.profile;
  if (!p || b.learning || b.activeDays < 7) return undefined;
  const held: Array<[number, number]> = [];
  for (const h of p.held ?? []) for (const [, , st] of h.values) held.push([st[2], st[3]]);
  const inHeld = (t: number) => held.some(([a, z]) => t + HOUR > a && t <= z);
  const days: Array<Set<number>> = Array.from({ length: 24 }, () => new Set<number>());
  const allDays = new Set<number>();
  for (const [hi] of b.hourly()) {
    const t = hi * HOUR;
    if (inHeld(t)) continue;
    days[hi % 24]!.add(Math.floor(t / DAY));
    allDays.add(Math.floor(t / DAY));
  }
  const old = p.hours.slice();
  for (const [hi, calls] of p.hourly) old[hi % 24]! -= calls * decayFactor(p.trainedUntil - hi * HOUR, b.cfg);
  for (let h = 0; h < 24; h++) old[h] = Math.max(0, old[h]!);
  const oldTotal = old.reduce((a, x) => a + x, 0);
  const kind: HourKind[] = [];
  const daysNear: number[] = [];
  const oldNear: number[] = [];
  for (let h = 0; h < 24; h++) {
    const near = [(h + 23) % 24, h, (h + 1) % 24];
    const u = new Set<number>();
    for (const k of near) for (const d of days[k]!) u.add(d);
    const share = oldTotal >= 20 ? near.reduce((a, k) => a + old[k]!, 0) / oldTotal : 0;
    daysNear.push(u.size);
    oldNear.push(share);
    kind.push(u.size >= 2 || share >= 0.02 ? "usual" : u.size === 0 && share < 0.005 ? "never" : "rare");
  }
  const usualHours = kind.flatMap((k, h) => (k === "usual" ? [h] : []));
  if (usualHours.length >= 20) return undefined;
  return { kind, daysNear, oldNear, recentDays: allDays.size, usualHours };
}

const W = Date.UTC(2024, 4, 20);

function randomView(r: () => number, i: number): BaselineView {
  const spanDays = [3, 14, 15, 30, 31, 32, 45][i % 7]!;
  const p: Profile = emptyProfile(`user:1:u${i}`, "IAMUser");
  p.first = W - 60 * DAY;
  p.last = W + 2 * HOUR;
  p.trainedUntil = p.last;
  p.events = 5000;
  p.days = Array.from({ length: 30 }, (_, d) => Math.floor(W / DAY) - 30 + d);
  const worked = Array.from({ length: 24 }, () => r() < 0.3);
  p.hours = worked.map((w) => (w || r() < 0.1 ? r() * 300 : 0));
  const start = Math.floor((W - spanDays * DAY) / HOUR);
  for (let h = start; h < Math.floor(W / HOUR) + 3; h++) if (worked[h % 24] && r() < 0.6) p.hourly.push([h, 1 + Math.floor(r() * 40), 0]);
  if (r() < 0.3) {
    const a = W - Math.floor(r() * spanDays) * DAY;
    p.held = [{ finding: "F1", since: W, values: [["country", "FR", [1, 0, a, a + Math.floor(r() * 5) * HOUR]]] }];
  }
  return new BaselineView(p, W, { ...DEFAULT_BASELINE_CONFIG, hourlyDays: Math.max(14, spanDays) }, 10);
}

describe("hourPattern", () => {
  it("equals the union-of-sets pattern on random histories", () => {
    const r = rng(17);
    let judged = 0;
    for (let i = 0; i < 400; i++) {
      const v = randomView(r, i);
      const want = reference(v);
      expect(hourPattern(v), `history ${i}`).toEqual(want);
      if (want) judged++;
    }
    expect(judged).toBeGreaterThan(100);
  });
});
