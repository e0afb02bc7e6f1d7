/**
 * Worker threads that read, gunzip and prepare (walk) a file scan's files ahead of the main
 * thread, which takes their records in the one-thread order: the report does not depend on how
 * many threads read. A worker that fails, or cannot start, hands its files back (`main`): the main
 * thread reads them itself.
 *
 * From `dist/` the worker is read-worker.js. Run from the TypeScript sources (the tests), it is
 * read-worker.ts, loaded through a small bootstrap that resolves `./x.js` imports to `./x.ts` and
 * transpiles them with Oxc (rolldown's transformSync, what vite's transformWithOxc calls: vite is a
 * development dependency), as test/helpers/transpile.ts does.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { shareAsnTables } from "../geo/offline.js";
import type { ReadJob, ReadReply, ReadWorkerData, WorkerTimes } from "./read-worker.js";
import { CLOSING, RELEASED } from "./ring-control.js";
import { LimitSettingError } from "./limits.js";

/** The most threads TRAILHOUND_SCAN_THREADS may ask for. */
export const MAX_SCAN_THREADS = 64;

/**
 * `TRAILHOUND_SCAN_THREADS`: the threads a file scan reads with, the main thread included (default:
 * the machine's cores, `availableParallelism()`; 1: no worker).
 */
export function scanThreadsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.TRAILHOUND_SCAN_THREADS;
  if (v === undefined || v.trim() === "") return Math.max(1, Math.min(MAX_SCAN_THREADS, availableParallelism()));
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_SCAN_THREADS)
    throw new LimitSettingError(
      `TRAILHOUND_SCAN_THREADS=${JSON.stringify(v)}: expected a whole number of threads between 1 and ${MAX_SCAN_THREADS} (default: the machine's cores; 1: no worker threads)`,
    );
  return n;
}

/**
 * What a worker read: the (decompressed) bytes and the preparation's outcome; or `main`. The bytes
 * (and the preparation's `meta`) may be memory the worker fills again: call `release` once done
 * with them, and do not read them after. A worker fills its ring's memory again in the order it
 * read the files: it waits for room until the files before are released (release them in order).
 */
export type PoolRead = { kind: "main" } | { kind: "bytes"; bytes: Buffer; rawLength: number; prepared: unknown; release: () => void };

/**
 * `TRAILHOUND_FOLD_THREAD`: 1, a scan without a store folds its records and is finished in a
 * worker thread when it has 2 or more scan threads (ScanOptions.foldThreads; the same report; a
 * second heap: more memory); 0 or unset: not.
 */
export function foldThreadFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.TRAILHOUND_FOLD_THREAD?.trim();
  if (v === undefined || v === "" || v === "0") return false;
  if (v === "1") return true;
  throw new LimitSettingError(`TRAILHOUND_FOLD_THREAD=${JSON.stringify(env.TRAILHOUND_FOLD_THREAD)}: expected 1 (fold and finish in a worker thread) or 0`);
}

/**
 * The bootstrap of a worker run from the TypeScript sources (tests, development: never from dist/).
 * Oxc, not TypeScript's transpileModule: a read worker started in 0.45 CPU-s, mostly loading
 * TypeScript; with Oxc some 0.04.
 */
export const READ_WORKER_BOOT = `
const { registerHooks, createRequire } = require("node:module");
const { readFileSync } = require("node:fs");
const { fileURLToPath } = require("node:url");
const { workerData } = require("node:worker_threads");
const vite = createRequire(workerData.entry).resolve("vite/package.json");
const { transformSync } = createRequire(vite)("rolldown/utils");
registerHooks({
  resolve(spec, ctx, next) {
    try {
      return next(spec, ctx);
    } catch (e) {
      if (spec.endsWith(".js")) return next(spec.slice(0, -3) + ".ts", ctx);
      throw e;
    }
  },
  load(url, ctx, next) {
    if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, ctx);
    const file = fileURLToPath(url);
    const out = transformSync(file, readFileSync(file, "utf8"), { lang: "ts", target: "es2022", sourcemap: false });
    if (out.errors.length > 0) throw new Error(file + ": " + out.errors.map((e) => e.message).join("; "));
    return { format: "module", source: out.code, shortCircuit: true };
  },
});
import(workerData.entry);
`;

