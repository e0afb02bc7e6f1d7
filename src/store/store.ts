/**
 * TrailStore: trailhound's one store file (lowdb `Low` over a durable adapter), a single writer
 * per process, and the domain operations on it. This class is a facade: each domain (findings,
 * suppressions, audit, cursors and scans, digests...) lives in its own module as functions over
 * the data, and every change goes through the one write queue (write-queue.ts).
 *
 * The map of the modules is in docs/ARCHITECTURE.md ("The store").
 *
 * - A returned promise resolves only once its change is on stable storage (temp file + fsync +
 *   rename + directory fsync); the changes queued while a write is on disk are saved together.
 * - A store file that cannot be read back is never overwritten: `open` throws a StoreError that
 *   says how to recover (`trailhound store check|restore`).
 * - `TrailStore.memory()` is the in-memory twin (same API, no disk) for other components' tests.
 *
 * Records returned by getters are the store's own objects: treat them as read-only. The store
 * replaces a finding when it changes (never mutates it), which lets the serializer re-use the
 * JSON of everything that did not change. Baselines are kept in memory only in their stored
 * (packed) form and decoded when read (baselines.ts): that keeps the process heap small, so
 * that garbage collection stays short and saves stay fast.
 */
import { mkdir, realpath } from "node:fs/promises";
import path from "node:path";
import { Low, Memory } from "lowdb";
import type { Dim, Profile } from "../baseline/profile.js";
import type { Finding } from "../scan/report-types.js";
import * as audit from "./audit.js";
import { type BaselineFacts, type StoredDim, baselineTable, getBaselineFacts, getBaselines, prepBaselines } from "./baselines.js";
import { ChangeFeed, type StoreChange } from "./changes.js";
import * as containments from "./containments.js";
import * as runs from "./cursors-scans.js";
import * as digests from "./digests.js";
import { StoreError } from "./errors.js";
import { openFileQueue, type StoreOptions } from "./file-backend.js";
import * as findings from "./findings.js";
import { STORE_FILE, pruneAuditFiles } from "./maintenance.js";
import { prepPrune, type PruneOptions, type PruneResult } from "./prune.js";
import * as replay from "./replay.js";
import { WARN_BYTES, storeStats, type StoreStats } from "./stats.js";
import * as sup from "./suppressions.js";
import {
  STORE_SCHEMA_VERSION,
  emptyStoreData,
  type AuditEntry,
  type ContainmentRecord,
  type Cursor,
  type DigestRecord,
  type FindingStatus,
  type ScanRecord,
  type StoreData,
  type StoredFinding,
  type Suppression,
} from "./types.js";
import { iso, ms, type When } from "./values.js";
import { type Backend, WriteQueue } from "./write-queue.js";

export { AUDIT_CAP } from "./audit.js";
export type { StoreChange } from "./changes.js";
export { SCANS_KEPT, type CursorStore } from "./cursors-scans.js";
export { DIGESTS_KEPT, type CreateDigestInput } from "./digests.js";
export type { StoreOptions } from "./file-backend.js";
export type { RecordKind, RecordResult } from "./findings.js";
export { PRUNE_DEFAULTS, type PruneOptions, type PruneResult } from "./prune.js";
export { WARN_BYTES, type StoreStats } from "./stats.js";
export type { SuppressInput } from "./suppressions.js";
export type { When } from "./values.js";

/** Store files open in this process. */
const OPEN_FILES = new Set<string>();

export class TrailStore {
  readonly #q: WriteQueue;
  readonly #warnBytes: number;
  readonly #changes = new ChangeFeed();
  #registration: string | undefined;
  /** In-memory twin: what would have gone to the .jsonl files. */
  readonly rotatedAudit: AuditEntry[];

  private constructor(q: WriteQueue, opts: StoreOptions, rotatedAudit: AuditEntry[] = []) {
    this.#q = q;
    this.#warnBytes = opts.warnBytes ?? WARN_BYTES;
    this.rotatedAudit = rotatedAudit;
  }

