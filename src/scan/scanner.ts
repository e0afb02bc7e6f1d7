import { DEFAULT_BASELINE_CONFIG, type BaselineConfig, type Profile } from "../baseline/profile.js";
import { mergeProfile } from "../baseline/merge.js";
import { BaselineView } from "../baseline/view.js";
import { classifySourceIp, toTrailEvent } from "../events/normalize.js";
import type { Principal, SkipReason, TrailEvent } from "../events/types.js";
import { baselineFacts, leanFacts, leanFactsFor, PrincipalCache, rememberPrincipal, type BaselineFacts, type RecordFields } from "../ingest/lean-facts.js";
import type { GeoInfo, GeoResolver } from "../geo/types.js";
import { DETECTORS } from "../detectors/index.js";
import type {
  Detector,
  DetectorConfig,
  DetectorContext,
  EventDetector,
  FindingDraft,
  GlobalDetector,
  IdentityWindow,
  WindowDetector,
} from "../detectors/types.js";
import type { RecordSink } from "../sources/types.js";
import { BUCKET_MS, IdentityAcc } from "../ingest/accumulator.js";
import { DeferredRecords } from "../ingest/deferred.js";
import { FindingCollector } from "./findings.js";
import { DEFAULT_WINDOW_MS } from "./time.js";
import { buildReport, type ReportInput } from "./report.js";
import type { Report, SourceSummary } from "./report-types.js";

export interface ScanFilters {
  /** IAM user name, role name, role session name, or an ARN. */
  user?: string;
  ip?: string;
  account?: string;
  region?: string;
  eventName?: string;
}

export type SinceSpec = { kind: "absolute"; at: number } | { kind: "relative"; ms: number };

export interface ScanOptions {
  /** The time the report is generated (injected: the core reads no clock). */
  now: number;
  /** Start of the detection window; default: 24 hours before `until` or the newest event. */
  since?: SinceSpec;
  /** End of the detection window; default: the newest event. Later events are ignored. */
  until?: number;
  filters?: ScanFilters;
  baseline?: BaselineConfig;
  detectorConfig?: Partial<DetectorConfig>;
  detectors?: readonly Detector[];
  geo?: GeoResolver;
  /** The stored baseline of an identity, if any. */
  storedProfile?: (key: string) => Profile | undefined;
  /**
   * The stored baseline's `trainedUntil` alone, when the store can tell without decoding the
   * profile (the scanner needs it when it first meets an identity, and the whole profile only at
   * the end). Falls back to `storedProfile`.
   */
  storedTrainedUntil?: (key: string) => number | undefined;
  version?: string;
  /**
   * Records that are certainly before the window only train baselines; by default they take a
   * lean path that builds no TrailEvent. Off: every record goes through the full path (tests
   * compare both).
   */
  fastPath?: boolean;
  /** Records before the window held back per batch (default 131,072; tests lower it to force many flushes). */
  deferBatch?: number;
  /** Event ids listed per finding (default 20; `count` always has the total). The evaluation lifts it. */
  maxFindingEventIds?: number;
}

export interface ScanResult {
  report: Report;
  /** Updated baselines to persist (every identity seen). */
  profiles: Profile[];
}


const LANE_TYPES = new Set(["IAMUser", "AssumedRole", "Root"]);

/** An identity on the fast lane: one per (ARN, type, invokedBy), chained by ARN. */
interface LaneEntry {
  type: string | undefined;
  invokedBy: string | undefined;
  principal: Principal;
  acc: IdentityAcc;
  next: LaneEntry | undefined;
}

function floorBucket(t: number): number {
  return t - (((t % BUCKET_MS) + BUCKET_MS) % BUCKET_MS);
}

/**
 * The scan core. Sources push raw records into it (it is a RecordSink); `finish()` runs the
 * detectors and builds the report. Memory grows with identities and with the detection window,
 * not with the number of records read.
 */
