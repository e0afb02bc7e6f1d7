import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtemp, writeFile, rm, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync, gunzipSync } from "node:zlib";
import { FileSource, listInputFiles } from "../../src/sources/files.js";
import { runScan } from "../../src/scan/run.js";
import { Scanner } from "../../src/scan/scanner.js";
import { FUTURE_SKEW_MS } from "../../src/ingest/ingest.js";
import type { Report } from "../../src/scan/report-types.js";

// One record dated years ahead used to end the detection window (it follows the newest event)
// and push every real event into training: all findings hidden. Such records are skipped now.

const INVICTUS = "test/fixtures/invictus-aws";
/** The sample's hour is 2023-07-10 12:xx; the scan runs the same afternoon. */
const NOW = Date.parse("2023-07-10T14:00:00Z");

let records: Array<Record<string, unknown>>;
let dir: string;
beforeAll(async () => {
  records = [];
  for (const f of await listInputFiles([INVICTUS])) records.push(...(JSON.parse(gunzipSync(await readFile(f)).toString()) as { Records: Array<Record<string, unknown>> }).Records);
  dir = await mkdtemp(join(tmpdir(), "th-oddtime-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A copy of a real record of the sample, re-dated, with its own id. */
function odd(eventTime: string, i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...records[i % records.length]!, eventTime, eventID: `odd-${i}`, ...extra };
}

const ODD = () => [
  odd("2031-01-01T00:00:00Z", 1), // years ahead
  odd("9999-12-31T23:59:59Z", 2),
  odd(new Date(NOW + FUTURE_SKEW_MS + 1000).toISOString(), 3), // just past the allowed skew
  odd("2012-12-31T23:59:59Z", 4), // before CloudTrail
  odd("1970-01-01T00:00:00Z", 5),
];

/** What the odd records must not change: everything but the counts that name them. */
function comparable(r: Report): unknown {
  const { stats, recommendations: _r, generatedAt: _g, ...rest } = r as Report & { generatedAt?: string };
  const { recordsRead: _rr, skipped: _s, skippedTotal: _st, skipSamples: _ss, ...st } = stats as Report["stats"] & { skipSamples?: unknown };
  return { ...rest, stats: st, sources: r.sources.map((s) => ({ ...s, records: 0, skipped: 0 })) };
}

function scanRecords(recs: readonly unknown[], fastPath: boolean): Report {
  const s = new Scanner({ now: NOW, fastPath });
  for (const r of recs) s.record(r, "t");
  return s.finish().report;
}

describe("records dated in the future or before CloudTrail", () => {
  it("are skipped with their own reasons and never move the window (records, both paths, any order)", () => {
    const clean = scanRecords(records, false);
    expect(clean.findings.length).toBeGreaterThan(0);
    for (const fastPath of [true, false]) {
      for (const recs of [
        [...ODD(), ...records],
        [...records, ...ODD()],
      ]) {
        const r = scanRecords(recs, fastPath);
        expect(r.window).toEqual(clean.window);
        expect(comparable(r)).toEqual(comparable(clean));
        expect(r.stats.skipped).toEqual({ "future-eventTime": 3, "pre-2013-eventTime": 2 });
        expect(r.stats.recordsRead).toBe(records.length + 5);
        expect(r.recommendations.some((x) => /5 records are dated after the scan time/.test(x))).toBe(true);
      }
    }
  });

  it("a record within the allowed clock skew still counts and ends the window", () => {
    const near = new Date(NOW + FUTURE_SKEW_MS - 60_000).toISOString();
    const r = scanRecords([...records, odd(near, 7)], true);
    expect(r.stats.skippedTotal).toBe(0);
    expect(r.window.end).toBe(near);
  });

  it("an invalid record with an odd time keeps its validation reason (both paths)", () => {
    const bad = { eventTime: "2031-01-01T00:00:00Z", eventName: "X", eventSource: "s", userIdentity: {} }; // no eventID
    for (const fastPath of [true, false]) expect(scanRecords([...records, bad], fastPath).stats.skipped).toEqual({ "missing-eventID": 1 });
  });

  it("read from delivery files (the byte walk's fast lane) give the same report as the full path", async () => {
    const recs = [...records.slice(0, 1500), ...ODD(), ...records.slice(1500)];
    const file = join(dir, "111122223333_CloudTrail_us-east-1_20230710T1255Z_odd.json.gz");
    await writeFile(file, gzipSync(JSON.stringify({ Records: recs })));
    const plain = join(dir, "odd.jsonl");
    await writeFile(plain, recs.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const fast = (await runScan({ now: NOW, sources: [new FileSource([file])] })).report;
    const full = (await runScan({ now: NOW, fastPath: false, sources: [new FileSource([file])] })).report;
    const lines = (await runScan({ now: NOW, sources: [new FileSource([plain])] })).report;
    expect(fast).toEqual(full);
    expect(fast.stats.skipped).toEqual({ "future-eventTime": 3, "pre-2013-eventTime": 2 });
    expect(comparable(lines)).toEqual({ ...(comparable(fast) as object), sources: (comparable(lines) as { sources: unknown }).sources });
    expect(comparable(fast)).toEqual({ ...(comparable(scanRecords(records, true)) as object), sources: (comparable(fast) as { sources: unknown }).sources });
  });
});
