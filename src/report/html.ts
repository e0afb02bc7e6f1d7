/**
 * `scan --format html`: the report as one self-contained HTML file. No script at all, no external
 * request (no fonts, images or styles from elsewhere: the charts are inline SVG), and a strict
 * Content-Security-Policy meta tag that would block any if one slipped in: only the one <style>
 * block, by its hash.
 *
 * Everything from CloudTrail is attacker-controlled: every value goes through `esc` (text and
 * attributes alike) and the charts through the SVG's own escaping (timeline/svg.ts).
 */
import { createHash } from "node:crypto";
import type { Profile } from "../baseline/profile.js";
import { SEVERITIES, type Severity } from "../events/types.js";
import type { Finding, IdentitySummary, Report } from "../scan/report-types.js";
import { timelineAltText } from "../timeline/alt.js";
import { timelineFromReport } from "../timeline/source.js";
import { PALETTE, timelineSvg } from "../timeline/svg.js";

/** Identities (with findings) whose timeline the report draws. */
export const HTML_TIMELINES = 5;

/** HTML text and attribute values: & < > " ' escaped, control characters and bidi overrides dropped. */
export function esc(s: unknown): string {
  return String(s ?? "")
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g, "")
    .replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const CSS = `
:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1d1f23;--muted:#5d636b;--card:#fff;--line:#dde0e5;--code:#f0f2f5}
@media (prefers-color-scheme:dark){:root{--bg:#121417;--fg:#e8eaed;--muted:#a3a9b1;--card:#1b1e22;--line:#30353c;--code:#23272d}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1240px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 12px;border-bottom:1px solid var(--line);padding-bottom:6px}
h3{font-size:17px;margin:0 0 6px;overflow-wrap:anywhere}
.muted{color:var(--muted)}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px;min-width:150px}
.card b{display:block;font-size:24px}
.warn{background:#fff4e5;color:#5c3800;border:1px solid #f2b45a;border-radius:8px;padding:10px 14px}
@media (prefers-color-scheme:dark){.warn{background:#3a2a10;color:#ffd89c;border-color:#8a6420}}
.finding{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--sev);border-radius:10px;padding:14px 18px;margin:0 0 14px}
.sev{display:inline-block;font-weight:700;font-size:12px;letter-spacing:.04em;padding:2px 8px;border-radius:999px;background:var(--sev);color:#111}
.why{margin:8px 0;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0}dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
pre{background:var(--code);border-radius:8px;padding:10px;overflow:auto;max-height:360px;font-size:13px;white-space:pre-wrap;overflow-wrap:anywhere}
details summary{cursor:pointer;color:var(--muted)}
figure{margin:0 0 24px}figure svg{display:block;width:100%;height:auto;border-radius:14px}
figcaption{color:var(--muted);font-size:14px;margin-top:6px}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line)}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
th{font-size:13px;color:var(--muted)}td.num{text-align:right;font-variant-numeric:tabular-nums}
.sevcard{border-top:4px solid var(--sev)}
`;

/** Severity colours as classes: the CSP allows no style attributes. */
const SEV_CSS = SEVERITIES.map((k) => `.sev-${k}{--sev:${PALETTE.severity[k]}}`).join("");
const sevClass = (s: Severity) => `sev-${SEVERITIES.includes(s) ? s : "info"}`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function findingHtml(f: Finding, i: number): string {
  const who = f.identity.userName ?? f.identity.key;
  const rows: Array<[string, string]> = [["Identity", `${esc(who)} <span class="muted">(${esc(f.identity.key)})</span>`]];
  if (f.identity.sessionName) rows.push(["Session", esc(f.identity.sessionName)]);
  if (f.identity.arn) rows.push(["ARN", esc(f.identity.arn)]);
  rows.push(["When", esc(f.firstSeen === f.lastSeen ? f.firstSeen : `${f.firstSeen} → ${f.lastSeen}`)]);
  rows.push(["Events", `${esc(f.count)}${f.failed ? " (all failed: an attempt)" : ""}`]);
  if (f.sourceIp) rows.push(["Source IP", esc(f.sourceIp)]);
  if (f.region) rows.push(["Region", esc(f.region)]);
  if (f.attack.length) rows.push(["ATT&amp;CK", esc(f.attack.join(", "))]);
  rows.push(["Detector", `${esc(f.detector)} · id ${esc(f.id)}`]);
  const list = (xs: string[]) => (xs.length ? `<ul>${xs.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>` : "");
  return [
    `<article class="finding ${sevClass(f.severity)}" id="finding-${i + 1}">`,
    `<h3><span class="sev">${esc(f.severity.toUpperCase())} ${esc(f.score)}</span> ${esc(f.title)}</h3>`,
    `<p class="why">${esc(f.why)}</p>`,
    `<dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")}</dl>`,
    f.investigate.length ? `<details open><summary>What to check next</summary>${list(f.investigate)}</details>` : "",
    f.falsePositives.length ? `<details><summary>Known false positives</summary>${list(f.falsePositives)}</details>` : "",
    f.evidence ? `<details><summary>Evidence</summary><pre>${esc(JSON.stringify(f.evidence, null, 2))}</pre></details>` : "",
    f.eventIds.length
      ? `<details><summary>Event ids (${f.eventIds.length}${f.count > f.eventIds.length ? ` of ${f.count}` : ""})</summary><pre>${esc(f.eventIds.join("\n"))}</pre></details>`
      : "",
    `</article>`,
  ].join("\n");
}

