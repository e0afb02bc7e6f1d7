/**
 * Folding records into accumulators, and the scan's finish, on a second thread (the "fold
 * worker"), for scans whose options can be handed over (no store: see `foldable`).
 *
 * The main thread still takes every record in the one-thread order and decides everything that
 * is shared by the scan (the moving window, duplicates, principals, held-back batches, skips,
 * addresses' kinds). What it hands over is each call of IdentityAcc.add, as a row of numbers
 * (strings, principals and target lists by number, each sent once), in the order it would have
 * made them, with the window start it would have passed; and each accumulator as it is created,
 * in order. The worker's Scanner has the same accumulators, in the same order, as the one-thread
 * scan; at the end it takes the main thread's totals (records read, skips, accounts, the newest
 * event, the sources) and runs the same `finish`: the report and baselines are the one-thread
 * ones. Locations of public addresses are looked up in the worker.
 *
 * The worker starts with the first full batch: a small scan never starts it, its rows are folded
 * here at the end (the same rows, read the same way) and it is finished here.
 *
 * A scan that keeps no baselines (Scanner.shardable: `--no-store`) shares the identities instead:
 * every other identity (and the people on its role) is folded in the worker, the rest here as
 * without a worker; at the end both threads settle theirs at once (Scanner.finishPart: windows,
 * views, detectors, their part of the report), with the account regions of both, and the main
 * thread adds every identity's outcome in the one-thread order and concludes (Scanner.finishFrom).
 * The main thread no longer waits for the worker to fold everything, nor for it to finish alone.
 *
 * A worker that fails (an error, or it exits) cannot complete the scan: it says so in the shared
 * progress as it stops (the main thread may be waiting there for it), the main thread stops
 * sending rows and asks the sources to stop (`stopSignal`), and `finish` rejects with a
 * FoldWorkerError naming what failed. A worker that dies without a word (out of memory, terminated)
 * is known from its exit event, or after STALL_MS without progress the main thread stops waiting
 * for it. Faults are injected with TRAILHOUND_FAULT (src/util/faults.ts): `fold.batch`,
 * `fold.finish` in the worker, `fold.sent` here.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { EventFacts, IpKind, Principal, TrailEvent } from "../events/types.js";
import type { GeoInfo } from "../geo/types.js";
import { readsTargets } from "../events/targets.js";
import { accTargets, type IdentityAcc } from "../ingest/accumulator.js";
import { readsRequestParameters } from "../ingest/lean-facts.js";
import { READ_WORKER_BOOT } from "../sources/read-pool.js";
import { fault } from "../util/faults.js";
import type { IdentityOutcome, ScanOptions, ScanResult } from "./scan-options.js";
import type { SourceSummary } from "./report-types.js";
import type { FoldSink, IngestTotals } from "../ingest/ingest.js";

/** Rows per message (ScanOptions.foldBatch). */
const BATCH = 8192;
/**
 * Batches sent and not yet folded, at most: beyond, the main thread waits for the worker (else
 * batches pile up in memory whenever the worker is the slower thread).
 */
const BACKLOG = 6;
/**
 * How long the main thread waits for the worker to fold a batch before it stops waiting (until the
 * worker folds one again): a worker that died without a word is reported at the next file, or at
 * the end.
 */
const STALL_MS = 30_000;
/** The shared progress: [P_FOLDED] batches folded; [P_STOPPED] 1 once the worker failed or is exiting. */
export const P_FOLDED = 0,
  P_STOPPED = 1;
/** Int32 columns of a row. */
export const INTS = 11;
export const I_TARGET = 0,
  I_FLAGS = 1,
  I_IPKIND = 2,
  I_PRINCIPAL = 3,
  I_API = 4,
  I_NAME = 5,
  I_REGION = 6,
  I_IP = 7,
  I_UA = 8,
  I_ERROR = 9,
  /** What add tracks of calls whose parameters the baseline reads: their targets (a list), or roleArn / instanceType. */
  I_PARAM = 10;
export const F_IN_WINDOW = 1,
  F_FAILED = 2,
  F_DENIED = 4,
  F_CANDIDATE = 8,
  F_ID = 16;

/** The principal fields IdentityAcc.add reads. */
export type FoldPrincipal = Pick<EventFacts["principal"], "sessionName" | "invokedBy" | "mfa">;

