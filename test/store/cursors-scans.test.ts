/** cursors-scans.ts: cursors, scan records, and a scan's results applied together. */
import { describe, expect, it } from "vitest";
import { baselineTable } from "../../src/store/baselines.js";
import { SCANS_KEPT, getCursor, prepCommitScan, prepCursors, prepScan, recentScans } from "../../src/store/cursors-scans.js";
import { emptyStoreData, type ScanRecord } from "../../src/store/types.js";
import { T0, makeFinding, makeProfile } from "./helpers.js";

const scan = (i: number): ScanRecord => ({ at: new Date(T0 + i).toISOString(), by: "t", target: "all", window: { start: "a", end: "b" }, events: i, findings: 0, partial: false });

describe("cursors", () => {
  it("are validated and copied now, set by the change, looked up by own key only", () => {
    expect(() => prepCursors({ "": { newestTime: 1, newestIds: [], updatedAt: "u" } })).toThrow(/Cursor key is required/);
    expect(() => prepCursors({ k: { newestTime: "1", newestIds: [] } as never })).toThrow(/needs newestTime and newestIds/);
    const c = { newestTime: 5, newestIds: ["a"], updatedAt: "u" };
    const apply = prepCursors({ k: c });
    c.newestIds.push("later");
    const d = emptyStoreData();
    apply(d);
    expect(getCursor(d, "k")).toEqual({ newestTime: 5, newestIds: ["a"], updatedAt: "u" });
    expect(getCursor(d, "constructor")).toBeUndefined();
  });
});

describe("scan records", () => {
  it("keep the newest SCANS_KEPT; recentScans gives the newest `limit`, oldest first", () => {
    const d = emptyStoreData();
    for (let i = 0; i < SCANS_KEPT + 3; i++) prepScan(scan(i))(d);
    expect(d.scans).toHaveLength(SCANS_KEPT);
    expect(d.scans[0]!.events).toBe(3);
    expect(recentScans(d, 2).map((s) => s.events)).toEqual([SCANS_KEPT + 1, SCANS_KEPT + 2]);
  });
});

describe("prepCommitScan", () => {
  it("applies baselines, findings, the record and the cursors together", () => {
    const d = emptyStoreData();
    const results = prepCommitScan(
      { profiles: [makeProfile("user:1:a")], findings: [makeFinding({ id: "f" })], scan: scan(1), cursors: { src: { newestTime: 9, newestIds: [], updatedAt: "u" } } },
      T0,
    )(d);
    expect(results).toEqual([{ id: "f", kind: "new", status: "open", reopened: false, notify: true }]);
    expect([...baselineTable(d).keys()]).toEqual(["user:1:a"]);
    expect(d.scans).toHaveLength(1);
    expect(getCursor(d, "src")?.newestTime).toBe(9);
  });

  it("one bad part refuses the whole commit before anything is applied", () => {
    const bad = {
      profiles: [makeProfile("user:1:a")],
      findings: [makeFinding({ id: "f" })],
      scan: scan(1),
      cursors: { src: { newestTime: Number.NaN, newestIds: "x" as never, updatedAt: "u" } },
    };
    expect(() => prepCommitScan(bad, T0)).toThrow(/Cursor src needs newestTime and newestIds/);
    const broken = makeProfile("user:1:b");
    broken.first = "soon" as never;
    expect(() => prepCommitScan({ ...bad, profiles: [broken], cursors: {} }, T0)).toThrow(/Profile user:1:b.first is not a number/);
  });
});
