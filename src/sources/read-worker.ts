/**
 * A file scan's read worker (see read-pool.ts): opens a listed file, reads it whole, gunzips it
 * and runs the sink's off-thread preparation on the bytes (the byte walk), then hands the bytes
 * and the outcome back to the main thread. Anything out of the ordinary (not a regular file,
 * large, unreadable, corrupt or oversized gzip, an error) is answered `main`: the main thread
 * then reads that file itself, the one-thread way, so every message and count stays what the
 * one-thread scan gives. One file at a time, in the order asked.
 *
 * The bytes and the preparation's index go through a ring of memory shared with the main thread
 * (a SharedArrayBuffer made once and filled again and again), not through a new buffer per file:
 * a new buffer per file moved to the main thread is memory outside its heap that it accounts for,
 * and that made its garbage collector mark the whole heap about every 50 files (22 full
 * collections in a 1M-event scan instead of 4, some 3 CPU-seconds). Each file takes what it needs
 * of the ring, after the file before it; the main thread releases the files in the order it got
 * them (RingControl), and the worker waits for room when the ring is full. A ring holds as many
 * files as fit in its bytes (about 38 of the realistic bench's, RING_BYTES): before it, each file had
 * a slot of its own, every slot grown to the largest file it had held, and five slots took that
 * memory. Files that inflate to more than SLOT_MAX bytes, or that the native gunzip cannot
 * inflate in one piece, get a buffer of their own, moved (transferred) to the main thread.
 */
