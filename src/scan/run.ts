import type { EventSource, SourceProgress } from "../sources/types.js";
import { Scanner, type ScanOptions, type ScanResult } from "./scanner.js";

export interface RunScanOptions extends ScanOptions {
  sources: readonly EventSource[];
  onProgress?: (p: SourceProgress) => void;
  signal?: AbortSignal;
}

/** Read every source into one scan and build the report. Sources are read one after another. */
export async function runScan(opts: RunScanOptions): Promise<ScanResult> {
  const scanner = new Scanner(opts);
  try {
    await readAll(scanner, opts);
  } catch (e) {
    scanner.close();
    throw e;
  }
  // For the memory benchmark: the peak before finish() (ingest) beside the scan's overall peak.
  if (process.env.TRAILHOUND_REPORT_RSS) process.stderr.write(`ingestMaxRSS=${process.resourceUsage().maxRSS} ingestRSS=${process.memoryUsage.rss()}\n`);
  return scanner.finishAsync();
}

async function readAll(scanner: Scanner, opts: RunScanOptions): Promise<void> {
  for (const src of opts.sources) {
    if (opts.signal?.aborted) {
      scanner.noteSource({ kind: "memory", name: src.name, records: 0, skipped: 0, note: "not read: scan aborted" }, [`source ${src.name} was not read: the scan was aborted`]);
      continue;
    }
    const readOpts: { signal?: AbortSignal; onProgress?: (p: SourceProgress) => void } = {};
    if (opts.signal) readOpts.signal = opts.signal;
    if (opts.onProgress) readOpts.onProgress = opts.onProgress;
    const res = await src.read(scanner, readOpts);
    scanner.noteSource(res.summary, res.partialReasons);
  }
}
