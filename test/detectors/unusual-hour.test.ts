/**
 * unusual-hour: its own finding (low at most) and the hour as a factor that raises other findings
 * of the same person's off-hour activity. The table (tables/unusual-hour.ts) holds the firing and
 * silent cases; these tests check the why, the raise, and that an attack's hours are not learned.
 */
import { describe, expect, test } from "vitest";
import type { Profile } from "../../src/baseline/profile.js";
import { DETECTORS } from "../../src/detectors/index.js";
import { newSourceNetwork } from "../../src/detectors/new-source-network.js";
import { unusualHour } from "../../src/detectors/unusual-hour.js";
import { Scanner } from "../../src/scan/scanner.js";
import { ACCOUNT, iamUser } from "../helpers/events.js";
import { GEN_GEO, GEN_IPS } from "../helpers/window.js";
import { DAY, HOUR, MIN, rec, routine, runCase, W, type Rec } from "./tables/runner.js";

const maria = iamUser("maria");
const paris = GEN_IPS.parisOrange[0];
const calls: Array<[string, string]> = [
  ["DescribeInstances", "ec2.amazonaws.com"],
  ["ListBuckets", "s3.amazonaws.com"],
];
const history = routine({ identity: maria, calls, ip: paris });
const at = (hour: number, ip: string = paris, n = 5, day = 0) =>
  Array.from({ length: n }, (_, i) => rec({ eventName: "DescribeInstances", userIdentity: maria, sourceIPAddress: ip, time: W + day * DAY + hour * HOUR + i * MIN }));

describe("unusual-hour", () => {
  test("fires low with the usual hours in its why, citing only the off-hour events", () => {
    const off = at(3);
    const { findings, problems } = runCase(unusualHour, { name: "", history, normal: at(9), anomalous: off, expect: "low" });
    expect(problems).toEqual([]);
    const f = findings[0]!;
    expect(f.why).toMatch(/5 calls by this user at 03:00 UTC, an hour it had never worked within an hour of: active on 13 days of the last 14/);
    expect(f.why).toMatch(/usually 07:00-16:00 UTC/);
    expect(f.count).toBe(5);
    // The window lists at most 4 ids of one API per 10 minutes: a subset of the off-hour calls.
    expect(f.eventIds.length).toBeGreaterThan(0);
    for (const id of f.eventIds) expect(off.map((r) => String(r.eventID))).toContain(id);
  });

  test("stays quiet when the off-hour activity is under three calls", () => {
    expect(runCase(unusualHour, { name: "", history, normal: at(3, paris, 2), expect: null }).problems).toEqual([]);
  });

  test("fires as a factor: a new network at 03:00 (medium on its own) is raised to high, with the hour in its why", () => {
    const day = runCase(newSourceNetwork, { name: "", history, normal: at(9), anomalous: at(14, GEN_IPS.parisFree), expect: "medium" });
    expect(day.problems).toEqual([]);
    const night = runCase(newSourceNetwork, { name: "", history, normal: at(9), anomalous: at(3, GEN_IPS.parisFree), expect: "high" });
    expect(night.problems).toEqual([]);
    expect(night.findings[0]!.score).toBeGreaterThan(day.findings[0]!.score);
    expect(night.findings[0]!.why).toMatch(/Raised: at 03:00 UTC, an hour it had never worked within an hour of.*\(unusual-hour\)/);
  });

  test("stays quiet as a factor when unusual-hour is not among the scan's detectors", () => {
    const s = new Scanner({
      now: W + DAY,
      since: { kind: "absolute", at: W },
      until: W + DAY - 1,
      detectors: DETECTORS.filter((d) => d.id !== unusualHour.id),
      geo: GEN_GEO,
      detectorConfig: { ownAccounts: new Set([ACCOUNT]) },
    });
    for (const r of [...history, ...at(9), ...at(3, GEN_IPS.parisFree)]) s.record(r, "t");
    const f = s.finish().report.findings.find((x) => x.detector === newSourceNetwork.id);
    expect(f?.severity).toBe("medium");
  });

  test("fires again the next day at the same hour: an attack held back by an open finding does not teach the hour", () => {
    const scan = (records: Rec[], start: number, stored?: Map<string, Profile>) => {
      const s = new Scanner({
        now: start + DAY,
        since: { kind: "absolute", at: start },
        until: start + DAY - 1,
        geo: GEN_GEO,
        detectorConfig: { ownAccounts: new Set([ACCOUNT]) },
        ...(stored ? { storedProfile: (k: string) => stored.get(k) } : {}),
      });
      for (const r of records) s.record(r, "t");
      return s.finish();
    };
    // Day -1: maria's key is used at 03:00 from a rented server abroad (high, open: held back).
    const first = scan([...routine({ identity: maria, calls, ip: paris, endDaysBefore: 1 }), ...at(3, GEN_IPS.attackerVps, 8, -1)], W - DAY);
    expect(first.report.findings.some((f) => f.detector === "new-source-network" && f.severity === "high")).toBe(true);
    const stored = new Map(first.profiles.map((p) => [p.key, p]));
    // Day 0: the same hour again (the attacker came back through her own network).
    const second = scan(at(3, paris, 6), W, stored);
    const f = second.report.findings.find((x) => x.detector === unusualHour.id);
    expect(f?.severity).toBe("low");
  });

  test("stays quiet the next day when the earlier night was not held back (a second night is a pattern starting: rare, not never)", () => {
    const { problems } = runCase(unusualHour, { name: "", history: [...history, ...at(3, paris, 6, -1)], normal: at(3, paris, 6), expect: null });
    expect(problems).toEqual([]);
  });
});