/**
 * The memory a read pool's workers fill ahead of the main thread, in all (see the ring in
 * read-worker.ts): some 38 files of the realistic bench, 42 of the lean one (a file takes its
 * bytes and its index, 1.5-1.7 MB). Files are read newest first, and the window's files are slow
 * for the main thread: the worker fills the ring through them, and the main thread takes from it
 * on the older files, which are cheap for it; there the ring absorbs the main thread's pauses (a
 * scavenge of tens of milliseconds every ~65 files, or the thread descheduled), through which the
 * worker goes on reading. 40 MB rather than 24: on a quiet machine (3 alternating rounds, 1M
 * events, 2 threads) the main thread's wait went 423-543 -> 186-283 ms on realistic and 525-562 ->
 * 314-335 ms on lean, for 0-10 MB (realistic) and 16-22 MB (lean) of peak RSS. 64 MB rather than
 * 40 (26 lean files: less than a scavenge's worth of the worker's output): under load (load
 * average 9-10, 3 alternating rounds of the 1M lean scan) the wait went 1389-2488 -> 534-1004 ms,
 * for 19-26 MB of peak RSS.
 */
export const RING_BYTES = 64 << 20;

interface Slot {
  worker: Worker;
  inFlight: number;
  dead: boolean;
  /** The worker's times, as of its last reply. */
  times?: WorkerTimes;
  /** The worker's CPU (ms), read as the pool closes. */
  cpuMs?: number;
  /** The worker's ring (see read-worker.ts), as of its last reply. */
  ring?: SharedArrayBuffer;
  /** Shared with the worker: see RELEASED and CLOSING. */
  control: Int32Array;
  /** Ring files released so far (0 to `released` - 1), and those released before an earlier one. */
  released: number;
  early: Set<number>;
}

/** Where the read workers' time went (ms, summed over the workers): see WorkerTimes. */
export interface PoolTiming extends WorkerTimes {
  workers: number;
  /** CPU of the worker threads, as the pool closed (NaN where unknown). */
  cpu: number;
}

export class ReadPool {
  private readonly slots: Slot[] = [];
  private readonly waiting = new Map<number, { slot: Slot; resolve: (r: PoolRead) => void }>();
  private seq = 0;
  private closed = false;

  /** `data` without the ring and its control, which the pool gives each worker (`ring`: the bytes of all the workers' rings, default RING_BYTES). */
  constructor(workers: number, data: Omit<ReadWorkerData, "ring" | "control"> & { ring?: number }) {
    const js = new URL("./read-worker.js", import.meta.url);
    const fromSources = !existsSync(fileURLToPath(js));
    const entry = fromSources ? new URL("./read-worker.ts", import.meta.url).href : undefined;
    // The ASN tables the workers and this thread read are held once (src/geo/shared-tables.ts).
    const asnTables = shareAsnTables();
    for (let i = 0; i < workers; i++) {
      const control = new SharedArrayBuffer(8);
      const wd: ReadWorkerData = { ...data, ring: Math.ceil((data.ring ?? RING_BYTES) / workers), control, asnTables };
      const worker = fromSources ? new Worker(READ_WORKER_BOOT, { eval: true, workerData: { ...wd, entry } }) : new Worker(js, { workerData: wd });
      const slot: Slot = { worker, inFlight: 0, dead: false, control: new Int32Array(control), released: 0, early: new Set() };
      worker.unref();
      worker.on("message", (m: ReadReply | { loadError: string }) => {
        if ("loadError" in m) return;
        const w = this.waiting.get(m.seq);
        if (!w) return;
        this.waiting.delete(m.seq);
        if (--slot.inFlight === 0) worker.unref();
        slot.times = m.times;
        if (m.kind === "shared") {
          if (m.ring) slot.ring = m.ring;
          const ring = slot.ring;
          // An answer that comes while the pool closes (close() let go of the ring before the worker
          // ended): the file goes back to the main thread, as what a closed pool still owes does.
          if (ring === undefined) {
            w.resolve({ kind: "main" });
            return;
          }
          const prepared = m.prepared;
          // The preparation's shared ints are the result's `meta` (see Prepare in read-worker.ts).
          if (prepared !== null && typeof prepared === "object")
            (prepared as { meta?: Int32Array }).meta = new Int32Array(m.intsMemory ?? ring, m.intsMemory ? 0 : m.intsAt, m.ints);
          let freed = false;
          const release = () => {
            if (freed) return;
            freed = true;
            this.release(slot, m.file);
          };
          w.resolve({ kind: "bytes", bytes: Buffer.from(ring, m.at, m.length), rawLength: m.rawLength, prepared, release });
          return;
        }
        w.resolve(
          m.kind === "moved"
            ? { kind: "bytes", bytes: Buffer.from(m.buffer, m.offset, m.length), rawLength: m.rawLength, prepared: m.prepared, release: () => undefined }
            : { kind: "main" },
        );
      });
      const fail = () => this.lose(slot);
      worker.on("error", fail);
      worker.on("exit", fail);
      this.slots.push(slot);
    }
  }

