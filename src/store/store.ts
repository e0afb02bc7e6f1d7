/**
 * TrailStore: trailhound's one store file (lowdb `Low` over a durable adapter), a single writer
 * per process, and the domain operations on it.
 *
 * - Every change goes through one async queue: read-modify-write functions run one after the
 *   other on the in-memory data, and the updates queued while a write is on disk are applied
 *   together and saved with one write. A returned promise resolves only once its change is on
 *   stable storage (temp file + fsync + rename + directory fsync).
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
import { randomBytes } from "node:crypto";
import { mkdir, readdir, realpath } from "node:fs/promises";
import path from "node:path";
import { Low, Memory } from "lowdb";
import type { Profile } from "../baseline/profile.js";
import { SEVERITY_RANK, type Severity } from "../events/types.js";
import type { Finding } from "../scan/report-types.js";
import { BaselineTable, checkProfile, encodeBaseline, tableOf, type BaselineFacts, type StoredBaseline } from "./baselines.js";
import { StoreSerializer, decodeStore, type Section } from "./codec.js";
import { DurableJSONFile, acquireLock, appendFileDurable, readWithIdentity, removeStaleTempFiles, type HeldLock } from "./durable-file.js";
import { StoreError, isStoreError } from "./errors.js";
import {
  KEEP_BACKUPS,
  STORE_FILE,
  countsOf,
  formatBytes,
  listBackups,
  pruneAuditFiles,
  storeFile,
  writeBackup,
  type StoreCounts,
} from "./maintenance.js";
import { AUDIT_ACTIONS } from "./schema.js";
import {
  FINDING_HISTORY_CAP,
  STORE_SCHEMA_VERSION,
  emptyStoreData,
  type AuditAction,
  type AuditEntry,
  type ContainmentRecord,
  type Cursor,
  type DigestPart,
  type DigestRecord,
  type FindingAction,
  type FindingStatus,
  type ScanRecord,
  type StoreData,
  type StoredFinding,
  type Suppression,
  type SuppressionScope,
} from "./types.js";

/** A point in time: Date, epoch ms, or an ISO string. */
export type When = Date | number | string;

/** Structurally the cursor port of the sources: `store.cursors()` satisfies it. */
export interface CursorStore {
  get(key: string): Cursor | undefined;
  set(key: string, c: Cursor): void | Promise<void>;
}

export interface StoreOptions {
  /** Audit entries kept in the store; older ones are appended to `<dir>/audit-<date>.jsonl`. Default 5,000. */
  auditCap?: number;
  /** `stats()` warns past this size. Default 40 MB. */
  warnBytes?: number;
  /** Rolling backup interval. Default 24 h. */
  backupIntervalMs?: number;
  /** Daily backups kept. Default 7. */
  keepDailyBackups?: number;
  /** Pre-migration backups kept. Default 5. */
  keepMigrationBackups?: number;
  /** Clock for backup scheduling (domain methods take `now` explicitly). Default Date.now. */
  clock?: () => number;
  /** How long a save waits for another process's write lock before failing (code conflict). Default 20 s. */
  lockTimeoutMs?: number;
  /** Called with problems that do not fail a write (a backup that could not be taken). */
  onWarning?: (message: string) => void;
}

export const AUDIT_CAP = 5_000;
export const SCANS_KEPT = 50;
/** Sent digests kept (pending and failed ones are always kept). */
export const DIGESTS_KEPT = 200;
export const WARN_BYTES = 40 * 1024 * 1024;
const DAY_MS = 86_400_000;

export type RecordKind = "new" | "repeated" | "severity-raised";

export interface RecordResult {
  id: string;
  kind: RecordKind;
  /** Status after recording. */
  status: FindingStatus;
  previousStatus?: FindingStatus;
  previousSeverity?: Severity;
  /** It was acknowledged, resolved or suppressed and is open again. */
  reopened: boolean;
  /** Worth telling people about: open, and new, raised or reopened. */
  notify: boolean;
  /** The active suppression that hides it. */
  suppressedBy?: string;
}

/** What changed, told to `onChange` listeners once it is durable (outbound notifications). */
export type StoreChange =
  | { kind: "findings"; results: RecordResult[] }
  | { kind: "acknowledged" | "resolved"; findingId: string; by: string }
  | { kind: "suppressed"; findingIds: string[]; by: string }
  | { kind: "containment"; record: ContainmentRecord };

export interface SuppressInput {
  scope: SuppressionScope;
  identityKey?: string;
  detector?: string;
  sourceIp?: string;
  until: When;
  reason: string;
  by: string;
}

export interface CreateDigestInput {
  id?: string;
  schedule: string;
  channel: string;
  window: { start: string; end: string };
  findingIds: string[];
  /** The messages to post (see DigestRecord.parts), severities announced, expiries announced. */
  parts?: DigestPart[];
  severities?: Record<string, Severity>;
  expiries?: string[];
  /** The part each finding is shown in (DigestRecord.findingParts). */
  findingParts?: Record<string, number>;
}

export interface StoreStats {
  file?: string;
  /** Size on disk (0 for the in-memory twin). */
  bytes: number;
  /** Approximate bytes per part of the file, to see what to prune. */
  sections: Record<Section, number>;
  schemaVersion: number;
  counts: StoreCounts;
  /** Saves since the store was opened (several batched updates make one save). */
  writes: number;
  lastWriteMs?: number;
  lastBackup?: string;
  warnings: string[];
}

export interface PruneResult {
  baselines: number;
  findings: number;
  suppressions: number;
  /** Scan records older than the cut-off (the newest SCANS_KEPT are kept in any case until then). */
  scans: number;
  /** Rotated audit files (`audit-<date>.jsonl`) removed. */
  auditFiles: number;
}

export interface PruneOptions {
  /** Baselines of identities not seen, resolved findings not seen, ended suppressions and scan records older than this. */
  olderThanDays: number;
  /** Any finding (open, suppressed, acknowledged) not seen in this many days. Default max(365, olderThanDays). */
  findingsDays?: number;
  /** Rotated audit files (`audit-<date>.jsonl`) older than this many days. Default 365. */
  auditDays?: number;
  by?: string;
}

/** The limits the bot prunes with every day, and `trailhound store prune` by default. */
export const PRUNE_DEFAULTS = { olderThanDays: 90, findingsDays: 365, auditDays: 365 } as const;

type JobResult = { ok: true; value: unknown } | { ok: false; error: unknown };

