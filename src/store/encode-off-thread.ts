/**
 * Encoding a scan's baselines with the deflating shared between the main thread and one worker
 * thread (issue 17, the warm path). A day's scan against a stored baseline re-encodes every
 * profile it touched (their decayed counts change), and deflating their packed parts is most of
 * that: about 0.25 CPU-s for 3,000 small profiles, 0.5 for 4,400 large ones.
 *
 * A scan hands each profile over as soon as it has settled the identity (ScanOptions.onProfile,
 * BaselineEncoder.add), so that the worker deflates while the scan settles the others, and its
 * save finds the work done: on the lean warm day the save went from ~375 ms to ~60 ms of wall.
 *
 * The main thread validates every profile and takes its packed part apart (pack.ts takePart: its
 * numbers into one array, its strings end to end into one buffer; the profiles stay on the main
 * thread), BATCH profiles to a batch, whose numbers and strings it
 * copies into SharedArrayBuffers and posts to the worker; the worker writes each part's JSON (pack.ts partJson: the JSON
 * packProfile's parts give), deflates, base64-encodes and hashes it into the entries' bytes. Each
 * batch is claimed once, by whoever gets to it first (a shared Int32Array per batch,
 * Atomics.compareExchange): once the scan is over, the main thread does the batches the worker
 * has not started, from the last one back. A worker that is slow to start, fails or exits leaves
 * its batches to the main thread. The bytes are those of encodeBaseline whoever made them
 * (test/store/encode-off-thread.test.ts).
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { type HalfEncoded, type StoredBaseline, decodeBaseline, entryFromBytes, finishEntry, halfEncodeBaseline } from "./baselines.js";
import type { Profile } from "../baseline/profile.js";
import { type History, releaseHistory } from "../baseline/released.js";
import { PartData, deflatePart, partJson, textOf, unpackFields } from "./pack.js";

/** Fewer profiles than this are encoded on the main thread alone (a worker costs ~20-40 ms to start). */
export const OFF_THREAD_MIN = 256;
/**
 * Profiles per batch. Each post to the worker cost ~1 ms of the main thread's wall clock in a
 * scan, whatever its size (lean warm day: 50 batches of 64, 38-137 ms in postMessage; 13 of 256,
 * 24-70 ms).
 */
const BATCH = 256;

/**
 * The worker: partJson and deflatePart (pack.ts), and finishEntry (baselines.ts) over a batch,
 * written into one transferred buffer. Plain JavaScript, evaluated as is (no module to resolve
 * from dist/ or src/; partJson is its compiled source); its output is compared with
 * encodeBaseline's by the tests.
 */
const WORKER = `
const { parentPort } = require("node:worker_threads");
const partJson = ${partJson.toString()};
const { deflateRawSync } = require("node:zlib");
const { hash } = require("node:crypto");
const MIN_LOOKAHEAD = 262;
function deflatePart(input) {
  let windowBits = 9;
  while (windowBits < 15 && 1 << windowBits < input.length + MIN_LOOKAHEAD) windowBits++;
  return deflateRawSync(input, { level: 3, windowBits, chunkSize: Math.min(16 * 1024, Math.max(1024, input.length)) });
}
parentPort.on("message", (m) => {
  if (Atomics.compareExchange(m.claim, 0, 0, 1) !== 0) {
    parentPort.postMessage({ batch: m.batch, skipped: true });
    return;
  }
  const b64 = [];
  const chars = Buffer.from(m.chars.buffer, m.chars.byteOffset, m.chars.byteLength);
  let ni = 0;
  for (let k = 0; k < m.heads.length; k++) {
    // Each profile's strings, one segment (pack.ts PartData: a header, then UTF-8 or UTF-16).
    const h = chars.readUInt32LE(m.strAt[k]);
    const at = m.strAt[k] + 4;
    const text = chars.toString(h & 0x80000000 ? "utf16le" : "utf8", at, at + (h & 0x7fffffff));
    const part = partJson(m.nums, ni, text, 0);
    ni = part.i;
    b64.push(deflatePart(Buffer.from(part.json)).toString("base64"));
  }
  let total = 0;
  for (let i = 0; i < b64.length; i++) total += Buffer.byteLength(m.heads[i]) + b64[i].length + 2;
  const buf = Buffer.allocUnsafeSlow(total);
  const ends = [];
  const digests = [];
  let at = 0;
  for (let i = 0; i < b64.length; i++) {
    const start = at;
    at += buf.write(m.heads[i], at, "utf8");
    at += buf.write(b64[i], at, "latin1");
    at += buf.write('"}', at, "latin1");
    ends.push(at);
    digests.push(hash("sha256", buf.subarray(start, at), "base64"));
  }
  parentPort.postMessage({ batch: m.batch, buffer: buf.buffer, ends, digests }, [buf.buffer]);
});
`;

