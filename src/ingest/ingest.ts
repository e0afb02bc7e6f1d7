import { classifySourceIp, personKey, toTrailEvent } from "../events/normalize.js";
import type { EventFacts, Principal, ScanFilters, SkipReason, TrailEvent } from "../events/types.js";
import type { GeoInfo, GeoResolver } from "../geo/types.js";
import type { EventDetector } from "../detectors/types.js";
import type { BytesReader, RecordSink } from "../sources/types.js";
import { BUCKET_MS, IdentityAcc } from "./accumulator.js";
import { DeferredRecords } from "./deferred.js";
import { FastLane, type LaneSink } from "./fast-lane.js";
import type { OffThreadData, Places } from "./walk-off-thread.js";
import { baselineFacts, emptyBaselineFacts, leanFacts, leanFactsFor, PrincipalCache, rememberPrincipal, type BaselineFacts, type Place, type RecordFields } from "./lean-facts.js";
import { DEFAULT_WINDOW_MS, floorBucket, type SinceSpec } from "./window.js";

/** A public address the resolver knows nothing of. */
const NOWHERE: Place = Object.freeze({ kind: "public", geo: undefined });

export interface IngestOptions {
  /** The time the report is generated: the window's end when no record was read. */
  now: number;
  since?: SinceSpec;
  until?: number;
  filters?: ScanFilters;
  geo?: GeoResolver;
  /**
   * The environment `geo` was made from by defaultGeoResolver, when it is that resolver: a file
   * scan's read workers then make the same one and locate the addresses they meet (see `located`).
   */
  geoEnv?: Record<string, string>;
  /** The stored baseline's `trainedUntil` of an identity (only what is newer counts again). */
  storedTrainedUntil?: (key: string) => number | undefined;
  /** See ScanOptions.fastPath. */
  fastPath?: boolean;
  deferBatch?: number;
  /**
   * Fold in a worker thread (scan/fold-shard.ts): every accumulator is made and folded there, and
   * the scan is finished there (Scanner.finishAsync); the accumulators here stay empty. A small
   * scan never starts the worker: `foldHere` folds its rows here at the end.
   */
  folds?: FoldSink;
}

/**
 * Where an Ingest's folds go when a worker thread makes them (scan/fold-shard.ts FoldFeeder): each
 * accumulator as it is created, then each IdentityAcc.add in order.
 */
export interface FoldSink {
  /** The worker was started: the accumulators are folded, and the scan finished, there. */
  readonly started: boolean;
  take(acc: IdentityAcc, key: string, role?: string): void;
  add(acc: IdentityAcc, ev: EventFacts, inWindow: boolean, wmin: number, candidate: TrailEvent | undefined): void;
  /** The worker never started: fold the rows here. */
  foldHere(geoOf: (ip: string) => GeoInfo | undefined): void;
  /** Stop the worker; resolves once it has ended. */
  close(): Promise<void>;
}

/** What an Ingest counted, for a fold worker's Ingest to take (see scan/fold-shard.ts). */
export interface IngestTotals {
  recordsRead: number;
  fastLane: number;
  fastLaneWindow: number;
  duplicates: number;
  filteredOut: number;
  afterWindow: number;
  skipped: Record<string, number>;
  skipSamples: Array<{ origin: string; reason: string; detail?: string }>;
  accounts: string[];
  newest: number;
}

/**
 * How far after the scan's `now` a record may be dated (clock skew) and still count. A record
 * beyond it (or before 2013, before CloudTrail) is skipped with its own reason: it would
 * otherwise end the detection window (which follows the newest event) and hide every real event
 * in training.
 */
export const FUTURE_SKEW_MS = 15 * 60_000;
/** The earliest eventTime taken (CloudTrail launched in November 2013). */
export const EARLIEST_EVENT_MS = Date.UTC(2013, 0, 1);

const LANE_TYPES = new Set(["IAMUser", "AssumedRole", "Root"]);

/** `a[i] = v`, keeping `a` packed. */
function setAt<T>(a: T[], i: number, v: T): void {
  while (a.length < i) a.push(undefined as T);
  a[i] = v;
}

/**
 * A record of a service (AWSService or no type, with an invokedBy): the principal cache keys it on
 * invokedBy alone (lean-facts.ts principalCacheKey), whatever its ARN.
 */
