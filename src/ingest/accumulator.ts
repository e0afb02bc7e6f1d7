import type { Observed } from "../baseline/merge.js";
import type { Dim } from "../baseline/profile.js";
import { HOUR } from "../baseline/profile.js";
import type { EventFacts, IpKind, Principal, TrailEvent } from "../events/types.js";
import { KeyTarget, readsRequestParameters } from "./lean-facts.js";
import { KEY_CALLS, readsTargets, targetsOf } from "../events/targets.js";
export type { EventFacts };
import type { GeoInfo } from "../geo/types.js";
import type { Bucket, GeoPoint, IdentityWindow, RegionActivity, WinStat } from "../detectors/types.js";
import { isRegionalApi } from "../events/regions.js";
import { HourCounts } from "./hour-counts.js";
import { freeInt32s, int32s, resetInt32Pool } from "./int-pool.js";

/** Width of the activity buckets (and the granularity of window starts). */
export const BUCKET_MS = 10 * 60_000;
export const MAX_CANDIDATES = 5000;
export const MAX_GEO_POINTS = 5000;
const MAX_WIN_IDS = 5;
/** MStat slots are allocated to their exact length up to this many buckets. */
const SLOTS_EXACT = 8;
/** An MStat slot packs a bucket's index and its count: index * SLOT_N + n, n < SLOT_N. */
const SLOT_N = 2 ** 24;
/** Bucket indexes packed exactly (|index| * SLOT_N below 2^52): 10-minute buckets to the year 7074. */
const SLOT_BUCKETS = 2 ** 28;
function slotBucket(v: number): number {
  return Math.floor(v / SLOT_N);
}
/** MStat.errSlots are copied to their exact length up to this many numbers (then grown by `push`). */
const ERR_EXACT = 12;
/** Event ids kept per window bucket (the evidence of its volume), at most MAX_BUCKET_IDS_PER_API of one API. */
const MAX_BUCKET_IDS = 40;
const MAX_BUCKET_IDS_PER_API = 4;

const READ_PREFIX = /^(List|Describe|Get|Head|Search|Scan|Query|Lookup|BatchGet|Select)/;
const readCache = new Map<string, boolean>();
/** "AS" + number, made once per network (bounded like readCache): no new string, hashed again, per record. */
const asnKeys = new Map<number, string>();
function asnKey(asn: number): string {
  let k = asnKeys.get(asn);
  if (k === undefined) {
    k = "AS" + asn;
    if (asnKeys.size < 100_000) asnKeys.set(asn, k);
  }
  return k;
}

export function isReadName(name: string): boolean {
  let r = readCache.get(name);
  if (r === undefined) {
    r = READ_PREFIX.test(name);
    if (readCache.size < 20000) readCache.set(name, r);
  }
  return r;
}

/** What IdentityAcc.add asks of an event name (nameFlags): readsRequestParameters, readsTargets, RunInstances, isReadName. */
const NF_PARAMS = 1,
  NF_TARGETS = 2,
  NF_RUN = 4,
  NF_READ = 8;
/** nameFlags by name (bounded like readCache). */
const nameFlagCache = new Map<string, number>();
/** The NF_ flags of an event name: one lookup per event where the four questions took four. */
function nameFlags(name: string): number {
  let f = nameFlagCache.get(name);
  if (f === undefined) {
    f = (readsRequestParameters(name) ? NF_PARAMS : 0) | (readsTargets(name) ? NF_TARGETS : 0) | (name === "RunInstances" ? NF_RUN : 0) | (isReadName(name) ? NF_READ : 0);
    if (nameFlagCache.size < 20000) nameFlagCache.set(name, f);
  }
  return f;
}

/**
 * The window side of one value of one dimension (an API, an IP, ...) for one identity: made when
 * the value is first seen inside the moving window (most values never are; their counts are in
 * DimValues alone). `slots` count every matching event inside the moving window, per 10-minute
 * bucket, so the exact window counts are known at the end whatever order the records came in.
 */
export class MStat {
  /**
   * One array of unboxed doubles (null until the value is seen in the window), its first `len`
   * entries used: the kept ids' times first (`nIds` of them, ascending), then one number per
   * bucket, bucketIndex (start / BUCKET_MS) * SLOT_N + n (exact: below 2^53), 8 bytes a bucket
   * where [bucketIndex, n] pairs took 16. Buckets are ascending most of the time; a bucket whose
   * count would reach SLOT_N gets a second slot (counts are summed). Most values are seen in few
   * buckets: the array is allocated to its exact length up to SLOTS_EXACT entries, then grown by
   * half. Times and buckets in one array, and that array's used length apart, took ~100 bytes
   * less a value than an array for each (an array costs 32 bytes plus its elements' header) and
   * V8's growth (half plus 16) beyond SLOTS_EXACT.
   */
  private d: number[] | null = null;
  /** Entries used in `d`. */
  private len = 0;
  /**
   * The buckets with failed or denied events, apart (most have none: a slot takes two numbers,
   * not four): flat [bucketIndex, err, denied, ...]; every bucket here is in `d` too.
   */
  private errSlots: number[] | null = null;
  /**
   * The ids and role sessions (undefined without a session) of the up to MAX_WIN_IDS earliest
   * events inside the moving window, in the order of their times: [id, session, id, session, ...],
   * room for MAX_WIN_IDS; null while a value keeps one id (most do), which is in `id0` and `s0`
   * (an array of two took 64 bytes).
   */
  private refs: Array<string | undefined> | null = null;
  private id0: string | undefined = undefined;
  private s0: string | undefined = undefined;
  /** Ids kept (times at the front of `d`). */
  private nIds = 0;

  window(bucket: number, t: number, id: string, failed: boolean, denied: boolean, wmin: number, session?: string): void {
    this.count(bucket, 1, failed ? 1 : 0, denied ? 1 : 0, wmin);
    this.noteId(t, id, session);
  }

  /** `d` with room for `need` entries (the first `len` kept). */
  private room(need: number): number[] {
    const d = this.d;
    const cap = d === null ? 0 : d.length;
    if (d !== null && need <= cap) return d;
    const g = new Array<number>(need <= SLOTS_EXACT ? need : Math.max(need, Math.ceil(cap * 1.5)));
    for (let k = 0; k < this.len; k++) g[k] = d![k]!;
    this.d = g;
    return g;
  }

  /** Add counts to a bucket's slot. */
  private count(bucket: number, n: number, err: number, den: number, wmin: number): void {
    if (err !== 0 || den !== 0) this.countErr(bucket, err, den);
    if (!(bucket >= -SLOT_BUCKETS && bucket < SLOT_BUCKETS)) throw new RangeError(`MStat: bucket ${bucket} out of range (an event time before -3131 or after 7074)`);
    const lo = bucket * SLOT_N;
    let d = this.d;
    const k = this.nIds;
    let len = this.len;
    if (d !== null) {
      let i = len - 1;
      // Usually the last slot; otherwise search backwards (records are roughly ordered).
      while (i >= k && !(d[i]! >= lo && d[i]! < lo + SLOT_N)) i--;
      if (i >= k && d[i]! + n < lo + SLOT_N) {
        d[i]! += n;
        return;
      }
      // A new bucket (or a full count: a second slot for the bucket, windowStat sums them).
      // The window moved on for this value: drop what fell out before growing.
      if (i < k && wmin > -Infinity && len - k >= 2 && slotBucket(d[k]!) * BUCKET_MS < wmin) {
        this.prune(wmin);
        len = this.len;
      }
    }
    d = this.room(len + 1);
    d[len] = lo + n;
    this.len = len + 1;
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
    } else if (e.length < ERR_EXACT) {
      // A copy one bucket longer: `push` would give a short array room for 16 more numbers (most
      // values fail in one or two buckets of the window).
      const n = e.length;
      const g = new Array<number>(n + 3);
      for (let k = 0; k < n; k++) g[k] = e[k]!;
      g[n] = bucket;
      g[n + 1] = err;
      g[n + 2] = den;
      this.errSlots = g;
    } else e.push(bucket, err, den);
  }

  /** Keep the MAX_WIN_IDS earliest (time, id) pairs, sorted by time. */
  private noteId(t: number, id: string, session: string | undefined): void {
    let refs = this.refs;
    let n = this.nIds;
    let d: number[];
    if (n >= MAX_WIN_IDS) {
      d = this.d!;
      if (!(t < d[n - 1]!)) return;
      n--; // the latest gives way
    } else {
      if (n > 0 && (refs === null || 2 * n === refs.length)) {
        // A second id (or more than a prune left room for): the ids go to `refs`, room for two
        // at first (many values have two events in the window), then for MAX_WIN_IDS.
        const nr = new Array<string | undefined>(refs === null ? 4 : 2 * MAX_WIN_IDS);
        if (refs === null) {
          nr[0] = this.id0;
          nr[1] = this.s0;
          this.id0 = this.s0 = undefined;
        } else for (let k = 0; k < 2 * n; k++) nr[k] = refs[k];
        this.refs = refs = nr;
      }
      // One more time at the front: the buckets move up one.
      const len = this.len;
      d = this.room(len + 1);
      for (let k = len; k > n; k--) d[k] = d[k - 1]!;
      this.len = len + 1;
    }
    this.nIds = n + 1;
    if (refs === null) {
      // The first id.
      d[0] = t;
      this.id0 = id;
      this.s0 = session;
      return;
    }
    insertKept(d, refs, n, t, id, session);
  }

  /** Add another value's window counts into this one (deriving a coarser dimension). */
  absorb(o: WinSide): void {
    if (o instanceof MOne) {
      // As absorbing an MStat of that one event: its slot, its failure apart, its id.
      this.count(o.bucket, 1, 0, 0, -Infinity);
      if ((o.flags & 3) !== 0) this.countErr(o.bucket, o.flags & 1, (o.flags >> 1) & 1);
      this.noteId(o.time, o.id, o.session);
      return;
    }
    const d = o.d;
    if (d !== null)
      for (let i = o.nIds; i < o.len; i++) {
        const b = slotBucket(d[i]!);
        this.count(b, d[i]! - b * SLOT_N, 0, 0, -Infinity);
      }
    const e = o.errSlots;
    if (e !== null) for (let i = 0; i < e.length; i += 3) this.countErr(e[i]!, e[i + 1]!, e[i + 2]!);
    if (d !== null) for (let i = 0; i < o.nIds; i++) this.noteId(d[i]!, o.idAt(i), o.sessionAt(i));
  }

  /**
   * What an empty MStat that absorbed `sides[0 .. count)` in that order would give for
   * `windowStat(wStart, sessions)` (a derived dimension's window counts: see IdentityAcc.toWindow),
   * without that MStat: the counts summed, the MAX_WIN_IDS earliest ids kept as noteId keeps them.
   */
  static absorbedStat(sides: ArrayLike<WinSide | undefined>, count: number, wStart: number, sessions?: SessionNotes): WinStat | undefined {
    let n = 0,
      err = 0,
      den = 0,
      first = Infinity,
      last = -Infinity,
      kept = 0;
    const times = keptTimes;
    const refs = keptRefs;
    for (let j = 0; j < count; j++) {
      const o = sides[j]!;
      if (o instanceof MOne) {
        const b = o.bucket * BUCKET_MS;
        if (!(b < wStart)) {
          n++;
          if (b < first) first = b;
          if (b > last) last = b;
          err += o.flags & 1;
          den += (o.flags >> 1) & 1;
        }
        kept = keepId(times, refs, kept, o.time, o.id, o.session);
        continue;
      }
      const d = o.d;
      if (d === null) continue;
      for (let i = o.nIds, e = o.len; i < e; i++) {
        const sb = slotBucket(d[i]!);
        const b = sb * BUCKET_MS;
        if (b < wStart) continue;
        n += d[i]! - sb * SLOT_N;
        if (b < first) first = b;
        if (b > last) last = b;
      }
      const es = o.errSlots;
      if (es !== null)
        for (let i = 0; i < es.length; i += 3) {
          if (es[i]! * BUCKET_MS < wStart) continue;
          err += es[i + 1]!;
          den += es[i + 2]!;
        }
      for (let i = 0; i < o.nIds; i++) kept = keepId(times, refs, kept, d[i]!, o.idAt(i), o.sessionAt(i));
    }
    if (n === 0) return undefined;
    // As windowStat reads its kept ids.
    let inWin = 0;
    for (let i = 0; i < kept; i++) if (!(times[i]! < wStart)) inWin++;
    const ids = new Array<string>(inWin);
    let firstT = first,
      lastKept = -Infinity,
      w = 0;
    for (let i = 0; i < kept; i++) {
      if (times[i]! < wStart) continue;
      const id = refs[2 * i]!;
      if (w === 0) firstT = times[i]!;
      lastKept = times[i]!;
      ids[w++] = id;
      const ss = refs[2 * i + 1];
      if (sessions && ss !== undefined) sessions.set(id, ss);
    }
    const lastT = Math.max(last, w > 0 ? lastKept : last);
    return { n, err, denied: den, first: firstT, last: lastT, ids };
  }

  /** Kept id `i` (below nIds). */
  private idAt(i: number): string {
    return (this.refs === null ? this.id0 : this.refs[2 * i])!;
  }

  /** The session of kept id `i`. */
  private sessionAt(i: number): string | undefined {
    return this.refs === null ? this.s0 : this.refs[2 * i + 1];
  }

  /** Drop the slots and ids before `wmin`. */
  private prune(wmin: number): void {
    const d = this.d ?? [];
    const k = this.nIds;
    const len = this.len;
    const refs = this.refs;
    // The ids go only when the earliest is before `wmin`.
    const dropIds = k > 0 && d[0]! < wmin;
    let times = k;
    if (dropIds) {
      times = 0;
      for (let i = 0; i < k; i++) if (!(d[i]! < wmin)) times++;
    }
    let slots = 0;
    for (let i = k; i < len; i++) if (slotBucket(d[i]!) * BUCKET_MS >= wmin) slots++;
    const out = new Array<number>(times + slots);
    let w = 0;
    let nr: Array<string | undefined> | null = refs;
    if (dropIds) {
      // Left in `refs` (exactly as many), or none: a single id is in `id0` only if it is not dropped.
      nr = times > 0 && refs !== null ? new Array<string | undefined>(2 * times) : null;
      for (let i = 0; i < k; i++) {
        if (d[i]! < wmin) continue;
        if (nr !== null) {
          nr[2 * w] = refs![2 * i];
          nr[2 * w + 1] = refs![2 * i + 1];
        }
        out[w++] = d[i]!;
      }
      if (times === 0) this.id0 = this.s0 = undefined;
    } else for (; w < k; w++) out[w] = d[w]!;
    for (let i = k; i < len; i++) if (slotBucket(d[i]!) * BUCKET_MS >= wmin) out[w++] = d[i]!;
    this.d = out;
    this.len = w;
    this.refs = nr;
    this.nIds = times;
    const e = this.errSlots;
    if (e !== null && e[0]! * BUCKET_MS < wmin) {
      const kept: number[] = [];
      for (let i = 0; i < e.length; i += 3) if (e[i]! * BUCKET_MS >= wmin) kept.push(e[i]!, e[i + 1]!, e[i + 2]!);
      this.errSlots = kept.length ? kept : null;
    }
  }

  /** Counts of this value inside [wStart, wEnd); notes the session of each listed id in `sessions`. */
  windowStat(wStart: number, sessions?: SessionNotes): WinStat | undefined {
    let n = 0,
      err = 0,
      den = 0,
      first = Infinity,
      last = -Infinity;
    const d = this.d;
    if (d === null) return undefined;
    const k = this.nIds;
    for (let i = k, e = this.len; i < e; i++) {
      const s = slotBucket(d[i]!);
      const b = s * BUCKET_MS;
      if (b < wStart) continue;
      n += d[i]! - s * SLOT_N;
      if (b < first) first = b;
      if (b > last) last = b;
    }
    if (n === 0) return undefined;
    const e = this.errSlots;
    if (e !== null)
      for (let i = 0; i < e.length; i += 3) {
        if (e[i]! * BUCKET_MS < wStart) continue;
        err += e[i + 1]!;
        den += e[i + 2]!;
      }
    // The kept ids inside the window, in an array of their number (push would give it room for 17).
    let inWin = 0;
    for (let i = 0; i < k; i++) if (!(d[i]! < wStart)) inWin++;
    const ids = new Array<string>(inWin);
    let firstT = first,
      lastKept = -Infinity,
      w = 0;
    for (let i = 0; i < k; i++) {
      if (d[i]! < wStart) continue;
      const id = this.idAt(i);
      if (w === 0) firstT = d[i]!;
      lastKept = d[i]!;
      ids[w++] = id;
      const ss = this.sessionAt(i);
      if (sessions && ss !== undefined) sessions.set(id, ss);
    }
    const lastT = Math.max(last, w > 0 ? lastKept : last);
    // Exact times come from the kept ids (lastT); bucket bounds are the fallback.
    return { n, err, denied: den, first: firstT, last: lastT, ids };
  }
}

