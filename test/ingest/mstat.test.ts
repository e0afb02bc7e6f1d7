import { describe, expect, it } from "vitest";
import type { WinStat } from "../../src/detectors/types.js";
import { addToWindow, BUCKET_MS, MStat, MOne, type WinSide } from "../../src/ingest/accumulator.js";

/**
 * MStat (a value's window counts and kept ids) against its earlier form, kept here as the oracle:
 * three arrays a value (slots, times, refs) where MStat now keeps one array of times and slots and
 * its first id in fields. Random events, in and out of order, through a moving window (prunes),
 * failures, full buckets' second slots aside; then windowStat at several window starts and a
 * value absorbing others (the service dimension), and MStat.absorbedStat of the same sides: the
 * same counts, bounds, ids and sessions.
 */
describe("MStat keeps what its earlier three-array form kept", () => {
  it("gives the same window stats for random events, prunes and absorbs", () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const t0 = Date.UTC(2024, 0, 1);
    let ones = 0,
      stats = 0;
    for (let round = 0; round < 300; round++) {
      const values = 1 + Math.floor(rnd() * 4);
      const now: MStat[] = [];
      const old: OldMStat[] = [];
      // The accumulator's form: a value seen once in the window is an MOne, an MStat from the second event.
      const sides: Array<WinSide | undefined> = [];
      for (let v = 0; v < values; v++) {
        now.push(new MStat());
        old.push(new OldMStat());
        sides.push(undefined);
      }
      const events = Math.floor(rnd() * (round % 3 === 0 ? 400 : 30));
      const window = (1 + Math.floor(rnd() * 36)) * BUCKET_MS;
      let newest = t0;
      for (let i = 0; i < events; i++) {
        // Mostly forwards, sometimes back (out of order), sometimes far ahead (the window moves).
        const r = rnd();
        const t = r < 0.1 ? newest - Math.floor(rnd() * 3 * window) : newest + Math.floor(rnd() * (r > 0.97 ? 4 * window : 20 * 60_000));
        if (t > newest) newest = t;
        const wmin = Math.floor((newest - window) / BUCKET_MS) * BUCKET_MS;
        const v = Math.floor(rnd() * values);
        const bucket = Math.floor(t / BUCKET_MS);
        const failed = rnd() < 0.2;
        const denied = failed && rnd() < 0.5;
        const session = rnd() < 0.5 ? `s${Math.floor(rnd() * 5)}` : undefined;
        now[v]!.window(bucket, t, `id-${i}`, failed, denied, wmin, session);
        old[v]!.window(bucket, t, `id-${i}`, failed, denied, wmin, session);
        sides[v] = addToWindow(sides[v], bucket, t, `id-${i}`, failed, denied, wmin, session);
      }
      const starts = [-Infinity, t0, newest - window, newest - window / 2, newest + 1];
      for (let v = 0; v < values; v++)
        for (const s of starts) {
          const a = new Map<string, string>();
          const b = new Map<string, string>();
          const c = new Map<string, string>();
          const want = old[v]!.windowStat(s, b);
          expect(now[v]!.windowStat(s, a)).toEqual(want);
          expect([...a]).toEqual([...b]);
          // Field order too (the report's JSON writes them in it).
          expect(JSON.stringify(sides[v]?.windowStat(s, c))).toBe(JSON.stringify(want));
          expect([...c]).toEqual([...b]);
        }
      // One value absorbing the others, as the service dimension does.
      const sumNow = new MStat();
      const sumOld = new OldMStat();
      for (let v = 0; v < values; v++) {
        sumNow.absorb(now[v]!);
        sumOld.absorb(old[v]!);
      }
      for (const s of starts) expect(sumNow.windowStat(s)).toEqual(sumOld.windowStat(s));
      // The same, absorbing the accumulator's sides (MOne or MStat).
      const sumSides = new MStat();
      for (const w of sides) if (w !== undefined) sumSides.absorb(w);
      for (const s of starts) expect(sumSides.windowStat(s)).toEqual(sumOld.windowStat(s));
      // And without that MStat (the services of a window: MStat.absorbedStat), the sessions noted alike.
      const present = sides.filter((w) => w !== undefined);
      for (const s of starts) {
        const a = new Map<string, string>();
        const b = new Map<string, string>();
        expect(JSON.stringify(MStat.absorbedStat(present, present.length, s, a))).toBe(JSON.stringify(sumSides.windowStat(s, b)));
        expect([...a]).toEqual([...b]);
      }
      ones += sides.filter((w) => w instanceof MOne).length;
      stats += sides.filter((w) => w instanceof MStat).length;
    }
    // Both forms were met.
    expect(ones).toBeGreaterThan(20);
    expect(stats).toBeGreaterThan(20);
  });
});