export class Scanner implements RecordSink {
  private readonly accs = new Map<string, IdentityAcc>();
  /** The same accumulators, by `ordinal`. */
  private readonly accList: IdentityAcc[] = [];
  /** Records before the window, folded in per identity in batches (see DeferredRecords). */
  private readonly deferred: DeferredRecords;
  private readonly skipped: Record<string, number> = {};
  private readonly skipSamples: Array<{ origin: string; reason: string; detail?: string }> = [];
  /** Event ids seen inside the moving window, per 10-minute bucket (old buckets dropped whole). */
  private readonly seen = new Map<number, Set<string>>();
  private readonly geoCache = new Map<string, GeoInfo | null>();
  private readonly nameIndex = new Set<string>();
  private readonly selectors: EventDetector[] = [];
  private readonly eventDetectors: EventDetector[] = [];
  private readonly windowDetectors: WindowDetector[] = [];
  private readonly globalDetectors: GlobalDetector[] = [];
  /** Every `select` detector says what it may take (mayTake): records in the window may use the fast lane. */
  private readonly gated: boolean;
  private readonly accounts = new Set<string>();
  private readonly principals = new PrincipalCache();
  /**
   * Fast-lane identities by ARN (records without invokedBy): the principal and the accumulator in
   * one lookup. Follows the principal cache (cleared with it).
   */
  private readonly lane = new Map<string, LaneEntry>();
  private laneClears = 0;
  private lastAccount = "";
  private readonly fastPath: boolean;
  private readonly baselineCfg: BaselineConfig;
  private readonly filters: ScanFilters;
  private readonly hasFilters: boolean;
  private readonly fixedStart: number | undefined;
  private readonly relMs: number;
  private newest = -Infinity;
  private wmin = -Infinity;
  recordsRead = 0;
  /** Of those, records taken on the fast lane (RecordSink.fields) without being parsed. */
  fastLane = 0;
  /** Of those, records that were not certainly before the window (see `fields`). */
  fastLaneWindow = 0;
  duplicates = 0;
  filteredOut = 0;
  afterWindow = 0;
  readonly sources: SourceSummary[] = [];
  readonly partialReasons: string[] = [];

  constructor(private readonly opts: ScanOptions) {
    this.baselineCfg = opts.baseline ?? DEFAULT_BASELINE_CONFIG;
    this.filters = opts.filters ?? {};
    this.fastPath = opts.fastPath ?? true;
    this.deferred = new DeferredRecords(opts.deferBatch);
    this.hasFilters = Object.values(this.filters).some((v) => v !== undefined && v !== "");
    for (const d of opts.detectors ?? DETECTORS) {
      if (d.kind === "event") {
        this.eventDetectors.push(d);
        if (d.eventNames) for (const n of d.eventNames) this.nameIndex.add(n);
        else if (d.select) this.selectors.push(d);
      } else if (d.kind === "window") this.windowDetectors.push(d);
      else this.globalDetectors.push(d);
    }
    this.gated = this.selectors.every((d) => d.mayTake !== undefined);
    const since = opts.since ?? { kind: "relative", ms: DEFAULT_WINDOW_MS };
    if (since.kind === "absolute") {
      this.fixedStart = floorBucket(since.at);
      this.relMs = 0;
    } else {
      this.relMs = since.ms;
      this.fixedStart = opts.until !== undefined ? floorBucket(opts.until - since.ms) : undefined;
    }
    if (this.fixedStart !== undefined) this.wmin = this.fixedStart;
  }

  // ------------------------------------------------------------------ RecordSink

  skip(reason: SkipReason, origin: string, count = 1, detail?: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + count;
    if (this.skipSamples.length < 20) this.skipSamples.push(detail ? { origin, reason, detail } : { origin, reason });
  }

  record(raw: unknown, origin: string): void {
    this.recordsRead++;
    if (this.fastPath && raw !== null && typeof raw === "object") {
      const et = (raw as Record<string, unknown>).eventTime;
      if (typeof et === "string") {
        const t = Date.parse(et);
        if (this.trainsOnly(t)) {
          const f = baselineFacts(raw as Record<string, unknown>, t, this.principals, false);
          if (typeof f === "string") this.skip(f, origin);
          else {
            // With a fixed window start every record may lie before it; the newest still ends the window.
            if (t > this.newest) this.newest = t;
            this.addBaselineFacts(f);
          }
          return;
        }
      }
    }
    const ev = toTrailEvent(raw);
    if (typeof ev === "string") {
      this.skip(ev, origin);
      return;
    }
    if (this.fastPath) rememberPrincipal(raw as Record<string, unknown>, ev.principal, this.principals);
    this.addEvent(ev);
  }

