/**
 * Lossless compact form of a baseline Profile in the store file.
 *
 * Baselines are most of the store (a 10,000-identity store is tens of MB), and most of a
 * profile is its dimension stats `value: [count, errors, firstMs, lastMs]` with two 13-digit
 * epoch-ms times each. On disk a packed profile replaces `dims`, `hourly` and `days` by
 *
 *   "packed": { "t0": <ms>, "dims": { "api": [value, count, errors, first, last-first, ...] },
 *               "hourly": [hour, calls, errors, hourDelta, calls, errors, ...], "days": [day, dayDelta, ...] }
 *
 * with times in seconds relative to t0 (`first`) or to the value's own first sighting
 * (`last-first`), fractional when not whole seconds, and sorted integer series delta-encoded.
 * That part is then deflated and stored as base64 (`"packed": "<base64>"`): the per-value
 * statistics are the bulk of the store and compress to about two thirds even with base64; the
 * fields an operator looks for (key, type, arn, first, last, event counts) stay readable.
 * Decoding restores exactly the same numbers (times are integer milliseconds; a profile holding a
 * non-integer time is simply stored unpacked). Both the deflated and the plain object form of
 * `packed` are read.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { DIMS, statRecord, type Profile, type Stat } from "../baseline/profile.js";
import { DimList, listOf, listedDims } from "../baseline/dim-list.js";

/** Whether `names` are `want`, in that order. */
function sameNames(names: readonly string[], want: readonly string[]): boolean {
  if (names.length !== want.length) return false;
  for (let i = 0; i < names.length; i++) if (names[i] !== want[i]) return false;
  return true;
}

export interface PackedPart {
  t0: number;
  dims: Record<string, Array<string | number>>;
  hourly: number[];
  days: number[];
}

const isInt = Number.isSafeInteger;

/**
 * The packed JSON form of a profile, or undefined when it cannot be packed losslessly (then store
 * it as is). `strict`: undefined too for a statistic that is not four finite numbers, or an hourly
 * row that is not three.
 */
export function packProfile(p: Profile, deflate = true, strict = false): Record<string, unknown> | undefined {
  const t0 = isInt(p.first) ? p.first : 0;
  const dims: Record<string, Array<string | number>> = {};
  for (const d of Object.keys(p.dims)) {
    const rec = p.dims[d as keyof Profile["dims"]];
    // Object.keys, not for-in: the same keys in the same order (a record's own values: it has no
    // inherited enumerable ones), without for-in's check that each key is still there; and the
    // flat array made at its size, not grown push by push.
    const keys = rec === undefined || rec === null ? [] : Object.keys(rec);
    const flat = new Array<string | number>(keys.length * 5);
    for (let i = 0, o = 0; i < keys.length; i++, o += 5) {
      const v = keys[i]!;
      const s = rec[v]!;
      // strict: anything but four finite numbers too (the caller then says what is wrong).
      if (strict && (!Array.isArray(s) || s.length !== 4 || !Number.isFinite(s[0]) || !Number.isFinite(s[1]))) return undefined;
      if (!isInt(s[2]) || !isInt(s[3])) return undefined;
      flat[o] = v;
      flat[o + 1] = s[0];
      flat[o + 2] = s[1];
      flat[o + 3] = (s[2] - t0) / 1000;
      flat[o + 4] = (s[3] - s[2]) / 1000;
    }
    dims[d] = flat;
  }
  const hourly: number[] = [];
  let prevH = 0;
  for (const h of p.hourly) {
    // strict: a row that is not [hour, calls, errors] of finite numbers too.
    if (strict && (!Array.isArray(h) || h.length !== 3 || !Number.isFinite(h[1]) || !Number.isFinite(h[2]))) return undefined;
    if (!isInt(h[0])) return undefined;
    hourly.push(h[0] - prevH, h[1], h[2]);
    prevH = h[0];
  }
  const days: number[] = [];
  let prevD = 0;
  for (const d of p.days) {
    if (!isInt(d)) return undefined;
    days.push(d - prevD);
    prevD = d;
  }
  const out = unpackedFields(p);
  const part: PackedPart = { t0, dims, hourly, days };
  out.packed = deflate ? deflatePart(JSON.stringify(part)).toString("base64") : part;
  return out;
}

