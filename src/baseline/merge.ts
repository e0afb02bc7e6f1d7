import type { IdentityAcc } from "../scan/accumulator.js";
import {
  DAY,
  DIMS,
  HOUR,
  ageProfile,
  capDim,
  emptyProfile,
  type BaselineConfig,
  type Dim,
  type Profile,
  type Stat,
} from "./profile.js";

/**
 * Fold what one scan learned about an identity into its stored profile.
 * Counts from the scan cover only events newer than `stored.trainedUntil` (the accumulator skips
 * the rest), so rescanning the same files does not double them. The result is aged to `now`
 * (decay, horizon) and capped.
 */
export function mergeProfile(stored: Profile | undefined, acc: IdentityAcc, now: number, cfg: BaselineConfig): Profile {
  const base = stored ? ageProfile(stored, now, cfg) : emptyProfile(acc.principal.key, acc.principal.type);
  const p = acc.principal;
  const out: Profile = {
    ...base,
    key: p.key,
    type: p.type,
    first: Math.min(base.first, acc.first),
    last: Math.max(base.last, acc.last),
    trainedUntil: Math.max(base.trainedUntil, acc.last),
    events: base.events + acc.events,
    errors: base.errors + acc.errors,
    denied: base.denied + acc.denied,
    hours: base.hours.map((h, i) => h + acc.hours[i]!),
    weekdays: base.weekdays.map((h, i) => h + acc.weekdays[i]!),
    // Breadth: call after acc.toWindow() for the view (history only), after acc.foldAll() to persist.
    breadth: [Math.max(base.breadth[0], acc.breadthMax), base.breadth[1] + acc.breadthBuckets],
  };
  if (p.arn) out.arn = p.arn;
  if (p.accountId) out.accountId = p.accountId;
  if (p.userName) out.userName = p.userName;

  const horizonStart = now - cfg.horizonDays * DAY;
  const days = new Set(base.days);
  for (const d of acc.days) if (d * DAY >= horizonStart - DAY) days.add(d);
  out.days = [...days].sort((a, b) => a - b);

  const dims = {} as Record<Dim, Record<string, Stat>>;
  for (const d of DIMS) {
    const rec: Record<string, Stat> = { ...(base.dims[d] ?? {}) };
    const m = acc.dim(d);
    {
      for (const [k, s] of m) {
        const cur = rec[k];
        if (cur) rec[k] = [cur[0] + s.n, cur[1] + s.err, Math.min(cur[2], s.first), Math.max(cur[3], s.last)];
        else rec[k] = [s.n, s.err, s.first, s.last];
      }
    }
    dims[d] = capDim(rec, cfg.caps[d]);
  }
  out.dims = dims;

  // Hourly history: union by hour; when a rescan reports an hour already stored, keep the larger count.
  const hourly = new Map<number, [number, number]>();
  for (const [h, n, e] of base.hourly) hourly.set(h, [n, e]);
  for (const [h, n] of acc.hourlyCalls) {
    const cur = hourly.get(h);
    if (!cur || cur[0] < n) hourly.set(h, [n, acc.hourlyErrors.get(h) ?? 0]);
  }
  const minHour = Math.floor((now - cfg.hourlyDays * DAY) / HOUR);
  out.hourly = [...hourly.entries()]
    .filter(([h]) => h >= minHour)
    .sort((a, b) => a[0] - b[0])
    .map(([h, [n, e]]) => [h, n, e]);
  return out;
}
