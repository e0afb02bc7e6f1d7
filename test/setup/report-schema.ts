/**
 * Every report the tests build (buildReport) is validated against schema/report.schema.json, the
 * schema generated from the report's TypeScript types: a test file fails when one does not match.
 * Validated as JSON (what consumers read), after a JSON round trip.
 */
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { afterAll, expect } from "vitest";
import { reportObservers } from "../../src/scan/report.js";

const schema = JSON.parse(readFileSync(new URL("../../schema/report.schema.json", import.meta.url), "utf8")) as object;
const validate = new Ajv({ allErrors: false, strict: false }).compile(schema);
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