interface Reply {
  batch: number;
  skipped?: boolean;
  buffer?: ArrayBuffer;
  ends?: number[];
  digests?: string[];
}

export interface EncodeOptions {
  /** Threads to use, this one included (default: the machine's cores); 1: no worker. */
  threads?: number;
  /** Tests: the main thread leaves every batch to the worker (it still does them if the worker fails). */
  workerOnly?: boolean;
  /** Filled in when the promise resolves: profiles deflated by the worker. */
  stats?: { byWorker: number };
  /** Tests: told of the worker once it is started (to make it fail). */
  onWorker?: (w: Worker) => void;
}

/**
 * Validate and encode profiles (keyed by their key, in order). An invalid profile throws StoreError
 * "invalid" synchronously (validated as they are packed: nothing is kept); the returned promise
 * does not reject (a worker's failure leaves its batches to the main thread).
 */
export function encodeBaselines(profiles: readonly Profile[], opts: EncodeOptions = {}): Promise<Array<[string, StoredBaseline]>> {
  return new BaselineEncoder(opts).finish(profiles);
}

/**
 * A batch of half-encoded profiles, their packed parts taken apart (pack.ts PartData: the numbers
 * and the strings in shared buffers), written as JSON and deflated by whoever claims it first.
 */
interface Batch {
  /** Each profile's slot (BaselineEncoder: its place among the profiles added). */
  slots: number[];
  half: HalfEncoded[];
  nums: Float64Array;
  /** The strings (PartData.chars: a segment per profile). */
  chars: Uint8Array;
  /** Where each profile's part starts in `nums` and `chars` (bytes). */
  numAt: number[];
  strAt: number[];
  /** 0: not started; 1: claimed by the worker; 2: by this thread (shared with the worker). */
  claim: Int32Array;
  posted: boolean;
}

/**
 * Encodes profiles as they are given (`add`), with the deflating shared with a worker thread (see
 * the file comment): a scan hands each identity's profile over as soon as it is settled
 * (ScanOptions.onProfile), so that the worker deflates while the scan goes on, and its save finds
 * most of the work done (`finish`). A profile added again (changed since: the scan holds values
 * back for its findings) is encoded again; `finish` takes each profile's latest encoding, and
 * encodes those never added.
 */
export class BaselineEncoder {
  readonly #threads: number;
  readonly #opts: EncodeOptions;
  /** Each profile's latest slot. */
  readonly #slotOf = new Map<Profile, number>();
  /** By slot: the encoded entry, once made. */
  readonly #out: Array<StoredBaseline | undefined> = [];
  /** Slots half-encoded and not yet in a batch, and their packed parts. */
  #pending: HalfEncoded[] = [];
  #pendingSlots: number[] = [];
  #numAt: number[] = [];
  #strAt: number[] = [];
  #part = new PartData();
  readonly #batches: Batch[] = [];
  /**
   * Shared buffers of batches done with (every entry made, `#done`), used again for the next
   * batches: a day's scan holds a few batches' worth, not all of them until the process lets go.
   */
  readonly #spare: SharedArrayBuffer[] = [];
  /** By slot: the batch holding its packed part, once sealed (before: the pending part). */
  readonly #batchOf: Array<Batch | undefined> = [];
  #worker: Worker | undefined;
  /** The worker could not be started, or has gone: this thread does everything. */
  #noWorker = false;
  readonly #replies = new Map<number, (r: Reply | undefined) => void>();
  readonly #waits: Array<Promise<void>> = [];
  #byWorker = 0;
  #finished = false;

  constructor(opts: EncodeOptions = {}) {
    this.#opts = opts;
    this.#threads = opts.threads ?? availableParallelism();
  }

