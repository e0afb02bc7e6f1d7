import { freeInt32s, int32s } from "./int-pool.js";

/**
 * Calls and errors per hour index (hours since 1970) of one identity, as sorted triples
 * [hour, calls, errors] in one typed array: 12 bytes an hour (Int32Array) while every value fits
 * in 32 bits, 24 bytes (Float64Array, exact integers to 2^53) from the first one that does not.
 * A plain array took 24 bytes an hour plus its growth slack, on the V8 heap (whose headroom grows
 * with it); a Map<number, number> per count took 30-60. Records arrive mostly in time order, so an
 * hour is nearly always the last one or a new last one; others are found by a binary search and
 * inserted in place.
 */
export class HourCounts {
  private a: Int32Array | Float64Array = EMPTY;
  /** Numbers used in `a` (3 per hour). */
  private len = 0;

  /** Hours counted. */
  get size(): number {
    return this.len / 3;
  }

  /** Add `calls` calls and `errors` errors to `hour`. */
  add(hour: number, calls: number, errors: number): void {
    let a = this.a;
    const len = this.len;
    let i = len - 3;
    if (len > 0 && a[i] === hour) {
      // The hour being filled (the common case).
    } else if (len === 0 || hour > a[i]!) {
      i = len;
      a = this.room(hour, calls, errors);
      a[i] = hour;
      a[i + 1] = calls;
      a[i + 2] = errors;
      this.len = len + 3;
      return;
    } else {
      // Earlier than the last hour: binary search.
      let lo = 0,
        hi = len / 3 - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (a[3 * mid]! < hour) lo = mid + 1;
        else hi = mid;
      }
      i = 3 * lo;
      if (a[i] !== hour) {
        a = this.room(hour, calls, errors);
        a.copyWithin(i + 3, i, len);
        a[i] = hour;
        a[i + 1] = calls;
        a[i + 2] = errors;
        this.len = len + 3;
        return;
      }
    }
    const c = a[i + 1]! + calls;
    const e = a[i + 2]! + errors;
    if (a instanceof Int32Array && !(fits(c) && fits(e))) a = this.widen();
    a[i + 1] = c;
    a[i + 2] = e;
  }

  /** `a`, with room for one more hour and able to hold these values exactly. */
  private room(hour: number, calls: number, errors: number): Int32Array | Float64Array {
    let a = this.a;
    if (a instanceof Int32Array && !(fits(hour) && fits(calls) && fits(errors))) a = this.widen();
    if (this.len + 3 > a.length) {
      // Grow by half (at least 8 hours): records arrive an hour at a time.
      const cap = Math.max(24, 3 * Math.ceil((a.length / 3) * 1.5));
      const b = a instanceof Int32Array ? int32s(cap) : new Float64Array(cap);
      b.set(a.subarray(0, this.len));
      if (a instanceof Int32Array) freeInt32s(a);
      this.a = a = b;
    }
    return a;
  }

  /** Switch to exact doubles (a value beyond 32 bits). */
  private widen(): Float64Array {
    const a = this.a;
    const b = new Float64Array(Math.max(24, a.length));
    b.set(a.subarray(0, this.len));
    if (a instanceof Int32Array) freeInt32s(a);
    this.a = b;
    return b;
  }

  /** The counts as flat [hour, calls, errors, ...], hours ascending (a view of the array itself: read it, do not keep it). */
  triples(): ArrayLike<number> {
    return this.a.subarray(0, this.len);
  }

  /** Calls per hour (every hour counted) and errors per hour (hours with errors), in hour order. */
  toMaps(): { calls: Map<number, number>; errors: Map<number, number> } {
    return { calls: this.calls(), errors: this.errors() };
  }

  /** Calls per hour, every hour counted, in hour order (one Map: the accumulator asks for each apart). */
  calls(): Map<number, number> {
    const calls = new Map<number, number>();
    const a = this.a;
    for (let i = 0; i < this.len; i += 3) calls.set(a[i]!, a[i + 1]!);
    return calls;
  }

  /** Errors per hour, hours with errors only, in hour order. */
  errors(): Map<number, number> {
    const errors = new Map<number, number>();
    const a = this.a;
    for (let i = 0; i < this.len; i += 3) if (a[i + 2]! !== 0) errors.set(a[i]!, a[i + 2]!);
    return errors;
  }
}

const EMPTY = new Int32Array(0);

function fits(v: number): boolean {
  return (v | 0) === v;
}
