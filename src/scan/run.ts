import type { EventSource, SourceProgress } from "../sources/types.js";
import { Scanner, type ScanOptions, type ScanResult } from "./scanner.js";
import { scanHeapGrowth } from "./tiering.js";

export interface RunScanOptions extends ScanOptions {
  sources: readonly EventSource[];
  onProgress?: (p: SourceProgress) => void;
  signal?: AbortSignal;
}

/** Read every source into one scan and build the report. Sources are read one after another. */
export function runScan(opts: RunScanOptions): Promise<ScanResult> {
  return runScanWith(new Scanner(opts), opts);
}

/** runScan with a Scanner made of `opts` (the caller keeps it: tests look at its fold worker). */
export async function runScanWith(scanner: Scanner, opts: RunScanOptions): Promise<ScanResult> {
  const growth = scanHeapGrowth();
  try {
    return await scanWith(scanner, opts);
  } finally {
    growth();
  }
}

async function scanWith(scanner: Scanner, opts: RunScanOptions): Promise<ScanResult> {
  // A fold worker that fails stops the reading (the scan cannot be completed; finishAsync says why).
  const stops = [opts.signal, scanner.stopSignal].filter((s) => s !== undefined);
  const signal = stops.length > 1 ? AbortSignal.any(stops) : stops[0];
  try {
    await readAll(scanner, opts, signal);
  } catch (e) {
    // The fold worker failed first (the sources stopped on its signal, some may throw as they do):
    // its error is the scan's (finishAsync rejects with it).
    if (scanner.stopSignal?.aborted) await scanner.finishAsync();
    await scanner.close();
    throw e;
  }
  // For the memory benchmark: the peak before finish() (ingest) beside the scan's overall peak.
  if (process.env.TRAILHOUND_REPORT_RSS) process.stderr.write(`ingestMaxRSS=${process.resourceUsage().maxRSS} ingestRSS=${process.memoryUsage.rss()}\n`);
  return scanner.finishAsync();
}

async function readAll(scanner: Scanner, opts: RunScanOptions, signal: AbortSignal | undefined): Promise<void> {
  for (const src of opts.sources) {
    if (signal?.aborted) {
      scanner.noteSource({ kind: "memory", name: src.name, records: 0, skipped: 0, note: "not read: scan aborted" }, [`source ${src.name} was not read: the scan was aborted`]);
      continue;
    }
    const readOpts: { signal?: AbortSignal; onProgress?: (p: SourceProgress) => void } = {};
    if (signal) readOpts.signal = signal;
    if (opts.onProgress) readOpts.onProgress = opts.onProgress;
    const res = await src.read(scanner, readOpts);
    scanner.noteSource(res.summary, res.partialReasons);
  }
}