interface Job {
  fn: (data: StoreData) => unknown;
  /** The function may mutate records in place: drop the serializer's cache. */
  invalidate: boolean;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/** Where the data goes: a file, or nowhere (the in-memory twin). */
interface Backend {
  readonly dir?: string;
  readonly file?: string;
  readonly serializer?: StoreSerializer;
  persist(db: Low<StoreData>, rotatedAudit: AuditEntry[]): Promise<void>;
  /** Take the writers' lock (released by the returned function). */
  lock?(): Promise<() => Promise<void>>;
  /** Another process replaced the file (throws StoreError "conflict" when it is gone). */
  replacedOnDisk?(): Promise<boolean>;
  /** Read the file again after another process replaced it. */
  reload?(): Promise<StoreData>;
  bytes(): number;
  lastWriteMs?(): number;
  lastBackup?(): string | undefined;
  warnings(): string[];
}

function ms(w: When): number {
  const t = w instanceof Date ? w.getTime() : typeof w === "number" ? w : Date.parse(w);
  if (!Number.isFinite(t)) throw new StoreError("invalid", `Not a valid time: ${String(w)}`);
  return t;
}

function iso(w: When): string {
  return new Date(ms(w)).toISOString();
}

function requireText(v: unknown, what: string): string {
  if (typeof v !== "string" || v.trim() === "") throw new StoreError("invalid", `${what} is required`);
  return v.trim();
}

/** The JSON form of a value, so that what is in memory is exactly what is on disk. */
function jsonClone<T>(v: T, what: string): T {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch (e) {
    throw new StoreError("invalid", `${what} cannot be stored as JSON: ${(e as Error).message}`, { cause: e });
  }
  if (s === undefined) throw new StoreError("invalid", `${what} cannot be stored as JSON`);
  return JSON.parse(s) as T;
}

function suppressionMatches(s: Suppression, f: Pick<Finding, "detector" | "identity" | "sourceIp">): boolean {
  switch (s.scope) {
    case "identity-detector":
      return s.identityKey === f.identity.key && s.detector === f.detector;
    case "identity":
      return s.identityKey === f.identity.key;
    case "ip":
      return f.sourceIp !== undefined && s.sourceIp === f.sourceIp;
    case "detector":
      return s.detector === f.detector;
  }
}

const SCOPE_ORDER: Record<SuppressionScope, number> = { "identity-detector": 0, identity: 1, ip: 2, detector: 3 };

function isActive(s: Suppression, nowMs: number): boolean {
  return !s.removed && Date.parse(s.until) > nowMs;
}

/** The most specific active suppression that covers the finding. */
function findSuppression(list: readonly Suppression[], f: Pick<Finding, "detector" | "identity" | "sourceIp">, nowMs: number): Suppression | undefined {
  let best: Suppression | undefined;
  for (const s of list) {
    if (!isActive(s, nowMs) || !suppressionMatches(s, f)) continue;
    if (!best || SCOPE_ORDER[s.scope] < SCOPE_ORDER[best.scope]) best = s;
  }
  return best;
}

function describeSuppression(s: Pick<Suppression, "scope" | "identityKey" | "detector" | "sourceIp">): string {
  switch (s.scope) {
    case "identity-detector":
      return `${s.detector} for ${s.identityKey}`;
    case "identity":
      return `everything for ${s.identityKey}`;
    case "ip":
      return `everything from ${s.sourceIp}`;
    case "detector":
      return `${s.detector} everywhere`;
  }
}

function withHistory(f: StoredFinding, ...actions: FindingAction[]): FindingAction[] {
  const h = [...f.history, ...actions];
  return h.length > FINDING_HISTORY_CAP ? h.slice(h.length - FINDING_HISTORY_CAP) : h;
}

function newId(prefix: string, taken: (id: string) => boolean): string {
  for (;;) {
    const id = `${prefix}${randomBytes(4).toString("hex")}`;
    if (!taken(id)) return id;
  }
}

/** Store files open in this process. */
const OPEN_FILES = new Set<string>();

export class TrailStore {
  readonly #db: Low<StoreData>;
  readonly #backend: Backend;
  readonly #opts: Required<Omit<StoreOptions, "onWarning" | "lockTimeoutMs">> & { onWarning: StoreOptions["onWarning"] | undefined };
  #pending: Job[] = [];
  #running = false;
  #idle: Array<() => void> = [];
  /** Changes in memory that the last write failed to save. */
  #dirty = false;
  #closed = false;
  readonly #listeners = new Set<(c: StoreChange) => void>();
  /** Updates applied in memory whose save failed: re-applied if the file has to be read again. */
  #unsaved: Job[] = [];
  #registration: string | undefined;
  #writes = 0;
  /** Audit entries rotated out of the store, not yet appended to the .jsonl files. */
  #rotated: AuditEntry[] = [];
  /** In-memory twin: what would have gone to the .jsonl files. */
  readonly rotatedAudit: AuditEntry[] = [];

