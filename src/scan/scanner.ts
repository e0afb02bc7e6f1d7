import { DAY, DEFAULT_BASELINE_CONFIG, type BaselineConfig, type Dim, type Profile } from "../baseline/profile.js";
import { mergedDim, mergeProfile, type DimSource } from "../baseline/merge.js";
import { BaselineView } from "../baseline/view.js";
import type { SkipReason, TrailEvent } from "../events/types.js";
import { DETECTORS } from "../detectors/index.js";
import { emptyWindow } from "../detectors/lib/window.js";
import { offHoursJudge, raiseForHours, unusualHour } from "../detectors/unusual-hour.js";
import type {
  Detector,
  DetectorConfig,
  DetectorContext,
  EventDetector,
  FindingDraft,
  GeoPoint,
  GlobalDetector,
  IdentityWindow,
  PersonSlice,
  WindowDetector,
} from "../detectors/types.js";
import type { BytesReader, RecordSink } from "../sources/types.js";
import type { IdentityAcc } from "../ingest/accumulator.js";
import { Ingest } from "../ingest/ingest.js";
import { FoldFeeder, foldable } from "./fold-shard.js";
import { attributeDraft, FindingCollector } from "./findings.js";
import { heldNote, holdBack, releaseHeld, type HoldRequest, type SeenDays } from "../baseline/held.js";
import { ReportBuilder, reportSlice } from "./report.js";
import { lightTiering } from "./tiering.js";
import type { SourceSummary } from "./report-types.js";
import type { IdentityOutcome, ScanOptions, ScanResult } from "./scan-options.js";

export type { IdentityOutcome, ScanOptions, ScanResult } from "./scan-options.js";

/** Where an identity's findings go as its detectors make them. */
interface DraftSink {
  add(d: Detector, draft: FindingDraft, principal: IdentityWindow["principal"]): void;
}

/** What settling the identities and concluding the scan share (Scanner.finishing). */
interface Finishing {
  win: { start: number; end: number };
  detCfg: DetectorConfig;
  reads: Array<GlobalDetector["reads"]>;
  slim: boolean;
  keepProfiles: boolean;
  keepViews: boolean;
  views: Map<string, BaselineView>;
  /** The held-back values of stored profiles that have some (for the findings' notes: heldNote). */
  heldBy: Map<string, Pick<Profile, "held">>;
  mergedBy: Map<string, Profile>;
  countryDaysBy: Map<string, Map<string, number[]>>;
  profiles: Profile[];
}

/**
 * The scan core. Sources push raw records into it (it is a RecordSink); its Ingest gathers them
 * per identity, and `finish()` merges baselines, runs the detectors and builds the report.
 */
export class Scanner implements RecordSink {
  /** Its Ingest (read by a fold worker's applier). */
  readonly ingest: Ingest;
  private readonly baselineCfg: BaselineConfig;
  private readonly eventDetectors: EventDetector[] = [];
  private readonly windowDetectors: WindowDetector[] = [];
  private readonly globalDetectors: GlobalDetector[] = [];
  private readonly eventDetectorsByName = new Map<string, readonly EventDetector[]>();
  /** unusual-hour is on: the hour of day raises other findings too. */
  private readonly hoursFactor: boolean;
  readonly sources: SourceSummary[] = [];
  readonly partialReasons: string[] = [];
  /** The fold worker's feeder (ScanOptions.foldThreads), if the scan may fold in a worker. */
  private readonly folds: FoldFeeder | undefined;

