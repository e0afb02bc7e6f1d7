/**
 * A digest plan as Slack messages. Pure.
 *
 *   part 0 (in the channel): header with the counts by severity and the window covered, what was
 *          not repeated (suppressed, still open, acknowledged), expired suppressions, then the top
 *          findings with the bot's own blocks and buttons (Acknowledge / Suppress… / Details, same
 *          action ids, so the bot's handlers work on digest messages), and "…and N more".
 *   parts 1..n (its thread): the other findings, at most 50 blocks per message.
 *   A quiet day: one short line, or no message at all (quiet=silent).
 *
 * Finding blocks keep the `fnd:<index>:` ids of the bot's builder (the handlers re-render a
 * finding in place from them); the digest's own blocks use `dg:` ids. Every value that comes
 * from CloudTrail goes through the bot's escaping helpers.
 */
import { SEVERITIES, type Severity } from "../events/types.js";
import { suppressionLine } from "../slack/views/details.js";
import { findingBlockCount, findingBlocks, findingIndexOf, SEVERITY_EMOJI } from "../slack/views/finding.js";
import { LIMITS, type Block, type SlackMessage } from "../slack/views/limits.js";
import { code, fallbackText, mrkdwn, plain, plural, slackDate, truncate } from "../slack/views/text.js";
import type { DigestPart } from "../store/types.js";
import type { DigestItem, DigestPlan } from "./plan.js";

export interface MessageOptions {
  /** Findings continued in the thread at most; the rest are counted. */
  maxInThread: number;
}

export const DEFAULT_MESSAGE_OPTIONS: MessageOptions = { maxInThread: 96 };

/** Blocks of one finding in a digest: its change label, then the bot's compact finding blocks. */
const ITEM_BLOCKS = 1 + findingBlockCount({ compact: true });

function label(item: DigestItem): string {
  switch (item.change) {
    case "new":
      return item.alertedAt ? `:rotating_light: *Alerted* at ${item.alertedAt.slice(11, 16)} UTC` : ":new: *New*";
    case "worse":
      return `:arrow_double_up: *Worse*: was ${item.was ?? "lower"}`;
    case "reopened":
      return `:leftwards_arrow_with_hook: *Reopened*${item.was ? ` (reported before at ${item.was})` : ""}`;
  }
}

function itemBlocks(item: DigestItem, index: number): Block[] {
  return [{ type: "context", block_id: `dg:l:${index}`, elements: [mrkdwn(label(item))] }, ...findingBlocks(item.finding, index, item.state, { compact: true })];
}

function bySeverity(items: DigestItem[]): Array<[Severity, number]> {
  const n = new Map<Severity, number>();
  for (const i of items) n.set(i.finding.severity, (n.get(i.finding.severity) ?? 0) + 1);
  return SEVERITIES.filter((s) => n.get(s)).map((s) => [s, n.get(s)!]);
}

function scopeLabel(plan: DigestPlan): string {
  const f = plan.schedule.filters;
  const bits = [f.account ? `account ${f.account}` : "", f.region ?? ""].filter(Boolean);
  return bits.length ? bits.join(" · ") : "";
}

function windowText(plan: DigestPlan): string {
  return `${slackDate(plan.window.start)} → ${slackDate(plan.window.end)}`;
}

/** What was not repeated, for the header and the quiet line. */
function notRepeated(plan: DigestPlan): string[] {
  const out: string[] = [];
  if (plan.suppressed) out.push(`:mute: ${plan.suppressed} suppressed`);
  if (plan.stillOpen) out.push(`:eyes: ${plan.stillOpen} still open, reported before`);
  if (plan.acknowledged) out.push(`:white_check_mark: ${plan.acknowledged} acknowledged, not repeated`);
  return out;
}