  private constructor(db: Low<StoreData>, backend: Backend, opts: StoreOptions) {
    this.#db = db;
    TrailStore.#table(db.data);
    this.#backend = backend;
    this.#opts = {
      auditCap: opts.auditCap ?? AUDIT_CAP,
      warnBytes: opts.warnBytes ?? WARN_BYTES,
      backupIntervalMs: opts.backupIntervalMs ?? DAY_MS,
      keepDailyBackups: opts.keepDailyBackups ?? KEEP_BACKUPS.daily,
      keepMigrationBackups: opts.keepMigrationBackups ?? KEEP_BACKUPS.migration,
      clock: opts.clock ?? Date.now,
      onWarning: opts.onWarning,
    };
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
      const store = await TrailStore.#open(dir, opts);
      store.#registration = id;
      return store;
    } catch (e) {
      OPEN_FILES.delete(id);
      throw e;
    }
  }

  static async #open(dir: string, opts: StoreOptions): Promise<TrailStore> {
    const file = storeFile(dir);
    try {
      await removeStaleTempFiles(file);
    } catch (e) {
      throw new StoreError("unreadable", `Cannot use the store directory ${dir}: ${(e as Error).message}`, { cause: e });
    }
    const clock = opts.clock ?? Date.now;
    let decoded: ReturnType<typeof decodeStore> | undefined;
    let rawBytes: Buffer | undefined;
    const serializer = new StoreSerializer();
    const adapter = new DurableJSONFile<StoreData>(
      file,
      {
        parse(bytes) {
          rawBytes = bytes;
          decoded = decodeStore(bytes, file, dir);
          return decoded.data;
        },
        stringify: (data) => serializer.serializeParts(data),
      },
      { detectConflicts: true },
    );
    const db = new Low<StoreData>(adapter, emptyStoreData());
    await db.read();

    // Out of the parse closure, which the adapter keeps: it would hold the whole file read for as long as the store is open.
    const read = { decoded, rawBytes };
    decoded = rawBytes = undefined;

    const backend = new FileBackend(dir, adapter, serializer, clock, opts);
    const store = new TrailStore(db, backend, opts);
    const now = clock();
    if (read.decoded && read.rawBytes && read.decoded.from < STORE_SCHEMA_VERSION) {
      // Keep the original before the migrated store replaces it; the first save then also takes a
      // rolling backup of the migrated store (when none is recent), so both versions can be restored.
      try {
        await writeBackup(dir, read.rawBytes, read.decoded.from, "migration", now, store.#opts.keepMigrationBackups);
      } catch (e) {
        throw new StoreError(
          "write-failed",
          `Could not keep a backup of ${file} (schema v${read.decoded.from}) before migrating it: ${(e as Error).message}. Nothing was changed; free some space or fix the permissions of ${dir}/backups and start again.`,
          { cause: e },
        );
      }
      await backend.initBackups(null);
      await store.#enqueue(() => undefined, false);
    } else if (!read.rawBytes) {
      await refuseIfLost(dir, file);
      // A new store: nothing worth a backup yet (the first one is taken a backup interval from now).
      backend.startedEmpty(now);
      await store.#enqueue(() => undefined, false); // create the file now: fail early on a read-only directory
    } else {
      // Encode every finding now, so that the first save after start is as cheap as the next
      // (baselines are held as the bytes read from the file).
      serializer.warm(db.data);
      await backend.initBackups(read.rawBytes);
    }
    return store;
  }

  /** The in-memory twin: same API, nothing on disk. */
  static memory(initial: Partial<StoreData> = {}, opts: StoreOptions = {}): TrailStore {
    // structuredClone, not a JSON round trip: profiles of new identities hold +/-Infinity.
    const data: StoreData = { ...emptyStoreData(), ...structuredClone(initial), schemaVersion: STORE_SCHEMA_VERSION };
    const db = new Low<StoreData>(new Memory<StoreData>(), data);
    let store: TrailStore | undefined = undefined;
    const backend: Backend = {
      async persist(low, rotated) {
        store!.rotatedAudit.push(...rotated);
        await low.write();
      },
      bytes: () => 0,
      warnings: () => [],
    };
    store = new TrailStore(db, backend, opts);
    return store;
  }

  /** The store's data (read-only view; change it through `update` or the domain methods). */
  get data(): Readonly<StoreData> {
    return this.#db.data;
  }

  /** The last write failed (changes wait in memory for the next one): /healthz reports it. */
  get writeFailing(): boolean {
    return this.#dirty;
  }

  get file(): string | undefined {
    return this.#backend.file;
  }

  // ---------------------------------------------------------------------------------------------
  // The write queue

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
    return this.#enqueue(fn, true);
  }

  #enqueue<R>(fn: (data: StoreData) => R | Promise<R>, invalidate: boolean): Promise<R> {
    if (this.#closed) return Promise.reject(new StoreError("closed", "The store is closed; nothing was written."));
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ fn, invalidate, resolve: resolve as (v: unknown) => void, reject });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = true;
    // setImmediate: let updates issued in the same tick join the batch.
    setImmediate(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0) await this.#runBatch(this.#pending.splice(0));
    } finally {
      this.#running = false;
      const idle = this.#idle.splice(0);
      for (const r of idle) r();
    }
  }

  /**
   * The baselines of `data` (its `baselines` is the table's view). A plain object put there (the
   * in-memory twin's initial data, an update(fn) that replaced the whole object) is encoded now.
   */
  static #table(data: StoreData): BaselineTable {
    let t = tableOf(data.baselines);
    if (!t) {
      t = BaselineTable.fromProfiles(data.baselines);
      data.baselines = t.view;
    }
    return t;
  }

  async #runJobs(jobs: Job[], data: StoreData): Promise<{ results: JobResult[]; changed: boolean }> {
    const results: JobResult[] = [];
    let changed = false;
    for (const job of jobs) {
      // A generic update may change baselines in place: those it reads are re-encoded after it.
      const table = job.invalidate ? TrailStore.#table(data) : undefined;
      table?.track();
      let result: JobResult;
      try {
        const value = await job.fn(data);
        result = { ok: true, value };
        changed = true;
      } catch (error) {
        result = { ok: false, error };
      }
      if (job.invalidate) {
        try {
          table!.settle();
          if (tableOf(data.baselines) !== table) {
            // The whole object was replaced: encode it, or keep the previous baselines if it does not read back.
            try {
              TrailStore.#table(data);
            } catch (e) {
              data.baselines = table!.view;
              throw e;
            }
          }
        } catch (error) {
          if (result.ok) result = { ok: false, error };
        }
        this.#backend.serializer?.invalidate();
      }
      results.push(result);
    }
    return { results, changed };
  }

  async #save(): Promise<void> {
    this.#capAudit(this.#db.data);
    await this.#backend.persist(this.#db, this.#rotated);
    this.#rotated = [];
    this.#unsaved = [];
    this.#dirty = false;
    this.#writes++;
  }

  /**
   * One batch, under the writers' lock (file store): if another process (a CLI scan, a restore)
   * replaced the file since this one read or wrote it, read it again and re-apply what this
   * process has not saved yet, then run the batch and save. Holding the lock from the check to
   * the rename, no cooperating writer can slip in between: nobody's decisions are overwritten.
   */
  async #runBatch(batch: Job[]): Promise<void> {
    let release: (() => Promise<void>) | undefined;
    let results: JobResult[] = [];
    let writeError: unknown;
    try {
      release = await this.#backend.lock?.();
      if (this.#backend.reload && (await this.#backend.replacedOnDisk?.())) {
        const fresh = await this.#backend.reload();
        this.#db.data = fresh;
        this.#rotated = [];
        await this.#runJobs(this.#unsaved, fresh);
      }
    } catch (e) {
      // The lock is held elsewhere for too long, or the file disappeared or cannot be read back:
      // this batch is not applied at all.
      await release?.();
      const err = isStoreError(e) ? e : new StoreError("write-failed", `Saving the store failed: ${(e as Error).message}`, { cause: e });
      for (const job of batch) job.reject(err);
      return;
    }
    try {
      const run = await this.#runJobs(batch, this.#db.data);
      results = run.results;
      if (run.changed || this.#dirty) {
        try {
          await this.#save();
        } catch (e) {
          this.#dirty = true;
          for (let i = 0; i < batch.length; i++) if (results[i]!.ok) this.#unsaved.push(batch[i]!);
          writeError = isStoreError(e)
            ? e
            : new StoreError(
                "write-failed",
                `Saving the store failed (${(e as Error).message}): this change is not on disk. It stays in this process's memory and goes ` +
                  `to disk with its next successful save, so it is lost if trailhound stops before then.`,
                { cause: e },
              );
        }
      }
    } finally {
      await release?.();
    }
    batch.forEach((job, i) => {
      const r = results[i]!;
      if (!r.ok) job.reject(r.error);
      else if (writeError) job.reject(writeError);
      else job.resolve(r.value);
    });
  }

  #capAudit(data: StoreData): void {
    const over = data.audit.length - this.#opts.auditCap;
    if (over > 0) this.#rotated.push(...data.audit.splice(0, over));
  }

  /** Wait until every queued update is on disk; retries a failed write. */
  async flush(): Promise<void> {
    if (this.#dirty && !this.#running && this.#pending.length === 0 && !this.#closed) {
      await this.#enqueue(() => undefined, false);
      return;
    }
    if (!this.#running && this.#pending.length === 0) return;
    await new Promise<void>((r) => this.#idle.push(r));
    if (this.#dirty) throw new StoreError("write-failed", "The last write of the store failed; see the error of the update that failed.");
  }

  /**
   * Flush, then refuse further updates (SIGTERM: no half-written store, no lost queued update).
   * `{ retry: false }`: wait for the write in flight but do not try again a save that failed
   * (the caller has reported what was not saved).
   */
  async close(opts: { retry?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    try {
      if (opts.retry === false) {
        if (this.#running || this.#pending.length > 0) await new Promise<void>((r) => this.#idle.push(r));
      } else {
        await this.flush();
      }
    } finally {
      this.#closed = true;
      if (this.#registration) OPEN_FILES.delete(this.#registration);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Baselines

  /**
   * A stored profile, decoded from its stored form (the last few decoded are cached: a caller
   * asking again may get the same object). Treat it as read-only.
   */
  getBaseline(key: string): Profile | undefined {
    return TrailStore.#table(this.#db.data).get(key);
  }

  /**
   * The given profiles (those that exist), or all of them. Each is decoded from its stored form:
   * asking for all of a large store's profiles builds them all (about 25 KB each on average).
   */
  getBaselines(keys?: Iterable<string>): Map<string, Profile> {
    const t = TrailStore.#table(this.#db.data);
    const out = new Map<string, Profile>();
    for (const k of keys ?? t.keys()) {
      const p = t.get(k);
      if (p !== undefined) out.set(k, p);
    }
    return out;
  }

  /**
   * The stored profile's `trainedUntil` (what `getBaseline(key)?.trainedUntil` gives), without
   * decoding it: for ScanOptions.storedTrainedUntil.
   */
  getBaselineTrainedUntil(key: string): number | undefined {
    return TrailStore.#table(this.#db.data).facts(key)?.trainedUntil;
  }

  /**
   * The facts (first/last seen, trainedUntil, events, active days, ARN, user name) of the given
   * baselines (those that exist), or of all of them, in the order of `getBaselines`, without
   * decoding any: each equals the same fields of the decoded profile. For callers that need no
   * more than that (whether an identity is still learning: `learningAt` in baseline/view.ts).
   * The objects are frozen and shared.
   */
  getBaselineFacts(keys?: Iterable<string>): Map<string, BaselineFacts> {
    const t = TrailStore.#table(this.#db.data);
    const out = new Map<string, BaselineFacts>();
    for (const k of keys ?? t.keys()) {
      const f = t.facts(k);
      if (f !== undefined) out.set(k, f);
    }
    return out;
  }

  /**
   * Replace profiles by key. They are encoded now (in the stored form), so that the write itself
   * stays cheap; the store keeps no reference to the objects passed in.
   */
  putBaselines(profiles: readonly Profile[]): Promise<void> {
    let apply: (data: StoreData) => void;
    try {
      apply = TrailStore.#prepBaselines(profiles);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue(apply, false);
  }

  /** Validate and encode now; the returned function puts them in the data. */
  static #prepBaselines(profiles: readonly Profile[]): (data: StoreData) => void {
    const encoded: Array<[string, StoredBaseline]> = profiles.map((p) => {
      checkProfile(p);
      return [p.key, encodeBaseline(p.key, p)];
    });
    return (data) => {
      const t = TrailStore.#table(data);
      for (const [k, e] of encoded) t.set(k, e);
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Findings

  getFinding(id: string): StoredFinding | undefined {
    return Object.hasOwn(this.#db.data.findings, id) ? this.#db.data.findings[id] : undefined;
  }

  listFindings(filter: { status?: FindingStatus | FindingStatus[] } = {}): StoredFinding[] {
    const want = filter.status === undefined ? undefined : new Set(Array.isArray(filter.status) ? filter.status : [filter.status]);
    const out: StoredFinding[] = [];
    for (const id in this.#db.data.findings) {
      const f = this.#db.data.findings[id]!;
      if (!want || want.has(f.status)) out.push(f);
    }
    return out;
  }

  /**
   * Upsert the findings of a scan. For each: new / repeated / severity-raised, and its status.
   * An acknowledged finding stays acknowledged unless its severity rises above the acknowledged
   * one (then it reopens); a resolved one reopens when seen again; active suppressions mark it
   * suppressed (an acknowledgement wins over a suppression).
   */
  recordFindings(findings: readonly Finding[], now: When): Promise<RecordResult[]> {
    let apply: (data: StoreData) => RecordResult[];
    try {
      apply = TrailStore.#prepFindings(findings, now);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#emit(this.#enqueue(apply, false), (results) => ({ kind: "findings", results }));
  }

  /** Validate now; the returned function records them in the data. */
  static #prepFindings(findings: readonly Finding[], now: When): (data: StoreData) => RecordResult[] {
    const at = iso(now);
    const nowMs = ms(now);
    const clean = findings.map((f) => {
      requireText(f?.id, "Finding id");
      if (!(f.severity in SEVERITY_RANK)) throw new StoreError("invalid", `Finding ${f.id} has an unknown severity ${String(f.severity)}`);
      return jsonClone(f, `Finding ${f.id}`);
    });
    return (data) => {
      const out: RecordResult[] = [];
      for (const f of clean) {
        const prev = Object.hasOwn(data.findings, f.id) ? data.findings[f.id] : undefined;
        const sup = findSuppression(data.suppressions, f, nowMs);
        if (!prev) {
          const status: FindingStatus = sup ? "suppressed" : "open";
          data.findings[f.id] = {
            id: f.id,
            status,
            firstSeen: f.firstSeen,
            lastSeen: f.lastSeen,
            seenInScans: 1,
            severity: f.severity,
            severityHistory: [{ at, severity: f.severity }],
            ...(sup ? { suppressedBy: sup.id } : {}),
            history: sup ? [{ at, by: "trailhound", action: "suppress", detail: `${sup.id} covers it (first seen)` }] : [],
            finding: f,
          };
          out.push({ id: f.id, kind: "new", status, reopened: false, notify: status === "open", ...(sup ? { suppressedBy: sup.id } : {}) });
          continue;
        }
        const raised = SEVERITY_RANK[f.severity] > SEVERITY_RANK[prev.severity];
        const kind: RecordKind = raised ? "severity-raised" : "repeated";
        const actions: FindingAction[] = [];
        let status = prev.status;
        let acknowledged = prev.acknowledged;
        let resolved = prev.resolved;
        let reopened = false;
        if (status === "acknowledged" && acknowledged && SEVERITY_RANK[f.severity] > SEVERITY_RANK[acknowledged.severity]) {
          actions.push({
            at,
            by: "trailhound",
            action: "reopen",
            severity: f.severity,
            detail: `severity rose from ${acknowledged.severity} (acknowledged by ${acknowledged.by}) to ${f.severity}`,
          });
          status = "open";
          acknowledged = undefined;
          reopened = true;
        } else if (status === "resolved") {
          actions.push({ at, by: "trailhound", action: "reopen", severity: f.severity, detail: `seen again after being resolved by ${resolved?.by ?? "?"}` });
          status = "open";
          resolved = undefined;
          reopened = true;
        }
        if (status === "open" || status === "suppressed") {
          if (sup) {
            // Every state change keeps its history: newly covered, or covered by another suppression.
            if (status !== "suppressed") actions.push({ at, by: "trailhound", action: "suppress", detail: `${sup.id} covers it` });
            else if (prev.suppressedBy !== sup.id) actions.push({ at, by: "trailhound", action: "suppress", detail: `now covered by ${sup.id} (was ${prev.suppressedBy ?? "?"})` });
            status = "suppressed";
          } else {
            if (status === "suppressed") {
              actions.push({ at, by: "trailhound", action: "reopen", detail: `suppression ${prev.suppressedBy ?? "?"} no longer applies` });
              reopened = true;
            }
            status = "open";
          }
        }
        const next: StoredFinding = {
          ...prev,
          status,
          firstSeen: Date.parse(f.firstSeen) < Date.parse(prev.firstSeen) ? f.firstSeen : prev.firstSeen,
          lastSeen: Date.parse(f.lastSeen) > Date.parse(prev.lastSeen) ? f.lastSeen : prev.lastSeen,
          seenInScans: prev.seenInScans + 1,
          severity: f.severity,
          severityHistory: f.severity !== prev.severity ? [...prev.severityHistory, { at, severity: f.severity }] : prev.severityHistory,
          history: actions.length ? withHistory(prev, ...actions) : prev.history,
          finding: f,
        };
        if (acknowledged) next.acknowledged = acknowledged;
        else delete next.acknowledged;
        if (resolved) next.resolved = resolved;
        else delete next.resolved;
        if (status === "suppressed" && sup) next.suppressedBy = sup.id;
        else delete next.suppressedBy;
        data.findings[f.id] = next;
        out.push({
          id: f.id,
          kind,
          status,
          previousStatus: prev.status,
          previousSeverity: prev.severity,
          reopened,
          notify: status === "open" && (raised || reopened),
          ...(next.suppressedBy ? { suppressedBy: next.suppressedBy } : {}),
        });
      }
      return out;
    };
  }

  /** Acknowledge a finding (recorded in its history and the audit log). Throws not-found for an unknown id. */
  acknowledge(findingId: string, by: string, now: When): Promise<StoredFinding> {
    return this.#emit(this.#decide(findingId, by, now, "ack"), () => ({ kind: "acknowledged", findingId, by }));
  }

  /** Mark a finding resolved; it reopens if a later scan reports it again. */
  resolve(findingId: string, by: string, now: When): Promise<StoredFinding> {
    return this.#emit(this.#decide(findingId, by, now, "resolve"), () => ({ kind: "resolved", findingId, by }));
  }

  #decide(findingId: string, by: string, now: When, action: "ack" | "resolve"): Promise<StoredFinding> {
    let who: string;
    let at: string;
    try {
      who = requireText(by, "Who acted (by)");
      at = iso(now);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue((data) => {
      const prev = Object.hasOwn(data.findings, findingId) ? data.findings[findingId] : undefined;
      if (!prev) throw new StoreError("not-found", `No finding ${findingId} in the store (it may have been pruned).`);
      if (action === "ack") {
        const kept = TrailStore.#ackKeepingDecisions(prev, who, at);
        if (kept) {
          data.findings[findingId] = kept.next;
          this.#appendAudit(data, { at, actor: who, action, target: findingId, detail: kept.detail });
          return kept.next;
        }
      }
      const next: StoredFinding = {
        ...prev,
        history: withHistory(prev, { at, by: who, action, severity: prev.severity }),
      };
      delete next.suppressedBy;
      if (action === "ack") {
        next.status = "acknowledged";
        next.acknowledged = { by: who, at, severity: prev.severity };
        delete next.resolved;
      } else {
        next.status = "resolved";
        next.resolved = { by: who, at };
        delete next.acknowledged;
      }
      data.findings[findingId] = next;
      this.#appendAudit(data, { at, actor: who, action, target: findingId, detail: `severity ${prev.severity}; was ${prev.status}` });
      return next;
    }, false);
  }

  /**
   * An acknowledgement that must not overwrite an earlier decision: on a suppressed finding it
   * leaves the suppression as it is, on an acknowledged one it leaves the first acknowledgement
   * visible. Either way it is recorded in the history (and the audit log). Undefined otherwise.
   */
  static #ackKeepingDecisions(prev: StoredFinding, who: string, at: string): { next: StoredFinding; detail: string } | undefined {
    let detail: string;
    if (prev.status === "suppressed") detail = `noted while suppressed by ${prev.suppressedBy ?? "?"}: the suppression stays`;
    else if (prev.status === "acknowledged" && prev.acknowledged) detail = `also acknowledged; first by ${prev.acknowledged.by} at ${prev.acknowledged.at}, kept`;
    else return undefined;
    const next: StoredFinding = { ...prev, history: withHistory(prev, { at, by: who, action: "ack", severity: prev.severity, detail }) };
    return { next, detail: `severity ${prev.severity}; ${detail}` };
  }

  // ---------------------------------------------------------------------------------------------
  // Suppressions

  /**
   * Create a suppression. Scope semantics: identity-detector = same identity key and detector;
   * identity = same identity key; ip = the finding's sourceIp; detector = that detector
   * everywhere. Only the fields of the scope are kept. A reason is required and `until` must be
   * in the future. Open findings it covers become "suppressed".
   */
  suppress(input: SuppressInput, now: When): Promise<Suppression> {
    let sup: Omit<Suppression, "id">;
    try {
      const nowMs = ms(now);
      const reason = requireText(input.reason, "A reason");
      const by = requireText(input.by, "Who suppresses (by)");
      const untilMs = ms(input.until);
      if (untilMs <= nowMs) throw new StoreError("invalid", `The suppression end (${iso(untilMs)}) must be in the future`);
      const base = { reason, by, createdAt: iso(nowMs), until: iso(untilMs) };
      switch (input.scope) {
        case "identity-detector":
          sup = { scope: input.scope, identityKey: requireText(input.identityKey, "identityKey"), detector: requireText(input.detector, "detector"), ...base };
          break;
        case "identity":
          sup = { scope: input.scope, identityKey: requireText(input.identityKey, "identityKey"), ...base };
          break;
        case "ip":
          sup = { scope: input.scope, sourceIp: requireText(input.sourceIp, "sourceIp"), ...base };
          break;
        case "detector":
          sup = { scope: input.scope, detector: requireText(input.detector, "detector"), ...base };
          break;
        default:
          throw new StoreError("invalid", `Unknown suppression scope ${String((input as { scope: unknown }).scope)}`);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    const done = this.#enqueue((data) => {
      const s: Suppression = { id: newId("s-", (id) => data.suppressions.some((x) => x.id === id)), ...sup };
      data.suppressions.push(s);
      for (const id in data.findings) {
        const f = data.findings[id]!;
        if (f.status !== "open" || !suppressionMatches(s, f.finding)) continue;
        data.findings[id] = {
          ...f,
          status: "suppressed",
          suppressedBy: s.id,
          history: withHistory(f, { at: s.createdAt, by: s.by, action: "suppress", detail: `${s.id}: ${s.reason}` }),
        };
      }
      this.#appendAudit(data, {
        at: s.createdAt,
        actor: s.by,
        action: "suppress",
        target: s.id,
        detail: `${describeSuppression(s)} until ${s.until}: ${s.reason}`,
      });
      return s;
    }, false);
    return this.#emit(done, (s) => ({
      kind: "suppressed",
      findingIds: Object.values(this.#db.data.findings)
        .filter((f) => f.suppressedBy === s.id)
        .map((f) => f.id),
      by: s.by,
    }));
  }

  /** End a suppression now. Findings it hid become open again (unless another one covers them). */
  unsuppress(id: string, by: string, now: When): Promise<Suppression> {
    let who: string;
    let at: string;
    let nowMs: number;
    try {
      who = requireText(by, "Who unsuppresses (by)");
      at = iso(now);
      nowMs = ms(now);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue((data) => {
      const i = data.suppressions.findIndex((s) => s.id === id);
      if (i < 0) throw new StoreError("not-found", `No suppression ${id}.`);
      const prev = data.suppressions[i]!;
      if (prev.removed) return prev;
      const s: Suppression = { ...prev, removed: { by: who, at } };
      data.suppressions[i] = s;
      this.#releaseFindings(data, new Set([id]), nowMs, { at, by: who, action: "unsuppress", detail: `${id} removed` });
      this.#appendAudit(data, { at, actor: who, action: "unsuppress", target: id, detail: describeSuppression(s) });
      return s;
    }, false);
  }

  /** Findings hidden by the given suppressions: suppressed by another active one, or open again. */
  #releaseFindings(data: StoreData, ids: Set<string>, nowMs: number, action: FindingAction): void {
    for (const fid in data.findings) {
      const f = data.findings[fid]!;
      if (f.status !== "suppressed" || !f.suppressedBy || !ids.has(f.suppressedBy)) continue;
      const other = findSuppression(data.suppressions, f.finding, nowMs);
      if (other) {
        data.findings[fid] = {
          ...f,
          suppressedBy: other.id,
          history: withHistory(f, { ...action, action: "suppress", detail: `now covered by ${other.id} (${action.detail ?? f.suppressedBy})` }),
        };
      } else {
        const next: StoredFinding = { ...f, status: "open", history: withHistory(f, action) };
        delete next.suppressedBy;
        data.findings[fid] = next;
      }
    }
  }

  getSuppression(id: string): Suppression | undefined {
    return this.#db.data.suppressions.find((s) => s.id === id);
  }

  activeSuppressions(now: When): Suppression[] {
    const t = ms(now);
    return this.#db.data.suppressions.filter((s) => isActive(s, t));
  }

  /** The most specific active suppression covering this finding, if any. */
  matchSuppression(finding: Pick<Finding, "detector" | "identity" | "sourceIp">, now: When): Suppression | undefined {
    return findSuppression(this.#db.data.suppressions, finding, ms(now));
  }

  /** Suppressions that have run out and were not announced yet (digests announce each once). */
  expiredUnannounced(now: When): Suppression[] {
    const t = ms(now);
    return this.#db.data.suppressions.filter((s) => !s.removed && !s.expiryAnnounced && Date.parse(s.until) <= t);
  }

  /** Record that these expiries were announced; findings they hid become open again. */
  markExpiryAnnounced(ids: readonly string[], now: When = Date.now()): Promise<void> {
    let nowMs: number;
    try {
      nowMs = ms(now);
    } catch (e) {
      return Promise.reject(e);
    }
    const want = new Set(ids);
    return this.#enqueue((data) => {
      data.suppressions = data.suppressions.map((s) => (want.has(s.id) && !s.expiryAnnounced ? { ...s, expiryAnnounced: true } : s));
      const expired = new Set(data.suppressions.filter((s) => want.has(s.id) && !isActive(s, nowMs)).map((s) => s.id));
      this.#releaseFindings(data, expired, nowMs, { at: iso(nowMs), by: "trailhound", action: "reopen", detail: "suppression expired" });
    }, false);
  }

  // ---------------------------------------------------------------------------------------------
  // Audit log

  /** Append to the audit log (capped in the store; the oldest entries go to `<dir>/audit-<date>.jsonl`). */
  audit(entry: AuditEntry): Promise<void> {
    let e: AuditEntry;
    try {
      if (!(AUDIT_ACTIONS as readonly string[]).includes(entry.action)) throw new StoreError("invalid", `Unknown audit action ${String(entry.action)}`);
      e = jsonClone(
        {
          at: iso(entry.at),
          actor: requireText(entry.actor, "Audit actor"),
          action: entry.action as AuditAction,
          target: String(entry.target ?? ""),
          ...(entry.detail !== undefined ? { detail: String(entry.detail) } : {}),
        },
        "Audit entry",
      );
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#enqueue((data) => {
      this.#appendAudit(data, e);
    }, false);
  }

  #appendAudit(data: StoreData, e: AuditEntry): void {
    data.audit.push(e);
  }

  /** The newest `limit` audit entries in the store, newest first. */
  auditLog(limit = 50): AuditEntry[] {
    const a = this.#db.data.audit;
    return a.slice(Math.max(0, a.length - limit)).reverse();
  }

  // ---------------------------------------------------------------------------------------------
  // Change listeners

  /** Be told of changes once they are on disk (never inside the write). Returns the unsubscribe. */
  onChange(fn: (c: StoreChange) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #emit<T>(p: Promise<T>, change: (v: T) => StoreChange | undefined): Promise<T> {
    if (this.#listeners.size === 0) return p;
    return p.then((v) => {
      const c = change(v);
      if (c)
        for (const fn of this.#listeners) {
          try {
            fn(c);
          } catch {
            // A listener's failure is its own (it logs); the change is saved.
          }
        }
      return v;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Containments (src/respond)

  getContainment(id: string): ContainmentRecord | undefined {
    const c = this.#db.data.containments;
    return c && Object.hasOwn(c, id) ? c[id] : undefined;
  }

  /** Containments of a finding, oldest first. */
  containmentsFor(findingId: string): ContainmentRecord[] {
    return Object.values(this.#db.data.containments ?? {})
      .filter((c) => c.findingId === findingId)
      .sort((a, b) => a.proposedAt.localeCompare(b.proposedAt) || a.id.localeCompare(b.id));
  }

  /**
   * Create or change a containment, and append `audit` entries in the same write. `change` gets
   * the current record (undefined for a new one) and returns the next one, or throws to refuse
   * (nothing is written): checks of the state (already executed, approval expired) go there, so
   * that two concurrent approvals cannot both pass.
   */
  putContainment(
    id: string,
    change: (prev: ContainmentRecord | undefined) => { record: ContainmentRecord; audit?: AuditEntry[] },
  ): Promise<ContainmentRecord> {
    return this.#emit(this.#enqueue((data) => {
      const all = data.containments ?? {};
      const prev = Object.hasOwn(all, id) ? all[id] : undefined;
      const out = change(prev);
      const record = jsonClone(out.record, `Containment ${id}`);
      if (record.id !== id) throw new StoreError("invalid", `Containment id ${record.id} does not match ${id}`);
      const entries = (out.audit ?? []).map((e) => {
        if (!(AUDIT_ACTIONS as readonly string[]).includes(e.action)) throw new StoreError("invalid", `Unknown audit action ${String(e.action)}`);
        return jsonClone({ ...e, at: iso(e.at) }, "Audit entry");
      });
      data.containments = { ...all, [id]: record };
      for (const e of entries) this.#appendAudit(data, e);
      return record;
    }, false), (record) => ({ kind: "containment", record }));
  }

  // ---------------------------------------------------------------------------------------------
  // Replay guard (the Slack HTTP receiver): requests accepted recently, kept across restarts

  /** Request keys still remembered at `now`, with when each may be forgotten (epoch ms). */
  replayKeys(now: When): Array<[string, number]> {
    const t = ms(now);
    return Object.entries(this.#db.data.replay ?? {}).filter(([, until]) => until > t);
  }

  /** Remember accepted requests until their expiry; forgets expired ones and keeps at most `max`. */
  rememberRequests(entries: ReadonlyArray<readonly [string, number]>, now: When, max = 50_000): Promise<void> {
    let t: number;
    try {
      t = ms(now);
      for (const [k, until] of entries) if (typeof k !== "string" || k === "" || !Number.isFinite(until)) throw new StoreError("invalid", "A replay key needs a key and an expiry");
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue((data) => {
      const kept = Object.entries(data.replay ?? {}).filter(([, until]) => until > t);
      for (const [k, until] of entries) if (until > t) kept.push([k, until]);
      kept.sort((a, b) => a[1] - b[1]);
      const next = Object.fromEntries(kept.slice(Math.max(0, kept.length - max)));
      if (Object.keys(next).length > 0) data.replay = next;
      else delete data.replay;
    }, false);
  }

  // ---------------------------------------------------------------------------------------------
  // Cursors, scans, digests

  getCursor(key: string): Cursor | undefined {
    return Object.hasOwn(this.#db.data.cursors, key) ? this.#db.data.cursors[key] : undefined;
  }

  setCursor(key: string, cursor: Cursor): Promise<void> {
    let apply: (data: StoreData) => void;
    try {
      apply = TrailStore.#prepCursors({ [key]: cursor });
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue(apply, false);
  }

  static #prepCursors(cursors: Readonly<Record<string, Cursor>>): (data: StoreData) => void {
    const clean: Array<[string, Cursor]> = Object.entries(cursors).map(([key, cursor]) => {
      requireText(key, "Cursor key");
      const c = jsonClone(cursor, `Cursor ${key}`);
      if (typeof c.newestTime !== "number" || !Array.isArray(c.newestIds)) throw new StoreError("invalid", `Cursor ${key} needs newestTime and newestIds`);
      return [key, c];
    });
    return (data) => {
      for (const [k, c] of clean) data.cursors[k] = c;
    };
  }

  /** The cursor port for sources. */
  cursors(): CursorStore {
    return { get: (key) => this.getCursor(key), set: (key, c) => this.setCursor(key, c) };
  }

  /** Record a scan (the last 50 are kept). */
  addScan(scan: ScanRecord): Promise<void> {
    let apply: (data: StoreData) => void;
    try {
      apply = TrailStore.#prepScan(scan);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue(apply, false);
  }

  static #prepScan(scan: ScanRecord): (data: StoreData) => void {
    const s = jsonClone(scan, "Scan record");
    return (data) => {
      data.scans.push(s);
      if (data.scans.length > SCANS_KEPT) data.scans.splice(0, data.scans.length - SCANS_KEPT);
    };
  }

  /**
   * A scan's results in one write: its baselines, findings, scan record and the cursors of what
   * it read. All of it is on disk when the promise resolves, or none of it is (a kill at any
   * instant leaves the store before or after): a cursor never moves past events whose results
   * are not saved, so a scan that dies before this is read again by the next one.
   */
  commitScan(input: { profiles: readonly Profile[]; findings: readonly Finding[]; scan: ScanRecord; cursors?: Readonly<Record<string, Cursor>> }, now: When): Promise<RecordResult[]> {
    let steps: { baselines: (d: StoreData) => void; findings: (d: StoreData) => RecordResult[]; scan: (d: StoreData) => void; cursors: (d: StoreData) => void };
    try {
      steps = {
        baselines: TrailStore.#prepBaselines(input.profiles),
        findings: TrailStore.#prepFindings(input.findings, now),
        scan: TrailStore.#prepScan(input.scan),
        cursors: TrailStore.#prepCursors(input.cursors ?? {}),
      };
    } catch (e) {
      return Promise.reject(e);
    }
    const done = this.#enqueue((data) => {
      steps.baselines(data);
      const results = steps.findings(data);
      steps.scan(data);
      steps.cursors(data);
      return results;
    }, false);
    return this.#emit(done, (results) => ({ kind: "findings", results }));
  }

  scans(limit = SCANS_KEPT): ScanRecord[] {
    return this.#db.data.scans.slice(-limit);
  }

  /** Create a pending digest delivery (one per schedule run). */
  createDigest(input: CreateDigestInput, now: When): Promise<DigestRecord> {
    let base: Omit<DigestRecord, "id">;
    try {
      base = jsonClone(
        {
          schedule: requireText(input.schedule, "Digest schedule"),
          channel: requireText(input.channel, "Digest channel"),
          window: input.window,
          createdAt: iso(now),
          state: "pending" as const,
          posted: [],
          findingIds: [...input.findingIds],
          ...(input.parts !== undefined ? { parts: input.parts } : {}),
          ...(input.severities !== undefined ? { severities: input.severities } : {}),
          ...(input.expiries !== undefined ? { expiries: input.expiries } : {}),
          ...(input.findingParts !== undefined ? { findingParts: input.findingParts } : {}),
        },
        "Digest",
      );
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue((data) => {
      if (input.id !== undefined && data.digests.some((d) => d.id === input.id)) throw new StoreError("invalid", `Digest ${input.id} exists already`);
      const d: DigestRecord = { id: input.id ?? newId("d-", (id) => data.digests.some((x) => x.id === id)), ...base };
      data.digests.push(d);
      this.#trimDigests(data);
      return d;
    }, false);
  }

  getDigest(id: string): DigestRecord | undefined {
    return this.#db.data.digests.find((d) => d.id === id);
  }

  /** Record a posted part (its Slack ts), so that a resend skips what went out. */
  markDigestPart(id: string, ts: string): Promise<DigestRecord> {
    return this.#digest(id, (d) => (d.posted.includes(ts) ? d : { ...d, posted: [...d.posted, ts] }));
  }

  markDigestSent(id: string, now: When = Date.now()): Promise<DigestRecord> {
    let at: string;
    try {
      at = iso(now);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#digest(id, (d) => {
      const next: DigestRecord = { ...d, state: "sent", sentAt: at };
      delete next.error;
      // The content is not needed once every part is out (the ts and severities remain).
      delete next.parts;
      return next;
    });
  }

  markDigestFailed(id: string, error: string): Promise<DigestRecord> {
    return this.#digest(id, (d) => ({ ...d, state: "failed", error: String(error) }));
  }

  #digest(id: string, change: (d: DigestRecord) => DigestRecord): Promise<DigestRecord> {
    return this.#enqueue((data) => {
      const i = data.digests.findIndex((d) => d.id === id);
      if (i < 0) throw new StoreError("not-found", `No digest ${id}.`);
      const next = change(data.digests[i]!);
      data.digests[i] = next;
      this.#trimDigests(data);
      return next;
    }, false);
  }

  #trimDigests(data: StoreData): void {
    const sent = data.digests.filter((d) => d.state === "sent");
    if (sent.length <= DIGESTS_KEPT) return;
    const drop = new Set(sent.slice(0, sent.length - DIGESTS_KEPT));
    data.digests = data.digests.filter((d) => !drop.has(d));
  }

  /** Every digest kept (the last DIGESTS_KEPT sent ones, and all unsent), oldest first. */
  digests(): DigestRecord[] {
    return [...this.#db.data.digests];
  }

  /** Digests not sent yet (pending or failed), oldest first. */
  pendingDigests(): DigestRecord[] {
    return this.#db.data.digests.filter((d) => d.state !== "sent");
  }

  getDigestRun(schedule: string): string | undefined {
    return Object.hasOwn(this.#db.data.digestRuns, schedule) ? this.#db.data.digestRuns[schedule] : undefined;
  }

  setDigestRun(schedule: string, at: When): Promise<void> {
    let t: string;
    try {
      requireText(schedule, "Digest schedule");
      t = iso(at);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue((data) => {
      data.digestRuns[schedule] = t;
    }, false);
  }

  digestRuns(): Record<string, string> {
    return { ...this.#db.data.digestRuns };
  }

  // ---------------------------------------------------------------------------------------------
  // Size and pruning

  stats(now: When = Date.now()): StoreStats {
    const data = this.#db.data;
    const bytes = this.#backend.bytes();
    const sections = this.#backend.serializer?.sections ?? { baselines: 0, findings: 0, audit: 0, other: 0 };
    const counts = countsOf(data, ms(now));
    const warnings = [...this.#backend.warnings()];
    if (bytes > this.#opts.warnBytes) {
      const parts = (Object.entries(sections) as Array<[Section, number]>)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${formatBytes(v)}`)
        .join(", ");
      const t = ms(now);
      const stale = (days: number) => {
        let n = 0;
        for (const [, e] of TrailStore.#table(data).entries()) {
          if (!Number.isFinite(e.facts.last) || e.facts.last < t - days * DAY_MS) n++;
        }
        return n;
      };
      warnings.push(
        `The store is ${formatBytes(bytes)}, past ${formatBytes(this.#opts.warnBytes)} (${parts}); every save rewrites the whole file. ` +
          `Of ${counts.baselines} identities' baselines, ${stale(30)} were not seen in 30 days and ${stale(60)} not in 60: prune them ` +
          `(prune({ olderThanDays: 30 }) also drops resolved findings and ended suppressions as old), or lower the baseline caps.`,
      );
    }
    const lastBackup = this.#backend.lastBackup?.();
    return {
      ...(this.#backend.file ? { file: this.#backend.file } : {}),
      bytes,
      sections: { ...sections },
      schemaVersion: data.schemaVersion,
      counts,
      writes: this.#writes,
      ...(this.#backend.lastWriteMs ? { lastWriteMs: this.#backend.lastWriteMs() } : {}),
      ...(lastBackup ? { lastBackup } : {}),
      warnings,
    };
  }

  /**
   * Bounded growth. Drop baselines of identities not seen in `olderThanDays` days, resolved
   * findings not seen as long, suppressions that ended (removed, or expired and announced) that
   * long ago, scan records older than that; any finding not seen in `findingsDays` (an
   * acknowledgement is a decision: kept a year by default, and in the audit log after); and the
   * rotated audit files older than `auditDays`. Recorded in the audit log.
   */
  async prune(opts: PruneOptions, now: When = Date.now()): Promise<PruneResult> {
    let cutoff: number;
    let findingsCutoff: number;
    let at: string;
    let auditDays: number;
    try {
      if (!(opts.olderThanDays > 0)) throw new StoreError("invalid", "olderThanDays must be a positive number of days");
      const findingsDays = opts.findingsDays ?? Math.max(PRUNE_DEFAULTS.findingsDays, opts.olderThanDays);
      auditDays = opts.auditDays ?? PRUNE_DEFAULTS.auditDays;
      if (!(findingsDays > 0) || !(auditDays > 0)) throw new StoreError("invalid", "findingsDays and auditDays must be positive numbers of days");
      cutoff = ms(now) - opts.olderThanDays * DAY_MS;
      findingsCutoff = ms(now) - findingsDays * DAY_MS;
      at = iso(now);
    } catch (e) {
      return Promise.reject(e);
    }
    const res = await this.#enqueue((data) => {
      const res: PruneResult = { baselines: 0, findings: 0, suppressions: 0, scans: 0, auditFiles: 0 };
      const table = TrailStore.#table(data);
      for (const [k, e] of [...table.entries()]) {
        if (!Number.isFinite(e.facts.last) || e.facts.last < cutoff) {
          table.delete(k);
          res.baselines++;
        }
      }
      for (const id in data.findings) {
        const f = data.findings[id]!;
        const last = Date.parse(f.lastSeen);
        if ((f.status === "resolved" && last < cutoff) || last < findingsCutoff) {
          delete data.findings[id];
          res.findings++;
        }
      }
      const before = data.suppressions.length;
      data.suppressions = data.suppressions.filter((s) => {
        const ended = s.removed ? Date.parse(s.removed.at) : s.expiryAnnounced ? Date.parse(s.until) : Infinity;
        return !(ended < cutoff);
      });
      res.suppressions = before - data.suppressions.length;
      const scansBefore = data.scans.length;
      data.scans = data.scans.filter((s) => !(Date.parse(s.at) < cutoff));
      res.scans = scansBefore - data.scans.length;
      this.#appendAudit(data, {
        at,
        actor: opts.by ?? "trailhound",
        action: "prune",
        target: `older than ${opts.olderThanDays} days`,
        detail: `${res.baselines} baselines, ${res.findings} findings, ${res.suppressions} ended suppressions, ${res.scans} scan records`,
      });
      return res;
    }, false);
    if (this.#backend.dir) res.auditFiles = (await pruneAuditFiles(this.#backend.dir, ms(now) - auditDays * DAY_MS)).length;
    return res;
  }
}

/**
 * No store file, but backups or files kept aside by a restore: the store was lost (deleted,
 * moved, a restore cut short). Creating an empty store would silently drop every decision.
 */
async function refuseIfLost(dir: string, file: string): Promise<void> {
  const backups = await listBackups(dir).catch(() => []);
  const aside = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^trailhound\.json\.(damaged|replaced)-/.test(n));
  if (backups.length === 0 && aside.length === 0) return;
  const what = [
    ...(backups.length ? [`${backups.length} backup(s), newest ${backups[0]!.name}`] : []),
    ...(aside.length ? [`files kept aside: ${aside.join(", ")}`] : []),
  ].join("; ");
  throw new StoreError(
    "missing",
    `The store file ${file} is missing, but ${dir} shows there was one (${what}). trailhound did not create an empty store over it. ` +
      `Restore the newest good backup with \`trailhound store restore --store ${dir} latest\`; to really start from an empty store, ` +
      `move ${path.join(dir, "backups")} (and any trailhound.json.* files) elsewhere first.`,
  );
}

/** The file side: durable writes via lowdb, audit rotation, rolling backups. */
class FileBackend implements Backend {
  readonly file: string;
  #lastBackupMs = -Infinity;
  #lastBackupName: string | undefined;
  #lastBackupAttempt = -Infinity;
  #warnings: string[] = [];

  constructor(
    readonly dir: string,
    private readonly adapter: DurableJSONFile<StoreData>,
    readonly serializer: StoreSerializer,
    private readonly clock: () => number,
    private readonly opts: StoreOptions,
  ) {
    this.file = adapter.file;
  }

  /** At open: find the newest rolling backup, and take one from the file just read when due. */
  async initBackups(bytes: Buffer | null): Promise<void> {
    const daily = (await listBackups(this.dir).catch(() => [])).find((b) => b.kind === "daily");
    if (daily) {
      this.#lastBackupMs = Date.parse(daily.createdAt);
      this.#lastBackupName = daily.name;
    }
    if (bytes) await this.#maybeBackup(bytes);
  }

  async reload(): Promise<StoreData> {
    const got = await readWithIdentity(this.file);
    if (!got) {
      throw new StoreError(
        "conflict",
        `The store file ${this.file} disappeared while trailhound was running (deleted, or moved away). Nothing was written; ` +
          `restore it (\`trailhound store restore --store ${this.dir} latest\`) and restart trailhound.`,
        { reason: "missing" },
      );
    }
    const dec = decodeStore(got.bytes, this.file, this.dir);
    if (dec.from < STORE_SCHEMA_VERSION) {
      // An older file was put in place (a restore of an old backup): keep it before it is migrated.
      await writeBackup(this.dir, got.bytes, dec.from, "migration", this.clock(), this.opts.keepMigrationBackups ?? KEEP_BACKUPS.migration);
    }
    this.serializer.invalidate();
    this.adapter.adopt(got.identity, got.bytes.length);
    return dec.data;
  }

  startedEmpty(now: number): void {
    this.#lastBackupMs = now;
  }

  #held: HeldLock | undefined;

  async lock(): Promise<() => Promise<void>> {
    const held = await acquireLock(`${this.file}.lock`, this.opts.lockTimeoutMs !== undefined ? { timeoutMs: this.opts.lockTimeoutMs } : {});
    this.#held = held;
    return async () => {
      this.#held = undefined;
      await held();
    };
  }

  async replacedOnDisk(): Promise<boolean> {
    try {
      await this.adapter.checkConflict();
      return false;
    } catch (e) {
      if (isStoreError(e, "conflict") && e.reason === "replaced") return true;
      throw e;
    }
  }

  async persist(db: Low<StoreData>, rotated: AuditEntry[]): Promise<void> {
    // A writer that lost its lock (removed by hand, or taken over) never writes.
    await this.#held?.check();
    if (rotated.length > 0) await this.#appendAudit(rotated);
    // Low.write() -> adapter.write(data): serialise (cached per record) and write durably.
    await db.write();
    if (this.clock() - this.#lastBackupMs >= (this.opts.backupIntervalMs ?? DAY_MS)) {
      const got = await readWithIdentity(this.file).catch(() => null);
      if (got) await this.#maybeBackup(got.bytes);
    }
  }

  /**
   * Rotated audit entries are appended (and fsynced) to `audit-<date of entry>.jsonl` before the
   * store that no longer holds them is written: a crash in between duplicates lines, never loses one.
   */
  async #appendAudit(entries: AuditEntry[]): Promise<void> {
    const byDate = new Map<string, string[]>();
    for (const e of entries) {
      const d = /^\d{4}-\d{2}-\d{2}/.exec(e.at)?.[0] ?? new Date(this.clock()).toISOString().slice(0, 10);
      const lines = byDate.get(d) ?? [];
      lines.push(JSON.stringify(e));
      byDate.set(d, lines);
    }
    for (const [d, lines] of byDate) await appendFileDurable(path.join(this.dir, `audit-${d}.jsonl`), lines.join("\n") + "\n");
  }

  async #maybeBackup(bytes: Buffer): Promise<void> {
    const now = this.clock();
    const interval = this.opts.backupIntervalMs ?? DAY_MS;
    if (now - this.#lastBackupMs < interval) return;
    if (now - this.#lastBackupAttempt < Math.min(interval, 3_600_000)) return;
    this.#lastBackupAttempt = now;
    try {
      const b = await writeBackup(this.dir, bytes, STORE_SCHEMA_VERSION, "daily", now, this.opts.keepDailyBackups ?? KEEP_BACKUPS.daily);
      this.#lastBackupMs = now;
      this.#lastBackupName = b.name;
      this.#warnings = [];
    } catch (e) {
      const msg = `The rolling backup of the store could not be written: ${(e as Error).message}. The store itself is saved; the next attempt is in an hour.`;
      this.#warnings = [msg];
      this.opts.onWarning?.(msg);
    }
  }

  bytes(): number {
    return this.adapter.bytes;
  }

  lastWriteMs(): number {
    return this.adapter.lastWriteMs;
  }

  lastBackup(): string | undefined {
    return this.#lastBackupName;
  }

  warnings(): string[] {
    return this.#warnings;
  }
}