  /**
   * Encode this profile ahead of `finish` (the caller changes it no more, or adds it again once
   * changed). One that does not validate is left for `finish`, which throws its error.
   *
   * The profile's `dims` and `hourly` are then held only in the packed form taken from it
   * (baseline/released.ts): they are restored from it, equal, when next read (a profile changed
   * after it is added is read first), so that a scan's merged history need not stay live until
   * its save.
   */
  add(p: Profile): void {
    if (this.#finished) return;
    let h: HalfEncoded | StoredBaseline;
    try {
      h = this.#half(p);
    } catch {
      this.#slotOf.delete(p);
      return;
    }
    const slot = this.#put(p, h);
    if (!("bytes" in h)) releaseHistory(p, () => this.#history(slot));
  }

  /** The dims and hourly rows of the profile at `slot` (half-encoded), from its entry once made, else from its packed part. */
  #history(slot: number): History {
    const e = this.#out[slot];
    if (e !== undefined) {
      const p = decodeBaseline(e);
      return { dims: p.dims, hourly: p.hourly };
    }
    const b = this.#batchOf[slot];
    let json: string;
    if (b !== undefined) json = batchJson(b, b.slots.indexOf(slot));
    else {
      const k = this.#pendingSlots.indexOf(slot);
      const part = this.#part;
      json = partJson(part.nums, this.#numAt[k]!, part.text(this.#strAt[k]!, this.#strAt[k + 1] ?? part.len), 0).json;
    }
    // The part's JSON as packProfile writes it, read back as a store reads a packed profile.
    return unpackFields({}, JSON.parse(json), true) as unknown as History;
  }

  /**
   * Nothing of this will be saved (the scan failed or was stopped): the worker goes now, not at
   * the process's end (a bot runs many scans), and the encoder takes no more.
   */
  abandon(): void {
    this.#finished = true;
    this.#noWorker = true;
    void this.#worker?.terminate();
    this.#worker = undefined;
  }

  /** halfEncodeBaseline into the pending part, noting where its part starts. */
  #half(p: Profile): HalfEncoded | StoredBaseline {
    const n = this.#part.n;
    const j = this.#part.len;
    const h = halfEncodeBaseline(p.key, p, this.#part);
    if (!("bytes" in h)) {
      this.#numAt.push(n);
      this.#strAt.push(j);
    }
    return h;
  }

  #put(p: Profile, h: HalfEncoded | StoredBaseline): number {
    const slot = this.#out.length;
    this.#slotOf.set(p, slot);
    if ("bytes" in h) {
      this.#out.push(h);
      return slot;
    }
    this.#out.push(undefined);
    this.#pending.push(h);
    this.#pendingSlots.push(slot);
    if (this.#pending.length >= BATCH) this.#seal();
    return slot;
  }

  /** The pending profiles make a batch (posted to the worker when there is one). */
  #seal(): void {
    const hs = this.#pending;
    if (hs.length === 0) return;
    const part = this.#part;
    // The numbers and strings, shared with the worker (the scratch arrays are used again for the
    // next batch), in buffers of batches done with when there are some.
    const nums = new Float64Array(this.#shared(part.n * 8), 0, part.n);
    nums.set(part.nums.subarray(0, part.n));
    const chars = new Uint8Array(this.#shared(part.len), 0, part.len);
    chars.set(part.chars.subarray(0, part.len));
    const batch: Batch = {
      slots: this.#pendingSlots,
      half: hs,
      nums,
      chars,
      numAt: this.#numAt,
      strAt: this.#strAt,
      claim: new Int32Array(new SharedArrayBuffer(4)),
      posted: false,
    };
    this.#pending = [];
    this.#pendingSlots = [];
    this.#numAt = [];
    this.#strAt = [];
    part.n = 0;
    part.len = 0;
    this.#batches.push(batch);
    for (const slot of batch.slots) this.#batchOf[slot] = batch;
    // Enough profiles for a worker to pay: it is started, and is given every batch made so far.
    if (!this.#worker && !this.#noWorker && this.#out.length >= OFF_THREAD_MIN) this.#start();
    if (this.#worker && !this.#noWorker) this.#postAll();
  }

  /** A shared buffer of at least `bytes` bytes: a spare one, or a new one with some room. */
  #shared(bytes: number): SharedArrayBuffer {
    const spare = this.#spare;
    for (let i = 0; i < spare.length; i++) {
      const b = spare[i]!;
      if (b.byteLength >= bytes) {
        spare[i] = spare[spare.length - 1]!;
        spare.pop();
        return b;
      }
    }
    return new SharedArrayBuffer(Math.ceil((bytes * 1.25) / 8) * 8);
  }

  /**
   * Every entry of the batch is made: its packed parts are let go of (a released profile is then
   * restored from its entry), their buffers kept for the next batches. Only once nothing reads
   * them: the worker has returned the batch, or never will (this thread claimed it).
   */
  #done(b: Batch): void {
    if (b.nums.buffer instanceof SharedArrayBuffer) this.#spare.push(b.nums.buffer);
    if (b.chars.buffer instanceof SharedArrayBuffer) this.#spare.push(b.chars.buffer);
    b.nums = NO_NUMS;
    b.chars = NO_CHARS;
  }

  #start(): void {
    if (this.#threads < 2) {
      this.#noWorker = true;
      return;
    }
    try {
      const worker = new Worker(WORKER, { eval: true });
      worker.unref();
      const lost = () => {
        // Whatever the worker owes is done on this thread.
        this.#noWorker = true;
        for (const r of this.#replies.values()) r(undefined);
        this.#replies.clear();
      };
      worker.on("message", (m: Reply) => {
        const r = this.#replies.get(m.batch);
        this.#replies.delete(m.batch);
        r?.(m);
      });
      worker.on("error", lost);
      worker.on("exit", lost);
      this.#worker = worker;
      this.#opts.onWorker?.(worker);
    } catch {
      this.#noWorker = true;
    }
  }

  #postAll(): void {
    const worker = this.#worker!;
    this.#batches.forEach((b, i) => {
      if (b.posted) return;
      b.posted = true;
      this.#waits.push(
        new Promise<Reply | undefined>((resolve) => this.#replies.set(i, resolve)).then((r) => {
          if (!r || r.skipped || !r.buffer) return;
          const buf = Buffer.from(r.buffer);
          this.#byWorker += b.half.length;
          let start = 0;
          b.half.forEach((h, k) => {
            const end = r.ends![k]!;
            this.#out[b.slots[k]!] = entryFromBytes(h, buf.subarray(start, end), r.digests![k]!);
            start = end;
          });
          this.#done(b);
        }),
      );
      worker.postMessage({ batch: i, claim: b.claim, heads: b.half.map((h) => h.head), nums: b.nums, chars: b.chars, strAt: b.strAt });
    });
  }

  /** Profile `k` of batch `b`, finished on this thread from the batch's bytes. */
  #finishHere(b: Batch, k: number): void {
    const json = batchJson(b, k);
    this.#out[b.slots[k]!] = finishEntry(b.half[k]!, deflatePart(json));
  }

  /**
   * The encoded profiles (keyed by their key, in order): each one's encoding made by `add`, the
   * others encoded now. An invalid profile throws StoreError "invalid" synchronously (nothing is
   * kept, the worker goes); the returned promise does not reject. The encoder takes no more.
   */
  finish(profiles: readonly Profile[]): Promise<Array<[string, StoredBaseline]>> {
    this.#finished = true;
    const slots = new Array<number>(profiles.length);
    // Fewer profiles than a worker pays for, in all: on this thread alone.
    if (!this.#worker && profiles.length < OFF_THREAD_MIN) this.#noWorker = true;
    try {
      for (let i = 0; i < profiles.length; i++) {
        const p = profiles[i]!;
        slots[i] = this.#slotOf.get(p) ?? this.#put(p, this.#half(p));
      }
    } catch (e) {
      // An invalid profile: nothing is kept, the worker goes.
      void this.#worker?.terminate();
      throw e;
    }
    this.#seal();
    if (!this.#worker && !this.#noWorker) {
      this.#start();
      if (this.#worker && !this.#noWorker) this.#postAll();
    }
    const worker = this.#worker;
    // The batches the worker has not started, from the last one back, on this thread.
    for (let i = this.#batches.length - 1; i >= 0 && !(this.#opts.workerOnly && worker); i--) {
      const b = this.#batches[i]!;
      if (Atomics.compareExchange(b.claim, 0, 0, 2) !== 0) continue;
      for (let k = 0; k < b.half.length; k++) this.#finishHere(b, k);
      this.#done(b);
    }
    return Promise.all(this.#waits).then(() => {
      void worker?.terminate();
      // Batches a failed worker had claimed but not returned.
      for (const b of this.#batches) for (let k = 0; k < b.half.length; k++) if (this.#out[b.slots[k]!] === undefined) this.#finishHere(b, k);
      if (this.#opts.stats) this.#opts.stats.byWorker = this.#byWorker;
      return profiles.map((p, i): [string, StoredBaseline] => [p.key, this.#out[slots[i]!]!]);
    });
  }
}

const NO_NUMS = new Float64Array(0);
const NO_CHARS = new Uint8Array(0);

/** The packed part's JSON of profile `k` of a batch (what the worker writes). */
function batchJson(b: Batch, k: number): string {
  return partJson(b.nums, b.numAt[k]!, textOf(b.chars, b.strAt[k]!, b.strAt[k + 1] ?? b.chars.length), 0).json;
}
