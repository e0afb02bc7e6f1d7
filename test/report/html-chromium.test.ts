// @module-tag slow
/**
 * The HTML report opened in a real browser: Debian's headless Chromium (scripts/ensure-chromium.sh
 * installs it), driven by playwright-core. Checks that the findings and the charts render, that
 * the page logs no console error (a CSP violation would), makes no request but its own file, and
 * that hostile names stay inert. Skipped, with a message, where Chromium is not installed.
 *
 * TRAILHOUND_SCREENSHOT=docs/html-report.png writes screenshots there (the top of the page, and
 * docs/html-report-timeline.png: the first chart).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { timelineScenario } from "../../src/bench/timeline-scenario.js";
import { reportHtml } from "../../src/report/html.js";
import { runScan } from "../../src/scan/run.js";
import type { EventSource } from "../../src/sources/types.js";
import { defaultGeoResolver } from "../../src/geo/default.js";

const CHROMIUM = process.env.TRAILHOUND_CHROMIUM ?? "/usr/bin/chromium";
const available = existsSync(CHROMIUM);
if (!available) console.warn(`SKIPPED: the HTML report's Chromium test: ${CHROMIUM} is not installed (run scripts/ensure-chromium.sh as root)`);

const HOSTILE = `eve<script>window.__pwned=1</script></svg><img src=x onerror="window.__pwned=2">&"'`;

function memorySource(records: Array<Record<string, unknown>>): EventSource {
  return {
    name: "scenario",
    async read(sink) {
      for (const r of records) sink.record(r, "scenario");
      return { summary: { kind: "memory", name: "scenario", records: records.length, skipped: 0 }, partialReasons: [] };
    },
  };
}

describe.skipIf(!available)("the HTML report in headless Chromium", () => {
  let dir: string;
  let browser: Browser;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "th-html-"));
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("renders the findings and the charts, with no console error, no request and no script", async () => {
    const records = [...timelineScenario(), ...timelineScenario({ user: HOSTILE, account: "999988887777", seed: 11 })];
    const { report, profiles } = await runScan({ now: Date.now(), filters: {}, version: "test", sources: [memorySource(records)], geo: await defaultGeoResolver({}) });
    expect(report.findings.length).toBeGreaterThan(4);
    const file = join(dir, "report.html");
    await writeFile(file, reportHtml(report, profiles));

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("dialog", (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on("request", (r) => requests.push(r.url()));
    const url = pathToFileURL(file).href;
    await page.goto(url, { waitUntil: "load" });

    // A string, evaluated in the page (the test project has no DOM types).
    const seen = (await page.evaluate(`(() => ({
      findings: document.querySelectorAll("article.finding").length,
      charts: [...document.querySelectorAll("figure svg")].map((s) => {
        const r = s.getBoundingClientRect();
        return { w: r.width, h: r.height, bars: s.querySelectorAll("rect").length, text: s.textContent ?? "" };
      }),
      rows: document.querySelectorAll("#identities tbody tr").length,
      scripts: document.scripts.length,
      pwned: window.__pwned ?? null,
      images: document.images.length,
      // The style sheet applied (the CSP allowed it by hash): findings have a coloured left border.
      border: getComputedStyle(document.querySelector("article.finding")).borderLeftWidth,
      heading: document.querySelector("h1")?.textContent,
    }))()`)) as {
      findings: number;
      charts: Array<{ w: number; h: number; bars: number; text: string }>;
      rows: number;
      scripts: number;
      pwned: number | null;
      images: number;
      border: string;
      heading: string | undefined;
    };
    expect(seen.heading).toBe("trailhound report");
    expect(seen.findings).toBe(report.findings.length);
    expect(seen.rows).toBe(report.identities.length);
    const drawn = report.identities.filter((i) => i.findings > 0).slice(0, 5).length;
    expect(seen.charts).toHaveLength(drawn);
    for (const c of seen.charts) {
      expect(c.w).toBeGreaterThan(600);
      expect(c.h).toBeGreaterThan(300);
      expect(c.bars).toBeGreaterThan(50);
      expect(c.text).toContain("Findings (");
    }
    // The hostile name is shown as text, in the chart too, and did nothing.
    expect(seen.charts.some((c) => c.text.includes("<script>window.__pwned=1</script></svg>"))).toBe(true);
    expect(seen.scripts).toBe(0);
    expect(seen.images).toBe(0);
    expect(seen.pwned).toBeNull();
    expect(seen.border).toBe("6px");
    expect(problems).toEqual([]);
    expect(requests).toEqual([url]);

    const shot = process.env.TRAILHOUND_SCREENSHOT;
    if (shot) {
      // The top of the page (summary, first findings), and the first chart as the page shows it.
      await page.screenshot({ path: resolve(shot), clip: { x: 0, y: 0, width: 1280, height: 1500 } });
      await page.locator("#timeline-1").screenshot({ path: resolve(shot.replace(/\.png$/, "") + "-timeline.png") });
    }
    await page.close();
  }, 120_000);
});
