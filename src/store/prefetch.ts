/**
 * Inflating stored baselines ahead of their decoding, on a worker thread (issue 17, the warm path).
 * A scan first asks for an identity's `trainedUntil` (a fact, no decoding) when the identity
 * first appears, and decodes its stored profile only at the end, to merge it. Inflating a packed
 * part is about a third of decoding it; the scan store hands each key to `prefetch` at that first
 * look, and a worker thread inflates the packed parts, in batches, while the main thread reads
 * on. The inflated JSON comes back in transferred buffers (off the JavaScript heap), keyed by the
 * stored entry itself: an entry replaced since is simply decoded as before. Whatever is not back
 * when it is decoded (or if the worker fails) is inflated on the main thread, as without this.
 */
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from "node:worker_threads";

/** A stored entry as far as inflating it goes (baselines.ts: StoredBaseline; not imported, which would make a cycle). */
export interface PackedEntry {
  readonly bytes: Buffer;
  readonly valueAt: number;
  /** Where `,"packed":"` starts, when known (StoredBaseline.packedAt). */
  readonly packedAt?: number | undefined;
}

/** Packed parts per message to the worker. */
const BATCH = 256;

/** What opens a stored entry's packed part. */
export const PACKED_FIELD = Buffer.from(',"packed":"');
const PACKED = PACKED_FIELD;

const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const zlib = require("node:zlib");
const replies = workerData.replies;
// One inflate engine for every part, reset before each: inflateRawSync makes a zlib stream (a
// Transform, its handle and state) per call, which cost as much as the inflating (4,390 parts of
// the realistic warm day: ~110 ms, ~60 ms with one engine). The engine's handle is written to as
// inflateRawSync does (processChunkSync); anything unusual (an error, which closes the engine,
// input left over) returns null, and the part is inflated by inflateRawSync, as before.
let engine = null;
let scratch = Buffer.allocUnsafeSlow(64 * 1024);
function inflateOne(z) {
  try {
    if (engine === null) {
      engine = zlib.createInflateRaw();
      engine.on("error", () => {});
    }
    const h = engine._handle;
    const state = engine._writeState;
    if (!h || typeof h.writeSync !== "function" || typeof h.reset !== "function" || !state) return null;
    for (;;) {
      h.reset();
      h.writeSync(zlib.constants.Z_FINISH, z, 0, z.length, scratch, 0, scratch.length);
      if (!engine._handle) {
        engine = null;
        return null;
      }
      // Output left no room: maybe not all of it; again with more room.
      if (state[0] === 0) {
        scratch = Buffer.allocUnsafeSlow(scratch.length * 2);
        continue;
      }
      return state[1] === 0 ? Buffer.from(scratch.subarray(0, scratch.length - state[0])) : null;
    }
  } catch {
    engine = null;
    return null;
  }
}
parentPort.on("message", (m) => {
  const src = Buffer.from(m.buffer);
  const out = [];
  let total = 0;
  let from = 0;
  for (const to of m.ends) {
    let bytes;
    try {
      const z = Buffer.from(src.toString("latin1", from, to), "base64");
      bytes = inflateOne(z) ?? zlib.inflateRawSync(z, { chunkSize: Math.min(64 * 1024, Math.max(1024, z.length * 4)) });
    } catch {
      bytes = null; // decoded (and its damage reported) on the main thread
    }
    from = to;
    out.push(bytes);
    total += bytes ? bytes.length : 0;
  }
  const buf = Buffer.allocUnsafeSlow(total);
  const ends = [];
  let at = 0;
  for (const b of out) {
    if (b) at += b.copy(buf, at);
    ends.push(b ? at : -1);
  }
  replies.postMessage({ batch: m.batch, buffer: buf.buffer, ends }, [buf.buffer]);
});
`;

/** Where a stored entry's packed part lies in its bytes: between `"packed":"` and the closing `"}`. */
export function packedSpan(e: PackedEntry): [number, number] | undefined {
  const b = e.bytes;
  const n = b.length;
  if (n < 2 || b[n - 2] !== 0x22 || b[n - 1] !== 0x7d) return undefined;
  const p = e.packedAt ?? b.lastIndexOf(PACKED);
  return p > e.valueAt ? [p, n - 2] : undefined;
}

/** An entry's packed part, inflated: its fields' bytes end at `fieldsEnd` (before `,"packed":"`). */
export interface Inflated {
  fieldsEnd: number;
  json: string;
}

export class Prefetcher {
  readonly #worker: Worker | undefined;
  /**
   * The worker's replies, read synchronously (receiveMessageOnPort) when a part is asked for: a
   * scan may not return to the event loop from its first record to its end (the realistic warm
   * scan did not, and took none of the 4,359 parts the worker had inflated).
   */
  readonly #replies: MessagePort | undefined;
  readonly #done = new WeakMap<PackedEntry, { buf: Buffer; start: number; end: number; fieldsEnd: number }>();
  /** Entries to post, with where their packed part lies in their bytes. */
  #queued: Array<{ entry: PackedEntry; fieldsEnd: number; partEnd: number }> = [];
  #queuedBytes = 0;
  readonly #inFlight = new Map<number, Array<{ entry: PackedEntry; fieldsEnd: number }>>();
  #batches = 0;
  #flushScheduled = false;
  #dead = false;
  /** Packed parts inflated by the worker, taken (for tests and benches). */
  taken = 0;

