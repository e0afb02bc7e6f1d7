import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jsonPieces, writePieces } from "../../src/scan/report-json.js";

// --format json to a file is written piece by piece: the bytes must be JSON.stringify(report, null, 2) + "\n".

const sample = {
  schemaVersion: 3,
  generatedAt: "2024-05-01T00:00:00.000Z",
  partial: false,
  gone: undefined,
  partialReasons: [],
  filters: {},
  stats: { events: 3, skipped: { "bad-json": 1 }, perRegion: [{ region: "us-east-1", events: 3 }] },
  findings: [
    { id: "F1", why: 'line\nbreak "quoted" \u2028 é ✓ 🙂', eventIds: ["a", "b"], evidence: { nested: { deeper: [1, [2, []], {}] } } },
    { id: "F2", why: "", eventIds: [], failed: true },
  ],
  learning: ["user:1:alice"],
  empty: [[], {}],
};

describe("report JSON written piece by piece", () => {
  it("gives the bytes of JSON.stringify(report, null, 2) and a line break", () => {
    expect([...jsonPieces(sample)].join("")).toBe(JSON.stringify(sample, null, 2) + "\n");
    expect([...jsonPieces({})].join("")).toBe(JSON.stringify({}, null, 2) + "\n");
    expect([...jsonPieces({ a: [undefined, () => 1, 2] as unknown[] })].join("")).toBe(JSON.stringify({ a: [undefined, () => 1, 2] }, null, 2) + "\n");
    // More than one piece: the findings one at a time.
    expect([...jsonPieces(sample)].length).toBeGreaterThan(sample.findings.length);
  });

  it("writes them to a file in chunks, and counts the bytes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "th-report-json-"));
    try {
      const path = join(dir, "r.json");
      const bytes = await writePieces(path, jsonPieces(sample), 16);
      const want = JSON.stringify(sample, null, 2) + "\n";
      expect(readFileSync(path, "utf8")).toBe(want);
      expect(bytes).toBe(Buffer.byteLength(want));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
