/**
 * Findings and the decisions on them: recording a scan's findings (new, repeated, severity
 * raised; reopened when seen again after a decision that no longer holds), acknowledging and
 * resolving. A finding is replaced when it changes, never mutated (the serializer re-uses the
 * JSON of what did not change).
 *
 * The `prep*` functions validate their input now (throwing StoreError "invalid") and return the
 * change to apply to the data in the write queue.
 */
import { SEVERITY_RANK, type Severity } from "../events/types.js";
import type { Finding } from "../scan/report-types.js";
import { appendAudit } from "./audit.js";
import { StoreError } from "./errors.js";
import { findSuppression } from "./suppressions.js";
import type { FindingAction, FindingStatus, StoreData, StoredFinding } from "./types.js";
import { iso, jsonClone, ms, requireText, withHistory, type When } from "./values.js";

export type RecordKind = "new" | "repeated" | "severity-raised";

export interface RecordResult {
  id: string;
  kind: RecordKind;
  /** Status after recording. */
  status: FindingStatus;
  previousStatus?: FindingStatus;
  previousSeverity?: Severity;
  /** It was acknowledged, resolved or suppressed and is open again. */
  reopened: boolean;
  /** Worth telling people about: open, and new, raised or reopened. */
  notify: boolean;
  /** The active suppression that hides it. */
  suppressedBy?: string;
}

export function getFinding(data: StoreData, id: string): StoredFinding | undefined {
  return Object.hasOwn(data.findings, id) ? data.findings[id] : undefined;
}

export function listFindings(data: StoreData, filter: { status?: FindingStatus | FindingStatus[] } = {}): StoredFinding[] {
  const want = filter.status === undefined ? undefined : new Set(Array.isArray(filter.status) ? filter.status : [filter.status]);
  const out: StoredFinding[] = [];
  for (const id in data.findings) {
    const f = data.findings[id]!;
    if (!want || want.has(f.status)) out.push(f);
  }
  return out;
}

/**
 * Upsert the findings of a scan. For each: new / repeated / severity-raised, and its status.
 * An acknowledged finding stays acknowledged unless its severity rises above the acknowledged
 * one (then it reopens); a resolved one reopens when seen again; active suppressions mark it
 * suppressed (an acknowledgement wins over a suppression).
 */
export function prepFindings(findings: readonly Finding[], now: When): (data: StoreData) => RecordResult[] {
  const at = iso(now);
  const nowMs = ms(now);
  const clean = findings.map((f) => {
    requireText(f?.id, "Finding id");
    if (!(f.severity in SEVERITY_RANK)) throw new StoreError("invalid", `Finding ${f.id} has an unknown severity ${String(f.severity)}`);
    return jsonClone(f, `Finding ${f.id}`);
  });
  return (data) => clean.map((f) => recordOne(data, f, at, nowMs));
}

