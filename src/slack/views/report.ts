/**
 * A scan as Slack messages: the "scanning" message with progress, then the result (summary and
 * the top findings with their buttons), the rest of the findings continued in the thread, and the
 * JSON report in thread chunks. Pure.
 */
import type { types } from "@slack/bolt";
import { SEVERITIES, type Severity } from "../../events/types.js";
import type { Finding, Report } from "../../scan/report-types.js";
import { describeTarget, describeWindow } from "../commands/parse.js";
import type { ScanProgress, ScanRequest } from "../ports.js";
import { compareFindings, findingBlockCount, findingBlocks, identityLabel, SEVERITY_EMOJI, type FindingState } from "./finding.js";
import { LIMITS, type Block, type SlackMessage } from "./limits.js";
import { code, esc, fallbackText, mention, mrkdwn, plain, plural, safeJson, slackDate, truncate } from "./text.js";

export interface ResultOptions {
  /** Findings shown with buttons in the result message itself. */
  inMain: number;
  /** Findings continued in the thread at most (the JSON report has all of them). */
  maxInThread: number;
  /** JSON report: at most this many thread messages, of at most `jsonChunkChars` each. */
  maxJsonMessages: number;
  jsonChunkChars: number;
}

export const DEFAULT_RESULT_OPTIONS: ResultOptions = { inMain: 5, maxInThread: 100, maxJsonMessages: 8, jsonChunkChars: 3000 };

/** The store state of a finding (acknowledged, suppressed…); undefined: open. */
export type StateLookup = (f: Finding) => FindingState | undefined;

function title(req: ScanRequest): string {
  return `${describeTarget(req.target)} · ${describeWindow(req.since, req.until)}`;
}

function bar(fraction: number): string {
  const n = Math.max(0, Math.min(10, Math.round(fraction * 10)));
  return "▓".repeat(n) + "░".repeat(10 - n) + ` ${Math.round(fraction * 100)}%`;
}

export function workingText(req: ScanRequest, queued = 0): string {
  const q = queued > 0 ? ` (${plural(queued, "scan")} ahead of it)` : "";
  return fallbackText(
    `:hourglass_flowing_sand: Working on it: scanning ${code(describeTarget(req.target))} over ${esc(describeWindow(req.since, req.until))}${q}. The result will be posted in this channel.`,
  );
}

export function scanningMessage(req: ScanRequest, progress?: ScanProgress, queued = 0): SlackMessage {
  const head = `:mag: Scanning ${code(describeTarget(req.target), 300)} over ${esc(describeWindow(req.since, req.until))} · requested by ${mention(req.requestedBy)}`;
  const status =
    queued > 0
      ? `Queued: ${plural(queued, "scan")} ahead`
      : progress
        ? `${progress.fraction !== undefined ? bar(progress.fraction) + " · " : ""}${esc(truncate(progress.message, 500))}`
        : "Starting…";
  return {
    text: fallbackText(`Scanning ${esc(describeTarget(req.target))}…`),
    blocks: [
      { type: "section", block_id: "scan:head", text: mrkdwn(head) },
      { type: "context", block_id: "scan:progress", elements: [mrkdwn(status)] },
    ],
  };
}

export function scanFailedMessage(req: ScanRequest, message: string): SlackMessage {
  return {
    text: fallbackText(`Scan of ${esc(describeTarget(req.target))} failed`),
    blocks: [
      {
        type: "section",
        block_id: "scan:failed",
        text: mrkdwn(`:x: The scan of ${code(describeTarget(req.target), 300)} over ${esc(describeWindow(req.since, req.until))} failed: ${esc(truncate(message, 1500))}`),
      },
      { type: "context", block_id: "scan:who", elements: [mrkdwn(`requested by ${mention(req.requestedBy)}`)] },
    ],
  };
}

function severityCounts(findings: Finding[]): string {
  const counts = new Map<Severity, number>();
  for (const f of findings) counts.set(f.severity, (counts.get(f.severity) ?? 0) + 1);
  const parts = SEVERITIES.filter((s) => counts.get(s)).map((s) => `${counts.get(s)} ${s}`);
  return parts.length > 0 ? parts.join(" · ") : "none";
}

