/**
 * What a digest says: which findings are new or worse for its channel, and what to count. Pure.
 *
 * Candidates are the findings of this run's scan plus the open findings whose record changed
 * since the digest's previous run (seen, raised or reopened by any scan: another digest's, a
 * slash command's, or a run that crashed before its digest was written), within the digest's
 * account/region filters. A candidate is posted when it is open and the channel has not been told
 * about it at this severity:
 *
 *   - never announced in this channel                              -> new
 *   - announced, but at a lower severity than it has now           -> worse (was <severity>)
 *   - announced before it was reopened (resolved / acknowledged and raised / unsuppressed)
 *                                                                  -> reopened
 *   - otherwise                                                    -> not repeated ("still open")
 *
 * The ledger is the `severities` of the earlier digests to the same channel (stored with each
 * digest before it is posted, so a digest still being delivered counts as told). Acknowledged
 * findings are not repeated (the store reopens one whose severity rises above the acknowledged
 * one); suppressed findings are hidden and counted; expired suppressions are announced once.
 */
import { SEVERITY_RANK, type Severity } from "../events/types.js";
import type { Finding, Report } from "../scan/report-types.js";
import { compareFindings, stateOf, type FindingState } from "../slack/views/finding.js";
import type { DigestRecord, StoredFinding, Suppression } from "../store/types.js";
import type { DigestFilters, DigestScheduleConfig } from "./config.js";

export type Change = "new" | "worse" | "reopened";

export interface DigestItem {
  finding: Finding;
  change: Change;
  /** The severity the channel was last told about (worse, reopened). */
  was?: Severity;
  /** New here, but the alert channel was told first (ISO time of that alert): shown as "alerted". */
  alertedAt?: string;
  state: FindingState;
}

export interface ExpiryNote {
  suppression: Suppression;
  /** Findings it hid that are open again. */
  released: number;
}

export interface DigestPlan {
  schedule: Pick<DigestScheduleConfig, "name" | "channel" | "tz" | "quiet" | "top" | "filters" | "minSeverity" | "kind">;
  window: { start: string; end: string };
  /** This run covers a scheduled time missed while trailhound was not running. */
  catchUp: boolean;
  /** Most severe first. */
  items: DigestItem[];
  /** Open findings of the window the channel was already told about. */
  stillOpen: number;
  /** Findings of the window that are acknowledged (not repeated). */
  acknowledged: number;
  /** Findings of the window hidden by active suppressions. */
  suppressed: number;
  expiries: ExpiryNote[];
  /** Events in the scan's window (every account the scan read). */
  events: number;
  partialReasons: string[];
}

export interface PlanInput {
  schedule: DigestPlan["schedule"];
  window: { start: number; end: number };
  catchUp: boolean;
  report: Report;
  /** Records changed at or after this time are candidates (the previous run, else the window start). */
  changedSince: number;
  getFinding(id: string): StoredFinding | undefined;
  /** Open and suppressed findings of the store. */
  findings: readonly StoredFinding[];
  /** Every kept digest (the ledger). */
  digests: readonly DigestRecord[];
  /** Suppressions that ran out and were not announced yet. */
  expired: readonly Suppression[];
  activeSuppression(f: Finding): Suppression | undefined;
  /** TRAILHOUND_ALERT_CHANNEL, when alerts are on: what it was told shows as "alerted" in digests. */
  alertChannel?: string;
  /** Containment (src/respond): whether Contain… fits the finding, and its latest containment. */
  containState?: (f: Finding) => Pick<FindingState, "containable" | "contained">;
}

/** Late CloudTrail delivery: a finding whose last event is a little before the previous run still counts as changed. */
export const CHANGED_MARGIN_MS = 3_600_000;

export function matchesFilters(f: Pick<Finding, "identity" | "region">, filters: DigestFilters): boolean {
  if (filters.account && f.identity.accountId !== filters.account) return false;
  if (filters.region && f.region !== filters.region) return false;
  return true;
}

function changedAt(s: StoredFinding): number {
  let t = Date.parse(s.lastSeen);
  for (const h of s.severityHistory) t = Math.max(t, Date.parse(h.at));
  for (const h of s.history) if (h.action === "reopen" || h.action === "unsuppress") t = Math.max(t, Date.parse(h.at));
  return Number.isNaN(t) ? -Infinity : t;
}

