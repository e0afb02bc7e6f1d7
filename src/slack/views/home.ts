/**
 * The App Home tab: open findings by severity (with their buttons), active suppressions (with an
 * Unsuppress button for admins to use), the last digest and the next one. Pure; ≤ 100 blocks.
 */
import type { types } from "@slack/bolt";
import { SEVERITIES, type Severity } from "../../events/types.js";
import type { DigestRecord, StoredFinding, Suppression } from "../../store/types.js";
import { suppressionLine } from "./details.js";
import { compareFindings, findingBlockCount, findingBlocks, SEVERITY_EMOJI, stateOf, type FindingState } from "./finding.js";
import { LIMITS, type Block } from "./limits.js";
import { channelRef, code, esc, mrkdwn, plain, plural, slackDate } from "./text.js";

export const HOME_ACTIONS = { unsuppress: "suppression_remove", refresh: "home_refresh" } as const;

export interface HomeInput {
  /** Findings still to deal with (open or acknowledged). */
  findings: StoredFinding[];
  suppressions: Suppression[];
  /** Last run time per digest schedule (store.digestRuns()). */
  digestRuns: Record<string, string>;
  /** Digests not sent (pending or failed), oldest first (store.pendingDigests()). */
  unsentDigests: DigestRecord[];
  nextDigest: Date | null;
  digestChannel?: string;
  digestCron?: string;
  digestTz?: string;
  now: number;
  /** Findings shown at most (the rest are counted). */
  maxFindings?: number;
  /** The state each finding is shown with (default: the store's status; the bot adds containment). */
  stateOf?: (s: StoredFinding) => FindingState;
  maxSuppressions?: number;
}

export function homeView(h: HomeInput): types.HomeView {
  const maxFindings = h.maxFindings ?? 15;
  const maxSupp = h.maxSuppressions ?? 10;
  const blocks: Block[] = [
    { type: "header", block_id: "home:h", text: plain("trailhound") },
    {
      type: "context",
      block_id: "home:upd",
      elements: [mrkdwn(`Updated ${slackDate(h.now)} · \`/cloudtrail help\` for commands`)],
    },
  ];
  const actions: types.ActionsBlock = {
    type: "actions",
    block_id: "home:act",
    elements: [{ type: "button", action_id: HOME_ACTIONS.refresh, text: plain("Refresh", LIMITS.buttonText), value: "refresh" }],
  };
  blocks.push(actions);

  // Findings by severity.
  const bySev = new Map<Severity, StoredFinding[]>();
  for (const s of h.findings) {
    const sev = SEVERITIES.includes(s.finding.severity) ? s.finding.severity : "info";
    bySev.set(sev, [...(bySev.get(sev) ?? []), s]);
  }
  const counts = SEVERITIES.filter((s) => bySev.get(s)?.length).map((s) => `${SEVERITY_EMOJI[s]} ${bySev.get(s)!.length} ${s}`);
  blocks.push({ type: "divider", block_id: "home:d1" });
  blocks.push({
    type: "section",
    block_id: "home:fh",
    text: mrkdwn(`*Open findings* (${h.findings.length})${counts.length ? "\n" + counts.join(" · ") : ": none :tada:"}`),
  });
  // Reserve room for the suppression and digest sections.
  const reserved = 4 + Math.min(maxSupp, h.suppressions.length) + 1 + 3;
  let budget = LIMITS.viewBlocks - blocks.length - reserved;
  let shown = 0;
  let index = 0;
  for (const sev of SEVERITIES) {
    const list = [...(bySev.get(sev) ?? [])].sort((a, b) => compareFindings(a.finding, b.finding));
    if (list.length === 0) continue;
    if (shown >= maxFindings || budget < 1 + findingBlockCount({ compact: true })) break;
    blocks.push({ type: "context", block_id: `home:sev:${sev}`, elements: [mrkdwn(`${SEVERITY_EMOJI[sev]} *${sev.toUpperCase()}* (${list.length})`)] });
    budget--;
    for (const s of list) {
      if (shown >= maxFindings || budget < findingBlockCount({ compact: true })) break;
      const b = findingBlocks(s.finding, index++, (h.stateOf ?? stateOf)(s), { compact: true });
      blocks.push(...b);
      budget -= b.length;
      shown++;
    }
  }
  if (shown < h.findings.length) {
    blocks.push({ type: "context", block_id: "home:fmore", elements: [mrkdwn(`…and ${h.findings.length - shown} more, less severe or older.`)] });
  }

  // Suppressions.
  blocks.push({ type: "divider", block_id: "home:d2" });
  blocks.push({ type: "section", block_id: "home:sh", text: mrkdwn(`*Active suppressions* (${h.suppressions.length})${h.suppressions.length ? "" : ": none"}`) });
  const supp = [...h.suppressions].sort((a, b) => a.until.localeCompare(b.until));
  for (const [i, s] of supp.slice(0, maxSupp).entries()) {
    blocks.push({
      type: "section",
      block_id: `home:s:${i}`,
      text: mrkdwn(suppressionLine(s)),
      ...(s.id.length <= LIMITS.buttonValue
        ? { accessory: { type: "button", action_id: HOME_ACTIONS.unsuppress, text: plain("Unsuppress", LIMITS.buttonText), value: s.id } }
        : {}),
    });
  }
  if (supp.length > maxSupp) blocks.push({ type: "context", block_id: "home:smore", elements: [mrkdwn(`…and ${supp.length - maxSupp} more: \`/cloudtrail suppressions\``)] });

  // Digest.
  blocks.push({ type: "divider", block_id: "home:d3" });
  const runs = Object.entries(h.digestRuns).sort((a, b) => b[1].localeCompare(a[1]));
  const lines: string[] = [];
  if (runs.length === 0) lines.push("No digest has run yet.");
  for (const [schedule, at] of runs.slice(0, 3)) lines.push(`Last digest (${code(schedule, 60)}): ${slackDate(at)}`);
  for (const d of h.unsentDigests.slice(-3)) {
    lines.push(
      `:warning: Digest of ${slackDate(d.createdAt)} in ${channelRef(d.channel)} ${d.state === "failed" ? "failed" : "not sent yet"} (${plural(d.findingIds.length, "finding")})${d.error ? `: ${code(d.error, 200)}` : ""}`,
    );
  }
  const last = lines.join("\n");
  const where = h.digestChannel ? ` in ${channelRef(h.digestChannel)}` : "";
  const next = h.nextDigest
    ? `Next digest: ${slackDate(h.nextDigest)}${where}`
    : h.digestChannel && h.digestCron
      ? `Next digest: on schedule ${code(h.digestCron, 60)} (${esc(h.digestTz ?? "UTC")})${where}`
      : "No digest scheduled (set TRAILHOUND_DIGEST_CHANNEL).";
  blocks.push({ type: "section", block_id: "home:dg", text: mrkdwn(`*Digest*\n${last}\n${next}`) });

  return { type: "home", callback_id: "trailhound_home", blocks: blocks.slice(0, LIMITS.viewBlocks) };
}

/** The Home tab of someone who may not see findings: why, and nothing else. */
export function refusedHomeView(reason: string, now: number): types.HomeView {
  return {
    type: "home",
    callback_id: "trailhound_home",
    blocks: [
      { type: "header", block_id: "home:h", text: plain("trailhound") },
      { type: "section", block_id: "home:refused", text: mrkdwn(`:no_entry: ${esc(reason)}`) },
      { type: "context", block_id: "home:upd", elements: [mrkdwn(`Updated ${slackDate(now)} · \`/cloudtrail help\` for commands`)] },
    ],
  };
}