function topIdentity(report: Report): { label: string; score: number } | undefined {
  let best: Report["identities"][number] | undefined;
  for (const i of report.identities ?? []) if (!best || i.score > best.score) best = i;
  return best ? { label: best.userName ?? best.arn ?? best.key, score: best.score } : undefined;
}

function summaryBlocks(report: Report, req: ScanRequest): Block[] {
  const f = report.findings ?? [];
  const top = topIdentity(report);
  const identity =
    req.target.kind === "account"
      ? `${esc(describeTarget(req.target))} (${plural(report.stats?.identities ?? report.identities?.length ?? 0, "identity", "identities")})`
      : code(describeTarget(req.target), 300);
  const stats = report.stats;
  const fields: types.MrkdwnElement[] = [
    mrkdwn(`*Identity*\n${identity}`, LIMITS.fieldText),
    mrkdwn(`*Window*\n${slackDate(report.window.start)} → ${slackDate(report.window.end)}`, LIMITS.fieldText),
    mrkdwn(`*Events*\n${stats?.events ?? 0}${stats && stats.errors > 0 ? ` (${stats.errors} errors, ${Math.round((stats.errorRate ?? 0) * 100)}%)` : ""}`, LIMITS.fieldText),
    mrkdwn(`*Score*\n${top ? `${Math.round(top.score)}/100 (${code(top.label, 120)})` : "0/100"}`, LIMITS.fieldText),
    mrkdwn(`*Findings*\n${f.length}: ${severityCounts(f)}`, LIMITS.fieldText),
  ];
  if (report.suppressed?.count) fields.push(mrkdwn(`*Suppressed*\n${report.suppressed.count} hidden by suppressions`, LIMITS.fieldText));
  const blocks: Block[] = [
    { type: "header", block_id: "sum:h", text: plain(`trailhound: ${title(req)}`, LIMITS.headerText) },
    { type: "section", block_id: "sum:f", fields },
  ];
  const notes: string[] = [];
  if (report.partial) notes.push(`:warning: *Partial result:* ${esc(truncate((report.partialReasons ?? []).join("; ") || "some data could not be read", 800))}`);
  if (report.learning?.length) {
    const names = report.learning
      .slice(0, 5)
      .map((k) => code(k, 100))
      .join(", ");
    notes.push(`:seedling: Still learning (too little history for "first seen" findings): ${names}${report.learning.length > 5 ? ` and ${report.learning.length - 5} more` : ""}`);
  }
  if (notes.length > 0) blocks.push({ type: "context", block_id: "sum:n", elements: notes.map((n) => mrkdwn(n)).slice(0, LIMITS.contextElements) });
  if (req.target.kind === "account" && (report.identities?.length ?? 0) > 0) {
    const ids = [...report.identities].sort((a, b) => b.score - a.score).slice(0, 5);
    const lines = ids.map((i) => `• ${code(i.userName ?? i.arn ?? i.key, 120)} score ${Math.round(i.score)} · ${i.events} events · ${plural(i.findings, "finding")}`);
    blocks.push({ type: "section", block_id: "sum:ids", text: mrkdwn(`*Top identities*\n${lines.join("\n")}`) });
  }
  return blocks;
}

export interface ScanResultMessages {
  /** Replaces the "scanning" message. */
  main: SlackMessage;
  /** Posted in its thread, in order. */
  thread: SlackMessage[];
}

/** Findings in messages of at most `maxBlocks` blocks, `header(first, last)` leading each one. */
function packFindings(findings: Finding[], startIndex: number, total: number, states: StateLookup, maxBlocks: number): SlackMessage[] {
  const per = Math.max(1, Math.floor((maxBlocks - 1) / findingBlockCount()));
  const out: SlackMessage[] = [];
  for (let i = 0; i < findings.length; i += per) {
    const page = findings.slice(i, i + per);
    const first = startIndex + i + 1;
    const last = startIndex + i + page.length;
    const blocks: Block[] = [{ type: "context", block_id: "thr:h", elements: [mrkdwn(`Findings ${first}-${last} of ${total}`)] }];
    for (const [j, f] of page.entries()) blocks.push(...findingBlocks(f, startIndex + i + j, states(f)));
    out.push({ text: fallbackText(`Findings ${first}-${last} of ${total}`), blocks });
  }
  return out;
}

