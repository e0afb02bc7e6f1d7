/**
 * The file side of the store: opening `<dir>/trailhound.json` (a migration keeps the original in
 * `backups/` first; a store file that cannot be read back is never overwritten), durable writes
 * via lowdb and DurableJSONFile, the writers' lock, reading the file again when another process
 * replaced it, audit rotation to .jsonl files, and the rolling daily backups.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { Low } from "lowdb";
import { AUDIT_CAP, appendRotatedAudit } from "./audit.js";
import { StoreSerializer, decodeStore } from "./codec.js";
import { DurableJSONFile, acquireLock, readWithIdentity, removeStaleTempFiles, type HeldLock } from "./durable-file.js";
import { StoreError, isStoreError } from "./errors.js";
import { KEEP_BACKUPS, listBackups, storeFile, writeBackup } from "./maintenance.js";
import { STORE_SCHEMA_VERSION, emptyStoreData, type AuditEntry, type StoreData } from "./types.js";
import { DAY_MS } from "./values.js";
import { WriteQueue, type Backend } from "./write-queue.js";

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
  /**
   * Encode every finding at open, so that the first save is as cheap as the next (default true:
   * the bot's first acknowledgement). False for a process that saves once, a CLI scan: the
   * findings its save replaces (most of a day's: 862 of 1,509 on the realistic warm day) would be
   * encoded for nothing; the others are encoded by that save instead.
   */
  warmFindings?: boolean;
}

/**
 * Read (or create) the store file in `dir` and return its write queue. Throws a StoreError
 * without touching a file it cannot read back: damaged | unreadable | newer-version | missing
 * (no file but backups) | write-failed.
 */
export async function openFileQueue(dir: string, opts: StoreOptions): Promise<WriteQueue> {
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
  const queue = new WriteQueue(db, backend, opts.auditCap ?? AUDIT_CAP);
  const now = clock();
  if (read.decoded && read.rawBytes && read.decoded.from < STORE_SCHEMA_VERSION) {
    // Keep the original before the migrated store replaces it; the first save then also takes a
    // rolling backup of the migrated store (when none is recent), so both versions can be restored.
    try {
      await writeBackup(dir, read.rawBytes, read.decoded.from, "migration", now, opts.keepMigrationBackups ?? KEEP_BACKUPS.migration);
    } catch (e) {
      throw new StoreError(
        "write-failed",
        `Could not keep a backup of ${file} (schema v${read.decoded.from}) before migrating it: ${(e as Error).message}. Nothing was changed; free some space or fix the permissions of ${dir}/backups and start again.`,
        { cause: e },
      );
    }
    await backend.initBackups(null);
    await queue.enqueue(() => undefined, false);
  } else if (!read.rawBytes) {
    await refuseIfLost(dir, file);
    // A new store: nothing worth a backup yet (the first one is taken a backup interval from now).
    backend.startedEmpty(now);
    await queue.enqueue(() => undefined, false); // create the file now: fail early on a read-only directory
  } else {
    // Encode every finding now, so that the first save after start is as cheap as the next
    // (baselines are held as the bytes read from the file).
    if (opts.warmFindings !== false) serializer.warm(db.data);
    // The daily backup of the file just read, when due, is written while the caller goes on (a
    // scan reads its files meanwhile): the first save, flush or close waits for it.
    backend.initBackupsInBackground(read.rawBytes);
  }
  return queue;
}

/**
 * No store file, but backups or files kept aside by a restore: the store was lost (deleted,
 * moved, a restore cut short). Creating an empty store would silently drop every decision.
 */
async function refuseIfLost(dir: string, file: string): Promise<void> {
  const backups = await listBackups(dir).catch(() => []);
  const aside = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^trailhound\.json\.(damaged|replaced)-/.test(n));
  if (backups.length === 0 && aside.length === 0) return;
  const what = [...(backups.length ? [`${backups.length} backup(s), newest ${backups[0]!.name}`] : []), ...(aside.length ? [`files kept aside: ${aside.join(", ")}`] : [])].join(
    "; ",
  );
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

  /** initBackups, not awaited: `idle()`, and every save, wait for it. It never rejects (a failed backup is a warning). */
  initBackupsInBackground(bytes: Buffer): void {
    this.#background = this.initBackups(bytes).catch((e: unknown) => {
      const msg = `The rolling backup of the store could not be written: ${(e as Error).message}.`;
      this.#warnings = [msg];
      this.opts.onWarning?.(msg);
    });
  }

  #background: Promise<void> | undefined;

  /** Resolves once the backup started at open, if any, is done. */
  idle(): Promise<void> {
    return this.#background ?? Promise.resolve();
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
    await this.#background;
    // A writer that lost its lock (removed by hand, or taken over) never writes.
    await this.#held?.check();
    // Rotated audit entries go to their .jsonl files before the store that no longer holds them.
    if (rotated.length > 0) await appendRotatedAudit(this.dir, rotated, this.clock);
    // Low.write() -> adapter.write(data): serialise (cached per record) and write durably.
    await db.write();
    if (this.clock() - this.#lastBackupMs >= (this.opts.backupIntervalMs ?? DAY_MS)) {
      const got = await readWithIdentity(this.file).catch(() => null);
      if (got) await this.#maybeBackup(got.bytes);
    }
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