import { closeSync, constants as fsc, fstatSync, openSync, readSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { gunzipSync } from "node:zlib";
import { adoptSharedAsnTables, type SharedAsnTables } from "../geo/shared-tables.js";
import { fault } from "../util/faults.js";
import { nativeWalk } from "../util/native-addon.js";
import { gunzipChunkSize } from "./gunzip-size.js";
import { CLOSING, RELEASED } from "./ring-control.js";

/** What the pool asks: read `path`. */
export interface ReadJob {
  seq: number;
  path: string;
}

/**
 * What the worker answers. `shared`: the bytes are [at, at + length) of the ring and the
 * preparation's shared ints (see Prepare) `ints` ints from byte `intsAt` of the ring, or of
 * `intsMemory` when given (they did not fit); `ring` is the ring when this is the first file in
 * it (the worker's first, or the first after the ring grew). `file` numbers the files put in the
 * ring (0, 1, ...): the main thread releases them by it, in order (RingControl). `moved`: the
 * bytes are [offset, offset + length) of `buffer`, transferred.
 */
export type ReadReply = (
  | { seq: number; kind: "main" }
  | {
      seq: number;
      kind: "shared";
      file: number;
      ring?: SharedArrayBuffer;
      at: number;
      length: number;
      intsAt: number;
      ints: number;
      intsMemory?: SharedArrayBuffer;
      rawLength: number;
      prepared: unknown;
    }
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
  /** Waiting for room in the ring (the main thread had not yet taken the files in it). */
  full: number;
}

export interface ReadWorkerData {
  maxBytes: number;
  /** The ring's size in bytes (it grows when files are large: see Ring). */
  ring: number;
  /** Shared with the pool: an Int32Array indexed by RELEASED and CLOSING (ring-control.ts). */
  control: SharedArrayBuffer;
  /** Files larger than this (on disk) are left to the main thread (it streams or heads them). */
  big: number;
  /** The sink's module for work on the bytes (BytesReader.offThread), if any. */
  prepare?: string;
  /** What that module's `setupOffThread`, if it has one, is given once, before any file (BytesReader.offThreadData). */
  prepareData?: unknown;
  /** The ASN tables' memory shared with the main thread (src/geo/shared-tables.ts). */
  asnTables?: SharedAsnTables;
}

/**
 * The sink's preparation (BytesReader.offThread): `shared(n)`, when given, is an Int32Array of `n`
 * ints in memory shared with the main thread (the ring), which the preparation may fill instead of transferring an
 * array of its own; on the main thread that array is the result's `meta`.
 */
export type Prepare = (bytes: Uint8Array, shared?: (n: number) => Int32Array) => { result: unknown; transfer: ArrayBuffer[] };

/** Files inflating to more than this are not put in the ring (a long scan keeps no huge ring). */
export const SLOT_MAX = 64 << 20;
/** A file larger than this part of the ring makes it grow: the ring holds a few files whatever their size. */
const RING_FILES = 4;

const init = workerData as ReadWorkerData;
adoptSharedAsnTables(init.asnTables);
const port = parentPort!;
let prepare: Prepare | undefined;
const ready: Promise<void> = init.prepare
  ? import(init.prepare).then(async (m: { prepareOffThread: Prepare; setupOffThread?: (data: unknown) => Promise<void> | void }) => {
      await m.setupOffThread?.(init.prepareData);
      prepare = m.prepareOffThread;
    })
  : Promise.resolve();

const times: WorkerTimes = { read: 0, gunzip: 0, prepare: 0, copy: 0, full: 0 };
const control = new Int32Array(init.control);
/** The compressed bytes, read into one buffer reused from file to file. */
let rawBuf = Buffer.allocUnsafeSlow(1 << 20);

/**
 * The memory shared with the main thread: files take it in turn, each after the one before (with
 * a gap at the end when the next does not fit before it), and the main thread releases them in
 * the same order. Offsets count from the ring's start without wrapping (`head`, `ends`): the
 * position in the ring is the offset modulo its size.
 */
class Ring {
  readonly memory: SharedArrayBuffer;
  /** Where the next allocation starts. */
  head = 0;
  /** The end of each file put in this ring, from file number `first` on (and where those before end: `base`). */
  private ends: number[] = [];
  private first: number;
  private base = 0;
  /** Sent with the next reply (the main thread does not have it yet). */
  fresh = true;

  constructor(
    readonly size: number,
    /** The number (see ReadReply `file`) of the first file put in this ring. */
    first: number,
  ) {
    this.memory = new SharedArrayBuffer(size);
    this.first = first;
  }

  /** Where the released files end (the start of what is held). */
  private tail(released: number): number {
    const n = Math.min(released - this.first, this.ends.length);
    return n <= 0 ? this.base : this.ends[n - 1]!;
  }

  /**
   * `n` bytes (8-aligned) after what the file in hand holds already: their position, once the
   * main thread has released enough; undefined when they can never fit (no other file is held).
   */
  take(n: number): number | undefined {
    n = (n + 7) & ~7;
    if (n > this.size) return undefined;
    const pos = this.head % this.size;
    const start = pos + n > this.size ? this.head + this.size - pos : this.head;
    for (;;) {
      const released = Atomics.load(control, RELEASED);
      if (start + n - this.tail(released) <= this.size) break;
      // Nothing held but the file in hand: waiting would not make room.
      if (released >= nextFile || Atomics.load(control, CLOSING) === 1) return undefined;
      const t = performance.now();
      Atomics.wait(control, RELEASED, released, 200);
      times.full += performance.now() - t;
    }
    this.head = start + n;
    return start % this.size;
  }

  /** The file in hand ends at `head`: its number. */
  put(): number {
    this.ends.push(this.head);
    // The released files' ends are not looked at again.
    const gone = Atomics.load(control, RELEASED) - this.first - 1;
    if (gone > 1024) {
      this.base = this.ends[gone - 1]!;
      this.ends = this.ends.slice(gone);
      this.first += gone;
    }
    return nextFile++;
  }
}

let ring: Ring | undefined;
/** The number the next file put in a ring gets. */
let nextFile = 0;

/**
 * The ring for a file of `bytes` bytes: grown (a new ring, the files of the old one released as
 * they are taken) when the file is large for it.
 */
function ringFor(bytes: number): Ring {
  const want = Math.max(init.ring, RING_FILES * (bytes + (bytes >> 2)));
  if (ring === undefined || ring.size < want) {
    const size = ring === undefined ? want : Math.max(want, 2 * ring.size);
    ring = new Ring(Math.ceil(size / 4096) * 4096, nextFile);
  }
  return ring;
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
  // The ring and where this file starts in it (the file takes from there on, or nothing).
  let inRing: { ring: Ring; head: number; at: number } | undefined;
  const gz = whole.length >= 2 && whole[0] === 0x1f && whole[1] === 0x8b;
  if (gz) {
    const isize = whole.length >= 18 ? whole.readUInt32LE(whole.length - 4) : 0;
    // Its trailer says it inflates to more than the limit (ISIZE is the size modulo 2^32: never
    // more than the true size): a bomb, or a bogus trailer. The main thread reads it and says
    // which; inflating it here first only doubled the memory and time it costs.
    if (isize > init.maxBytes) return main;
    if (nativeWalk?.gunzip && isize > 0 && isize <= init.maxBytes && isize <= SLOT_MAX) {
      const r = ringFor(isize);
      const head = r.head;
      const at = r.take(isize);
      if (at !== undefined) {
        const out = new Uint8Array(r.memory, at, isize);
        if (nativeWalk.gunzip(whole, out) === isize) {
          bytes = out;
          inRing = { ring: r, head, at };
        } else r.head = head; // given back: zlib inflates it below
      }
    }
    if (bytes === undefined) {
      try {
        bytes = gunzipSync(whole, { chunkSize: gunzipChunkSize(whole, init.maxBytes), maxOutputLength: init.maxBytes });
      } catch {
        return main; // corrupt, cut or oversized: the main thread says which
      }
    }
  } else {
    const r = whole.length <= SLOT_MAX ? ringFor(whole.length) : undefined;
    const head = r?.head ?? 0;
    const at = r?.take(whole.length);
    if (r !== undefined && at !== undefined) {
      bytes = new Uint8Array(r.memory, at, whole.length);
      bytes.set(whole);
      inRing = { ring: r, head, at };
    } else bytes = Buffer.from(whole); // a copy: `whole` is the reused read buffer
  }
  if (bytes.length > init.maxBytes) {
    if (inRing) inRing.ring.head = inRing.head; // given back
    return main;
  }
  const rawLength = whole.length;
  t2 = performance.now();
  times.gunzip += t2 - t;
  t = t2;
  let ints = 0;
  let intsAt = 0;
  let intsMemory: SharedArrayBuffer | undefined;
  const shared = inRing
    ? (n: number): Int32Array => {
        ints = n;
        const at = inRing!.ring.take(n * 4);
        if (at !== undefined) {
          intsAt = at;
          return new Int32Array(inRing!.ring.memory, at, n);
        }
        // The ring holds nothing else and these do not fit after the bytes: memory of their own.
        intsMemory = new SharedArrayBuffer(n * 4);
        return new Int32Array(intsMemory, 0, n);
      }
    : undefined;
  let p: ReturnType<Prepare> | undefined;
  try {
    p = prepare?.(bytes, shared);
  } catch (e) {
    if (inRing) inRing.ring.head = inRing.head; // given back
    throw e;
  }
  t2 = performance.now();
  times.prepare += t2 - t;
  t = t2;
  if (inRing) {
    const r = inRing.ring;
    const reply: ReadReply = { seq: job.seq, kind: "shared", file: r.put(), at: inRing.at, length: bytes.length, intsAt, ints, rawLength, prepared: p?.result, times };
    if (intsMemory) reply.intsMemory = intsMemory;
    if (r.fresh) {
      reply.ring = r.memory;
      r.fresh = false;
    }
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
