/**
 * Containments (src/respond): a proposed, approved, executed or undone action on an identity,
 * changed together with its audit entries in one write.
 */
import { appendAudit, containmentAuditEntry } from "./audit.js";
import { StoreError } from "./errors.js";
import type { AuditEntry, ContainmentRecord, StoreData } from "./types.js";
import { jsonClone } from "./values.js";

/** The next state of a containment (from the current one, undefined when new), and what to audit. */
export type ContainmentChange = (prev: ContainmentRecord | undefined) => { record: ContainmentRecord; audit?: AuditEntry[] };

export function getContainment(data: StoreData, id: string): ContainmentRecord | undefined {
  const c = data.containments;
  return c && Object.hasOwn(c, id) ? c[id] : undefined;
}

/** Containments of a finding, oldest first. */
export function containmentsFor(data: StoreData, findingId: string): ContainmentRecord[] {
  return Object.values(data.containments ?? {})
    .filter((c) => c.findingId === findingId)
    .sort((a, b) => a.proposedAt.localeCompare(b.proposedAt) || a.id.localeCompare(b.id));
}

/**
 * Create or change containment `id`. `change` runs in the queue on the current record and may
 * throw to refuse (nothing is written): checks of the state go there, so that two concurrent
 * approvals cannot both pass.
 */
export function putContainment(data: StoreData, id: string, change: ContainmentChange): ContainmentRecord {
  const all = data.containments ?? {};
  const prev = Object.hasOwn(all, id) ? all[id] : undefined;
  const out = change(prev);
  const record = jsonClone(out.record, `Containment ${id}`);
  if (record.id !== id) throw new StoreError("invalid", `Containment id ${record.id} does not match ${id}`);
  const entries = (out.audit ?? []).map(containmentAuditEntry);
  data.containments = { ...all, [id]: record };
  for (const e of entries) appendAudit(data, e);
  return record;
}