function identityRow(i: IdentitySummary, rank: number): string {
  return (
    `<tr><td class="num">${rank}</td><td class="num">${esc(i.score)}</td><td>${esc(i.key)}${i.sessions.length ? `<br><span class="muted">sessions: ${esc(i.sessions.slice(0, 5).join(", "))}${i.sessions.length > 5 ? ` +${i.sessions.length - 5} more` : ""}</span>` : ""}</td>` +
    `<td>${esc(i.type)}</td><td class="num">${esc(i.events)}</td><td class="num">${pct(i.errorRate)}</td><td class="num">${esc(i.findings)}</td>` +
    `<td>${i.topSeverity ? `<span class="sev ${sevClass(i.topSeverity)}">${esc(i.topSeverity.toUpperCase())}</span>` : ""}${i.learning ? ' <span class="muted">learning</span>' : ""}</td></tr>`
  );
}

/** The report as one HTML page; `profiles` (the scan's) give the timelines of the top identities. */
export function reportHtml(r: Report, profiles: readonly Profile[]): string {
  const byKey = new Map(profiles.map((p) => [p.key, p]));
  const s = r.stats;
  const bySev = new Map<Severity, number>();
  for (const f of r.findings) bySev.set(f.severity, (bySev.get(f.severity) ?? 0) + 1);
  const sevCards = SEVERITIES.filter((k) => bySev.get(k))
    .map((k) => `<div class="card sevcard ${sevClass(k)}"><b>${bySev.get(k)}</b>${k}</div>`)
    .join("");

  const top = r.identities.filter((i) => i.findings > 0).slice(0, HTML_TIMELINES);
  const withFindings = r.identities.filter((i) => i.findings > 0).length;
  const figures = top.map((i, n) => {
    const t = timelineFromReport(r, byKey.get(i.key), i.key);
    const alt = timelineAltText(t);
    return `<figure id="timeline-${n + 1}">${timelineSvg(t, { idPrefix: `tl${n + 1}`, title: `Activity timeline of ${t.identity.label}`, desc: alt, charWidth: 0.62 })}<figcaption>${esc(alt)}</figcaption></figure>`;
  });

  const filters = Object.entries(r.filters);
  const body = [
    `<header><h1>trailhound report</h1>`,
    `<p class="muted">Window ${esc(r.window.start)} → ${esc(r.window.end)} · generated ${esc(r.generatedAt)} by trailhound ${esc(r.tool.version)} (report schema v${esc(r.schemaVersion)})` +
      (filters.length ? ` · filters: ${esc(filters.map(([k, v]) => `${k}=${v}`).join(", "))}` : "") +
      `</p></header>`,
    `<section id="summary"><h2>Summary</h2>`,
    r.partial ? `<p class="warn"><b>Partial data.</b> ${esc(r.partialReasons.join("; "))}</p>` : "",
    `<div class="cards"><div class="card"><b>${esc(s.events)}</b>events in the window</div><div class="card"><b>${esc(s.identities)}</b>identities</div>` +
      `<div class="card"><b>${r.findings.length}</b>findings</div>${sevCards}<div class="card"><b>${pct(s.errorRate)}</b>errors (${esc(s.errors)}, ${esc(s.denied)} denied)</div></div>`,
    `<p class="muted">Records read: ${esc(s.recordsRead)} (baseline events ${esc(s.baselineEvents)})` +
      (s.skippedTotal
        ? `; skipped ${esc(s.skippedTotal)} (${esc(
            Object.entries(s.skipped)
              .map(([k, v]) => `${k}: ${v}`)
              .join(", "),
          )})`
        : "") +
      (s.duplicates ? `; duplicates ignored ${esc(s.duplicates)}` : "") +
      (r.suppressed.count ? `; suppressed findings hidden: ${esc(r.suppressed.count)}` : "") +
      (r.learning.length ? `; identities still learning: ${esc(r.learning.length)}` : "") +
      `. Sources: ${esc(r.sources.map((x) => `${x.name} (${x.records} records${x.note ? `; ${x.note}` : ""})`).join(", "))}</p>`,
    r.recommendations.length ? `<h3>Recommendations</h3><ul>${r.recommendations.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>` : "",
    `</section>`,
    `<section id="findings"><h2>Findings (${r.findings.length})</h2>`,
    r.findings.length ? r.findings.map(findingHtml).join("\n") : `<p class="muted">No findings in this window.</p>`,
    `</section>`,
    `<section id="timelines"><h2>Timelines of the top identities</h2>`,
    figures.length
      ? figures.join("\n") +
        (withFindings > top.length ? `<p class="muted">${withFindings - top.length} more identities with findings are not drawn; they are listed below.</p>` : "")
      : `<p class="muted">No identity has a finding: no timeline to draw.</p>`,
    `</section>`,
    `<section id="identities"><h2>Ranked identities (${r.identities.length})</h2>`,
    r.identities.length
      ? `<table><thead><tr><th>#</th><th>Score</th><th>Identity</th><th>Type</th><th>Events</th><th>Errors</th><th>Findings</th><th>Top severity</th></tr></thead><tbody>` +
        r.identities.map((i, n) => identityRow(i, n + 1)).join("\n") +
        `</tbody></table>`
      : `<p class="muted">No identity was active in the window.</p>`,
    `</section>`,
  ].join("\n");

  const css = CSS + SEV_CSS;
  const styleHash = createHash("sha256").update(css).digest("base64");
  const csp = `default-src 'none'; style-src 'sha256-${styleHash}'; img-src data:; font-src 'none'; script-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'`;
  return [
    `<!doctype html>`,
    `<html lang="en"><head><meta charset="utf-8">`,
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    `<meta name="referrer" content="no-referrer">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>trailhound report ${esc(r.window.start)} → ${esc(r.window.end)}</title>`,
    `<style>${css}</style></head>`,
    `<body><main>`,
    body,
    `</main></body></html>`,
    ``,
  ].join("\n");
}
