/** stats.ts and prune.ts on plain store data: the size warning, and what a prune plan drops. */
import { describe, expect, it } from "vitest";
import { baselineTable, prepBaselines } from "../../src/store/baselines.js";
import { prepFindings } from "../../src/store/findings.js";
import { PRUNE_DEFAULTS, prepPrune } from "../../src/store/prune.js";
import { storeStats } from "../../src/store/stats.js";
import { emptyStoreData } from "../../src/store/types.js";
import type { Backend } from "../../src/store/write-queue.js";
import { DAY, T0, makeFinding, makeProfile } from "./helpers.js";

const iso = (t: number) => new Date(t).toISOString();

function backend(bytes: number): Backend {
  return { persist: async () => {}, bytes: () => bytes, warnings: () => ["backup failed"], lastBackup: () => "b.json" };
}

describe("storeStats", () => {
  it("counts, passes the backend's facts through, and past the threshold says how many baselines are stale", () => {
    const d = emptyStoreData();
    prepBaselines([makeProfile("fresh", T0), makeProfile("stale-40", T0 - 40 * DAY), makeProfile("stale-90", T0 - 90 * DAY)])(d);
    const small = storeStats(d, backend(100), { warnBytes: 1000, writes: 4 }, T0);
    expect(small).toMatchObject({ bytes: 100, writes: 4, lastBackup: "b.json", warnings: ["backup failed"] });
    expect(small.counts.baselines).toBe(3);
    expect(small).not.toHaveProperty("file");
    const big = storeStats(d, backend(2000), { warnBytes: 1000, writes: 4 }, T0);
    expect(big.warnings).toHaveLength(2);
    expect(big.warnings[1]).toMatch(/Of 3 identities' baselines, 2 were not seen in 30 days and 1 not in 60/);
  });
});

describe("prepPrune", () => {
  it("refuses limits that are not positive numbers of days", () => {
    expect(() => prepPrune({ olderThanDays: 0 }, T0)).toThrow(/olderThanDays must be a positive/);
    expect(() => prepPrune({ olderThanDays: 30, auditDays: -1 }, T0)).toThrow(/findingsDays and auditDays/);
  });

  it("drops old baselines, old resolved findings and findings past findingsDays, and audits what it did", () => {
    const d = emptyStoreData();
    prepBaselines([makeProfile("new", T0 - DAY), makeProfile("old", T0 - 100 * DAY)])(d);
    const seen = (id: string, ago: number) => makeFinding({ id, firstSeen: iso(T0 - ago * DAY), lastSeen: iso(T0 - ago * DAY) });
    prepFindings([seen("open-100", 100), seen("resolved-100", 100), seen("open-400", 400)], T0 - 400 * DAY)(d);
    d.findings["resolved-100"] = { ...d.findings["resolved-100"]!, status: "resolved" };
    const plan = prepPrune({ olderThanDays: 90, by: "U1" }, T0);
    expect(plan.auditCutoffMs).toBe(T0 - PRUNE_DEFAULTS.auditDays * DAY);
    const res = plan.apply(d);
    expect(res).toEqual({ baselines: 1, findings: 2, suppressions: 0, scans: 0, auditFiles: 0 });
    expect([...baselineTable(d).keys()]).toEqual(["new"]);
    expect(Object.keys(d.findings)).toEqual(["open-100"]);
    expect(d.audit.at(-1)).toMatchObject({ actor: "U1", action: "prune", target: "older than 90 days", detail: "1 baselines, 2 findings, 0 ended suppressions, 0 scan records" });
  });
});