/**
 * A profile's fields other than those a packed part holds (`dims`, `hourly`, `days`), in its
 * order: the readable fields of its stored entry (a loop: object rest/spread is slow on the
 * scan's hot path).
 */
export function unpackedFields(p: Profile): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const src = p as unknown as Record<string, unknown>;
  for (const k of Object.keys(src)) if (k !== "dims" && k !== "hourly" && k !== "days") out[k] = src[k];
  return out;
}

/**
 * Packed parts taken apart into numbers and text, to be written as JSON elsewhere (a worker
 * thread: encode-off-thread.ts), by `partJson`. `takePart` reads a profile as packProfile(p,
 * false, true) does, and appends, in `nums`: t0, the number of dimensions, for each the length of
 * its name and its number of values, then [length of the value, count, errors, first, last] per
 * value, the number of hourly rows then [hour, calls, errors] per row, the number of days then the
 * days; in `chars`, for each profile one segment of its strings end to end (for each dimension
 * its name, then its values). The strings are kept in a buffer, off the JS heap: a scan's encoder
 * holds the text of every profile it took until its worker has written it (realistic warm day:
 * 15.5M characters), which as strings the garbage collector copied from the young generation to
 * the old, and posting a batch's string to the worker copied again. A segment is a 4-byte header
 * (little-endian: the byte length, top bit set for UTF-16) then the text as UTF-8, or as UTF-16
 * code units where it is not well-formed (a lone surrogate, which UTF-8 cannot hold): any string
 * reads back the same (`textOf`).
 */
export class PartData {
  nums = new Float64Array(1024);
  n = 0;
  chars = Buffer.allocUnsafeSlow(64 * 1024);
  /** Bytes used in `chars`. */
  len = 0;

  /** `nums` with room for `k` more numbers after the first `n` (a bigger copy when needed). */
  room(n: number, k: number): Float64Array {
    if (n + k <= this.nums.length) return this.nums;
    const bigger = new Float64Array(Math.max(this.nums.length * 2, n + k));
    bigger.set(this.nums.subarray(0, n));
    this.nums = bigger;
    return bigger;
  }

  /** Append `s` to the strings, as one segment. */
  put(s: string): void {
    const wide = !(s as unknown as { isWellFormed(): boolean }).isWellFormed();
    // At most 3 bytes of UTF-8 per UTF-16 code unit.
    const need = this.len + 4 + s.length * (wide ? 2 : 3);
    if (need > this.chars.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.chars.length * 2, need));
      this.chars.copy(bigger, 0, 0, this.len);
      this.chars = bigger;
    }
    const n = this.chars.write(s, this.len + 4, wide ? "utf16le" : "utf8");
    this.chars.writeUInt32LE(wide ? (n | WIDE) >>> 0 : n, this.len);
    this.len += 4 + n;
  }

  /** The strings of the segments from byte `from` to `to` (all by default), end to end. */
  text(from = 0, to = this.len): string {
    return textOf(this.chars, from, to);
  }
}

/** The top bit of a segment's header: its text is UTF-16 (see PartData). */
const WIDE = 0x80000000;

/** The strings of the segments of `chars` (PartData) from byte `from` to `to`, end to end. */
export function textOf(chars: Uint8Array, from: number, to: number): string {
  const b = Buffer.isBuffer(chars) ? chars : Buffer.from(chars.buffer, chars.byteOffset, chars.byteLength);
  let out = "";
  for (let at = from; at < to; ) {
    const h = b.readUInt32LE(at);
    const n = h & ~WIDE;
    out += b.toString(h & WIDE ? "utf16le" : "utf8", at + 4, at + 4 + n);
    at += 4 + n;
  }
  return out;
}

