import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { emptyProfile, HOUR } from "../../src/baseline/profile.js";
import { reportHtml, esc } from "../../src/report/html.js";
import { makeFinding, makeReport } from "../slack/support/fixtures.js";

const HOSTILE = `<script>alert(1)</script></svg><img src=x onerror=alert(2)>&"'\u202E`;

function hostileReport() {
  const key = `user:123456789012:${HOSTILE}`;
  const f = makeFinding(1, {
    title: `First ${HOSTILE}`,
    why: `why ${HOSTILE}`,
    identity: { key, type: "IAMUser", userName: HOSTILE, arn: `arn:aws:iam::123456789012:user/${HOSTILE}` },
    sourceIp: HOSTILE,
    evidence: { userAgent: HOSTILE },
    investigate: [`check ${HOSTILE}`],
  });
  const r = makeReport([f, makeFinding(2, { severity: "low" })]);
  r.identities = [
    { key, type: "IAMUser", userName: HOSTILE, sessions: [HOSTILE], score: 80, events: 10, errors: 1, errorRate: 0.1, findings: 1, topSeverity: "high", learning: false },
  ];
  const p = emptyProfile(key, "IAMUser");
  p.userName = HOSTILE;
  const end = Date.parse(r.window.end);
  p.first = end - 5 * 24 * HOUR;
  p.last = end - HOUR;
  p.hourly = [[Math.floor(end / HOUR) - 2, 50, 5]];
  p.dims.api = { [HOSTILE]: [1, 0, end - 2 * HOUR, end - 2 * HOUR] };
  return { r, p };
}

describe("HTML report", () => {
  it("is self-contained: a strict CSP, no script, no external reference, the style allowed by its hash", () => {
    const { r, p } = hostileReport();
    const html = reportHtml(r, [p]);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
    expect(csp).toBeDefined();
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    expect(csp).toContain(`'sha256-${createHash("sha256").update(style).digest("base64")}'`);
    expect(html).not.toMatch(/<script/i);
    // In tags (text is escaped, so every "<" left is a real tag): no src, href or style attribute.
    expect(html).not.toMatch(/<[^>]*\s(src|href|style)=/i);
    expect(html).not.toMatch(/url\(/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it("escapes attacker-controlled text everywhere, the chart included", () => {
    const { r, p } = hostileReport();
    const html = reportHtml(r, [p]);
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("<img");
    expect(html).not.toContain("\u202E");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;&lt;/svg&gt;");
    // One chart: one opening and one closing svg tag.
    expect(html.match(/<svg[\s>]/g)).toHaveLength(1);
    expect(html.match(/<\/svg>/g)).toHaveLength(1);
    expect(esc(`a&b<c>"d'`)).toBe("a&amp;b&lt;c&gt;&quot;d&#39;");
  });

  it("has the summary, every finding with its why and evidence, the timelines and the ranked identities", () => {
    const { r, p } = hostileReport();
    const html = reportHtml(r, [p]);
    for (const id of ["summary", "findings", "timelines", "identities"]) expect(html).toContain(`<section id="${id}">`);
    expect(html.match(/<article class="finding/g)).toHaveLength(2);
    expect(html).toContain("Findings (2)");
    expect(html).toContain("why &lt;script&gt;");
    expect(html).toContain("<summary>Evidence</summary>");
    expect(html).toContain('<figure id="timeline-1">');
    expect(html).toContain("Ranked identities (1)");
    const partial = reportHtml({ ...r, partial: true, partialReasons: ["throttled in us-east-1: 3 pages not read"] }, [p]);
    expect(partial).toContain("Partial data.</b> throttled in us-east-1: 3 pages not read");
  });
});
