/** The store's size and counts (`trailhound store stats`, /cloudtrail status), with a warning when it grows large. */
import { baselineTable } from "./baselines.js";
import type { Section } from "./codec.js";
import { countsOf, formatBytes, type StoreCounts } from "./maintenance.js";
import type { StoreData } from "./types.js";
import { DAY_MS, ms, type When } from "./values.js";
import type { Backend } from "./write-queue.js";

/** `stats()` warns past this size by default. */
export const WARN_BYTES = 40 * 1024 * 1024;

export interface StoreStats {
  file?: string;
  /** Size on disk (0 for the in-memory twin). */
  bytes: number;
  /** Approximate bytes per part of the file, to see what to prune. */
  sections: Record<Section, number>;
  schemaVersion: number;
  counts: StoreCounts;
  /** Saves since the store was opened (several batched updates make one save). */
  writes: number;
  lastWriteMs?: number;
  lastBackup?: string;
  warnings: string[];
}

/** Stats of `data` as `backend` holds it; `writes` is the queue's count of saves. */
export function storeStats(data: StoreData, backend: Backend, o: { warnBytes: number; writes: number }, now: When): StoreStats {
  const bytes = backend.bytes();
  const sections = backend.serializer?.sections ?? { baselines: 0, findings: 0, audit: 0, other: 0 };
  const counts = countsOf(data, ms(now));
  const warnings = [...backend.warnings()];
  if (bytes > o.warnBytes) {
    const parts = (Object.entries(sections) as Array<[Section, number]>)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${formatBytes(v)}`)
      .join(", ");
    const t = ms(now);
    const stale = (days: number) => {
      let n = 0;
      for (const [, e] of baselineTable(data).entries()) {
        if (!Number.isFinite(e.facts.last) || e.facts.last < t - days * DAY_MS) n++;
      }
      return n;
    };
    warnings.push(
      `The store is ${formatBytes(bytes)}, past ${formatBytes(o.warnBytes)} (${parts}); every save rewrites the whole file. ` +
        `Of ${counts.baselines} identities' baselines, ${stale(30)} were not seen in 30 days and ${stale(60)} not in 60: prune them ` +
        `(prune({ olderThanDays: 30 }) also drops resolved findings and ended suppressions as old), or lower the baseline caps.`,
    );
  }
  const lastBackup = backend.lastBackup?.();
  return {
    ...(backend.file ? { file: backend.file } : {}),
    bytes,
    sections: { ...sections },
    schemaVersion: data.schemaVersion,
    counts,
    writes: o.writes,
    ...(backend.lastWriteMs ? { lastWriteMs: backend.lastWriteMs() } : {}),
    ...(lastBackup ? { lastBackup } : {}),
    warnings,
  };
}
