/**
 * Every detector's table of cases (test/detectors/tables/<id>.ts), run by the shared runner
 * (tables/runner.ts): expected severity or silence, and for every firing case, evidence that is
 * the anomaly (cited events, first/last seen, the identity shown).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { runCase, type Table } from "./tables/runner.js";

const DIR = join(import.meta.dirname, "tables");
const files = readdirSync(DIR).filter((f) => f.endsWith(".ts") && f !== "runner.ts");

describe.each(files)("table %s", async (file) => {
  const table = ((await import(join(DIR, file))) as { table: Table }).table;
  test.each(table.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const { problems } = runCase(table.detector, c);
    expect(problems).toEqual([]);
  });
});
