/**
 * The binary ASN tables (asn-table.ts, written by `npm run build`) in memory shared by the threads
 * of one process: a file scan's read worker and the main thread both look addresses up, and each
 * read the 7.7 MB IPv4 table (and the 5.5 MB IPv6 one, when it met an IPv6 address) into memory
 * of its own. Here each table file has one SharedArrayBuffer of the file's size, made (untouched,
 * so taking no memory) when first asked for; whichever thread needs the table first reads the file
 * into it, and the others use those bytes (`AsnTableV4.fromBinary` makes typed-array views on
 * them, as on a file read whole). The threads share the slots through `sharedAsnTables()` /
 * `adoptSharedAsnTables()` (read-pool.ts hands them to each read worker at its start).
 *
 * A slot's state (an Int32 of shared memory): EMPTY, LOADING (a thread is reading the file),
 * READY, or FAILED (the file changed, or could not be read: each thread then reads the file
 * itself, as before). A file rewritten since its slot was made (size or modification time) gets a
 * new slot. A thread finding LOADING waits for the other (a read of a few milliseconds); a read not
 * done in WAIT_MS (its thread ended in the middle) makes the slot FAILED.
 * Each thread still checks the bytes against the CSV they were built from (asnSourceKey), as for
 * a file it read itself: the answers are the same whoever read the bytes.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { resolve } from "node:path";

const EMPTY = 0;
const LOADING = 1;
const READY = 2;
const FAILED = 3;
/** Longest wait for another thread's read of a table (then this thread reads the file itself). */
const WAIT_MS = 10_000;

/** One table file's shared bytes and their state. */
export interface SharedTableSlot {
  /** The file these bytes are (or will be) of: its size and modification time when the slot was made. */
  size: number;
  mtimeMs: number;
  bytes: SharedArrayBuffer;
  /** One Int32: EMPTY, LOADING, READY or FAILED. */
  state: SharedArrayBuffer;
}

/** The slots by the table file's absolute path (what a read worker is given). */
export type SharedAsnTables = Record<string, SharedTableSlot>;

let slots: SharedAsnTables = {};

/** This thread's slots, to hand to another thread of the process (see adoptSharedAsnTables). */
export function sharedAsnTables(): SharedAsnTables {
  return slots;
}

/** In a thread started by another: use that thread's slots (tables it read, or will read, are shared). */
export function adoptSharedAsnTables(shared: SharedAsnTables | undefined): void {
  if (shared !== undefined) slots = { ...shared, ...slots };
}

/** Makes (untouched) the slot of each existing table file in `paths` that has none (read-pool.ts: before starting a worker). */
export function reserveSharedAsnTables(paths: readonly string[]): void {
  for (const p of paths) slotOf(p);
}

/** The slot of the file at `path` as it is now (a file rewritten since its slot was made gets a new one). */
function slotOf(path: string): SharedTableSlot | undefined {
  const key = resolve(path);
  if (!existsSync(key)) return undefined;
  const st = statSync(key);
  let slot = slots[key];
  if (slot === undefined || slot.size !== st.size || slot.mtimeMs !== st.mtimeMs) {
    if (st.size === 0) return undefined;
    slot = { size: st.size, mtimeMs: st.mtimeMs, bytes: new SharedArrayBuffer(st.size), state: new SharedArrayBuffer(4) };
    slots[key] = slot;
  }
  return slot;
}

/**
 * The bytes of table file `path` in shared memory (read by this thread, or by another thread of
 * the process), or undefined when they cannot be had that way (the caller reads the file itself).
 */
export function sharedTableBytes(path: string, waitMs = WAIT_MS): Buffer | undefined {
  const slot = slotOf(path);
  if (slot === undefined) return undefined;
  const state = new Int32Array(slot.state);
  if (Atomics.compareExchange(state, 0, EMPTY, LOADING) === EMPTY) {
    let ok = false;
    try {
      ok = readInto(resolve(path), slot);
    } catch {
      ok = false;
    } finally {
      Atomics.store(state, 0, ok ? READY : FAILED);
      Atomics.notify(state, 0);
    }
  } else if (Atomics.load(state, 0) === LOADING && Atomics.wait(state, 0, LOADING, waitMs) === "timed-out") {
    // The reader never finished (a worker terminated in the middle of its read ends without its
    // `finally`): the slot is given up, so no later thread of the process waits for it again.
    Atomics.compareExchange(state, 0, LOADING, FAILED);
  }
  return Atomics.load(state, 0) === READY ? Buffer.from(slot.bytes) : undefined;
}

/** Reads the whole file into the slot's bytes; false when it is no longer the file the slot was made for. */
function readInto(path: string, slot: SharedTableSlot): boolean {
  const into = new Uint8Array(slot.bytes);
  const fd = openSync(path, "r");
  try {
    const st = fstatSync(fd);
    if (st.size !== into.length || st.mtimeMs !== slot.mtimeMs) return false;
    let off = 0;
    while (off < into.length) {
      const n = readSync(fd, into, off, into.length - off, off);
      if (n <= 0) return false;
      off += n;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}