  /**
   * The fast lane (RecordSink.fields): a record read without parsing it. Taken when its fields
   * are all the scan needs: before the window, to train the baseline; in it, to count it (no
   * filters, no --until, not a call an event detector reads). Otherwise the source parses it and
   * calls `record`. Same outcome either way (tests compare).
   */
  fields(f: RecordFields, _origin: string): boolean {
    if (!this.fastPath) return false;
    const t = f.time;
    const trains = this.trainsOnly(t);
    // Records that may be in the window: on the lane too, unless the full path would look at more
    // than the fields (filters, event detectors' selectors, --until) or the id was not read.
    if (!trains && (this.hasFilters || !this.gated || this.opts.until !== undefined || f.eventId === "")) return false;
    if (this.principals.clears !== this.laneClears) {
      this.lane.clear();
      this.laneClears = this.principals.clears;
    }
    const arn = f.identityArn;
    const first = arn !== undefined ? this.lane.get(arn) : undefined;
    let known = first;
    let chain = 0;
    while (known !== undefined && (known.type !== f.identityType || known.invokedBy !== f.invokedBy)) {
      known = known.next;
      chain++;
    }
    let b: BaselineFacts | undefined;
    if (known !== undefined) {
      // The principal the cache would give: it is keyed on this ARN (and invokedBy) for these records.
      b = leanFactsFor(f, known.principal);
    } else b = leanFacts(f, this.principals);
    if (b === undefined) return false;
    if (!trains) {
      // The full path keeps the events event detectors read: parse those.
      if (this.nameIndex.has(b.eventName) || this.mayBeSelected(b.eventName, b.principal.type)) return false;
      this.recordsRead++;
      this.fastLane++;
      this.fastLaneWindow++;
      // What addEvent does with it, in the same order (the identity is met only if the event counts).
      if (this.deferred.size > 0) this.flushDeferred(); // keep each identity's records in order
      b.id = f.eventId;
      const inWindow = this.enter(t, b.id);
      if (inWindow === undefined) return true; // a duplicate
      if (b.accountId !== "unknown") this.accounts.add(b.accountId);
      const acc = known !== undefined ? known.acc : this.joinLane(b, f, first, chain);
      acc.add(b, this.placeOf(acc, b), inWindow, this.wmin, undefined);
      return true;
    }
    const acc = known !== undefined ? known.acc : this.joinLane(b, f, first, chain);
    this.recordsRead++;
    this.fastLane++;
    if (t > this.newest) this.newest = t; // see record()
    this.defer(acc, b);
    return true;
  }

  /** The accumulator of a principal met on the lane for the first time; it joins the lane if keyed on its ARN. */
  private joinLane(b: BaselineFacts, f: RecordFields, first: LaneEntry | undefined, chain: number): IdentityAcc {
    const acc = this.accFor(b.principal);
    // Only principals the cache keys on the ARN (users, roles, root) join the lane.
    const arn = f.identityArn;
    if (arn !== undefined && chain < 8 && LANE_TYPES.has(f.identityType ?? "") && arn.startsWith("arn:"))
      this.lane.set(arn, { type: f.identityType, invokedBy: f.invokedBy, principal: b.principal, acc, next: first });
    return acc;
  }

  /** A record at `t` is certainly before the (moving) window and not after --until: it only trains baselines. */
  private trainsOnly(t: number): boolean {
    return t < this.wmin && (this.opts.until === undefined || t <= this.opts.until);
  }

  /** RecordSink.eventIdsFrom: records from this time on may be in the window, where ids count. */
  eventIdsFrom(): number {
    return this.wmin;
  }

  /** The identity's accumulator, created on first sight (counting only what the store has not seen). */
  private accFor(p: Principal): IdentityAcc {
    let acc = this.accs.get(p.key);
    if (!acc) {
      const until = this.opts.storedTrainedUntil ? this.opts.storedTrainedUntil(p.key) : this.opts.storedProfile?.(p.key)?.trainedUntil;
      acc = new IdentityAcc(p, until ?? -Infinity);
      acc.ordinal = this.accList.length;
      this.accList.push(acc);
      this.accs.set(p.key, acc);
    } else if (p.sessionName && !acc.principal.sessionName) {
      acc.principal = p;
    }
    return acc;
  }

  /** A record before the window: train the baseline only (no window, no dedup, no filters). */
  private addBaselineFacts(f: BaselineFacts): void {
    this.defer(this.accFor(f.principal), f);
  }

  private defer(acc: IdentityAcc, f: BaselineFacts): void {
    if (f.accountId !== this.lastAccount) {
      this.lastAccount = f.accountId;
      if (f.accountId !== "unknown") this.accounts.add(f.accountId);
    }
    if (this.deferred.push(acc.ordinal, f)) this.flushDeferred();
  }

  /** Fold the held-back records before the window into their identities. */
  private flushDeferred(): void {
    this.deferred.flush(this.accList, (acc, f) => this.foldFacts(acc, f));
  }

  private foldFacts(acc: IdentityAcc, f: BaselineFacts): void {
    acc.add(f, this.placeOf(acc, f), false, this.wmin, undefined);
  }