/** A new accumulator: an identity (role undefined) or a person on a role. */
export interface NewAcc {
  key: string;
  role: string | undefined;
  trainedUntil: number;
  /** An identity's number in the order the main thread met them (a person: -1). */
  at: number;
}

/** One message of rows to the fold worker. */
export interface FoldBatch {
  kind: "rows";
  /** New accumulators, in the order created (numbered on from the previous batches'). */
  accs: NewAcc[];
  strings: string[];
  /** New target lists, as string numbers. */
  lists: number[][];
  principals: FoldPrincipal[];
  n: number;
  ints: Int32Array;
  nums: Float64Array;
  /** Per row, in order, what its flags say it has: event id, candidate. */
  objs: unknown[];
}

/**
 * The worker's young generation (MB): V8's default for a worker held some 45 MB more at the peak
 * of a 1M-event scan (lean, shared identities: 460 MB against 415 MB; 8 MB: 405 MB) for no CPU it saved.
 */
const YOUNG_MB = 16;
/** Of the identities, those folded in the worker when the threads share them (1 in SHARE_EVERY). */
const SHARE_EVERY = 2;

/** What the worker's Scanner is made with (ScanOptions that can be copied to a thread). */
export interface FoldInit {
  kind: "init";
  opts: ScanOptions;
  /** Look public addresses up with defaultGeoResolver(geoEnv) (undefined: no locations). */
  geoEnv: Record<string, string> | undefined;
  /** Int32 [P_FOLDED]: batches of rows folded so far; [P_STOPPED]: the worker stopped (it notifies [P_FOLDED] on each). */
  progress: SharedArrayBuffer;
}

/** The end of the reading: what the main thread's Ingest and Scanner know that the worker's do not. */
export interface FoldEnd {
  kind: "end";
  /** Every accumulator's principal as the main thread left it, in creation order. */
  principals: Principal[];
  totals: IngestTotals;
  sources: SourceSummary[];
  partialReasons: string[];
  /**
   * The identities are shared between the threads (FoldFeeder `shared`): the worker answers with
   * its identities' account regions, then, given every thread's (FoldRegions), with its
   * identities' outcomes; the main thread concludes.
   */
  shared?: boolean;
}

/** Every thread's account regions (Scanner.shardRegions), for a shared finish. */
export interface FoldRegions {
  kind: "regions";
  regions: Array<[string, string[]]>;
}

export type FoldMessage = FoldInit | FoldBatch | FoldEnd | FoldRegions;
/**
 * The worker's answer to the end: the result (with shared identities: its account regions, then
 * its identities' outcomes), or what failed (its message; the stack for --verbose).
 */
export type FoldReply = { result: ScanResult } | { regions: Array<[string, string[]]> } | { outcomes: IdentityOutcome[] } | { error: string; stack?: string };

/** The Scanner's side of a finish shared between the threads (see Scanner.finishPart). */
export interface SharedFinish {
  shardRegions(local: (acc: IdentityAcc) => boolean): Array<[string, string[]]>;
  finishPart(regions: ReadonlyArray<readonly [string, readonly string[]]>, local: (acc: IdentityAcc) => boolean): IdentityOutcome[];
  finishFrom(outcomes: Iterable<IdentityOutcome>): ScanResult;
}

/** The fold worker failed, or ended before the scan was finished: the scan cannot be completed. */
export class FoldWorkerError extends Error {
  override readonly name = "FoldWorkerError";
  readonly code = "worker-failed";
  constructor(
    readonly why: string,
    workerStack?: string,
  ) {
    super(`the scan's fold worker thread (TRAILHOUND_FOLD_THREAD=1) failed: ${why}`);
    if (workerStack) this.stack = `${this.stack}\nin the worker: ${workerStack}`;
  }
}

const NO_TARGETS: readonly string[] = [];

/** Reads batches of rows (FoldFeeder's) into accumulators: in the fold worker, or here for a small scan. */
export class RowReader {
  private readonly strings: string[] = [];
  private readonly principals: FoldPrincipal[] = [];
  private readonly lists: string[][] = [];
  /** requestParameters objects holding the one value add reads (by the value's string number). */
  private readonly roleParams: Array<Record<string, unknown>> = [];
  private readonly typeParams: Array<Record<string, unknown>> = [];
  private readonly facts: EventFacts = {
    id: "",
    time: 0,
    api: "",
    eventName: "",
    region: "",
    sourceIp: "",
    ipKind: "none",
    uaFamily: "",
    failed: false,
    denied: false,
    errorCode: undefined,
    requestParameters: null,
    resources: undefined,
    principal: { sessionName: undefined, invokedBy: undefined, mfa: undefined },
  };

