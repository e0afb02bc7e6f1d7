/**
 * Block Kit builders: escaping of attacker-controlled text, and Slack's limits on adversarial
 * input (very long names, hundreds of findings, unicode, markup).
 */
import { describe, expect, it } from "vitest";
import { emptyProfile } from "../../src/baseline/profile.js";
import type { Finding } from "../../src/scan/report-types.js";
import { findingDetailsMessage, findingDetailsModal } from "../../src/slack/views/details.js";
import { findingBlocks, replaceFindingBlocks, stateOf } from "../../src/slack/views/finding.js";
import { helpMessage } from "../../src/slack/views/help.js";
import { homeView } from "../../src/slack/views/home.js";
import { blockKitProblems, viewProblems, type SlackMessage } from "../../src/slack/views/limits.js";
import { jsonReportMessages, scanningMessage, scanResultMessages } from "../../src/slack/views/report.js";
import { activeHours, baselineMessage, statusMessage, suppressionsMessage } from "../../src/slack/views/status.js";
import { decodeMeta, encodeMeta, parseSuppressSubmission, suppressModal } from "../../src/slack/views/suppress.js";
import { code, codeBlock, esc, mention, safeJson, truncate } from "../../src/slack/views/text.js";
import type { StoredFinding, Suppression } from "../../src/store/types.js";
import { findingWithoutIp, makeFinding, makeReport } from "./support/fixtures.js";
import { rng } from "../../src/util/rng.js";

/** Our own markup; anything else between < and > would be a Slack control sequence. */
const OWN_MARKUP = /<(?:@[UW][A-Z0-9]+|#[CGD][A-Z0-9]+|!date\^\d+\^[^|<>]+\|[^<>]*|https:\/\/attack\.mitre\.org\/techniques\/T\d{4}(?:\/\d{3})?\/\|T\d{4}(?:\.\d{3})?)>/g;

/** Every mrkdwn text in a payload, with our own markup removed: no < or > may remain. */
function assertNoControlSequences(payload: unknown): void {
  const texts: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === "string") texts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (o.type === "plain_text") return; // not parsed as markup
      for (const [k, x] of Object.entries(o)) if (k !== "value" && k !== "private_metadata" && k !== "action_id" && k !== "block_id") walk(x);
    }
  };
  walk(payload);
  for (const t of texts) expect(t.replace(OWN_MARKUP, "")).not.toMatch(/[<>]/);
}

const PIECES = [
  "<!channel>",
  "<@U0ADMIN>",
  "<https://evil.example|AWS console>",
  "```",
  "`",
  "*",
  "_",
  "~",
  "&",
  "&amp;",
  "\n",
  "\u202E",
  "\u200B",
  "🛡️",
  "👨‍👩‍👧",
  "é",
  "\uD83D",
  "日本語",
  ">",
  "<",
  "<#C0SEC>",
  "<!subteam^S1>",
  "\t",
  "\u0000",
  "a",
];
function nasty(r: () => number, maxLen: number): string {
  const n = Math.floor(r() * maxLen);
  let s = "";
  while (s.length < n) s += r() < 0.3 ? PIECES[Math.floor(r() * PIECES.length)] : String.fromCharCode(33 + Math.floor(r() * 90));
  return s;
}
function nastyFinding(r: () => number, i: number, maxLen: number): Finding {
  return makeFinding(i, {
    id: `f-${i}-${"x".repeat(Math.floor(r() * 40))}`,
    detector: nasty(r, 300),
    title: nasty(r, maxLen),
    severity: (["critical", "high", "medium", "low", "info"] as const)[i % 5]!, // i % 5 indexes the five
    score: r() * 100,
    identity: { key: nasty(r, maxLen), type: nasty(r, 50), userName: nasty(r, maxLen), sessionName: nasty(r, maxLen), accountId: nasty(r, 30), arn: nasty(r, maxLen) },
    sourceIp: nasty(r, 200),
    region: nasty(r, 100),
    why: nasty(r, maxLen * 3),
    attack: Array.from({ length: Math.floor(r() * 30) }, () => (r() < 0.5 ? "T1098.001" : nasty(r, 40))),
    investigate: Array.from({ length: Math.floor(r() * 30) }, () => nasty(r, 500)),
    falsePositives: Array.from({ length: Math.floor(r() * 30) }, () => nasty(r, 500)),
    eventIds: Array.from({ length: 20 }, () => nasty(r, 100)),
    count: Math.floor(r() * 1e6),
    evidence: { ua: nasty(r, maxLen * 5), params: { a: nasty(r, maxLen), list: Array.from({ length: 50 }, () => nasty(r, 100)) } },
  });
}