  /**
   * Set `f.ipKind` and give the location of its source address. Identities mostly repeat their
   * address: classified and located once per change.
   */
  private placeOf(acc: IdentityAcc, f: BaselineFacts): GeoInfo | undefined {
    if (f.sourceIp === acc.lastIp) {
      f.ipKind = acc.lastIpKind;
      return acc.lastGeo;
    }
    f.ipKind = classifySourceIp(f.sourceIp);
    const geo = f.ipKind === "public" ? this.geoOf(f.sourceIp) : undefined;
    acc.lastIp = f.sourceIp;
    acc.lastIpKind = f.ipKind;
    acc.lastGeo = geo;
    return geo;
  }

  /**
   * An event at `t` arrives: move the window, and de-duplicate on eventID where it matters
   * (inside the moving window). Whether it is in the window now; undefined: a duplicate.
   */
  private enter(t: number, id: string): boolean | undefined {
    if (t > this.newest) {
      this.newest = t;
      if (this.fixedStart === undefined) this.wmin = floorBucket(t - this.relMs);
    }
    const inWindowNow = t >= this.wmin;
    if (inWindowNow) {
      const b = floorBucket(t);
      let ids = this.seen.get(b);
      if (!ids) {
        ids = new Set();
        this.seen.set(b, ids);
        if (this.seen.size > 2 * (this.relMs / BUCKET_MS) + 16) this.purgeSeen();
      }
      if (ids.has(id)) {
        this.duplicates++;
        return undefined;
      }
      ids.add(id);
    }
    return inWindowNow;
  }

  /** Add an already-normalised event (used by sources that normalise themselves, and tests). */
  addEvent(ev: TrailEvent): void {
    if (this.deferred.size > 0) this.flushDeferred(); // keep each identity's records in order
    const t = ev.time;
    if (this.opts.until !== undefined && t > this.opts.until) {
      this.afterWindow++;
      return;
    }
    const inWindowNow = this.enter(t, ev.id);
    if (inWindowNow === undefined) return;
    const matches = !this.hasFilters || this.matches(ev);
    if (inWindowNow && !matches) this.filteredOut++;
    if (ev.accountId !== "unknown") this.accounts.add(ev.accountId);

    const acc = this.accFor(ev.principal);
    const inWindow = inWindowNow && matches;
    const candidate = inWindow && (this.nameIndex.has(ev.eventName) || this.selected(ev));
    const geo = ev.ipKind === "public" ? this.geoOf(ev.sourceIp) : undefined;
    acc.add(ev, geo, inWindow, this.wmin, candidate ? ev : undefined);
  }

  noteSource(s: SourceSummary, partialReasons: readonly string[] = []): void {
    this.sources.push(s);
    this.partialReasons.push(...partialReasons);
  }

  // ------------------------------------------------------------------ helpers

  /** Whether some event detector's `select` may take an event of this name and principal type. */
  private mayBeSelected(name: string, principalType: string): boolean {
    for (const d of this.selectors) if (d.mayTake!(name, principalType)) return true;
    return false;
  }

  private selected(ev: TrailEvent): boolean {
    for (const d of this.selectors) if (d.select!(ev)) return true;
    return false;
  }

  private matches(ev: TrailEvent): boolean {
    const f = this.filters;
    if (f.account && ev.accountId !== f.account && ev.principal.accountId !== f.account) return false;
    if (f.region && ev.region !== f.region) return false;
    if (f.ip && ev.sourceIp !== f.ip) return false;
    if (f.eventName && ev.eventName !== f.eventName && ev.rawEventName !== f.eventName) return false;
    if (f.user) {
      const p = ev.principal;
      const u = f.user;
      const stsArn =
        p.type === "AssumedRole" && p.userName && p.sessionName
          ? `arn:aws:sts::${p.accountId}:assumed-role/${p.userName}/${p.sessionName}`
          : undefined;
      if (u !== p.userName && u !== p.sessionName && u !== p.arn && u !== p.key && u !== stsArn) return false;
    }
    return true;
  }

  private geoOf(ip: string): GeoInfo | undefined {
    const g = this.opts.geo;
    if (!g) return undefined;
    const c = this.geoCache.get(ip);
    if (c !== undefined) return c ?? undefined;
    const info = g.lookup(ip);
    if (this.geoCache.size > 200_000) this.geoCache.clear();
    this.geoCache.set(ip, info ?? null);
    return info;
  }

  private purgeSeen(): void {
    const min = this.wmin - 3_600_000;
    for (const b of this.seen.keys()) if (b < min) this.seen.delete(b);
  }

  // ------------------------------------------------------------------ the end