  /**
   * Fold the rows of `b` into `accs` (by number; the batch's new accumulators already in it),
   * with the locations `geoOf` gives (Ingest.geoOf: the Ingest's own would have given the same).
   */
  read(b: FoldBatch, accs: readonly IdentityAcc[], geoOf: (ip: string) => GeoInfo | undefined): void {
    for (const x of b.strings) this.strings.push(x);
    for (const p of b.principals) this.principals.push(p);
    for (const l of b.lists) this.lists.push(l.map((i) => this.strings[i]!));
    const s = this.strings;
    const f = this.facts;
    const ints = b.ints;
    const nums = b.nums;
    const objs = b.objs;
    let o = 0;
    let lastIp = -1;
    let lastGeo: GeoInfo | undefined;
    for (let r = 0; r < b.n; r++) {
      const q = r * INTS;
      const flags = ints[q + I_FLAGS]!;
      f.time = nums[2 * r]!;
      f.failed = (flags & F_FAILED) !== 0;
      f.denied = (flags & F_DENIED) !== 0;
      const ipKind = (f.ipKind = s[ints[q + I_IPKIND]!] as IpKind);
      f.principal = this.principals[ints[q + I_PRINCIPAL]!]!;
      f.api = s[ints[q + I_API]!]!;
      const name = (f.eventName = s[ints[q + I_NAME]!]!);
      f.region = s[ints[q + I_REGION]!]!;
      const ip = ints[q + I_IP]!;
      f.sourceIp = s[ip]!;
      f.uaFamily = s[ints[q + I_UA]!]!;
      const e = ints[q + I_ERROR]!;
      f.errorCode = e < 0 ? undefined : s[e];
      f.id = (flags & F_ID) !== 0 ? (objs[o++] as string) : "";
      const candidate = (flags & F_CANDIDATE) !== 0 ? (objs[o++] as TrailEvent) : undefined;
      // The location Ingest.placeOf / addEvent would have given.
      let geo: GeoInfo | undefined;
      if (ipKind === "public") {
        if (ip !== lastIp) {
          lastIp = ip;
          lastGeo = geoOf(f.sourceIp);
        }
        geo = lastGeo;
      }
      const pv = ints[q + I_PARAM]!;
      let targets: readonly string[] | undefined;
      f.requestParameters = null;
      if (readsRequestParameters(name)) {
        if (readsTargets(name)) targets = pv < 0 ? NO_TARGETS : this.lists[pv]!;
        else if (pv >= 0) f.requestParameters = this.params(name === "RunInstances", pv);
      }
      accs[ints[q + I_TARGET]!]!.add(f, geo, (flags & F_IN_WINDOW) !== 0, nums[2 * r + 1]!, candidate, targets);
    }
  }

  /** { instanceType } or { roleArn } of the string numbered `v`. */
  private params(instanceType: boolean, v: number): Record<string, unknown> {
    const c = instanceType ? this.typeParams : this.roleParams;
    let p = c[v];
    if (p === undefined) c[v] = p = instanceType ? { instanceType: this.strings[v] } : { roleArn: this.strings[v] };
    return p;
  }
}

/** Two lists of outcomes, each in the one-thread order, merged into that order. */
function* inOrder(a: readonly IdentityOutcome[], b: readonly IdentityOutcome[]): Generator<IdentityOutcome> {
  let i = 0,
    j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.at < b[j]!.at)) yield a[i++]!;
    else yield b[j++]!;
  }
}

/**
 * Whether a scan can be finished in the fold worker: its options are data (no store, no detectors
 * of the caller's), and locations, if any, come from the default resolver (ScanOptions.foldGeoEnv).
 */
export function foldable(o: ScanOptions): boolean {
  return (
    o.storedProfile === undefined &&
    o.storedTrainedUntil === undefined &&
    o.findingStatus === undefined &&
    o.detectors === undefined &&
    (o.geo === undefined || o.foldGeoEnv !== undefined)
  );
}

