/**
 * Calls and errors per hour index (hours since 1970) of one identity, as sorted triples
 * [hour, calls, errors] in one typed array: 12 bytes an hour where a Map<number, number> per
 * count took 30-60 (the accumulator's largest per-identity cost before). Records arrive mostly in
 * time order, so an hour is nearly always the last one or a new last one; others are found by a
 * binary search and inserted in place.
 *
 * Hours and counts are unsigned 32-bit integers while they fit (hours until the year 491,000;
 * over four billion calls an hour for one identity): anything else (a negative or fractional hour,
 * a larger count) moves the whole table to 64-bit floats, exact for every count a scan can reach.
 */
export class HourCounts {
  private a: Uint32Array | Float64Array = EMPTY;
  /** Triples used. */
  private n = 0;

  /** Hours counted. */
  get size(): number {
    return this.n;
  }

  /** Add `calls` calls and `errors` errors to `hour`. */
  add(hour: number, calls: number, errors: number): void {
    let a = this.a;
    const n = this.n;
    let i = 3 * (n - 1);
    if (n > 0 && a[i] === hour) {
      // The hour being filled (the common case).
    } else if (n === 0 || hour > a[i]!) {
      i = 3 * n;
      a = this.room(hour, calls, errors);
      a[i] = hour;
      a[i + 1] = 0;
      a[i + 2] = 0;
      this.n = n + 1;
    } else {
      // Earlier than the last hour: binary search.
      let lo = 0,
        hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (a[3 * mid]! < hour) lo = mid + 1;
        else hi = mid;
      }
      i = 3 * lo;
      if (a[i] !== hour) {
        a = this.room(hour, calls, errors);
        a.copyWithin(i + 3, i, 3 * n);
        a[i] = hour;
        a[i + 1] = 0;
        a[i + 2] = 0;
        this.n = n + 1;
      }
    }
    const c = a[i + 1]! + calls;
    const e = a[i + 2]! + errors;
    if (a instanceof Uint32Array && (c > 0xffffffff || e > 0xffffffff || !Number.isInteger(c) || !Number.isInteger(e))) a = this.widen();
    a[i + 1] = c;
    a[i + 2] = e;
  }

  /** The table with room for one more triple, widened first if `hour` (or a count) does not fit 32 bits. */
  private room(hour: number, calls: number, errors: number): Uint32Array | Float64Array {
    let a = this.a;
    if (a instanceof Uint32Array && !(fitsU32(hour) && fitsU32(calls) && fitsU32(errors))) a = this.widen();
    const need = 3 * (this.n + 1);
    if (need <= a.length) return a;
    // Grow by half (four hours at first: 48 bytes, kept inside the V8 heap).
    const cap = 3 * Math.max(4, this.n + (this.n >> 1) + 1);
    const out = a instanceof Uint32Array ? new Uint32Array(cap) : new Float64Array(cap);
    out.set(a.subarray(0, 3 * this.n));
    this.a = out;
    return out;
  }

  private widen(): Float64Array {
    const out = new Float64Array(Math.max(this.a.length, 12));
    out.set(this.a.subarray(0, 3 * this.n));
    this.a = out;
    return out;
  }

  /** Calls per hour (every hour counted) and errors per hour (hours with errors), in hour order. */
  toMaps(): { calls: Map<number, number>; errors: Map<number, number> } {
    const calls = new Map<number, number>();
    const errors = new Map<number, number>();
    const a = this.a;
    for (let i = 0; i < 3 * this.n; i += 3) {
      calls.set(a[i]!, a[i + 1]!);
      if (a[i + 2]! !== 0) errors.set(a[i]!, a[i + 2]!);
    }
    return { calls, errors };
  }
}

const EMPTY = new Uint32Array(0);

function fitsU32(x: number): boolean {
  return x >= 0 && x <= 0xffffffff && Number.isInteger(x);
}
