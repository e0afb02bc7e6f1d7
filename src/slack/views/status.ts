/** `/cloudtrail status`, `/cloudtrail suppressions` and `/cloudtrail baseline …` replies. Pure. */
import { DIMS, type Dim, type Profile, type Stat } from "../../baseline/profile.js";
import type { AthenaRefreshStatus } from "../../athena/bot.js";
import type { StoreStats } from "../../store/store.js";
import type { ScanRecord, Suppression } from "../../store/types.js";
import { suppressionLine } from "./details.js";
import { LIMITS, type Block, type SlackMessage } from "./limits.js";
import type { ScheduleFigures } from "../ports.js";
import { channelRef, code, esc, fallbackText, mention, mrkdwn, plain, plural, slackDate, truncate } from "./text.js";

export interface StatusInput {
  stats: StoreStats;
  /** Newest first. */
  scans: ScanRecord[];
  /** Identity keys still learning. */
  learning: string[];
  /** Outbound notifications since start (when configured). */
  notifications?: { delivered: number; deadLetters: number };
  /** Alerts (TRAILHOUND_ALERT_CHANNEL): first event -> Slack post, over the newest alert posts. */
  alertLatency?: { alerts: number; medianMs: number; maxMs: number; lastAt: string };
  /** The digest and alert schedules' runs since start. */
  runs?: ScheduleFigures[];
  /** TRAILHOUND_SOURCE=athena: the stored Athena baselines' horizon and their refresh. */
  athena?: AthenaRefreshStatus;
}

function secs(ms: number): string {
  return ms < 120_000 ? `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s` : dur(ms);
}

function median(xs: readonly number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.floor((v.length - 1) / 2)]!;
}

/** One line per schedule: its last run (how long, account/regions read and per minute), a run going, skipped ticks, slow runs. */
function runLine(f: ScheduleFigures): string {
  const parts: string[] = [];
  const l = f.last;
  if (l) {
    const rate = l.accountRegions !== undefined && l.ms > 0 ? ` (${Math.round((l.accountRegions / l.ms) * 60_000).toLocaleString("en-US")} a minute)` : "";
    const read = l.accountRegions !== undefined ? `, ${plural(l.accountRegions, "account/region")}${rate}${l.files !== undefined ? `, ${plural(l.files, "file")}` : ""}` : "";
    parts.push(`last run ${slackDate(new Date(l.startedAt).toISOString())} (${l.trigger}): ${secs(l.ms)}, ${l.status}${read}`);
  } else parts.push("no run since start");
  if (f.running) parts.push(`a ${f.running.trigger} run queued or going since ${slackDate(new Date(f.running.since).toISOString())}`);
  if (f.skippedTicks) parts.push(`:warning: ${plural(f.skippedTicks, "tick")} skipped, the previous run still going`);
  if (f.slowRuns) parts.push(`:warning: ${plural(f.slowRuns, "run")} longer than the interval`);
  return `• ${f.kind === "alert" ? "Alerts" : `Digest ${code(f.name, 60)}`} in ${channelRef(f.channel)}: ${parts.join(" · ")}`;
}

/** "Athena baselines: 90 days up to <date> (saved <date>) · refreshed every 1 day, next <date>". */
function athenaLine(a: AthenaRefreshStatus): string {
  const every = a.everyMs % 86_400_000 === 0 ? plural(a.everyMs / 86_400_000, "day") : plural(Math.round(a.everyMs / 3_600_000), "hour");
  const parts = [
    a.horizon !== undefined && a.refreshedAt
      ? `${a.days} days up to ${slackDate(new Date(a.horizon).toISOString())} (saved ${slackDate(a.refreshedAt)})`
      : `none yet: the first aggregation of ${a.days} days ${a.running ? "is running" : "has not finished"}; until then identities are learning`,
    `aggregated again every ${every}${a.running ? " (running now)" : a.nextAt !== undefined ? `, next ${slackDate(new Date(a.nextAt).toISOString())}` : ""}`,
  ];
  if (a.last) parts.push(`last: ${plural(a.last.identities, "identity", "identities")}, ${a.last.events.toLocaleString("en-US")} events, $${a.last.costUsd.toFixed(4)}`);
  if (a.lastError) parts.push(`:warning: last refresh failed: ${esc(truncate(a.lastError, 300))}`);
  return `*Athena baselines*\n${parts.join(" · ")}`;
}

function dur(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m < 1 ? `${Math.round(ms / 1000)} s` : m < 120 ? `${m} min` : `${(m / 60).toFixed(1)} h`;
}