/** The ScanOptions the worker's Scanner is made with: the data ones (the caller's object may hold more, e.g. runScan's sources). */
function dataOptions(o: ScanOptions): ScanOptions {
  const out: ScanOptions = { now: o.now };
  if (o.since !== undefined) out.since = o.since;
  if (o.until !== undefined) out.until = o.until;
  if (o.filters !== undefined) out.filters = o.filters;
  if (o.baseline !== undefined) out.baseline = o.baseline;
  if (o.detectorConfig !== undefined) out.detectorConfig = o.detectorConfig;
  if (o.version !== undefined) out.version = o.version;
  if (o.fastPath !== undefined) out.fastPath = o.fastPath;
  if (o.deferBatch !== undefined) out.deferBatch = o.deferBatch;
  if (o.maxFindingEventIds !== undefined) out.maxFindingEventIds = o.maxFindingEventIds;
  if (o.keepProfiles !== undefined) out.keepProfiles = o.keepProfiles;
  return out;
}

/**
 * The main thread's side: numbers the accumulators as they are created and turns their folds
 * into rows, sent in batches to the worker (started with the scan, so that its start-up overlaps
 * the reading).
 */
export class FoldFeeder implements FoldSink {
  private readonly targets = new Map<IdentityAcc, number>();
  private readonly accList: IdentityAcc[] = [];
  private readonly stringIds = new Map<string, number>();
  private readonly principalIds = new Map<object, number>();
  private readonly principalByValue = new Map<string, number>();
  private readonly listIds = new Map<string, number>();
  private nStrings = 0;
  private nPrincipals = 0;
  private nLists = 0;
  /** The last string of each column and its number (consecutive rows mostly repeat them). */
  private readonly lastStr: Array<string | undefined> = new Array<string | undefined>(INTS).fill(undefined);
  private readonly lastStrId: number[] = new Array<number>(INTS).fill(-1);
  private lastPrincipal: object | undefined;
  private lastPrincipalId = -1;
  private lastAcc: IdentityAcc | undefined;
  private lastTarget = -1;
  private readonly rows: number;
  private batch: FoldBatch;
  private readonly init: FoldInit;
  private worker: Worker | undefined;
  private done = false;
  /** The shared progress (P_FOLDED, P_STOPPED). */
  private readonly progress: Int32Array;
  private sent = 0;
  private readonly stallMs: number;
  /** Batches folded when the main thread last stopped waiting for a stalled worker (-1: never). */
  private stalledAt = -1;
  /** The worker stopped before the end (it failed or exited): rows are no longer sent. */
  private stopped = false;
  private readonly stop = new AbortController();
  /** The worker's thread has exited. */
  private exited = false;
  /** The worker's replies not yet asked for, and the one waiting for the next. */
  private readonly replies: FoldReply[] = [];
  private replyWaiting: ((r: FoldReply) => void) | undefined;
  /** Identities are shared: some folded (and settled) here, the rest in the worker. */
  readonly shared: boolean;
  /** Identities met so far, and the keys of those folded in the worker. */
  private identitiesMet = 0;
  private readonly remoteKeys = new Set<string>();
  /** With shared identities: locations of public addresses for the folds here (Ingest.geoOf). */
  geoOf: (ip: string) => GeoInfo | undefined = () => undefined;

  /** `shared`: identities may be folded here and in the worker, and the finish shared (Scanner.shardable). */
  constructor(opts: ScanOptions, shared = false) {
    this.shared = shared;
    this.rows = Math.max(1, opts.foldBatch ?? BATCH);
    this.stallMs = Math.max(1, opts.foldStallMs ?? STALL_MS);
    this.batch = this.emptyBatch();
    const progress = new SharedArrayBuffer(8);
    this.progress = new Int32Array(progress);
    this.init = { kind: "init", opts: dataOptions(opts), geoEnv: opts.geo !== undefined ? opts.foldGeoEnv : undefined, progress };
  }

  /** The worker was started: the accumulators are folded, and the scan finished, there. */
  get started(): boolean {
    return this.worker !== undefined;
  }

  /** The worker's thread is running (started, and not exited yet). */
  get running(): boolean {
    return this.worker !== undefined && !this.exited;
  }

