import { hash } from "node:crypto";
import type { Dim } from "../baseline/profile.js";
import { SEVERITY_RANK, type Principal, type Severity } from "../events/types.js";
import { SEVERITY_SCORE, type Detector, type FindingDraft } from "../detectors/types.js";
import type { IdentityWindow } from "../detectors/types.js";
import type { Finding, FindingIdentity } from "./report-types.js";

export const MAX_FINDING_EVENT_IDS = 20;

/** Stable id: what makes the finding the same tomorrow (detector, identity, fingerprint). Never times or counts. */
export function findingId(detector: string, identityKey: string, fingerprint: readonly string[]): string {
  // crypto.hash: the same digest as createHash().update().digest(), without a Hash object per draft.
  const h = hash("sha256", [detector, identityKey, ...fingerprint].join("\u0000"), "hex");
  return "F" + h.slice(0, 15);
}

export function identityOf(p: Principal): FindingIdentity {
  const id: FindingIdentity = { key: p.key, type: p.type };
  if (p.arn) id.arn = p.arn;
  if (p.userName) id.userName = p.userName;
  if (p.sessionName) id.sessionName = p.sessionName;
  if (p.accountId) id.accountId = p.accountId;
  return id;
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b;
}

function clampScore(x: number): number {
  return Math.max(0, Math.min(100, Math.round(x)));
}

/**
 * The identity shown is the one that did the cited events: a window finding on a role used by
 * several sessions names the session of its cited events (the most frequent one when they
 * differ), not the session the scan happened to meet first. The identity key, and so the
 * finding's id, stay the role's.
 */
export function attributeDraft(win: IdentityWindow, draft: FindingDraft): FindingDraft {
  const p = win.principal;
  if (draft.principal || win.sessions.length < 2 || !win.idSessions || win.idSessions.size === 0) return draft;
  const counts = new Map<string, number>();
  for (const id of draft.eventIds) {
    const s = win.idSessions.get(id);
    if (s !== undefined) counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  let best: string | undefined;
  let bestN = 0;
  for (const [s, n] of counts) if (n > bestN || (n === bestN && best !== undefined && s < best)) [best, bestN] = [s, n];
  if (best === undefined || best === p.sessionName) return draft;
  return { ...draft, principal: { ...p, sessionName: best } };
}

/** Collects drafts and merges those with the same id. */
export class FindingCollector {
  constructor(private readonly maxEventIds = MAX_FINDING_EVENT_IDS) {}
  private readonly byId = new Map<string, Finding & { _first: number; _last: number }>();
  /** Baseline values each finding is about (FindingDraft.holds), by finding id; not part of the report. */
  readonly holds = new Map<string, Array<[Dim, string]>>();
  /** The person baseline a finding was judged against (FindingDraft.person), by finding id. */
  readonly personKeys = new Map<string, string>();

  add(det: Detector, draft: FindingDraft, principal: Principal): void {
    const who = draft.principal ?? principal;
    const id = findingId(det.id, who.key, draft.fingerprint);
    if (draft.holds && draft.holds.length > 0) this.holds.set(id, [...(this.holds.get(id) ?? []), ...draft.holds]);
    if (draft.person) this.personKeys.set(id, draft.person.key);
    const score = clampScore(draft.score ?? SEVERITY_SCORE[draft.severity]);
    const existing = this.byId.get(id);
    if (existing) {
      existing.count += draft.count;
      for (const e of draft.eventIds) {
        if (existing.eventIds.length >= this.maxEventIds) break;
        if (!existing.eventIds.includes(e)) existing.eventIds.push(e);
      }
      if (draft.firstSeen < existing._first) existing._first = draft.firstSeen;
      if (draft.lastSeen > existing._last) existing._last = draft.lastSeen;
      if (SEVERITY_RANK[draft.severity] > SEVERITY_RANK[existing.severity] || score > existing.score) {
        existing.severity = maxSeverity(existing.severity, draft.severity);
        existing.score = Math.max(existing.score, score);
        existing.why = draft.why;
        if (draft.title) existing.title = draft.title;
        if (draft.evidence) existing.evidence = draft.evidence;
      }
      existing.failed = existing.failed && draft.failed === true;
      return;
    }
    const f: Finding & { _first: number; _last: number } = {
      id,
      detector: det.id,
      title: draft.title ?? det.title,
      severity: draft.severity,
      score,
      identity: draft.person ? { ...identityOf(who), person: draft.person.name } : identityOf(who),
      eventIds: draft.eventIds.slice(0, this.maxEventIds),
      firstSeen: "",
      lastSeen: "",
      count: draft.count,
      why: draft.why,
      attack: [...new Set([...det.attack, ...(draft.attack ?? [])])],
      investigate: det.investigate,
      falsePositives: det.falsePositives,
      failed: draft.failed === true,
      _first: draft.firstSeen,
      _last: draft.lastSeen,
    };
    if (draft.sourceIp) f.sourceIp = draft.sourceIp;
    if (draft.region) f.region = draft.region;
    if (draft.evidence) f.evidence = draft.evidence;
    this.byId.set(id, f);
  }

  /** Findings sorted by score, then severity, then time. */
  result(): Finding[] {
    const out: Finding[] = [];
    for (const f of this.byId.values()) {
      const { _first, _last, ...rest } = f;
      rest.firstSeen = new Date(_first).toISOString();
      rest.lastSeen = new Date(_last).toISOString();
      out.push(rest);
    }
    return out.sort((a, b) => b.score - a.score || SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.firstSeen.localeCompare(b.firstSeen) || a.id.localeCompare(b.id));
  }
}

/** Combined identity score: 1 - prod(1 - s_i), on 0-100. Several anomalies corroborate each other. */
export function combineScores(scores: readonly number[]): number {
  let p = 1;
  for (const s of scores) p *= 1 - Math.max(0, Math.min(100, s)) / 100;
  return clampScore((1 - p) * 100);
}
