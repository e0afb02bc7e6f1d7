/**
 * Stored dimensions kept as lists (issue 17, the warm path).
 *
 * A stored profile decoded for a scan used to become one record (value -> Stat) per dimension:
 * every value registered as a property key (V8 internalises the string and grows a dictionary),
 * only for the scan to age the record, merge the day's values into it and take it apart again
 * to write it back. Most of those values are never looked up: no detector reads sessions, error
 * codes or instance types, and the others are asked about the few values the day saw. So each
 * dimension of such a profile is kept as a `DimList` (the values in the record's order and their
 * stats in one number array) from the decode through the merge to the encoding (pack.ts
 * `takePart`), and looked up by the scan's view (`indexOf`: merge.ts dimStat) without a record.
 *
 * The profile still reads as before: its `dims` object (`listedDims`) has each dimension as an
 * accessor that makes the record the first time it is read (the same record the decode made
 * before: the same values in the same order, the same numbers), and from then on is that record.
 * So any reader but the scan's merge, view and encoder sees plain records.
 *
 * A list stands for the record only while the record's key order is its insertion order: no value
 * may be an array index ("0", "42": a record lists those first, in numeric order). Such a value
 * makes the merge fall back to the record for that dimension.
 */
import { DIMS, statRecord, type Dim, type Stat } from "./profile.js";

/**
 * Whether `v` is an array index: "0", or a digit 1-9 and at most nine more digits, below 2^32 - 1
 * (then a record would list it first, in numeric order, not in insertion order).
 */
export function indexLike(v: string): boolean {
  const c = v.charCodeAt(0);
  // (NaN for "": not an index.)
  if (!(c >= 48 && c <= 57)) return false;
  const n = v.length;
  if (n > 10 || (c === 48 && n > 1)) return false;
  for (let i = 1; i < n; i++) {
    const d = v.charCodeAt(i);
    if (d < 48 || d > 57) return false;
  }
  return Number(v) < 4294967295;
}

/**
 * Lookups made by a linear scan before a list builds its index (a Map of its values). A scan
 * compares lengths first, and most values differ in length: much cheaper than hashing every value
 * (long ones: targets, sessions) into a Map, unless the list is asked often.
 */
const LINEAR_LOOKUPS = 32;

/** One dimension's values and stats: `stats[4i..4i+3]` is value i's [n, err, first, last]. */
export class DimList {
  #index: Map<string, number> | undefined;
  #lookups = 0;
  constructor(
    readonly values: string[],
    readonly stats: number[],
  ) {}

  get size(): number {
    return this.values.length;
  }

  /** Where value `v` is among the first `end` values (a linear scan), or -1. */
  find(v: string, end = this.values.length): number {
    const values = this.values;
    const len = v.length;
    if (len === 0) {
      for (let i = 0; i < end; i++) if (values[i]!.length === 0) return i;
      return -1;
    }
    // Values of one length often share a prefix (sessions, ARNs): the last character tells most
    // apart before a full comparison.
    const lastAt = len - 1;
    const last = v.charCodeAt(lastAt);
    for (let i = 0; i < end; i++) {
      const x = values[i]!;
      if (x.length === len && x.charCodeAt(lastAt) === last && x === v) return i;
    }
    return -1;
  }

