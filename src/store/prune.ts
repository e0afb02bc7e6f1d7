/**
 * Bounded growth: what the store forgets, and when. Baselines of identities not seen in
 * `olderThanDays`, resolved findings not seen as long, suppressions that ended (removed, or
 * expired and announced) that long ago, scan records older than that; any finding not seen in
 * `findingsDays` (an acknowledgement is a decision: kept a year by default, and in the audit log
 * after); and the rotated audit files older than `auditDays` (removed by the caller, outside the
 * store file). Recorded in the audit log.
 */
import { appendAudit } from "./audit.js";
import { baselineTable } from "./baselines.js";
import { StoreError } from "./errors.js";
import type { StoreData } from "./types.js";
import { DAY_MS, iso, ms, type When } from "./values.js";

export interface PruneResult {
  baselines: number;
  findings: number;
  suppressions: number;
  /** Scan records older than the cut-off (the newest SCANS_KEPT are kept in any case until then). */
  scans: number;
  /** Rotated audit files (`audit-<date>.jsonl`) removed. */
  auditFiles: number;
}

export interface PruneOptions {
  /** Baselines of identities not seen, resolved findings not seen, ended suppressions and scan records older than this. */
  olderThanDays: number;
  /** Any finding (open, suppressed, acknowledged) not seen in this many days. Default max(365, olderThanDays). */
  findingsDays?: number;
  /** Rotated audit files (`audit-<date>.jsonl`) older than this many days. Default 365. */
  auditDays?: number;
  by?: string;
}

/** The limits the bot prunes with every day, and `trailhound store prune` by default. */
export const PRUNE_DEFAULTS = { olderThanDays: 90, findingsDays: 365, auditDays: 365 } as const;

/**
 * Validate the options now. `apply` prunes the data (in the queue; `auditFiles` stays 0), and
 * `auditCutoffMs` is the age past which rotated audit files go.
 */
export function prepPrune(opts: PruneOptions, now: When): { apply: (data: StoreData) => PruneResult; auditCutoffMs: number } {
  if (!(opts.olderThanDays > 0)) throw new StoreError("invalid", "olderThanDays must be a positive number of days");
  const findingsDays = opts.findingsDays ?? Math.max(PRUNE_DEFAULTS.findingsDays, opts.olderThanDays);
  const auditDays = opts.auditDays ?? PRUNE_DEFAULTS.auditDays;
  if (!(findingsDays > 0) || !(auditDays > 0)) throw new StoreError("invalid", "findingsDays and auditDays must be positive numbers of days");
  const cutoff = ms(now) - opts.olderThanDays * DAY_MS;
  const findingsCutoff = ms(now) - findingsDays * DAY_MS;
  const at = iso(now);
  const apply = (data: StoreData): PruneResult => {
    const res: PruneResult = { baselines: 0, findings: 0, suppressions: 0, scans: 0, auditFiles: 0 };
    const table = baselineTable(data);
    for (const [k, e] of [...table.entries()]) {
      if (!Number.isFinite(e.facts.last) || e.facts.last < cutoff) {
        table.delete(k);
        res.baselines++;
      }
    }
    for (const id in data.findings) {
      const f = data.findings[id]!;
      const last = Date.parse(f.lastSeen);
      if ((f.status === "resolved" && last < cutoff) || last < findingsCutoff) {
        delete data.findings[id];
        res.findings++;
      }
    }
    const before = data.suppressions.length;
    data.suppressions = data.suppressions.filter((s) => {
      const ended = s.removed ? Date.parse(s.removed.at) : s.expiryAnnounced ? Date.parse(s.until) : Infinity;
      return !(ended < cutoff);
    });
    res.suppressions = before - data.suppressions.length;
    const scansBefore = data.scans.length;
    data.scans = data.scans.filter((s) => !(Date.parse(s.at) < cutoff));
    res.scans = scansBefore - data.scans.length;
    appendAudit(data, {
      at,
      actor: opts.by ?? "trailhound",
      action: "prune",
      target: `older than ${opts.olderThanDays} days`,
      detail: `${res.baselines} baselines, ${res.findings} findings, ${res.suppressions} ended suppressions, ${res.scans} scan records`,
    });
    return res;
  };
  return { apply, auditCutoffMs: ms(now) - auditDays * DAY_MS };
}
