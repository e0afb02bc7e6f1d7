/**
 * Calls and errors per hour index (hours since 1970) of one identity, as sorted triples
 * [hour, calls, errors] in one plain array (small integers: 8 bytes each, exact doubles beyond):
 * 24 bytes an hour where a Map<number, number> per count took 30-60 (the accumulator's largest
 * per-identity cost before). Records arrive mostly in time order, so an hour is nearly always the
 * last one or a new last one; others are found by a binary search and inserted in place.
 */
export class HourCounts {
  private readonly a: number[] = [];

  /** Hours counted. */
  get size(): number {
    return this.a.length / 3;
  }

  /** Add `calls` calls and `errors` errors to `hour`. */
  add(hour: number, calls: number, errors: number): void {
    const a = this.a;
    const len = a.length;
    let i = len - 3;
    if (len > 0 && a[i] === hour) {
      // The hour being filled (the common case).
    } else if (len === 0 || hour > a[i]!) {
      a.push(hour, calls, errors);
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
        // Insert in place (splice allocated a result array, and often a new store, per insert).
        a.push(0, 0, 0);
        for (let k = len - 1; k >= i; k--) a[k + 3] = a[k]!;
        a[i] = hour;
        a[i + 1] = calls;
        a[i + 2] = errors;
        return;
      }
    }
    a[i + 1]! += calls;
    a[i + 2]! += errors;
  }

  /** Calls per hour (every hour counted) and errors per hour (hours with errors), in hour order. */
  toMaps(): { calls: Map<number, number>; errors: Map<number, number> } {
    return { calls: this.calls(), errors: this.errors() };
  }

  /** Calls per hour, every hour counted, in hour order (one Map: the accumulator asks for each apart). */
  calls(): Map<number, number> {
    const calls = new Map<number, number>();
    const a = this.a;
    for (let i = 0; i < a.length; i += 3) calls.set(a[i]!, a[i + 1]!);
    return calls;
  }

  /** Errors per hour, hours with errors only, in hour order. */
  errors(): Map<number, number> {
    const errors = new Map<number, number>();
    const a = this.a;
    for (let i = 0; i < a.length; i += 3) if (a[i + 2]! !== 0) errors.set(a[i]!, a[i + 2]!);
    return errors;
  }
}
