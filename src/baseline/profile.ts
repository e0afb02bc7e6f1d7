/**
 * Per-identity behaviour profiles: what is normal for one principal.
 *
 * A profile is bounded whatever the volume: each dimension keeps at most `caps[dim]` values
 * (the least-used are dropped first), counts decay with a half-life, and values not seen within
 * the horizon (default 90 days) are forgotten. Times are epoch milliseconds.
 */

/**
 * `assumedRole`: roles this identity assumed (AssumeRole* `roleArn`): caller-to-role pairs.
 * `instanceType`: EC2 instance types it launched (RunInstances `instanceType`).
 * `target`: secrets and parameters it read (`secret:<name>`, `parameter:<name>`; src/events/targets.ts).
 */
export const DIMS = ["api", "service", "ip", "network", "country", "region", "ua", "session", "errorCode", "assumedRole", "instanceType", "target"] as const;
export type Dim = (typeof DIMS)[number];

/** [count (decayed), errors (decayed), firstSeen ms, lastSeen ms]. A tuple keeps the store small. */
export type Stat = [n: number, err: number, first: number, last: number];

export interface Profile {
  v: 1;
  key: string;
  type: string;
  arn?: string;
  accountId?: string;
  userName?: string;
  /** First and last event time ever seen (within the horizon). */
  first: number;
  last: number;
  /** Newest event time folded into this profile: later scans count only events after it (idempotent rescans). */
  trainedUntil: number;
  /** Decayed counters. */
  events: number;
  errors: number;
  denied: number;
  /** Epoch days (floor(ms / 86400000)) with activity, sorted, within the horizon. */
  days: number[];
  /** Activity by UTC hour of day (24) and weekday (7, Sunday = 0), decayed. */
  hours: number[];
  weekdays: number[];
  dims: Record<Dim, Record<string, Stat>>;
  /** Active hours of the recent past: [hourIndex = floor(ms / 3600000), calls, errors]; sorted. */
  hourly: Array<[number, number, number]>;
  /** Largest number of distinct read-only APIs seen in one 10-minute bucket, and how many buckets were seen. */
  breadth: [max: number, buckets: number];
  /**
   * Values held back from `dims` because an open finding of medium or higher is about them (see
   * src/baseline/held.ts); absent when there are none.
   */
  held?: HeldBack[];
}

/** One finding's held-back values: folded into `dims` when it is acknowledged or suppressed. */
export interface HeldBack {
  finding: string;
  /** When the values were first held back (ms). */
  since: number;
  /**
   * [dim, value, stat, days]: `days` (epoch days, sorted, the latest MAX_HELD_DAYS) lists the days
   * the value was seen on while held, where the scan knows them (countries); absent in older stores.
   */
  values: Array<[Dim, string, Stat] | [Dim, string, Stat, number[]]>;
}

export interface BaselineConfig {
  /** Behaviour older than this is forgotten. */
  horizonDays: number;
  /** Half-life of decayed counts. */
  halfLifeDays: number;
  /** Max values kept per dimension. */
  caps: Record<Dim, number>;
  /** How many recent days of hourly counts are kept. */
  hourlyDays: number;
  /** Minimum history before "first seen" findings are raised: both must hold. */
  learningMinDays: number;
  learningMinEvents: number;
}

export const DEFAULT_BASELINE_CONFIG: BaselineConfig = {
  horizonDays: 90,
  halfLifeDays: 30,
  caps: { api: 300, service: 80, ip: 100, network: 40, country: 30, region: 30, ua: 40, session: 50, errorCode: 30, assumedRole: 50, instanceType: 20, target: 300 },
  hourlyDays: 14,
  learningMinDays: 3,
  learningMinEvents: 50,
};

/** A new empty record per dimension. */
function emptyDims(): Record<Dim, Record<string, Stat>> {
  const dims = {} as Record<Dim, Record<string, Stat>>;
  for (const d of DIMS) dims[d] = statRecord();
  return dims;
}

/** Dimensions that are never read nor written (emptyProfile's, for a profile whose dims are replaced before it is used): frozen, a write throws. */
export const NO_DIMS: Readonly<Record<Dim, Record<string, Stat>>> = Object.freeze({} as Record<Dim, Record<string, Stat>>);

