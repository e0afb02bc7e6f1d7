import type { Report } from "./report-types.js";
import { noPaint, type Paint } from "../term.js";

/**
 * Everything from CloudTrail is attacker-controlled: strip terminal control sequences (ESC, other
 * C0/C1 controls) so a user agent cannot rewrite the analyst's terminal.
 */
export function termSafe(s: string | undefined, max = 300): string {
  if (s === undefined) return "";
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "?").replace(/\n/g, " ");
  return clean.length > max ? clean.slice(0, max - 1) + "…" : clean;
}

const SEV_LABEL: Record<string, string> = { critical: "CRITICAL", high: "HIGH", medium: "MEDIUM", low: "LOW", info: "INFO" };

/**
 * The report as text for a terminal. `limit` findings in full; the rest are counted. `p` colours
 * it (severities, partial data, headings) for a terminal; without it the text has no escape at all.
 */
export function formatReportText(r: Report, limit = 25, p: Paint = noPaint): string {
  const out: string[] = [];
  const s = r.stats;
  out.push(p.bold(`trailhound ${r.tool.version} — report (schema v${r.schemaVersion}) generated ${r.generatedAt}`));
  out.push(`Window: ${r.window.start} → ${r.window.end}`);
  const f = Object.entries(r.filters);
  if (f.length) out.push(`Filters: ${f.map(([k, v]) => `${k}=${termSafe(v)}`).join(", ")}`);
  out.push(
    `Events in window: ${s.events} (${s.identities} identities, error rate ${(s.errorRate * 100).toFixed(1)}%, ${s.denied} denied); ` +
      `records read: ${s.recordsRead}, baseline events: ${s.baselineEvents}`,
  );
  if (s.skippedTotal)
    out.push(
      `Skipped records: ${s.skippedTotal} (${Object.entries(s.skipped)
        .map(([k, v]) => `${k}: ${v}`)
        .join(", ")})`,
    );
  if (s.duplicates) out.push(`Duplicate events ignored: ${s.duplicates}`);
  if (s.filteredOut) out.push(`Events not matching the filters: ${s.filteredOut}`);
  if (s.afterWindow) out.push(`Events after the window end, ignored: ${s.afterWindow}`);
  for (const src of r.sources) if (src.note) out.push(`Source ${termSafe(src.name)}: ${termSafe(src.note, 1000)}`);
  if (r.partial) out.push(`${p.bold(p.yellow("PARTIAL DATA:"))} ${r.partialReasons.map((x) => termSafe(x, 500)).join("; ")}`);
  if (r.suppressed.count) out.push(`Suppressed findings hidden: ${r.suppressed.count}`);
  out.push("");

  const bySev = new Map<string, number>();
  for (const x of r.findings) bySev.set(x.severity, (bySev.get(x.severity) ?? 0) + 1);
  out.push(
    p.bold(`Findings: ${r.findings.length}`) +
      (r.findings.length
        ? ` (${["critical", "high", "medium", "low", "info"]
            .filter((k) => bySev.get(k))
            .map((k) => p.severity(k, `${bySev.get(k)} ${k}`))
            .join(", ")})`
        : ""),
  );
  for (const x of r.findings.slice(0, limit)) {
    const who = termSafe(x.identity.userName ?? x.identity.key) + (x.identity.sessionName ? ` (session ${termSafe(x.identity.sessionName, 80)})` : "");
    out.push(`  ${p.severity(x.severity, `[${SEV_LABEL[x.severity]} ${x.score}]`)} ${p.bold(termSafe(x.title))}${x.failed ? " (failed attempt)" : ""} — ${who}`);
    out.push(`      why: ${termSafe(x.why, 1000)}`);
    const ctx = [
      `${x.count} event${x.count === 1 ? "" : "s"}`,
      x.firstSeen === x.lastSeen ? x.firstSeen : `${x.firstSeen} → ${x.lastSeen}`,
      x.sourceIp ? `from ${termSafe(x.sourceIp, 60)}` : "",
      x.region ?? "",
    ].filter(Boolean);
    out.push(p.dim(`      ${ctx.join(", ")}; ATT&CK ${x.attack.join(", ") || "-"}; id ${x.id}`));
    if (x.investigate[0]) out.push(`      next: ${termSafe(x.investigate[0], 300)}`);
  }
  if (r.findings.length > limit) out.push(`  … and ${r.findings.length - limit} more (use --format json for all)`);
  out.push("");

  const suspicious = r.identities.filter((i) => i.findings > 0).slice(0, 10);
  if (suspicious.length) {
    out.push(p.bold("Top suspicious identities:"));
    for (const i of suspicious)
      out.push(
        `  ${String(i.score).padStart(3)}  ${termSafe(i.key, 120)}  ${i.events} events, ${(i.errorRate * 100).toFixed(0)}% errors, ${i.findings} finding${i.findings === 1 ? "" : "s"}${i.learning ? ", learning" : ""}`,
      );
    out.push("");
  }
  if (r.sensitiveCalls.length) {
    out.push(p.bold("Sensitive calls in the window:"));
    for (const c of r.sensitiveCalls.slice(0, 12))
      out.push(
        `  ${termSafe(c.eventName)} (${c.eventSource}): ${c.count}${c.failed ? `, ${c.failed} failed` : ""} by ${c.identities.length} identit${c.identities.length === 1 ? "y" : "ies"}`,
      );
    out.push("");
  }
  if (r.errorAnalysis.byCode.length) {
    out.push(
      `Errors: ${r.errorAnalysis.byCode
        .slice(0, 6)
        .map((c) => `${termSafe(c.code)} ${c.count}`)
        .join(", ")}`,
    );
  }
  if (r.learning.length) out.push(`Still learning (no "first seen" findings yet): ${r.learning.length} identities`);
  if (r.recommendations.length) {
    out.push("");
    out.push(p.bold("Recommendations:"));
    for (const x of r.recommendations) out.push(`  - ${termSafe(x, 500)}`);
  }
  return out.join("\n") + "\n";
}
