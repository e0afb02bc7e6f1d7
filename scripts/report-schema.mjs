#!/usr/bin/env node
/**
 * Writes schema/report.schema.json: the JSON Schema of the JSON report, generated from the
 * TypeScript types the code uses (src/scan/report-types.ts, `Report`), never written by hand.
 * `npm run schema` regenerates it; test/scan/report-schema.test.ts fails when it is stale.
 * `--check` exits 1 when the file differs from what the types give.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createGenerator } from "ts-json-schema-generator";

export function generateReportSchema() {
  const schema = createGenerator({
    path: "src/scan/report-types.ts",
    tsconfig: "tsconfig.json",
    type: "Report",
    skipTypeCheck: true,
    additionalProperties: false,
    expose: "export",
  }).createSchema("Report");
  return (
    JSON.stringify(
      {
        $id: "trailhound-report.schema.json",
        title: "trailhound JSON report (schemaVersion 1)",
        description: "Generated from src/scan/report-types.ts by scripts/report-schema.mjs; do not edit.",
        ...schema,
      },
      null,
      2,
    ) + "\n"
  );
}

const out = "schema/report.schema.json";
if (process.argv[1] && process.argv[1].endsWith("report-schema.mjs")) {
  const text = generateReportSchema();
  if (process.argv.includes("--check")) {
    let cur = "";
    try {
      cur = readFileSync(out, "utf8");
    } catch {}
    if (cur !== text) {
      process.stderr.write(`${out} is stale: run npm run schema\n`);
      process.exit(1);
    }
  } else writeFileSync(out, text);
}
