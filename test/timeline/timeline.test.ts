import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emptyProfile, HOUR, type Profile } from "../../src/baseline/profile.js";
import { timelineScenario, SCENARIO_END } from "../../src/bench/timeline-scenario.js";
import { main } from "../../src/cli.js";
import { timelineAltText, ALT_MAX } from "../../src/timeline/alt.js";
import { buildTimeline } from "../../src/timeline/model.js";
import { svgToPng } from "../../src/timeline/png.js";
import { resolveIdentity, storedWindow } from "../../src/timeline/source.js";
import { niceTicks, timelineSvg, xmlText, yCap } from "../../src/timeline/svg.js";
import { makeFinding } from "../slack/support/fixtures.js";

const HOSTILE = `<script>alert(1)</script></svg>&amp;"q'\u0007\u202Eevil`;
const END = Date.parse("2024-05-15T00:00:00Z");

/** A profile with office-hours activity for 14 days and a burst in the last hours. */
function profileWith(o: { burst?: number; name?: string; newCountry?: string } = {}): Profile {
  const name = o.name ?? "alice";
  const p = emptyProfile(`user:111122223333:${name}`, "IAMUser");
  p.userName = name;
  p.first = END - 14 * 24 * HOUR;
  p.last = END - HOUR;
  p.trainedUntil = p.last;
  p.days = Array.from({ length: 14 }, (_, i) => Math.floor((END - 14 * 24 * HOUR) / 86_400_000) + i);
  p.events = 0;
  for (let h = Math.floor(p.first / HOUR); h < Math.floor(END / HOUR); h++) {
    const hod = h % 24;
    if (hod >= 9 && hod < 17) {
      p.hourly.push([h, 10 + (h % 5), h % 7 === 0 ? 1 : 0]);
      p.events += 10 + (h % 5);
    }
  }
  if (o.burst) p.hourly.push([Math.floor(END / HOUR) - 3, o.burst, Math.round(o.burst / 4)]);
  p.hourly.sort((a, b) => a[0] - b[0]);
  p.dims.country = { GB: [100, 0, p.first, p.last] };
  if (o.newCountry) p.dims.country[o.newCountry] = [5, 0, END - 3 * HOUR, END - 2 * HOUR];
  return p;
}

