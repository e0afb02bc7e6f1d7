/**
 * Small statistics for per-identity counts (pure, no dependencies).
 *
 * CloudTrail counts per identity are small, bursty and over-dispersed, so the rate detectors do
 * not use mean + N sigma. They combine:
 *  - a Poisson upper-tail probability of the observed hourly count against the decayed mean of
 *    *comparable* hours (same UTC hour of day, +-1 h, over the recent days, idle hours counted as 0,
 *    recent days weighted more): "how unlikely is this many in this hour for this identity";
 *  - a robust bound over the identity's *active* hours, median + k x MAD, which does not care when
 *    the identity works, only how busy its busy hours are;
 *  - the largest hour seen in the baseline: an hour no busier than one already seen is not a spike;
 *  - a minimum count and a minimum ratio, so 3 calls instead of 0 never alerts.
 * The Poisson model alone is far too confident on over-dispersed data (150 calls against a mean of
 * 100 has a tiny p), which is why it is only one of the conditions.
 */

/** ln Gamma(x) for x > 0 (Lanczos, g = 7, n = 9). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised lower incomplete gamma P(a, x). */
export function gammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  const lg = logGamma(a);
  if (x < a + 1) {
    // series
    let sum = 1 / a;
    let del = sum;
    let ap = a;
    for (let n = 0; n < 1000; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-15) break;
    }
    return Math.min(1, sum * Math.exp(-x + a * Math.log(x) - lg));
  }
  // continued fraction for Q, P = 1 - Q
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.max(0, 1 - Math.exp(-x + a * Math.log(x) - lg) * h);
}

