/**
 * Issue 17: the benchmark writes its report outside its input folder (a report.json inside the
 * bench data was read by the next scan as a non-CloudTrail file). scan-bench.ts takes its report
 * path from reportOutside.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { reportOutside } from "../../src/bench/cli-args.js";

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