function isService(f: RecordFields): boolean {
  const by = f.invokedBy;
  return by !== undefined && by.length > 0 && (f.identityType === "AWSService" || f.identityType === undefined);
}

/** An identity on the fast lane: one per (ARN, type, invokedBy), chained by ARN. */
interface LaneEntry {
  type: string | undefined;
  invokedBy: string | undefined;
  principal: Principal;
  acc: IdentityAcc;
  /** acc.ordinal (read here, the accumulator is not touched until its records are folded). */
  ordinal: number;
  next: LaneEntry | undefined;
}

/**
 * Turns what sources hand over (parsed records, or an S3 delivery file's bytes) into one
 * accumulator per identity, moving the detection window as records arrive: records before it only
 * train baselines (folded in per identity, in batches), records in it are counted and, when an
 * event detector reads them, kept as TrailEvents. Memory grows with identities and with the
 * detection window, not with the number of records read. The Scanner evaluates what it gathers.
 */
export class Ingest implements RecordSink, LaneSink {
  /** Every identity met, by key, in the order met. */
  readonly identities = new Map<string, IdentityAcc>();
  /**
   * People on shared roles (Principal.person), by person key: a second accumulator beside the
   * role's for the events of their sessions, for a baseline per person. Not identities of the
   * report: the scanner gives them to the role's detectors (DetectorContext.people).
   */
  readonly people = new Map<string, IdentityAcc>();
  /** The role (identity key) of each person key. */
  readonly personRole = new Map<string, string>();
  /** The person accumulator of each principal object met (principals are cached and reused). */
  private readonly personAccOf = new WeakMap<Principal, IdentityAcc>();
  /** The principal `personAcc` was last asked for and its accumulator (a role's records mostly repeat one session's principal). */
  private lastPersonOf: Principal | undefined;
  private lastPerson: IdentityAcc | undefined;
  /** The same accumulators, by `ordinal`. */
  private readonly accList: IdentityAcc[] = [];
  /** Records before the window, folded in per identity in batches (see DeferredRecords). */
  private readonly deferred: DeferredRecords;
  readonly skipped: Record<string, number> = {};
  readonly skipSamples: Array<{ origin: string; reason: string; detail?: string }> = [];
  /** Event ids seen inside the moving window, per 10-minute bucket (old buckets dropped whole). */
  private readonly seen = new Map<number, Set<string>>();
  private readonly geoCache = new Map<string, GeoInfo | null>();
  /** Each read worker's table of answers (see `located`), as Places of public addresses, by its thread id. */
  private readonly placeTables = new Map<number, Place[]>();
  private readonly nameIndex = new Set<string>();
  private readonly selectors: EventDetector[] = [];
  /** What the `select` detectors may take (their declared `mayTake`): event names, principal types. */
  private readonly mayTakeNames = new Set<string>();
  private readonly mayTakeTypes = new Set<string>();
  /** Every `select` detector says what it may take (mayTake): records in the window may use the fast lane. */
  private readonly gated: boolean;
  /** Accounts seen (recipient or the principal's). */
  readonly accounts = new Set<string>();
  private readonly principals = new PrincipalCache();
  /**
   * Fast-lane identities by ARN (records without invokedBy): the principal and the accumulator in
   * one lookup. Follows the principal cache (cleared with it).
   */
  private readonly lane = new Map<string, LaneEntry>();
  /**
   * The same for services (records of type AWSService, or of no type, with an invokedBy): by
   * invokedBy, which alone keys their principal in the cache (PrincipalCache). Cleared with `lane`.
   */
  private readonly serviceLane = new Map<string, LaneEntry>();
  private laneClears = 0;
  /** Changes whenever `lane` is cleared: readers' memos of it (RecordFields.arnMemo) from before are void. */
  private laneEpoch = 0;
  private lastAccount = "";
  private readonly fastPath: boolean;
  private readonly folds: FoldSink | undefined;
  readonly filters: ScanFilters;
  private readonly hasFilters: boolean;
  private readonly fixedStart: number | undefined;
  private readonly relMs: number;
  private newest = -Infinity;
  private wmin = -Infinity;
  /** Records dated after this are skipped ("future-eventTime"). */
  private readonly latest: number;
  recordsRead = 0;
  /** Of those, records taken on the fast lane (LaneSink.fields) without being parsed. */
  fastLane = 0;
  /** Of those, records that were not certainly before the window (see `fields`). */
  fastLaneWindow = 0;
  duplicates = 0;
  filteredOut = 0;
  afterWindow = 0;

