/**
 * Every report the tests build (buildReport) is validated against schema/report.schema.json, the
 * schema generated from the report's TypeScript types: a test file fails when one does not match.
 * Validated as JSON (what consumers read), after a JSON round trip.
 *
 * The validator is compiled once (Ajv's standalone code) into node_modules/.cache, named by the
 * schema's and Ajv's hash, and loaded from there by every test file after the first: compiling
 * the schema in each of the 117 files took 0.15-0.4 s of CPU each.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { afterAll, expect } from "vitest";
import { reportObservers } from "../../src/scan/report.js";

type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };

const require = createRequire(import.meta.url);

function reportValidator(): Validate {
  const schemaText = readFileSync(new URL("../../schema/report.schema.json", import.meta.url), "utf8");
  const ajvVersion = (require("ajv/package.json") as { version: string }).version;
  const hash = createHash("sha256").update(`${ajvVersion}\n${schemaText}`).digest("hex").slice(0, 16);
  const dir = fileURLToPath(new URL("../../node_modules/.cache/trailhound/", import.meta.url));
  const file = `${dir}report-schema-${hash}.cjs`;
  if (existsSync(file)) return require(file) as Validate;
  const { Ajv } = require("ajv") as typeof import("ajv");
  const standalone = (require("ajv/dist/standalone") as { default: (ajv: InstanceType<typeof Ajv>, v: Validate) => string }).default;
  const ajv = new Ajv({ allErrors: false, strict: false, code: { source: true } });
  const validate = ajv.compile(JSON.parse(schemaText) as object);
  // Written whole, then renamed: test files starting at once each write theirs, none reads half a file.
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, standalone(ajv, validate));
  renameSync(tmp, file);
  return validate as Validate;
}

const validate = reportValidator();
const problems: string[] = [];
let checked = 0;

reportObservers.add((report) => {
  checked++;
  const json: unknown = JSON.parse(JSON.stringify(report));
  if (!validate(json) && problems.length < 5) problems.push(JSON.stringify(validate.errors?.slice(0, 3)));
});

afterAll(() => {
  expect(problems, `${problems.length} of ${checked} reports do not match schema/report.schema.json`).toEqual([]);
});