/** Where the window's functions note the session of each event id they list (IdSessions in a scan; a Map does too). */
export interface SessionNotes {
  set(id: string, session: string): unknown;
}

/**
 * IdentityWindow.idSessions as IdentityAcc.toWindow notes it: the (id, session) pairs appended in
 * the order noted, the map made from them when first read (the same map, in the same order, as
 * setting each pair in a Map as it comes). Most windows' are never read: only findings on windows
 * of several sessions (attributeDraft), judged people's residual windows and off-hours read it,
 * and a Map.set per listed id (hashing each new event id) was most of toBuckets' time.
 */
export class IdSessions implements ReadonlyMap<string, string> {
  private ids: string[] = [];
  private sessions: string[] = [];
  private made: Map<string, string> | undefined;

  set(id: string, session: string): this {
    if (this.made !== undefined) this.made.set(id, session);
    else {
      this.ids.push(id);
      this.sessions.push(session);
    }
    return this;
  }

  private map(): Map<string, string> {
    let m = this.made;
    if (m === undefined) {
      m = new Map<string, string>();
      const ids = this.ids;
      const ss = this.sessions;
      for (let i = 0; i < ids.length; i++) m.set(ids[i]!, ss[i]!);
      this.made = m;
      this.ids = [];
      this.sessions = [];
    }
    return m;
  }

  get(id: string): string | undefined {
    return this.map().get(id);
  }
  has(id: string): boolean {
    return this.map().has(id);
  }
  get size(): number {
    return this.map().size;
  }
  forEach(fn: (session: string, id: string, map: ReadonlyMap<string, string>) => void, thisArg?: unknown): void {
    for (const [id, session] of this.map()) fn.call(thisArg, session, id, this);
  }
  entries(): MapIterator<[string, string]> {
    return this.map().entries();
  }
  keys(): MapIterator<string> {
    return this.map().keys();
  }
  values(): MapIterator<string> {
    return this.map().values();
  }
  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.map()[Symbol.iterator]();
  }
}

/** MStat.absorbedStat's kept ids: their times, and [id, session, ...] beside them (reused). */
const keptTimes = new Array<number>(MAX_WIN_IDS).fill(0);
const keptRefs = new Array<string | undefined>(2 * MAX_WIN_IDS).fill(undefined);

/** MStat.noteId on `kept` ids in `times` and `refs` (the MAX_WIN_IDS earliest, by time, ties in the order met); the ids kept after. */
function keepId(times: number[], refs: Array<string | undefined>, kept: number, t: number, id: string, session: string | undefined): number {
  let n = kept;
  if (n >= MAX_WIN_IDS) {
    if (!(t < times[n - 1]!)) return kept;
    n--; // the latest gives way
  }
  insertKept(times, refs, n, t, id, session);
  return n + 1;
}

/**
 * `id` (and its session, beside it in `refs`) at time `t` among the `n` ids kept in `times` and
 * `refs`, in time order (after those of the same time: ties in the order met); room for n + 1.
 */
function insertKept(times: number[], refs: Array<string | undefined>, n: number, t: number, id: string, session: string | undefined): void {
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

/**
 * The window side of a value seen once inside the moving window (most are: 152,000 of 240,000
 * on realistic 1M events / 20,000 identities): that event alone, in 64 bytes where an MStat and
 * its array took 144. The value's second window event makes it an MStat (`addToWindow`), which
 * then holds exactly what it would have held from the first: the same calls in the same order.
 */
export class MOne {
  /** The time within its bucket (a small integer for whole milliseconds: no boxed double). */
  private readonly off: number;

  constructor(
    readonly bucket: number,
    t: number,
    readonly id: string,
    readonly session: string | undefined,
    /** failed 1, denied 2. */
    readonly flags: number,
  ) {
    if (!(bucket >= -SLOT_BUCKETS && bucket < SLOT_BUCKETS)) throw new RangeError(`MStat: bucket ${bucket} out of range (an event time before -3131 or after 7074)`);
    this.off = t - bucket * BUCKET_MS;
  }

  get time(): number {
    return this.bucket * BUCKET_MS + this.off;
  }

  /** MStat.windowStat of an MStat holding this one event. */
  windowStat(wStart: number, sessions?: SessionNotes): WinStat | undefined {
    const b = this.bucket * BUCKET_MS;
    if (b < wStart) return undefined;
    const t = this.time;
    if (t < wStart) return { n: 1, err: this.flags & 1, denied: (this.flags >> 1) & 1, first: b, last: b, ids: [] };
    if (sessions && this.session !== undefined) sessions.set(this.id, this.session);
    return { n: 1, err: this.flags & 1, denied: (this.flags >> 1) & 1, first: t, last: Math.max(b, t), ids: [this.id] };
  }
}

/** A value's window side: one event, or more. */
export type WinSide = MStat | MOne;

/** `w` (undefined: none yet) with one more event inside the moving window (MStat.window's arguments); the window side to keep. */
export function addToWindow(w: WinSide | undefined, bucket: number, t: number, id: string, failed: boolean, denied: boolean, wmin: number, session: string | undefined): WinSide {
  if (w === undefined) return new MOne(bucket, t, id, session, (failed ? 1 : 0) | (denied ? 2 : 0));
  if (w instanceof MOne) {
    // The first event again (an empty MStat's first call reads no `wmin`), then this one.
    const m = new MStat();
    m.window(w.bucket, w.time, w.id, (w.flags & 1) !== 0, (w.flags & 2) !== 0, wmin, w.session);
    m.window(bucket, t, id, failed, denied, wmin, session);
    return m;
  }
  w.window(bucket, t, id, failed, denied, wmin, session);
  return w;
}

/** One value's counts in a scan, as `IdentityAcc.dim` gives them (ObservedStat of the baseline merge). */
export interface ValueStat {
  n: number;
  err: number;
  first: number;
  last: number;
}

/** Dimensions fit in the low bits of a table entry (DIM_NAMES has 12). */
const DIM_BITS = 4;
const DIM_MASK = (1 << DIM_BITS) - 1;
/** Dimensions (DIM_NAMES.length). */
const DIM_COUNT = 12;
/** Values one identity can hold (a table entry, (value << DIM_BITS | dim) + 1, is an int32). */
const MAX_VALUES = 2 ** (31 - DIM_BITS) - 1;
/** The lookup table's first size (entries; it doubles when three quarters full). */
const TABLE_MIN = 16;

/** Strings up to this long are hashed whole; longer ones by their length, first HASH_HEAD and last HASH_TAIL code units (unless `full`). */
const HASH_SHORT = 10;
const HASH_HEAD = 2;
const HASH_TAIL = 8;
/** Probes of one lookup beyond which a table hashes its strings whole (values that collide on their ends: made to, most likely). */
const MAX_PROBES = 48;

/** Per process: values come from the records (an attacker's), and should not be chosen to collide. */
const HASH_SEED = (Math.random() * 2 ** 32) | 0;

/** An integer's bits mixed (murmur3's final mix, fmix32). */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  return h ^ (h >>> 16);
}

