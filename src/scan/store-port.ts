import type { Profile } from "../baseline/profile.js";
import { TrailStore } from "../store/store.js";
import { combineScores } from "./findings.js";
import type { Report } from "./report-types.js";

/** What a scan needs from the store: stored baselines in, baselines + findings + a scan record out. */
export interface ScanStore {
  getBaseline(key: string): Profile | undefined;
  /** `getBaseline(key)?.trainedUntil`, without decoding the profile (ScanOptions.storedTrainedUntil). */
  getBaselineTrainedUntil(key: string): number | undefined;
  /** Hide suppressed findings (counted in report.suppressed), persist baselines, findings and the scan. */
  saveScan(report: Report, profiles: Profile[], meta: { by: string; target: string }): Promise<void>;
  close(): Promise<void>;
  /** AWS source cursors (incremental live scans). */
  cursors(): ReturnType<TrailStore["cursors"]>;
}

/** Remove findings covered by an active suppression; they stay counted in `report.suppressed`. */
export function applySuppressions(report: Report, store: Pick<TrailStore, "matchSuppression">, now: number): Report {
  const kept = [];
  const hidden: string[] = [];
  for (const f of report.findings) {
    if (store.matchSuppression(f, now)) hidden.push(f.id);
    else kept.push(f);
  }
  if (hidden.length === 0) return report;
  report.findings = kept;
  report.suppressed = { count: report.suppressed.count + hidden.length, ids: [...report.suppressed.ids, ...hidden] };
  const byKey = new Map<string, number[]>();
  for (const f of kept) byKey.set(f.identity.key, [...(byKey.get(f.identity.key) ?? []), f.score]);
  for (const i of report.identities) {
    const scores = byKey.get(i.key) ?? [];
    i.findings = scores.length;
    i.score = combineScores(scores);
  }
  report.identities.sort((a, b) => b.score - a.score || b.events - a.events || a.key.localeCompare(b.key));
  return report;
}

export async function openScanStore(dir: string): Promise<ScanStore> {
  return scanStoreFrom(await TrailStore.open(dir));
}

/** The scan's view of an open store (the bot and the digest share one store per process). */
export function scanStoreFrom(store: TrailStore): ScanStore {
  return {
    getBaseline: (k) => store.getBaseline(k),
    getBaselineTrainedUntil: (k) => store.getBaselineTrainedUntil(k),
    async saveScan(report, profiles, meta) {
      const now = Date.parse(report.generatedAt);
      applySuppressions(report, store, now);
      await store.putBaselines(profiles);
      await store.recordFindings(report.findings, now);
      await store.addScan({
        at: report.generatedAt,
        by: meta.by,
        target: meta.target,
        window: report.window,
        events: report.stats.events,
        findings: report.findings.length,
        partial: report.partial,
      });
    },
    close: () => store.close(),
    cursors: () => store.cursors(),
  };
}