  constructor(private readonly opts: ScanOptions) {
    this.baselineCfg = opts.baseline ?? DEFAULT_BASELINE_CONFIG;
    this.hoursFactor = (opts.detectors ?? DETECTORS).some((d) => d.id === unusualHour.id);
    for (const d of opts.detectors ?? DETECTORS) {
      if (d.kind === "event") this.eventDetectors.push(d);
      else if (d.kind === "window") this.windowDetectors.push(d);
      else this.globalDetectors.push(d);
    }
    const storedTrainedUntil = opts.storedTrainedUntil ?? ((key: string) => opts.storedProfile?.(key)?.trainedUntil);
    const folds = (opts.foldThreads ?? 1) > 1 && foldable(opts) ? new FoldFeeder(opts, this.shardable) : undefined;
    this.folds = folds;
    this.ingest = new Ingest(
      {
        now: opts.now,
        storedTrainedUntil,
        ...(opts.since ? { since: opts.since } : {}),
        ...(opts.until !== undefined ? { until: opts.until } : {}),
        ...(opts.filters ? { filters: opts.filters } : {}),
        ...(opts.geo ? { geo: opts.geo } : {}),
        ...(opts.geo && opts.foldGeoEnv ? { geoEnv: opts.foldGeoEnv } : {}),
        ...(folds ? { folds } : {}),
        ...(opts.fastPath !== undefined ? { fastPath: opts.fastPath } : {}),
        ...(opts.deferBatch !== undefined ? { deferBatch: opts.deferBatch } : {}),
      },
      this.eventDetectors,
    );
    if (folds) folds.geoOf = (ip) => this.ingest.geoOf(ip);
  }

  // ------------------------------------------------------------------ RecordSink (the Ingest's)

  record(raw: unknown, origin: string): void {
    this.ingest.record(raw, origin);
  }

  skip(reason: SkipReason, origin: string, count = 1, detail?: string): void {
    this.ingest.skip(reason, origin, count, detail);
  }

  bytesReader(): BytesReader {
    return this.ingest.bytesReader();
  }

  /** Add an already-normalised event (used by sources that normalise themselves, and tests). */
  addEvent(ev: TrailEvent, origin?: string): void {
    this.ingest.addEvent(ev, origin);
  }

  noteSource(s: SourceSummary, partialReasons: readonly string[] = []): void {
    this.sources.push(s);
    this.partialReasons.push(...partialReasons);
  }

  /** Records read; of those, taken from their fields without parsing; of those, not certainly before the window. */
  get recordsRead(): number {
    return this.ingest.recordsRead;
  }
  get fastLane(): number {
    return this.ingest.fastLane;
  }
  get fastLaneWindow(): number {
    return this.ingest.fastLaneWindow;
  }

  /** The window the scan reports on. */
  window(): { start: number; end: number } {
    return this.ingest.window();
  }

  /** Give the scan up: stop its fold worker, if any (no finish follows); resolves once it has ended. */
  close(): Promise<void> {
    return this.ingest.closeFolds();
  }

  /**
   * Aborted when the scan's fold worker stopped before the end (it failed or exited): the scan
   * cannot be completed (finishAsync rejects with a FoldWorkerError), its sources may stop reading.
   * Undefined when the scan has no fold worker.
   */
  get stopSignal(): AbortSignal | undefined {
    return this.folds?.stopSignal;
  }

  /** The fold worker's thread is running (started and not ended). */
  get foldWorkerRunning(): boolean {
    return this.folds?.running === true;
  }

