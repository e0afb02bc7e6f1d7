/**
 * Where a timeline's data comes from: the store (profile, stored findings, the scan window) or a
 * scan that just ran (its profiles, findings and window). Also: finding an identity by the name a
 * person types (`alice`, an ARN, or the key `user:111122223333:alice`).
 */
import { HOUR, type Profile } from "../baseline/profile.js";
import type { Finding, Report } from "../scan/report-types.js";
import type { ScanRecord, StoredFinding } from "../store/types.js";
import { buildTimeline, type Timeline } from "./model.js";

/** The store methods a timeline needs (TrailStore and the bot's BotStore both have them). */
export interface TimelineStore {
  getBaseline(key: string): Profile | undefined;
  listFindings(filter?: { status?: StoredFinding["status"] | Array<StoredFinding["status"]> }): StoredFinding[];
  scans(limit?: number): ScanRecord[];
}

export type IdentityMatch = { ok: true; key: string } | { ok: false; candidates: string[] };

/**
 * Does `p` answer to `name`: its key, ARN, user name, or the name part of its key? A person's
 * baseline on a shared role (`person:<account>:<role>:<person>`) answers to its key and to the
 * person only, never to the role's name or ARN (those are the role's).
 */
export function matchesIdentity(p: Pick<Profile, "key" | "arn" | "userName">, name: string): boolean {
  if (p.key.startsWith("person:")) return p.key === name || p.key.split(":").slice(3).join(":") === name;
  if (p.key === name || p.arn === name || p.userName === name) return true;
  const parts = p.key.split(":");
  return parts.length >= 3 && parts.slice(2).join(":") === name;
}

/** One identity among `profiles` for `name`; an exact key wins; several others are ambiguous. */
export function resolveIdentity(profiles: Iterable<Pick<Profile, "key" | "arn" | "userName">>, name: string): IdentityMatch {
  const hits: string[] = [];
  for (const p of profiles) {
    if (p.key === name) return { ok: true, key: p.key };
    if (matchesIdentity(p, name)) hits.push(p.key);
  }
  if (hits.length === 1) return { ok: true, key: hits[0]! };
  return { ok: false, candidates: hits.sort() };
}

/**
 * The window to shade for an identity from the store: the newest scan whose window holds `at`
 * (default: the identity's last event), else a day ending there.
 */
export function storedWindow(scans: readonly ScanRecord[], p: Profile | undefined, now: number, at?: number): { start: number; end: number } {
  const last = at ?? (p && Number.isFinite(p.last) ? p.last : now);
  for (let i = scans.length - 1; i >= 0; i--) {
    const w = scans[i]!.window;
    const s = Date.parse(w.start);
    const e = Date.parse(w.end);
    if (s <= last && last <= e) return { start: s, end: e };
  }
  const end = Math.ceil((last + 1) / HOUR) * HOUR;
  return { start: end - 24 * HOUR, end };
}

export function timelineFromStore(store: TimelineStore, key: string, o: { window?: { start: number; end: number }; now?: number; at?: number } = {}): Timeline {
  const profile = store.getBaseline(key);
  const findings = store
    .listFindings()
    .filter((s) => s.finding.identity.key === key && s.status !== "suppressed")
    .map((s) => s.finding);
  const window = o.window ?? storedWindow(store.scans(), profile, o.now ?? Date.now(), o.at);
  return buildTimeline({ profile, findings, window, key });
}

export function timelineFromReport(report: Pick<Report, "window" | "findings" | "partial" | "partialReasons">, profile: Profile | undefined, key: string): Timeline {
  const findings: Finding[] = report.findings.filter((f) => f.identity.key === key);
  const notes = report.partial ? [`the scan was partial: ${report.partialReasons.join("; ")}`] : [];
  return buildTimeline({ profile, findings, window: { start: Date.parse(report.window.start), end: Date.parse(report.window.end) }, key, notes });
}
