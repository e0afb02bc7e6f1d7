/**
 * Crash-safe file writes, and a lowdb adapter built on them (the writers' lock is in lock.ts).
 *
 * A write goes to a temporary file in the same directory, is fsynced, renamed over the target,
 * and the directory is fsynced. rename(2) is atomic on POSIX file systems, so a crash or a power
 * loss at any instant leaves either the old file or the new one, each complete; the directory
 * fsync makes the rename itself durable before the write is reported done.
 */
import type { Stats } from "node:fs";
import { open, readdir, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { Adapter } from "lowdb";
import { StoreError } from "./errors.js";
import { fault } from "../util/faults.js";
import { fsyncDir, pidAlive, tmpNameFor } from "./fs-util.js";

export { fsyncDir } from "./fs-util.js";
export { acquireLock, processStartTime, type HeldLock, type LockOptions } from "./lock.js";

/** What identifies one version of a file: a rename by another process changes the inode. */
export interface FileIdentity {
  ino: number;
  size: number;
  mtimeMs: number;
}

/** True for the temporary files `writeFileDurable` leaves behind when a process dies mid-write. */
export function isTempFileOf(file: string, name: string): boolean {
  const base = path.basename(file);
  return name.startsWith(`.${base}.`) && name.endsWith(".tmp");
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
    if (
      await stat(this.file).then(
        () => true,
        () => false,
      )
    ) {
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