/**
 * A new, empty value -> Stat record. Values are attacker-controlled (user agents, API names,
 * sessions...): a record without a prototype stores `__proto__`, `constructor`, `toString` like any
 * other value, where a plain `{}` would set its prototype or read inherited members. JSON.stringify
 * writes it exactly as a plain object.
 */
export function statRecord(): Record<string, Stat> {
  return Object.create(null) as Record<string, Stat>;
}

/** A prototype-less copy of a value -> Stat record (its own values only). */
export function copyStats(src: Readonly<Record<string, Stat>> | undefined): Record<string, Stat> {
  const out = statRecord();
  if (src) for (const k of Object.keys(src)) out[k] = src[k]!;
  return out;
}

/** The Stat of `value` in a record, own values only (never an inherited member such as `constructor`). */
export function statOf(rec: Readonly<Record<string, Stat>> | undefined, value: string): Stat | undefined {
  return rec !== undefined && Object.hasOwn(rec, value) ? rec[value] : undefined;
}

/** The profile with each dimension's record made prototype-less (a profile parsed from JSON holds plain objects). */
export function withSafeDims<P extends { dims: Record<Dim, Record<string, Stat>> }>(p: P): P {
  const dims = {} as Record<Dim, Record<string, Stat>>;
  for (const d of Object.keys(p.dims ?? {})) dims[d as Dim] = copyStats(p.dims[d as Dim]);
  p.dims = dims;
  return p;
}

export const DAY = 86_400_000;
export const HOUR = 3_600_000;

/**
 * A new profile with no history. `dims`: its dimensions, new empty records by default; a caller
 * that replaces them at once (mergeProfile without a stored profile) passes NO_DIMS, and no
 * record is made per dimension to be dropped (once per identity at the end of a scan).
 */
export function emptyProfile(key: string, type: string, dims: Record<Dim, Record<string, Stat>> = emptyDims()): Profile {
  return {
    v: 1,
    key,
    type,
    first: Infinity,
    last: -Infinity,
    trainedUntil: -Infinity,
    events: 0,
    errors: 0,
    denied: 0,
    days: [],
    hours: new Array(24).fill(0),
    weekdays: new Array(7).fill(0),
    dims,
    hourly: [],
    breadth: [0, 0],
  };
}

/** Decay factor for an interval of `ms` with the configured half-life. */
export function decayFactor(ms: number, cfg: BaselineConfig): number {
  if (ms <= 0) return 1;
  return Math.pow(0.5, ms / (cfg.halfLifeDays * DAY));
}

/** Keep the `cap` most-used values of one dimension (ties: most recent). */
export function capDim(rec: Record<string, Stat>, cap: number): Record<string, Stat> {
  const keys = Object.keys(rec);
  if (keys.length <= cap) return rec;
  // The same stable order as sorting the keys by their stats, with each stat looked up once (not
  // twice per comparison in a dictionary of hundreds of values).
  const stats = keys.map((k) => rec[k]!);
  const order = keys.map((_, i) => i);
  order.sort((a, b) => stats[b]![0] - stats[a]![0] || stats[b]![3] - stats[a]![3]);
  const out = statRecord();
  for (let i = 0; i < cap; i++) out[keys[order[i]!]!] = stats[order[i]!]!;
  return out;
}

/**
 * Age a profile to `now`: decay counts by the time from the profile's `trainedUntil` to `decayTo`
 * (default `now`), drop values unseen within the horizon, and enforce caps. Returns a new profile.
 */
export function ageProfile(p: Profile, now: number, cfg: BaselineConfig = DEFAULT_BASELINE_CONFIG, decayTo = now): Profile {
  const horizonStart = now - cfg.horizonDays * DAY;
  const f = ageFactor(p, decayTo, cfg);
  const dims = {} as Record<Dim, Record<string, Stat>>;
  for (const d of DIMS) dims[d] = ageDim(p.dims[d], f, horizonStart, cfg.caps[d]);
  return agedFields(p, now, cfg, f, dims);
}