  /** Where value `v` is, or -1. */
  indexOf(v: string): number {
    const values = this.values;
    if (this.#index === undefined) {
      if (++this.#lookups <= LINEAR_LOOKUPS || values.length <= 8) return this.find(v);
      const m = new Map<string, number>();
      // The first of equal values, as a linear scan finds it (a list holds none: see the file comment).
      for (let i = values.length - 1; i >= 0; i--) m.set(values[i]!, i);
      this.#index = m;
    }
    return this.#index.get(v) ?? -1;
  }

  /** Append a value (not in the list). */
  push(v: string, n: number, err: number, first: number, last: number): void {
    this.#index?.set(v, this.values.length);
    this.values.push(v);
    this.stats.push(n, err, first, last);
  }

  /** Value i's Stat (a new tuple). */
  stat(i: number): Stat {
    const s = this.stats;
    const o = i * 4;
    return [s[o]!, s[o + 1]!, s[o + 2]!, s[o + 3]!];
  }

  /** The record this list stands for (new tuples). */
  toRecord(): Record<string, Stat> {
    const rec = statRecord();
    const values = this.values;
    const s = this.stats;
    for (let i = 0, o = 0; i < values.length; i++, o += 4) rec[values[i]!] = [s[o]!, s[o + 1]!, s[o + 2]!, s[o + 3]!];
    return rec;
  }
}

/** Per listed dims object: each dimension's list, or its record once made (index: DIMS). */
type Slots = Array<DimList | Record<string, Stat>>;
const SLOTS = new WeakMap<object, Slots>();

function read(s: Slots, i: number): Record<string, Stat> {
  const x = s[i]!;
  if (!(x instanceof DimList)) return x;
  const rec = x.toRecord();
  s[i] = rec;
  return rec;
}

/**
 * The accessors of the dimensions: the same functions for every dims object, finding the
 * object's slots by `this` (no closures per object). Defining them still costs a few µs per
 * object: a stored profile's dims object is made once, by its decode (mergeProfile re-uses it).
 */
const ACCESSORS: PropertyDescriptorMap = Object.fromEntries(
  DIMS.map((d, i) => [
    d,
    {
      get(this: object): Record<string, Stat> {
        return read(SLOTS.get(this)!, i);
      },
      set(this: object, v: Record<string, Stat>) {
        SLOTS.get(this)![i] = v;
      },
      enumerable: true,
      configurable: true,
    },
  ]),
);

/**
 * A profile's `dims` whose dimensions are given as lists or records (`slots`, by DIMS index): an
 * object with the twelve dimensions in DIMS order, each an accessor (reading one makes its record
 * once; assigning replaces it).
 */
export function listedDims(slots: Array<DimList | Record<string, Stat>>): Record<Dim, Record<string, Stat>> {
  const dims = {};
  SLOTS.set(dims, slots);
  // In DIMS order.
  return Object.defineProperties(dims, ACCESSORS) as Record<Dim, Record<string, Stat>>;
}

/** DIMS's index of each dimension. */
const DIM_AT: Readonly<Record<string, number>> = Object.fromEntries(DIMS.map((d, i) => [d, i]));

/** Dimension `d` of `dims` as a list, when it is one (a listed dims object whose record is not made yet). */
export function listOf(dims: object | undefined, d: Dim | string): DimList | undefined {
  if (dims === undefined) return undefined;
  const s = SLOTS.get(dims);
  if (s === undefined) return undefined;
  const i = DIM_AT[d];
  if (i === undefined) return undefined;
  const x = s[i];
  return x instanceof DimList ? x : undefined;
}

/** The slots of a listed dims object (undefined for any other object), by DIMS index: its lists, or records once made. Changing one changes the object's dimension. */
export function slotsOf(dims: object): Array<DimList | Record<string, Stat>> | undefined {
  return SLOTS.get(dims);
}

/**
 * `capDim` on a list: the `cap` most used values (ties: most recent), in that order, by the same
 * stable sort of the same numbers in the same order.
 */
export function capList(l: DimList, cap: number): DimList {
  const values = l.values;
  if (values.length <= cap) return l;
  const s = l.stats;
  const order = values.map((_, i) => i);
  order.sort((a, b) => s[b * 4]! - s[a * 4]! || s[b * 4 + 3]! - s[a * 4 + 3]!);
  const outV = new Array<string>(cap);
  const outS = new Array<number>(cap * 4);
  for (let i = 0; i < cap; i++) {
    const k = order[i]!;
    outV[i] = values[k]!;
    outS[i * 4] = s[k * 4]!;
    outS[i * 4 + 1] = s[k * 4 + 1]!;
    outS[i * 4 + 2] = s[k * 4 + 2]!;
    outS[i * 4 + 3] = s[k * 4 + 3]!;
  }
  return new DimList(outV, outS);
}

/**
 * `ageDim(list's record, f, horizonStart, cap)` as a new list; undefined when a kept value could
 * be an array index (then age the record). `inPlace`: the list is the caller's alone (a store's
 * fresh decode, handed over): its arrays are aged and cut in place, not copied (a warm day ages
 * every value of every stored profile it touches, 441k on the realistic day: copied, that was
 * ~17 MB of arrays made only to be dropped); `l` must not be used afterwards. Either way `l` is
 * left as it was when undefined is returned.
 */
export function ageList(l: DimList, f: number, horizonStart: number, cap: number, inPlace = false): DimList | undefined {
  const values = l.values;
  const s = l.stats;
  let kept = 0;
  for (let i = 0, o = 3; i < values.length; i++, o += 4) {
    if (s[o]! < horizonStart) continue;
    // Checked before anything is changed (the caller then ages the record, read from `l`).
    if (inPlace && indexLike(values[i]!)) return undefined;
    kept++;
  }
  if (inPlace) {
    // Kept values move down over dropped ones (k <= i: nothing is overwritten before it is read).
    for (let i = 0, o = 0, k = 0; i < values.length; i++, o += 4) {
      if (s[o + 3]! < horizonStart) continue;
      const q = k * 4;
      values[k] = values[i]!;
      s[q] = s[o]! * f;
      s[q + 1] = s[o + 1]! * f;
      s[q + 2] = Math.max(s[o + 2]!, horizonStart);
      s[q + 3] = s[o + 3]!;
      k++;
    }
    values.length = kept;
    s.length = kept * 4;
    return capList(new DimList(values, s), cap);
  }
  // Made at their size: not grown value by value.
  const outV = new Array<string>(kept);
  const outS = new Array<number>(kept * 4);
  for (let i = 0, o = 0, k = 0; i < values.length; i++, o += 4) {
    if (s[o + 3]! < horizonStart) continue;
    const v = values[i]!;
    if (indexLike(v)) return undefined;
    outV[k] = v;
    outS[k * 4] = s[o]! * f;
    outS[k * 4 + 1] = s[o + 1]! * f;
    outS[k * 4 + 2] = Math.max(s[o + 2]!, horizonStart);
    outS[k * 4 + 3] = s[o + 3]!;
    k++;
  }
  return capList(new DimList(outV, outS), cap);
}
