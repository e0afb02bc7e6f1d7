import type { Dim, Stat } from "../baseline/profile.js";
import { HOUR } from "../baseline/profile.js";
import type { Principal, TrailEvent } from "../events/types.js";
import type { GeoInfo } from "../geo/types.js";
import type { Bucket, GeoPoint, IdentityWindow, WinStat } from "../detectors/types.js";

/** Width of the activity buckets (and the granularity of window starts). */
export const BUCKET_MS = 10 * 60_000;
export const MAX_CANDIDATES = 5000;
export const MAX_GEO_POINTS = 5000;
const MAX_WIN_IDS = 5;

const READ_PREFIX = /^(List|Describe|Get|Head|Search|Scan|Query|Lookup|BatchGet|Select)/;
const readCache = new Map<string, boolean>();
export function isReadName(name: string): boolean {
  let r = readCache.get(name);
  if (r === undefined) {
    r = READ_PREFIX.test(name);
    if (readCache.size < 20000) readCache.set(name, r);
  }
  return r;
}

/**
 * One value of one dimension (an API, an IP, ...) for one identity during a scan.
 * `n/err/den` count events new to the stored baseline (idempotent rescans); `slots` count every
 * matching event inside the moving window, per 10-minute bucket, so the exact window counts are
 * known at the end whatever order the records came in.
 */
export class MStat {
  n = 0;
  err = 0;
  first = Infinity;
  last = -Infinity;
  /** Flat [bucketStart, n, err, denied, ...], ascending by bucket most of the time. */
  slots: number[] = [];
  /** Up to MAX_WIN_IDS earliest [time, id] inside the moving window. */
  ids: Array<[number, string]> = [];

  touch(t: number, failed: boolean, counted: boolean): void {
    if (t < this.first) this.first = t;
    if (t > this.last) this.last = t;
    if (counted) {
      this.n++;
      if (failed) this.err++;
    }
  }

  window(bucket: number, t: number, id: string, failed: boolean, denied: boolean, wmin: number): void {
    const s = this.slots;
    let i = s.length - 4;
    // Usually the last slot; otherwise search backwards (records are roughly ordered).
    while (i >= 0 && s[i] !== bucket) i -= 4;
    if (i < 0) {
      // Drop slots that fell out of the window before growing.
      if (s.length >= 8 && s[0]! < wmin) this.prune(wmin);
      s.push(bucket, 1, failed ? 1 : 0, denied ? 1 : 0);
    } else {
      s[i + 1]!++;
      if (failed) s[i + 2]!++;
      if (denied) s[i + 3]!++;
    }
    const ids = this.ids;
    if (ids.length < MAX_WIN_IDS) {
      ids.push([t, id]);
      if (ids.length > 1 && ids[ids.length - 2]![0] > t) ids.sort((a, b) => a[0] - b[0]);
    } else if (t < ids[MAX_WIN_IDS - 1]![0] || ids[0]![0] < wmin) {
      ids.push([t, id]);
      ids.sort((a, b) => (a[0] < wmin ? 1 : 0) - (b[0] < wmin ? 1 : 0) || a[0] - b[0]);
      ids.length = MAX_WIN_IDS;
    }
  }

  prune(wmin: number): void {
    const s = this.slots;
    const out: number[] = [];
    for (let i = 0; i < s.length; i += 4) if (s[i]! >= wmin) out.push(s[i]!, s[i + 1]!, s[i + 2]!, s[i + 3]!);
    this.slots = out;
  }

  /** Counts of this value inside [wStart, wEnd). */
  windowStat(wStart: number): WinStat | undefined {
    let n = 0,
      err = 0,
      den = 0,
      first = Infinity,
      last = -Infinity;
    const s = this.slots;
    for (let i = 0; i < s.length; i += 4) {
      const b = s[i]!;
      if (b < wStart) continue;
      n += s[i + 1]!;
      err += s[i + 2]!;
      den += s[i + 3]!;
      if (b < first) first = b;
      if (b > last) last = b;
    }
    if (n === 0) return undefined;
    const ids = this.ids.filter((x) => x[0] >= wStart);
    // Bucket bounds are a fallback; exact times come from ids when present.
    if (ids.length) first = Math.min(ids[0]![0], first + BUCKET_MS - 1);
    return { n, err, denied: den, first: ids.length ? ids[0]![0] : first, last: Math.max(last, ids.length ? ids[ids.length - 1]![0] : last), ids: ids.map((x) => x[1]) };
  }

