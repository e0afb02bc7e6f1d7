/**
 * The fold worker (see fold-shard.ts): a Scanner whose accumulators are made and folded from the
 * main thread's rows, in the order sent, and finished when the main thread says the reading is
 * over.
 */
import { parentPort } from "node:worker_threads";
import { defaultGeoResolver } from "../geo/default.js";
import { Scanner } from "./scanner.js";
import { IdentityAcc } from "../ingest/accumulator.js";
import type { Ingest } from "../ingest/ingest.js";
import { fault } from "../util/faults.js";
import { P_FOLDED, P_STOPPED, RowReader, type FoldBatch, type FoldEnd, type FoldInit, type FoldMessage, type FoldRegions, type FoldReply } from "./fold-shard.js";

const all = () => true;

/** Makes and folds the accumulators of a Scanner's Ingest from the rows (FoldFeeder's), and finishes the scan. */
export class FoldApplier {
  private readonly accs: IdentityAcc[] = [];
  /** The main thread's number of each identity here, in order (NewAcc.at). */
  private readonly ats: number[] = [];
  private readonly reader = new RowReader();
  private readonly geoOf: (ip: string) => ReturnType<Ingest["geoOf"]>;

  constructor(
    readonly scanner: Scanner,
    private readonly ingest: Ingest,
  ) {
    this.geoOf = (ip) => ingest.geoOf(ip);
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
export async function applierFor(init: FoldInit): Promise<FoldApplier> {
  const opts = { ...init.opts };
  if (init.geoEnv !== undefined) opts.geo = await defaultGeoResolver(init.geoEnv);
  const scanner = new Scanner(opts);
  return new FoldApplier(scanner, scanner.ingest);
}

const port = parentPort;
if (port) {
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
    port.postMessage(reply);
    stopped();
  };
  // The thread ends (process.exit, an uncaught error) before the scan was finished: said too.
  process.on("exit", stopped);
  // Messages in the order sent: each waits for the applier (made from the first).
  let chain: Promise<void> = Promise.resolve();
  port.on("message", (m: FoldMessage) => {
    if (m.kind === "init") {
      progress = new Int32Array(m.progress);
      applier = applierFor(m);
      return;
    }
    chain = chain
      .then(async () => {
        if (failed) return;
        const a = await applier!;
        if (m.kind === "rows") {
          a.apply(m);
          Atomics.add(progress!, P_FOLDED, 1);
          Atomics.notify(progress!, P_FOLDED);
        } else if (m.kind === "end") port.postMessage(a.end(m));
        else port.postMessage(a.settle(m));
      })
      .catch(fail);
  });
}