function stored(f: Finding, over: Partial<StoredFinding> = {}): StoredFinding {
  return { id: f.id, status: "open", firstSeen: f.firstSeen, lastSeen: f.lastSeen, seenInScans: 1, severity: f.severity, severityHistory: [], history: [], finding: f, ...over };
}

function expectValidMessage(m: SlackMessage): void {
  expect(blockKitProblems(m, "message")).toEqual([]);
  assertNoControlSequences(m.blocks);
  expect(m.text.replace(OWN_MARKUP, "")).not.toMatch(/[<>]/);
}

describe("text helpers", () => {
  it("escapes & < > so that control sequences show as text", () => {
    expect(esc("<!channel> & <@U1> <https://evil|console>")).toBe("&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;https://evil|console&gt;");
    expect(esc("&lt;")).toBe("&amp;lt;");
    expect(esc(undefined)).toBe("");
    expect(esc(42)).toBe("42");
  });

  it("makes bidi overrides and control characters visible", () => {
    expect(esc("admin\u202Eexe.txt")).toBe("admin\uFFFDexe.txt");
    expect(esc("a\u0000b")).toBe("a\uFFFDb");
  });

  it("keeps code spans closed whatever the value", () => {
    expect(code("a`b")).toBe("`aˋb`");
    expect(code("x\ny")).toBe("`x y`");
    expect(code("")).toBe("`∅`");
    expect(code("<!here>")).toBe("`&lt;!here&gt;`");
    expect(codeBlock("```\n<!channel>")).toBe("```ˋˋˋ\n&lt;!channel&gt;```");
  });

  it("safeJson stays valid JSON with the same value and no markup characters", () => {
    const v = { a: "<!channel> & `x` \u202E", b: [1, "<@U1>"] };
    const s = safeJson(v);
    expect(s).not.toMatch(/[<>&`\u202E]/);
    expect(JSON.parse(s)).toEqual(v);
  });

  it("truncates without splitting surrogate pairs or entities", () => {
    expect(truncate("abcdef", 4)).toBe("abc…");
    const emoji = "ab😀cd";
    expect(truncate(emoji, 4)).toBe("ab…");
    const e = esc("ab<cd");
    expect(truncate(e, 5)).toBe("ab…");
    for (let n = 2; n < 40; n++) {
      const t = truncate(esc("<>&".repeat(20)), n);
      expect(t.length).toBeLessThanOrEqual(n);
      expect(t.replace(/&(amp|lt|gt);/g, "")).not.toMatch(/&/);
    }
  });

  it("mentions only well-formed user ids", () => {
    expect(mention("U012ABC")).toBe("<@U012ABC>");
    expect(mention("U1> <!channel")).toBe("`U1&gt; &lt;!channel`");
  });
});

describe("finding blocks", () => {
  it("carry the three buttons with the finding id only, and show state", () => {
    const f = makeFinding(7);
    const blocks = findingBlocks(f, 3);
    const actions = blocks.find((b) => b.type === "actions") as { block_id: string; elements: Array<{ action_id: string; value: string }> };
    expect(actions.block_id).toBe("fnd:3:a");
    expect(actions.elements.map((e) => [e.action_id, e.value])).toEqual([
      ["finding_ack", f.id],
      ["finding_suppress", f.id],
      ["finding_details", f.id],
    ]);
    const acked = findingBlocks(f, 3, stateOf(stored(f, { status: "acknowledged", acknowledged: { by: "U0BOB", at: "2024-05-01T09:14:00Z", severity: "high" } })));
    expect(JSON.stringify(acked)).toContain("Acknowledged by <@U0BOB>");
    expect(JSON.stringify(acked)).toContain("<!date^1714554840^");
    expect(JSON.stringify(acked)).not.toContain("finding_ack");
    const supp: Suppression = {
      id: "s-1",
      scope: "identity",
      identityKey: f.identity.key,
      reason: "CI <b>",
      by: "U0ADMIN",
      createdAt: "2024-05-01T00:00:00Z",
      until: "2024-05-08T00:00:00Z",
    };
    const suppressed = JSON.stringify(findingBlocks(f, 3, stateOf(stored(f), supp)));
    expect(suppressed).toContain("Suppressed by <@U0ADMIN>");
    expect(suppressed).toContain("CI &lt;b&gt;");
    expect(suppressed).not.toContain("finding_suppress");
    expect(suppressed).toContain("finding_details");
  });

  it("omit buttons rather than exceed the button value limit", () => {
    const blocks = findingBlocks(makeFinding(1, { id: "x".repeat(2001) }), 0);
    expect(blocks.some((b) => b.type === "actions")).toBe(false);
  });

  it("replace one finding in place, keeping the others", () => {
    const a = makeFinding(1);
    const b = makeFinding(2);
    const msg = [{ type: "header" as const, block_id: "sum:h", text: { type: "plain_text" as const, text: "x" } }, ...findingBlocks(a, 0), ...findingBlocks(b, 1)];
    const acked = findingBlocks(a, 0, { status: "acknowledged", acknowledged: { by: "U0X", at: "2024-05-01T00:00:00Z" } });
    const out = replaceFindingBlocks(msg, 0, acked);
    expect(out[0]!.block_id).toBe("sum:h");
    expect(out.slice(1, 1 + acked.length)).toEqual(acked);
    expect(out.slice(1 + acked.length)).toEqual(findingBlocks(b, 1));
    expect(replaceFindingBlocks(msg, 9, acked)).toBe(msg);
  });

  it("stay within limits and render markup as text on adversarial input", () => {
    const r = rng(42);
    for (let i = 0; i < 200; i++) {
      const f = nastyFinding(r, i, i % 10 === 0 ? 20_000 : 300);
      const blocks = findingBlocks(f, i, i % 2 ? { status: "acknowledged", acknowledged: { by: nasty(r, 30), at: "2024-05-01T00:00:00Z" } } : { status: "open" }, {
        compact: i % 3 === 0,
      });
      expect(blockKitProblems({ blocks, text: "x" }, "message")).toEqual([]);
      assertNoControlSequences(blocks);
      expectValidMessage(findingDetailsMessage(stored(f)));
      expect(viewProblems(findingDetailsModal(stored(f)))).toEqual([]);
      const modal = suppressModal(f, { f: f.id, c: "C0SEC", t: "1.2", i });
      expect(viewProblems(modal)).toEqual([]);
      assertNoControlSequences(modal.blocks);
    }
  });
});

describe("scan result messages", () => {
  const req = { target: { kind: "user" as const, value: "alice" }, since: "24h", requestedBy: "U0USER" };

  it("summary: identity, window, events, score, findings; top findings with buttons", () => {
    const { main, thread } = scanResultMessages(makeReport([makeFinding(1), makeFinding(2, { severity: "critical" })]), req, () => undefined);
    expectValidMessage(main);
    const json = JSON.stringify(main.blocks);
    expect(json).toContain("trailhound: user alice · the last 24h");
    expect(json).toContain("*Events*\\n1000 (12 errors, 1%)");
    expect(json).toContain("*Score*\\n87/100");
    expect(json).toContain("2: 1 critical · 1 high");
    // Most severe first.
    expect(json.indexOf("f0002")).toBeLessThan(json.indexOf("f0001"));
    expect(thread).toEqual([]);
  });

  it("no findings, partial data and learning identities are said", () => {
    const { main } = scanResultMessages(makeReport([], { partial: true, partialReasons: ["throttled in eu-west-1 <!channel>"], learning: ["user:1:bob"] }), req, () => undefined);
    expectValidMessage(main);
    const json = JSON.stringify(main.blocks);
    expect(json).toContain("No findings");
    expect(json).toContain("Partial result");
    expect(json).toContain("Still learning");
  });

  it("hundreds of adversarial findings: every message within limits, the rest in the thread", { tags: ["slow"] }, () => {
    const r = rng(7);
    const findings = Array.from({ length: 500 }, (_, i) => nastyFinding(r, i, 2000));
    const report = makeReport(findings, { learning: Array.from({ length: 300 }, () => nasty(r, 500)), partial: true, partialReasons: [nasty(r, 5000)] });
    report.identities = Array.from({ length: 50 }, (_, i) => ({ ...report.identities[0]!, key: nasty(r, 3000), userName: nasty(r, 3000), score: i }));
    const acct = { target: { kind: "account" as const }, requestedBy: "U0USER" };
    const { main, thread } = scanResultMessages(report, acct, () => undefined);
    expectValidMessage(main);
    for (const m of thread) {
      if (m.blocks.length > 0) expectValidMessage(m);
      else expect(m.text.length).toBeLessThanOrEqual(3000);
      expect(m.text.replace(OWN_MARKUP, "")).not.toMatch(/[<>]/);
    }
    const shown = [main, ...thread].flatMap((m) => m.blocks.filter((b) => b.type === "actions")).length;
    expect(shown).toBe(105);
  });

  it("the JSON report in chunks joins back to the report", () => {
    const report = makeReport(Array.from({ length: 30 }, (_, i) => makeFinding(i, { why: "<!channel> `x`" })));
    const msgs = jsonReportMessages(report, { maxJsonMessages: 20, jsonChunkChars: 3000 });
    expect(msgs.length).toBeGreaterThan(1);
    for (const m of msgs) expect(m.text.length).toBeLessThanOrEqual(3000);
    const joined = msgs.map((m) => m.text.replace(/^[^\n]*\n(?=```)/, "").replace(/^```|```$/g, "")).join("");
    expect(JSON.parse(joined)).toEqual(report);
    const tooBig = jsonReportMessages(report, { maxJsonMessages: 1, jsonChunkChars: 3000 });
    expect(tooBig).toHaveLength(1);
    expect(tooBig[0]!.text).toContain("too large for Slack");
  });

  it("the scanning message shows progress", () => {
    const m = scanningMessage(req, { message: "page 3 <!here>", fraction: 0.4 });
    expectValidMessage(m);
    expect(JSON.stringify(m.blocks)).toContain("▓▓▓▓░░░░░░ 40%");
  });
});