  /**
   * Open (or create) the store in `dir` (`<dir>/trailhound.json`). Migrates an older file after
   * copying it to `<dir>/backups/`, takes the rolling daily backup when due, and throws a
   * StoreError without touching a file it cannot read back: damaged | unreadable | newer-version |
   * missing (no file but backups) | conflict (already open in this process) | write-failed.
   */
  static async open(dir: string, opts: StoreOptions = {}): Promise<TrailStore> {
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw new StoreError("unreadable", `Cannot use the store directory ${dir}: ${(e as Error).message}`, { cause: e });
    }
    // One writer per store file per process: a second instance would overwrite the first one's saves.
    const id = path.join(await realpath(dir).catch(() => path.resolve(dir)), STORE_FILE);
    if (OPEN_FILES.has(id)) {
      throw new StoreError(
        "conflict",
        `The store ${id} is already open in this process; share that TrailStore instead of opening it again (two writers would overwrite each other's saves).`,
        { reason: "open-twice" },
      );
    }
    OPEN_FILES.add(id);
    try {
      const store = new TrailStore(await openFileQueue(dir, opts), opts);
      store.#registration = id;
      return store;
    } catch (e) {
      OPEN_FILES.delete(id);
      throw e;
    }
  }

  /** The in-memory twin: same API, nothing on disk. */
  static memory(initial: Partial<StoreData> = {}, opts: StoreOptions = {}): TrailStore {
    // structuredClone, not a JSON round trip: profiles of new identities hold +/-Infinity.
    const data: StoreData = { ...emptyStoreData(), ...structuredClone(initial), schemaVersion: STORE_SCHEMA_VERSION };
    const rotated: AuditEntry[] = [];
    const backend: Backend = {
      async persist(low, entries) {
        rotated.push(...entries);
        await low.write();
      },
      bytes: () => 0,
      warnings: () => [],
    };
    const q = new WriteQueue(new Low<StoreData>(new Memory<StoreData>(), data), backend, opts.auditCap ?? audit.AUDIT_CAP);
    return new TrailStore(q, opts, rotated);
  }

  /** The store's data (read-only view; change it through `update` or the domain methods). */
  get data(): Readonly<StoreData> {
    return this.#q.db.data;
  }

  get #data(): StoreData {
    return this.#q.db.data;
  }

  /** The last write failed (changes wait in memory for the next one): /healthz reports it. */
  get writeFailing(): boolean {
    return this.#q.dirty;
  }

  get file(): string | undefined {
    return this.#q.backend.file;
  }

  /**
   * Run a read-modify-write on the data and save it. Functions run one at a time, in call order;
   * updates queued together are saved with one disk write. Resolves with `fn`'s result once the
   * change is durable; rejects with `fn`'s error (write nothing for it: validate before mutating),
   * or with StoreError("write-failed" | "conflict") when saving failed. `fn` runs again if
   * another process replaced the file (its change is re-applied on what is on disk), so keep it
   * free of side effects. It may mutate records in place, at the price of re-encoding the whole
   * store on the next save (baselines: those it read, re-encoded after it); the domain methods
   * replace records instead. Reading `data.baselines[key]` decodes that profile: iterating all of
   * them in an update costs about as much as decoding and re-encoding the whole store.
   */
  update<R>(fn: (data: StoreData) => R | Promise<R>): Promise<R> {
    return this.#q.enqueue(fn, true);
  }

  /** Wait until every queued update is on disk; retries a failed write. */
  flush(): Promise<void> {
    return this.#q.flush();
  }

  /**
   * Flush, then refuse further updates (SIGTERM: no half-written store, no lost queued update).
   * `{ retry: false }`: wait for the write in flight but do not try again a save that failed
   * (the caller has reported what was not saved).
   */
  async close(opts: { retry?: boolean } = {}): Promise<void> {
    if (this.#q.closed) return;
    try {
      await this.#q.close(opts);
    } finally {
      if (this.#registration) OPEN_FILES.delete(this.#registration);
    }
  }

  /** Be told of changes once they are on disk (never inside the write). Returns the unsubscribe. */
  onChange(fn: (c: StoreChange) => void): () => void {
    return this.#changes.on(fn);
  }

  // Baselines (baselines.ts) ----------------------------------------------------------------------

  /** A stored profile, decoded (the last few decoded are cached: the same object may come back). Read-only. */
  getBaseline(key: string): Profile | undefined {
    return baselineTable(this.#data).get(key);
  }

  /**
   * A stored profile, decoded for a caller that reads it once (a scan): not kept in the cache of
   * decoded profiles. Read-only (it may be the cached object); a fresh decode is handed over to
   * the caller (baseline/profile.ts handOver: a scan's mergeProfile ages it in place).
   */
  readBaselineOnce(key: string): Profile | undefined {
    return baselineTable(this.#data).read(key);
  }

  /**
   * One dimension of a stored profile with the fields that reading it needs (trainedUntil,
   * accountId), without decoding the rest (baselines.ts: decodeDim); the whole profile when it
   * holds values held back for findings (releasing them may change the dimension). Read-only.
   */
  readBaselineDim(key: string, dim: Dim): StoredDim | Profile | undefined {
    return baselineTable(this.#data).dim(key, dim);
  }

  /** The given profiles (those that exist), or all of them: each is decoded (about 25 KB each on average). */
  getBaselines(keys?: Iterable<string>): Map<string, Profile> {
    return getBaselines(this.#data, keys);
  }

  /** The stored profile's `trainedUntil`, without decoding it: for ScanOptions.storedTrainedUntil. */
  getBaselineTrainedUntil(key: string): number | undefined {
    return baselineTable(this.#data).trainedUntil(key);
  }

  /**
   * The facts (first/last seen, trainedUntil, events, active days, ARN, user name) of the given
   * baselines, or of all of them, in the order of `getBaselines`, without decoding any: each equals
   * the same fields of the decoded profile (`learningAt` in baseline/view.ts). Frozen and shared.
   */
  getBaselineFacts(keys?: Iterable<string>): Map<string, BaselineFacts> {
    return getBaselineFacts(this.#data, keys);
  }

  /**
   * Decode every baseline's active days now (a store opened by its digest decodes them on first
   * use), `slice` baselines at a time, yielding to the event loop between slices: `serve` runs it
   * in the background after start, so that the first /cloudtrail status (synchronous work before
   * its Slack ack) does not pay ~1 CPU-s for 10,000 identities. Resolves with the number warmed.
   */
  async warmBaselineFacts(slice = 200): Promise<number> {
    let n = 0;
    for (const f of this.getBaselineFacts().values()) {
      if (f.days.length < 0) break;
      if (++n % slice === 0) await new Promise<void>((r) => setImmediate(r));
    }
    return n;
  }

  /** Replace profiles by key; encoded now, the store keeps no reference to the objects passed in. */
  putBaselines(profiles: readonly Profile[]): Promise<void> {
    return this.#q.apply(() => prepBaselines(profiles));
  }

  // Findings and decisions (findings.ts) ----------------------------------------------------------

  getFinding(id: string): StoredFinding | undefined {
    return findings.getFinding(this.#data, id);
  }

  listFindings(filter: { status?: FindingStatus | FindingStatus[] } = {}): StoredFinding[] {
    return findings.listFindings(this.#data, filter);
  }

  /** Upsert the findings of a scan: new / repeated / severity-raised, and their status (findings.ts). */
  recordFindings(list: readonly Finding[], now: When): Promise<findings.RecordResult[]> {
    return this.#changes.after(
      this.#q.apply(() => findings.prepFindings(list, now)),
      (results) => ({ kind: "findings", results }),
    );
  }

  /** Acknowledge a finding (recorded in its history and the audit log). Throws not-found for an unknown id. */
  acknowledge(findingId: string, by: string, now: When): Promise<StoredFinding> {
    const done = this.#q.apply(() => findings.prepDecision(findingId, by, now, "ack"));
    return this.#changes.after(done, () => ({ kind: "acknowledged", findingId, by }));
  }

  /** Mark a finding resolved; it reopens if a later scan reports it again. */
  resolve(findingId: string, by: string, now: When): Promise<StoredFinding> {
    const done = this.#q.apply(() => findings.prepDecision(findingId, by, now, "resolve"));
    return this.#changes.after(done, () => ({ kind: "resolved", findingId, by }));
  }

  // Suppressions (suppressions.ts) ----------------------------------------------------------------

  /** Create a suppression (a reason, an end in the future); open findings it covers become "suppressed". */
  suppress(input: sup.SuppressInput, now: When): Promise<Suppression> {
    const done = this.#q.apply(() => sup.prepSuppress(input, now));
    return this.#changes.after(done, (s) => ({ kind: "suppressed", findingIds: sup.findingsSuppressedBy(this.#data, s.id), by: s.by }));
  }

  /** End a suppression now. Findings it hid become open again (unless another one covers them). */
  unsuppress(id: string, by: string, now: When): Promise<Suppression> {
    return this.#q.apply(() => sup.prepUnsuppress(id, by, now));
  }

  getSuppression(id: string): Suppression | undefined {
    return sup.getSuppression(this.#data, id);
  }

  activeSuppressions(now: When): Suppression[] {
    return sup.activeSuppressions(this.#data, now);
  }

  /** The most specific active suppression covering this finding, if any. */
  matchSuppression(finding: sup.Suppressible, now: When): Suppression | undefined {
    return sup.findSuppression(this.#data.suppressions, finding, ms(now));
  }

  /** Suppressions that have run out and were not announced yet (digests announce each once). */
  expiredUnannounced(now: When): Suppression[] {
    return sup.expiredUnannounced(this.#data, now);
  }

  /** Record that these expiries were announced; findings they hid become open again. */
  markExpiryAnnounced(ids: readonly string[], now: When = Date.now()): Promise<void> {
    return this.#q.apply(() => sup.prepExpiryAnnounced(ids, now));
  }

  // Audit log (audit.ts) --------------------------------------------------------------------------

  /** Append to the audit log (capped in the store; the oldest entries go to `<dir>/audit-<date>.jsonl`). */
  audit(entry: AuditEntry): Promise<void> {
    return this.#q.apply(() => {
      const e = audit.auditEntry(entry);
      return (data) => audit.appendAudit(data, e);
    });
  }

  /** The newest `limit` audit entries in the store, newest first. */
  auditLog(limit = 50): AuditEntry[] {
    return audit.auditLog(this.#data, limit);
  }

  // Containments (containments.ts) and the replay guard (replay.ts) ------------------------------

  getContainment(id: string): ContainmentRecord | undefined {
    return containments.getContainment(this.#data, id);
  }

  /** Containments of a finding, oldest first. */
  containmentsFor(findingId: string): ContainmentRecord[] {
    return containments.containmentsFor(this.#data, findingId);
  }

  /**
   * Create or change a containment, and append `audit` entries in the same write. `change` gets
   * the current record (undefined for a new one) and returns the next one, or throws to refuse
   * (nothing is written): checks of the state go there, so that two concurrent approvals cannot both pass.
   */
  putContainment(id: string, change: containments.ContainmentChange): Promise<ContainmentRecord> {
    let previousState: ContainmentRecord["state"] | undefined;
    const done = this.#q.enqueue((data) => {
      previousState = containments.getContainment(data, id)?.state;
      return containments.putContainment(data, id, change);
    }, false);
    return this.#changes.after(done, (record) => ({ kind: "containment", record, ...(previousState ? { previousState } : {}) }));
  }

  /** Request keys still remembered at `now`, with when each may be forgotten (epoch ms). */
  replayKeys(now: When): Array<[string, number]> {
    return replay.replayKeys(this.#data, now);
  }

  /** Remember accepted requests until their expiry; forgets expired ones and keeps at most `max`. */
  rememberRequests(entries: ReadonlyArray<readonly [string, number]>, now: When, max = replay.REPLAY_KEYS_KEPT): Promise<void> {
    return this.#q.apply(() => replay.prepRememberRequests(entries, now, max));
  }

  // Cursors and scans (cursors-scans.ts) ----------------------------------------------------------

  getCursor(key: string): Cursor | undefined {
    return runs.getCursor(this.#data, key);
  }

  setCursor(key: string, cursor: Cursor): Promise<void> {
    return this.#q.apply(() => runs.prepCursors({ [key]: cursor }));
  }

  /** The cursor port for sources. */
  cursors(): runs.CursorStore {
    return { get: (key) => this.getCursor(key), set: (key, c) => this.setCursor(key, c) };
  }

  /** Record a scan (the last 50 are kept). */
  addScan(scan: ScanRecord): Promise<void> {
    return this.#q.apply(() => runs.prepScan(scan));
  }

  /**
   * A scan's results in one write: its baselines, findings, scan record and the cursors of what
   * it read. All of it is on disk when the promise resolves, or none of it is (a kill at any
   * instant leaves the store before or after): a cursor never moves past events whose results
   * are not saved, so a scan that dies before this is read again by the next one.
   */
  commitScan(input: runs.ScanCommit, now: When): Promise<findings.RecordResult[]> {
    return this.#changes.after(
      this.#q.applyLater(() => runs.prepCommitScanAsync(input, now)),
      (results) => ({ kind: "findings", results }),
    );
  }

  scans(limit = runs.SCANS_KEPT): ScanRecord[] {
    return runs.recentScans(this.#data, limit);
  }

  // Digests (digests.ts) --------------------------------------------------------------------------

  /** Create a pending digest delivery (one per schedule run). */
  createDigest(input: digests.CreateDigestInput, now: When): Promise<DigestRecord> {
    return this.#q.apply(() => digests.prepCreateDigest(input, now));
  }

  getDigest(id: string): DigestRecord | undefined {
    return digests.getDigest(this.#data, id);
  }

  /** Record a posted part (its Slack ts), so that a resend skips what went out. */
  markDigestPart(id: string, ts: string): Promise<DigestRecord> {
    return this.#q.apply(() => digests.changeDigest(id, (d) => digests.withPostedPart(d, ts)));
  }

  markDigestSent(id: string, now: When = Date.now()): Promise<DigestRecord> {
    return this.#q.apply(() => {
      const at = iso(now);
      return digests.changeDigest(id, (d) => digests.asSent(d, at));
    });
  }

  markDigestFailed(id: string, error: string): Promise<DigestRecord> {
    return this.#q.apply(() => digests.changeDigest(id, (d) => digests.asFailed(d, error)));
  }

  /** Every digest kept (the last DIGESTS_KEPT sent ones, and all unsent), oldest first. */
  digests(): DigestRecord[] {
    return [...this.#data.digests];
  }

  /** Digests not sent yet (pending or failed), oldest first. */
  pendingDigests(): DigestRecord[] {
    return digests.pendingDigests(this.#data);
  }

  getDigestRun(schedule: string): string | undefined {
    return digests.getDigestRun(this.#data, schedule);
  }

  setDigestRun(schedule: string, at: When): Promise<void> {
    return this.#q.apply(() => digests.prepDigestRun(schedule, at));
  }

  digestRuns(): Record<string, string> {
    return { ...this.#data.digestRuns };
  }

  // Size and pruning (stats.ts, prune.ts) ---------------------------------------------------------

  stats(now: When = Date.now()): StoreStats {
    return storeStats(this.#data, this.#q.backend, { warnBytes: this.#warnBytes, writes: this.#q.writes }, now);
  }

  /** Bounded growth (prune.ts), recorded in the audit log; the rotated audit files too. */
  async prune(opts: PruneOptions, now: When = Date.now()): Promise<PruneResult> {
    let plan: ReturnType<typeof prepPrune>;
    try {
      plan = prepPrune(opts, now);
    } catch (e) {
      return Promise.reject(e);
    }
    const res = await this.#q.enqueue(plan.apply, false);
    const dir = this.#q.backend.dir;
    if (dir) res.auditFiles = (await pruneAuditFiles(dir, plan.auditCutoffMs)).length;
    return res;
  }
}
