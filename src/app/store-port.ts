import type { DimSource } from "../baseline/merge.js";
import type { Dim, Profile } from "../baseline/profile.js";
import { fault } from "../util/faults.js";
import { BaselineEncoder } from "../store/encode-off-thread.js";
import { TrailStore, type CursorStore } from "../store/store.js";
import type { Cursor } from "../sources/types.js";
import { combineScores } from "../scan/findings.js";
import type { Report } from "../scan/report-types.js";

/** What a scan needs from the store: stored baselines in, baselines + findings + a scan record out. */
/**
 * The cursors a scan moves, held back until its results are saved: sources `set` a cursor when a
 * region (or bucket prefix) is read, and the scan commits them in the same write as its
 * baselines, findings and scan record (`TrailStore.commitScan`). A scan that dies before that
 * leaves the stored cursors where they were, so the next scan reads those events again.
 */
export class StagedCursors implements CursorStore {
  readonly #staged = new Map<string, Cursor>();
  constructor(private readonly store: Pick<TrailStore, "getCursor">) {}
  get(key: string): Cursor | undefined {
    return this.#staged.get(key) ?? this.store.getCursor(key);
  }
  set(key: string, c: Cursor): void {
    this.#staged.set(key, c);
    fault("scan.cursor-staged");
  }
  /** What the scan has moved, to be saved with its results. */
  pending(): Record<string, Cursor> {
    return Object.fromEntries(this.#staged);
  }
  /** Saved: later reads see them in the store. */
  clear(): void {
    this.#staged.clear();
  }
}

export interface ScanStore {
  getBaseline(key: string): Profile | undefined;
  /** One dimension of a stored baseline, without decoding the rest where it can (ScanOptions.storedDim). */
  getBaselineDim(key: string, dim: Dim): DimSource | Profile | undefined;
  /** `getBaseline(key)?.trainedUntil`, without decoding the profile (ScanOptions.storedTrainedUntil). */
  getBaselineTrainedUntil(key: string): number | undefined;
  /** A stored finding's status (ScanOptions.findingStatus: held-back baseline values are folded in once acknowledged). */
  findingStatus(id: string): string | undefined;
  /**
   * A profile the scan made (ScanOptions.onProfile), encoded while the scan goes on: `saveScan`
   * finds it done. Optional: a store port without it encodes everything at the save.
   */
  noteProfile?(p: Profile): void;
  /** The scan will not be saved (it failed or was stopped): forget what `noteProfile` was given. */
  dropProfiles?(): void;
  /** Hide suppressed findings (counted in report.suppressed), persist baselines, findings and the scan. */
  saveScan(report: Report, profiles: Profile[], meta: { by: string; target: string }): Promise<void>;
  /** `retry: false` after a failed save that was reported: do not try it again on the way out. */
  close(opts?: { retry?: boolean }): Promise<void>;
  /** The store directory's file, for messages. */
  readonly file?: string | undefined;
  /** AWS source cursors (incremental live scans), saved by `saveScan` with the results. */
  cursors(): CursorStore;
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
  // One save: the findings are encoded by it, not also at open (StoreOptions.warmFindings).
  return scanStoreFrom(await TrailStore.open(dir, { warmFindings: false }));
}

/** The scan's view of an open store (the bot and the digest share one store per process). */
export function scanStoreFrom(store: TrailStore): ScanStore {
  const staged = new StagedCursors(store);
  let encoder: BaselineEncoder | undefined;
  return {
    getBaseline: (k) => store.readBaselineOnce(k),
    getBaselineDim: (k, d) => store.readBaselineDim(k, d),
    getBaselineTrainedUntil: (k) => store.getBaselineTrainedUntil(k),
    findingStatus: (id) => store.getFinding(id)?.status,
    noteProfile: (p) => (encoder ??= new BaselineEncoder()).add(p),
    dropProfiles() {
      encoder?.abandon();
      encoder = undefined;
    },
    async saveScan(report, profiles, meta) {
      const now = Date.parse(report.generatedAt);
      applySuppressions(report, store, now);
      fault("scan.before-commit");
      // One write: the cursors move only together with the results of the events they cover.
      const ahead = encoder;
      encoder = undefined;
      await store.commitScan(
        {
          profiles,
          ...(ahead ? { encoder: ahead } : {}),
          findings: report.findings,
          scan: {
            at: report.generatedAt,
            by: meta.by,
            target: meta.target,
            window: report.window,
            events: report.stats.events,
            findings: report.findings.length,
            partial: report.partial,
          },
          cursors: staged.pending(),
        },
        now,
      );
      staged.clear();
      fault("scan.committed");
    },
    close: (opts) => store.close(opts),
    cursors: () => staged,
    file: store.file,
  };
}