/** A string's hash mixed with its dimension (FNV-1a over UTF-16 code units, seeded, then a final mix): of the whole string when `full`. Tables' order is never read: results do not depend on the seed. */
function hashOf(s: string, dim: number, full: boolean): number {
  const len = s.length;
  let h = HASH_SEED ^ Math.imul(dim + 1, 0x9e3779b1);
  if (full || len <= HASH_SHORT) for (let i = 0; i < len; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  else {
    h = Math.imul(h ^ len, 0x01000193);
    for (let i = 0; i < HASH_HEAD; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    for (let i = len - HASH_TAIL; i < len; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return mix(h);
}

/** Dimensions whose values are few over a whole scan (not addresses, sessions, targets, roles): numbered in a shared ValueIds. */
// Bits by dimension number (DIM_NAMES): api, service, network, country, region, ua, errorCode, instanceType.
const SHARED_DIMS = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 10);
/** A ValueIds numbers this many strings before accumulators made later start a new one. */
const SHARE_IDS = 2 ** 16;

/**
 * The values of the few-valued dimensions (APIs, regions, user agents...), numbered in first-seen
 * order and held once, shared by the accumulators made while it is current: such a value is found
 * by its number, one lookup in a small Map whose string hashes V8 keeps on the strings (the fast
 * lane hands the same string objects for a value), not by hashing its characters. Numbers only
 * place values in tables; results never see them.
 */
class ValueIds {
  private readonly ids = new Map<string, number>();
  readonly strings: string[] = [];
  /** Accumulators made with this table and not released yet. */
  live = 0;

  idOf(v: string): number {
    let id = this.ids.get(v);
    if (id === undefined) {
      id = this.strings.length;
      this.ids.set(v, id);
      this.strings.push(v);
    }
    return id;
  }

  /** The number of `v`, or undefined when it has none (nothing added). */
  peek(v: string): number | undefined {
    return this.ids.get(v);
  }

  /** Key targets' prefixes (`key:<region>:<account>:key/`) by number, and back (see packTarget). */
  private readonly prefixIds = new Map<string, number>();
  private readonly prefixes: string[] = [];
  /** The prefix packed last and its number (a KMS user's keys mostly share one). */
  private lastPrefix = "";
  private lastPrefixId = -1;

  /**
   * A target value as the accumulators made with this table hold it: a KMS key target
   * (`key:<region>:<account>:key/<id>`, targetsOf) whose id is a key id in its usual form (36
   * characters, lower-case hex and dashes, 8-4-4-4-12) as PACKED, its prefix's number in two
   * characters and the id's 16 bytes, 19 characters (40 bytes) where it took 67 (88 bytes); a
   * value beginning with PACKED or ESCAPED as ESCAPED and itself; any other as itself. One to one,
   * undone by unpackTarget. Realistic 3M events / 5,000 identities: 570,000 key targets (most
   * seen once), 44 MB of strings. `add`: a prefix not numbered yet is numbered (up to MAX_PREFIXES,
   * then such values are kept whole); without it (a lookup, which adds nothing) such a value is as
   * it would have been kept: whole.
   */
  packTarget(v: string, add: boolean): string {
    const len = v.length;
    const c0 = len > 0 ? v.charCodeAt(0) : -1;
    if (c0 === PACKED || c0 === ESCAPED) return ESCAPED_PREFIX + v;
    const p = len - KEY_ID_LEN;
    if (c0 !== 107 /* k */ || p < 5 || p > MAX_PREFIX_LEN || !v.startsWith("key:")) return v;
    if (v.charCodeAt(p + 8) !== 45 || v.charCodeAt(p + 13) !== 45 || v.charCodeAt(p + 18) !== 45 || v.charCodeAt(p + 23) !== 45) return v;
    // The id's 16 bytes after PACKED and the prefix's number; a character not a lower-case hex digit makes one negative.
    const b = packBuf;
    let bad = 0;
    for (let k = 0, j = 3; k < KEY_ID_LEN; k += 2) {
      if (k === 8 || k === 13 || k === 18 || k === 23) k++;
      const x = hexByte(v, p + k);
      bad |= x;
      b[j++] = x;
    }
    if (bad < 0) return v;
    let id = this.lastPrefixId;
    const last = this.lastPrefix;
    if (!(id >= 0 && last.length === p && v.startsWith(last))) {
      const prefix = v.slice(0, p);
      const known = this.prefixIds.get(prefix);
      if (known !== undefined) id = known;
      else if (!add || this.prefixes.length >= MAX_PREFIXES) return v;
      else {
        // A copy of its own (a slice would hold the whole value).
        const own = JSON.parse(JSON.stringify(prefix)) as string;
        id = this.prefixes.length;
        this.prefixes.push(own);
        this.prefixIds.set(own, id);
      }
      this.lastPrefix = this.prefixes[id]!;
      this.lastPrefixId = id;
    }
    b[0] = PACKED;
    b[1] = id >> 8;
    b[2] = id & 255;
    return latin1(b, 19);
  }

  /** The value `packTarget` was given for `s` (a target as kept). */
  unpackTarget(s: string): string {
    const c0 = s.length > 0 ? s.charCodeAt(0) : -1;
    if (c0 === ESCAPED) return s.slice(1);
    if (c0 !== PACKED) return s;
    const prefix = this.prefixes[(s.charCodeAt(1) << 8) | s.charCodeAt(2)]!;
    const n = prefix.length;
    // One byte a character (Latin-1) where the prefix's characters fit (nearly always: `key:<region>:<account>:key/`).
    const b = unpackBuf;
    for (let i = 0; i < n; i++) {
      const c = prefix.charCodeAt(i);
      if (c > 255) return prefix + latin1(b, writeKeyId(s, b, 0));
      b[i] = c;
    }
    return latin1(b, writeKeyId(s, b, n));
  }
}

/** `b`'s first `n` bytes as Latin-1 text (Buffer's own latin1Slice: toString's checks took as long as the copy). */
function latin1(b: Buffer, n: number): string {
  return (b as Buffer & { latin1Slice(start: number, end: number): string }).latin1Slice(0, n);
}

/** The key id of packed key target `s` in its usual form, in `b` from `w`; where it ends. */
function writeKeyId(s: string, b: Buffer, w: number): number {
  for (let j = 3; j < 19; j++) {
    const x = s.charCodeAt(j);
    b[w++] = HEX_DIGIT[x >> 4]!;
    b[w++] = HEX_DIGIT[x & 15]!;
    // Dashes after the 4th, 6th, 8th and 10th byte.
    if (j === 6 || j === 8 || j === 10 || j === 12) b[w++] = 45;
  }
  return w;
}

/** First character of a packed key target (see ValueIds.packTarget), and of a value kept escaped. */
const PACKED = 1;
const ESCAPED = 2;
const ESCAPED_PREFIX = String.fromCharCode(ESCAPED);
/** A key id's length in its usual form (a UUID). */
const KEY_ID_LEN = 36;
/** Key-target prefixes numbered per table (two characters of one byte each), and their longest. */
const MAX_PREFIXES = 1 << 16;
const MAX_PREFIX_LEN = 128;
/** Hex digits' values by character code (lower case only: the usual form), -1 for others. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUE[97 + i] = 10 + i;
const HEX_DIGIT = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];
/** packTarget's bytes: PACKED, the prefix's number, the id's 16 bytes. */
const packBuf = Buffer.alloc(19);

/** The byte of the two lower-case hex digits at `i` in `v`, or a negative number when they are not. */
function hexByte(v: string, i: number): number {
  const a = v.charCodeAt(i);
  const c = v.charCodeAt(i + 1);
  const x = a < 128 ? HEX_VALUE[a]! : -1;
  const y = c < 128 ? HEX_VALUE[c]! : -1;
  return x < 0 || y < 0 ? -1 : (x << 4) | y;
}
/** unpackTarget's bytes (a prefix of up to MAX_PREFIX_LEN characters and a key id). */
const unpackBuf = Buffer.alloc(MAX_PREFIX_LEN + KEY_ID_LEN);

/**
 * The table new accumulators share. A new one is started when every accumulator of the current
 * one was released (a scan's end: nothing it numbered is held past the scan) or when it holds
 * SHARE_IDS strings (accumulators never released, as in tests, or values made to be many: what it
 * holds stays bounded for new accumulators).
 */
let currentIds = new ValueIds();
function idsForNew(): ValueIds {
  if (currentIds.strings.length >= SHARE_IDS) currentIds = new ValueIds();
  currentIds.live++;
  return currentIds;
}
function releaseIds(ids: ValueIds): void {
  if (--ids.live === 0 && ids === currentIds && ids.strings.length > 0) {
    currentIds = new ValueIds();
    // A scan's end: the pool's spare arrays go with it (see int-pool.ts).
    resetInt32Pool();
  }
}

/** AccValues.dims' work space, and whose dimensions it holds (the same values asked again at the end, dimension after dimension). */
let dimScratch = new Uint8Array(256);
let dimScratchOf: AccValues | null = null;
let dimScratchSize = 0;

/**
 * The values of every dimension of one identity, in one set of flat arrays (an identity of the
 * realistic profile has about thirty values over its dimensions, most seen once): value `r` is
 * `keys[r]`, its counts are in `code[r]`. Values are numbered in first-seen order over all
 * dimensions; one open-addressed table of small integers maps (dimension, value) to its number and
 * tells each value's dimension.
 *
 * A value seen once (most of the realistic profile's: targets, sessions, addresses; 663,000 of
 * 1.12M on 3M events / 5,000 identities) outside the moving window keeps that event in its code
 * alone: ONCE_T * time + 2 * n + err, one unboxed double. From its second event, or its first
 * inside the moving window, it has an entry of its own (`ext`, EXT_OF(code)): counts
 * `ext[4e .. 4e+3]` = [first, last, n, err] as unboxed doubles (`n/err` count events new to the
 * stored baseline, for idempotent rescans; first/last every event) and its window side `wins[e]`.
 * Four doubles and a window slot for every value took 40 bytes where a value seen once now takes 8.
 */
class AccValues {
  readonly keys: string[] = [];
  /** Per value: NEW (no event yet), a single event (>= 0: see ONCE_T), or its entry (EXT_OF: <= -1). */
  readonly code: number[] = [];
  /** Per entry: [first, last, n, err]. */
  readonly ext: number[] = [];
  /** The window side of each entry (made when the value is first seen inside the moving window: see addToWindow); null until the first. */
  private wins: Array<WinSide | undefined> | null = null;
  /**
   * Linear probing; an entry is (value << DIM_BITS | dim) + 1, 0 empty. At most three quarters
   * full (half full took 2.8 entries a value; most lookups are answered before it, by lastKeys).
   * Off the V8 heap, 4 bytes an entry (a Smi array took 8).
   */
  private table: Int32Array = int32s(TABLE_MIN);
  /** Strings are hashed whole (a lookup probed more than MAX_PROBES entries). */
  private full = false;
  /** Per dimension `d`: the value met last and its number at `d`, the one before it at `d + DIM_COUNT` (consecutive events of one identity mostly repeat their IP, region, user agent). */
  readonly lastKeys: Array<string | undefined> = new Array<string | undefined>(2 * DIM_COUNT).fill(undefined);
  readonly lastValues: number[] = new Array<number>(2 * DIM_COUNT).fill(0);

  constructor(readonly ids: ValueIds) {}

  get size(): number {
    return this.keys.length;
  }

  /** The table hash of `v` in dimension `dim`. */
  private hash(dim: number, v: string): number {
    return ((SHARED_DIMS >> dim) & 1) !== 0 ? mix(HASH_SEED ^ ((this.ids.idOf(v) << DIM_BITS) | dim)) : hashOf(v, dim, this.full);
  }

  /** The number of `v` in dimension `dim`, or -1 when it has none (a lookup: nothing added, the table unchanged). */
  lookup(dim: number, v: string): number {
    let h: number;
    if (((SHARED_DIMS >> dim) & 1) !== 0) {
      const id = this.ids.peek(v);
      if (id === undefined) return -1;
      h = mix(HASH_SEED ^ ((id << DIM_BITS) | dim));
    } else {
      if (dim === D_TARGET) v = this.ids.packTarget(v, false);
      h = hashOf(v, dim, this.full);
    }
    const t = this.table;
    const mask = t.length - 1;
    const keys = this.keys;
    for (let s = h & mask, e = t[s]!; e !== 0; s = (s + 1) & mask, e = t[s]!) if (((e - 1) & DIM_MASK) === dim && keys[(e - 1) >> DIM_BITS] === v) return (e - 1) >> DIM_BITS;
    return -1;
  }

  /** The number of `v` in dimension `dim`, added (with no counts yet) when new. */
  find(dim: number, value: string): number {
    let h: number;
    let v = value;
    if (((SHARED_DIMS >> dim) & 1) !== 0) {
      // The value as the one string the accumulators share: the table compares it by reference.
      const id = this.ids.idOf(v);
      v = this.ids.strings[id]!;
      h = mix(HASH_SEED ^ ((id << DIM_BITS) | dim));
    } else {
      // A target as kept (a KMS key target packed: see ValueIds.packTarget).
      if (dim === D_TARGET) v = this.ids.packTarget(v, true);
      h = hashOf(v, dim, this.full);
    }
    let t = this.table;
    let mask = t.length - 1;
    const keys = this.keys;
    let s = h & mask;
    let probes = 0;
    for (let e = t[s]!; e !== 0; s = (s + 1) & mask, e = t[s]!) {
      if (((e - 1) & DIM_MASK) === dim && keys[(e - 1) >> DIM_BITS] === v) return (e - 1) >> DIM_BITS;
      if (++probes > MAX_PROBES && !this.full) {
        // Many values alike at both ends: hash them whole from now on.
        this.full = true;
        this.table = this.rehash(t.length);
        return this.find(dim, value);
      }
    }
    const r = keys.length;
    if (r >= MAX_VALUES) throw new RangeError(`IdentityAcc: more than ${MAX_VALUES} distinct values for one identity`);
    // A few-valued dimension's value is kept as the one string of it the accumulators share (`v` is that one).
    keys.push(v);
    this.code.push(NEW);
    if (4 * (r + 1) > 3 * t.length) {
      this.table = t = this.rehash(2 * t.length);
      mask = t.length - 1;
      s = h & mask;
      while (t[s] !== 0) s = (s + 1) & mask;
    }
    t[s] = ((r << DIM_BITS) | dim) + 1;
    return r;
  }

  /** The table's entries in a new table of `size` entries. */
  private rehash(size: number): Int32Array {
    const old = this.table;
    const t = int32s(size);
    const mask = size - 1;
    const keys = this.keys;
    for (let i = 0; i < old.length; i++) {
      const e = old[i]!;
      if (e === 0) continue;
      let s = this.hash((e - 1) & DIM_MASK, keys[(e - 1) >> DIM_BITS]!) & mask;
      while (t[s] !== 0) s = (s + 1) & mask;
      t[s] = e;
    }
    freeInt32s(old);
    return t;
  }

  /** Each value's dimension, by value number (valid until the next call: a shared work space). */
  dims(): Uint8Array {
    const n = this.keys.length;
    if (dimScratchOf === this && dimScratchSize === n) return dimScratch;
    if (dimScratch.length < n) dimScratch = new Uint8Array(Math.max(n, 2 * dimScratch.length));
    const out = dimScratch;
    const t = this.table;
    for (let i = 0; i < t.length; i++) {
      const e = t[i]!;
      if (e !== 0) out[(e - 1) >> DIM_BITS] = (e - 1) & DIM_MASK;
    }
    dimScratchOf = this;
    dimScratchSize = n;
    return out;
  }

  /**
   * One more event of value `r` at `t` (counted: new to the stored baseline); its entry's offset
   * in `ext` when it has one (every value seen twice, or inside the moving window: `entry`), else -1.
   */
  count(r: number, t: number, counted: boolean, failed: boolean, entry: boolean): number {
    const c = this.code[r]!;
    if (c < 0) {
      // An entry: most events, of values seen before.
      const o = 4 * EXT_OF(c);
      const x = this.ext;
      if (t < x[o]!) x[o] = t;
      if (t > x[o + 1]!) x[o + 1] = t;
      if (counted) {
        x[o + 2]!++;
        if (failed) x[o + 3]!++;
      }
      return o;
    }
    return this.countFresh(r, c, t, counted, failed, entry);
  }

  /**
   * `count` of a value with no entry yet (its code `c`): apart, so that `count` stays small enough
   * for the optimising compiler to inline it into IdentityAcc.track (at 341 bytes of bytecode it
   * came last in track's inlining budget, after the window's functions, and was called).
   */
  private countFresh(r: number, c: number, t: number, counted: boolean, failed: boolean, entry: boolean): number {
    const n = counted ? 1 : 0;
    const err = counted && failed ? 1 : 0;
    if (c >= 0) {
      // Seen once: an entry with both events.
      const t0 = onceTime(c);
      const m = onceCounts(c);
      return this.newEntry(r, Math.min(t0, t), Math.max(t0, t), (m >> 1) + n, (m & 1) + err);
    }
    // New (NEW is NaN): the event alone in its code, unless the value is in the window or the time does not fit.
    if (!entry && t >= 0 && t < ONCE_MAX && Number.isInteger(t)) {
      this.code[r] = ONCE_T * t + 2 * n + err;
      return -1;
    }
    return this.newEntry(r, t, t, n, err);
  }

  /** An entry for value `r` with these counts; its offset in `ext`. */
  private newEntry(r: number, first: number, last: number, n: number, err: number): number {
    const x = this.ext;
    const o = x.length;
    x.push(first, last, n, err);
    this.code[r] = TO_EXT(o / 4);
    if (this.wins !== null) this.wins.push(undefined);
    return o;
  }

  /** Value `r`'s entry's offset in `ext`, made when it has none (a derived dimension's: see deriveServices). */
  entry(r: number): number {
    const c = this.code[r]!;
    if (c < 0) return 4 * EXT_OF(c);
    if (c >= 0) {
      const t0 = onceTime(c);
      const m = onceCounts(c);
      return this.newEntry(r, t0, t0, m >> 1, m & 1);
    }
    return this.newEntry(r, Infinity, -Infinity, 0, 0);
  }

  /** The window side of value `r` (undefined: never seen inside the moving window). */
  winOf(r: number): WinSide | undefined {
    const c = this.code[r]!;
    return this.wins === null || !(c < 0) ? undefined : this.wins[EXT_OF(c)];
  }

  /** One more event inside the moving window of the value whose entry is at `o` in `ext` (MStat.window's arguments). */
  addWindow(o: number, bucket: number, t: number, id: string, failed: boolean, denied: boolean, wmin: number, session: string | undefined): void {
    let w = this.wins;
    if (w === null) this.wins = w = new Array<WinSide | undefined>(this.ext.length / 4).fill(undefined);
    const e = o / 4;
    const s = w[e];
    // An MStat is updated in place; the first and second events make a new side.
    if (s instanceof MStat) s.window(bucket, t, id, failed, denied, wmin, session);
    else w[e] = addToWindow(s, bucket, t, id, failed, denied, wmin, session);
  }

  /**
   * The window counts (windowStat) of the values of one dimension, keyed by value in their order:
   * value numbers order[from .. to), or from .. to themselves when `order` is null. Notes the
   * session of each listed id in `sessions`.
   */
  windowMap(order: Int32Array | null, from: number, to: number, wStart: number, sessions: SessionNotes, targets: boolean): Map<string, WinStat> {
    const out = new Map<string, WinStat>();
    const wins = this.wins;
    if (wins === null) return out;
    const code = this.code;
    const keys = this.keys;
    for (let k = from; k < to; k++) {
      const r = order === null ? k : order[k]!;
      const c = code[r]!;
      // Only entries have a window side (see `code`).
      if (!(c < 0)) continue;
      const w = wins[EXT_OF(c)];
      if (w === undefined) continue;
      const st = w.windowStat(wStart, sessions);
      if (st !== undefined) out.set(targets ? this.ids.unpackTarget(keys[r]!) : keys[r]!, st);
    }
    return out;
  }

  /** Value `r`'s first time (`tuple(r)[2]`). */
  first(r: number): number {
    const c = this.code[r]!;
    if (c < 0) return this.ext[4 * EXT_OF(c)]!;
    if (c >= 0) return onceTime(c);
    return Infinity;
  }

  /** Value `r`'s counts as [n, err, first, last]. */
  tuple(r: number): [n: number, err: number, first: number, last: number] {
    const c = this.code[r]!;
    if (c < 0) {
      const o = 4 * EXT_OF(c);
      const x = this.ext;
      return [x[o + 2]!, x[o + 3]!, x[o]!, x[o + 1]!];
    }
    if (c >= 0) {
      const t0 = onceTime(c);
      const m = onceCounts(c);
      return [m >> 1, m & 1, t0, t0];
    }
    return [0, 0, Infinity, -Infinity];
  }
}

/** AccValues.code of a value with no event yet (NaN: neither >= 0 nor < 0). */
const NEW = Number.NaN;
/** A value seen once: ONCE_T * time + 2 * n + err (n, err 0 or 1), exact for whole-millisecond times in [0, ONCE_MAX). */
const ONCE_T = 4;
const ONCE_MAX = 2 ** 51;
/** The time of a value seen once (its code >= 0). */
function onceTime(c: number): number {
  return Math.floor(c / ONCE_T);
}
/** The counts of a value seen once (its code >= 0): 2 * n + err. */
function onceCounts(c: number): number {
  return c % ONCE_T;
}
/** AccValues.code of the value with entry `e`, and back. */
function TO_EXT(e: number): number {
  return -1 - e;
}
function EXT_OF(c: number): number {
  return -1 - c;
}

/**
 * One AccValues' value numbers grouped by dimension (`inDim`): for `groupOf` as it was at
 * `groupSize` values, dimension d's are groupOrder[groupStart[d] .. groupStart[d + 1]), each in
 * first-seen order. The end of a scan asks an identity's dimensions one after the other: its
 * values are grouped once, not scanned once per dimension.
 */
let groupOf: AccValues | null = null;
/** IdentityAcc.valuesOf's answer: the range of value numbers (or of groupOrder) of the dimension asked. */
let inFrom = 0;
let inTo = 0;
let groupSize = 0;
let groupOrder = new Int32Array(256);
const groupStart = new Int32Array(DIM_COUNT + 1);
const groupAt = new Int32Array(DIM_COUNT);

/** Group `v`'s values by dimension (see groupOf), unless they are already. */
function groupValues(v: AccValues): void {
  const n = v.size;
  if (groupOf === v && groupSize === n) return;
  const dims = v.dims();
  if (groupOrder.length < n) groupOrder = new Int32Array(Math.max(n, 2 * groupOrder.length));
  const start = groupStart;
  start.fill(0);
  for (let r = 0; r < n; r++) start[dims[r]! + 1]!++;
  for (let d = 0; d < DIM_COUNT; d++) start[d + 1]! += start[d]!;
  const at = groupAt;
  for (let d = 0; d < DIM_COUNT; d++) at[d] = start[d]!;
  const order = groupOrder;
  for (let r = 0; r < n; r++) order[at[dims[r]!]!++] = r;
  groupOf = v;
  groupSize = n;
}

/** What a released IdentityAcc holds (nothing: `dim` and `toWindow` throw after `release`). */
const RELEASED = new AccValues(new ValueIds());

/** Kept events of a window bucket: a reference (Bucket.ids), its API's first read (Bucket.readIds), a failure (Bucket.errIds). */
const F_REF = 1,
  F_READ = 2,
  F_ERR = 4;
const INT32_MAX = 0x7fffffff;
/** No buckets (shared: empty, never written). */
const NO_COLUMNS = new Int32Array(0);
/** No kept events (shared: empty, never written). */
const NO_EVENTS: Array<string | number | undefined> = [];
/** Numbers per bucket in WinBuckets' columns. */
const S = 9;
const C_IDX = 0,
  C_N = 1,
  C_ERR = 2,
  C_DEN = 3,
  C_REFS = 4,
  C_ERRS = 5,
  C_READS = 6,
  /** First and last kept event (entry number + 1; 0: none). */
  C_HEAD = 7,
  C_TAIL = 8;
/** Entries per kept event: id, session (references only), api, flags | next << 3 (next: entry number + 1, 0: none). */
const E = 4;

/**
 * The 10-minute buckets of one identity inside the moving window: per bucket its counts, its
 * distinct read APIs (each with the id of its first event), its first MAX_BUCKET_IDS event ids
 * (at most MAX_BUCKET_IDS_PER_API of one API) and its first MAX_BUCKET_IDS failed events.
 *
 * Counts sit in one Int32Array (columns of S numbers a bucket, ascending by bucket index: off
 * the V8 heap; a Float64Array from the first value beyond 32 bits), kept events in one flat array, E entries each, chained per bucket: one event
 * kept for several reasons is kept once. A bucket object with three arrays of its own (and a Map
 * entry) took ~300 bytes a bucket, most buckets holding one or two events.
 */
class WinBuckets {
  /** Int32Array until a value needs more than 32 bits (an index past the year 42,000, 2^31 events in one bucket), then Float64Array. */
  private c: Int32Array | Float64Array = NO_COLUMNS;
  /** Buckets held. */
  size = 0;
  /** NO_EVENTS (shared, never written) until the first kept event. */
  private e: Array<string | number | undefined> = NO_EVENTS;
  /** The bucket last added to (records come roughly in time order). */
  private last = -1;

  /** The smallest bucket index held (Infinity: none). */
  get min(): number {
    return this.size === 0 ? Infinity : this.c[C_IDX]!;
  }

  /** The slot of `bucket`, or -1 - where it goes. */
  private find(bucket: number): number {
    const c = this.c;
    const k = this.last;
    if (k >= 0 && k < this.size && c[k * S] === bucket) return k;
    let lo = 0,
      hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c[mid * S]! < bucket) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.size && c[lo * S] === bucket ? lo : -1 - lo;
  }

  private insert(at: number, bucket: number): void {
    let c = this.c;
    const used = this.size * S;
    if (c instanceof Int32Array && (bucket | 0) !== bucket) c = this.widen();
    if (used + S > c.length) {
      const cap = Math.max(4 * S, S * Math.ceil((c.length / S) * 1.5));
      const bigger = c instanceof Int32Array ? int32s(cap) : new Float64Array(cap);
      bigger.set(c.subarray(0, used));
      if (c instanceof Int32Array) freeInt32s(c);
      this.c = c = bigger;
    }
    if (at < this.size) c.copyWithin((at + 1) * S, at * S, used);
    c.fill(0, at * S, (at + 1) * S);
    c[at * S + C_IDX] = bucket;
    this.size++;
  }

  /** Count an event in its bucket; whether the bucket is new. */
  add(bucket: number, id: string, session: string | undefined, api: string, failed: boolean, denied: boolean, read: boolean): boolean {
    let k = this.find(bucket);
    const fresh = k < 0;
    if (fresh) this.insert((k = -1 - k), bucket);
    this.last = k;
    let c = this.c;
    const o = k * S;
    if (c instanceof Int32Array && (c[o + C_N] === INT32_MAX || c[o + C_ERR] === INT32_MAX || c[o + C_DEN] === INT32_MAX)) c = this.widen();
    c[o + C_N]!++;
    let flags = 0;
    if (failed) {
      c[o + C_ERR]!++;
      if (c[o + C_ERRS]! < MAX_BUCKET_IDS) {
        c[o + C_ERRS]!++;
        flags |= F_ERR;
      }
    }
    if (denied) c[o + C_DEN]!++;
    const mayRef = c[o + C_REFS]! < MAX_BUCKET_IDS;
    if (mayRef || read) {
      // This API's references so far, and whether its first read is kept.
      const e = this.e;
      let same = 0,
        readKept = false;
      for (let x = c[o + C_HEAD]!; x !== 0; ) {
        const i = (x - 1) * E;
        const m = e[i + 3] as number;
        if (e[i + 2] === api) {
          if ((m & F_REF) !== 0) same++;
          if ((m & F_READ) !== 0) readKept = true;
        }
        x = m >>> 3;
      }
      if (mayRef && same < MAX_BUCKET_IDS_PER_API) {
        flags |= F_REF;
        c[o + C_REFS]!++;
      }
      if (read && !readKept) {
        flags |= F_READ;
        c[o + C_READS]!++;
      }
    }
    if (flags !== 0) {
      let e = this.e;
      if (e === NO_EVENTS) this.e = e = [];
      const x = e.length / E + 1;
      e.push(id, (flags & F_REF) !== 0 ? session : undefined, api, flags);
      const tail = c[o + C_TAIL]!;
      if (tail === 0) c[o + C_HEAD] = x;
      else (e[(tail - 1) * E + 3] as number) += x << 3;
      c[o + C_TAIL] = x;
    }
    return fresh;
  }

  /** Switch the columns to exact doubles. */
  private widen(): Float64Array {
    const c = this.c;
    const w = new Float64Array(c.length);
    w.set(c);
    if (c instanceof Int32Array) freeInt32s(c);
    this.c = w;
    return w;
  }

  /** Drop the buckets before `before` (ms), giving each one's distinct reads and index to `note`. */
  fold(before: number, note: (reads: number, bucket: number) => void): void {
    const c = this.c;
    let k0 = 0;
    while (k0 < this.size && c[k0 * S + C_IDX]! * BUCKET_MS < before) {
      note(c[k0 * S + C_READS]!, c[k0 * S + C_IDX]!);
      k0++;
    }
    if (k0 === 0) return;
    const kept = this.size - k0;
    c.copyWithin(0, k0 * S, this.size * S);
    this.size = kept;
    this.last = -1;
    // The kept buckets' events, copied bucket by bucket (their chains become runs).
    const e = this.e;
    const out: Array<string | number | undefined> = [];
    for (let k = 0; k < kept; k++) {
      const o = k * S;
      let head = 0,
        prev = 0;
      for (let x = c[o + C_HEAD]!; x !== 0; ) {
        const i = (x - 1) * E;
        const m = e[i + 3] as number;
        const y = out.length / E + 1;
        out.push(e[i], e[i + 1], e[i + 2], m & 7);
        if (prev === 0) head = y;
        else (out[(prev - 1) * E + 3] as number) += y << 3;
        prev = y;
        x = m >>> 3;
      }
      c[o + C_HEAD] = head;
      c[o + C_TAIL] = prev;
    }
    this.e = out;
  }

  clear(): void {
    this.c = NO_COLUMNS;
    this.e = NO_EVENTS;
    this.size = 0;
    this.last = -1;
  }

  /** The report's buckets starting in [wStart, wEnd], in time order; notes the session of each listed id in `idSessions`. */
  toBuckets(wStart: number, wEnd: number, idSessions: SessionNotes): Bucket[] {
    const out: Bucket[] = [];
    const c = this.c;
    const e = this.e;
    for (let k = 0; k < this.size; k++) {
      const o = k * S;
      const start = c[o + C_IDX]! * BUCKET_MS;
      if (start < wStart || start > wEnd) continue;
      // Arrays of the lengths the columns count (push would give each room for 17).
      const nRefs = c[o + C_REFS]!,
        nReads = c[o + C_READS]!,
        nErrs = c[o + C_ERRS]!;
      const ids = new Array<string>(nRefs);
      const idApis = new Array<string>(nRefs);
      const reads = new Array<string>(nReads);
      const readIds = new Array<string>(nReads);
      const errIds = new Array<string>(nErrs);
      let refs = 0,
        rd = 0,
        errs = 0;
      for (let x = c[o + C_HEAD]!; x !== 0; ) {
        const i = (x - 1) * E;
        const m = e[i + 3] as number;
        const id = e[i] as string;
        const api = e[i + 2] as string;
        if ((m & F_REF) !== 0) {
          ids[refs] = id;
          idApis[refs++] = api;
          const ss = e[i + 1] as string | undefined;
          if (ss !== undefined) idSessions.set(id, ss);
        }
        if ((m & F_READ) !== 0) {
          reads[rd] = api;
          readIds[rd++] = id;
        }
        if ((m & F_ERR) !== 0) errIds[errs++] = id;
        x = m >>> 3;
      }
      if (refs !== nRefs || rd !== nReads || errs !== nErrs)
        throw new Error(`WinBuckets: a bucket's kept events (${refs}, ${rd}, ${errs}) differ from its counts (${nRefs}, ${nReads}, ${nErrs})`);
      out.push({ start, n: c[o + C_N]!, err: c[o + C_ERR]!, denied: c[o + C_DEN]!, reads, readIds, ids, idApis, errIds });
    }
    return out;
  }
}

/** Everything one scan learns about one identity. Memory is bounded per identity. */
// Index 1 ("service") is never tracked per event: `dim("service")` derives it from the APIs.
const D_API = 0,
  D_SERVICE = 1,
  D_IP = 2,
  D_NETWORK = 3,
  D_COUNTRY = 4,
  D_REGION = 5,
  D_UA = 6,
  D_SESSION = 7,
  D_ERROR = 8,
  D_ROLE = 9,
  D_ITYPE = 10,
  D_TARGET = 11;
const DIM_NAMES: readonly Dim[] = ["api", "service", "ip", "network", "country", "region", "ua", "session", "errorCode", "assumedRole", "instanceType", "target"];

/**
 * No targets, as an array of the elements kind the lists of targets have (a `[]` literal starts
 * with another): `add` reads lists of one kind, and its optimised code is not thrown away when an
 * empty one comes. Never written.
 */
const NO_TARGETS: string[] = [""];
NO_TARGETS.length = 0;

/** No candidates (shared: empty, never written; IdentityAcc.candidates before the first). */
const NO_CANDIDATES: TrailEvent[] = [];
/** IdentityAcc.breadthBeforeWindow before `toWindow`. */
const NO_BREADTH: readonly [number, number] = [0, 0];

/** The targets IdentityAcc.add tracks of an event whose call reads them (readsTargets). */
export function accTargets(ev: EventFacts): readonly string[] {
  const one = keyTargetOf(ev);
  if (one !== undefined) return [one];
  // Key reads name their key in `resources`; a service acting for the caller reads no key of its own.
  const res = ev.resources;
  const resources = res instanceof KeyTarget ? res.entries() : res;
  const ts = targetsOf(ev.eventName, ev.requestParameters, { resources, viaService: ev.principal.invokedBy !== undefined || ev.ipKind === "service" });
  if (ts.length === 0) return NO_TARGETS;
  // The same strings in an array of the one kind `add` meets (packed, of any values, like NO_TARGETS
  // and `[one]`): targetsOf's lists come in several (map() makes holey ones), and each new kind
  // threw add's optimised code away, compiled again.
  const out = [ts[0]!];
  for (let i = 1; i < ts.length; i++) out.push(ts[i]!);
  return out;
}

/**
 * `o[k]`, through one keyed load for every object and key it is given: its inline cache is
 * megamorphic from the second key on, and its optimised code loads generically wherever it is
 * inlined. For the objects whose shapes vary and arrive late (request parameters, GeoInfo): a
 * load in IdentityAcc.add itself, optimised for the shapes seen so far, threw away add's optimised
 * code at each new shape, compiled again.
 */
function propOf(o: object, k: string): unknown {
  return (o as Record<string, unknown>)[k];
}

/**
 * The one target of a key read whose `resources` the fast lane read as a KeyTarget (what
 * targetsOf gives for it: its key, unless a service made the call), else undefined (accTargets).
 */
function keyTargetOf(ev: EventFacts): string | undefined {
  const res = ev.resources;
  return res instanceof KeyTarget && ev.principal.invokedBy === undefined && ev.ipKind !== "service" && KEY_CALLS.has(ev.eventName) ? res.target : undefined;
}

export class IdentityAcc implements Observed {
  /** The values of every dimension (dimensions numbered like DIM_NAMES). */
  private vals = new AccValues(idsForNew());
  /** The services, derived from the APIs when first asked (`dim("service")`, at the end), apart: the APIs' arrays are not grown for them. */
  private services: AccValues | null = null;
  private lastDay = NaN;
  private foldAt = 64;
  private oldFoldAt = 256;
  private lastOldBucket = 0;
  /** Counted (new-to-store) totals. */
  events = 0;
  errors = 0;
  denied = 0;
  first = Infinity;
  last = -Infinity;
  /** Days (since 1970) with activity, unordered (plain arrays: a few hundred bytes less than a Set or typed arrays per identity). */
  days: number[] = [];
  readonly hours: number[] = new Array<number>(24).fill(0);
  readonly weekdays: number[] = new Array<number>(7).fill(0);
  /** Buckets inside the moving window: rates and read breadth of the window. */
  private readonly win = new WinBuckets();
  /**
   * Read APIs per bucket of events before the moving window, in first-seen order: flat
   * [bucket, reads, ...], an API named by its value number (AccValues: one per API of this
   * identity), `reads` that API's number until a second distinct one, then -1 - the offset of the
   * bucket's segment in `oldPool`. Folded like a Map would be (see foldOldReads). Its first
   * `oldLen` entries are used: a fold compacts it in place and it keeps its length, so it grows
   * once per identity, not again after every fold. In an Int32Array (a Float64Array from the first
   * bucket index beyond 32 bits): 8 bytes a bucket off the V8 heap, where an array of bucket
   * numbers and API strings took 16, and a bucket's array (or Set) of strings another 50 to 7,000.
   */
  private oldReads: Int32Array | Float64Array = NO_COLUMNS;
  private oldLen = 0;
  /** The segments of buckets with more than one read API: [count, room, api, api, ...], `oldPoolLen` entries used. */
  private oldPool: Int32Array = NO_COLUMNS;
  private oldPoolLen = 0;
  /** The largest bucket in oldReads (a larger one is new: appended without a search). */
  private oldMax = -Infinity;
  /** Calls and errors per hour index (every event, so rescans can take the larger count per hour). */
  private hourly: HourCounts | null = new HourCounts();
  /** The hour being counted (records mostly arrive in time order): flushed to the maps on change. */
  private curHour = NaN;
  private curHourCalls = 0;
  private curHourErrors = 0;
  /** Read breadth of buckets folded so far (all before the window once `toWindow` ran). */
  breadthMax = 0;
  breadthBuckets = 0;
  /** Breadth of the history before the window, fixed by `toWindow` (the window's own buckets excluded). */
  breadthBeforeWindow: readonly [number, number] = NO_BREADTH;
  /** The identity's last source address, its kind and location (the scanner's fast path reuses them). */
  lastIp: string | undefined;
  lastIpKind: IpKind = "none";
  lastGeo: GeoInfo | undefined;
  /** The location `add` met last, and its network and country values (see readGeo). */
  private geoOf: GeoInfo | undefined;
  private geoNet: string | undefined;
  private geoCountry: string | undefined;
  /** NO_CANDIDATES (shared, never written) until the first. */
  candidates: TrailEvent[] = NO_CANDIDATES;
  /** The scanner's number for this accumulator (its position in creation order). */
  ordinal = 0;
  /** Principals of the latest kept candidates, distinct (see `share`). */
  private candPrincipals: Principal[] | undefined;
  /** Kept candidates per event name (created with the first candidate: most identities have none; so are the other maps below). */
  private candidateNames: Map<string, number> | undefined;
  /**
   * Candidates and geo points that fell out of the moving window are dropped when the lists reach
   * these lengths (amortised: then twice what is left): the window only moves forward, so they can
   * never be in the final window, and memory follows the window, not the events read.
   */
  private candidatePruneAt = 64;
  private geoPruneAt = 64;
  /** The window's geo points (null until the first: `geo` reads NO_GEO). */
  private geoPoints: GeoPoints | null = null;
  private geoLastMinute: Map<string, number> | undefined;
  private droppedCandidates = 0;
  private droppedGeo = 0;
  windowEvents = 0;
  /** Window events of MFA-authenticated sessions. */
  windowMfa = 0;
  /** Window activity per region, regional services only (IdentityWindow.regionActivity), in first-seen order. */
  private regionAct: RegionAct[] | undefined;

  constructor(
    public principal: Principal,
    /** Events at or before this time are already in the stored baseline: do not count them again. */
    readonly trainedUntil: number,
  ) {}

  /**
   * Drop what the scan learned (per-value counts, hourly counts, kept events), keeping only the
   * totals: the scanner calls it once it has the identity's window and merged profile, so that a
   * scan's end does not hold every identity's accumulator beside every profile and window.
   */
  release(): void {
    if (!this.released) releaseIds(this.vals.ids);
    if (dimScratchOf === this.vals || dimScratchOf === this.services) dimScratchOf = null;
    if (groupOf === this.vals) groupOf = null;
    if (apiServiceOf === this.services) apiServiceOf = null;
    this.released = true;
    this.vals = RELEASED;
    this.services = null;
    this.hourly = null;
    this.win.clear();
    this.oldReads = NO_COLUMNS;
    this.oldLen = 0;
    this.oldPool = NO_COLUMNS;
    this.oldPoolLen = 0;
    this.candidates = NO_CANDIDATES;
    this.candidateNames = undefined;
    this.candPrincipals = undefined;
    this.geoPoints = null;
    this.geoLastMinute = undefined;
    this.geoOf = undefined;
    this.regionAct = undefined;
    this.days = [];
  }
  private released = false;

  /** The window's geo points so far (an empty list, shared, before the first). */
  get geo(): GeoPoints {
    return this.geoPoints ?? NO_GEO;
  }

  /** Candidates and geo points left out so far (a new object on each call). */
  get dropped(): { candidates: number; geo: number } {
    return { candidates: this.droppedCandidates, geo: this.droppedGeo };
  }

  /** The values of one dimension seen in this scan, in first-seen order (a new map on each call). */
  dim(dim: Dim): ReadonlyMap<string, ValueStat> {
    const out = new Map<string, ValueStat>();
    this.eachValue(dim, (value, n, err, first, last) => void out.set(value, { n, err, first, last }));
    return out;
  }

  /** Observed.eachValue: the values of one dimension seen in this scan, in first-seen order (as `dim`), without a map or an object per value. */
  eachValue(dim: Dim, fn: (value: string, n: number, err: number, first: number, last: number) => void): void {
    const v = this.valuesOf(dim);
    const keys = v.keys;
    const code = v.code;
    const x = v.ext;
    // Read before the calls: valuesOf's answer and the shared grouping hold until the next valuesOf.
    const order = v === groupOf ? groupOrder : null;
    // Targets as given (see ValueIds.packTarget).
    const ids = dim === "target" ? v.ids : null;
    for (let k = inFrom, e = inTo; k < e; k++) {
      const r = order === null ? k : order[k]!;
      const c = code[r]!;
      const key = ids === null ? keys[r]! : ids.unpackTarget(keys[r]!);
      if (c < 0) {
        const o = 4 * EXT_OF(c);
        fn(key, x[o + 2]!, x[o + 3]!, x[o]!, x[o + 1]!);
      } else if (c >= 0) {
        // Seen once (see AccValues.code).
        const t0 = onceTime(c);
        const m = onceCounts(c);
        fn(key, m >> 1, m & 1, t0, t0);
      } else fn(key, 0, 0, Infinity, -Infinity);
    }
  }

  /** Observed.valueCount: how many values `eachValue` gives for a dimension (grouped once: no pass over them). */
  valueCount(dim: Dim): number {
    this.valuesOf(dim);
    return inTo - inFrom;
  }

  /** Observed.valueStat: the counts of one value of a dimension seen in this scan, as eachValue gives them, or undefined; one lookup, nothing added. */
  valueStat(dim: Dim, value: string): [n: number, err: number, first: number, last: number] | undefined {
    if (this.released) throw new Error("IdentityAcc.valueStat after release()");
    const di = DIM_NAMES.indexOf(dim);
    const v = di === D_SERVICE ? (this.services ??= this.deriveServices()) : this.vals;
    const r = v.lookup(di, value);
    return r < 0 ? undefined : v.tuple(r);
  }

  /** Observed.valueFirst: `valueStat(dim, value)?.[2]` (when the scan first saw the value), without the tuple: BaselineView.known asks it for the window's values. */
  valueFirst(dim: Dim, value: string): number | undefined {
    if (this.released) throw new Error("IdentityAcc.valueFirst after release()");
    const di = DIM_NAMES.indexOf(dim);
    const v = di === D_SERVICE ? (this.services ??= this.deriveServices()) : this.vals;
    const r = v.lookup(di, value);
    return r < 0 ? undefined : v.first(r);
  }

  /**
   * Where a dimension's values are: that AccValues, whose value numbers of the dimension are
   * then groupOrder[inFrom .. inTo) when it is `groupOf`, else inFrom .. inTo themselves (the
   * services, all of one dimension). Valid until the next call.
   */
  private valuesOf(dim: Dim): AccValues {
    if (this.released) throw new Error("IdentityAcc.dim after release()");
    const di = DIM_NAMES.indexOf(dim);
    if (di === D_SERVICE) {
      const s = (this.services ??= this.deriveServices());
      inFrom = 0;
      inTo = s.size;
      return s;
    }
    const v = this.vals;
    groupValues(v);
    inFrom = groupStart[di]!;
    inTo = groupStart[di + 1]!;
    return v;
  }

  /**
   * Services are not tracked per event: they are the `service:` prefixes of the APIs, summed.
   * Their window counts are the APIs' too, summed when the window is built (toWindow): no window
   * side here.
   */
  private deriveServices(): AccValues {
    const v = this.vals;
    const out = new AccValues(v.ids);
    groupValues(v);
    const order = groupOrder;
    const keys = v.keys;
    const code = v.code;
    const x = v.ext;
    const from = groupStart[D_API]!;
    const to0 = groupStart[D_API + 1]!;
    // Each API's service number, by its place among the APIs (serviceWindows reads it).
    if (apiService.length < to0 - from) apiService = new Int32Array(Math.max(to0 - from, 2 * apiService.length));
    apiServiceOf = out;
    apiServiceCount = to0 - from;
    for (let k = from; k < to0; k++) {
      const a = order[k]!;
      const sv = out.find(D_SERVICE, serviceOf(keys[a]!));
      apiService[k - from] = sv;
      const o = out.entry(sv);
      const to = out.ext;
      // The API's counts (as `tuple` gives them).
      const c = code[a]!;
      let n = 0,
        err = 0,
        first = Infinity,
        last = -Infinity;
      if (c < 0) {
        const q = 4 * EXT_OF(c);
        n = x[q + 2]!;
        err = x[q + 3]!;
        first = x[q]!;
        last = x[q + 1]!;
      } else if (c >= 0) {
        const m = onceCounts(c);
        n = m >> 1;
        err = m & 1;
        first = last = onceTime(c);
      }
      to[o + 2]! += n;
      to[o + 3]! += err;
      if (first < to[o]!) to[o] = first;
      if (last > to[o + 1]!) to[o + 1] = last;
    }
    return out;
  }

  /**
   * The services' window counts: each service's as an MStat that absorbed its APIs' window sides
   * in the APIs' order would give them (MStat.absorbedStat), in the services' order.
   */
  private serviceWindows(wStart: number, sessions: SessionNotes): Map<string, WinStat> {
    const out = new Map<string, WinStat>();
    const services = (this.services ??= this.deriveServices());
    const v = this.vals;
    groupValues(v);
    const m = services.size;
    // Each service's APIs with a window side, in the APIs' order: a list through `svcNext` from `svcHead`.
    if (svcHead.length < m) {
      svcHead = new Int32Array(Math.max(m, 2 * svcHead.length));
      svcTail = new Int32Array(svcHead.length);
    }
    svcHead.fill(-1, 0, m);
    let sides = 0;
    const from = groupStart[D_API]!;
    const to = groupStart[D_API + 1]!;
    // The services' numbers as deriveServices found them (when it derived these services from these APIs), else looked up.
    const known = apiServiceOf === services && apiServiceCount === to - from;
    for (let k = from; k < to; k++) {
      const a = groupOrder[k]!;
      const w = v.winOf(a);
      if (w === undefined) continue;
      const sv = known ? apiService[k - from]! : services.lookup(D_SERVICE, serviceOf(v.keys[a]!));
      if (sides === svcSides.length) {
        svcSides.push(w);
        svcNext.push(-1);
      } else {
        svcSides[sides] = w;
        svcNext[sides] = -1;
      }
      if (svcHead[sv] === -1) svcHead[sv] = sides;
      else svcNext[svcTail[sv]!] = sides;
      svcTail[sv] = sides++;
    }
    if (sides === 0) return out;
    const group = svcGroup;
    let most = 0;
    for (let sv = 0; sv < m; sv++) {
      let count = 0;
      for (let j = svcHead[sv]!; j !== -1; j = svcNext[j]!) group[count++] = svcSides[j]!;
      if (count === 0) continue;
      if (count > most) most = count;
      const st = MStat.absorbedStat(group, count, wStart, sessions);
      if (st !== undefined) out.set(services.keys[sv]!, st);
    }
    // No window side held past the call.
    svcSides.fill(undefined, 0, sides);
    group.fill(undefined, 0, most);
    return out;
  }

  /**
   * Fold an event in. `inWindow`: the event is at or after the moving window start and matches
   * the scan's filters; `wmin` is the current (moving) window start.
   */
  add(
    ev: EventFacts,
    geo: GeoInfo | undefined,
    inWindow: boolean,
    wmin: number,
    candidate: TrailEvent | undefined,
    /** The event's targets when the caller has them (`accTargets`: a fold worker's rows carry them, not the parameters). */
    targets?: readonly string[],
  ): void {
    const t = ev.time;
    const counted = t > this.trainedUntil;
    const failed = ev.failed;
    const denied = ev.denied;
    if (t < this.first) this.first = t;
    if (t > this.last) this.last = t;
    const day = Math.floor(t / 86_400_000);
    const hour = Math.floor(t / HOUR);
    if (counted) {
      this.events++;
      if (failed) this.errors++;
      if (denied) this.denied++;
      this.hours[hour % 24]!++;
      this.weekdays[(day + 4) % 7]!++; // 1970-01-01 was a Thursday
    }
    if (day !== this.lastDay) {
      if (!this.days.includes(day)) this.days.push(day);
      this.lastDay = day;
    }

    // Bucket index, a small integer: a cheaper Map key than the start time in milliseconds.
    const bucket = Math.floor(t / BUCKET_MS);
    // Per event: a service acting with the caller's credentials stays out of IP and UA baselines.
    const viaService = ev.principal.invokedBy !== undefined;
    const ipKind = ev.ipKind;

    const apiNum = this.track(D_API, ev.api, t, ev, counted, inWindow, bucket, wmin);
    this.track(D_REGION, ev.region, t, ev, counted, inWindow, bucket, wmin);
    if (!viaService) {
      if (ipKind === "public" || ipKind === "private") this.track(D_IP, ev.sourceIp, t, ev, counted, inWindow, bucket, wmin);
      this.track(D_UA, ev.uaFamily, t, ev, counted, inWindow, bucket, wmin);
      if (geo) {
        if (geo !== this.geoOf) this.readGeo(geo);
        if (this.geoNet !== undefined) this.track(D_NETWORK, this.geoNet, t, ev, counted, inWindow, bucket, wmin);
        if (this.geoCountry !== undefined) this.track(D_COUNTRY, this.geoCountry, t, ev, counted, inWindow, bucket, wmin);
      }
    }
    const session = ev.principal.sessionName;
    if (session) this.track(D_SESSION, session, t, ev, counted, inWindow, bucket, wmin);
    if (ev.errorCode) this.track(D_ERROR, ev.errorCode, t, ev, counted, inWindow, bucket, wmin);
    const nf = nameFlags(ev.eventName);
    if ((nf & NF_PARAMS) !== 0) {
      const rp = ev.requestParameters;
      if ((nf & NF_TARGETS) !== 0) {
        // Key reads name their key in `resources`; a service acting for the caller reads no key of its own.
        const one = targets === undefined ? keyTargetOf(ev) : undefined;
        if (one !== undefined) this.track(D_TARGET, one, t, ev, counted, inWindow, bucket, wmin);
        else {
          const ts = targets ?? accTargets(ev);
          for (let i = 0; i < ts.length; i++) this.track(D_TARGET, ts[i]!, t, ev, counted, inWindow, bucket, wmin);
        }
      } else if (rp) {
        const run = (nf & NF_RUN) !== 0;
        const v = propOf(rp, run ? "instanceType" : "roleArn");
        // No window side (inWindow false): toWindow reads none of these two dimensions.
        if (typeof v === "string" && v.length > 0) this.track(run ? D_ITYPE : D_ROLE, v, t, ev, counted, false, bucket, wmin);
      }
    }

    // Hourly history (every event), window buckets (rates, breadth), breadth before the window.
    if (hour !== this.curHour) {
      this.flushHour();
      this.curHour = hour;
    }
    this.curHourCalls++;
    if (failed) this.curHourErrors++;
    const read = (nf & NF_READ) !== 0;
    if (t >= wmin) {
      if (this.win.add(bucket, ev.id, ev.principal.sessionName, ev.api, failed, denied, read)) {
        // A new bucket. The window moved on: fold what fell out (amortised).
        if (this.win.size >= this.foldAt && this.win.min * BUCKET_MS < wmin) {
          this.foldBefore(wmin);
          this.foldAt = Math.max(64, this.win.size * 2);
        }
      }
    } else if (read) this.oldRead(bucket, apiNum);

    if (inWindow) {
      this.windowEvents++;
      if (ev.principal.mfa === true) this.windowMfa++;
      if (isRegionalApi(ev.api)) this.noteRegion(ev);
      if (ipKind === "public" && !viaService) this.addGeo(ev, wmin);
      if (candidate) this.addCandidate(candidate, wmin);
    }
  }

  /**
   * The network and country values of a location, noted for `add` while the identity's events
   * keep it (consecutive events mostly do): GeoInfo objects come in several shapes, read here
   * once per change, not per event.
   */
  private readGeo(geo: GeoInfo): void {
    this.geoOf = geo;
    // Through propOf: GeoInfo objects come in several shapes, some met late.
    const asn = propOf(geo, "asn") as GeoInfo["asn"];
    const country = propOf(geo, "country") as GeoInfo["country"];
    this.geoNet = asn !== undefined ? asnKey(asn) : undefined;
    this.geoCountry = country ? country : undefined;
  }

  /** Count an event's value of dimension `di`; the value's number. */
  private track(di: number, value: string, t: number, ev: EventFacts, counted: boolean, inWindow: boolean, bucket: number, wmin: number): number {
    // Consecutive events of one identity mostly repeat their IP, region, user agent: skip the lookup.
    // Else often the one before it (an address, API or session the identity goes back and forth to).
    const d = this.vals;
    const lk = d.lastKeys,
      lv = d.lastValues;
    let i: number;
    if (lk[di] === value) i = lv[di]!;
    else {
      const p = di + DIM_COUNT;
      i = lk[p] === value ? lv[p]! : d.find(di, value);
      lk[p] = lk[di];
      lv[p] = lv[di]!;
      lk[di] = value;
      lv[di] = i;
    }
    const o = d.count(i, t, counted, ev.failed, inWindow);
    if (inWindow) d.addWindow(o, bucket, t, ev.id, ev.failed, ev.denied, wmin, ev.principal.sessionName);
    return i;
  }

  private noteRegion(ev: EventFacts): void {
    const ra = (this.regionAct ??= []);
    let r: RegionAct | undefined;
    for (let i = 0; i < ra.length; i++)
      if (ra[i]!.region === ev.region) {
        r = ra[i]!;
        break;
      }
    if (r === undefined) {
      if (ra.length >= 64) return; // bounded: more regions than AWS has
      r = new RegionAct(ev.region, ev.time);
      this.regionAct = plus(ra, r);
    }
    r.n++;
    if (ev.time > r.last) r.last = ev.time;
    if (r.apis.length < 20 && !r.apis.includes(ev.api)) r.apis = plus(r.apis, ev.api);
    if (r.times.length < 10 && r.apiCount(ev.api) < 3) {
      r.kept = plus(plus(r.kept, ev.id), ev.api);
      r.times = plus(r.times, ev.time);
    }
  }

  private addGeo(ev: EventFacts, wmin: number): void {
    const minute = Math.floor(ev.time / 60_000);
    const glm = (this.geoLastMinute ??= new Map());
    if (glm.get(ev.sourceIp) === minute) return;
    glm.set(ev.sourceIp, minute);
    const geo = (this.geoPoints ??= new GeoPoints());
    if (geo.length >= this.geoPruneAt && geo.length < MAX_GEO_POINTS) {
      geo.keepFrom(wmin);
      this.geoPruneAt = Math.max(64, 2 * geo.length);
    }
    if (geo.length >= MAX_GEO_POINTS) {
      geo.keepFrom(wmin);
      if (geo.length >= MAX_GEO_POINTS) {
        this.droppedGeo++;
        return;
      }
    }
    geo.push(ev.time, ev.sourceIp, ev.id, ev.principal.sessionName || undefined);
  }

  /**
   * Keep an event for the event detectors. Bounded per identity; when full, the most common event
   * name gives up one of its events (a flood of one call cannot crowd out a rare StopLogging),
   * and every event left out is counted.
   */
  private addCandidate(ev: TrailEvent, wmin: number): void {
    const names = (this.candidateNames ??= new Map());
    if (this.candidates.length >= this.candidatePruneAt && this.candidates.length < MAX_CANDIDATES) {
      // Only events before the window go (the same ones the filter at the cap drops first).
      const kept = this.candidates.filter((c) => c.time >= wmin);
      if (kept.length < this.candidates.length) {
        this.candidates = kept;
        names.clear();
        for (const c of kept) names.set(c.eventName, (names.get(c.eventName) ?? 0) + 1);
      }
      this.candidatePruneAt = Math.max(64, 2 * kept.length);
    }
    if (this.candidates.length >= MAX_CANDIDATES) {
      this.candidates = this.candidates.filter((c) => c.time >= wmin);
      names.clear();
      for (const c of this.candidates) names.set(c.eventName, (names.get(c.eventName) ?? 0) + 1);
    }
    if (this.candidates.length >= MAX_CANDIDATES) {
      let top = "",
        topN = 0;
      for (const [name, n] of this.candidateNames) if (n > topN) [top, topN] = [name, n];
      const mine = names.get(ev.eventName) ?? 0;
      this.droppedCandidates++;
      if (mine + 1 >= topN) return; // this name is (about) the most common itself: drop the newcomer
      // Evict the newest event of the most common name.
      for (let i = this.candidates.length - 1; i >= 0; i--) {
        if (this.candidates[i]!.eventName === top) {
          this.candidates.splice(i, 1);
          names.set(top, topN - 1);
          break;
        }
      }
    }
    this.share(ev);
    if (this.candidates === NO_CANDIDATES) this.candidates = [];
    this.candidates.push(ev);
    names.set(ev.eventName, (names.get(ev.eventName) ?? 0) + 1);
  }

  /**
   * Make a kept event share what equals another's: its principal (an object of a few strings,
   * parsed anew for every record on the full path) with an equal one of this identity's recent
   * candidates (same fields in the same order, same values), and its short descriptive strings
   * with earlier events' (interned). Nothing a reader can tell apart: same fields, same values.
   */
  private share(ev: TrailEvent): void {
    const p = ev.principal;
    const known = (this.candPrincipals ??= []);
    let same: Principal | undefined;
    for (let i = known.length - 1; i >= 0; i--) {
      const q = known[i]!;
      if (q === p || samePrincipal(q, p)) {
        same = q;
        break;
      }
    }
    if (same === undefined) {
      if (known.length >= 8) known.shift();
      known.push(p);
    } else if (same !== p) ev.principal = same;
    ev.responseElements = readResponse(ev.eventName, ev.responseElements);
    ev.eventType = intern(ev.eventType);
    ev.eventSource = intern(ev.eventSource);
    ev.userAgent = intern(ev.userAgent);
    ev.sourceIp = intern(ev.sourceIp);
    if (ev.eventCategory !== undefined) ev.eventCategory = intern(ev.eventCategory);
    if (ev.rawEventName !== ev.eventName) ev.rawEventName = intern(ev.rawEventName);
  }

  /** Move window buckets older than `before` into the history (their read breadth). */
  foldBefore(before: number): void {
    if (this.win.min * BUCKET_MS >= before) return;
    this.win.fold(before, (reads, bucket) => this.noteBreadth(reads, bucket));
  }

  /** A read API (its value number) in a bucket before the window. */
  private oldRead(bucket: number, api: number): void {
    this.lastOldBucket = bucket;
    const o = this.oldReads;
    const len = this.oldLen;
    let i = -1;
    if (bucket <= this.oldMax) {
      // Usually the last bucket; otherwise search backwards (records are roughly ordered).
      i = len - 2;
      while (i >= 0 && o[i] !== bucket) i -= 2;
    } else this.oldMax = bucket;
    if (i < 0) {
      let a = o;
      if (len === a.length || (a instanceof Int32Array && (bucket | 0) !== bucket)) a = this.growOldReads(bucket);
      a[len] = bucket;
      a[len + 1] = api;
      this.oldLen = len + 2;
      if (len + 2 >= 2 * this.oldFoldAt) this.foldOldReads();
      return;
    }
    const cur = o[i + 1]!;
    if (cur >= 0) {
      if (cur !== api) o[i + 1] = -1 - this.newSegment(cur, api);
      return;
    }
    // A bucket of several reads: add `api` to its segment unless it is there.
    const p = this.oldPool;
    const at = -1 - cur;
    const n = p[at]!;
    for (let k = at + 2, e = at + 2 + n; k < e; k++) if (p[k] === api) return;
    if (n < p[at + 1]!) {
      p[at + 2 + n] = api;
      p[at] = n + 1;
      return;
    }
    const room = 2 * n;
    if (at + 2 + n === this.oldPoolLen) {
      // Full and last in the pool (the bucket being filled, nearly always): twice the room in place.
      this.poolRoom(room - n);
      const q = this.oldPool;
      q[at] = n + 1;
      q[at + 1] = room;
      q[at + 2 + n] = api;
      return;
    }
    // Full: the segment moves to the end with twice the room (a fold drops what it left).
    const to = this.poolRoom(2 + room);
    const q = this.oldPool;
    q.copyWithin(to, at, at + 2 + n);
    q[to] = n + 1;
    q[to + 1] = room;
    q[to + 2 + n] = api;
    o[i + 1] = -1 - to;
  }

  /** A segment of two reads (room for four); its offset in oldPool. */
  private newSegment(a: number, b: number): number {
    const to = this.poolRoom(6);
    const q = this.oldPool;
    q[to] = 2;
    q[to + 1] = 4;
    q[to + 2] = a;
    q[to + 3] = b;
    return to;
  }

  /** `n` more entries at the end of oldPool (grown by doubling); where they start. */
  private poolRoom(n: number): number {
    const at = this.oldPoolLen;
    if (at + n > this.oldPool.length) {
      const g = int32s(Math.max(64, 2 * (at + n)));
      g.set(this.oldPool.subarray(0, at));
      freeInt32s(this.oldPool);
      this.oldPool = g;
    }
    this.oldPoolLen = at + n;
    return at;
  }

  /**
   * oldReads with room for one more bucket, exact for `bucket`: twice as long (32 entries at
   * first, at most a fold's worth); doubles from the first bucket index beyond 32 bits.
   */
  private growOldReads(bucket: number): Int32Array | Float64Array {
    const o = this.oldReads;
    const len = this.oldLen;
    const size = len === o.length ? (len === 0 ? 32 : Math.min(2 * len, Math.max(2 * this.oldFoldAt, len + 2))) : o.length;
    const g = o instanceof Int32Array && (bucket | 0) === bucket ? int32s(size) : new Float64Array(size);
    for (let k = 0; k < len; k++) g[k] = o[k]!;
    if (o instanceof Int32Array) freeInt32s(o);
    this.oldReads = g;
    return g;
  }

  /** The distinct reads of a bucket (its `reads` entry). */
  private readsIn(r: number): number {
    return r >= 0 ? 1 : this.oldPool[-1 - r]!;
  }

  /**
   * Fold read buckets from before the window. Records of one bucket may still arrive later (any
   * order is allowed), so buckets are folded in batches and a bucket that reappears is counted
   * again from scratch: breadth is a maximum, so a split bucket can only under-count it.
   */
  private foldOldReads(): void {
    // Keep the 32 buckets nearest the one being filled (records arrive roughly in time order,
    // forwards or backwards), ties to the first seen (as a Map's keys in a stable sort did); fold
    // the rest. Each bucket's rank is one exact number, distance * count + position, sorted in a
    // reused typed array: no index array, no comparator, no copy per fold. Folding order does not
    // matter (noteBreadth takes a maximum and a count).
    const at = this.lastOldBucket;
    const o = this.oldReads;
    const n = this.oldLen / 2;
    if (foldKeys.length < n) foldKeys = new Float64Array(Math.max(n, 2 * foldKeys.length));
    const keys = foldKeys.subarray(0, n);
    for (let j = 0; j < n; j++) keys[j] = Math.abs(o[2 * j]! - at) * n + j;
    keys.sort();
    const last = n > OLD_KEEP ? keys[OLD_KEEP - 1]! : Infinity;
    // The kept buckets move to the front, in their order (w <= 2 * j: nothing unread is overwritten);
    // the kept segments to a work space, then to the front of the pool.
    let w = 0;
    let max = -Infinity;
    let sw = 0;
    for (let j = 0; j < n; j++) {
      const b = o[2 * j]!;
      const r = o[2 * j + 1]!;
      if (Math.abs(b - at) * n + j <= last) {
        o[w] = b;
        if (r >= 0) o[w + 1] = r;
        else {
          // The segment, exactly as long as its reads (room for one more at least).
          const p = this.oldPool;
          const from = -1 - r;
          const c = p[from]!;
          if (segScratch.length < sw + 3 + c) {
            const g = new Int32Array(Math.max(2 * segScratch.length, sw + 3 + c));
            g.set(segScratch.subarray(0, sw));
            segScratch = g;
          }
          segScratch.set(p.subarray(from, from + 2 + c), sw);
          segScratch[sw + 1] = c + 1;
          o[w + 1] = -1 - sw;
          sw += 3 + c;
        }
        w += 2;
        if (b > max) max = b;
      } else this.noteBreadth(this.readsIn(r), b);
    }
    if (sw > this.oldPool.length) {
      freeInt32s(this.oldPool);
      this.oldPool = int32s(sw);
    }
    this.oldPool.set(segScratch.subarray(0, sw));
    this.oldPoolLen = sw;
    this.oldLen = w;
    this.oldMax = max;
    this.oldFoldAt = Math.max(256, (w / 2) * 2);
  }

  /** Fold every bucket before the window still held. */
  private foldAllOldReads(): void {
    const o = this.oldReads;
    for (let i = 0; i < this.oldLen; i += 2) this.noteBreadth(this.readsIn(o[i + 1]!), o[i]!);
    // Not given back to the pool: this runs at a scan's end, where a spare view would keep its
    // whole shared buffer alive after the accumulators holding the rest are released.
    this.oldReads = NO_COLUMNS;
    this.oldLen = 0;
    this.oldPool = NO_COLUMNS;
    this.oldPoolLen = 0;
    this.oldMax = -Infinity;
  }

  /**
   * A bucket's read breadth. The maximum takes every bucket; the count only buckets that start
   * after the stored baseline's `trainedUntil`, the rest being in the stored count already (a
   * rescan of the same files must not count them again).
   */
  private noteBreadth(r: number, bucket: number): void {
    if (r > this.breadthMax) this.breadthMax = r;
    if (!(bucket * BUCKET_MS <= this.trainedUntil)) this.breadthBuckets++;
  }

  private flushHour(): void {
    if (this.curHourCalls === 0) return;
    this.hourly?.add(this.curHour, this.curHourCalls, this.curHourErrors);
    this.curHourCalls = this.curHourErrors = 0;
  }

  /** Observed.hourlyCounts: calls and errors per hour index, every event counted, as flat ascending triples (read at the end, not kept). */
  hourlyCounts(): ArrayLike<number> {
    this.flushHour();
    return this.hourly === null ? [] : this.hourly.triples();
  }

  /** Fold everything still held (before persisting the profile). */
  foldAll(): void {
    this.foldAllOldReads();
    this.foldBefore(Infinity);
  }

  /** Window activity per region (events at or after the moving window start; the window's own bounds applied to first/last). */
  private regionActivity(wStart: number, wEnd: number): Map<string, RegionActivity> {
    const out = new Map<string, RegionActivity>();
    if (this.regionAct === undefined) return out;
    for (const r of this.regionAct) {
      // Events the moving window has since left behind are not cited.
      const keep: string[] = [];
      const times: number[] = [];
      for (let i = 0; i < r.times.length; i++) {
        const t = r.times[i]!;
        if (!(t >= wStart && t <= wEnd)) continue;
        keep.push(r.kept[2 * i]!);
        times.push(t);
      }
      if (keep.length === 0) continue;
      out.set(r.region, { n: r.n, first: Math.min(...times), last: Math.max(r.last <= wEnd ? r.last : -Infinity, ...times), apis: r.apis.slice(), ids: keep });
    }
    return out;
  }

  /** Build the window view; folds everything before `wStart` into history first. */
  toWindow(wStart: number, wEnd: number, geoLookup: (ip: string) => GeoInfo | undefined): IdentityWindow {
    this.foldBefore(wStart);
    this.foldAllOldReads();
    this.breadthBeforeWindow = [this.breadthMax, this.breadthBuckets];
    const idSessions = new IdSessions();
    const maps = (dim: Dim): Map<string, WinStat> => {
      const v = this.valuesOf(dim);
      return v.windowMap(v === groupOf ? groupOrder : null, inFrom, inTo, wStart, idSessions, dim === "target");
    };
    const buckets = this.win.toBuckets(wStart, wEnd, idSessions);
    const sessions = maps("session");
    const inWin = (t: number) => t >= wStart && t <= wEnd;
    const candidates = this.candidates.filter((c) => inWin(c.time)).sort((a, b) => a.time - b.time);
    const geo = this.geo.points(wStart, wEnd, geoLookup).sort((a, b) => a.time - b.time);
    let first = Infinity,
      last = -Infinity,
      events = 0,
      errors = 0,
      denied = 0;
    const apis = maps("api");
    for (const w of apis.values()) {
      if (w.first < first) first = w.first;
      if (w.last > last) last = w.last;
      events += w.n;
      errors += w.err;
      denied += w.denied;
    }
    return {
      principal: this.principal,
      sessions: [...sessions.keys()],
      // Window events after filters. Buckets also hold filtered-out events and serve rates only.
      events,
      errors,
      denied,
      first,
      last,
      apis,
      services: this.serviceWindows(wStart, idSessions),
      regions: maps("region"),
      ips: maps("ip"),
      networks: maps("network"),
      countries: maps("country"),
      uas: maps("ua"),
      errorCodes: maps("errorCode"),
      targets: maps("target"),
      buckets,
      geo,
      candidates,
      dropped: this.dropped,
      idSessions,
      mfaEvents: this.windowMfa,
      regionActivity: this.regionActivity(wStart, wEnd),
    };
  }
}

/**
 * An identity's geo points in the moving window (one per source address and minute), in columns:
 * times as unboxed doubles, [ip, eventId, session] beside them. A GeoPoint object per point took
 * ~95 bytes (its time boxed, its session in a property array of its own); the objects are made
 * for the window's points at the end.
 */
class GeoPoints {
  private t: number[] = [];
  private s: Array<string | undefined> = [];

  get length(): number {
    return this.t.length;
  }

  push(time: number, ip: string, eventId: string, session: string | undefined): void {
    this.t.push(time);
    this.s.push(ip, eventId, session);
  }

  clear(): void {
    this.t = [];
    this.s = [];
  }

  /** Drop the points before `wmin` (the rest keep their order). */
  keepFrom(wmin: number): void {
    // Nothing to drop (records read newest first never have): no copy, which would be garbage.
    let k = 0;
    while (k < this.t.length && this.t[k]! >= wmin) k++;
    if (k === this.t.length) return;
    const t: number[] = [];
    const s: Array<string | undefined> = [];
    for (let i = 0; i < this.t.length; i++) {
      if (!(this.t[i]! >= wmin)) continue;
      t.push(this.t[i]!);
      s.push(this.s[3 * i], this.s[3 * i + 1], this.s[3 * i + 2]);
    }
    this.t = t;
    this.s = s;
  }

  /** The points in [from, to], in the order kept, each with its location (`geoLookup`) when it has one. */
  points(from: number, to: number, geoLookup: (ip: string) => GeoInfo | undefined): GeoPoint[] {
    const out: GeoPoint[] = [];
    for (let i = 0; i < this.t.length; i++) {
      const time = this.t[i]!;
      if (!(time >= from && time <= to)) continue;
      const ip = this.s[3 * i]!;
      const point: GeoPoint = { time, ip, eventId: this.s[3 * i + 1]! };
      const session = this.s[3 * i + 2];
      if (session !== undefined) point.session = session;
      // Last, as a copy of the point with it took it (field order: the report writes them in it).
      const info = geoLookup(ip);
      if (info) point.geo = info;
      out.push(point);
    }
    return out;
  }
}

/** No geo points (shared: IdentityAcc.geo before the first; never written). */
const NO_GEO = new GeoPoints();

/**
 * An identity's window activity in one region (IdentityAcc.noteRegion): its events counted, the
 * latest time, up to 20 distinct APIs and up to 10 kept events (id and API, and their times; at
 * most 3 of one API), in arrays grown one entry at a time: push gives an array its first room
 * for 17 entries, and an object with four such arrays and a Map entry took ~850 bytes a region
 * (18 MB on realistic 1M events / 20,000 identities) to hold a few events.
 */
class RegionAct {
  n = 0;
  apis: string[] = [];
  /** Kept events: [id, api, id, api, ...]. */
  kept: string[] = [];
  times: number[] = [];

  constructor(
    readonly region: string,
    public last: number,
  ) {}

  /** Kept events of `api`. */
  apiCount(api: string): number {
    let n = 0;
    for (let i = 1; i < this.kept.length; i += 2) if (this.kept[i] === api) n++;
    return n;
  }
}

/** A copy of `a` one entry longer, with `x` last (exactly that long: see RegionAct). */
function plus<T>(a: readonly T[], x: T): T[] {
  const n = a.length;
  const b = new Array<T>(n + 1);
  for (let i = 0; i < n; i++) b[i] = a[i]!;
  b[n] = x;
  return b;
}

/**
 * IdentityAcc.deriveServices' answer for serviceWindows: the service number (in `apiServiceOf`)
 * of each of the `apiServiceCount` APIs of the accumulator it derived them from, by the API's place
 * among them (groupOrder). Valid for those services only.
 */
let apiService = new Int32Array(64);
let apiServiceOf: AccValues | null = null;
let apiServiceCount = 0;

/** IdentityAcc.serviceWindows' work space: per service its first and last API side, the sides and the next of each, one service's sides. */
let svcHead = new Int32Array(64);
let svcTail = new Int32Array(64);
const svcSides: Array<WinSide | undefined> = [];
const svcNext: number[] = [];
const svcGroup: Array<WinSide | undefined> = [];

/** The service of an API (`service:EventName`): its prefix, one string per API (bounded like readCache). */
const serviceOfApi = new Map<string, string>();
function serviceOf(api: string): string {
  let s = serviceOfApi.get(api);
  if (s === undefined) {
    s = api.slice(0, api.indexOf(":"));
    if (serviceOfApi.size < 20000) serviceOfApi.set(api, s);
  }
  return s;
}

/** Buckets before the window kept by a fold (the nearest to the one being filled). */
const OLD_KEEP = 32;
/** foldOldReads' ranks, reused from fold to fold. */
let foldKeys = new Float64Array(256);
/** foldOldReads' work space for the kept buckets' segments. */
let segScratch = new Int32Array(256);

/** Two principals with the same fields in the same order and the same values. */
function samePrincipal(a: Principal, b: Principal): boolean {
  // Most principals compared differ in one of these (the session, the key): no key lists made for them.
  if (a.key !== b.key || a.sessionName !== b.sessionName || a.arn !== b.arn || a.accessKeyId !== b.accessKeyId || a.principalId !== b.principalId) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i] || (a as unknown as Record<string, unknown>)[k] !== (b as unknown as Record<string, unknown>)[k]) return false;
  }
  return true;
}