describe("timeline model", () => {
  it("has every hour of 14 days, a band from the history before the window, markers and what is new", () => {
    const p = profileWith({ burst: 900, newCountry: "KP" });
    const window = { start: END - 24 * HOUR, end: END };
    const f1 = makeFinding(1, {
      identity: { key: p.key, type: "IAMUser" },
      severity: "medium",
      firstSeen: new Date(END - 3 * HOUR).toISOString(),
      lastSeen: new Date(END - 2 * HOUR).toISOString(),
    });
    const f2 = makeFinding(2, {
      identity: { key: p.key, type: "IAMUser" },
      severity: "critical",
      firstSeen: new Date(END - 2 * HOUR).toISOString(),
      lastSeen: new Date(END - 2 * HOUR).toISOString(),
    });
    const old = makeFinding(3, { firstSeen: "2020-01-01T00:00:00Z", lastSeen: "2020-01-01T00:00:00Z" });
    const t = buildTimeline({ profile: p, findings: [f1, f2, old], window });
    expect(t.hours).toHaveLength(14 * 24);
    expect(t.hours[0]!.h * HOUR).toBe(END - 14 * 24 * HOUR);
    expect(t.peak?.calls).toBe(900);
    // Office hours: the band's top is 10-14 calls at 12:00 and 0 at night.
    const noon = t.band.find((b) => b.h % 24 === 12)!;
    const night = t.band.find((b) => b.h % 24 === 2)!;
    expect(noon.hi).toBeGreaterThanOrEqual(10);
    expect(noon.hi).toBeLessThanOrEqual(14);
    expect(night.hi).toBe(0);
    expect(t.baselineDays).toBe(13);
    // Most severe first; findings outside the range are not marked.
    expect(t.markers.map((m) => [m.n, m.severity])).toEqual([
      [1, "critical"],
      [2, "medium"],
    ]);
    expect(t.newValues).toEqual([{ dim: "country", label: "Countries", values: ["KP"] }]);
    expect(t.totals.windowCalls).toBeGreaterThanOrEqual(900);
  });

  it("says when there is no profile or no history for a band", () => {
    const none = buildTimeline({ profile: undefined, findings: [], window: { start: END - 24 * HOUR, end: END }, key: "user:1:bob" });
    expect(none.band).toEqual([]);
    expect(none.notes.join(" ")).toContain("no stored profile");
    expect(timelineAltText(none)).toContain("No usual band");
    const p = profileWith();
    p.first = END - 12 * HOUR;
    const young = buildTimeline({ profile: p, findings: [], window: { start: END - 24 * HOUR, end: END } });
    expect(young.band).toEqual([]);
    // A young identity: the chart starts at its first day, not 14 empty days earlier.
    expect(young.hours.length).toBeLessThanOrEqual(48);
    expect(young.start).toBeLessThanOrEqual(END - 24 * HOUR);
    expect(young.learning).toBe(true);
    expect(young.notes.join(" ")).toContain("no usual band yet");
  });

  it("caps the y axis when one hour dwarfs the rest, not otherwise", () => {
    const spiky = buildTimeline({ profile: profileWith({ burst: 5000 }), findings: [], window: { start: END - 24 * HOUR, end: END } });
    const flat = buildTimeline({ profile: profileWith({ burst: 30 }), findings: [], window: { start: END - 24 * HOUR, end: END } });
    expect(yCap(spiky, 14)).toBeGreaterThan(0);
    expect(yCap(spiky, 14)!).toBeLessThan(100);
    expect(yCap(flat, 14)).toBeUndefined();
    const svg = timelineSvg(spiky);
    expect(svg).toContain("5,000 calls, 1,250 errors");
    expect(niceTicks(83)).toEqual([0, 25, 50, 75, 100]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });
});

describe("timeline drawing", () => {
  it("escapes attacker-controlled text in the SVG, and resvg parses and renders it", async () => {
    const p = profileWith({ burst: 400, name: HOSTILE, newCountry: HOSTILE });
    p.dims.network = { [`AS666 ${HOSTILE}`]: [3, 0, END - 3 * HOUR, END - 3 * HOUR] };
    p.dims.country.GB![2] = p.first;
    const f = makeFinding(1, {
      title: `Title ${HOSTILE}`,
      identity: { key: p.key, type: "IAMUser" },
      firstSeen: new Date(END - 3 * HOUR).toISOString(),
      lastSeen: new Date(END - 3 * HOUR).toISOString(),
    });
    const t = buildTimeline({ profile: p, findings: [f], window: { start: END - 24 * HOUR, end: END }, notes: [`partial: ${HOSTILE}`] });
    const svg = timelineSvg(t, { title: `Activity of ${t.identity.label}`, desc: timelineAltText(t) });
    expect(svg).not.toContain("<script");
    expect(svg.match(/<\/svg>/g)).toHaveLength(1);
    expect(svg).not.toMatch(/&(?!amp;|lt;|gt;|quot;|#39;)/);
    expect(svg).not.toMatch(/[\u0000-\u0008\u202E]/);
    expect(svg).toContain("&lt;script&gt;");
    const png = await svgToPng(svg);
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(png.readUInt32BE(16)).toBe(1000); // IHDR width
    expect(xmlText("a&b<c>\"d'")).toBe("a&amp;b&lt;c&gt;&quot;d&#39;");
  });

  it("writes the alt text in words, within Slack's limit, with the figures of the picture", () => {
    const p = profileWith({ burst: 900, newCountry: "KP" });
    const findings = Array.from({ length: 9 }, (_, i) =>
      makeFinding(i + 1, {
        identity: { key: p.key, type: "IAMUser" },
        title: `Finding number ${i + 1} `.repeat(8),
        firstSeen: new Date(END - 3 * HOUR).toISOString(),
        lastSeen: new Date(END - 3 * HOUR).toISOString(),
      }),
    );
    const t = buildTimeline({ profile: p, findings, window: { start: END - 24 * HOUR, end: END } });
    const alt = timelineAltText(t);
    expect(alt.length).toBeLessThanOrEqual(ALT_MAX);
    expect(alt).toContain("900 calls, 225 errors");
    expect(alt).toContain("9 findings");
    expect(alt).toContain("and 5 more");
    expect(alt).toContain("countries KP");
    expect(alt).not.toMatch(/[\u0000-\u001F]/);
  });
});

describe("identity lookup", () => {
  it("finds by key, ARN, user name or name part; several matches are ambiguous", () => {
    const ps = [{ key: "user:111:alice", arn: "arn:aws:iam::111:user/alice", userName: "alice" }, { key: "user:222:alice", userName: "alice" }, { key: "role:111:Deploy" }];
    expect(resolveIdentity(ps, "user:222:alice")).toEqual({ ok: true, key: "user:222:alice" });
    expect(resolveIdentity(ps, "arn:aws:iam::111:user/alice")).toEqual({ ok: true, key: "user:111:alice" });
    expect(resolveIdentity(ps, "Deploy")).toEqual({ ok: true, key: "role:111:Deploy" });
    expect(resolveIdentity(ps, "alice")).toEqual({ ok: false, candidates: ["user:111:alice", "user:222:alice"] });
    expect(resolveIdentity(ps, "bob")).toEqual({ ok: false, candidates: [] });
  });

  it("a person's baseline on a shared role answers to the person, never to the role's name", () => {
    const role = "AWSReservedSSO_Admin_0123";
    const ps = [
      { key: `role:111:${role}`, arn: `arn:aws:iam::111:role/${role}`, userName: role },
      { key: `person:111:${role}:nina@example.com`, arn: `arn:aws:iam::111:role/${role}`, userName: role },
      { key: `person:111:${role}:sam@example.com`, arn: `arn:aws:iam::111:role/${role}`, userName: role },
    ];
    expect(resolveIdentity(ps, role)).toEqual({ ok: true, key: `role:111:${role}` });
    expect(resolveIdentity(ps, `arn:aws:iam::111:role/${role}`)).toEqual({ ok: true, key: `role:111:${role}` });
    expect(resolveIdentity(ps, "nina@example.com")).toEqual({ ok: true, key: `person:111:${role}:nina@example.com` });
  });

  it("shades the scan window that holds the identity's last event", () => {
    const p = profileWith();
    const scans = [
      {
        at: "",
        by: "cli",
        target: "all",
        window: { start: new Date(END - 48 * HOUR).toISOString(), end: new Date(END - 24 * HOUR).toISOString() },
        events: 1,
        findings: 0,
        partial: false,
      },
      { at: "", by: "cli", target: "all", window: { start: new Date(END - 24 * HOUR).toISOString(), end: new Date(END).toISOString() }, events: 1, findings: 0, partial: false },
      {
        at: "",
        by: "cli",
        target: "all",
        window: { start: new Date(END + 24 * HOUR).toISOString(), end: new Date(END + 48 * HOUR).toISOString() },
        events: 1,
        findings: 0,
        partial: false,
      },
    ];
    expect(storedWindow(scans, p, END)).toEqual({ start: END - 24 * HOUR, end: END });
    expect(storedWindow([], p, END)).toEqual({ start: END - 24 * HOUR, end: END });
  });
});

describe("trailhound timeline", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "th-timeline-"));
    await writeFile(join(dir, "trail.json"), JSON.stringify({ Records: timelineScenario() }));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const so = vi.spyOn(process.stdout, "write").mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
    const se = vi.spyOn(process.stderr, "write").mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
    process.exitCode = undefined;
    try {
      return { code: await main(["node", "trailhound", ...args]), stdout, stderr };
    } finally {
      so.mockRestore();
      se.mockRestore();
      process.exitCode = undefined;
    }
  }

  it("draws the PNG from CloudTrail files and says the same in words", async () => {
    const out = join(dir, "alice.png");
    const r = await run("timeline", "alice", "--input", join(dir, "trail.json"), "--no-store", "--out", out);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const png = await readFile(out);
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(r.stdout).toContain("user:111122223333:alice");
    expect(r.stdout).toMatch(/Busiest hour Mar 13 02:00: [0-9,]+ calls/);
    expect(r.stdout).toMatch(/call spike/i);
    expect(r.stdout).toContain("countries DE");
  }, 60_000);

  it("draws from the store after a scan, and writes an SVG when asked", async () => {
    const store = join(dir, "store");
    const scan = await run("scan", "--input", join(dir, "trail.json"), "--store", store, "--format", "json", "--out", join(dir, "report.json"), "--no-progress");
    expect(scan.code).toBe(0);
    const out = join(dir, "alice.svg");
    const r = await run("timeline", "user:111122223333:alice", "--store", store, "--out", out);
    expect(r.code).toBe(0);
    const svg = await readFile(out, "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("Findings (");
    expect(r.stdout).toContain(`Detection window ${"Mar 12"}`);
    expect(r.stdout).toMatch(/\d+ findings?:/);
  }, 60_000);

  it("refuses clearly: no --out, a wrong extension, an unknown identity", async () => {
    const a = await run("timeline", "alice", "--input", join(dir, "trail.json"), "--no-store");
    expect(a.code).toBe(2);
    expect(a.stderr).toContain("--out FILE is required");
    const b = await run("timeline", "alice", "--input", join(dir, "trail.json"), "--no-store", "--out", join(dir, "x.jpg"));
    expect(b.code).toBe(2);
    const c = await run("timeline", "mallory", "--input", join(dir, "trail.json"), "--no-store", "--out", join(dir, "m.png"));
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('no identity called "mallory"');
    expect(c.stderr).not.toContain("    at ");
    const d = await run("timeline", "alice", "--store", join(dir, "nowhere"), "--out", join(dir, "n.png"));
    expect(d.code).toBe(2);
    expect(d.stderr).toContain("no store at");
    expect(existsSync(join(dir, "nowhere"))).toBe(false);
  }, 60_000);
});

it("the scenario's window ends where the docs say", () => {
  expect(new Date(SCENARIO_END).toISOString()).toBe("2026-03-13T12:00:00.000Z");
});