describe("other views", () => {
  it("help says what was not understood, escaped", () => {
    const m = helpMessage({ input: "<!channel> ".repeat(1000), problem: "`<!channel>` is not a command" });
    expectValidMessage(m);
  });

  it("Home stays within 100 blocks with many findings and suppressions", { tags: ["slow"] }, () => {
    const r = rng(3);
    const findings = Array.from({ length: 1000 }, (_, i) => stored(nastyFinding(r, i, 500)));
    const suppressions: Suppression[] = Array.from({ length: 300 }, (_, i) => ({
      id: `s-${i}`,
      scope: "identity",
      identityKey: nasty(r, 3000),
      reason: nasty(r, 3000),
      by: "U0ADMIN",
      createdAt: "2024-05-01T00:00:00Z",
      until: "2024-06-01T00:00:00Z",
    }));
    const v = homeView({
      findings,
      suppressions,
      digestRuns: { daily: "2024-05-01T08:00:00Z" },
      unsentDigests: [
        {
          id: "d1",
          schedule: "daily",
          channel: "C0SEC",
          window: { start: "", end: "" },
          createdAt: "2024-05-02T08:00:00Z",
          state: "failed",
          posted: [],
          findingIds: ["a"],
          error: "<!channel>",
        },
      ],
      nextDigest: new Date("2024-05-03T08:00:00Z"),
      digestChannel: "C0SEC",
      now: Date.parse("2024-05-02T10:00:00Z"),
    });
    expect(viewProblems(v)).toEqual([]);
    assertNoControlSequences(v.blocks);
    const json = JSON.stringify(v.blocks);
    expect(json).toContain("Open findings* (1000)");
    expect(json).toContain("Active suppressions* (300)");
    expect(json).toContain("suppression_remove");
    expect(json).toContain("Next digest");
    const empty = homeView({ findings: [], suppressions: [], digestRuns: {}, unsentDigests: [], nextDigest: null, now: 0 });
    expect(viewProblems(empty)).toEqual([]);
    expect(JSON.stringify(empty.blocks)).toContain("No digest scheduled");
  });

  it("status, suppressions and baseline replies stay within limits", () => {
    const r = rng(9);
    const stats = {
      bytes: 123456,
      sections: { baselines: 1, findings: 1, audit: 1, other: 1 },
      schemaVersion: 1,
      counts: {
        baselines: 3,
        findings: 5,
        findingsByStatus: { open: 3, acknowledged: 2 },
        suppressions: 1,
        activeSuppressions: 1,
        audit: 9,
        cursors: 2,
        scans: 4,
        digests: 0,
        pendingDigests: 0,
      },
      writes: 1,
      warnings: ["<!channel> big store"],
    };
    const scans = Array.from({ length: 50 }, () => ({
      at: "2024-05-01T00:00:00Z",
      by: nasty(r, 50),
      target: nasty(r, 500),
      window: { start: "", end: "" },
      events: 1,
      findings: 2,
      partial: true,
    }));
    expectValidMessage(statusMessage({ stats, scans, learning: Array.from({ length: 500 }, () => nasty(r, 300)) }));
    const supps: Suppression[] = Array.from({ length: 200 }, (_, i) => ({
      id: `s-${i}`,
      scope: "ip",
      sourceIp: nasty(r, 300),
      reason: nasty(r, 2000),
      by: nasty(r, 20),
      createdAt: "2024-05-01T00:00:00Z",
      until: "2024-06-01T00:00:00Z",
    }));
    expectValidMessage(suppressionsMessage(supps));
    expectValidMessage(suppressionsMessage([]));
    const p = emptyProfile("user:1:alice", "IAMUser");
    p.userName = nasty(r, 3000);
    p.first = Date.parse("2024-04-01T00:00:00Z");
    p.last = Date.parse("2024-05-01T00:00:00Z");
    p.events = 500;
    p.days = [19814, 19815];
    p.hours = p.hours.map((_, h) => (h >= 8 && h < 18 ? 40 : 0));
    p.weekdays = [0, 100, 100, 100, 100, 100, 0];
    for (const d of Object.keys(p.dims) as Array<keyof typeof p.dims>) for (let i = 0; i < 300; i++) p.dims[d][nasty(r, 200) + i] = [r() * 100, 0, 0, 0];
    const m = baselineMessage(p, true, 2);
    expectValidMessage(m);
    const json = JSON.stringify(m.blocks);
    expect(json).toContain("08-18h UTC");
    expect(json).toContain("Mon, Tue, Wed, Thu, Fri");
    expect(json).toContain("Still learning");
  });

  it("active hours as ranges", () => {
    const h = new Array(24).fill(0);
    h[9] = 10;
    h[10] = 10;
    h[23] = 5;
    expect(activeHours(h)).toBe("09-11h, 23h UTC");
    expect(activeHours(new Array(24).fill(0))).toBe("no activity recorded");
  });
});

