/**
 * The store's one write queue. Every change is a read-modify-write function on the in-memory
 * data; they run one after the other, and the ones queued while a write is on disk are applied
 * together and saved with one write. A returned promise resolves only once its change is on
 * stable storage (the backend: temp file + fsync + rename + directory fsync), under the writers'
 * lock; a change another process saved meanwhile is read first, and what this process has not
 * saved yet is applied again on it.
 */
import type { Low } from "lowdb";
import { capAudit } from "./audit.js";
import { baselineTable, tableOf } from "./baselines.js";
import type { StoreSerializer } from "./codec.js";
import { StoreError, isStoreError } from "./errors.js";
import type { AuditEntry, StoreData } from "./types.js";

/** Where the data goes: a file (file-backend.ts), or nowhere (the in-memory twin). */
export interface Backend {
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
  /** Resolves when work the backend started on its own (a backup at open) is done. */
  idle?(): Promise<void>;
  lastWriteMs?(): number;
  lastBackup?(): string | undefined;
  warnings(): string[];
}

type JobResult = { ok: true; value: unknown } | { ok: false; error: unknown };

interface Job {
  fn: (data: StoreData) => unknown;
  /** The function may mutate records in place: drop the serializer's cache. */
  invalidate: boolean;
  /** Settles when `fn` can run (its inputs are being prepared elsewhere): awaited before the batch takes the lock. */
  ready?: Promise<unknown>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class WriteQueue {
  readonly db: Low<StoreData>;
  readonly backend: Backend;
  readonly #auditCap: number;
  #pending: Job[] = [];
  #running = false;
  #idle: Array<() => void> = [];
  /** Changes in memory that the last write failed to save. */
  #dirty = false;
  #closed = false;
  /** Updates applied in memory whose save failed: re-applied if the file has to be read again. */
  #unsaved: Job[] = [];
  #writes = 0;
  /** Audit entries rotated out of the store, not yet appended to the .jsonl files. */
  #rotated: AuditEntry[] = [];

  constructor(db: Low<StoreData>, backend: Backend, auditCap: number) {
    this.db = db;
    baselineTable(db.data);
    this.backend = backend;
    this.#auditCap = auditCap;
  }

  /** The last write failed (changes wait in memory for the next one). */
  get dirty(): boolean {
    return this.#dirty;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Saves since the queue was made (several batched updates make one save). */
  get writes(): number {
    return this.#writes;
  }

  /**
   * Queue `fn`. `invalidate`: it may mutate records in place (a generic update): the baselines it
   * reads are re-encoded after it and the serializer's cache is dropped. The domain changes
   * replace records instead and pass false.
   */
  enqueue<R>(fn: (data: StoreData) => R | Promise<R>, invalidate: boolean, ready?: Promise<unknown>): Promise<R> {
    if (this.#closed) return Promise.reject(new StoreError("closed", "The store is closed; nothing was written."));
    return new Promise<R>((resolve, reject) => {
      const job: Job = { fn, invalidate, resolve: resolve as (v: unknown) => void, reject };
      if (ready) job.ready = ready;
      this.#pending.push(job);
      this.#kick();
    });
  }

  /** A domain change: `prep` validates now (its error rejects, nothing queued) and returns the change to queue. */
  apply<R>(prep: () => (data: StoreData) => R): Promise<R> {
    let fn: (data: StoreData) => R;
    try {
      fn = prep();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.enqueue(fn, false);
  }

  /**
   * A domain change whose preparation finishes later (encoding off the main thread): `prep`
   * validates now (its error rejects, nothing queued) and returns the change to come. It keeps its
   * place in the queue; its batch waits for it before taking the writers' lock. A rejected
   * preparation rejects this change only (nothing written for it).
   */
  applyLater<R>(prep: () => Promise<(data: StoreData) => R>): Promise<R> {
    let later: Promise<(data: StoreData) => R>;
    try {
      later = prep();
    } catch (e) {
      return Promise.reject(e);
    }
    let fn: ((data: StoreData) => R) | undefined;
    let failure: { error: unknown } | undefined;
    const ready = later.then(
      (f) => {
        fn = f;
      },
      (error: unknown) => {
        failure = { error };
      },
    );
    return this.enqueue(
      (data) => {
        if (failure) throw failure.error;
        return fn!(data);
      },
      false,
      ready,
    );
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

  async #runJobs(jobs: Job[], data: StoreData): Promise<{ results: JobResult[]; changed: boolean }> {
    const results: JobResult[] = [];
    let changed = false;
    for (const job of jobs) {
      // A generic update may change baselines in place: those it reads are re-encoded after it.
      const table = job.invalidate ? baselineTable(data) : undefined;
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
              baselineTable(data);
            } catch (e) {
              data.baselines = table!.view;
              throw e;
            }
          }
        } catch (error) {
          if (result.ok) result = { ok: false, error };
        }
        this.backend.serializer?.invalidate();
      }
      results.push(result);
    }
    return { results, changed };
  }

  async #save(): Promise<void> {
    this.#rotated.push(...capAudit(this.db.data, this.#auditCap));
    await this.backend.persist(this.db, this.#rotated);
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
    // Changes still being prepared (applyLater), and the backup started at open, are waited for outside the lock.
    for (const job of batch) if (job.ready) await job.ready;
    await this.backend.idle?.();
    try {
      release = await this.backend.lock?.();
      if (this.backend.reload && (await this.backend.replacedOnDisk?.())) {
        const fresh = await this.backend.reload();
        this.db.data = fresh;
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
      const run = await this.#runJobs(batch, this.db.data);
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

  /** Wait until every queued update is on disk; retries a failed write. */
  async flush(): Promise<void> {
    await this.backend.idle?.();
    if (this.#dirty && !this.#running && this.#pending.length === 0 && !this.#closed) {
      await this.enqueue(() => undefined, false);
      return;
    }
    if (!this.#running && this.#pending.length === 0) return;
    await new Promise<void>((r) => this.#idle.push(r));
    if (this.#dirty) throw new StoreError("write-failed", "The last write of the store failed; see the error of the update that failed.");
  }

  /**
   * Flush, then refuse further updates. `{ retry: false }`: wait for the write in flight but do
   * not try again a save that failed.
   */
  async close(opts: { retry?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    try {
      if (opts.retry === false) {
        await this.backend.idle?.();
        if (this.#running || this.#pending.length > 0) await new Promise<void>((r) => this.#idle.push(r));
      } else {
        await this.flush();
      }
    } finally {
      this.#closed = true;
    }
  }
}