/**
 * Append the packed part of `p` to `into` (see PartData), or return false (`into` as it was)
 * where packProfile(p, false, true) gives undefined.
 */
export function takePart(p: Profile, into: PartData): boolean {
  // Written past `into.n`, which moves (and the text is put into `into`) only once the whole part is taken.
  let n = into.n;
  let text = "";
  let nums = into.room(n, 2);
  const t0 = isInt(p.first) ? p.first : 0;
  const dimNames = Object.keys(p.dims);
  nums[n++] = t0;
  nums[n++] = dimNames.length;
  for (const d of dimNames) {
    const list = listOf(p.dims, d);
    if (list !== undefined) {
      // A dimension kept as a list (dim-list.ts): its values and stats as its record holds them.
      const values = list.values;
      const s = list.stats;
      nums = into.room(n, 2 + values.length * 5);
      nums[n++] = d.length;
      nums[n++] = values.length;
      for (let i = 0, o = 0; i < values.length; i++, o += 4) {
        const k = values[i]!;
        const f = s[o + 2]!;
        const l = s[o + 3]!;
        if (!Number.isFinite(s[o]) || !Number.isFinite(s[o + 1]) || !isInt(f) || !isInt(l)) return false;
        nums[n] = k.length;
        nums[n + 1] = s[o]!;
        nums[n + 2] = s[o + 1]!;
        nums[n + 3] = f;
        nums[n + 4] = l;
        n += 5;
      }
      // The values end to end in one string (join), not one concatenation per value: a rope of
      // thousands of pieces per batch that the post to the worker then flattens.
      text += d;
      if (values.length > 0) text += values.join("");
      continue;
    }
    const rec = p.dims[d as keyof Profile["dims"]];
    const keys = rec === undefined || rec === null ? [] : Object.keys(rec);
    nums = into.room(n, 2 + keys.length * 5);
    nums[n++] = d.length;
    nums[n++] = keys.length;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const s = rec[k]!;
      if (!Array.isArray(s) || s.length !== 4 || !Number.isFinite(s[0]) || !Number.isFinite(s[1])) return false;
      const f = s[2];
      const l = s[3];
      if (!isInt(f) || !isInt(l)) return false;
      nums[n] = k.length;
      nums[n + 1] = s[0];
      nums[n + 2] = s[1];
      nums[n + 3] = f;
      nums[n + 4] = l;
      n += 5;
    }
    text += d;
    if (keys.length > 0) text += keys.join("");
  }
  const hourly = p.hourly;
  nums = into.room(n, 1 + hourly.length * 3);
  nums[n++] = hourly.length;
  for (const h of hourly) {
    if (!Array.isArray(h) || h.length !== 3 || !Number.isFinite(h[1]) || !Number.isFinite(h[2])) return false;
    if (!isInt(h[0])) return false;
    nums[n] = h[0];
    nums[n + 1] = h[1];
    nums[n + 2] = h[2];
    n += 3;
  }
  const days = p.days;
  nums = into.room(n, 1 + days.length);
  nums[n++] = days.length;
  for (const d of days) {
    if (!isInt(d)) return false;
    nums[n++] = d;
  }
  into.n = n;
  into.put(text);
  return true;
}

/**
 * The JSON of the packed part that `takePart` appended at `nums[i]`, its strings at `text[j]` (PartData.text): exactly `JSON.stringify(packProfile(p, false, true).packed)` (the same objects,
 * made the same way, from the same numbers and strings), and where the next one starts.
 * Self-contained: the worker thread runs its source (encode-off-thread.ts).
 */
