/**
 * Issue 17: the benchmark writes its report outside its input folder (a report.json inside the
 * bench data was read by the next scan as a non-CloudTrail file). scan-bench.ts takes its report
 * path from reportOutside.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { reportOutside } from "../../src/bench/cli-args.js";
import { type RunChild, scanBench } from "../../src/bench/scan-bench.js";

const made: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("the bench's report", () => {
  it("goes to a fresh folder outside every input, and a report left in an input by an older bench is removed", () => {
    const data = mkdtempSync(join(tmpdir(), "th-bench-data-"));
    made.push(data);
    writeFileSync(join(data, "report.json"), "{}");
    writeFileSync(join(data, "keep.json.gz"), "");
    const r = reportOutside([data]);
    expect(relative(data, r.file).startsWith("..")).toBe(true);
    expect(existsSync(join(data, "report.json"))).toBe(false);
    expect(existsSync(join(data, "keep.json.gz"))).toBe(true);
    expect(existsSync(dirname(r.file))).toBe(true);
    r.remove();
    expect(existsSync(dirname(r.file))).toBe(false);
  });

  it("is refused when the temporary folder lies inside an input", () => {
    const data = mkdtempSync(join(tmpdir(), "th-bench-data-"));
    made.push(data);
    const inner = join(data, "tmp");
    mkdirSync(inner);
    vi.stubEnv("TMPDIR", inner);
    expect(() => reportOutside([data])).toThrow(/would be inside its input/);
  });
});

describe("the scan bench", () => {
  it("has its scans write their report outside the input folder, and removes it at the end", async () => {
    const data = mkdtempSync(join(tmpdir(), "th-bench-data-"));
    made.push(data);
    const argv = process.argv;
    const outs: string[] = [];
    // The children, without running them: each scan writes a report where --out says.
    const child: RunChild = (args) => {
      if (args[1] === "--child-parse") return { ms: 1, stdout: JSON.stringify({ events: 200, ms: 1, cpuMs: 1, maxRssKb: 1024 }), stderr: "" };
      expect(args.slice(1, 4)).toEqual(["scan", "--input", data]);
      const out = args[args.indexOf("--out") + 1]!;
      outs.push(out);
      writeFileSync(out, JSON.stringify({ stats: { recordsRead: 200, events: 200 }, findings: [] }));
      return { ms: 1, stdout: "", stderr: "maxRSS=1024 cpuMs=1 mainCpuMs=1\n" };
    };
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      process.argv = [argv[0]!, "scan-bench", "--dir", data, "--events", "200", "--identities", "5", "--days", "1", "--rounds", "2", "--threads", "1", "--duckdb", "none"];
      await scanBench(child);
      // An older bench's report in the input is removed before the rounds.
      writeFileSync(join(data, "report.json"), "{}");
      await scanBench(child);
    } finally {
      process.argv = argv;
      log.mockRestore();
    }
    expect(outs.length).toBe(4);
    for (const out of outs) {
      expect(relative(data, out).startsWith("..")).toBe(true);
      expect(existsSync(dirname(out))).toBe(false); // removed at the end
    }
    // Nothing but the generated logs in the input.
    const files = (readdirSync(data, { recursive: true }) as string[]).filter((f) => !f.startsWith("AWSLogs"));
    expect(files).toEqual([".manifest.json"]);
  });
});
