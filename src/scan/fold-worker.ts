/**
 * The fold worker (see fold-shard.ts): a Scanner whose accumulators are made and folded from the
 * main thread's rows, in the order sent, and finished when the main thread says the reading is
 * over. In a thread of its own (TRAILHOUND_FOLD_THREAD=1), or served by a read worker
 * (read-worker.ts, ScanOptions.foldInReader), which may then fold records of the files it walked
 * from its own memory (LaneFolder).
 */
import { parentPort, workerData } from "node:worker_threads";
import { defaultGeoResolver } from "../geo/default.js";
import { Scanner } from "./scanner.js";
import { IdentityAcc } from "../ingest/accumulator.js";
import type { Ingest } from "../ingest/ingest.js";
import { fault } from "../util/faults.js";
import { LaneFolder, P_FOLDED, P_STOPPED, RowReader, type FoldBatch, type FoldEnd, type FoldInit, type FoldMessage, type FoldRegions, type FoldReply } from "./fold-shard.js";
import type { WalkedSlot } from "../sources/read-worker.js";

const all = () => true;

/** Makes and folds the accumulators of a Scanner's Ingest from the rows (FoldFeeder's), and finishes the scan. */
export class FoldApplier {
  private readonly accs: IdentityAcc[] = [];
  /** The main thread's number of each identity here, in order (NewAcc.at). */
  private readonly ats: number[] = [];
  private readonly reader: RowReader;
  private readonly geoOf: (ip: string) => ReturnType<Ingest["geoOf"]>;

  constructor(
    readonly scanner: Scanner,
    private readonly ingest: Ingest,
    /** In a read worker: the files it walked, for rows that name a record there. */
    walkedAt?: (slot: number) => WalkedSlot | undefined,
  ) {
    this.geoOf = (ip) => ingest.geoOf(ip);
    this.reader = new RowReader(walkedAt ? new LaneFolder(walkedAt) : undefined);
  }

  apply(b: FoldBatch): void {
    for (const a of b.accs) {
      const acc = new IdentityAcc({ key: a.key, type: "" }, a.trainedUntil);
      this.accs.push(acc);
      if (a.role === undefined) this.ats.push(a.at);
      this.ingest.adoptAcc(acc, a.key, a.role);
    }
    fault("fold.batch");
    this.reader.read(b, this.accs, this.geoOf);
  }

  /** The end of the reading: the scan's result; with shared identities (FoldEnd.shared), this thread's account regions. */
  end(m: FoldEnd): FoldReply {
    this.reader.flush(this.accs, this.geoOf);
    fault("fold.finish");
    for (let i = 0; i < this.accs.length; i++) this.accs[i]!.principal = m.principals[i]!;
    this.ingest.adoptTotals(m.totals);
    this.scanner.sources.push(...m.sources);
    this.scanner.partialReasons.push(...m.partialReasons);
    if (m.shared) return { regions: this.scanner.shardRegions(all) };
    return { result: this.scanner.finish() };
  }

  /** With shared identities: settle this thread's, given every thread's account regions; their outcomes, numbered as the main thread's. */
  settle(m: FoldRegions): FoldReply {
    const outcomes = this.scanner.finishPart(m.regions, all);
    for (const o of outcomes) o.at = this.ats[o.at]!;
    return { outcomes };
  }
}

/** The applier for an init message (a Scanner made as the main thread's, without its fold threads). */
export async function applierFor(init: FoldInit, walkedAt?: (slot: number) => WalkedSlot | undefined): Promise<FoldApplier> {
  const opts = { ...init.opts };
  if (init.geoEnv !== undefined) opts.geo = await defaultGeoResolver(init.geoEnv);
  const scanner = new Scanner(opts);
  return new FoldApplier(scanner, scanner.ingest, walkedAt);
}

/**
 * Serve a fold: its replies go to `post`; the returned function takes its messages, in the order
 * sent (each resolves once handled). `walkedAt`: in a read worker, the files it walked.
 */
export function foldServer(post: (r: FoldReply) => void, walkedAt?: (slot: number) => WalkedSlot | undefined): (m: FoldMessage) => Promise<void> {
  let applier: Promise<FoldApplier> | undefined;
  let failed = false;
  let progress: Int32Array | undefined;
  /** Say in the shared progress that this worker stopped: the main thread stops sending and waiting. */
  const stopped = () => {
    if (!progress) return;
    Atomics.store(progress, P_STOPPED, 1);
    Atomics.notify(progress, P_FOLDED);
  };
  const fail = (e: unknown) => {
    if (failed) return;
    failed = true;
    const err = e as Error | undefined;
    const reply: FoldReply = err instanceof Error ? { error: `${err.name}: ${err.message}`, ...(err.stack ? { stack: err.stack } : {}) } : { error: String(e) };
    // The message first: the main thread may read it as soon as it sees the mark.
    post(reply);
    stopped();
  };
  // The thread ends (process.exit, an uncaught error) before the scan was finished: said too.
  process.on("exit", stopped);
  // Messages in the order sent: each waits for the applier (made from the first).
  let chain: Promise<void> = Promise.resolve();
  return (m: FoldMessage) => {
    if (m.kind === "init") {
      progress = new Int32Array(m.progress);
      applier = applierFor(m, walkedAt);
      // A failure to make it is said with the first message that needs it.
      applier.catch(() => undefined);
      return Promise.resolve();
    }
    chain = chain
      .then(async () => {
        if (failed) return;
        const a = await applier!;
        if (m.kind === "rows") {
          a.apply(m);
          Atomics.add(progress!, P_FOLDED, 1);
          Atomics.notify(progress!, P_FOLDED);
        } else if (m.kind === "end") post(a.end(m));
        else post(a.settle(m));
      })
      .catch(fail);
    return chain;
  };
}

/** The fold served by a read worker (read-worker.ts HostedMessage): its files are walked there. */
export function hostedFold(post: (r: FoldReply) => void, walkedAt: (slot: number) => WalkedSlot | undefined): (m: FoldMessage) => Promise<void> {
  return foldServer(post, walkedAt);
}

// A thread of its own (FoldFeeder starts it with workerData.foldWorker).
const port = parentPort;
if (port && (workerData as { foldWorker?: boolean } | undefined)?.foldWorker === true) {
  const serve = foldServer((r) => port.postMessage(r));
  port.on("message", (m: FoldMessage) => void serve(m));
}