  toStat(): Stat {
    return [this.n, this.err, this.first, this.last];
  }
}

interface BucketAcc {
  n: number;
  err: number;
  den: number;
  reads: Set<string> | null;
}

/** Everything one scan learns about one identity. Memory is bounded per identity. */
export class IdentityAcc {
  readonly dims = new Map<Dim, Map<string, MStat>>();
  /** Counted (new-to-store) totals. */
  events = 0;
  errors = 0;
  denied = 0;
  first = Infinity;
  last = -Infinity;
  readonly days = new Set<number>();
  readonly hours = new Array<number>(24).fill(0);
  readonly weekdays = new Array<number>(7).fill(0);
  /** Live buckets (inside or near the moving window). */
  readonly buckets = new Map<number, BucketAcc>();
  /** Folded history: hourIndex -> [calls, errors]. */
  readonly hourly = new Map<number, [number, number]>();
  breadthMax = 0;
  breadthBuckets = 0;
  candidates: TrailEvent[] = [];
  geo: GeoPoint[] = [];
  private geoLastMinute = new Map<string, number>();
  dropped = { candidates: 0, geo: 0 };
  windowEvents = 0;

  constructor(
    public principal: Principal,
    /** Events at or before this time are already in the stored baseline: do not count them again. */
    readonly trainedUntil: number,
  ) {}

  private stat(dim: Dim, value: string): MStat {
    let m = this.dims.get(dim);
    if (!m) {
      m = new Map();
      this.dims.set(dim, m);
    }
    let s = m.get(value);
    if (!s) {
      s = new MStat();
      m.set(value, s);
    }
    return s;
  }

  /**
   * Fold an event in. `inWindow`: the event is at or after the moving window start and matches
   * the scan's filters; `wmin` is the current (moving) window start.
   */
  add(ev: TrailEvent, apiKey: string, geo: GeoInfo | undefined, inWindow: boolean, wmin: number, candidate: boolean): void {
    const t = ev.time;
    const counted = t > this.trainedUntil;
    const failed = ev.failed;
    const denied = ev.denied;
    if (t < this.first) this.first = t;
    if (t > this.last) this.last = t;
    if (counted) {
      this.events++;
      if (failed) this.errors++;
      if (denied) this.denied++;
      const d = new Date(t);
      this.hours[d.getUTCHours()]!++;
      this.weekdays[d.getUTCDay()]!++;
    }
    this.days.add(Math.floor(t / 86_400_000));

    const bucket = t - (t % BUCKET_MS);
    const p = this.principal;
    const viaService = p.invokedBy !== undefined;
    const ipKind = ev.ipKind;
    const networked = !viaService && (ipKind === "public" || ipKind === "private");

    this.track("api", apiKey, t, ev, counted, inWindow, bucket, wmin);
    this.track("service", ev.service, t, ev, counted, inWindow, bucket, wmin);
    this.track("region", ev.region, t, ev, counted, inWindow, bucket, wmin);
    if (networked) this.track("ip", ev.sourceIp, t, ev, counted, inWindow, bucket, wmin);
    if (!viaService) this.track("ua", ev.uaFamily, t, ev, counted, inWindow, bucket, wmin);
    if (geo && !viaService) {
      if (geo.asn !== undefined) this.track("network", "AS" + geo.asn, t, ev, counted, inWindow, bucket, wmin);
      if (geo.country) this.track("country", geo.country, t, ev, counted, inWindow, bucket, wmin);
    }
    if (ev.principal.sessionName) this.track("session", ev.principal.sessionName, t, ev, counted, inWindow, bucket, wmin);
    if (ev.errorCode) this.track("errorCode", ev.errorCode, t, ev, counted, inWindow, bucket, wmin);

    // Activity buckets: rates, error rates, read breadth.
    let b = this.buckets.get(bucket);
    if (!b) {
      b = { n: 0, err: 0, den: 0, reads: null };
      this.buckets.set(bucket, b);
      if (this.buckets.size > 8) this.foldBefore(wmin - HOUR);
    }
    b.n++;
    if (failed) b.err++;
    if (denied) b.den++;
    if (isReadName(ev.eventName)) (b.reads ??= new Set()).add(apiKey);

    if (inWindow) {
      this.windowEvents++;
      if (ipKind === "public" && !viaService) this.addGeo(ev, wmin);
      if (candidate) this.addCandidate(ev, wmin);
    }
  }