/**
 * `ageProfile(p, now, cfg, decayTo)` with `f = ageFactor(p, decayTo, cfg)`, whose dims are the
 * given ones (mergeProfile ages each dimension as it merges it).
 */
export function agedFields(p: Profile, now: number, cfg: BaselineConfig, f: number, dims: Record<Dim, Record<string, Stat>>): Profile {
  const horizonStart = now - cfg.horizonDays * DAY;
  const dayStart = Math.floor(horizonStart / DAY);
  const hourStart = Math.floor((now - cfg.hourlyDays * DAY) / HOUR);
  return {
    ...p,
    first: Math.max(p.first, horizonStart),
    events: p.events * f,
    errors: p.errors * f,
    denied: p.denied * f,
    days: p.days.filter((d) => d >= dayStart),
    hours: p.hours.map((h) => h * f),
    weekdays: p.weekdays.map((h) => h * f),
    dims,
    hourly: p.hourly.filter((h) => h[0] >= hourStart),
    breadth: [p.breadth[0], p.breadth[1]],
  };
}

/** The factor `ageProfile` decays a profile's counts by. */
export function ageFactor(p: { readonly trainedUntil: number }, decayTo: number, cfg: BaselineConfig): number {
  return Number.isFinite(p.trainedUntil) ? decayFactor(decayTo - p.trainedUntil, cfg) : 1;
}

/** One dimension of `ageProfile`: counts decayed by `f`, values unseen since `horizonStart` dropped, capped. */
export function ageDim(src: Readonly<Record<string, Stat>> | undefined, f: number, horizonStart: number, cap: number): Record<string, Stat> {
  const out = statRecord();
  if (src) {
    // Object.keys, not Object.entries: no [key, value] pair per value (the same order).
    for (const k of Object.keys(src)) {
      const s = src[k]!;
      if (s[3] < horizonStart) continue;
      out[k] = [s[0] * f, s[1] * f, Math.max(s[2], horizonStart), s[3]];
    }
  }
  return capDim(out, cap);
}

/**
 * Profiles handed over by their maker (a store's fresh decode, read once by a scan: nobody else
 * holds them): `mergeProfile` ages such a profile's dimensions in place, its records and tuples
 * re-used, instead of building new ones for every stored value. A profile it merges is no longer
 * handed over (the mark is taken once).
 */
const handedOver = new WeakSet<Profile>();

/** Mark a profile as handed over (see `handedOver`): its maker keeps no reference to it. */
export function handOver(p: Profile): Profile {
  handedOver.add(p);
  return p;
}

/** True once for a profile handed over (`handOver`): the caller may now change it in place. */
export function takeOver(p: Profile): boolean {
  return handedOver.delete(p);
}

/**
 * `ageDim` on a record that is the caller's own, of tuples that are its own too (a profile taken
 * over): the same values in the same order, decayed in place; values unseen since `horizonStart`
 * deleted; then capped.
 */
export function ageDimInPlace(rec: Record<string, Stat> | undefined, f: number, horizonStart: number, cap: number): Record<string, Stat> {
  if (rec === undefined) return statRecord();
  const keys = Object.keys(rec);
  let kept = keys.length;
  for (const k of keys) {
    const s = rec[k]!;
    if (s[3] < horizonStart) {
      delete rec[k];
      kept--;
      continue;
    }
    s[0] *= f;
    s[1] *= f;
    s[2] = Math.max(s[2], horizonStart);
  }
  // Within the cap (nearly always): capDim would list the keys again only to return `rec`.
  return kept <= cap ? rec : capDim(rec, cap);
}

/** Round counts so that the stored JSON stays small. */
export function compactProfile(p: Profile): Profile {
  const r = (x: number) => Math.round(x * 100) / 100;
  const dims = {} as Record<Dim, Record<string, Stat>>;
  for (const d of DIMS) {
    const out = statRecord();
    for (const [k, s] of Object.entries(p.dims[d] ?? {})) out[k] = [r(s[0]), r(s[1]), s[2], s[3]];
    dims[d] = out;
  }
  return { ...p, events: r(p.events), errors: r(p.errors), denied: r(p.denied), hours: p.hours.map(r), weekdays: p.weekdays.map(r), dims };
}
