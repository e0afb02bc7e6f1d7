/**
 * The audit log: who decided what (acknowledgements, suppressions, containments, prunes). The
 * store keeps the newest `auditCap` entries; older ones are appended to `<dir>/audit-<date>.jsonl`
 * (by the write queue, before the store that no longer holds them is written).
 */
import path from "node:path";
import { appendFileDurable } from "./durable-file.js";
import { StoreError } from "./errors.js";
import { AUDIT_ACTIONS } from "./schema.js";
import type { AuditAction, AuditEntry, StoreData } from "./types.js";
import { iso, jsonClone, requireText } from "./values.js";

/** Audit entries kept in the store by default. */
export const AUDIT_CAP = 5_000;

function checkAction(action: unknown): void {
  if (!(AUDIT_ACTIONS as readonly string[]).includes(action as string)) throw new StoreError("invalid", `Unknown audit action ${String(action)}`);
}

/** A caller's entry, validated and in its stored form (`at` as ISO, a target, an actor). */
export function auditEntry(entry: AuditEntry): AuditEntry {
  checkAction(entry.action);
  return jsonClone(
    {
      at: iso(entry.at),
      actor: requireText(entry.actor, "Audit actor"),
      action: entry.action as AuditAction,
      target: String(entry.target ?? ""),
      ...(entry.detail !== undefined ? { detail: String(entry.detail) } : {}),
    },
    "Audit entry",
  );
}

/** An entry that comes with a containment change: its action checked, `at` as ISO, the rest as given. */
export function containmentAuditEntry(entry: AuditEntry): AuditEntry {
  checkAction(entry.action);
  return jsonClone({ ...entry, at: iso(entry.at) }, "Audit entry");
}

export function appendAudit(data: StoreData, e: AuditEntry): void {
  data.audit.push(e);
}

/** The newest `limit` entries in the store, newest first. */
export function auditLog(data: StoreData, limit = 50): AuditEntry[] {
  const a = data.audit;
  return a.slice(Math.max(0, a.length - limit)).reverse();
}

/** Take the entries past `cap` (the oldest) out of the store: they go to the .jsonl files. */
export function capAudit(data: StoreData, cap: number): AuditEntry[] {
  const over = data.audit.length - cap;
  return over > 0 ? data.audit.splice(0, over) : [];
}

/**
 * Append rotated entries (and fsync) to `audit-<date of entry>.jsonl` in `dir`. The queue does
 * this before writing the store that no longer holds them: a crash in between duplicates lines,
 * never loses one. `today` dates an entry whose `at` does not start with a date.
 */
export async function appendRotatedAudit(dir: string, entries: readonly AuditEntry[], today: () => number): Promise<void> {
  const byDate = new Map<string, string[]>();
  for (const e of entries) {
    const d = /^\d{4}-\d{2}-\d{2}/.exec(e.at)?.[0] ?? new Date(today()).toISOString().slice(0, 10);
    const lines = byDate.get(d) ?? [];
    lines.push(JSON.stringify(e));
    byDate.set(d, lines);
  }
  for (const [d, lines] of byDate) await appendFileDurable(path.join(dir, `audit-${d}.jsonl`), lines.join("\n") + "\n");
}