describe("MStat.absorbedStat", () => {
  it("gives what an MStat absorbing the same sides gives, ties in time included", () => {
    let seed = 777;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const t0 = Date.UTC(2024, 0, 1);
    let ties = 0;
    for (let round = 0; round < 300; round++) {
      const values = 1 + Math.floor(rnd() * 5);
      const sides: Array<WinSide | undefined> = new Array<WinSide | undefined>(values).fill(undefined);
      const events = Math.floor(rnd() * 60);
      const seen = new Set<number>();
      for (let i = 0; i < events; i++) {
        // Whole minutes over two hours: many events share a time, within and across values.
        const t = t0 + Math.floor(rnd() * 120) * 60_000;
        if (seen.has(t)) ties++;
        seen.add(t);
        const v = Math.floor(rnd() * values);
        const failed = rnd() < 0.3;
        sides[v] = addToWindow(sides[v], Math.floor(t / BUCKET_MS), t, `id-${i}`, failed, failed && rnd() < 0.5, t0, rnd() < 0.5 ? `s${i % 3}` : undefined);
      }
      const present = sides.filter((w) => w !== undefined);
      const sum = new MStat();
      for (const w of present) sum.absorb(w);
      for (const s of [-Infinity, t0, t0 + 30 * 60_000, t0 + 61 * 60_000, t0 + 3 * 3_600_000]) {
        const a = new Map<string, string>();
        const b = new Map<string, string>();
        expect(JSON.stringify(MStat.absorbedStat(present, present.length, s, a))).toBe(JSON.stringify(present.length > 0 ? sum.windowStat(s, b) : undefined));
        expect([...a]).toEqual([...b]);
      }
    }
    expect(ties).toBeGreaterThan(100);
  });
});

const SLOTS_EXACT = 8;
const SLOT_N = 2 ** 24;
const SLOT_BUCKETS = 2 ** 28;
const MAX_WIN_IDS = 5;
function slotBucket(v: number): number {
  return Math.floor(v / SLOT_N);
}

/** MStat as it was before bb041ae (src/ingest/accumulator.ts at 068defa), unchanged but for its name. */
class OldMStat {
  /**
   * One number per bucket, bucketIndex (start / BUCKET_MS) * SLOT_N + n (exact: below 2^53), in
   * an array of unboxed doubles: 8 bytes a bucket where [bucketIndex, n] pairs took 16. Ascending
   * most of the time; null until the value is seen in the window. A bucket whose count would reach
   * SLOT_N gets a second slot (counts are summed). Most values are seen in few buckets: the array
   * is allocated to its exact length until SLOTS_EXACT entries (push, with V8's slack, beyond).
   */
  private slots: number[] | null = null;
  /**
   * The buckets with failed or denied events, apart (most have none: a slot takes two numbers,
   * not four): flat [bucketIndex, err, denied, ...]; every bucket here is in `slots` too.
   */
  private errSlots: number[] | null = null;
  /**
   * Up to MAX_WIN_IDS earliest event times inside the moving window, ascending, the first `nIds`
   * of it (null: none). One long for the first id (most values keep one), MAX_WIN_IDS from the
   * second: grown one at a time, each id left two copies behind, long lived and so garbage in the
   * old generation.
   */
  private times: number[] | null = null;
  /** Their ids and role sessions (undefined without a session): [id, session, id, session, ...]. */
  private refs: Array<string | undefined> | null = null;
  private nIds = 0;

  window(bucket: number, t: number, id: string, failed: boolean, denied: boolean, wmin: number, session?: string): void {
    this.count(bucket, 1, failed ? 1 : 0, denied ? 1 : 0, wmin);
    this.noteId(t, id, session);
  }

  /** Add counts to a bucket's slot. */
  private count(bucket: number, n: number, err: number, den: number, wmin: number): void {
    if (err !== 0 || den !== 0) this.countErr(bucket, err, den);
    if (!(bucket >= -SLOT_BUCKETS && bucket < SLOT_BUCKETS)) throw new RangeError(`MStat: bucket ${bucket} out of range (an event time before -3131 or after 7074)`);
    const lo = bucket * SLOT_N;
    let s = this.slots;
    if (s === null) {
      this.slots = [lo + n];
      return;
    }
    let i = s.length - 1;
    // Usually the last slot; otherwise search backwards (records are roughly ordered).
    while (i >= 0 && !(s[i]! >= lo && s[i]! < lo + SLOT_N)) i--;
    if (i >= 0 && s[i]! + n < lo + SLOT_N) {
      s[i]! += n;
      return;
    }
    // A new bucket (or a full count: a second slot for the bucket, windowStat sums them).
    // The window moved on for this value: drop what fell out before growing.
    if (i < 0 && wmin > -Infinity && s.length >= 2 && slotBucket(s[0]!) * BUCKET_MS < wmin) s = this.prune(wmin);
    const len = s.length;
    if (len < SLOTS_EXACT) {
      const out = new Array<number>(len + 1);
      for (let k = 0; k < len; k++) out[k] = s[k]!;
      out[len] = lo + n;
      this.slots = out;
    } else s.push(lo + n);
  }

