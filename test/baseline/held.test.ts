/**
 * Never learn from an attack (src/baseline/held.ts), through the scan: a new network flagged on
 * day one is still new on day two while its finding is open, and becomes history once the finding
 * is acknowledged. Generated records (the shared samples carry no public addresses).
 */
import { describe, expect, test } from "vitest";
import { DAY, HOUR, type Profile } from "../../src/baseline/profile.js";
import { MAX_HELD, holdBack } from "../../src/baseline/held.js";
import { Scanner } from "../../src/scan/scanner.js";
import { iamUser } from "../helpers/events.js";
import { GEN_GEO, GEN_IPS } from "../helpers/window.js";
import { rec, routine, W } from "../detectors/tables/runner.js";

const maria = iamUser("maria");
const history = routine({
  identity: maria,
  calls: [
    ["DescribeInstances", "ec2.amazonaws.com"],
    ["ListBuckets", "s3.amazonaws.com"],
  ],
  ip: GEN_IPS.parisOrange[0],
});
const fromVps = (day: number) =>
  [0, 1, 2].map((i) =>
    rec({ eventName: "ListBuckets", eventSource: "s3.amazonaws.com", userIdentity: maria, sourceIPAddress: GEN_IPS.attackerVps, time: W + day * DAY + 15 * HOUR + i * 60_000 }),
  );
const usual = (day: number) => [rec({ eventName: "DescribeInstances", userIdentity: maria, sourceIPAddress: GEN_IPS.parisOrange[0], time: W + day * DAY + 9 * HOUR })];

function scanDay(day: number, records: Array<Record<string, unknown>>, stored: Map<string, Profile>, status: Map<string, string>) {
  const s = new Scanner({
    now: W + (day + 1) * DAY,
    since: { kind: "absolute", at: W + day * DAY },
    until: W + (day + 1) * DAY - 1,
    geo: GEN_GEO,
    storedProfile: (k) => stored.get(k),
    findingStatus: (id) => status.get(id),
  });
  for (const r of records) s.record(r, "test");
  const res = s.finish();
  for (const p of res.profiles) stored.set(p.key, p);
  return res.report.findings.filter((f) => f.detector === "new-source-network");
}

describe("held-back baseline values", () => {
  test("fires again on day two from the same attacker network while the finding is open, and says the baseline excludes it", () => {
    const stored = new Map<string, Profile>();
    const status = new Map<string, string>();
    scanDay(-1, history, stored, status);
    const day0 = scanDay(0, [...usual(0), ...fromVps(0)], stored, status);
    expect(day0.length).toBeGreaterThan(0);
    const p = stored.get("user:111111111111:maria")!;
    expect(p.dims.network["AS20473"]).toBeUndefined();
    expect(p.held?.map((h) => h.finding)).toContain(day0[0]!.id);
    const day1 = scanDay(1, [...usual(1), ...fromVps(1)], stored, status);
    expect(day1.map((f) => f.id)).toContain(day0[0]!.id);
    expect(day1[0]!.why).toMatch(/This baseline excludes \d+ values? held back since .* they are learned only once the finding is acknowledged or suppressed/);
  });

  test("stays quiet on day two once the finding was acknowledged as expected (the values are folded in)", () => {
    const stored = new Map<string, Profile>();
    const status = new Map<string, string>();
    scanDay(-1, history, stored, status);
    const day0 = scanDay(0, [...usual(0), ...fromVps(0)], stored, status);
    for (const f of day0) status.set(f.id, "acknowledged");
    expect(scanDay(1, [...usual(1), ...fromVps(1)], stored, status)).toEqual([]);
    const p = stored.get("user:111111111111:maria")!;
    expect(p.dims.network["AS20473"]).toBeDefined();
    expect(p.held).toBeUndefined();
  });

  test("stays bounded: at most MAX_HELD findings are held per identity, the oldest dropped", () => {
    const p = { dims: { api: {} as Record<string, [number, number, number, number]> } } as unknown as Profile;
    for (let i = 0; i < MAX_HELD + 5; i++) {
      p.dims.api[`svc:Api${i}`] = [1, 0, W + i, W + i];
      holdBack(p, [{ finding: `F${i}`, severity: "high", values: [["api", `svc:Api${i}`]] }], W, W + DAY, undefined);
    }
    expect(p.held).toHaveLength(MAX_HELD);
    expect(p.held![0]!.finding).toBe("F5");
  });
});
