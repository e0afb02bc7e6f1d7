/**
 * Never learn from an attack (src/baseline/held.ts), through the scan: a new network flagged on
 * day one is still new on day two while its finding is open, and becomes history once the finding
 * is acknowledged. Generated records (the shared samples carry no public addresses).
 */
import { describe, expect, test } from "vitest";
import { DAY, HOUR, type Profile } from "../../src/baseline/profile.js";
import { MAX_HELD, heldDaysOf, holdBack } from "../../src/baseline/held.js";
import { Scanner } from "../../src/scan/scanner.js";
import { iamUser } from "../helpers/events.js";
import { GEN_GEO, GEN_IPS } from "../helpers/window.js";
import { rec, routine, W } from "../detectors/tables/runner.js";
import { callsFrom, nina, peopleHistory, SSO_ROLE } from "../detectors/tables/shared/people.js";

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

function scanDay(day: number, records: Array<Record<string, unknown>>, stored: Map<string, Profile>, status: Map<string, string>, given?: Map<string, Profile>) {
  const s = new Scanner({
    now: W + (day + 1) * DAY,
    since: { kind: "absolute", at: W + day * DAY },
    until: W + (day + 1) * DAY - 1,
    geo: GEN_GEO,
    storedProfile: (k) => stored.get(k),
    findingStatus: (id) => status.get(id),
    // As the profile was when given (a store encodes it then: ScanOptions.onProfile).
    ...(given ? { onProfile: (p: Profile) => given.set(p.key, structuredClone(p)) } : {}),
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

  test("gives each profile to onProfile as it is made, and again once values are held back from it", () => {
    const stored = new Map<string, Profile>();
    const given = new Map<string, Profile>();
    scanDay(-1, history, stored, new Map(), given);
    const day0 = scanDay(0, [...usual(0), ...fromVps(0)], stored, new Map(), given);
    expect(day0.length).toBeGreaterThan(0);
    expect(given.get("user:111111111111:maria")!.held?.map((h) => h.finding)).toContain(day0[0]!.id);
    expect([...given.keys()].sort()).toEqual([...stored.keys()].sort());
    for (const [k, p] of stored) expect(given.get(k), k).toEqual(p);
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

describe("travel fades by the distinct days the person was seen from the new country", () => {
  const atHome = (day: number) => [rec({ eventName: "DescribeInstances", userIdentity: nina, sourceIPAddress: GEN_IPS.parisOrange[0], time: W + day * DAY + 8 * HOUR })];
  const run = (plan: Array<"home" | "BR">) => {
    const stored = new Map<string, Profile>();
    const status = new Map<string, string>();
    scanDay(-1, peopleHistory, stored, status);
    return plan.map((where, day) => {
      const found = scanDay(day, where === "BR" ? callsFrom(nina, GEN_IPS.saoPaulo, day) : atHome(day), stored, status);
      return { found: found.find((f) => f.title.includes("new country")), profile: stored.get(`person:111111111111:${SSO_ROLE}:nina@example.com`) };
    });
  };

  test("fires high the first day, medium the second and low the third while the finding stays open", () => {
    const days = run(["BR", "BR", "BR"]);
    expect(days.map((d) => d.found?.severity)).toEqual(["high", "medium", "low"]);
    expect(days[2]!.found!.why).toMatch(/seen from BR on 3 days/);
    // The days are kept with the held-back country while its finding is medium or higher ...
    const held = days[1]!.profile!.held!.flatMap((h) => h.values).find(([d, v]) => d === "country" && v === "BR");
    expect(held?.[3]).toEqual([0, 1].map((d) => Math.floor((W + d * DAY) / DAY)));
    // ... and a low finding is not held: the third day is learned.
    expect(days[2]!.profile!.dims.country.BR).toBeDefined();
  });

  test("fires medium, not low, on a second sighting five days after the first: days seen, not days elapsed", () => {
    const days = run(["BR", "home", "home", "home", "home", "BR"]);
    expect(days[0]!.found?.severity).toBe("high");
    expect(days[5]!.found?.severity).toBe("medium");
    expect(days[5]!.found!.why).toMatch(/seen from BR on 2 days/);
  });

  test("reads held countries of older stores (no days recorded) as seen on their first and last day", () => {
    const p = { held: [{ finding: "F1", since: W, values: [["country", "BR", [3, 0, W + 14 * HOUR, W + 2 * DAY + 14 * HOUR]]] }] } as unknown as Profile;
    expect([...heldDaysOf(p, "country", "BR", W + 5 * DAY)].sort()).toEqual([Math.floor(W / DAY), Math.floor(W / DAY) + 2]);
    expect(heldDaysOf(p, "country", "BR", W + DAY).size).toBe(1);
  });
});