  constructor() {
    try {
      const { port1, port2 } = new MessageChannel();
      const w = new Worker(WORKER, { eval: true, workerData: { replies: port2 }, transferList: [port2] });
      w.unref();
      this.#replies = port1;
      const lost = () => {
        this.#dead = true;
        this.#inFlight.clear();
        this.#queued = [];
        this.#queuedBytes = 0;
      };
      w.on("error", lost);
      w.on("exit", lost);
      this.#worker = w;
    } catch {
      this.#dead = true;
    }
  }

  /** Inflate this entry's packed part ahead (a no-op for an entry stored unpacked). */
  add(entry: PackedEntry): void {
    if (this.#dead || this.#done.has(entry)) return;
    const span = packedSpan(entry);
    if (!span) return;
    this.#queued.push({ entry, fieldsEnd: span[0], partEnd: span[1] });
    this.#queuedBytes += span[1] - span[0] - PACKED.length;
    if (this.#queued.length >= BATCH) this.#post();
    else if (!this.#flushScheduled) {
      // A partial batch goes at the next turn of the event loop (the scan reads on meanwhile).
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        this.#post();
      }).unref();
    }
  }

  /**
   * The inflated packed part of this entry, if the worker has returned it. Kept until close(), off
   * the JavaScript heap: a scan may decode a profile twice (Scanner.finish: the regions an account
   * used, before that identity is settled).
   */
  take(entry: PackedEntry): Inflated | undefined {
    const d = this.#ready(entry);
    if (!d) return undefined;
    this.taken++;
    return { fieldsEnd: d.fieldsEnd, json: d.buf.toString("utf8", d.start, d.end) };
  }

  /** The inflated packed part of this entry, if the worker has returned it, as bytes (not counted in `taken`). */
  peek(entry: PackedEntry): { buf: Buffer; start: number; end: number } | undefined {
    return this.#ready(entry);
  }

  /** The entry's inflated part if back (replies read now); on a miss, the parts still queued are posted. */
  #ready(entry: PackedEntry): { buf: Buffer; start: number; end: number; fieldsEnd: number } | undefined {
    let d = this.#done.get(entry);
    if (d) return d;
    this.#drain();
    d = this.#done.get(entry);
    if (!d && this.#queued.length > 0) this.#post();
    return d;
  }

  /** Read the replies that have arrived. */
  #drain(): void {
    if (!this.#replies || this.#inFlight.size === 0) return;
    for (let r = receiveMessageOnPort(this.#replies); r !== undefined; r = receiveMessageOnPort(this.#replies)) {
      this.#receive(r.message as { batch: number; buffer: ArrayBuffer; ends: number[] });
    }
  }

  /** Packed parts sent or queued and not back yet. */
  get pending(): number {
    this.#drain();
    let n = this.#queued.length;
    for (const l of this.#inFlight.values()) n += l.length;
    return n;
  }

  /** Stop the worker; what it has returned is dropped with this object. */
  close(): void {
    this.#dead = true;
    this.#queued = [];
    this.#queuedBytes = 0;
    this.#replies?.close();
    void this.#worker?.terminate();
  }

  #post(): void {
    if (this.#queued.length === 0 || this.#dead || !this.#worker) return;
    const batch = this.#batches++;
    const q = this.#queued;
    this.#queued = [];
    // The batch's packed parts (base64) copied into one buffer that is transferred, not cloned:
    // posting them as strings cost ~1.5 ms of the main thread's CPU per batch in a scan
    // (measured, 65 batches of a lean warm scan), far more than this copy.
    const buf = Buffer.allocUnsafeSlow(this.#queuedBytes);
    this.#queuedBytes = 0;
    const ends: number[] = [];
    let at = 0;
    for (const { entry, fieldsEnd, partEnd } of q) {
      at += entry.bytes.copy(buf, at, fieldsEnd + PACKED.length, partEnd);
      ends.push(at);
    }
    this.#inFlight.set(
      batch,
      q.map(({ entry, fieldsEnd }) => ({ entry, fieldsEnd })),
    );
    this.#worker.postMessage({ batch, buffer: buf.buffer, ends }, [buf.buffer]);
  }

  #receive(m: { batch: number; buffer: ArrayBuffer; ends: number[] }): void {
    const list = this.#inFlight.get(m.batch);
    if (!list) return;
    this.#inFlight.delete(m.batch);
    const buf = Buffer.from(m.buffer);
    let start = 0;
    list.forEach(({ entry, fieldsEnd }, i) => {
      const end = m.ends[i]!;
      if (end < 0) return;
      this.#done.set(entry, { buf, start, end, fieldsEnd });
      start = end;
    });
  }
}