  /** Read `path` in the least busy worker; `main` when none can. */
  read(path: string): Promise<PoolRead> {
    let slot: Slot | undefined;
    for (const s of this.slots) if (!s.dead && (slot === undefined || s.inFlight < slot.inFlight)) slot = s;
    if (this.closed || slot === undefined) return Promise.resolve({ kind: "main" });
    const seq = this.seq++;
    const job: ReadJob = { seq, path };
    // A worker holds the process while it owes a file: else, were it to end (exit, crash) while the
    // main thread waits for nothing else, its exit would never be seen and the process would end
    // there, the scan unfinished (exit 0, no report). Idle, it does not.
    if (slot.inFlight++ === 0) slot.worker.ref();
    const s = slot;
    return new Promise((resolve) => {
      this.waiting.set(seq, { slot: s, resolve });
      s.worker.postMessage(job);
    });
  }

  /**
   * Ring file `file` of the worker of `slot` is released: the worker may fill its memory again
   * once every file before it is released too (it fills the ring in order).
   */
  private release(slot: Slot, file: number): void {
    if (file !== slot.released) {
      slot.early.add(file);
      return;
    }
    slot.released++;
    while (slot.early.delete(slot.released)) slot.released++;
    Atomics.store(slot.control, RELEASED, slot.released);
    Atomics.notify(slot.control, RELEASED);
  }

  /** Stop the workers; what they still owe goes back to the main thread. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots) {
      // A worker waiting for room in its ring stops waiting (and answers `main`).
      Atomics.store(s.control, CLOSING, 1);
      Atomics.notify(s.control, RELEASED);
    }
    for (const s of this.slots) {
      s.worker.ref(); // held until it has answered and ended (unref'd, the process might end first)
      if (!s.dead)
        s.cpuMs = await s.worker
          .cpuUsage()
          .then((u) => (u.user + u.system) / 1000)
          .catch(() => NaN);
      s.dead = true;
      delete s.ring; // the pool may outlive the read: its ring goes with the files taken from it
      await s.worker.terminate().catch(() => undefined);
    }
    this.settle(() => true);
  }

  /** Where the workers' time went (after close: with their CPU). */
  timing(): PoolTiming {
    const t: PoolTiming = { workers: this.slots.length, read: 0, gunzip: 0, prepare: 0, copy: 0, full: 0, cpu: 0 };
    for (const s of this.slots) {
      t.read += s.times?.read ?? 0;
      t.gunzip += s.times?.gunzip ?? 0;
      t.prepare += s.times?.prepare ?? 0;
      t.copy += s.times?.copy ?? 0;
      t.full += s.times?.full ?? 0;
      t.cpu += s.cpuMs ?? NaN;
    }
    return t;
  }

  /** A worker failed or exited: its files go back to the main thread. */
  private lose(slot: Slot): void {
    slot.dead = true;
    this.settle((s) => s === slot);
  }

  private settle(which: (s: Slot) => boolean): void {
    for (const [seq, w] of this.waiting)
      if (which(w.slot)) {
        this.waiting.delete(seq);
        w.resolve({ kind: "main" });
      }
  }
}
