/**
 * Crash-safe file writes, and a lowdb adapter built on them.
 *
 * A write goes to a temporary file in the same directory, is fsynced, renamed over the target,
 * and the directory is fsynced. rename(2) is atomic on POSIX file systems, so a crash or a power
 * loss at any instant leaves either the old file or the new one, each complete; the directory
 * fsync makes the rename itself durable before the write is reported done.
 */
import { readFileSync, type Stats } from "node:fs";
import { link, open, readdir, rename, stat, unlink, writeFile, type FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import type { Adapter } from "lowdb";
import { StoreError } from "./errors.js";
import { fault } from "./faults.js";

/** What identifies one version of a file: a rename by another process changes the inode. */
export interface FileIdentity {
  ino: number;
  size: number;
  mtimeMs: number;
}

let tmpCounter = 0;

function tmpNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${tmpCounter++}.tmp`);
}

/** True for the temporary files `writeFileDurable` leaves behind when a process dies mid-write. */
export function isTempFileOf(file: string, name: string): boolean {
  const base = path.basename(file);
  return name.startsWith(`.${base}.`) && name.endsWith(".tmp");
}

/** fsync a directory so that renames and new entries in it survive a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch (e) {
    // Some platforms (Windows) cannot open or fsync a directory; nothing more can be done there.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL" && code !== "EACCES") throw e;
  } finally {
    await fh?.close();
  }
}

/**
 * Write `data` to `file` so that, whatever happens, `file` holds either its previous content or
 * `data` in full. Resolves once the new content and the rename are on stable storage.
 */
export async function writeFileDurable(file: string, data: string | Uint8Array | readonly Uint8Array[], mode = 0o600): Promise<FileIdentity> {
  const tmp = tmpNameFor(file);
  let st: Stats;
  try {
    fault("write.start");
    const fh = await open(tmp, "w", mode);
    try {
      if (Array.isArray(data)) await writeAllV(fh, data as readonly Uint8Array[]);
      else await fh.writeFile(data as string | Uint8Array);
      fault("write.tmp-written");
      await fh.sync();
      st = await fh.stat();
    } finally {
      await fh.close();
    }
    fault("write.tmp-synced");
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const identity = { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
  try {
    fault("write.renamed");
    await fsyncDir(path.dirname(file));
  } catch (e) {
    // The new file is in place (renamed) but its durability is not confirmed: say which file it is,
    // so that the writer does not later mistake its own file for another process's.
    throw Object.assign(e as Error, { identity });
  }
  fault("write.done");
  return identity;
}

/** writev every chunk, resuming after short writes. */
async function writeAllV(fh: FileHandle, chunks: readonly Uint8Array[]): Promise<void> {
  const BATCH = 1024; // IOV_MAX on Linux
  for (let i = 0; i < chunks.length; i += BATCH) {
    let batch = chunks.slice(i, i + BATCH);
    let want = 0;
    for (const c of batch) want += c.length;
    while (want > 0) {
      const { bytesWritten } = await fh.writev(batch as Uint8Array[]);
      want -= bytesWritten;
      if (want === 0) break;
      // Short write: drop what was written and go on with the rest.
      let skip = bytesWritten;
      const rest: Uint8Array[] = [];
      for (const c of batch) {
        if (skip >= c.length) {
          skip -= c.length;
          continue;
        }
        rest.push(skip > 0 ? c.subarray(skip) : c);
        skip = 0;
      }
      batch = rest;
    }
  }
}

/** Append to a file and fsync it (and its directory when the file is new). */
export async function appendFileDurable(file: string, data: string | Uint8Array): Promise<void> {
  const existed = await stat(file).then(
    () => true,
    () => false,
  );
  fault("append.start");
  const fh = await open(file, "a", 0o600);
  try {
    await fh.appendFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (!existed) await fsyncDir(path.dirname(file));
  fault("append.done");
}

/**
 * Remove temporary files left by writers that died mid-write (never the store). A temporary
 * file of a live process (another trailhound writing right now) is left alone.
 */
export async function removeStaleTempFiles(file: string, staleMs = 3_600_000): Promise<string[]> {
  const dir = path.dirname(file);
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (!isTempFileOf(file, name)) continue;
    const pid = Number(/\.(\d+)\.\d+\.tmp$/.exec(name)?.[1]);
    const st = await stat(path.join(dir, name)).catch(() => undefined);
    const old = st !== undefined && Date.now() - st.mtimeMs > staleMs;
    if (Number.isInteger(pid) && pid !== process.pid && pidAlive(pid) && !old) continue;
    await unlink(path.join(dir, name)).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}

/** Read a whole file; `null` when it does not exist. Other errors become StoreError("unreadable"). */
export async function readFileOrNull(file: string): Promise<Buffer | null> {
  return (await readWithIdentity(file))?.bytes ?? null;
}

/** Read a file and the identity of exactly the version that was read (fstat on the same descriptor). */
export async function readWithIdentity(file: string): Promise<{ bytes: Buffer; identity: FileIdentity } | null> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(file, "r");
    const st = await fh.stat();
    if (st.isDirectory()) throw Object.assign(new Error(`${file} is a directory`), { code: "EISDIR" });
    const bytes = await fh.readFile();
    return { bytes, identity: { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs } };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT") return null;
    throw new StoreError("unreadable", `Cannot read ${file}: ${err.message}. Check the file's permissions and the disk.`, {
      cause: e,
    });
  } finally {
    await fh?.close();
  }
}

