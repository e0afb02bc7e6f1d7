/**
 * The Details of a finding: evidence, event ids, false positives, history. Posted in the thread
 * of the message that carried the button, or shown in a modal when clicked from Home.
 */
import type { types } from "@slack/bolt";
import { consoleEventUrl } from "../../respond/console.js";
import type { StoredFinding } from "../../store/types.js";
import { findingText, SCOPE_LABEL } from "./finding.js";
import { LIMITS, type Block, type SlackMessage } from "./limits.js";
import { code, esc, fallbackText, mention, mrkdwn, plain, safeJson, slackDate, truncate } from "./text.js";

/** Evidence JSON split into code-block sections of at most this many characters. */
const EVIDENCE_CHUNK = 2800;
const EVIDENCE_SECTIONS = 6;

function field(label: string, value: string): types.MrkdwnElement {
  return mrkdwn(`*${label}*\n${value}`, LIMITS.fieldText);
}

/** JSON in fenced sections; `safeJson` leaves nothing to escape and no backtick to break the fence. */
export function jsonSections(value: unknown, maxSections: number, blockIdPrefix: string, chunk = EVIDENCE_CHUNK): { blocks: Block[]; cut: boolean } {
  const json = safeJson(value);
  const blocks: Block[] = [];
  for (let i = 0; i < json.length && blocks.length < maxSections; i += chunk) {
    blocks.push({ type: "section", block_id: `${blockIdPrefix}${blocks.length}`, text: mrkdwn("```" + json.slice(i, i + chunk) + "```") });
  }
  return { blocks, cut: json.length > chunk * maxSections };
}

export function findingDetailsBlocks(s: StoredFinding, maxBlocks: number = LIMITS.messageBlocks): Block[] {
  const f = s.finding;
  const blocks: Block[] = [{ type: "section", block_id: "det:main", text: mrkdwn(findingText(f)) }];
  const fields = [
    field("Detector", code(f.detector, 120)),
    field("Identity key", code(f.identity.key, 400)),
    field("Type", code(f.identity.type, 60)),
    field("ARN", f.identity.arn ? code(f.identity.arn, 400) : "-"),
    field("Source IP", f.sourceIp ? code(f.sourceIp, 60) : "-"),
    field("Region", f.region ? code(f.region, 40) : "-"),
    field("First seen", slackDate(f.firstSeen)),
    field("Last seen", slackDate(f.lastSeen)),
    field("Events", `${f.count}${f.failed ? " (all failed: an attempt)" : ""}`),
    field("Status", `${esc(s.status)} · seen in ${s.seenInScans} scan${s.seenInScans === 1 ? "" : "s"}`),
  ];
  blocks.push({ type: "section", block_id: "det:fields", fields });
  const ids = f.eventIds ?? [];
  if (ids.length > 0) {
    // Each event linked to the CloudTrail console (event history, that event id and region);
    // only ids shaped like CloudTrail's (UUIDs) become links: the ids come from the logs.
    const region = f.region && /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(f.region) ? f.region : "us-east-1";
    const shown = ids
      .slice(0, 20)
      .map((id) => (/^[0-9a-fA-F-]{36}$/.test(id) ? `<${consoleEventUrl(id, region)}|${id}>` : code(id, 80)))
      .join(" ");
    const more = f.count > ids.length ? ` (showing ${ids.length} of ${f.count})` : "";
    blocks.push({ type: "section", block_id: "det:ids", text: mrkdwn(`*Event ids*${more}\n${shown}`) });
  }
  if (f.falsePositives?.length) {
    blocks.push({
      type: "section",
      block_id: "det:fp",
      text: mrkdwn(
        "*Known false positives*\n" +
          f.falsePositives
            .slice(0, 6)
            .map((x) => `• ${esc(truncate(x, 300))}`)
            .join("\n"),
      ),
    });
  }
  const history = (s.history ?? []).slice(-6);
  const sev = (s.severityHistory ?? []).slice(-4);
  if (history.length > 0 || sev.length > 1) {
    const lines = history.map((h) => `• ${esc(h.action)} by ${mention(h.by)} · ${slackDate(h.at)}${h.detail ? `: ${esc(truncate(h.detail, 200))}` : ""}`);
    if (sev.length > 1) lines.push(`• severity: ${sev.map((x) => `${esc(x.severity)} (${slackDate(x.at, "{date_short}")})`).join(" → ")}`);
    blocks.push({ type: "section", block_id: "det:hist", text: mrkdwn("*History*\n" + lines.join("\n")) });
  }
  if (f.evidence && Object.keys(f.evidence).length > 0) {
    const room = Math.max(0, Math.min(EVIDENCE_SECTIONS, maxBlocks - blocks.length - 2));
    const { blocks: ev, cut } = jsonSections(f.evidence, room, "det:ev");
    if (ev.length > 0) {
      blocks.push({ type: "context", block_id: "det:evh", elements: [mrkdwn("*Evidence* (JSON, attacker-controlled values shown as text)")] });
      blocks.push(...ev);
    }
    if (cut) blocks.push({ type: "context", block_id: "det:evcut", elements: [mrkdwn("Evidence cut to fit in Slack; the CLI report (`--json`) has all of it.")] });
  }
  return blocks.slice(0, maxBlocks);
}

export function findingDetailsMessage(s: StoredFinding): SlackMessage {
  return {
    text: fallbackText(`Details of ${esc(truncate(s.finding.title, 200))} (${esc(s.finding.severity)})`),
    blocks: findingDetailsBlocks(s),
  };
}

export function findingDetailsModal(s: StoredFinding): types.ModalView {
  return {
    type: "modal",
    callback_id: "finding_details_modal",
    title: plain("Finding details", LIMITS.viewTitle),
    close: plain("Close", LIMITS.viewTitle),
    blocks: findingDetailsBlocks(s, LIMITS.viewBlocks),
  };
}

/** A suppression as one line of mrkdwn. */
export function suppressionLine(s: {
  id: string;
  scope: string;
  identityKey?: string;
  detector?: string;
  sourceIp?: string;
  by: string;
  until: string;
  reason: string;
  createdAt: string;
}): string {
  const what: string[] = [];
  if (s.identityKey) what.push(`identity ${code(s.identityKey, 200)}`);
  if (s.detector) what.push(`detector ${code(s.detector, 80)}`);
  if (s.sourceIp) what.push(`IP ${code(s.sourceIp, 60)}`);
  const scope = SCOPE_LABEL[s.scope as keyof typeof SCOPE_LABEL] ?? esc(s.scope);
  return truncate(
    `${code(s.id, 60)} · ${scope}: ${what.join(", ") || "-"}\nby ${mention(s.by)} ${slackDate(s.createdAt, "{date_short}")} · until ${slackDate(s.until)}\n_${esc(truncate(s.reason, 500))}_`,
    LIMITS.sectionText,
  );
}
