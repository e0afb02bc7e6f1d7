/**
 * new-region-activity through the scan (the account's regions come from every identity's
 * baseline): which events it cites and when it is silent; the table has the severities.
 */
import { describe, expect, test } from "vitest";
import { newRegionActivity } from "../../src/detectors/new-region-activity.js";
import { runCase } from "./tables/runner.js";
import { table } from "./tables/new-region-activity.js";

describe("new-region-activity", () => {
  test("fires low on reads in a region new to the account, citing only the calls there and naming it", () => {
    const c = table.cases[0]!;
    const { findings, problems } = runCase(newRegionActivity, c);
    expect(problems).toEqual([]);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.region).toBe("ap-southeast-3");
    expect(findings[0]!.eventIds.sort()).toEqual(c.anomalous!.map((r) => String(r.eventID)).sort());
    expect(findings[0]!.why).toMatch(/neither it nor any identity of account .* used before this window/);
  });

  test("stays quiet on regions the account uses, global services and launches (new-region's)", () => {
    for (const c of table.cases.slice(3)) expect(runCase(newRegionActivity, c).findings, c.name).toEqual([]);
  });

  test("fires one finding per region of a sweep, each medium", () => {
    const { findings } = runCase(newRegionActivity, table.cases[1]!);
    expect(findings.map((f) => [f.region, f.severity]).sort()).toEqual([
      ["ap-southeast-3", "medium"],
      ["me-central-1", "medium"],
      ["sa-east-1", "medium"],
    ]);
  });
});
