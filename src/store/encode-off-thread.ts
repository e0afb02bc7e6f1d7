/**
 * Encoding a scan's baselines with the deflating shared between the main thread and one worker
 * thread (issue 17, the warm path). A day's scan against a stored baseline re-encodes every
 * profile it touched (their decayed counts change), and deflating their packed parts is most of
 * that: about 0.25 CPU-s for 3,000 small profiles, 0.5 for 4,400 large ones.
 *
 * The main thread validates and packs every profile (checkProfile, packProfile: the profiles stay
 * on the main thread) in batches, writing each batch's packed JSON, as UTF-8, into one
 * SharedArrayBuffer that it posts to the worker (shared, not copied: posting the JSON as strings
 * copied 18 MB for a realistic day and left the copies to the worker's garbage collector); the
 * worker deflates, base64-encodes and hashes each batch into the entries' bytes. Each batch is
 * claimed once, by whoever gets to it first (a shared Int32Array, Atomics.compareExchange): once
 * the main thread has packed everything, it deflates the batches the worker has not started, from
 * the last one back, reading the same shared bytes. A worker that is slow to start, fails or exits
 * leaves its batches to the main thread. The bytes are those of encodeBaseline whoever made them
 * (test/store/encode-off-thread.test.ts).
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { type HalfEncoded, type StoredBaseline, entryFromBytes, finishEntry, halfEncodeBaseline } from "./baselines.js";
import type { Profile } from "../baseline/profile.js";
import { deflateBytes, deflatePart } from "./pack.js";

/** Fewer profiles than this are encoded on the main thread alone (a worker costs ~20-40 ms to start). */
export const OFF_THREAD_MIN = 256;
/** Profiles per batch. */
const BATCH = 64;

