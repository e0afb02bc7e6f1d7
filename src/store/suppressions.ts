/**
 * Suppressions: "stop telling us about this until then", with a reason. Scopes, most specific
 * first: identity-detector (same identity key and detector), identity (same identity key), ip
 * (the finding's sourceIp), detector (that detector everywhere). A suppression hides the open
 * findings it covers; when it is removed, or runs out and its expiry is announced, the findings
 * it hid are open again unless another active suppression covers them.
 */
import type { Finding } from "../scan/report-types.js";
import { appendAudit } from "./audit.js";
import { StoreError } from "./errors.js";
import type { FindingAction, StoreData, StoredFinding, Suppression, SuppressionScope } from "./types.js";
import { iso, ms, newId, requireText, withHistory, type When } from "./values.js";

export interface SuppressInput {
  scope: SuppressionScope;
  identityKey?: string;
  detector?: string;
  sourceIp?: string;
  until: When;
  reason: string;
  by: string;
}

/** What a suppression looks at in a finding. */
export type Suppressible = Pick<Finding, "detector" | "identity" | "sourceIp">;

export function suppressionMatches(s: Suppression, f: Suppressible): boolean {
  switch (s.scope) {
    case "identity-detector":
      return s.identityKey === f.identity.key && s.detector === f.detector;
    case "identity":
      return s.identityKey === f.identity.key;
    case "ip":
      return f.sourceIp !== undefined && s.sourceIp === f.sourceIp;
    case "detector":
      return s.detector === f.detector;
  }
}

const SCOPE_ORDER: Record<SuppressionScope, number> = { "identity-detector": 0, identity: 1, ip: 2, detector: 3 };

export function isActive(s: Suppression, nowMs: number): boolean {
  return !s.removed && Date.parse(s.until) > nowMs;
}

/** The most specific active suppression that covers the finding. */
export function findSuppression(list: readonly Suppression[], f: Suppressible, nowMs: number): Suppression | undefined {
  let best: Suppression | undefined;
  for (const s of list) {
    if (!isActive(s, nowMs) || !suppressionMatches(s, f)) continue;
    if (!best || SCOPE_ORDER[s.scope] < SCOPE_ORDER[best.scope]) best = s;
  }
  return best;
}

export function describeSuppression(s: Pick<Suppression, "scope" | "identityKey" | "detector" | "sourceIp">): string {
  switch (s.scope) {
    case "identity-detector":
      return `${s.detector} for ${s.identityKey}`;
    case "identity":
      return `everything for ${s.identityKey}`;
    case "ip":
      return `everything from ${s.sourceIp}`;
    case "detector":
      return `${s.detector} everywhere`;
  }
}

/**
 * Create a suppression: only the fields of its scope are kept, a reason is required and `until`
 * must be in the future. Open findings it covers become "suppressed".
 */
export function prepSuppress(input: SuppressInput, now: When): (data: StoreData) => Suppression {
  let sup: Omit<Suppression, "id">;
  const nowMs = ms(now);
  const reason = requireText(input.reason, "A reason");
  const by = requireText(input.by, "Who suppresses (by)");
  const untilMs = ms(input.until);
  if (untilMs <= nowMs) throw new StoreError("invalid", `The suppression end (${iso(untilMs)}) must be in the future`);
  const base = { reason, by, createdAt: iso(nowMs), until: iso(untilMs) };
  switch (input.scope) {
    case "identity-detector":
      sup = { scope: input.scope, identityKey: requireText(input.identityKey, "identityKey"), detector: requireText(input.detector, "detector"), ...base };
      break;
    case "identity":
      sup = { scope: input.scope, identityKey: requireText(input.identityKey, "identityKey"), ...base };
      break;
    case "ip":
      sup = { scope: input.scope, sourceIp: requireText(input.sourceIp, "sourceIp"), ...base };
      break;
    case "detector":
      sup = { scope: input.scope, detector: requireText(input.detector, "detector"), ...base };
      break;
    default:
      throw new StoreError("invalid", `Unknown suppression scope ${String((input as { scope: unknown }).scope)}`);
  }
  return (data) => {
    const s: Suppression = { id: newId("s-", (id) => data.suppressions.some((x) => x.id === id)), ...sup };
    data.suppressions.push(s);
    for (const id in data.findings) {
      const f = data.findings[id]!;
      if (f.status !== "open" || !suppressionMatches(s, f.finding)) continue;
      data.findings[id] = {
        ...f,
        status: "suppressed",
        suppressedBy: s.id,
        history: withHistory(f, { at: s.createdAt, by: s.by, action: "suppress", detail: `${s.id}: ${s.reason}` }),
      };
    }
    appendAudit(data, {
      at: s.createdAt,
      actor: s.by,
      action: "suppress",
      target: s.id,
      detail: `${describeSuppression(s)} until ${s.until}: ${s.reason}`,
    });
    return s;
  };
}