  constructor(
    private readonly opts: IngestOptions,
    /** The event detectors: what they read decides which records must be parsed in the window. */
    eventDetectors: readonly EventDetector[],
  ) {
    this.filters = opts.filters ?? {};
    this.fastPath = opts.fastPath ?? true;
    this.latest = opts.now + FUTURE_SKEW_MS;
    this.deferred = new DeferredRecords(opts.deferBatch);
    this.folds = opts.folds;
    this.hasFilters = Object.values(this.filters).some((v) => v !== undefined && v !== "");
    for (const d of eventDetectors) {
      if (d.eventNames) for (const n of d.eventNames) this.nameIndex.add(n);
      else if (d.select) {
        this.selectors.push(d);
        for (const n of d.mayTake?.eventNames ?? []) this.mayTakeNames.add(n);
        for (const t of d.mayTake?.principalTypes ?? []) this.mayTakeTypes.add(t);
      }
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

  /** S3 delivery files' bytes, for one read: walked, and offered to `fields` record by record. */
  bytesReader(): BytesReader {
    return new FastLane(this);
  }

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
        if (this.trainsOnly(t) && this.implausible(t) === undefined) {
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
    if (this.fastPath && this.implausible(ev.time) === undefined) rememberPrincipal(raw as Record<string, unknown>, ev.principal, this.principals);
    this.addEvent(ev, origin);
  }

  /** Why a record dated `t` is not taken (too far in the future, before CloudTrail), if so. */
  private implausible(t: number): SkipReason | undefined {
    if (t > this.latest) return "future-eventTime";
    if (t < EARLIEST_EVENT_MS) return "pre-2013-eventTime";
    return undefined;
  }

  /**
   * The fast lane (LaneSink.fields): a record read without parsing it. Taken when its fields
   * are all the scan needs: before the window, to train the baseline; in it, to count it (no
   * filters, no --until, not a call an event detector reads). Otherwise the source parses it and
   * calls `record`. Same outcome either way (tests compare).
   */
  fields(f: RecordFields, _origin: string): boolean {
    if (!this.fastPath) return false;
    const t = f.time;
    // An implausible time: the full path checks the record and says why it is skipped.
    if (t > this.latest || t < EARLIEST_EVENT_MS) return false;
    const trains = this.trainsOnly(t);
    // Records that may be in the window: on the lane too, unless the full path would look at more
    // than the fields (filters, event detectors' selectors, --until) or the id was not read.
    if (!trains && (this.hasFilters || !this.gated || this.opts.until !== undefined || f.eventId === "")) return false;
    if (this.principals.clears !== this.laneClears) {
      this.lane.clear();
      this.serviceLane.clear();
      this.laneEpoch++;
      this.laneClears = this.principals.clears;
    }
    const arn = f.identityArn;
    // The lane's entries of this ARN: from the reader's memo by ARN number, else from `lane` (then memoised).
    const memo = f.arnMemo;
    const aid = f.arnId;
    let first: LaneEntry | undefined;
    if (memo !== undefined && aid >= 0) {
      if (memo.epoch !== this.laneEpoch) {
        memo.epoch = this.laneEpoch;
        memo.entries.fill(undefined); // in place, its length kept: see TableCache.renew
      }
      first = memo.entries[aid] as LaneEntry | undefined;
      if (first === undefined) {
        first = this.lane.get(arn!);
        if (first !== undefined) setAt(memo.entries, aid, first);
      }
    } else first = arn !== undefined ? this.lane.get(arn) : undefined;
    let known = first;
    let chain = 0;
    while (known !== undefined && (known.type !== f.identityType || known.invokedBy !== f.invokedBy)) {
      known = known.next;
      chain++;
    }
    if (known === undefined && first !== undefined && memo !== undefined && aid >= 0) {
      // The memo may predate entries added through another reader's table: look again.
      const fresh = this.lane.get(arn!);
      if (fresh !== first) {
        first = known = fresh;
        chain = 0;
        while (known !== undefined && (known.type !== f.identityType || known.invokedBy !== f.invokedBy)) {
          known = known.next;
          chain++;
        }
        if (fresh !== undefined) memo.entries[aid] = fresh;
      }
    }
    // A service's records: its entry by invokedBy (none by ARN is the service's: see joinLane).
    if (known === undefined && isService(f)) known = this.serviceLane.get(f.invokedBy!);
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
      const acc = known !== undefined ? known.acc : this.accList[this.joinLane(b, f, first, chain)]!;
      const place = this.placeOf(acc, b);
      this.fold(acc, b, place, inWindow, undefined);
      if (b.principal.person !== undefined) this.fold(this.personAcc(b.principal), b, place, inWindow, undefined);
      return true;
    }
    const ordinal = known !== undefined ? known.ordinal : this.joinLane(b, f, first, chain);
    this.recordsRead++;
    this.fastLane++;
    if (t > this.newest) this.newest = t; // see record()
    this.defer(ordinal, b);
    return true;
  }

  /**
   * The accumulator (its ordinal) of a principal met on the lane for the first time; it joins the
   * lane if keyed on its ARN.
   */
  private joinLane(b: BaselineFacts, f: RecordFields, first: LaneEntry | undefined, chain: number): number {
    const acc = this.accFor(b.principal);
    // Only principals the cache keys on the ARN (users, roles, root) join the lane.
    const arn = f.identityArn;
    if (arn !== undefined && chain < 8 && LANE_TYPES.has(f.identityType ?? "") && arn.startsWith("arn:")) {
      const e: LaneEntry = { type: f.identityType, invokedBy: f.invokedBy, principal: b.principal, acc, ordinal: acc.ordinal, next: first };
      this.lane.set(arn, e);
      if (f.arnMemo !== undefined && f.arnId >= 0 && f.arnMemo.epoch === this.laneEpoch) setAt(f.arnMemo.entries, f.arnId, e);
    } else if (isService(f)) {
      this.serviceLane.set(f.invokedBy!, { type: f.identityType, invokedBy: f.invokedBy, principal: b.principal, acc, ordinal: acc.ordinal, next: undefined });
    }
    return acc.ordinal;
  }

  /** A record at `t` is certainly before the (moving) window and not after --until: it only trains baselines. */
  private trainsOnly(t: number): boolean {
    return t < this.wmin && (this.opts.until === undefined || t <= this.opts.until);
  }

  /** LaneSink.eventIdsFrom: records from this time on may be in the window, where ids count. */
  eventIdsFrom(): number {
    return this.wmin;
  }

  /** The identity's accumulator, created on first sight (counting only what the store has not seen). */
  private accFor(p: Principal): IdentityAcc {
    let acc = this.identities.get(p.key);
    if (!acc) {
      acc = new IdentityAcc(p, this.opts.storedTrainedUntil?.(p.key) ?? -Infinity);
      acc.ordinal = this.accList.length;
      this.accList.push(acc);
      this.identities.set(p.key, acc);
      this.folds?.take(acc, p.key);
    } else if (p.sessionName && !acc.principal.sessionName) {
      acc.principal = p;
    }
    return acc;
  }

  /** A record before the window: train the baseline only (no window, no dedup, no filters). */
  private addBaselineFacts(f: BaselineFacts): void {
    this.defer(this.accFor(f.principal).ordinal, f);
  }

  /** Hold `f` for the accumulator numbered `ordinal`. */
  private defer(ordinal: number, f: BaselineFacts): void {
    if (f.accountId !== this.lastAccount) {
      this.lastAccount = f.accountId;
      if (f.accountId !== "unknown") this.accounts.add(f.accountId);
    }
    if (this.deferred.push(ordinal, f)) this.flushDeferred();
  }

  /** Fold the held-back records before the window into their identities. */
  flushDeferred(): void {
    this.deferred.flush(this.accList, this.foldFactsFn);
  }

  /** foldFacts as the one function object every flush is given (a new closure per flush was a new call target to DeferredRecords.foldRows' optimised code). */
  private readonly foldFactsFn = (acc: IdentityAcc, f: BaselineFacts): void => this.foldFacts(acc, f);

  private foldFacts(acc: IdentityAcc, f: BaselineFacts): void {
    const place = this.placeOf(acc, f);
    this.fold(acc, f, place, false, undefined);
    if (f.principal.person !== undefined) this.fold(this.personAcc(f.principal), f, place, false, undefined);
  }

  /** IdentityAcc.add, here or in the fold worker. */
  private fold(acc: IdentityAcc, ev: EventFacts, geo: GeoInfo | undefined, inWindow: boolean, candidate: TrailEvent | undefined): void {
    if (this.folds !== undefined) this.folds.add(acc, ev, inWindow, this.wmin, candidate);
    else acc.add(ev, geo, inWindow, this.wmin, candidate);
  }

  /** The accumulator of the person behind a principal (Principal.person), created on first sight. */
  private personAcc(p: Principal): IdentityAcc {
    if (p === this.lastPersonOf) return this.lastPerson!;
    let acc = this.personAccOf.get(p);
    if (acc) {
      this.lastPersonOf = p;
      this.lastPerson = acc;
      return acc;
    }
    const key = personKey(p)!;
    acc = this.people.get(key);
    if (!acc) {
      acc = new IdentityAcc({ ...p, key }, this.opts.storedTrainedUntil?.(key) ?? -Infinity);
      this.people.set(key, acc);
      this.personRole.set(key, p.key);
      this.folds?.take(acc, key, p.key);
    }
    this.personAccOf.set(p, acc);
    this.lastPersonOf = p;
    this.lastPerson = acc;
    return acc;
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
    const p = f.place;
    let geo: GeoInfo | undefined;
    if (p !== undefined) {
      // What the reader kept for this address (placeFor, or a read worker's location).
      f.ipKind = p.kind;
      geo = p.geo;
    } else {
      f.ipKind = classifySourceIp(f.sourceIp);
      // With a fold worker, locations are looked up where the rows are folded.
      geo = f.ipKind === "public" && this.folds === undefined ? this.geoOf(f.sourceIp) : undefined;
    }
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
  addEvent(ev: TrailEvent, origin = "event"): void {
    const t = ev.time;
    const odd = this.implausible(t);
    if (odd !== undefined) {
      // Never moves the window, never trains a baseline.
      this.skip(odd, origin, 1, `eventTime ${new Date(t).toISOString()} (event ${ev.id})`);
      return;
    }
    if (this.deferred.size > 0) this.flushDeferred(); // keep each identity's records in order
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
    const geo = ev.ipKind === "public" && this.folds === undefined ? this.geoOf(ev.sourceIp) : undefined;
    // Folded here, the event's facts go to the accumulator in the one shape every other record has (see factsOf).
    const facts = this.folds === undefined ? this.factsOf(ev) : ev;
    this.fold(acc, facts, geo, inWindow, candidate ? ev : undefined);
    if (ev.principal.person !== undefined) this.fold(this.personAcc(ev.principal), facts, geo, inWindow, undefined);
  }

  /**
   * What IdentityAcc.add reads of a TrailEvent, in a reused BaselineFacts: the records of the
   * fast lane and of the deferred batches come to it as BaselineFacts, and a TrailEvent's other
   * shape made its optimised code (add, track, accTargets) polymorphic, and thrown away and compiled
   * again when the first TrailEvent came. The same values (add keeps none of the objects).
   */
  private factsOf(ev: TrailEvent): BaselineFacts {
    const f = this.eventFacts;
    f.id = ev.id;
    f.time = ev.time;
    f.api = ev.api;
    f.eventName = ev.eventName;
    f.region = ev.region;
    f.sourceIp = ev.sourceIp;
    f.ipKind = ev.ipKind;
    f.uaFamily = ev.uaFamily;
    f.failed = ev.failed;
    f.denied = ev.denied;
    f.errorCode = ev.errorCode;
    f.accountId = ev.accountId;
    f.requestParameters = ev.requestParameters;
    f.resources = ev.resources;
    f.principal = ev.principal;
    f.place = undefined;
    return f;
  }
  private readonly eventFacts: BaselineFacts = emptyBaselineFacts();

  // ------------------------------------------------------------------ helpers

  /** Whether some event detector's `select` may take an event of this name and principal type. */
  private mayBeSelected(name: string, principalType: string): boolean {
    return this.mayTakeNames.has(name) || this.mayTakeTypes.has(principalType);
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
      const stsArn = p.type === "AssumedRole" && p.userName && p.sessionName ? `arn:aws:sts::${p.accountId}:assumed-role/${p.userName}/${p.sessionName}` : undefined;
      if (u !== p.userName && u !== p.sessionName && u !== p.arn && u !== p.key && u !== stsArn) return false;
    }
    return true;
  }

  /** LaneSink.offThreadData: with the default resolver (and no fold worker), read workers locate the addresses they meet. */
  offThreadData(): OffThreadData | undefined {
    return this.opts.geo !== undefined && this.opts.geoEnv !== undefined && this.folds === undefined ? { geoEnv: this.opts.geoEnv } : undefined;
  }

  /**
   * LaneSink.located: the locations a read worker (thread `thread`) found for the public addresses
   * of the file whose records come next: the same answers (the same resolver, made from the same
   * environment), not looked up here. They go into the cache `geoOf` reads, and back to the reader
   * as each address's Place. The worker's table of answers grows with each file; were a file's
   * places not given here (a file not taken), the indexes would no longer match: that worker's
   * places are then left aside (undefined), and its addresses looked up here.
   */
  located(thread: number, p: Places): Place[] | undefined {
    let table = this.placeTables.get(thread);
    if (p.base === 0) this.placeTables.set(thread, (table = []));
    if (table === undefined || table.length !== p.base) return undefined;
    for (const geo of p.fresh) table.push({ kind: "public", geo });
    const cache = this.geoCache;
    const out: Place[] = [];
    for (let i = 0; i < p.ips.length; i++) {
      if (cache.size > 200_000) cache.clear();
      const k = p.at[i]!;
      const place = k < 0 ? NOWHERE : table[k]!;
      cache.set(p.ips[i]!, place.geo ?? null);
      out.push(place);
    }
    return out;
  }

  /** LaneSink.placeFor: what placeOf derives from a source address (with a fold worker: no location). */
  placeFor(ip: string): Place {
    const kind = classifySourceIp(ip);
    return { kind, geo: kind === "public" && this.folds === undefined ? this.geoOf(ip) : undefined };
  }

  /** The location of a public address (cached per scan). */
  geoOf(ip: string): GeoInfo | undefined {
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

  /** Accumulators are folded in a worker thread (IngestOptions.folds, and the worker started): the ones here stay empty. */
  get foldsInWorker(): boolean {
    return this.folds?.started === true;
  }

  /**
   * With IngestOptions.folds, after the last record: when the worker never started (a small
   * scan), fold the rows here; the accumulators are complete then. Throws when the worker has them.
   */
  foldHere(): void {
    if (this.folds === undefined) return;
    if (this.deferred.size > 0) this.flushDeferred();
    this.folds.foldHere((ip) => this.geoOf(ip));
  }

  /** What this Ingest counted (for a fold worker's Ingest: `adoptTotals`). */
  totals(): IngestTotals {
    return {
      recordsRead: this.recordsRead,
      fastLane: this.fastLane,
      fastLaneWindow: this.fastLaneWindow,
      duplicates: this.duplicates,
      filteredOut: this.filteredOut,
      afterWindow: this.afterWindow,
      skipped: this.skipped,
      skipSamples: this.skipSamples,
      accounts: [...this.accounts],
      newest: this.newest,
    };
  }

  /** A fold worker's Ingest takes the main thread's totals at the end of the reading. */
  adoptTotals(t: IngestTotals): void {
    this.recordsRead = t.recordsRead;
    this.fastLane = t.fastLane;
    this.fastLaneWindow = t.fastLaneWindow;
    this.duplicates = t.duplicates;
    this.filteredOut = t.filteredOut;
    this.afterWindow = t.afterWindow;
    Object.assign(this.skipped, t.skipped);
    this.skipSamples.push(...t.skipSamples);
    for (const a of t.accounts) this.accounts.add(a);
    this.newest = t.newest;
  }

  /** A fold worker's Ingest takes an accumulator the main thread made: an identity, or (with `role`) a person on a role. */
  adoptAcc(acc: IdentityAcc, key: string, role: string | undefined): void {
    if (role === undefined) {
      acc.ordinal = this.accList.length;
      this.accList.push(acc);
      this.identities.set(key, acc);
    } else {
      this.people.set(key, acc);
      this.personRole.set(key, role);
    }
  }

  /** Stop the fold worker, if any (the scan was given up); resolves once it has ended. */
  async closeFolds(): Promise<void> {
    await this.folds?.close();
  }

  /** The window the scan reports on. */
  window(): { start: number; end: number } {
    const last = this.opts.until ?? (Number.isFinite(this.newest) ? this.newest : this.opts.now);
    const start = this.fixedStart ?? floorBucket(last - this.relMs);
    // A --since after every record: an empty window that starts and ends there, not one that ends first.
    return { start, end: Math.max(last, start) };
  }
}