/**
 * The worker: deflatePart (pack.ts) and finishEntry (baselines.ts) over a batch, written into one
 * transferred buffer. Plain JavaScript, evaluated as is (no module to resolve from dist/ or src/);
 * its output is compared with encodeBaseline's by the tests.
 */
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { deflateRawSync } = require("node:zlib");
const { hash } = require("node:crypto");
const claims = workerData.claims;
const MIN_LOOKAHEAD = 262;
function deflatePart(input) {
  let windowBits = 9;
  while (windowBits < 15 && 1 << windowBits < input.length + MIN_LOOKAHEAD) windowBits++;
  return deflateRawSync(input, { level: 3, windowBits, chunkSize: Math.min(16 * 1024, Math.max(1024, input.length)) });
}
parentPort.on("message", (m) => {
  if (Atomics.compareExchange(claims, m.batch, 0, 1) !== 0) {
    parentPort.postMessage({ batch: m.batch, skipped: true });
    return;
  }
  const json = Buffer.from(m.json);
  const b64 = [];
  let from = 0;
  for (const to of m.jsonEnds) {
    b64.push(deflatePart(json.subarray(from, to)).toString("base64"));
    from = to;
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

/**
 * Validate and encode profiles (keyed by their key, in order). An invalid profile throws StoreError
 * "invalid" synchronously (validated as they are packed: nothing is kept); the returned promise
 * does not reject (a worker's failure leaves its batches to the main thread).
 */
export interface EncodeOptions {
  /** Threads to use, this one included (default: the machine's cores); 1: no worker. */
  threads?: number;
  /** Tests: the main thread leaves every batch to the worker (it still does them if the worker fails). */
  workerOnly?: boolean;
  /** Filled in when the promise resolves: profiles deflated by the worker. */
  stats?: { byWorker: number };
}

export function encodeBaselines(profiles: readonly Profile[], opts: EncodeOptions = {}): Promise<Array<[string, StoredBaseline]>> {
  const threads = opts.threads ?? availableParallelism();
  if (profiles.length < OFF_THREAD_MIN || threads < 2) {
    if (opts.stats) opts.stats.byWorker = 0;
    return Promise.resolve(profiles.map((p): [string, StoredBaseline] => [p.key, finish(halfEncodeBaseline(p.key, p))]));
  }
  const batches = Math.ceil(profiles.length / BATCH);
  const claims = new Int32Array(new SharedArrayBuffer(4 * batches));
  const out: Array<[string, StoredBaseline] | undefined> = new Array(profiles.length);
  const half: HalfEncoded[][] = [];
  const slots: number[][] = [];
  let worker: Worker | undefined;
  const replies = new Map<number, (r: Reply | undefined) => void>();
  try {
    worker = new Worker(WORKER, { eval: true, workerData: { claims } });
    worker.unref();
    const lost = () => {
      // Whatever the worker owes is done on the main thread.
      for (const r of replies.values()) r(undefined);
      replies.clear();
    };
    worker.on("message", (m: Reply) => {
      const r = replies.get(m.batch);
      replies.delete(m.batch);
      r?.(m);
    });
    worker.on("error", lost);
    worker.on("exit", lost);
  } catch {
    worker = undefined;
  }
  const waits: Array<Promise<void>> = [];
  /** Each batch's packed JSON as UTF-8 (shared with the worker), and where each profile's ends. */
  const bytes: Buffer[] = [];
  const jsonEnds: number[][] = [];
  let byWorker = 0;
  try {
    packAll();
  } catch (e) {
    // An invalid profile: nothing is kept, the worker goes.
    void worker?.terminate();
    throw e;
  }
  function packAll(): void {
    for (let b = 0; b < batches; b++) {
      const hs: HalfEncoded[] = [];
      const at: number[] = [];
      let total = 0;
      for (let i = b * BATCH; i < Math.min(profiles.length, (b + 1) * BATCH); i++) {
        const p = profiles[i]!;
        const h = halfEncodeBaseline(p.key, p);
        if ("bytes" in h) out[i] = [p.key, h];
        else {
          hs.push(h);
          at.push(i);
          total += Buffer.byteLength(h.json);
        }
      }
      half.push(hs);
      slots.push(at);
      const shared = new SharedArrayBuffer(total);
      const buf = Buffer.from(shared);
      const ends: number[] = [];
      let end = 0;
      for (const h of hs) {
        end += buf.write(h.json, end, "utf8");
        ends.push(end);
        // The bytes are what is deflated now: the string can go.
        h.json = "";
      }
      bytes.push(buf);
      jsonEnds.push(ends);
      if (worker && hs.length > 0) {
        waits.push(
          new Promise<Reply | undefined>((resolve) => replies.set(b, resolve)).then((r) => {
            if (!r || r.skipped || !r.buffer) return;
            const buf = Buffer.from(r.buffer);
            byWorker += hs.length;
            let start = 0;
            hs.forEach((h, k) => {
              const end = r.ends![k]!;
              out[at[k]!] = [h.key, entryFromBytes(h, buf.subarray(start, end), r.digests![k]!)];
              start = end;
            });
          }),
        );
        worker.postMessage({ batch: b, heads: hs.map((h) => h.head), json: shared, jsonEnds: ends });
      }
    }
  }
  /** Profile `k` of batch `b` finished on this thread, from the batch's bytes. */
  const finishHere = (b: number, k: number): [string, StoredBaseline] => {
    const h = half[b]![k]!;
    const ends = jsonEnds[b]!;
    return [h.key, finishEntry(h, deflateBytes(bytes[b]!.subarray(k === 0 ? 0 : ends[k - 1]!, ends[k]!)))];
  };
  // The batches the worker has not started, from the last one back, on this thread.
  for (let b = batches - 1; b >= 0 && !(opts.workerOnly && worker); b--) {
    if (Atomics.compareExchange(claims, b, 0, 2) !== 0) continue;
    for (let k = 0; k < half[b]!.length; k++) out[slots[b]![k]!] = finishHere(b, k);
  }
  return Promise.all(waits).then(() => {
    void worker?.terminate();
    // Batches a failed worker had claimed but not returned.
    for (let b = 0; b < batches; b++) {
      for (let k = 0; k < half[b]!.length; k++) {
        const i = slots[b]![k]!;
        if (out[i] === undefined) out[i] = finishHere(b, k);
      }
    }
    if (opts.stats) opts.stats.byWorker = byWorker;
    return out as Array<[string, StoredBaseline]>;
  });
}

function finish(h: HalfEncoded | StoredBaseline): StoredBaseline {
  return "bytes" in h ? h : finishEntry(h, deflatePart(h.json));
}
