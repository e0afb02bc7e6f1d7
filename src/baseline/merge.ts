import type { Principal } from "../events/types.js";
import { DimList, ageList, capList, indexLike, listOf, listedDims, slotsOf } from "./dim-list.js";
import {
  DAY,
  DIMS,
  HOUR,
  ageDim,
  ageDimInPlace,
  ageFactor,
  agedFields,
  capDim,
  copyStats,
  emptyProfile,
  NO_DIMS,
  statOf,
  statRecord,
  takeOver,
  type BaselineConfig,
  type Dim,
  type Profile,
  type Stat,
} from "./profile.js";

/** One value's counts in a scan (an API, an IP, ...). */
export interface ObservedStat {
  readonly n: number;
  readonly err: number;
  readonly first: number;
  readonly last: number;
}

/**
 * What a scan learned about one identity, as `mergeProfile` reads it (the ingest's accumulator
 * provides it). Owned here so that adding a dimension touches the profile, this and the ingest.
 */
export interface Observed {
  readonly principal: Principal;
  readonly first: number;
  readonly last: number;
  readonly events: number;
  readonly errors: number;
  readonly denied: number;
  /** Events per hour of day (UTC) and per weekday. */
  readonly hours: ArrayLike<number>;
  readonly weekdays: ArrayLike<number>;
  /** The largest read breadth in ten minutes, and the buckets it was measured over. */
  readonly breadthMax: number;
  readonly breadthBuckets: number;
  /** Days (since 1970) with activity. */
  readonly days: Iterable<number>;
  /**
   * Calls and errors per hour index (hours since 1970), every event counted: flat
   * [hour, calls, errors, ...], hours distinct and ascending.
   */
  hourlyCounts(): ArrayLike<number>;
  /**
   * The values of one dimension seen in this scan, in first-seen order, each once, with its counts
   * (ObservedStat's fields as arguments: no object or map per value; this runs for every value of
   * every identity at the end of a scan). `fn` must not ask anything else of the accumulator.
   */
  eachValue(d: Dim, fn: (value: string, n: number, err: number, first: number, last: number) => void): void;
  /**
   * One value's counts as eachValue gives them ([n, err, first, last]), or undefined when the scan
   * did not see it: a lookup. Optional: without it, a view reading one value builds the dimension.
   */
  valueStat?(d: Dim, value: string): [n: number, err: number, first: number, last: number] | undefined;
  /** How many values eachValue gives for a dimension, without listing them. Optional: without it they are counted through eachValue. */
  valueCount?(d: Dim): number;
  /** `valueStat(d, value)?.[2]`: when the scan first saw the value, without a tuple (BaselineView.known asks nothing else). Optional. */
  valueFirst?(d: Dim, value: string): number | undefined;
}

/**
 * Fold what one scan learned about an identity into its stored profile.
 * Counts from the scan cover only events newer than `stored.trainedUntil` (the accumulator skips
 * the rest), so rescanning the same files does not double them. The stored counts are as of their
 * `trainedUntil`: they decay by the time to the new `trainedUntil` (the newest event, stored or
 * scanned), not to `now`, so that a rescan of the same events (trainedUntil unchanged) leaves them
 * as they were instead of decaying them again on every merge. The horizon is cut at `now`; the
 * result is capped.
 */
export function mergeProfile(stored: Profile | undefined, acc: Observed, now: number, cfg: BaselineConfig, lazyDims = false): Profile {
  // Each stored dimension is aged as it is merged (below): one new record per dimension, not two;
  // none for a profile handed over by the store (a fresh decode): its records are aged in place.
  const f = stored ? ageFactor(stored, Math.max(stored.trainedUntil, acc.last), cfg) : 1;
  const own = stored !== undefined && takeOver(stored);
  // (Without a stored profile, every branch below gives `out` dims of its own.)
  const base = stored ? agedFields(stored, now, cfg, f, stored.dims) : emptyProfile(acc.principal.key, acc.principal.type, NO_DIMS);
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

  if (lazyDims && stored === undefined) out.dims = new ScanDims(acc, cfg);
  else {
    // A stored profile whose dims are kept as lists (dim-list.ts, a store's decode): they are
    // merged as lists, and the merged profile keeps them so (its encoder reads them). Its dims
    // object is re-used when the profile was handed over (nobody else holds it).
    const slots = stored ? slotsOf(stored.dims) : undefined;
    if (slots !== undefined) {
      const reuse = own;
      const into = reuse ? slots : new Array<DimList | Record<string, Stat>>(DIMS.length);
      for (let k = 0; k < DIMS.length; k++) {
        const d = DIMS[k]!;
        const x = slots[k];
        let merged: DimList | Record<string, Stat> | undefined = x instanceof DimList ? mergeList(x, f, horizonStart, cfg.caps[d], acc, d, own) : undefined;
        // (A record, or a list holding an array index: read as its record.)
        merged ??= mergeDim((own ? ageDimInPlace : ageDim)(stored!.dims[d], f, horizonStart, cfg.caps[d]), acc, d, cfg.caps[d], true);
        into[k] = merged;
      }
      out.dims = reuse ? stored!.dims : listedDims(into);
    } else {
      const dims = {} as Record<Dim, Record<string, Stat>>;
      for (const d of DIMS) {
        const aged = stored ? (own ? ageDimInPlace : ageDim)(stored.dims[d], f, horizonStart, cfg.caps[d]) : undefined;
        dims[d] = mergeDim(aged, acc, d, cfg.caps[d], true);
      }
      out.dims = dims;
    }
  }
  out.hourly = mergeHourly(base.hourly, acc.hourlyCounts(), Math.floor((now - cfg.hourlyDays * DAY) / HOUR));
  return out;
}