export interface LockOptions {
  /** Give up waiting after this long (default 20 s). */
  timeoutMs?: number;
  /**
   * Only for a lock file that cannot be read as one (left by an older trailhound killed while
   * writing it, or by hand): taken over once older than this (default 15 s). A readable lock is
   * never taken over for its age, only when its holder is dead.
   */
  staleMs?: number;
}

/** The lock held: release it, or check that it is still this holder's before writing. */
export interface HeldLock {
  (): Promise<void>;
  /** Throws StoreError("conflict", reason "locked") if the lock file is no longer this holder's. */
  check(): Promise<void>;
  readonly token: string;
}

/** What a lock file says about its holder. */
interface LockOwner {
  pid: number;
  host: string;
  /** Linux: /proc/sys/kernel/random/boot_id: a lock from before a reboot is dead. */
  boot?: string;
  /** Linux: the process's start time (clock ticks since boot, /proc/<pid>/stat): tells a reused pid. */
  start?: string;
  /** One per acquisition: a release removes only its own lock. */
  token: string;
  at: string;
}

function readProcFile(p: string): string | undefined {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}

const BOOT_ID = readProcFile("/proc/sys/kernel/random/boot_id")?.trim() || undefined;

/** Start time of a process (Linux), undefined where /proc does not tell. */
export function processStartTime(pid: number): string | undefined {
  const stat = readProcFile(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19]; // field 22 overall
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const MY_START = processStartTime(process.pid);

/**
 * Whether the holder of a lock is running: on this host, by pid and, where the system tells, the
 * process's start time and the boot id (a pid reused by another process, or a lock from before a
 * reboot, is dead). A holder on another host (a shared directory) cannot be judged: "unknown".
 */
function holderState(h: Partial<LockOwner> | undefined): "alive" | "dead" | "unknown" {
  if (!h || typeof h.pid !== "number" || !Number.isInteger(h.pid) || h.pid <= 0) return "unknown";
  if (h.host !== os.hostname()) return "unknown";
  if (h.boot && BOOT_ID && h.boot !== BOOT_ID) return "dead";
  if (h.pid === process.pid) {
    // This process, or an earlier one with the same pid (pid 1 in a restarted container).
    if (h.start && MY_START) return h.start === MY_START ? "alive" : "dead";
    return "alive";
  }
  if (!pidAlive(h.pid)) return "dead";
  if (h.start) {
    const now = processStartTime(h.pid);
    if (now !== undefined && now !== h.start) return "dead";
  }
  return "alive";
}

interface LockFileState {
  owner: Partial<LockOwner> | undefined;
  /** Names this very lock file: its token, or for a file that is not a readable lock, its inode and time. */
  id: string;
  ageMs: number;
}

async function readLockFile(p: string): Promise<LockFileState | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(p, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    const st = await fh.stat();
    const text = await fh.readFile("utf8");
    let owner: Partial<LockOwner> | undefined;
    try {
      const v = JSON.parse(text) as unknown;
      if (v && typeof v === "object") owner = v as Partial<LockOwner>;
    } catch {
      // Not a lock this version writes (they are complete when they appear): judged by age.
    }
    const id = typeof owner?.token === "string" && owner.token ? `t${owner.token}` : `i${st.ino}-${Math.round(st.mtimeMs)}`;
    return { owner, id, ageMs: Date.now() - st.mtimeMs };
  } finally {
    await fh.close();
  }
}