  private countErr(bucket: number, err: number, den: number): void {
    const e = this.errSlots;
    if (e === null) {
      this.errSlots = [bucket, err, den];
      return;
    }
    let i = e.length - 3;
    while (i >= 0 && e[i] !== bucket) i -= 3;
    if (i >= 0) {
      e[i + 1]! += err;
      e[i + 2]! += den;
    } else e.push(bucket, err, den);
  }

  /** Keep the MAX_WIN_IDS earliest (time, id) pairs, sorted by time. */
  private noteId(t: number, id: string, session: string | undefined): void {
    let times = this.times;
    let refs = this.refs;
    let n = this.nIds;
    if (times !== null && refs !== null && n >= MAX_WIN_IDS) {
      if (!(t < times[n - 1]!)) return;
      n--; // the latest gives way
    } else if (times === null || refs === null || n === times.length) {
      const cap = n === 0 ? 1 : MAX_WIN_IDS;
      const nt = new Array<number>(cap);
      const nr = new Array<string | undefined>(2 * cap);
      for (let k = 0; k < n; k++) {
        nt[k] = times![k]!;
        nr[2 * k] = refs![2 * k];
        nr[2 * k + 1] = refs![2 * k + 1];
      }
      this.times = times = nt;
      this.refs = refs = nr;
    }
    this.nIds = n + 1;
    let i = n;
    while (i > 0 && times[i - 1]! > t) {
      times[i] = times[i - 1]!;
      refs[2 * i] = refs[2 * i - 2];
      refs[2 * i + 1] = refs[2 * i - 1];
      i--;
    }
    times[i] = t;
    refs[2 * i] = id;
    refs[2 * i + 1] = session;
  }

  /** Add another value's window counts into this one (deriving a coarser dimension). */
  absorb(o: OldMStat): void {
    const s = o.slots;
    if (s !== null)
      for (let i = 0; i < s.length; i++) {
        const b = slotBucket(s[i]!);
        this.count(b, s[i]! - b * SLOT_N, 0, 0, -Infinity);
      }
    const e = o.errSlots;
    if (e !== null) for (let i = 0; i < e.length; i += 3) this.countErr(e[i]!, e[i + 1]!, e[i + 2]!);
    const times = o.times;
    const refs = o.refs;
    if (times !== null && refs !== null) for (let i = 0; i < o.nIds; i++) this.noteId(times[i]!, refs[2 * i]!, refs[2 * i + 1]);
  }

  /** Drop the slots and ids before `wmin`; the slots left. */
  private prune(wmin: number): number[] {
    const s = this.slots ?? [];
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) if (slotBucket(s[i]!) * BUCKET_MS >= wmin) out.push(s[i]!);
    this.slots = out;
    const e = this.errSlots;
    if (e !== null && e[0]! * BUCKET_MS < wmin) {
      const kept: number[] = [];
      for (let i = 0; i < e.length; i += 3) if (e[i]! * BUCKET_MS >= wmin) kept.push(e[i]!, e[i + 1]!, e[i + 2]!);
      this.errSlots = kept.length ? kept : null;
    }
    const times = this.times;
    const refs = this.refs;
    if (times !== null && refs !== null && times[0]! < wmin) {
      const nt: number[] = [];
      const nr: Array<string | undefined> = [];
      for (let i = 0; i < this.nIds; i++) {
        if (times[i]! < wmin) continue;
        nt.push(times[i]!);
        nr.push(refs[2 * i], refs[2 * i + 1]);
      }
      this.times = nt.length ? nt : null;
      this.refs = nt.length ? nr : null;
      this.nIds = nt.length;
    }
    return out;
  }

  /** Counts of this value inside [wStart, wEnd); notes the session of each listed id in `sessions`. */
  windowStat(wStart: number, sessions?: Map<string, string>): WinStat | undefined {
    let n = 0,
      err = 0,
      den = 0,
      first = Infinity,
      last = -Infinity;
    const s = this.slots ?? [];
    for (let i = 0; i < s.length; i++) {
      const k = slotBucket(s[i]!);
      const b = k * BUCKET_MS;
      if (b < wStart) continue;
      n += s[i]! - k * SLOT_N;
      if (b < first) first = b;
      if (b > last) last = b;
    }
    if (n === 0) return undefined;
    const e = this.errSlots ?? [];
    for (let i = 0; i < e.length; i += 3) {
      if (e[i]! * BUCKET_MS < wStart) continue;
      err += e[i + 1]!;
      den += e[i + 2]!;
    }
    const times = this.times ?? [];
    const refs = this.refs ?? [];
    const ids: string[] = [];
    let firstT = first,
      lastKept = -Infinity;
    for (let i = 0; i < this.nIds; i++) {
      if (times[i]! < wStart) continue;
      const id = refs[2 * i]!;
      if (ids.length === 0) firstT = times[i]!;
      lastKept = times[i]!;
      ids.push(id);
      const ss = refs[2 * i + 1];
      if (sessions && ss !== undefined) sessions.set(id, ss);
    }
    // Exact times come from the kept ids; bucket bounds are the fallback.
    const lastT = Math.max(last, ids.length ? lastKept : last);
    return { n, err, denied: den, first: firstT, last: lastT, ids };
  }
}