/** P(X >= k) for X ~ Poisson(lambda). */
export function poissonSf(k: number, lambda: number): number {
  if (k <= 0) return 1;
  if (lambda <= 0) return 0;
  // P(X >= k) = P(k, lambda), the regularised lower incomplete gamma.
  return gammaP(k, lambda);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median absolute deviation (unscaled; multiply by 1.4826 for a normal-consistent sigma). */
export function mad(xs: readonly number[], med = median(xs)): number {
  return median(xs.map((x) => Math.abs(x - med)));
}

/** Linear-interpolated quantile, q in [0, 1]. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const pos = Math.min(1, Math.max(0, q)) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

const HOUR = 3_600_000;

/** What an identity's recent hours looked like, for one column (calls or errors). */
export interface HourlyBaseline {
  /** Hours covered (idle ones included). */
  hours: number;
  activeHours: number;
  /** Mean per hour over all covered hours. */
  mean: number;
  /** Decayed mean of comparable hours (same hour of day +-1 h), idle hours counted as 0. */
  comparableMean: number;
  comparableHours: number;
  /** Over active hours (calls > 0). */
  medianActive: number;
  madActive: number;
  maxHour: number;
  /** Sum of the column and of calls over the covered hours (for shares). */
  total: number;
  totalCalls: number;
}

/**
 * Summarise `hourly` ([hourIndex, calls, errors], active hours only) over the `span` hours before
 * `windowStartHour`, for the column `col` (1 = calls, 2 = errors), relative to the hour of day of
 * `targetHour`. Comparable hours are weighted 0.5^(age in days / halfLifeDays).
 */
export function hourlyBaseline(
  hourly: ReadonlyArray<readonly [number, number, number]>,
  span: number,
  windowStartHour: number,
  targetHour: number,
  col: 1 | 2,
  halfLifeDays = 7,
): HourlyBaseline {
  const start = windowStartHour - span;
  // The column by hour offset from `start` (idle hours 0): a typed array, not a map (this runs per identity).
  const byHour = new Float64Array(Math.max(0, span));
  const active: number[] = [];
  let total = 0;
  let totalCalls = 0;
  let maxHour = 0;
  for (const h of hourly) {
    if (h[0] < start || h[0] >= windowStartHour) continue;
    const v = h[col];
    byHour[h[0] - start] = v;
    total += v;
    totalCalls += h[1];
    if (h[1] > 0) active.push(v);
    if (v > maxHour) maxHour = v;
  }
  let wsum = 0;
  let vsum = 0;
  let n = 0;
  for (let d = 0; d <= Math.ceil(span / 24) + 1; d++) {
    for (let off = -1; off <= 1; off++) {
      const h = targetHour - 24 * d + off;
      if (h < start || h >= windowStartHour) continue;
      const w = Math.pow(0.5, (targetHour - h) / 24 / halfLifeDays);
      wsum += w;
      vsum += w * byHour[h - start]!;
      n++;
    }
  }
  const med = median(active);
  return {
    hours: span,
    activeHours: active.length,
    mean: span > 0 ? total / span : 0,
    comparableMean: wsum > 0 ? vsum / wsum : 0,
    comparableHours: n,
    medianActive: med,
    madActive: mad(active, med),
    maxHour,
    total,
    totalCalls,
  };
}

export interface SpikeOptions {
  /** The count must reach this. */
  minCount: number;
  /** ... and be at least this many times the expected count. */
  minRatio: number;
  /** ... and exceed median + k x 1.4826 x MAD of active hours. */
  madK: number;
  /** ... and have a Poisson upper-tail probability at most this. */
  maxP: number;
  /** ... and exceed the busiest baseline hour times this (1 = any hour busier than ever). */
  overMax: number;
}

export interface SpikeResult {
  spike: boolean;
  count: number;
  expected: number;
  ratio: number;
  p: number;
  robustUpper: number;
  /** Which conditions failed (empty when `spike`). */
  failed: string[];
}

/** Is `count` a spike against `base`? All conditions of `opts` must hold. */
export function spikeTest(count: number, base: HourlyBaseline, opts: SpikeOptions): SpikeResult {
  // Expected: the busier of "usual at this time of day" and "a typical active hour", at least 1.
  const expected = Math.max(base.comparableMean, base.medianActive, 1);
  const ratio = count / expected;
  const p = poissonSf(count, expected);
  const robustUpper = base.medianActive + opts.madK * 1.4826 * base.madActive;
  const failed: string[] = [];
  if (count < opts.minCount) failed.push("minCount");
  if (ratio < opts.minRatio) failed.push("minRatio");
  if (count <= robustUpper) failed.push("mad");
  if (p > opts.maxP) failed.push("poisson");
  if (count <= base.maxHour * opts.overMax) failed.push("max");
  return { spike: failed.length === 0, count, expected, ratio, p, robustUpper, failed };
}

/** Sliding sums of `k` consecutive 10-minute buckets (an hour = 6); returns the best window. */
export function bestSlidingWindow<T extends { start: number }>(
  buckets: readonly T[],
  value: (b: T) => number,
  widthMs = HOUR,
): { start: number; end: number; sum: number; members: T[] } | undefined {
  if (buckets.length === 0) return undefined;
  const bs = [...buckets].sort((a, b) => a.start - b.start);
  let best: { start: number; end: number; sum: number; members: T[] } | undefined;
  let j = 0;
  let sum = 0;
  for (let i = 0; i < bs.length; i++) {
    sum += value(bs[i]!);
    while (bs[i]!.start - bs[j]!.start >= widthMs) {
      sum -= value(bs[j]!);
      j++;
    }
    if (!best || sum > best.sum) best = { start: bs[j]!.start, end: bs[i]!.start + 600_000, sum, members: bs.slice(j, i + 1) };
  }
  return best;
}

/** Format a probability for a finding's text (`< 1e-12`, `3.2e-7`, `0.04`). */
export function fmtP(p: number): string {
  if (p < 1e-12) return "< 1e-12";
  if (p < 0.001) return p.toExponential(1);
  return p.toFixed(3);
}

/** Round for text: 0.123 -> "0.12", 12.34 -> "12". */
export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 10) return String(Math.round(x));
  if (a >= 1) return (Math.round(x * 10) / 10).toString();
  return (Math.round(x * 100) / 100).toString();
}
