/** `/cloudtrail audit [N]`: the newest audit entries, newest first (who, what, when, outcome). Pure. */
import type { AuditEntry } from "../../store/types.js";
import type { Block, SlackMessage } from "./limits.js";
import { code, esc, mention, mrkdwn, plural, slackDate, truncate } from "./text.js";

/** Section text is limited to 3000 characters: lines are packed into sections below this. */
const SECTION_CHARS = 2800;
const MAX_SECTIONS = 40;

/** Who: a Slack user id is mentioned, anything else ("trailhound", "unverified") shown as code. */
function actor(a: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(a) ? mention(a) : code(a, 60);
}

export function auditLine(e: AuditEntry): string {
  const outcome = e.action === "refused" ? ":no_entry: refused" : esc(e.action);
  return `• ${slackDate(e.at)} · ${actor(e.actor)} · ${outcome} ${code(e.target, 120)}${e.detail ? `: ${esc(truncate(e.detail, 300))}` : ""}`;
}

/** `entries` newest first; `total` = entries in the store's log (the rest are in audit-*.jsonl files). */
export function auditMessage(entries: AuditEntry[], asked: number, total: number): SlackMessage {
  const blocks: Block[] = [];
  let cur: string[] = [];
  let len = 0;
  let shown = 0;
  for (const e of entries) {
    const line = auditLine(e);
    if (len + line.length + 1 > SECTION_CHARS && cur.length > 0) {
      if (blocks.length + 1 >= MAX_SECTIONS) break;
      blocks.push({ type: "section", block_id: `audit:${blocks.length}`, text: mrkdwn(cur.join("\n")) });
      cur = [];
      len = 0;
    }
    cur.push(line);
    len += line.length + 1;
    shown++;
  }
  if (cur.length > 0) blocks.push({ type: "section", block_id: `audit:${blocks.length}`, text: mrkdwn(cur.join("\n")) });
  const head =
    entries.length === 0
      ? "The audit log is empty."
      : `Audit log: the newest ${plural(shown, "entry", "entries")} of ${total} in the store${shown < Math.min(asked, entries.length) ? ` (${entries.length - shown} more did not fit in one message: use \`trailhound audit\` in the CLI)` : ""}, newest first.`;
  blocks.unshift({ type: "context", block_id: "audit:h", elements: [mrkdwn(`${head} Older entries are in the store's audit-*.jsonl files.`)] });
  return { text: head, blocks };
}
