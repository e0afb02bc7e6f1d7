/**
 * The writers' lock of a store file: a lock file created exclusively, naming its holder (pid,
 * host, boot id, process start time) and a token per acquisition. A waiter takes it over only
 * from a dead holder (never for its age, unless the file cannot be read as a lock), and a holder
 * checks the lock is still its own before it writes.
 */
import { readFileSync } from "node:fs";
import { link, open, unlink, writeFile, type FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import os from "node:os";
import { StoreError } from "./errors.js";
import { fault } from "../util/faults.js";
import { pidAlive, tmpNameFor } from "./fs-util.js";

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
      throw new StoreError("conflict", `This process no longer holds the store's lock (${lockPath} was removed or taken over). Nothing was written; run the command again.`, {
        reason: "locked",
      });
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