function kb(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Alerts: from a file's landing in the bucket to the post (S3 sources), since start. */
function landing(runs: readonly ScheduleFigures[]): string {
  const l = runs.find((f) => f.kind === "alert")?.landingToPost ?? [];
  if (l.length === 0) return "";
  return `\n*Alert latency (file landing in the bucket -> post)*: median ${secs(median(l))} · max ${secs(Math.max(...l))} over ${plural(l.length, "alerted finding")} since start`;
}

export function statusMessage(s: StatusInput): SlackMessage {
  const c = s.stats.counts;
  const byStatus = Object.entries(c.findingsByStatus)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${esc(k)}`)
    .join(" · ");
  const blocks: Block[] = [
    { type: "header", block_id: "st:h", text: plain("trailhound status") },
    {
      type: "section",
      block_id: "st:store",
      fields: [
        mrkdwn(`*Store*\n${s.stats.bytes > 0 ? kb(s.stats.bytes) : "in memory"} · schema v${s.stats.schemaVersion}`),
        mrkdwn(`*Identities with a baseline*\n${c.baselines}`),
        mrkdwn(`*Findings*\n${c.findings}${byStatus ? ` (${byStatus})` : ""}`),
        mrkdwn(`*Active suppressions*\n${c.activeSuppressions}`),
        mrkdwn(`*Read positions (cursors)*\n${c.cursors}`),
        mrkdwn(`*Scans recorded*\n${c.scans}`),
        mrkdwn(`*Audit entries*\n${c.audit}`),
        mrkdwn(`*Digests*\n${c.digests}${c.pendingDigests ? ` (${c.pendingDigests} not sent)` : ""}`),
        ...(s.notifications
          ? [
              mrkdwn(
                `*Notifications since start*\n${s.notifications.delivered} delivered · ${s.notifications.deadLetters} dead letter${s.notifications.deadLetters === 1 ? "" : "s"}${s.notifications.deadLetters ? " (dead-letters.jsonl in the data directory)" : ""}`,
              ),
            ]
          : []),
        ...(s.alertLatency
          ? [
              mrkdwn(
                `*Alert latency (event -> post)*\nmedian ${dur(s.alertLatency.medianMs)} · max ${dur(s.alertLatency.maxMs)} over ${s.alertLatency.alerts} alerted finding${s.alertLatency.alerts === 1 ? "" : "s"} (includes CloudTrail's own delivery delay)`,
              ),
            ]
          : []),
      ],
    },
  ];
  // Its own section: a section holds at most 10 fields.
  if (s.athena) blocks.push({ type: "section", block_id: "st:athena", text: mrkdwn(athenaLine(s.athena)) });
  if (s.stats.warnings.length > 0) {
    blocks.push({
      type: "context",
      block_id: "st:warn",
      elements: s.stats.warnings.slice(0, LIMITS.contextElements).map((w) => mrkdwn(`:warning: ${esc(truncate(w, 1000))}`)),
    });
  }
  if (s.runs?.length) {
    blocks.push({ type: "section", block_id: "st:runs", text: mrkdwn(truncate(`*Scheduled runs since start*\n${s.runs.map(runLine).join("\n")}${landing(s.runs)}`, 2900)) });
  }
  const scans = s.scans.slice(0, 5);
  blocks.push({
    type: "section",
    block_id: "st:scans",
    text: mrkdwn(
      "*Last scans*\n" +
        (scans.length === 0
          ? "none yet"
          : scans
              .map((r) => `• ${slackDate(r.at)} ${code(r.target, 120)} by ${mention(r.by)}: ${r.events} events, ${plural(r.findings, "finding")}${r.partial ? " (partial)" : ""}`)
              .join("\n")),
    ),
  });
  const learning = s.learning.slice(0, 15);
  blocks.push({
    type: "section",
    block_id: "st:learn",
    text: mrkdwn(
      `*Still learning* (${s.learning.length}): ` +
        (learning.length === 0
          ? "none"
          : learning.map((k) => code(k, 100)).join(", ") + (s.learning.length > learning.length ? ` and ${s.learning.length - learning.length} more` : "")),
    ),
  });
  return { text: fallbackText(`trailhound status: ${c.findings} findings, ${c.baselines} baselines, ${c.activeSuppressions} active suppressions`), blocks };
}

export function suppressionsMessage(list: Suppression[]): SlackMessage {
  const sorted = [...list].sort((a, b) => a.until.localeCompare(b.until));
  const max = LIMITS.messageBlocks - 3;
  const blocks: Block[] = [{ type: "section", block_id: "sup:h", text: mrkdwn(`*Active suppressions* (${list.length})${list.length === 0 ? ": none" : ""}`) }];
  for (const [i, s] of sorted.slice(0, max).entries()) blocks.push({ type: "section", block_id: `sup:${i}`, text: mrkdwn(suppressionLine(s)) });
  if (sorted.length > max) blocks.push({ type: "context", block_id: "sup:more", elements: [mrkdwn(`…and ${sorted.length - max} more, ending later.`)] });
  if (list.length > 0)
    blocks.push({ type: "context", block_id: "sup:foot", elements: [mrkdwn("End one now with `/cloudtrail unsuppress ID` (admins). Each ends by itself at its date.")] });
  return { text: fallbackText(`${plural(list.length, "active suppression")}`), blocks };
}