/**
 * The response fields detectors read of a kept event, by lower-case name (`re` in
 * detectors/lib/util.ts finds keys case-insensitively): `re(ev, "<name>")` and
 * `ev.responseElements?.<name>` in src/detectors, and root-activity's field named after the event
 * (its sign-in outcome). A detector that reads another must add it here:
 * test/ingest/kept-response.test.ts reads the detectors' sources for such reads.
 */
export const RESPONSE_FIELDS_READ: ReadonlySet<string> = new Set(["consolelogin", "samlproviderarn", "layers", "publiclyaccessible"]);

/**
 * What a kept event holds of its response: the fields detectors read (RESPONSE_FIELDS_READ, and
 * the one named after the event), in their order, in an object of the same prototype; null when
 * it has none of them. The rest is never read: an AssumeRole's credentials and assumed-role user
 * took ~420 bytes of the ~1,100 its kept event held (realistic 3M events: 8.3 MB of 26 MB of
 * candidates).
 */
export function readResponse(eventName: string, r: Record<string, unknown> | null): Record<string, unknown> | null {
  if (r === null || typeof r !== "object") return r;
  const name = eventName.toLowerCase();
  let kept: Record<string, unknown> | null = null;
  let all = true;
  for (const k of Object.keys(r)) {
    const lk = k.toLowerCase();
    if (RESPONSE_FIELDS_READ.has(lk) || lk === name) (kept ??= Object.create(Object.getPrototypeOf(r)) as Record<string, unknown>)[k] = r[k];
    else all = false;
  }
  return all ? r : kept;
}

/** Short strings of kept events, one copy each (bounded like readCache). */
const interned = new Map<string, string>();
function intern(s: string): string {
  if (typeof s !== "string" || s.length > 256) return s;
  const k = interned.get(s);
  if (k !== undefined) return k;
  if (interned.size < 50_000) interned.set(s, s);
  return s;
}