export function partJson(nums: ArrayLike<number>, i: number, text: string, j: number): { json: string; i: number; j: number } {
  const t0 = nums[i++]!;
  const nd = nums[i++]!;
  const dims: Record<string, Array<string | number>> = {};
  for (let k = 0; k < nd; k++) {
    const d = text.slice(j, (j += nums[i++]!));
    const nv = nums[i++]!;
    const flat = new Array<string | number>(nv * 5);
    for (let q = 0, o = 0; q < nv; q++, o += 5) {
      flat[o] = text.slice(j, (j += nums[i]!));
      const f = nums[i + 3]!;
      flat[o + 1] = nums[i + 1]!;
      flat[o + 2] = nums[i + 2]!;
      flat[o + 3] = (f - t0) / 1000;
      flat[o + 4] = (nums[i + 4]! - f) / 1000;
      i += 5;
    }
    dims[d] = flat;
  }
  const nh = nums[i++]!;
  const hourly: number[] = [];
  let prevH = 0;
  for (let k = 0; k < nh; k++) {
    const h = nums[i]!;
    hourly.push(h - prevH, nums[i + 1]!, nums[i + 2]!);
    prevH = h;
    i += 3;
  }
  const nday = nums[i++]!;
  const days: number[] = [];
  let prevD = 0;
  for (let k = 0; k < nday; k++) {
    const d = nums[i++]!;
    days.push(d - prevD);
    prevD = d;
  }
  return { json: JSON.stringify({ t0, dims, hourly, days }), i, j };
}

/** Bytes of the whole stream from the smallest window that holds the input (see deflatePart). */
const MIN_LOOKAHEAD = 262;

/**
 * `deflateRawSync(json, { level: 3 })`, the same bytes, for less. A profile's packed part is a few
 * KB at most, and zlib's default state (a 32 KB window, two 64 KB tables and their buffers) is
 * most of what each call costs: with a window that still holds the whole input
 * (2^windowBits >= length + MIN_LOOKAHEAD) no match is ever cut by the window, so the output is
 * byte for byte the same (test/store/pack.test.ts compares them), and the output buffer is sized
 * to the input instead of 16 KB.
 */
export function deflatePart(json: string): Buffer {
  const input = Buffer.from(json);
  let windowBits = 9;
  while (windowBits < 15 && 1 << windowBits < input.length + MIN_LOOKAHEAD) windowBits++;
  return deflateRawSync(input, { level: 3, windowBits, chunkSize: Math.min(16 * 1024, Math.max(1024, input.length)) });
}

/** Inflate a packed part (its base64): an output buffer sized to what deflated JSON of this size usually gives, not 16 KB. */
export function inflatePart(b64: string): Buffer {
  const bytes = Buffer.from(b64, "base64");
  return inflateRawSync(bytes, { chunkSize: Math.min(64 * 1024, Math.max(1024, bytes.length * 4)) });
}

function fail(msg: string): never {
  throw new Error(msg);
}

/**
 * Plain profile JSON from its packed JSON form (the reverse of packProfile). Throws with a
 * description when the packed part is malformed. Input that is not packed is returned unchanged.
 */
export function unpackProfile(o: unknown): unknown {
  if (typeof o !== "object" || o === null || !("packed" in o)) return o;
  const src = o as Record<string, unknown>;
  const stored = src.packed;
  let packed: unknown = stored;
  if (typeof stored === "string") {
    try {
      packed = JSON.parse(inflatePart(stored).toString("utf8"));
    } catch (e) {
      fail(`packed: cannot be inflated (${(e as Error).message})`);
    }
  }
  return unpackFields(src, packed);
}

/**
 * The plain profile JSON from a packed profile's other fields and its packed part (parsed, not
 * deflated): unpackProfile once the part is inflated. A `packed` field among `src` is left out.
 * `owned`: `src` is a new object without `packed` (the fields alone, just parsed): the profile is
 * made in it rather than in a copy (the same fields in the same order). `listed`: the part holds
 * no two equal values in a dimension and each dimension's values in its record's order (as
 * trailhound writes it): the dimensions may be kept as lists (dim-list.ts).
 */