describe("suppress modal submission", () => {
  const f = makeFinding(1);
  const NOW = Date.parse("2024-05-10T12:00:00Z");
  const values = (o: { scope?: string | null; duration?: string | null; date?: string | null; reason?: string | null }) => ({
    scope: { scope_sel: { selected_option: o.scope === null ? null : { value: o.scope ?? "identity-detector" } } },
    duration: { duration_sel: { selected_option: o.duration === null ? null : { value: o.duration ?? "1d" } } },
    until: { until_date: { selected_date: o.date ?? null } },
    reason: { reason_in: { value: o.reason === undefined ? "known CI" : o.reason } },
  });

  it("accepts each duration and the date", () => {
    expect(parseSuppressSubmission(values({}), f, NOW)).toEqual({ ok: true, scope: "identity-detector", until: "2024-05-11T12:00:00.000Z", reason: "known CI" });
    expect(parseSuppressSubmission(values({ duration: "1h" }), f, NOW)).toMatchObject({ until: "2024-05-10T13:00:00.000Z" });
    expect(parseSuppressSubmission(values({ duration: "30d", scope: "ip" }), f, NOW)).toMatchObject({ scope: "ip", until: "2024-06-09T12:00:00.000Z" });
    expect(parseSuppressSubmission(values({ duration: "date", date: "2024-05-31" }), f, NOW)).toMatchObject({ until: "2024-05-31T23:59:59.999Z" });
    expect(parseSuppressSubmission(values({ duration: null, date: "2024-05-31" }), f, NOW)).toMatchObject({ ok: true });
  });

  it("answers errors keyed by block id", () => {
    expect(parseSuppressSubmission(values({ reason: null }), f, NOW)).toEqual({ ok: false, errors: { reason: expect.stringContaining("Give a reason") } });
    expect(parseSuppressSubmission(values({ reason: " \n " }), f, NOW)).toMatchObject({ ok: false, errors: { reason: expect.any(String) } });
    expect(parseSuppressSubmission(values({ reason: "x".repeat(501) }), f, NOW)).toMatchObject({ ok: false, errors: { reason: expect.any(String) } });
    expect(parseSuppressSubmission(values({ scope: null, duration: null, reason: null }), f, NOW)).toMatchObject({
      ok: false,
      errors: { scope: expect.any(String), duration: expect.any(String), reason: expect.any(String) },
    });
    expect(parseSuppressSubmission(values({ scope: "everything" }), f, NOW)).toMatchObject({ errors: { scope: expect.any(String) } });
    expect(parseSuppressSubmission(values({ scope: "ip" }), findingWithoutIp(1), NOW)).toMatchObject({ errors: { scope: "This finding has no source IP." } });
    expect(parseSuppressSubmission(values({ duration: "date" }), f, NOW)).toMatchObject({ errors: { until: expect.any(String) } });
    expect(parseSuppressSubmission(values({ duration: "date", date: "2024-05-01" }), f, NOW)).toMatchObject({ errors: { until: "Pick a date in the future." } });
    expect(parseSuppressSubmission(values({ duration: "date", date: "2026-01-01" }), f, NOW)).toMatchObject({ errors: { until: expect.stringContaining("year") } });
  });

  it("offers the IP scope only when the finding has an IP; metadata round-trips", () => {
    const withIp = suppressModal(f, { f: f.id });
    const noIp = suppressModal(findingWithoutIp(1), { f: f.id });
    const opts = (v: typeof withIp) => (v.blocks[1] as unknown as { element: { options: Array<{ value: string }> } }).element.options.map((o) => o.value);
    expect(opts(withIp)).toEqual(["identity-detector", "identity", "ip", "detector"]);
    expect(opts(noIp)).toEqual(["identity-detector", "identity", "detector"]);
    expect(decodeMeta(encodeMeta({ f: "f1", c: "C1", t: "1.2", i: 3 }))).toEqual({ f: "f1", c: "C1", t: "1.2", i: 3 });
    expect(decodeMeta("not json")).toBeUndefined();
    expect(decodeMeta(JSON.stringify({ c: "C1" }))).toBeUndefined();
    expect(encodeMeta({ f: "y".repeat(5000) }).length).toBeLessThanOrEqual(3000);
  });
});