/**
 * `mergeProfile(undefined, acc, ...)`'s dimensions, each built from the scan when first read (the
 * same record, the same values in the same order): for a profile only a view reads while its
 * identity is judged (a scan that keeps no profiles), whose detectors read a few dimensions of
 * it (realistic 1M: about half the values; sessions, error codes and instance types never). The
 * accumulator must not be released before the view is done with. Read-only: its dimensions are
 * getters; it is never persisted (Object.keys and JSON.stringify see none).
 */
class ScanDims implements Record<Dim, Record<string, Stat>> {
  /** The dimensions built so far. */
  readonly #built: Partial<Record<Dim, Record<string, Stat>>> = {};
  constructor(
    private readonly acc: Observed,
    private readonly cfg: BaselineConfig,
  ) {}
  /** Dimension `d`, built when first asked. */
  private dim(d: Dim): Record<string, Stat> {
    return (this.#built[d] ??= mergeDim(undefined, this.acc, d, this.cfg.caps[d]));
  }
  /** The scan's values per dimension (counted when first asked). */
  #counts: Partial<Record<Dim, number>> = {};
  private count(d: Dim): number {
    let n = this.#counts[d];
    if (n === undefined) {
      const acc = this.acc;
      if (acc.valueCount !== undefined) n = acc.valueCount(d);
      else {
        let c = 0;
        acc.eachValue(d, () => void c++);
        n = c;
      }
      this.#counts[d] = n;
    }
    return n;
  }
  /** How many values dimension `d` holds, without building it (the scan's values, capped) unless it is built already. */
  size(d: Dim): number {
    const built = this.#built[d];
    if (built !== undefined) return Object.keys(built).length;
    return Math.min(this.count(d), this.cfg.caps[d]);
  }
  /** `fn` for each value of dimension `d` with its first-seen time: from the accumulator where the dimension is within its cap and not built. */
  eachFirst(d: Dim, fn: (value: string, first: number) => void): void {
    const built = this.#built[d];
    if (built === undefined && this.count(d) <= this.cfg.caps[d]) {
      this.acc.eachValue(d, (k, _n, _err, first) => fn(k, first));
      return;
    }
    const rec = built ?? this.dim(d);
    for (const k of Object.keys(rec)) fn(k, rec[k]![2]);
  }
  /**
   * `statOf(this[d], value)`: without building the dimension where the accumulator can look the
   * value up and the dimension is within its cap (all the scan's values are in it then).
   */
  stat(d: Dim, value: string): Stat | undefined {
    const built = this.#built[d];
    if (built !== undefined) return statOf(built, value);
    const acc = this.acc;
    if (acc.valueStat === undefined || this.count(d) > this.cfg.caps[d]) return statOf(this.dim(d), value);
    return acc.valueStat(d, value);
  }
  /** `this.stat(d, value)?.[2]`, without the tuple where the accumulator can tell the time alone. */
  first(d: Dim, value: string): number | undefined {
    const acc = this.acc;
    if (this.#built[d] !== undefined || acc.valueFirst === undefined || this.count(d) > this.cfg.caps[d]) return this.stat(d, value)?.[2];
    return acc.valueFirst(d, value);
  }
  get api(): Record<string, Stat> {
    return this.dim("api");
  }
  get service(): Record<string, Stat> {
    return this.dim("service");
  }
  get ip(): Record<string, Stat> {
    return this.dim("ip");
  }
  get network(): Record<string, Stat> {
    return this.dim("network");
  }
  get country(): Record<string, Stat> {
    return this.dim("country");
  }
  get region(): Record<string, Stat> {
    return this.dim("region");
  }
  get ua(): Record<string, Stat> {
    return this.dim("ua");
  }
  get session(): Record<string, Stat> {
    return this.dim("session");
  }
  get errorCode(): Record<string, Stat> {
    return this.dim("errorCode");
  }
  get assumedRole(): Record<string, Stat> {
    return this.dim("assumedRole");
  }
  get instanceType(): Record<string, Stat> {
    return this.dim("instanceType");
  }
  get target(): Record<string, Stat> {
    return this.dim("target");
  }
}

/** How many values a profile's dimension holds (known before the window or not): `Object.keys(dims[d]).length`, without building a dimension mergeProfile left to be built when read. */
export function dimSize(dims: Readonly<Record<Dim, Readonly<Record<string, Stat>>>>, d: Dim): number {
  if (dims instanceof ScanDims) return dims.size(d);
  const list = listOf(dims, d);
  if (list !== undefined) return list.size;
  const rec = dims[d];
  return rec === undefined ? 0 : Object.keys(rec).length;
}

/** `statOf(dims[d], value)`, without building a dimension mergeProfile left to be built when read where it can. */
export function dimStat(dims: Readonly<Record<Dim, Readonly<Record<string, Stat>>>> | undefined, d: Dim, value: string): Stat | undefined {
  if (dims instanceof ScanDims) return dims.stat(d, value);
  const list = listOf(dims, d);
  if (list !== undefined) {
    const i = list.indexOf(value);
    return i < 0 ? undefined : list.stat(i);
  }
  return statOf(dims?.[d], value);
}

/** `dimStat(dims, d, value)?.[2]`: when the value was first seen (BaselineView.known), without a tuple made for it where the scan can tell. */
export function dimFirst(dims: Readonly<Record<Dim, Readonly<Record<string, Stat>>>> | undefined, d: Dim, value: string): number | undefined {
  if (dims instanceof ScanDims) return dims.first(d, value);
  return dimStat(dims, d, value)?.[2];
}

/** `fn` for each value of `dims[d]` with its first-seen time (for counting: the order is the record's, or first seen), without building a dimension mergeProfile left to be built when read where it can. */
export function dimEachFirst(dims: Readonly<Record<Dim, Readonly<Record<string, Stat>>>> | undefined, d: Dim, fn: (value: string, first: number) => void): void {
  if (dims instanceof ScanDims) {
    dims.eachFirst(d, fn);
    return;
  }
  const list = listOf(dims, d);
  if (list !== undefined) {
    const values = list.values;
    const stats = list.stats;
    for (let i = 0; i < values.length; i++) fn(values[i]!, stats[i * 4 + 2]!);
  } else {
    const rec = dims?.[d];
    if (rec !== undefined) for (const k of Object.keys(rec)) fn(k, rec[k]![2]);
  }
}

/**
 * `mergeDim(ageDim(list's record, f, horizonStart, cap), acc, d, cap)` as a list: the same values
 * in the same order with the same numbers. Undefined when a value could be an array index (its
 * place in a record would not be its place in the list): then merge the record.
 */
function mergeList(list: DimList, f: number, horizonStart: number, cap: number, acc: Observed, d: Dim, own = false): DimList | undefined {
  // `own`: the list is a fresh decode's, handed over (nobody else holds it): aged in place, unless
  // a scan value could be an array index (then this may return undefined, and the caller reads
  // the list unchanged as its record).
  let inPlace = own;
  if (inPlace) acc.eachValue(d, (k) => void (inPlace &&= !indexLike(k)));
  const aged = ageList(list, f, horizonStart, cap, inPlace);
  if (aged === undefined) return undefined;
  const s = aged.stats;
  // The stored values are looked up by a linear scan (lengths compared first), not through a Map
  // of them: the scan meets a few values of a dimension (realistic warm day: 7,718 targets looked
  // up in 145,059 stored, 1.0M comparisons), and hashing every stored value cost more. The
  // scan's values are distinct: those it adds need not be scanned.
  const stored = aged.size;
  let added = 0;
  let bad = false;
  acc.eachValue(d, (k, n, err, first, last) => {
    if (bad) return;
    const i = aged.find(k, stored);
    if (i < 0) {
      if (indexLike(k)) bad = true;
      else {
        aged.push(k, n, err, first, last);
        added++;
      }
      return;
    }
    const o = i * 4;
    s[o] = s[o]! + n;
    s[o + 1] = s[o + 1]! + err;
    s[o + 2] = Math.min(s[o + 2]!, first);
    s[o + 3] = Math.max(s[o + 3]!, last);
  });
  if (bad) return undefined;
  return added === 0 ? aged : capList(aged, cap);
}

/** One dimension of `mergeProfile`: the (aged) stored values and the scan's, capped. */
function mergeDim(base: Record<string, Stat> | undefined, acc: Observed, d: Dim, cap: number, owned = false): Record<string, Stat> {
  // Prototype-less: values (user agents, sessions...) come from the records, i.e. the attacker.
  if (base === undefined) {
    // No stored values: the scan's (each once) go in as they come, nothing to look up first.
    const rec = statRecord();
    let added = 0;
    acc.eachValue(d, (k, n, err, first, last) => {
      rec[k] = [n, err, first, last];
      added++;
    });
    return added <= cap ? rec : capDim(rec, cap);
  }
  // `owned`: `base` is a new record of new tuples (ageDim's), filled and updated in place instead of copied.
  const rec = owned ? base : copyStats(base);
  // Values added: when none are (nearly always for a dimension the scan did not see), a record
  // within the cap before is within it after, and capDim need not list its keys again.
  let added = 0;
  acc.eachValue(d, (k, n, err, first, last) => {
    const cur = statOf(rec, k);
    if (cur === undefined) {
      rec[k] = [n, err, first, last];
      added++;
    } else if (owned) {
      // ageDim's own new tuple: updated in place (no second tuple per value the scan saw).
      cur[0] += n;
      cur[1] += err;
      cur[2] = Math.min(cur[2], first);
      cur[3] = Math.max(cur[3], last);
    } else rec[k] = [cur[0] + n, cur[1] + err, Math.min(cur[2], first), Math.max(cur[3], last)];
  });
  // `base` is capped already (ageDim, ageDimInPlace): without new values, so is `rec`.
  return added === 0 ? rec : capDim(rec, cap);
}

/**
 * What `mergedDim` reads of a stored profile: a whole Profile, or one dimension and the fields it
 * needs, as a store reads it without decoding the rest (TrailStore.readBaselineDim).
 */
export interface DimSource {
  readonly trainedUntil: number;
  readonly accountId?: string | undefined;
  readonly dims: Readonly<Partial<Record<Dim, Readonly<Record<string, Stat>>>>>;
}

/**
 * One dimension of `mergeProfile(stored, acc, now, cfg)`, and its `accountId`, without merging
 * the rest: what the scan asks of identities it has not settled yet (the regions of an account).
 */
export function mergedDim(
  stored: DimSource | undefined,
  acc: Observed,
  dim: Dim,
  now: number,
  cfg: BaselineConfig,
): { values: Record<string, Stat>; accountId: string | undefined } {
  const base = stored ? ageDim(stored.dims[dim], ageFactor(stored, Math.max(stored.trainedUntil, acc.last), cfg), now - cfg.horizonDays * DAY, cfg.caps[dim]) : undefined;
  return { values: mergeDim(base, acc, dim, cfg.caps[dim], true), accountId: acc.principal.accountId || stored?.accountId };
}

/**
 * Hourly history: the union by hour of the stored rows and the scan's counts, from `minHour` on,
 * sorted by hour; when a rescan reports an hour already stored, the larger count wins.
 */
export function mergeHourly(
  stored: ReadonlyArray<readonly [number, number, number]>,
  /** The scan's hours: flat [hour, calls, errors, ...], hours distinct and ascending (Observed.hourlyCounts). */
  scan: ArrayLike<number>,
  minHour: number,
): Array<[number, number, number]> {
  // The scan's first hour at or after minHour (as hour * 3).
  let j = 0;
  while (j < scan.length && scan[j]! < minHour) j += 3;
  let ordered = true;
  for (let i = 1; i < stored.length && ordered; i++) ordered = stored[i - 1]![0] < stored[i]![0];
  if (!ordered) {
    // Not written by this function (duplicate or unsorted hours): the general union.
    const m = new Map<number, [number, number]>();
    for (const [h, c, e] of stored) m.set(h, [c, e]);
    for (; j < scan.length; j += 3) {
      const h = scan[j]!;
      const c = scan[j + 1]!;
      const cur = m.get(h);
      if (!cur || cur[0] < c) m.set(h, [c, scan[j + 2]!]);
    }
    return [...m.entries()]
      .filter(([h]) => h >= minHour)
      .sort((a, b) => a[0] - b[0])
      .map(([h, [c, e]]) => [h, c, e]);
  }
  // Both sorted: merge. A stored row is taken as it is, not copied: hourly rows are never changed
  // in place (a new row replaces one), and a profile's history is most of its rows (about 100 per
  // identity on the lean warm day: 300,000 tuples that a copy would allocate and the garbage
  // collector move).
  const out: Array<[number, number, number]> = [];
  let i = 0;
  while (i < stored.length && stored[i]![0] < minHour) i++;
  while (i < stored.length || j < scan.length) {
    const hs = i < stored.length ? stored[i]![0] : Infinity;
    const hm = j < scan.length ? scan[j]! : Infinity;
    if (hs < hm) out.push(stored[i++] as [number, number, number]);
    else {
      const c = scan[j + 1]!;
      if (hs === hm) {
        const s = stored[i++]!;
        out.push(s[1] < c ? [hm, c, scan[j + 2]!] : (s as [number, number, number]));
      } else out.push([hm, c, scan[j + 2]!]);
      j += 3;
    }
  }
  return out;
}
