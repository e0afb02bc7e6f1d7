/**
 * One finding as Block Kit: what, who, why, ATT&CK, what to check next, its state, and the
 * Acknowledge / Suppress… / Details buttons. Pure; used by scan results, the digest and Home.
 *
 * Block ids are `fnd:<index>:<part>`: the index (unique within one message) lets an action
 * handler find the blocks of the finding that was clicked and rebuild them in place. Buttons carry
 * only the finding id; everything else is looked up in the store.
 */
import type { types } from "@slack/bolt";
import { SEVERITY_RANK, type Severity } from "../../events/types.js";
import type { Finding } from "../../scan/report-types.js";
import type { FindingStatus, StoredFinding, Suppression, SuppressionScope } from "../../store/types.js";
import { LIMITS, type Block } from "./limits.js";
import { code, esc, mention, mrkdwn, plain, slackDate, truncate } from "./text.js";

export const FINDING_ACTIONS = {
  ack: "finding_ack",
  suppress: "finding_suppress",
  details: "finding_details",
  contain: "finding_contain",
} as const;

export const SEVERITY_EMOJI: Record<Severity, string> = {
  critical: ":rotating_light:",
  high: ":red_circle:",
  medium: ":large_orange_circle:",
  low: ":large_yellow_circle:",
  info: ":white_circle:",
};

/** What the store says about a finding, for rendering. */
export interface FindingState {
  status: FindingStatus;
  acknowledged?: { by: string; at: string };
  resolved?: { by: string; at: string };
  suppression?: Pick<Suppression, "id" | "by" | "until" | "reason" | "scope">;
  /** Containment is on and some action fits the finding: show Contain… (src/respond). */
  containable?: boolean;
  /** The latest containment that did something (executed or undone). */
  contained?: { by: string; at: string; summary: string; undone?: { by: string; at: string } };
}

export function stateOf(stored: StoredFinding | undefined, suppression?: Suppression): FindingState {
  if (!stored) return suppression ? { status: "suppressed", suppression } : { status: "open" };
  return {
    status: suppression ? "suppressed" : stored.status,
    ...(stored.acknowledged ? { acknowledged: { by: stored.acknowledged.by, at: stored.acknowledged.at } } : {}),
    ...(stored.resolved ? { resolved: stored.resolved } : {}),
    ...(suppression ? { suppression } : {}),
  };
}

export function findingPrefix(index: number): string {
  return `fnd:${index}:`;
}

/** The finding index encoded in a block id, or undefined. */
export function findingIndexOf(blockId: string | undefined): number | undefined {
  const m = /^fnd:(\d{1,6}):/.exec(blockId ?? "");
  return m ? Number(m[1]) : undefined;
}

const ATTACK_ID = /^T\d{4}(\.\d{3})?$/;

function attackLinks(ids: string[]): string {
  return ids
    .slice(0, 6)
    .map((id) => (ATTACK_ID.test(id) ? `<https://attack.mitre.org/techniques/${id.replace(".", "/")}/|${id}>` : esc(id)))
    .join(", ");
}

export function identityLabel(f: Pick<Finding, "identity">): string {
  const i = f.identity;
  return i.userName ?? i.arn ?? i.key;
}

export const SCOPE_LABEL: Record<SuppressionScope, string> = {
  "identity-detector": "this identity and detector",
  identity: "this identity",
  ip: "this source IP",
  detector: "this detector everywhere",
};

function stateLine(state: FindingState): string | undefined {
  const parts: string[] = [];
  if (state.suppression) {
    const s = state.suppression;
    parts.push(`:mute: Suppressed by ${mention(s.by)} until ${slackDate(s.until)} (${SCOPE_LABEL[s.scope] ?? esc(s.scope)}): ${esc(truncate(s.reason, 300))}`);
  }
  if (state.contained) {
    const c = state.contained;
    parts.push(
      c.undone
        ? `:unlock: Containment undone by ${mention(c.undone.by)} · ${slackDate(c.undone.at)} (${esc(truncate(c.summary, 300))})`
        : `:lock: Contained by ${mention(c.by)} · ${slackDate(c.at)}: ${esc(truncate(c.summary, 300))}`,
    );
  }
  if (state.acknowledged) parts.push(`:white_check_mark: Acknowledged by ${mention(state.acknowledged.by)} · ${slackDate(state.acknowledged.at)}`);
  if (state.resolved) parts.push(`:heavy_check_mark: Resolved by ${mention(state.resolved.by)} · ${slackDate(state.resolved.at)}`);
  return parts.length > 0 ? parts.join("\n") : undefined;
}

export interface FindingBlockOptions {
  /** One section + actions, for Home and digests. */
  compact?: boolean;
  /** Hide the buttons (e.g. read-only renderings). */
  buttons?: boolean;
}