  /** Aborted when the worker stopped before the end: the scan cannot be completed, its sources may stop reading. */
  get stopSignal(): AbortSignal {
    return this.stop.signal;
  }

  /** The worker stopped before the end: no more rows are sent; the sources are asked to stop. */
  private noteStopped(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stop.abort(new FoldWorkerError("it stopped before the scan was finished"));
  }

  private start(): Worker {
    const js = new URL("./fold-worker.js", import.meta.url);
    const fromSources = !existsSync(fileURLToPath(js));
    const entry = fromSources ? new URL("./fold-worker.ts", import.meta.url).href : undefined;
    const resourceLimits = { maxYoungGenerationSizeMb: YOUNG_MB };
    const w = fromSources ? new Worker(READ_WORKER_BOOT, { eval: true, workerData: { entry }, resourceLimits }) : new Worker(js, { resourceLimits });
    this.worker = w;
    w.unref();
    // Before the end, any word from the worker (or its exit) is a failure.
    const early = (r: FoldReply) => {
      if (!this.done) this.noteStopped();
      const waiting = this.replyWaiting;
      this.replyWaiting = undefined;
      if (waiting) waiting(r);
      else this.replies.push(r);
    };
    w.on("message", early);
    w.on("error", (e: Error) => {
      const oom = (e as NodeJS.ErrnoException)?.code === "ERR_WORKER_OUT_OF_MEMORY";
      early({ error: oom ? "it ran out of memory" : `${e?.name ?? "Error"}: ${e?.message ?? String(e)}`, ...(e?.stack ? { stack: e.stack } : {}) });
    });
    w.on("exit", (code) => {
      this.exited = true;
      early({ error: `it exited (code ${code}) before the scan was finished` });
    });
    try {
      w.postMessage(this.init);
    } catch (e) {
      void w.terminate().catch(() => undefined);
      throw e;
    }
    return w;
  }

  private emptyBatch(): FoldBatch {
    return { kind: "rows", accs: [], strings: [], lists: [], principals: [], n: 0, ints: new Int32Array(this.rows * INTS), nums: new Float64Array(this.rows * 2), objs: [] };
  }

  /** A new accumulator (nothing folded yet): an identity, or (with `role`) a person on a role. */
  take(acc: IdentityAcc, key: string, role?: string): void {
    if (this.shared) {
      // Every SHARE_EVERY-th identity is the worker's, and a person goes with the role.
      if (role === undefined ? this.identitiesMet++ % SHARE_EVERY !== SHARE_EVERY - 1 : !this.remoteKeys.has(role)) return;
      if (role === undefined) this.remoteKeys.add(key);
    }
    const id = this.accList.length;
    this.accList.push(acc);
    this.targets.set(acc, id);
    this.batch.accs.push({ key, role, trainedUntil: acc.trainedUntil, at: role === undefined ? acc.ordinal : -1 });
  }

  /** Whether an accumulator is folded (and settled) in this thread. */
  readonly local = (acc: IdentityAcc): boolean => !this.targets.has(acc);

  private str(s: string): number {
    let id = this.stringIds.get(s);
    if (id === undefined) {
      id = this.nStrings++;
      this.stringIds.set(s, id);
      this.batch.strings.push(s);
    }
    return id;
  }

  /** `str` of a column's value, remembering the column's last one. */
  private col(c: number, s: string): number {
    if (this.lastStr[c] === s) return this.lastStrId[c]!;
    const id = this.str(s);
    this.lastStr[c] = s;
    this.lastStrId[c] = id;
    return id;
  }

  /** The number of a list of targets. */
  private list(l: readonly string[]): number {
    // One target (most): the value itself is the key; more: their JSON (never starts with "1").
    const key = l.length === 1 ? "1" + l[0] : JSON.stringify(l);
    let id = this.listIds.get(key);
    if (id === undefined) {
      id = this.nLists++;
      this.listIds.set(key, id);
      this.batch.lists.push(l.map((s) => this.str(s)));
    }
    return id;
  }