function recordOne(data: StoreData, f: Finding, at: string, nowMs: number): RecordResult {
  const prev = Object.hasOwn(data.findings, f.id) ? data.findings[f.id] : undefined;
  const sup = findSuppression(data.suppressions, f, nowMs);
  if (!prev) {
    const status: FindingStatus = sup ? "suppressed" : "open";
    data.findings[f.id] = {
      id: f.id,
      status,
      firstSeen: f.firstSeen,
      lastSeen: f.lastSeen,
      seenInScans: 1,
      severity: f.severity,
      severityHistory: [{ at, severity: f.severity }],
      ...(sup ? { suppressedBy: sup.id } : {}),
      history: sup ? [{ at, by: "trailhound", action: "suppress", detail: `${sup.id} covers it (first seen)` }] : [],
      finding: f,
    };
    return { id: f.id, kind: "new", status, reopened: false, notify: status === "open", ...(sup ? { suppressedBy: sup.id } : {}) };
  }
  const raised = SEVERITY_RANK[f.severity] > SEVERITY_RANK[prev.severity];
  const kind: RecordKind = raised ? "severity-raised" : "repeated";
  const actions: FindingAction[] = [];
  let status = prev.status;
  let acknowledged = prev.acknowledged;
  let resolved = prev.resolved;
  let reopened = false;
  if (status === "acknowledged" && acknowledged && SEVERITY_RANK[f.severity] > SEVERITY_RANK[acknowledged.severity]) {
    actions.push({
      at,
      by: "trailhound",
      action: "reopen",
      severity: f.severity,
      detail: `severity rose from ${acknowledged.severity} (acknowledged by ${acknowledged.by}) to ${f.severity}`,
    });
    status = "open";
    acknowledged = undefined;
    reopened = true;
  } else if (status === "resolved") {
    actions.push({ at, by: "trailhound", action: "reopen", severity: f.severity, detail: `seen again after being resolved by ${resolved?.by ?? "?"}` });
    status = "open";
    resolved = undefined;
    reopened = true;
  }
  if (status === "open" || status === "suppressed") {
    if (sup) {
      // Every state change keeps its history: newly covered, or covered by another suppression.
      if (status !== "suppressed") actions.push({ at, by: "trailhound", action: "suppress", detail: `${sup.id} covers it` });
      else if (prev.suppressedBy !== sup.id) actions.push({ at, by: "trailhound", action: "suppress", detail: `now covered by ${sup.id} (was ${prev.suppressedBy ?? "?"})` });
      status = "suppressed";
    } else {
      if (status === "suppressed") {
        actions.push({ at, by: "trailhound", action: "reopen", detail: `suppression ${prev.suppressedBy ?? "?"} no longer applies` });
        reopened = true;
      }
      status = "open";
    }
  }
  const next: StoredFinding = {
    ...prev,
    status,
    firstSeen: Date.parse(f.firstSeen) < Date.parse(prev.firstSeen) ? f.firstSeen : prev.firstSeen,
    lastSeen: Date.parse(f.lastSeen) > Date.parse(prev.lastSeen) ? f.lastSeen : prev.lastSeen,
    seenInScans: prev.seenInScans + 1,
    severity: f.severity,
    severityHistory: f.severity !== prev.severity ? [...prev.severityHistory, { at, severity: f.severity }] : prev.severityHistory,
    history: actions.length ? withHistory(prev, ...actions) : prev.history,
    finding: f,
  };
  if (acknowledged) next.acknowledged = acknowledged;
  else delete next.acknowledged;
  if (resolved) next.resolved = resolved;
  else delete next.resolved;
  if (status === "suppressed" && sup) next.suppressedBy = sup.id;
  else delete next.suppressedBy;
  data.findings[f.id] = next;
  return {
    id: f.id,
    kind,
    status,
    previousStatus: prev.status,
    previousSeverity: prev.severity,
    reopened,
    notify: status === "open" && (raised || reopened),
    ...(next.suppressedBy ? { suppressedBy: next.suppressedBy } : {}),
  };
}

/**
 * Acknowledge or resolve a finding (in its history and the audit log); StoreError "not-found"
 * for an unknown id, in the queue. A resolved finding reopens if a later scan reports it again.
 */
export function prepDecision(findingId: string, by: string, now: When, action: "ack" | "resolve"): (data: StoreData) => StoredFinding {
  const who = requireText(by, "Who acted (by)");
  const at = iso(now);
  return (data) => {
    const prev = Object.hasOwn(data.findings, findingId) ? data.findings[findingId] : undefined;
    if (!prev) throw new StoreError("not-found", `No finding ${findingId} in the store (it may have been pruned).`);
    if (action === "ack") {
      const kept = ackKeepingDecisions(prev, who, at);
      if (kept) {
        data.findings[findingId] = kept.next;
        appendAudit(data, { at, actor: who, action, target: findingId, detail: kept.detail });
        return kept.next;
      }
    }
    const next: StoredFinding = {
      ...prev,
      history: withHistory(prev, { at, by: who, action, severity: prev.severity }),
    };
    delete next.suppressedBy;
    if (action === "ack") {
      next.status = "acknowledged";
      next.acknowledged = { by: who, at, severity: prev.severity };
      delete next.resolved;
    } else {
      next.status = "resolved";
      next.resolved = { by: who, at };
      delete next.acknowledged;
    }
    data.findings[findingId] = next;
    appendAudit(data, { at, actor: who, action, target: findingId, detail: `severity ${prev.severity}; was ${prev.status}` });
    return next;
  };
}

/**
 * An acknowledgement that must not overwrite an earlier decision: on a suppressed finding it
 * leaves the suppression as it is, on an acknowledged one it leaves the first acknowledgement
 * visible. Either way it is recorded in the history (and the audit log). Undefined otherwise.
 */
function ackKeepingDecisions(prev: StoredFinding, who: string, at: string): { next: StoredFinding; detail: string } | undefined {
  let detail: string;
  if (prev.status === "suppressed") detail = `noted while suppressed by ${prev.suppressedBy ?? "?"}: the suppression stays`;
  else if (prev.status === "acknowledged" && prev.acknowledged) detail = `also acknowledged; first by ${prev.acknowledged.by} at ${prev.acknowledged.at}, kept`;
  else return undefined;
  const next: StoredFinding = { ...prev, history: withHistory(prev, { at, by: who, action: "ack", severity: prev.severity, detail }) };
  return { next, detail: `severity ${prev.severity}; ${detail}` };
}
