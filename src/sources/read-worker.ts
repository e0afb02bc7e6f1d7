/**
 * A file scan's read worker (see read-pool.ts): opens a listed file, reads it whole, gunzips it
 * and runs the sink's off-thread preparation on the bytes (the byte walk), then hands the bytes
 * and the outcome back to the main thread. Anything out of the ordinary (not a regular file,
 * large, unreadable, corrupt or oversized gzip, an error) is answered `main`: the main thread
 * then reads that file itself, the one-thread way, so every message and count stays what the
 * one-thread scan gives. One file at a time, in the order asked.
 *
 * The bytes and the preparation's index go through slots of memory shared with the main thread
 * (SharedArrayBuffers made once and reused from file to file: the pool names the slot a file is
 * to fill, and gives it again only once the main thread is done with it), not through a new
 * buffer per file: a new buffer per file moved to the main thread is memory outside its heap that
 * it accounts for, and that made its garbage collector mark the whole heap about every 50 files
 * (22 full collections in a 1M-event scan instead of 4, some 3 CPU-seconds). Files that inflate to
 * more than SLOT_MAX bytes, or that the native gunzip cannot inflate in one piece, get a buffer of
 * their own, moved (transferred) to the main thread, as before.
 */
import { closeSync, constants as fsc, fstatSync, openSync, readSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { gunzipSync } from "node:zlib";
import { fault } from "../util/faults.js";
import { nativeWalk } from "../util/native-addon.js";
import { gunzipChunkSize } from "./gunzip-size.js";

/** What the pool asks: read `path` into slot `slot` of this worker. */
export interface ReadJob {
  seq: number;
  path: string;
  slot: number;
}

/** The memory of a slot, shared with the main thread; sent with the reply that first uses it. */
export interface SlotMemory {
  bytes: SharedArrayBuffer;
  ints: SharedArrayBuffer;
}

/**
 * What the worker answers. `shared`: the bytes are [0, length) of the slot's `bytes` and the
 * preparation's shared ints (see Prepare) [0, ints) of its `ints`; `memory` is the slot's memory
 * when it is new (made or grown for this file). `moved`: the bytes are [offset, offset + length)
 * of `buffer`, transferred.
 */
export type ReadReply = (
  | { seq: number; kind: "main" }
  | { seq: number; kind: "shared"; slot: number; memory?: SlotMemory; length: number; ints: number; rawLength: number; prepared: unknown }
  | { seq: number; kind: "moved"; buffer: ArrayBuffer; offset: number; length: number; rawLength: number; prepared: unknown }
) & {
  /** This worker's time so far (ms): reading, gunzipping, preparing, copying (see ReadPool.timing). */
  times: WorkerTimes;
};

/** Where a read worker's time went, in milliseconds of wall clock, from its start. */
export interface WorkerTimes {
  read: number;
  gunzip: number;
  prepare: number;
  copy: number;
}

export interface ReadWorkerData {
  maxBytes: number;
  /** Files larger than this (on disk) are left to the main thread (it streams or heads them). */
  big: number;
  /** The sink's module for work on the bytes (BytesReader.offThread), if any. */
  prepare?: string;
  /** What that module's `setupOffThread`, if it has one, is given once, before any file (BytesReader.offThreadData). */
  prepareData?: unknown;
}

/**
 * The sink's preparation (BytesReader.offThread): `shared(n)`, when given, is an Int32Array of `n`
 * ints in the slot's shared memory, which the preparation may fill instead of transferring an
 * array of its own; on the main thread that array is the result's `meta`.
 */
export type Prepare = (bytes: Uint8Array, shared?: (n: number) => Int32Array) => { result: unknown; transfer: ArrayBuffer[] };

/** Files inflating to more than this are not put in a slot (a long scan keeps no huge slot). */
export const SLOT_MAX = 64 << 20;

const init = workerData as ReadWorkerData;
const port = parentPort!;
let prepare: Prepare | undefined;
const ready: Promise<void> = init.prepare
  ? import(init.prepare).then(async (m: { prepareOffThread: Prepare; setupOffThread?: (data: unknown) => Promise<void> | void }) => {
      await m.setupOffThread?.(init.prepareData);
      prepare = m.prepareOffThread;
    })
  : Promise.resolve();

const times: WorkerTimes = { read: 0, gunzip: 0, prepare: 0, copy: 0 };
const slots: SlotMemory[] = [];
/** The compressed bytes, read into one buffer reused from file to file. */
let rawBuf = Buffer.allocUnsafeSlow(1 << 20);

/** A slot's memory of at least `bytes` bytes and `ints` ints, grown (new memory) when smaller. */
function slotMemory(slot: number, bytes: number, ints: number): { memory: SlotMemory; fresh: boolean } {
  const had = slots[slot];
  if (had && had.bytes.byteLength >= bytes && had.ints.byteLength >= ints * 4) return { memory: had, fresh: false };
  const grow = (n: number, now: number | undefined) => Math.max(n + (n >> 2), now ?? 0, 1 << 16);
  const memory: SlotMemory = {
    bytes: had && had.bytes.byteLength >= bytes ? had.bytes : new SharedArrayBuffer(grow(bytes, had?.bytes.byteLength)),
    ints: had && had.ints.byteLength >= ints * 4 ? had.ints : new SharedArrayBuffer(grow(ints * 4, had?.ints.byteLength)),
  };
  slots[slot] = memory;
  return { memory, fresh: true };
}

/**
 * Read the whole file from `fd` into `rawBuf` (to its end, even past the size it had); undefined
 * when it gives more than `max` bytes (a /proc file's reads may not end: the main thread says so).
 */
function readWhole(fd: number, size: number, max: number): Buffer | undefined {
  if (rawBuf.length < size + 1 || rawBuf.length > Math.max(size + 1, 1 << 20) * 8) rawBuf = Buffer.allocUnsafeSlow(Math.max(size + 1 + (size >> 3), 1 << 20));
  let off = 0;
  for (;;) {
    if (off === rawBuf.length) {
      if (off > max) return undefined;
      const more = Buffer.allocUnsafeSlow(Math.min(max + 1, rawBuf.length * 2));
      rawBuf.copy(more, 0, 0, off);
      rawBuf = more;
    }
    const bytesRead = readSync(fd, rawBuf, off, rawBuf.length - off, off);
    if (bytesRead === 0) return rawBuf.subarray(0, off);
    off += bytesRead;
  }
}

async function read(job: ReadJob): Promise<{ reply: ReadReply; transfer: ArrayBuffer[] }> {
  fault("read.file");
  const main = { reply: { seq: job.seq, kind: "main", times } as ReadReply, transfer: [] };
  let t = performance.now();
  let whole: Buffer;
  try {
    // Non-blocking open, then a regular-file check, as the main thread's own read does (a FIFO
    // or a device is never read here). The calls block this worker, not the main thread: with
    // the promise API, each of open, stat, read and close was a round trip through libuv's
    // thread pool while the worker sat idle, and the worker fell behind the main thread.
    const fd = openSync(job.path, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.size > init.big) return main;
      // A file that gives more than a large one (which it is then) is left to the main thread too.
      const read = readWhole(fd, st.size, init.big);
      if (read === undefined) return main;
      whole = read;
    } finally {
      try {
        closeSync(fd);
      } catch {
        // closing a file read whole cannot lose anything
      }
    }
  } catch {
    return main;
  }
  let t2 = performance.now();
  times.read += t2 - t;
  t = t2;
  // Into the slot: the native gunzip inflates one whole gzip member straight into it; a plain
  // file is copied there. Anything else inflates with zlib into a buffer of its own.
  let bytes: Uint8Array | undefined;
  let memory: { memory: SlotMemory; fresh: boolean } | undefined;
  const gz = whole.length >= 2 && whole[0] === 0x1f && whole[1] === 0x8b;
  if (gz) {
    const isize = whole.length >= 18 ? whole.readUInt32LE(whole.length - 4) : 0;
    // Its trailer says it inflates to more than the limit (ISIZE is the size modulo 2^32: never
    // more than the true size): a bomb, or a bogus trailer. The main thread reads it and says
    // which; inflating it here first only doubled the memory and time it costs.
    if (isize > init.maxBytes) return main;
    if (nativeWalk?.gunzip && isize > 0 && isize <= init.maxBytes && isize <= SLOT_MAX) {
      memory = slotMemory(job.slot, isize, 0);
      const out = new Uint8Array(memory.memory.bytes, 0, isize);
      if (nativeWalk.gunzip(whole, out) === isize) bytes = out;
    }
    if (bytes === undefined) {
      try {
        bytes = gunzipSync(whole, { chunkSize: gunzipChunkSize(whole, init.maxBytes), maxOutputLength: init.maxBytes });
      } catch {
        return main; // corrupt, cut or oversized: the main thread says which
      }
    }
  } else if (whole.length <= SLOT_MAX) {
    memory = slotMemory(job.slot, whole.length, 0);
    bytes = new Uint8Array(memory.memory.bytes, 0, whole.length);
    bytes.set(whole);
  } else bytes = Buffer.from(whole); // a copy: `whole` is the reused read buffer
  if (bytes.length > init.maxBytes) return main;
  const rawLength = whole.length;
  t2 = performance.now();
  times.gunzip += t2 - t;
  t = t2;
  const inSlot = bytes.buffer === memory?.memory.bytes;
  let ints = 0;
  const shared = inSlot
    ? (n: number): Int32Array => {
        const m = slotMemory(job.slot, 0, n);
        if (m.fresh) memory = { memory: m.memory, fresh: true };
        ints = n;
        return new Int32Array(m.memory.ints, 0, n);
      }
    : undefined;
  const p = prepare?.(bytes, shared);
  t2 = performance.now();
  times.prepare += t2 - t;
  t = t2;
  if (inSlot) {
    const reply: ReadReply = { seq: job.seq, kind: "shared", slot: job.slot, length: bytes.length, ints, rawLength, prepared: p?.result, times };
    if (memory!.fresh) reply.memory = memory!.memory;
    return { reply, transfer: p?.transfer ?? [] };
  }
  // The bytes are moved, not copied, when they own (nearly) all of their memory; small or pooled
  // buffers are copied (a pooled one cannot be moved).
  let buffer = bytes.buffer as ArrayBuffer;
  let offset = bytes.byteOffset;
  if (bytes.length < 65536 || buffer.byteLength - bytes.length > 1 << 20) {
    buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    offset = 0;
  }
  times.copy += performance.now() - t;
  return {
    reply: { seq: job.seq, kind: "moved", buffer, offset, length: bytes.length, rawLength, prepared: p?.result, times },
    transfer: [buffer, ...(p?.transfer ?? [])],
  };
}

// One file at a time, in the order asked.
let chain: Promise<void> = ready.catch((e: unknown) => {
  // The preparation could not load: every file goes back to the main thread.
  prepare = undefined;
  port.postMessage({ loadError: String((e as Error)?.message ?? e) });
});
port.on("message", (job: ReadJob) => {
  chain = chain.then(async () => {
    let out: { reply: ReadReply; transfer: ArrayBuffer[] };
    try {
      out = await read(job);
    } catch {
      out = { reply: { seq: job.seq, kind: "main", times }, transfer: [] };
    }
    port.postMessage(out.reply, out.transfer);
  });
});