  private principal(p: FoldPrincipal): number {
    if (p === this.lastPrincipal) return this.lastPrincipalId;
    let id = this.principalIds.get(p);
    if (id === undefined) {
      // By value: events of the full path each have a principal object of their own.
      const key = `${p.sessionName ?? "\u0001"}\u0000${p.invokedBy ?? "\u0001"}\u0000${String(p.mfa)}`;
      id = this.principalByValue.get(key);
      if (id === undefined) {
        id = this.nPrincipals++;
        this.principalByValue.set(key, id);
        this.batch.principals.push({ sessionName: p.sessionName, invokedBy: p.invokedBy, mfa: p.mfa });
      }
      if (this.principalIds.size < 100_000) this.principalIds.set(p, id);
    }
    this.lastPrincipal = p;
    this.lastPrincipalId = id;
    return id;
  }

  /** IdentityAcc.add of `acc` (the geo location is the worker's to look up), as a row. */
  add(acc: IdentityAcc, ev: EventFacts, inWindow: boolean, wmin: number, candidate: TrailEvent | undefined): void {
    if (this.stopped) return; // the worker failed: the scan will not be finished (FoldWorkerError)
    if (acc !== this.lastAcc) {
      const target = this.targets.get(acc);
      if (target === undefined) {
        // Folded here (shared identities), with the location the Ingest would have given.
        acc.add(ev, ev.ipKind === "public" ? this.geoOf(ev.sourceIp) : undefined, inWindow, wmin, candidate);
        return;
      }
      this.lastAcc = acc;
      this.lastTarget = target;
    }
    const b = this.batch;
    const r = b.n++;
    const q = r * INTS;
    const ints = b.ints;
    ints[q + I_TARGET] = this.lastTarget;
    ints[q + I_IPKIND] = this.col(I_IPKIND, ev.ipKind);
    ints[q + I_PRINCIPAL] = this.principal(ev.principal);
    ints[q + I_API] = this.col(I_API, ev.api);
    const name = ev.eventName;
    ints[q + I_NAME] = this.col(I_NAME, name);
    ints[q + I_REGION] = this.col(I_REGION, ev.region);
    ints[q + I_IP] = this.col(I_IP, ev.sourceIp);
    ints[q + I_UA] = this.col(I_UA, ev.uaFamily);
    ints[q + I_ERROR] = ev.errorCode === undefined ? -1 : this.col(I_ERROR, ev.errorCode);
    // What add reads of the parameters (and resources) of these calls only: the value it tracks
    // (roleArn, instanceType), or the targets.
    let pv = -1;
    if (readsRequestParameters(name)) {
      if (readsTargets(name)) {
        const l = accTargets(ev);
        if (l.length > 0) pv = this.list(l);
      } else {
        const rp = ev.requestParameters;
        const v = rp === null ? undefined : name === "RunInstances" ? rp.instanceType : rp.roleArn;
        if (typeof v === "string" && v.length > 0) pv = this.str(v);
      }
    }
    ints[q + I_PARAM] = pv;
    b.nums[2 * r] = ev.time;
    b.nums[2 * r + 1] = wmin;
    let flags = (inWindow ? F_IN_WINDOW : 0) | (ev.failed ? F_FAILED : 0) | (ev.denied ? F_DENIED : 0);
    if (ev.id !== "") {
      flags |= F_ID;
      b.objs.push(ev.id);
    }
    if (candidate !== undefined) {
      flags |= F_CANDIDATE;
      b.objs.push(candidate);
    }
    ints[q + I_FLAGS] = flags;
    if (b.n === this.rows) this.send();
  }

  private send(): void {
    if (this.worker !== undefined && Atomics.load(this.progress, P_STOPPED) !== 0) this.noteStopped();
    if (this.stopped) return;
    const b = this.batch;
    this.batch = this.emptyBatch();
    (this.worker ?? this.start()).postMessage(b, [b.ints.buffer as ArrayBuffer, b.nums.buffer as ArrayBuffer]);
    this.sent++;
    fault("fold.sent");
    this.waitBacklog();
  }

  /**
   * Wait while the worker is BACKLOG batches behind (it notifies as it folds one, and as it stops).
   * After stallMs without progress, stop waiting until it folds another batch.
   */
  private waitBacklog(): void {
    const p = this.progress;
    if (this.sent - Atomics.load(p, P_FOLDED) <= BACKLOG || Atomics.load(p, P_FOLDED) === this.stalledAt) return;
    const until = performance.now() + this.stallMs;
    for (;;) {
      if (Atomics.load(p, P_STOPPED) !== 0) {
        this.noteStopped();
        return;
      }
      const folded = Atomics.load(p, P_FOLDED);
      if (this.sent - folded <= BACKLOG) return;
      const left = until - performance.now();
      if (left <= 0) {
        this.stalledAt = folded;
        return;
      }
      Atomics.wait(p, P_FOLDED, folded, Math.min(1000, left));
    }
  }