function lastReopen(s: StoredFinding): number {
  let t = -Infinity;
  for (const h of s.history) if (h.action === "reopen" || h.action === "unsuppress") t = Math.max(t, Date.parse(h.at));
  return t;
}

function maxSeverity(list: Array<{ severity: Severity }>): Severity | undefined {
  let best: Severity | undefined;
  for (const a of list) if (!best || SEVERITY_RANK[a.severity] > SEVERITY_RANK[best]) best = a.severity;
  return best;
}

/** Announcements per finding in one channel: when, at which severity. */
export function announcements(digests: readonly DigestRecord[], channel: string): Map<string, Array<{ at: number; severity: Severity }>> {
  const out = new Map<string, Array<{ at: number; severity: Severity }>>();
  for (const d of digests) {
    if (d.channel !== channel || !d.severities) continue;
    const at = Date.parse(d.createdAt);
    for (const [id, severity] of Object.entries(d.severities)) {
      if (!(severity in SEVERITY_RANK)) continue;
      const l = out.get(id);
      if (l) l.push({ at, severity });
      else out.set(id, [{ at, severity }]);
    }
  }
  return out;
}

export function planDigest(i: PlanInput): DigestPlan {
  const filters = i.schedule.filters;
  const since = i.changedSince - CHANGED_MARGIN_MS;
  const candidates = new Map<string, StoredFinding>();
  let acknowledged = 0;
  for (const f of i.report.findings) {
    if (!matchesFilters(f, filters)) continue;
    const s = i.getFinding(f.id);
    if (!s) continue;
    if (s.status === "acknowledged") acknowledged++;
    candidates.set(f.id, s);
  }
  for (const s of i.findings) {
    if (s.status !== "open" || candidates.has(s.id) || !matchesFilters(s.finding, filters)) continue;
    if (changedAt(s) >= since) candidates.set(s.id, s);
  }

  const told = announcements(i.digests, i.schedule.channel);
  const alerted = i.alertChannel && i.alertChannel !== i.schedule.channel ? announcements(i.digests, i.alertChannel) : undefined;
  const floor = i.schedule.minSeverity ? SEVERITY_RANK[i.schedule.minSeverity] : -Infinity;
  const items: DigestItem[] = [];
  let stillOpen = 0;
  for (const s of candidates.values()) {
    if (s.status !== "open") continue;
    const sev = s.finding.severity;
    if (SEVERITY_RANK[sev] < floor) continue;
    const all = told.get(s.id) ?? [];
    const item = (change: Change, was?: Severity): DigestItem => ({
      finding: s.finding,
      change,
      ...(was ? { was } : {}),
      state: { ...stateOf(s), ...i.containState?.(s.finding) },
    });
    if (all.length === 0) {
      const first = alerted?.get(s.id)?.reduce((a, b) => (b.at < a.at ? b : a));
      items.push(first ? { ...item("new"), alertedAt: new Date(first.at).toISOString() } : item("new"));
      continue;
    }
    const reopenedAt = lastReopen(s);
    const since = all.filter((a) => a.at >= reopenedAt);
    const everMax = maxSeverity(all)!;
    if (since.length === 0) {
      items.push(SEVERITY_RANK[sev] > SEVERITY_RANK[everMax] ? item("worse", everMax) : item("reopened", everMax));
      continue;
    }
    const toldMax = maxSeverity(since)!;
    if (SEVERITY_RANK[sev] > SEVERITY_RANK[toldMax]) items.push(item("worse", toldMax));
    else stillOpen++;
  }
  items.sort((a, b) => compareFindings(a.finding, b.finding));

  // Suppressed: the scan's hidden findings within the filters.
  let suppressed = 0;
  for (const id of i.report.suppressed.ids) {
    const s = i.getFinding(id);
    if (!s || matchesFilters(s.finding, filters)) suppressed++;
  }

  const expiries: ExpiryNote[] = i.expired.map((sup) => ({
    suppression: sup,
    released: i.findings.filter((s) => s.status === "suppressed" && s.suppressedBy === sup.id && !i.activeSuppression(s.finding)).length,
  }));

  return {
    schedule: i.schedule,
    window: { start: new Date(i.window.start).toISOString(), end: new Date(i.window.end).toISOString() },
    catchUp: i.catchUp,
    items,
    stillOpen,
    acknowledged,
    suppressed,
    expiries,
    events: i.report.stats.events,
    partialReasons: i.report.partial ? i.report.partialReasons : [],
  };
}