  private track(dim: Dim, value: string, t: number, ev: TrailEvent, counted: boolean, inWindow: boolean, bucket: number, wmin: number): void {
    const s = this.stat(dim, value);
    s.touch(t, ev.failed, counted);
    if (inWindow) s.window(bucket, t, ev.id, ev.failed, ev.denied, wmin);
  }

  private addGeo(ev: TrailEvent, wmin: number): void {
    const minute = Math.floor(ev.time / 60_000);
    if (this.geoLastMinute.get(ev.sourceIp) === minute) return;
    this.geoLastMinute.set(ev.sourceIp, minute);
    if (this.geo.length >= MAX_GEO_POINTS) {
      this.geo = this.geo.filter((g) => g.time >= wmin);
      if (this.geo.length >= MAX_GEO_POINTS) {
        this.dropped.geo++;
        return;
      }
    }
    this.geo.push({ time: ev.time, ip: ev.sourceIp, eventId: ev.id });
  }

  private addCandidate(ev: TrailEvent, wmin: number): void {
    if (this.candidates.length >= MAX_CANDIDATES) {
      this.candidates = this.candidates.filter((c) => c.time >= wmin);
      if (this.candidates.length >= MAX_CANDIDATES) {
        this.dropped.candidates++;
        return;
      }
    }
    this.candidates.push(ev);
  }

  /** Move buckets older than `before` into the folded history (hourly counts and read breadth). */
  foldBefore(before: number): void {
    for (const [start, b] of this.buckets) {
      if (start >= before) continue;
      this.foldBucket(start, b);
      this.buckets.delete(start);
    }
  }

  private foldBucket(start: number, b: BucketAcc): void {
    const h = Math.floor(start / HOUR);
    const cur = this.hourly.get(h);
    if (cur) {
      cur[0] += b.n;
      cur[1] += b.err;
    } else this.hourly.set(h, [b.n, b.err]);
    const r = b.reads ? b.reads.size : 0;
    if (r > this.breadthMax) this.breadthMax = r;
    this.breadthBuckets++;
  }

  /** Build the window view; folds everything before `wStart` into history first. */
  toWindow(wStart: number, wEnd: number, geoLookup: (ip: string) => GeoInfo | undefined): IdentityWindow {
    this.foldBefore(wStart);
    const maps = (dim: Dim): Map<string, WinStat> => {
      const out = new Map<string, WinStat>();
      const m = this.dims.get(dim);
      if (!m) return out;
      for (const [k, s] of m) {
        const w = s.windowStat(wStart);
        if (w) out.set(k, w);
      }
      return out;
    };
    const buckets: Bucket[] = [];
    for (const [start, b] of this.buckets) {
      if (start < wStart || start > wEnd) continue;
      buckets.push({ start, n: b.n, err: b.err, denied: b.den, reads: b.reads ? [...b.reads] : [] });
    }
    buckets.sort((a, b) => a.start - b.start);
    const sessions = maps("session");
    const inWin = (t: number) => t >= wStart && t <= wEnd;
    const candidates = this.candidates.filter((c) => inWin(c.time)).sort((a, b) => a.time - b.time);
    const geo = this.geo
      .filter((g) => inWin(g.time))
      .sort((a, b) => a.time - b.time)
      .map((g) => {
        const info = geoLookup(g.ip);
        return info ? { ...g, geo: info } : g;
      });
    let first = Infinity,
      last = -Infinity;
    const apis = maps("api");
    for (const w of apis.values()) {
      if (w.first < first) first = w.first;
      if (w.last > last) last = w.last;
    }
    return {
      principal: this.principal,
      sessions: [...sessions.keys()],
      // Window events after filters. Buckets also hold filtered-out events and serve rates only.
      events: sumN(apis),
      errors: sumErr(apis),
      denied: sumDen(apis),
      first,
      last,
      apis,
      services: maps("service"),
      regions: maps("region"),
      ips: maps("ip"),
      networks: maps("network"),
      countries: maps("country"),
      uas: maps("ua"),
      errorCodes: maps("errorCode"),
      buckets,
      geo,
      candidates,
      dropped: { ...this.dropped },
    };
  }
}

function sumN(m: Map<string, WinStat>): number {
  let n = 0;
  for (const w of m.values()) n += w.n;
  return n;
}
function sumErr(m: Map<string, WinStat>): number {
  let n = 0;
  for (const w of m.values()) n += w.err;
  return n;
}
function sumDen(m: Map<string, WinStat>): number {
  let n = 0;
  for (const w of m.values()) n += w.denied;
  return n;
}