  /**
   * Without a worker (a small scan): fold the rows here, into the accumulators they were made for
   * (call once, after the last fold; the scan is then finished here).
   */
  foldHere(geoOf: (ip: string) => GeoInfo | undefined): void {
    if (this.worker !== undefined) throw new Error("FoldFeeder.foldHere: the rows went to the worker");
    if (this.done) return;
    this.done = true;
    new RowReader().read(this.batch, this.accList, geoOf);
  }

  /**
   * The scan's result, from the worker's finish (call once, after the last fold). Rejects when
   * the worker failed: the scan cannot be completed without it.
   */
  async finish(end: Omit<FoldEnd, "kind" | "principals">): Promise<ScanResult> {
    const w = this.worker;
    if (this.done || w === undefined) throw new Error("FoldFeeder.finish: no worker, or called twice");
    this.send();
    this.done = true;
    // Held while the main thread waits for it (unref'd, a worker that ends is never heard of: the
    // process would end there, exit 0 and no report).
    w.ref();
    if (!this.stopped) {
      const msg: FoldEnd = { kind: "end", principals: this.accList.map((a) => a.principal), ...end };
      w.postMessage(msg);
    }
    const got = await this.nextReply();
    if (!("result" in got)) return this.failed(w, got);
    await this.ended(w);
    return got.result;
  }

  /**
   * `finish` with the identities shared (`shared`): both threads settle theirs at once, with the
   * account regions of both, and `scan` concludes here from every identity's outcome in the
   * one-thread order. Rejects when the worker failed.
   */
  async finishShared(end: Omit<FoldEnd, "kind" | "principals">, scan: SharedFinish): Promise<ScanResult> {
    const w = this.worker;
    if (this.done || w === undefined || !this.shared) throw new Error("FoldFeeder.finishShared: no worker, identities not shared, or called twice");
    this.send();
    this.done = true;
    w.ref(); // as in finish
    if (!this.stopped) {
      const msg: FoldEnd = { kind: "end", principals: this.accList.map((a) => a.principal), ...end, shared: true };
      w.postMessage(msg);
    }
    const regions = scan.shardRegions(this.local);
    const theirs = await this.nextReply();
    if (!("regions" in theirs)) return this.failed(w, theirs);
    for (const r of theirs.regions) regions.push(r);
    const all: FoldRegions = { kind: "regions", regions };
    w.postMessage(all);
    const mine = scan.finishPart(regions, this.local);
    const got = await this.nextReply();
    if (!("outcomes" in got)) return this.failed(w, got);
    await this.ended(w);
    return scan.finishFrom(inOrder(mine, got.outcomes));
  }

  /** The worker's next reply, in the order sent. */
  private nextReply(): Promise<FoldReply> {
    const r = this.replies.shift();
    if (r !== undefined) return Promise.resolve(r);
    return new Promise((resolve) => {
      this.replyWaiting = resolve;
    });
  }

  /** The worker answered what it was asked: its CPU is said for the benchmark, and it is ended. */
  private async ended(w: Worker): Promise<void> {
    if (process.env.TRAILHOUND_REPORT_RSS) {
      const u = await w.cpuUsage().catch(() => ({ user: NaN, system: NaN }));
      process.stderr.write(`foldWorkerCpuMs=${Math.round((u.user + u.system) / 1000)}\n`);
    }
    void w.terminate().catch(() => undefined);
  }

  /** The worker failed (or answered out of turn): the thread is gone before the scan's error is. */
  private async failed(w: Worker, got: FoldReply): Promise<never> {
    await w.terminate().catch(() => undefined);
    throw "error" in got ? new FoldWorkerError(got.error, got.stack) : new FoldWorkerError("it answered out of turn");
  }

  /** Stop the worker (a scan given up, or failed); resolves once its thread has ended. */
  async close(): Promise<void> {
    this.done = true;
    this.worker?.ref(); // held until it has ended (unref'd, the process might end first)
    await this.worker?.terminate().catch(() => undefined);
  }
}