/** The ids of the findings a suppression hides now. */
export function findingsSuppressedBy(data: StoreData, suppressionId: string): string[] {
  return Object.values(data.findings)
    .filter((f) => f.suppressedBy === suppressionId)
    .map((f) => f.id);
}

/** End a suppression now (StoreError "not-found" in the queue). Findings it hid become open again (unless another one covers them). */
export function prepUnsuppress(id: string, by: string, now: When): (data: StoreData) => Suppression {
  const who = requireText(by, "Who unsuppresses (by)");
  const at = iso(now);
  const nowMs = ms(now);
  return (data) => {
    const i = data.suppressions.findIndex((s) => s.id === id);
    if (i < 0) throw new StoreError("not-found", `No suppression ${id}.`);
    const prev = data.suppressions[i]!;
    if (prev.removed) return prev;
    const s: Suppression = { ...prev, removed: { by: who, at } };
    data.suppressions[i] = s;
    releaseFindings(data, new Set([id]), nowMs, { at, by: who, action: "unsuppress", detail: `${id} removed` });
    appendAudit(data, { at, actor: who, action: "unsuppress", target: id, detail: describeSuppression(s) });
    return s;
  };
}

/** Findings hidden by the given suppressions: suppressed by another active one, or open again. */
function releaseFindings(data: StoreData, ids: Set<string>, nowMs: number, action: FindingAction): void {
  for (const fid in data.findings) {
    const f = data.findings[fid]!;
    if (f.status !== "suppressed" || !f.suppressedBy || !ids.has(f.suppressedBy)) continue;
    const other = findSuppression(data.suppressions, f.finding, nowMs);
    if (other) {
      data.findings[fid] = {
        ...f,
        suppressedBy: other.id,
        history: withHistory(f, { ...action, action: "suppress", detail: `now covered by ${other.id} (${action.detail ?? f.suppressedBy})` }),
      };
    } else {
      const next: StoredFinding = { ...f, status: "open", history: withHistory(f, action) };
      delete next.suppressedBy;
      data.findings[fid] = next;
    }
  }
}

export function getSuppression(data: StoreData, id: string): Suppression | undefined {
  return data.suppressions.find((s) => s.id === id);
}

export function activeSuppressions(data: StoreData, now: When): Suppression[] {
  const t = ms(now);
  return data.suppressions.filter((s) => isActive(s, t));
}

/** Suppressions that have run out and were not announced yet (digests announce each once). */
export function expiredUnannounced(data: StoreData, now: When): Suppression[] {
  const t = ms(now);
  return data.suppressions.filter((s) => !s.removed && !s.expiryAnnounced && Date.parse(s.until) <= t);
}

/** Record that these expiries were announced; findings they hid become open again. */
export function prepExpiryAnnounced(ids: readonly string[], now: When): (data: StoreData) => void {
  const nowMs = ms(now);
  const want = new Set(ids);
  return (data) => {
    data.suppressions = data.suppressions.map((s) => (want.has(s.id) && !s.expiryAnnounced ? { ...s, expiryAnnounced: true } : s));
    const expired = new Set(data.suppressions.filter((s) => want.has(s.id) && !isActive(s, nowMs)).map((s) => s.id));
    releaseFindings(data, expired, nowMs, { at: iso(nowMs), by: "trailhound", action: "reopen", detail: "suppression expired" });
  };
}