// ---------------------------------------------------------------- baseline

const DIM_LABEL: Partial<Record<Dim, string>> = {
  api: "Top APIs",
  service: "Services",
  ip: "Source IPs",
  network: "Networks",
  country: "Countries",
  region: "Regions",
  ua: "User-agent families",
  session: "Sessions",
  errorCode: "Error codes",
};

function topValues(rec: Record<string, Stat> | undefined, n: number): Array<[string, Stat]> {
  return Object.entries(rec ?? {})
    .sort((a, b) => b[1][0] - a[1][0])
    .slice(0, n);
}

/** Hours (UTC) holding most of the activity, as ranges: "08-12, 14-18 UTC". */
export function activeHours(hours: number[]): string {
  const total = hours.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return "no activity recorded";
  const on = hours.map((h) => h / total >= 0.02);
  const ranges: string[] = [];
  for (let h = 0; h < 24; h++) {
    if (!on[h]) continue;
    let e = h;
    while (e + 1 < 24 && on[e + 1]) e++;
    ranges.push(e === h ? `${String(h).padStart(2, "0")}h` : `${String(h).padStart(2, "0")}-${String(e + 1).padStart(2, "0")}h`);
    h = e;
  }
  return ranges.join(", ") + " UTC";
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

export function baselineMessage(p: Profile, learning: boolean, others = 0): SlackMessage {
  const label = p.userName ?? p.arn ?? p.key;
  const share = (n: number) => (p.events > 0 ? ` ${Math.round((n / p.events) * 100)}%` : "");
  const fields = DIMS.filter((d) => d !== "session" && d !== "errorCode" && d !== "target").map((d) => {
    const top = topValues(p.dims[d], d === "api" ? 8 : 5);
    const body = top.length === 0 ? "-" : top.map(([v, s]) => `${code(v, 80)}${share(s[0])}`).join("\n");
    const count = Object.keys(p.dims[d] ?? {}).length;
    return mrkdwn(`*${DIM_LABEL[d]}* (${count})\n${body}`, LIMITS.fieldText);
  });
  const weekdays = p.weekdays.reduce((a, b) => a + b, 0);
  const days = weekdays > 0 ? WEEKDAYS.filter((_, i) => (p.weekdays[i] ?? 0) / weekdays >= 0.05).join(", ") : "-";
  const errRate = p.events > 0 ? Math.round((p.errors / p.events) * 1000) / 10 : 0;
  const first = Number.isFinite(p.first) ? slackDate(p.first, "{date_short}") : "-";
  const last = Number.isFinite(p.last) ? slackDate(p.last) : "-";
  const blocks: Block[] = [
    { type: "header", block_id: "bl:h", text: plain(`Baseline: ${truncate(label, 120)}`, LIMITS.headerText) },
    {
      type: "section",
      block_id: "bl:sum",
      text: mrkdwn(
        `${code(p.key, 300)} (${esc(p.type)})${p.accountId ? ` · account ${code(p.accountId, 20)}` : ""}\n` +
          `Seen ${first} → ${last} on ${plural(p.days.length, "day")} · ~${Math.round(p.events)} events (decayed) · errors ${errRate}% · denied ~${Math.round(p.denied)}\n` +
          `*Active hours:* ${activeHours(p.hours)} · *days:* ${days}` +
          (learning ? '\n:seedling: Still learning: too little history for "first seen" findings.' : ""),
      ),
    },
    { type: "section", block_id: "bl:dims", fields: fields.slice(0, LIMITS.sectionFields) },
  ];
  if (others > 0)
    blocks.push({
      type: "context",
      block_id: "bl:others",
      elements: [mrkdwn(`${others} other identities share this name; use \`/cloudtrail baseline &lt;identity key&gt;\` to pick one.`)],
    });
  return { text: fallbackText(`Baseline of ${esc(truncate(label, 200))}`), blocks };
}

export function noBaselineMessage(what: string): SlackMessage {
  return {
    text: fallbackText(`No baseline for ${esc(truncate(what, 200))}`),
    blocks: [
      {
        type: "section",
        block_id: "bl:none",
        text: mrkdwn(`No baseline for ${code(what, 200)} yet: it is learned from scans. Run \`/cloudtrail scan user NAME 7d\` first, or check the name.`),
      },
    ],
  };
}