/**
 * The JSON report in thread messages of fenced chunks. When the whole report does not fit in
 * `maxJsonMessages`, a summary (findings without evidence) is posted instead, with a note.
 */
export function jsonReportMessages(report: Report, opts: Pick<ResultOptions, "maxJsonMessages" | "jsonChunkChars">): SlackMessage[] {
  const chunk = (json: string, label: string): SlackMessage[] | undefined => {
    // Every message stays within jsonChunkChars, the label (with up to 3-digit part counts) included.
    const size = opts.jsonChunkChars - 6 - (label.length + 40);
    const n = Math.ceil(json.length / size);
    if (size <= 0 || n > opts.maxJsonMessages) return undefined;
    const msgs: SlackMessage[] = [];
    for (let i = 0; i < n; i++) {
      const head = i === 0 ? `${label} (${n} part${n === 1 ? "" : "s"}; join them to parse):\n` : "";
      msgs.push({ text: head + "```" + json.slice(i * size, (i + 1) * size) + "```", blocks: [] });
    }
    return msgs;
  };
  const full = safeJson(report, 0);
  const whole = chunk(full, "JSON report");
  if (whole) return whole;
  const slim = {
    ...report,
    findings: report.findings.map((f) => ({ id: f.id, detector: f.detector, severity: f.severity, score: f.score, identity: f.identity.key, title: f.title, count: f.count })),
    sensitiveCalls: undefined,
    errorAnalysis: undefined,
    baselineDeviations: undefined,
  };
  const kb = Math.round(full.length / 1024);
  const summary = chunk(safeJson(slim, 0), `JSON report summary (the full report is ${kb} KB: run the same scan with the CLI and \`--json\` for all of it)`);
  return summary ?? [{ text: `The JSON report is ${kb} KB, too large for Slack: run the same scan with the CLI and \`--json\`.`, blocks: [] }];
}

export function scanResultMessages(report: Report, req: ScanRequest, states: StateLookup, options: Partial<ResultOptions> = {}): ScanResultMessages {
  const opts = { ...DEFAULT_RESULT_OPTIONS, ...options };
  const findings = [...(report.findings ?? [])].sort(compareFindings);
  const blocks = summaryBlocks(report, req);
  // Room for the findings in the result message: keep 2 blocks for the footer.
  const room = Math.floor((LIMITS.messageBlocks - blocks.length - 2) / findingBlockCount());
  const inMain = Math.max(0, Math.min(opts.inMain, room, findings.length));
  if (findings.length === 0) {
    blocks.push({ type: "section", block_id: "sum:none", text: mrkdwn(":white_check_mark: No findings in this window.") });
  } else {
    blocks.push({ type: "divider", block_id: "sum:d" });
    for (const [i, f] of findings.slice(0, inMain).entries()) blocks.push(...findingBlocks(f, i, states(f)));
  }
  const rest = findings.slice(inMain);
  const shownInThread = rest.slice(0, opts.maxInThread);
  const footer: string[] = [`requested by ${mention(req.requestedBy)}`];
  if (rest.length > 0) footer.unshift(`:thread: ${plural(rest.length, "more finding")} continue in the thread`);
  blocks.push({ type: "context", block_id: "sum:foot", elements: [mrkdwn(footer.join(" · "))] });

  const thread = packFindings(shownInThread, inMain, findings.length, states, LIMITS.messageBlocks);
  if (rest.length > shownInThread.length) {
    thread.push({
      text: fallbackText(`${rest.length - shownInThread.length} more findings are not shown here; the JSON report lists them.`),
      blocks: [
        { type: "section", block_id: "thr:more", text: mrkdwn(`${rest.length - shownInThread.length} more findings are not shown here; the JSON report below lists them.`) },
      ],
    });
  }
  if (rest.length > 0) thread.push(...jsonReportMessages(report, opts));

  const top = findings[0];
  const text = fallbackText(
    `trailhound scan of ${esc(describeTarget(req.target))}: ${plural(findings.length, "finding")} (${severityCounts(findings)})` +
      (top ? `; top: ${SEVERITY_EMOJI[top.severity] ?? ""} ${esc(truncate(top.title, 150))} by ${esc(truncate(identityLabel(top), 100))}` : ""),
  );
  return { main: { text, blocks }, thread };
}