export function unpackFields(src: Record<string, unknown>, packed: unknown, owned = false, listed = false): Record<string, unknown> {
  // The other fields, in their order (a loop: object rest/spread is slow on the scan's hot path).
  let out: Record<string, unknown>;
  if (owned && !("packed" in src)) out = src;
  else {
    out = {};
    for (const k of Object.keys(src)) if (k !== "packed") out[k] = src[k];
  }
  if (typeof packed !== "object" || packed === null) fail("packed: expected an object or its deflated base64");
  const pk = packed as Partial<PackedPart>;
  const t0 = pk.t0;
  if (typeof t0 !== "number" || !Number.isFinite(t0)) fail("packed.t0: expected a number");
  if (typeof pk.dims !== "object" || pk.dims === null || Array.isArray(pk.dims)) fail("packed.dims: expected an object");
  if (!Array.isArray(pk.hourly) || pk.hourly.length % 3 !== 0) fail("packed.hourly: expected [hourDelta, calls, errors, ...]");
  if (!Array.isArray(pk.days)) fail("packed.days: expected an array");
  const dimNames = Object.keys(pk.dims);
  // Listed: the dimensions are kept as lists (dim-list.ts) when the part holds the twelve in DIMS
  // order (as every profile a scan merged): the profile's dims read the same.
  const asLists = listed && sameNames(dimNames, DIMS);
  const dims: Record<string, Record<string, Stat>> = {};
  const lists: DimList[] = [];
  for (const d of dimNames) {
    const flat: unknown = (pk.dims as Record<string, unknown>)[d];
    if (!Array.isArray(flat) || flat.length % 5 !== 0) fail(`packed.dims.${d}: expected [value, count, errors, first, last-first, ...]`);
    // A list (values and their stats side by side) or a record, from one loop over the entries.
    const m = flat.length / 5;
    const values: string[] | undefined = asLists ? new Array<string>(m) : undefined;
    const stats: number[] | undefined = asLists ? new Array<number>(m * 4) : undefined;
    // Prototype-less: a value "__proto__" is stored as a value, not as the record's prototype.
    const rec: Record<string, Stat> | undefined = asLists ? undefined : statRecord();
    for (let i = 0, k = 0; i < flat.length; i += 5, k++) {
      const v = flat[i];
      const n = flat[i + 1];
      const e = flat[i + 2];
      const f = flat[i + 3];
      const dl = flat[i + 4];
      if (typeof v !== "string" || typeof n !== "number" || typeof e !== "number" || typeof f !== "number" || typeof dl !== "number") {
        fail(`packed.dims.${d}[${k}]: expected value, count, errors, first, last-first`);
      }
      const first = t0 + Math.round(f * 1000);
      const last = first + Math.round(dl * 1000);
      if (rec !== undefined) rec[v] = [n, e, first, last];
      else {
        values![k] = v;
        stats![k * 4] = n;
        stats![k * 4 + 1] = e;
        stats![k * 4 + 2] = first;
        stats![k * 4 + 3] = last;
      }
    }
    if (rec !== undefined) dims[d] = rec;
    else lists.push(new DimList(values!, stats!));
  }
  const hourly: Array<[number, number, number]> = [];
  let h = 0;
  for (let i = 0; i < pk.hourly.length; i += 3) {
    const dh = pk.hourly[i];
    const c = pk.hourly[i + 1];
    const e = pk.hourly[i + 2];
    if (typeof dh !== "number" || typeof c !== "number" || typeof e !== "number") fail(`packed.hourly[${i / 3}]: expected numbers`);
    h += dh;
    hourly.push([h, c, e]);
  }
  const days: number[] = [];
  let day = 0;
  for (const dd of pk.days) {
    if (typeof dd !== "number") fail("packed.days: expected numbers");
    day += dd;
    days.push(day);
  }
  out.days = days;
  out.dims = asLists ? listedDims(lists) : dims;
  out.hourly = hourly;
  return out;
}
