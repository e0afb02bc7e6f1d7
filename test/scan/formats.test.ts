import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import { runScan } from "../../src/scan/run.js";
import type { Report } from "../../src/scan/report-types.js";
import { csvField, CSV_COLUMNS, findingsCsv, findingsJsonl, findingsOcsf } from "../../src/scan/formats.js";
import { FileSource } from "../../src/sources/files.js";

let report: Report;
const json = (p: string) => JSON.parse(readFileSync(new URL(`../../${p}`, import.meta.url), "utf8")) as object;

beforeAll(async () => {
  ({ report } = await runScan({ now: Date.parse("2023-07-10T13:00:00Z"), filters: {}, version: "test", sources: [new FileSource(["test/fixtures/invictus-aws"])] }));
  expect(report.findings.length).toBeGreaterThan(3);
});

describe("--format jsonl / csv / ocsf", () => {
  it("jsonl: one finding per line, the report's findings exactly", () => {
    const lines = findingsJsonl(report).trimEnd().split("\n");
    expect(lines.map((l) => JSON.parse(l))).toEqual(JSON.parse(JSON.stringify(report.findings)));
  });

  it("csv: a header and one row per finding, quoted, formulas defused", () => {
    const csv = findingsCsv(report);
    expect(csv.split("\r\n")[0]).toBe(CSV_COLUMNS.join(","));
    // Rows = lines outside quotes.
    let rows = 0;
    let quoted = false;
    for (let i = 0; i < csv.length; i++) {
      if (csv[i] === '"') quoted = !quoted;
      else if (!quoted && csv[i] === "\n") rows++;
    }
    expect(rows).toBe(report.findings.length + 1);
    expect(csvField('a "b", c')).toBe('"a ""b"", c"');
    expect(csvField('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvField("-1")).toBe("'-1");
  });

  it("ocsf: every finding is a Detection Finding (2004) that validates against the class schema", () => {
    const validate = new Ajv({ strict: false, allErrors: true }).compile(json("schema/ocsf/detection_finding-2004.subset.schema.json"));
    const objs = findingsOcsf(report, { version: "0.1.0" })
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs).toHaveLength(report.findings.length);
    for (const o of objs) expect(validate(o), JSON.stringify(validate.errors)).toBe(true);
    const f = report.findings[0]!;
    expect(objs[0]).toMatchObject({
      class_uid: 2004,
      category_uid: 2,
      type_uid: 200401,
      finding_info: { uid: f.id, analytic: { name: f.detector, type_id: 1 } },
      time: Date.parse(f.lastSeen),
    });
    // The schema does reject what OCSF does not allow.
    expect(validate({ ...objs[0], time: f.lastSeen })).toBe(false);
    expect(validate({ ...objs[0], severity_id: 7 })).toBe(false);
  });
});

describe("the JSON report's schema", () => {
  it("validates a real report, and rejects a broken one", () => {
    const validate = new Ajv({ strict: false }).compile(json("schema/report.schema.json"));
    const r = JSON.parse(JSON.stringify(report));
    expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    r.findings[0].severity = "urgent";
    expect(validate(r)).toBe(false);
  });

  it("is the one the types give (npm run schema regenerates it)", { timeout: 120_000 }, () => {
    expect(() => execFileSync(process.execPath, ["scripts/report-schema.mjs", "--check"], { stdio: "pipe" })).not.toThrow();
  });
});