/** Create `p` holding `owner`, complete from the instant it exists (a hard link of a written temp file). Throws EEXIST. */
async function createLockFile(p: string, owner: LockOwner): Promise<void> {
  const text = JSON.stringify(owner);
  // Named like the store's temp files, so that one left by a killed process is removed at the next open.
  const tmp = tmpNameFor(p);
  await writeFile(tmp, text, { mode: 0o600 });
  try {
    await link(tmp, p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw e;
    // No hard links on this file system: O_EXCL, then the content (a reader may see it empty for a moment).
    const fh = await open(p, "wx", 0o600);
    try {
      await fh.writeFile(text);
    } finally {
      await fh.close();
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/**
 * Remove the lock file `p` if it is still the one named `deadId`, with no race between waiters:
 * only the process that creates the marker `<p>.takeover-<deadId>` (O_EXCL) may remove that
 * lock, and it removes it only after reading it again under the marker. Without the marker, two
 * waiters that both saw the dead lock could both remove "it", the second removing the lock the
 * first had just taken. A marker whose maker died is taken over the same way (depth-limited).
 */
async function takeOver(p: string, deadId: string, me: Omit<LockOwner, "token" | "at">, depth = 0): Promise<void> {
  if (depth > 4) return;
  const marker = `${p}.takeover-${deadId.replace(/[^A-Za-z0-9-]/g, "_")}`;
  const token = randomBytes(12).toString("hex");
  try {
    await createLockFile(marker, { ...me, token, at: new Date().toISOString() });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    const m = await readLockFile(marker);
    if (m && (holderState(m.owner) === "dead" || (m.owner === undefined && m.ageMs > 15_000))) await takeOver(marker, m.id, me, depth + 1);
    return; // another waiter is taking it over (or just did): look again
  }
  try {
    fault("lock.takeover");
    const cur = await readLockFile(p);
    if (cur && cur.id === deadId) await unlink(p);
  } finally {
    await unlink(marker).catch(() => undefined);
  }
}

/**
 * An exclusive lock file around check-and-replace of the store, so that two processes cannot
 * both check the file and then both rename over it. The file names its holder (host, pid,
 * process start time, boot id) and a token of this acquisition. A waiter takes it over only when
 * the holder is dead (never for its age: a paused holder keeps it, and waiters time out with a
 * clear error), atomically with respect to other waiters (`takeOver`); a release removes only
 * its own lock. Resolves with the release function.
 */
export async function acquireLock(lockPath: string, opts: LockOptions = {}): Promise<HeldLock> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const staleMs = opts.staleMs ?? 15_000;
  const start = Date.now();
  const base = { pid: process.pid, host: os.hostname(), ...(BOOT_ID ? { boot: BOOT_ID } : {}), ...(MY_START ? { start: MY_START } : {}) };
  const me: LockOwner = { ...base, token: randomBytes(12).toString("hex"), at: "" };
  for (let attempt = 0; ; attempt++) {
    try {
      await createLockFile(lockPath, { ...me, at: new Date().toISOString() });
      fault("lock.acquired");
      return heldLock(lockPath, me.token);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const cur = await readLockFile(lockPath);
    if (!cur) continue;
    const state = cur.owner ? holderState(cur.owner) : "unknown";
    if (state === "dead" || (cur.owner === undefined && cur.ageMs > staleMs)) {
      await takeOver(lockPath, cur.id, base);
      continue;
    }
    if (Date.now() - start > timeoutMs) {
      const h = cur.owner ?? {};
      const where = state === "unknown" && h.host ? ` on ${String(h.host)} (another machine: its liveness cannot be checked from here)` : "";
      throw new StoreError(
        "conflict",
        `The store is locked by another process (pid ${String(h.pid ?? "?")}${where}, ${lockPath}, held ${Math.round(cur.ageMs / 1000)} s). ` +
          `Nothing was written. If no other trailhound is running, remove ${lockPath}; if one is, stop it or wait.`,
        { reason: "locked" },
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(50, 2 + attempt * 2) + Math.random() * 5));
  }
}

function heldLock(lockPath: string, token: string): HeldLock {
  const mine = `t${token}`;
  const check = async (): Promise<void> => {
    const cur = await readLockFile(lockPath).catch(() => undefined);
    if (cur?.id !== mine) {
      throw new StoreError(
        "conflict",
        `This process no longer holds the store's lock (${lockPath} was removed or taken over). Nothing was written; run the command again.`,
        { reason: "locked" },
      );
    }
  };
  const release = async (): Promise<void> => {
    fault("lock.release");
    const cur = await readLockFile(lockPath).catch(() => undefined);
    // Never remove another holder's lock.
    if (cur?.id === mine) await unlink(lockPath).catch(() => undefined);
  };
  return Object.assign(release, { check, token });
}

export interface Codec<T> {
  /** Bytes of the file -> data. Throws (StoreError "damaged") when the content is not acceptable. */
  parse(bytes: Buffer): T;
  /** Data -> the text (or its UTF-8 bytes, possibly in chunks) to write. */
  stringify(data: T): string | Uint8Array | readonly Uint8Array[];
}

/**
 * lowdb adapter with durable writes. With `detectConflicts`, a write fails (StoreError
 * "conflict") instead of overwriting a file that another process replaced since this adapter
 * last read or wrote it: lowdb has no multi-process safety, and whole-file rewrites from two
 * processes would silently drop one side's decisions.
 */
export class DurableJSONFile<T> implements Adapter<T> {
  #identity: FileIdentity | undefined;
  #bytes = 0;
  lastWriteMs = 0;

  constructor(
    readonly file: string,
    private readonly codec: Codec<T>,
    private readonly opts: { detectConflicts?: boolean } = {},
  ) {}

  /** Size of the file as last read or written. */
  get bytes(): number {
    return this.#bytes;
  }

  async read(): Promise<T | null> {
    const got = await readWithIdentity(this.file);
    if (got === null) return null;
    const data = this.codec.parse(got.bytes);
    this.#identity = got.identity;
    this.#bytes = got.bytes.length;
    return data;
  }

  async write(data: T): Promise<void> {
    await this.writeText(this.codec.stringify(data));
  }

  /** Write already serialised content (so that callers can reuse the bytes, e.g. for a backup). */
  async writeText(text: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
    const buf = typeof text === "string" ? Buffer.from(text, "utf8") : text;
    const t0 = performance.now();
    // Callers that share the file with other processes hold acquireLock(`${file}.lock`) around this.
    try {
      await this.checkConflict();
      this.#identity = await writeFileDurable(this.file, buf);
    } catch (e) {
      const identity = (e as { identity?: FileIdentity }).identity;
      if (identity) this.#identity = identity;
      throw e;
    }
    this.lastWriteMs = performance.now() - t0;
    this.#bytes = this.#identity.size;
  }

  /** Throw StoreError("conflict") if another process replaced the file since this adapter last read or wrote it. */
  async checkConflict(): Promise<void> {
    if (!this.opts.detectConflicts) return;
    if (this.#identity) return this.#checkConflict(this.#identity);
    // Nothing was read: the file did not exist. It must still not exist.
    if (await stat(this.file).then(() => true, () => false)) {
      throw new StoreError("conflict", `The store file ${this.file} was created by another process since this one started.`, { reason: "replaced" });
    }
  }

  /** Record that the content now held in memory is the one read with this identity (after a reload). */
  adopt(identity: FileIdentity, bytes: number): void {
    this.#identity = identity;
    this.#bytes = bytes;
  }

  async #checkConflict(mine: FileIdentity): Promise<void> {
    let st: Stats;
    try {
      st = await stat(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        throw new StoreError(
          "conflict",
          `The store file ${this.file} disappeared while trailhound was running (moved by \`store restore\`, or deleted). ` +
            `Nothing was written; restart trailhound so that it reads the store again.`,
          { reason: "missing" },
        );
      }
      throw e;
    }
    if (st.ino !== mine.ino || st.size !== mine.size || st.mtimeMs !== mine.mtimeMs) {
      throw new StoreError(
        "conflict",
        `The store file ${this.file} was replaced by another process since this one read it ` +
          `(is a second trailhound, or \`store restore\`, using the same --store?). Nothing was written, so that neither ` +
          `side's decisions are lost; restart trailhound so that it reads the store again.`,
        { reason: "replaced" },
      );
    }
  }
}
