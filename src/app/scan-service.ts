import type { TrailStore } from "../store/store.js";
import type { GeoResolver } from "../geo/types.js";
import type { EventSource, SourceProgress } from "../sources/types.js";
import type { ScanProgress, ScanRequest, ScanService } from "../slack/ports.js";
import type { Report } from "../scan/report-types.js";
import { runScan } from "../scan/run.js";
import type { ScanFilters } from "../events/types.js";
import { scanStoreFrom, type ScanStore } from "./store-port.js";
import { liveWindow, parseSince, parseUntil } from "../scan/time.js";
import { VERSION } from "../version.js";

/** Builds the source of a live scan: LookupEvents by default; tests pass files or fakes. */
export type SourceFactory = (o: {
  start: number;
  end: number;
  filters: ScanFilters;
  incremental: boolean;
  /** The scan's cursors: moved in the store only when the scan's results are saved with them. */
  store: Pick<ScanStore, "cursors">;
  /** Read exactly these S3 object keys (pushed by S3 event notifications), no listing. */
  keys?: string[];
}) => EventSource | Promise<EventSource>;

export interface LiveScanOptions {
  store: TrailStore;
  sourceFactory: SourceFactory;
  geo?: GeoResolver;
  /** Injected clock. */
  now?: () => number;
}

export interface LiveScanRequest {
  filters: ScanFilters;
  /** "24h", "7d" or ISO; default 24h. */
  since?: string;
  until?: string;
  /** Read only what is new since the last scan (cursors in the store); the digest does. */
  incremental?: boolean;
  by: string;
  target: string;
  onProgress?: (p: SourceProgress) => void;
  signal?: AbortSignal;
  /** Read exactly these S3 object keys (SourceFactory `keys`). */
  keys?: string[];
}

/**
 * One live scan with the store: stored baselines in; baselines, findings (suppressed ones hidden
 * and counted) and the scan record out, before it resolves.
 */
export async function runLiveScan(o: LiveScanOptions, req: LiveScanRequest): Promise<Report> {
  const now = (o.now ?? Date.now)();
  const { start, end: until } = liveWindow(now, req.since ? parseSince(req.since) : undefined, req.until ? parseUntil(req.until) : undefined);
  const scanStore = scanStoreFrom(o.store);
  const source = await o.sourceFactory({
    start,
    end: until,
    filters: req.filters,
    incremental: req.incremental ?? false,
    store: scanStore,
    ...(req.keys ? { keys: req.keys } : {}),
  });
  const scanOpts: Parameters<typeof runScan>[0] = {
    now,
    since: { kind: "absolute", at: start },
    until,
    filters: req.filters,
    version: VERSION,
    sources: [source],
    storedProfile: (k) => o.store.readBaselineOnce(k),
    storedDim: (k, d) => o.store.readBaselineDim(k, d),
    storedTrainedUntil: (k) => o.store.getBaselineTrainedUntil(k),
    findingStatus: (id) => o.store.getFinding(id)?.status,
  };
  if (o.geo) scanOpts.geo = o.geo;
  if (req.onProgress) scanOpts.onProgress = req.onProgress;
  if (req.signal) scanOpts.signal = req.signal;
  // Each settled profile is encoded while the scan goes on (as the CLI's scans do): the save finds it done.
  if (scanStore.noteProfile) scanOpts.onProfile = (p) => scanStore.noteProfile!(p);
  let saving = false;
  try {
    const { report, profiles } = await runScan(scanOpts);
    if (req.signal?.aborted) throw new Error("scan aborted");
    saving = true;
    await scanStore.saveScan(report, profiles, { by: req.by, target: req.target });
    return report;
  } finally {
    if (!saving) scanStore.dropProfiles?.();
  }
}

/** The filters of a slash-command target. */
export function filtersOf(req: ScanRequest): ScanFilters {
  const v = req.target.value;
  switch (req.target.kind) {
    case "user":
      return v ? { user: v } : {};
    case "role":
      // A role ARN or name matches the role's ARN or name (all of its sessions).
      return v ? { user: v } : {};
    case "ip":
      return v ? { ip: v } : {};
    case "account":
      return v ? { account: v } : {};
  }
}

function describe(p: SourceProgress): ScanProgress {
  const eta = p.etaMs !== undefined ? `, about ${Math.max(1, Math.round(p.etaMs / 1000))} s left` : "";
  const of = p.total !== undefined ? `/${p.total}` : "";
  const what = p.reading ? `Reading ${p.reading}: ` : "";
  const out: ScanProgress = { message: `${what}${p.records.toLocaleString("en-US")} events read, ${p.done}${of} ${p.unit}${eta}` };
  if (p.total) out.fraction = Math.min(1, p.done / p.total);
  return out;
}

/** The bot's scan service: slash-command scans over the live account (or whatever the factory reads). */
export function createScanService(o: LiveScanOptions): ScanService {
  return {
    scan(req, onProgress, signal) {
      const lr: LiveScanRequest = {
        filters: filtersOf(req),
        by: req.requestedBy,
        target: `${req.target.kind}${req.target.value ? " " + req.target.value : ""}`,
        onProgress: (p) => onProgress(describe(p)),
      };
      if (req.since) lr.since = req.since;
      if (req.until) lr.until = req.until;
      if (signal) lr.signal = signal;
      return runLiveScan(o, lr);
    },
  };
}