/** The digest's messages; empty when there is nothing to say and the schedule is silent on quiet days. */
export function digestMessages(plan: DigestPlan, opts: MessageOptions = DEFAULT_MESSAGE_OPTIONS): DigestPart[] {
  const scope = scopeLabel(plan);
  const catchUp = plan.catchUp ? " (catch-up: trailhound was not running at the scheduled time)" : "";
  if (plan.items.length === 0 && plan.expiries.length === 0) {
    if (plan.schedule.quiet === "silent") return [];
    const extra = [`${plan.events.toLocaleString("en-US")} events`, ...notRepeated(plan).map((s) => s.replace(/^:[a-z_]+: /, ""))];
    const partial = plan.partialReasons.length ? " :warning: partial data" : "";
    const text = fallbackText(
      `:white_check_mark: trailhound digest${scope ? ` (${scope})` : ""}: nothing new or worse in CloudTrail from ${windowText(plan)}${catchUp} · ${extra.join(" · ")}${partial}`,
    );
    return [{ text, blocks: [], thread: false }];
  }

  const counts = bySeverity(plan.items);
  const head: Block[] = [
    { type: "header", block_id: "dg:h", text: plain(`CloudTrail ${plan.schedule.kind === "alert" ? "alert" : "digest"}${scope ? ` · ${scope}` : ""}`, LIMITS.headerText) },
    {
      type: "section",
      block_id: "dg:sum",
      text: mrkdwn(
        plan.items.length
          ? `*${plural(plan.items.length, "new or worse finding")}*: ${counts.map(([s, n]) => `${SEVERITY_EMOJI[s]} ${n} ${s}`).join(" · ")}`
          : "*No new or worse findings.*",
      ),
    },
    {
      type: "context",
      block_id: "dg:win",
      elements: [mrkdwn(`Covering ${windowText(plan)}${catchUp} · ${plan.events.toLocaleString("en-US")} events scanned`)],
    },
  ];
  const nr = notRepeated(plan);
  if (nr.length) head.push({ type: "context", block_id: "dg:nr", elements: [mrkdwn(nr.join(" · "))] });
  if (plan.partialReasons.length) {
    head.push({
      type: "context",
      block_id: "dg:partial",
      elements: [mrkdwn(truncate(`:warning: Partial data: ${plan.partialReasons.map((r) => code(r, 300)).join(", ")}`, LIMITS.sectionText))],
    });
  }
  if (plan.expiries.length) {
    const shown = plan.expiries.slice(0, 8);
    const lines = shown.map(
      (e) => `• ${suppressionLine(e.suppression)}${e.released ? `\n   ${plural(e.released, "finding")} it hid ${e.released === 1 ? "is" : "are"} open again` : ""}`,
    );
    const more = plan.expiries.length > shown.length ? `\n…and ${plan.expiries.length - shown.length} more: \`/cloudtrail suppressions\`` : "";
    head.push({
      type: "section",
      block_id: "dg:exp",
      text: mrkdwn(
        truncate(
          `:alarm_clock: *${plural(plan.expiries.length, "suppression")} expired*; what they hid is reported again:\n${lines.join("\n")}`,
          LIMITS.sectionText - more.length,
        ) + more,
      ),
    });
  }

  const top = Math.max(0, Math.min(plan.schedule.top, Math.floor((LIMITS.messageBlocks - head.length - 2) / ITEM_BLOCKS)));
  const first = plan.items.slice(0, top);
  const rest = plan.items.slice(top);
  const inThread = rest.slice(0, opts.maxInThread);
  const notShown = rest.length - inThread.length;

  const main: Block[] = [...head];
  if (first.length) main.push({ type: "divider", block_id: "dg:d" });
  for (const [i, item] of first.entries()) main.push(...itemBlocks(item, i));
  if (rest.length) main.push({ type: "context", block_id: "dg:more", elements: [mrkdwn(`…and ${rest.length} more in the thread :thread:`)] });

  const sevText = counts.map(([s, n]) => `${n} ${s}`).join(", ");
  const parts: DigestPart[] = [
    {
      text: fallbackText(
        `trailhound digest${scope ? ` (${scope})` : ""}: ${plan.items.length ? `${plural(plan.items.length, "new or worse finding")} (${sevText})` : "no new or worse findings"}${plan.expiries.length ? `, ${plural(plan.expiries.length, "suppression")} expired` : ""}${plan.suppressed ? `, ${plan.suppressed} suppressed` : ""}`,
      ),
      blocks: main,
      thread: false,
    },
  ];

  // The thread: as many findings per message as fit in 50 blocks (one block for the heading).
  const perMessage = Math.floor((LIMITS.messageBlocks - 2) / ITEM_BLOCKS);
  for (let at = 0; at < inThread.length; at += perMessage) {
    const chunk = inThread.slice(at, at + perMessage);
    const from = top + at + 1;
    const to = top + at + chunk.length;
    const range = from === to ? `Finding ${from}` : `Findings ${from}–${to}`;
    const blocks: Block[] = [{ type: "context", block_id: "dg:t", elements: [mrkdwn(`${range} of ${plan.items.length}, most severe first`)] }];
    for (const [i, item] of chunk.entries()) blocks.push(...itemBlocks(item, top + at + i));
    const last = at + perMessage >= inThread.length;
    if (last && notShown > 0) {
      blocks.push({
        type: "context",
        block_id: "dg:cut",
        elements: [mrkdwn(`…and ${plural(notShown, "more finding")}, less severe: see the Home tab or \`/cloudtrail status\``)],
      });
    }
    parts.push({ text: fallbackText(`trailhound digest, continued: ${range.toLowerCase()} of ${plan.items.length}`), blocks, thread: true });
  }
  return parts;
}

/**
 * Which part shows each finding: the id its buttons carry (the actions block of `fnd:<index>:`),
 * so that a click in any post of a finding can update the others (DigestRecord.findingParts).
 */
export function findingPartsOf(parts: readonly DigestPart[]): Record<string, number> {
  const out: Record<string, number> = {};
  parts.forEach((part, i) => {
    for (const b of part.blocks as Block[]) {
      if (b.type !== "actions" || findingIndexOf(b.block_id) === undefined) continue;
      const id = b.elements.find((el) => el.type === "button" && typeof el.value === "string");
      if (id && id.type === "button" && typeof id.value === "string" && !(id.value in out)) out[id.value] = i;
    }
  });
  return out;
}

/** A message saying the digest's scan failed (posted best-effort; the next run covers the window again). */
export function digestFailedMessage(plan: Pick<DigestPlan, "window" | "schedule">, message: string): SlackMessage {
  return {
    text: fallbackText(`trailhound digest: the scan failed`),
    blocks: [
      {
        type: "section",
        block_id: "dg:failed",
        text: mrkdwn(
          `:x: *trailhound digest*: the scan for ${slackDate(plan.window.start)} → ${slackDate(plan.window.end)} failed: ${code(truncate(message, 1500), 1600)}\nThe next digest covers this window again.`,
        ),
      },
    ],
  };
}
