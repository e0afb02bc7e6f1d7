/**
 * `trailhound audit [--limit N] [--store DIR] [--format text|json] [--actor ID] [--action A]`: the
 * audit log, newest first: who, what, when, the outcome (refusals and signature failures
 * included). Reads the store file without opening it for writing (safe while the bot runs), and
 * the rotated `audit-<date>.jsonl` files when the store holds fewer entries than asked.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { decodeStore } from "./codec.js";
import { isStoreError } from "./errors.js";
import { storeFile } from "./maintenance.js";
import type { AuditEntry } from "./types.js";

export interface AuditCliOptions {
  store: string;
  limit?: string;
  format?: "text" | "json";
  actor?: string;
  action?: string;
}

type Out = (line: string) => void;

/** Control characters (terminal escapes in attacker-supplied text) shown as \uXXXX. */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export function auditTextLine(e: AuditEntry): string {
  const outcome = e.action === "refused" ? "REFUSED" : e.action;
  return `${e.at}  ${clean(e.actor)}  ${outcome}  ${clean(e.target)}${e.detail ? `  ${clean(e.detail)}` : ""}`;
}

/** Rotated entries, newest first, from `audit-<date>.jsonl` files (malformed lines counted). */
async function rotated(dir: string, want: number): Promise<{ entries: AuditEntry[]; bad: number }> {
  const files = (await readdir(dir))
    .filter((f) => /^audit-\d{4}-\d{2}-\d{2}\.jsonl$/.test(f))
    .sort()
    .reverse();
  const entries: AuditEntry[] = [];
  let bad = 0;
  for (const f of files) {
    if (entries.length >= want) break;
    const lines = (await readFile(path.join(dir, f), "utf8")).split("\n").filter((l) => l.trim() !== "");
    const parsed: AuditEntry[] = [];
    for (const l of lines) {
      try {
        const e = JSON.parse(l) as AuditEntry;
        if (typeof e.at === "string" && typeof e.actor === "string" && typeof e.action === "string") parsed.push(e);
        else bad++;
      } catch {
        bad++;
      }
    }
    entries.push(...parsed.reverse());
  }
  return { entries, bad };
}

export async function auditCommand(o: AuditCliOptions, out: Out = (l) => process.stdout.write(`${l}\n`), err: Out = (l) => process.stderr.write(`${l}\n`)): Promise<number> {
  const limit = o.limit === undefined ? 50 : Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    err(`trailhound: --limit must be a whole number of entries, at least 1 (got ${o.limit})`);
    return 2;
  }
  const file = storeFile(o.store);
  if (!existsSync(file)) {
    err(`trailhound: no store at ${file}: pass --store DIR (or set TRAILHOUND_DATA_DIR)`);
    return 2;
  }
  let inStore: AuditEntry[];
  try {
    inStore = decodeStore(await readFile(file), file, o.store).data.audit;
  } catch (e) {
    if (isStoreError(e)) {
      err(`trailhound: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const match = (e: AuditEntry) => (o.actor === undefined || e.actor === o.actor) && (o.action === undefined || e.action === o.action);
  const newest = inStore.filter(match).reverse();
  let older = { entries: [] as AuditEntry[], bad: 0 };
  if (newest.length < limit) older = await rotated(o.store, limit - newest.length);
  const all = [...newest, ...older.entries.filter(match)];
  const shown = all.slice(0, limit);
  if (o.format === "json") {
    out(JSON.stringify({ entries: shown, shown: shown.length, inStore: inStore.length, ...(older.bad ? { unreadableLines: older.bad } : {}) }, null, 1));
  } else {
    if (shown.length === 0) out("The audit log has no matching entry.");
    for (const e of shown) out(auditTextLine(e));
    const more = all.length > shown.length ? `; more with --limit ${Math.max(limit * 2, 100)}` : "";
    out(`(${shown.length} entr${shown.length === 1 ? "y" : "ies"}, newest first${more}${older.bad ? `; ${older.bad} unreadable lines in the audit-*.jsonl files skipped` : ""})`);
  }
  return 0;
}