/** The main text of a finding (mrkdwn, escaped, ≤ 3000). */
export function findingText(f: Finding, compact = false): string {
  const lines: string[] = [];
  const sev = f.severity in SEVERITY_EMOJI ? f.severity : "info";
  lines.push(`${SEVERITY_EMOJI[sev]} *${sev.toUpperCase()}* · *${esc(truncate(f.title || f.detector || "finding", 200))}* · score ${Math.round(Number(f.score) || 0)}`);
  const who = [`*Who:* ${code(identityLabel(f), 160)}`];
  if (f.identity.sessionName) who.push(`session ${code(f.identity.sessionName, 80)}`);
  if (f.identity.accountId) who.push(`account ${code(f.identity.accountId, 20)}`);
  if (f.sourceIp) who.push(`*IP:* ${code(f.sourceIp, 60)}`);
  if (f.region) who.push(`*Region:* ${code(f.region, 30)}`);
  lines.push(who.join(" · "));
  lines.push(`*Why:* ${esc(truncate(f.why ?? "", compact ? 500 : 1200))}`);
  if (!compact && f.investigate?.length) {
    lines.push(
      "*Check next:*\n" +
        f.investigate
          .slice(0, 4)
          .map((s) => `• ${esc(truncate(s, 250))}`)
          .join("\n"),
    );
  }
  return truncate(lines.join("\n"), LIMITS.sectionText);
}

function contextLine(f: Finding): string {
  const bits: string[] = [];
  if (f.attack?.length) bits.push(`ATT&amp;CK ${attackLinks(f.attack)}`);
  bits.push(`${f.count} event${f.count === 1 ? "" : "s"}`);
  if (f.firstSeen) bits.push(f.firstSeen === f.lastSeen ? slackDate(f.firstSeen) : `${slackDate(f.firstSeen)} → ${slackDate(f.lastSeen)}`);
  if (f.failed) bits.push("attempt only: every call failed");
  bits.push(code(f.detector, 80));
  return truncate(bits.join(" · "), LIMITS.sectionText);
}

export function findingButtons(findingId: string, state: FindingState, index: number): types.ActionsBlock | undefined {
  if (findingId.length === 0 || findingId.length > LIMITS.buttonValue) return undefined;
  const elements: types.Button[] = [];
  if (state.status === "open") {
    elements.push({ type: "button", action_id: FINDING_ACTIONS.ack, text: plain("Acknowledge", 75), value: findingId, style: "primary" });
  }
  if (state.status !== "suppressed") {
    elements.push({ type: "button", action_id: FINDING_ACTIONS.suppress, text: plain("Suppress…", 75), value: findingId });
  }
  elements.push({ type: "button", action_id: FINDING_ACTIONS.details, text: plain("Details", 75), value: findingId });
  if (state.containable) elements.push({ type: "button", action_id: FINDING_ACTIONS.contain, text: plain("Contain…", 75), value: findingId, style: "danger" });
  return { type: "actions", block_id: `${findingPrefix(index)}a`, elements };
}

/** The blocks of one finding: at most 4 (compact: at most 3). */
export function findingBlocks(f: Finding, index: number, state: FindingState = { status: "open" }, opts: FindingBlockOptions = {}): Block[] {
  const p = findingPrefix(index);
  const blocks: Block[] = [{ type: "section", block_id: `${p}s`, text: mrkdwn(findingText(f, opts.compact)) }];
  if (!opts.compact) blocks.push({ type: "context", block_id: `${p}c`, elements: [mrkdwn(contextLine(f))] });
  const st = stateLine(state);
  if (st) blocks.push({ type: "context", block_id: `${p}st`, elements: [mrkdwn(st)] });
  if (opts.buttons !== false) {
    const actions = findingButtons(f.id, state, index);
    if (actions) blocks.push(actions);
  }
  return blocks;
}

/** Upper bound of findingBlocks().length, for packing messages. */
export function findingBlockCount(opts: FindingBlockOptions = {}): number {
  return opts.compact ? 3 : 4;
}

/**
 * Replace the blocks of finding `index` inside a message's blocks with `replacement` (same
 * position). Blocks of other findings and the rest of the message are kept as they are.
 */
export function replaceFindingBlocks(blocks: Block[], index: number, replacement: Block[]): Block[] {
  const p = findingPrefix(index);
  const at = blocks.findIndex((b) => typeof b.block_id === "string" && b.block_id.startsWith(p));
  if (at < 0) return blocks;
  const rest = blocks.filter((b, i) => i < at || !(typeof b.block_id === "string" && b.block_id.startsWith(p)));
  return [...rest.slice(0, at), ...replacement, ...rest.slice(at)];
}

/** Most severe first, then highest score, then most recent. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    (SEVERITY_RANK[b.severity] ?? 0) - (SEVERITY_RANK[a.severity] ?? 0) || (Number(b.score) || 0) - (Number(a.score) || 0) || String(b.lastSeen).localeCompare(String(a.lastSeen))
  );
}