  /** `finish`, in the fold worker when there is one (ScanOptions.foldThreads). Rejects with a FoldWorkerError when that worker failed. */
  async finishAsync(): Promise<ScanResult> {
    const folds = this.folds;
    if (folds === undefined) return this.finish();
    try {
      // First: the held-back records' rows may fill the first batch, and start the worker.
      this.ingest.flushDeferred();
      if (!folds.started) return this.finish();
      const end = { totals: this.ingest.totals(), sources: this.sources, partialReasons: this.partialReasons };
      return await (folds.shared ? folds.finishShared(end, this) : folds.finish(end));
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  // ------------------------------------------------------------------ the end

  /**
   * Settle every identity one at a time, in the order met: its window and baseline view, its
   * persisted profile, then its findings and its part of the report; then the window is dropped
   * (global detectors keep what they declared they read), so the end of a scan does not hold every
   * identity's window at once. A role's people are settled just before the role.
   */
  finish(): ScanResult {
    const ing = this.ingest;
    if (ing.foldsInWorker) throw new Error("Scanner.finish: the accumulators are in the fold worker (ScanOptions.foldThreads): call finishAsync");
    // Without TurboFan: its background compiles cost more than they save in a finish (scan/tiering.ts).
    return lightTiering(() => {
      ing.foldHere();
      ing.flushDeferred();
      const at = this.finishing();
      const end = this.conclusion(at);
      this.settleIdentities(at, (o) => end.add(o));
      return end.result();
    });
  }

  /**
   * A finish in two threads (scan/fold-shard.ts), each holding some of the identities: the regions
   * each account knew before the window, from this thread's identities (the whole scan's are the
   * union of both threads').
   */
  shardRegions(local: (acc: IdentityAcc) => boolean): Array<[account: string, regions: string[]]> {
    const win = this.ingest.window();
    const out: Array<[string, string[]]> = [];
    for (const acc of this.ingest.identities.values()) {
      if (!local(acc)) continue;
      const { values, accountId } = mergedDim(undefined, acc, "region", win.end, this.baselineCfg);
      if (!accountId) continue;
      const known = Object.keys(values).filter((r) => values[r]![2] < win.start);
      if (known.length > 0) out.push([accountId, known]);
    }
    return out;
  }

  /**
   * A finish in two threads: settle this thread's identities (`local`), with the account regions
   * of the whole scan (`regions`, from both threads' shardRegions): what each adds to the report
   * and findings, to be added in the scan's order (`finishFrom`). Only for scans that keep no
   * profiles or views (see `shardable`).
   */
  finishPart(regions: ReadonlyArray<readonly [string, readonly string[]]>, local: (acc: IdentityAcc) => boolean): IdentityOutcome[] {
    const byAccount = new Map<string, Set<string>>();
    for (const [a, rs] of regions) {
      let set = byAccount.get(a);
      if (!set) byAccount.set(a, (set = new Set()));
      for (const r of rs) set.add(r);
    }
    const out: IdentityOutcome[] = [];
    this.settleIdentities(this.finishing(), (o) => out.push(o), { regions: byAccount, local });
    return out;
  }

  /** A finish in two threads: the result, from every identity's outcome in the scan's order. */
  finishFrom(outcomes: Iterable<IdentityOutcome>): ScanResult {
    const at = this.finishing();
    const end = this.conclusion(at);
    for (const o of outcomes) end.add(o);
    return end.result();
  }

  /**
   * Whether this scan can be finished in two threads (finishPart, finishFrom): it keeps no
   * profiles, and no global detector needs every window whole or the baselines (nothing of one
   * identity is read once it is settled but what its outcome carries).
   */
  get shardable(): boolean {
    const reads = this.globalDetectors.map((d) => d.reads);
    return this.opts.keepProfiles === false && reads.every((r) => r !== undefined && r.baselines !== true);
  }

  /** What settling and concluding share. */
  private finishing(): Finishing {
    const ing = this.ingest;
    const win = ing.window();
    const reads = this.globalDetectors.map((d) => d.reads);
    const slim = reads.every((r) => r !== undefined);
    const keepProfiles = this.opts.keepProfiles !== false;
    return {
      win,
      detCfg: {
        ownAccounts: this.opts.detectorConfig?.ownAccounts ?? ing.accounts,
        maxSpeedKmh: this.opts.detectorConfig?.maxSpeedKmh ?? 900,
        minTravelKm: this.opts.detectorConfig?.minTravelKm ?? 100,
      },
      reads,
      slim,
      keepProfiles,
      // Every identity's view is kept (for baselineOf) unless nothing needs it after the identity is
      // judged: no global detector asks, and no profiles kept, or kept profiles handed to
      // `onProfile` (the store's encoder, which then holds their history packed: a view kept would
      // keep it live, baseline/released.ts). Kept profiles not handed over hold what a view holds.
      keepViews: (keepProfiles && this.opts.onProfile === undefined) || !slim || reads.some((r) => r?.baselines === true),
      views: new Map(),
      heldBy: new Map(),
      mergedBy: new Map(),
      countryDaysBy: new Map(),
      // Persisted profiles in the order met: identities, then people.
      profiles: new Array<Profile>(keepProfiles ? ing.identities.size + ing.people.size : 0),
    };
  }

  /**
   * Settle the identities (those of this thread: `shard.local`), in the order met, handing each
   * one's outcome to `emit`. The regions each account knew come from `shard.regions`, else are
   * gathered as detectors ask, from the identities settled so far and the rest.
   */
  private settleIdentities(at: Finishing, emit: (o: IdentityOutcome) => void, shard?: { regions: Map<string, Set<string>>; local: (acc: IdentityAcc) => boolean }): void {
    const ing = this.ingest;
    const { win, detCfg, reads, slim, keepProfiles, keepViews, views, heldBy, mergedBy, countryDaysBy, profiles } = at;
    const cfg = this.baselineCfg;
    const local = shard?.local ?? (() => true);
    const geoLookup = (ip: string) => ing.geoOf(ip);
    const known = (key: string, dim: Dim, value: string) => views.get(key)?.known(dim, value) ?? false;
    // Without kept views: the regions each settled identity knew, until the account regions read it (readNext).
    const settledRegions = new Map<string, [account: string, regions: string[]]>();
    const keepCandidate = (ev: TrailEvent) => reads.some((r) => r?.candidate?.(ev) === true);
    const keepGeo = (w: IdentityWindow, g: GeoPoint) => reads.some((r) => r?.geo?.(w, g) === true);
    const nIds = ing.identities.size;
    /** An identity's or person's window, and its baseline for the view; the persisted profile kept. */
    // Stored baselines of identities not settled yet that the account regions needed first
    // (readNext): each is decoded once, and taken from here when its identity is settled.
    const storedAhead = new Map<string, Profile | undefined>();
    const storedOf = (key: string): Profile | undefined => {
      if (storedAhead.has(key)) {
        const p = storedAhead.get(key);
        storedAhead.delete(key);
        return p;
      }
      // Values held back for findings acknowledged or suppressed since are history now.
      return releaseHeld(this.opts.storedProfile?.(key), this.opts.findingStatus);
    };
    // A scan that keeps no profiles nor views: a view's profile is read only while its identity
    // (or the role of its person) is judged, and its dimensions are built from the accumulator as
    // they are read (mergeProfile's lazyDims); the accumulator is released after (`judged`).
    const lazy = !keepProfiles && !keepViews;
    /** Accumulators of the identity being judged and its people, released once it is judged (lazy views). */
    const judging: IdentityAcc[] = [];
    const judged = (): void => {
      for (const acc of judging) acc.release();
      judging.length = 0;
    };
    const settle = (key: string, acc: IdentityAcc, at: number): { w: IdentityWindow; forView: Profile } => {
      const w = acc.toWindow(win.start, win.end, geoLookup);
      const stored = storedOf(key);
      if (stored?.held) heldBy.set(key, { held: stored.held });
      // The view sees history only (breadth of the window's own buckets excluded); the persisted
      // profile takes the window too.
      const forView = mergeProfile(stored, acc, win.end, cfg, lazy);
      if (lazy && stored === undefined) {
        judging.push(acc);
        return { w, forView };
      }
      if (keepProfiles) {
        acc.foldAll();
        const merged: Profile = { ...forView, breadth: mergeBreadth(stored, acc) };
        profiles[at] = merged;
        mergedBy.set(key, merged);
        this.opts.onProfile?.(merged);
      }
      acc.release(); // its window and profile are built: what it held is garbage now
      return { w, forView };
    };
    /**
     * An identity or person nothing asks a window or view of (a scan that keeps no baselines, and
     * none of its events in the window): only its stored baseline's held values are noted.
     */
    const settleUnseen = (key: string, acc: IdentityAcc, known?: (stored: Profile | undefined) => void): void => {
      const stored = storedOf(key);
      if (stored?.held) heldBy.set(key, { held: stored.held });
      known?.(stored);
      acc.release();
    };

    // People on shared roles: a baseline per person beside the role's (persisted too), given to
    // the role's detectors with the person's window.
    const peopleOf = new Map<string, Array<[key: string, acc: IdentityAcc, at: number]>>();
    const roleless: Array<[key: string, acc: IdentityAcc, at: number]> = [];
    {
      let at = nIds;
      for (const [key, acc] of ing.people) {
        const role = ing.personRole.get(key);
        const entry: [string, IdentityAcc, number] = [key, acc, at++];
        if (!local(acc)) continue;
        if (role === undefined || !ing.identities.has(role)) roleless.push(entry);
        else {
          let list = peopleOf.get(role);
          if (!list) peopleOf.set(role, (list = []));
          list.push(entry);
        }
      }
    }
    const settlePeople = (role: string): PersonSlice[] => {
      const slices: PersonSlice[] = [];
      for (const [key, acc, at] of peopleOf.get(role) ?? []) {
        // No event in the window (windowEvents counts every event its window could hold): no
        // slice; and without kept baselines, nothing to build.
        if (!keepProfiles && acc.windowEvents === 0) {
          settleUnseen(key, acc);
          continue;
        }
        const { w, forView } = settle(key, acc, at);
        if (w.events === 0) continue; // (a lazy view's accumulator is released with the role's: `judged`)
        if (keepProfiles) noteCountryDays(countryDaysBy, key, w);
        const view = new BaselineView(forView, win.start, cfg, w.events);
        slices.push({ name: acc.principal.person ?? key, key, window: w, baseline: view, learning: view.learning });
      }
      return slices;
    };

    // Regions each account used before the window, gathered as questions need them: the identities
    // are read in order until one answers (a region is known as soon as one identity of the
    // account knew it; unknown only once all were read; the same answers as from all at once).
    // Identities settled by then answer from their views; the others from their stored baseline
    // and the scan, as their view will. On the warm day most questions are answered by the first
    // few identities of an account, and most stored baselines need not be read for it.
    const byAccount: Map<string, Set<string>> = shard?.regions ?? new Map<string, Set<string>>();
    /** All identities were read into byAccount (or the shard's regions are the whole scan's). */
    let complete = shard !== undefined;
    /** Identities settled so far (the first ones of `ing.identities`). */
    let settled = 0;
    /** Identities read into byAccount so far (the first ones of `ing.identities`). */
    let read = 0;
    const unread = ing.identities.entries();
    const addRegion = (a: string | undefined, r: string) => {
      if (!a) return;
      let set = byAccount.get(a);
      if (!set) byAccount.set(a, (set = new Set()));
      set.add(r);
    };
    /** Read the next identity into byAccount; false when all were read. */
    const readNext = (): boolean => {
      const next = unread.next();
      if (next.done === true) {
        complete = true;
        settledRegions.clear();
        return false;
      }
      const [key, acc] = next.value;
      if (read++ < settled) {
        const v = views.get(key);
        if (v) {
          const a = v.profile?.accountId;
          if (a) for (const r of knownRegions(v)) addRegion(a, r);
        } else {
          const known = settledRegions.get(key);
          if (known) for (const r of known[1]) addRegion(known[0], r);
          settledRegions.delete(key);
        }
        return true;
      }
      // The store reads the region values alone where it can: no profile decoded and held
      // until its identity is settled. A whole profile it returns (one with held-back
      // values: rare) is decoded again then. Without it, the profile is kept for then.
      let stored: DimSource | undefined;
      if (this.opts.storedDim) {
        const part = this.opts.storedDim(key, "region");
        stored = part !== undefined && "v" in part ? releaseHeld(part, this.opts.findingStatus) : part;
      } else {
        const whole = releaseHeld(this.opts.storedProfile?.(key), this.opts.findingStatus);
        if (whole !== undefined) storedAhead.set(key, whole);
        stored = whole;
      }
      const { values, accountId } = mergedDim(stored, acc, "region", win.end, cfg);
      if (accountId) for (const r of Object.keys(values)) if (values[r]![2] < win.start) addRegion(accountId, r);
      return true;
    };
    /** Whether the identity at `index` of `ing.identities` was read already (its regions need not be kept for later). */
    const readAlready = (index: number): boolean => read > index;
    const account = {
      knowsRegion: (a: string | undefined, r: string): boolean => {
        if (a === undefined) return false;
        for (;;) {
          if (byAccount.get(a)?.has(r) === true) return true;
          if (complete || !readNext()) return false;
        }
      },
      hasHistory: (a: string | undefined): boolean => {
        if (a === undefined) return false;
        for (;;) {
          if ((byAccount.get(a)?.size ?? 0) > 0) return true;
          if (complete || !readNext()) return false;
        }
      },
    };

    let ordinal = -1;
    for (const [key, acc] of ing.identities) {
      ordinal++;
      if (!local(acc)) continue;
      if (!keepProfiles && !keepViews && acc.windowEvents === 0) {
        // Nothing in the window and no view kept: no window or view built. What the view would
        // have said afterwards, the regions it knew (while the account's may still be asked), is
        // the merged region dimension alone, as for identities not settled yet (readNext).
        emit({
          at: ordinal,
          key,
          baselineEvents: Math.max(0, acc.events - acc.windowEvents),
          candidatesDropped: acc.dropped.candidates,
          geoDropped: acc.dropped.geo,
        });
        settleUnseen(key, acc, (stored) => {
          if (complete || readAlready(settled)) return;
          const { values, accountId } = mergedDim(stored, acc, "region", win.end, cfg);
          const known = Object.keys(values).filter((r) => values[r]![2] < win.start);
          if (accountId && known.length > 0) settledRegions.set(key, [accountId, known]);
        });
        settled++;
        settlePeople(key);
        judged();
        continue;
      }
      const { w, forView } = settle(key, acc, settled++);
      const view = new BaselineView(forView, win.start, cfg, w.events);
      views.set(key, view);
      const o: IdentityOutcome = {
        at: ordinal,
        key,
        baselineEvents: Math.max(0, acc.events - acc.windowEvents),
        candidatesDropped: w.dropped.candidates,
        geoDropped: w.dropped.geo,
      };
      const people = settlePeople(key);
      if (w.events > 0) {
        if (keepProfiles) noteCountryDays(countryDaysBy, key, w);
        o.learning = view.learning;
        const drafts: IdentityOutcome["drafts"] = (o.drafts = []);
        this.detectIdentity(w, view, people, win, detCfg, account, { add: (d, dr, p) => void drafts.push([this.detectorIndex(d), dr, p]) });
        o.report = reportSlice(w, view.learning, known);
        if (!slim) o.global = w;
        else {
          const candidates = w.candidates.filter(keepCandidate);
          const geo = w.geo.filter((g) => keepGeo(w, g));
          if (candidates.length > 0 || geo.length > 0) o.global = slimWindow(w, candidates, geo);
        }
      }
      emit(o);
      if (!keepViews) {
        views.delete(key);
        const a = forView.accountId;
        if (!complete && !readAlready(settled - 1) && a) {
          const known = knownRegions(view);
          if (known.length > 0) settledRegions.set(key, [a, known]);
        }
      }
      judged();
    }
    for (const [key, acc, at] of roleless) {
      if (!keepProfiles) {
        settleUnseen(key, acc);
        continue;
      }
      const { w } = settle(key, acc, at);
      if (keepProfiles && w.events > 0 && ing.personRole.get(key) !== undefined) noteCountryDays(countryDaysBy, key, w);
    }
  }

  /** Takes every identity's outcome in the scan's order, then runs the global detectors and builds the result. */
  private conclusion(at: Finishing): { add(o: IdentityOutcome): void; result(): ScanResult } {
    const ing = this.ingest;
    const { win, detCfg, views, heldBy, mergedBy, countryDaysBy, profiles } = at;
    const cfg = this.baselineCfg;
    const collector = new FindingCollector(this.opts.maxFindingEventIds);
    const learning: string[] = [];
    const geoLookup = (ip: string) => ing.geoOf(ip);
    let candidatesDropped = 0,
      geoDropped = 0,
      baselineEvents = 0;
    const report = new ReportBuilder((key, dim, value) => views.get(key)?.known(dim, value) ?? false);
    const globalWindows: IdentityWindow[] = [];
    let firstPrincipal: IdentityWindow["principal"] | undefined;
    const detectors = this.detectorList;
    const add = (o: IdentityOutcome): void => {
      baselineEvents += o.baselineEvents;
      candidatesDropped += o.candidatesDropped;
      geoDropped += o.geoDropped;
      if (o.report === undefined) return;
      if (o.learning) learning.push(o.key);
      for (const [d, dr, p] of o.drafts ?? []) collector.add(detectors[d]!, dr, p);
      report.apply(o.report);
      firstPrincipal ??= o.report.principal;
      if (o.global) globalWindows.push(o.global);
    };
    const result = (): ScanResult => {
      const emptyView = new BaselineView(undefined, win.start, cfg);
      for (const d of this.globalDetectors) {
        const drafts = d.detect(globalWindows, { window: win, config: detCfg, baselineOf: (k) => views.get(k) ?? emptyView });
        for (const dr of drafts) {
          const who = dr.principal ?? firstPrincipal;
          if (who) addDrafts(collector, d, dr, who);
        }
      }

      // Never learn from an attack: the values open findings of medium or higher are about stay out
      // of the persisted baselines (src/baseline/held.ts); findings say when a baseline excludes some.
      const findings = collector.result();
      const requests = new Map<string, HoldRequest[]>();
      for (const f of findings) {
        const values = collector.holds.get(f.id);
        if (!values) continue;
        // A person's finding: held back from the person's baseline and from the role's.
        const personKey = collector.personKeys.get(f.id);
        for (const key of personKey ? [f.identity.key, personKey] : [f.identity.key]) {
          let list = requests.get(key);
          if (!list) requests.set(key, (list = []));
          list.push({ finding: f.id, severity: f.severity, values });
        }
      }
      for (const [key, reqs] of requests) {
        const p = mergedBy.get(key);
        if (p) {
          holdBack(p, reqs, win.start, this.opts.now, this.opts.findingStatus, countryDays(countryDaysBy.get(key)));
          this.opts.onProfile?.(p);
        }
      }
      for (const f of findings) {
        const note = heldNote(heldBy.get(collector.personKeys.get(f.id) ?? f.identity.key));
        if (note) f.why += note;
      }

      const partialReasons = [...this.partialReasons];
      if (candidatesDropped > 0) partialReasons.push(`${candidatesDropped} events beyond the per-identity cap were not examined by event detectors`);
      if (geoDropped > 0) partialReasons.push(`${geoDropped} public-IP observations beyond the per-identity cap were not used for travel checks`);

      return {
        report: report.build({
          now: this.opts.now,
          version: this.opts.version ?? "0.0.0",
          window: win,
          findings,
          learning,
          sources: this.sources,
          partialReasons,
          filters: { ...ing.filters },
          stats: {
            recordsRead: ing.recordsRead,
            baselineEvents,
            skipped: { ...ing.skipped },
            skipSamples: ing.skipSamples,
            duplicates: ing.duplicates,
            filteredOut: ing.filteredOut,
            afterWindow: ing.afterWindow,
          },
          geo: geoLookup,
        }),
        profiles,
      };
    };
    return { add, result };
  }

  /** The scan's detectors, in order (an outcome names a detector by its index here). */
  private get detectorList(): readonly Detector[] {
    return this.opts.detectors ?? DETECTORS;
  }

  private detectorIndex(d: Detector): number {
    const i = this.detectorList.indexOf(d);
    if (i < 0) throw new Error(`Scanner: detector ${d.id} is not one of the scan's`);
    return i;
  }

  /**
   * The event detectors that may take an event of this name, in their order: those that list it,
   * and those that `select` (asked per event). Built once per name met.
   */
  private eventDetectorsFor(name: string): readonly EventDetector[] {
    let list = this.eventDetectorsByName.get(name);
    if (!list) {
      list = this.eventDetectors.filter((d) => !d.eventNames || d.eventNames.includes(name));
      this.eventDetectorsByName.set(name, list);
    }
    return list;
  }

  /** Event and window detectors over one identity's window. */
  private detectIdentity(
    w: IdentityWindow,
    view: BaselineView,
    people: PersonSlice[],
    win: { start: number; end: number },
    detCfg: DetectorConfig,
    regions: { knowsRegion(account: string | undefined, region: string): boolean; hasHistory(account: string | undefined): boolean },
    collector: DraftSink,
  ): void {
    const account = w.principal.accountId;
    const ctx: DetectorContext = {
      principal: w.principal,
      baseline: view,
      learning: view.learning,
      window: win,
      config: detCfg,
      account: { knowsRegion: (r) => regions.knowsRegion(account, r), hasHistory: () => regions.hasHistory(account) },
    };
    if (people.length > 0) ctx.people = people;
    if (this.opts.geo) ctx.geo = this.opts.geo;
    // The hour of day as a factor (unusual-hour): findings of medium or higher about activity
    // wholly in hours the person (or identity) never works at are raised.
    const judge = offHoursJudge(w, ctx);
    const offHoursOf = (dr: FindingDraft, person?: string) => (this.hoursFactor ? judge(dr, person) : undefined);
    for (const ev of w.candidates) {
      // The context with the event's principal: one per event (detectors only read it), made once a detector takes it.
      let evCtx: DetectorContext | undefined;
      for (const d of this.eventDetectorsFor(ev.eventName)) {
        if (!d.eventNames && !d.select?.(ev)) continue;
        evCtx ??= ctx.principal === ev.principal ? ctx : { ...ctx, principal: ev.principal };
        const out = d.detect(ev, evCtx);
        if (out)
          addDrafts(
            collector,
            d,
            raiseForHours(Array.isArray(out) ? out : [out], (dr) => offHoursOf(dr, ev.principal.person)),
            ev.principal,
          );
      }
    }
    for (const d of this.windowDetectors)
      addDrafts(
        collector,
        d,
        raiseForHours(
          d.detect(w, ctx).map((dr) => attributeDraft(w, dr)),
          (dr) => offHoursOf(dr),
        ),
        w.principal,
      );
  }
}

/** What global detectors that declared their reads get of a window: its principal, and the candidates and geo points they read. */
function slimWindow(w: IdentityWindow, candidates: TrailEvent[], geo: GeoPoint[]): IdentityWindow {
  return { ...emptyWindow(w.principal), events: w.events, errors: w.errors, denied: w.denied, first: w.first, last: w.last, geo, candidates };
}

/** The regions a view knew before its window (BaselineView.values' regions, unsorted: the account's regions are a set). */
function knownRegions(view: BaselineView): string[] {
  const out: string[] = [];
  const ws = view.windowStart;
  view.eachFirstSeen("region", (r, first) => {
    if (first < ws) out.push(r);
  });
  return out;
}

/** Notes the distinct days (epoch days, first seen first) a window saw each country on. */
function noteCountryDays(out: Map<string, Map<string, number[]>>, key: string, w: IdentityWindow): void {
  let byCountry: Map<string, Set<number>> | undefined;
  for (const g of w.geo) {
    const cc = g.geo?.country;
    if (!cc) continue;
    byCountry ??= new Map();
    let set = byCountry.get(cc);
    if (!set) byCountry.set(cc, (set = new Set()));
    set.add(Math.floor(g.time / DAY));
  }
  if (byCountry) out.set(key, new Map([...byCountry].map(([cc, days]) => [cc, [...days]])));
}

/** The distinct days (epoch days) a window saw each country on: what a held country keeps (travel fading). */
function countryDays(byCountry: ReadonlyMap<string, number[]> | undefined): SeenDays | undefined {
  if (!byCountry) return undefined;
  return (dim, value) => (dim === "country" ? byCountry.get(value)?.slice() : undefined);
}

function mergeBreadth(stored: Profile | undefined, acc: IdentityAcc): [number, number] {
  return [Math.max(stored?.breadth[0] ?? 0, acc.breadthMax), (stored?.breadth[1] ?? 0) + acc.breadthBuckets];
}

function addDrafts(c: DraftSink, d: Detector, out: FindingDraft | FindingDraft[] | null, p: IdentityWindow["principal"]): void {
  if (!out) return;
  if (Array.isArray(out)) for (const x of out) c.add(d, x, p);
  else c.add(d, out, p);
}