  /** The window the scan reports on. */
  window(): { start: number; end: number } {
    const last = this.opts.until ?? (Number.isFinite(this.newest) ? this.newest : this.opts.now);
    const start = this.fixedStart ?? floorBucket(last - this.relMs);
    // A --since after every record: an empty window that starts and ends there, not one that ends first.
    return { start, end: Math.max(last, start) };
  }

  finish(): ScanResult {
    this.flushDeferred();
    const win = this.window();
    const detCfg: DetectorConfig = {
      ownAccounts: this.opts.detectorConfig?.ownAccounts ?? this.accounts,
      maxSpeedKmh: this.opts.detectorConfig?.maxSpeedKmh ?? 900,
      minTravelKm: this.opts.detectorConfig?.minTravelKm ?? 100,
    };
    const collector = new FindingCollector(this.opts.maxFindingEventIds);
    const windows: IdentityWindow[] = [];
    const views = new Map<string, BaselineView>();
    const profiles: Profile[] = [];
    const learning: string[] = [];
    const geoLookup = (ip: string) => this.geoOf(ip);
    let candidatesDropped = 0,
      geoDropped = 0,
      baselineEvents = 0;

    for (const [key, acc] of this.accs) {
      const w = acc.toWindow(win.start, win.end, geoLookup);
      const stored = this.opts.storedProfile?.(key);
      // The view sees history only (breadth of the window's own buckets excluded); the persisted
      // profile takes the window too.
      const forView = mergeProfile(stored, acc, win.end, this.baselineCfg);
      acc.foldAll();
      const merged: Profile = { ...forView, breadth: mergeBreadth(stored, acc) };
      profiles.push(merged);
      const view = new BaselineView(forView, win.start, this.baselineCfg, w.events);
      views.set(key, view);
      baselineEvents += Math.max(0, acc.events - acc.windowEvents);
      candidatesDropped += w.dropped.candidates;
      geoDropped += w.dropped.geo;
      if (w.events === 0) continue;
      windows.push(w);
      if (view.learning) learning.push(key);
      const ctx: DetectorContext = {
        principal: w.principal,
        baseline: view,
        learning: view.learning,
        window: win,
        config: detCfg,
      };
      if (this.opts.geo) ctx.geo = this.opts.geo;
      for (const ev of w.candidates) {
        for (const d of this.eventDetectors) {
          if (d.eventNames ? !d.eventNames.includes(ev.eventName) : !d.select?.(ev)) continue;
          const out = d.detect(ev, ctx.principal === ev.principal ? ctx : { ...ctx, principal: ev.principal });
          addDrafts(collector, d, out, ev.principal);
        }
      }
      for (const d of this.windowDetectors) addDrafts(collector, d, d.detect(w, ctx), w.principal);
    }
    const emptyView = new BaselineView(undefined, win.start, this.baselineCfg);
    for (const d of this.globalDetectors) {
      const drafts = d.detect(windows, { window: win, config: detCfg, baselineOf: (k) => views.get(k) ?? emptyView });
      for (const dr of drafts) {
        const who = dr.principal ?? windows[0]?.principal;
        if (who) addDrafts(collector, d, dr, who);
      }
    }

    const partialReasons = [...this.partialReasons];
    if (candidatesDropped > 0)
      partialReasons.push(`${candidatesDropped} events beyond the per-identity cap were not examined by event detectors`);
    if (geoDropped > 0) partialReasons.push(`${geoDropped} public-IP observations beyond the per-identity cap were not used for travel checks`);

    const input: ReportInput = {
      now: this.opts.now,
      version: this.opts.version ?? "0.0.0",
      window: win,
      windows,
      findings: collector.result(),
      learning,
      sources: this.sources,
      partialReasons,
      filters: { ...this.filters },
      stats: {
        recordsRead: this.recordsRead,
        baselineEvents,
        skipped: { ...this.skipped },
        skipSamples: this.skipSamples,
        duplicates: this.duplicates,
        filteredOut: this.filteredOut,
        afterWindow: this.afterWindow,
      },
      geo: geoLookup,
      known: (key, dim, value) => views.get(key)?.known(dim, value) ?? false,
    };
    return { report: buildReport(input), profiles };
  }
}

function mergeBreadth(stored: Profile | undefined, acc: IdentityAcc): [number, number] {
  return [Math.max(stored?.breadth[0] ?? 0, acc.breadthMax), (stored?.breadth[1] ?? 0) + acc.breadthBuckets];
}

function addDrafts(c: FindingCollector, d: Detector, out: FindingDraft | FindingDraft[] | null, p: IdentityWindow["principal"]): void {
  if (!out) return;
  if (Array.isArray(out)) for (const x of out) c.add(d, x, p);
  else c.add(d, out, p);
}
