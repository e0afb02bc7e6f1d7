import { describe, it, expect } from "vitest";
import { Scanner, type ScanOptions } from "../../src/scan/scanner.js";
import { DEFAULT_BASELINE_CONFIG, DAY, HOUR, ageProfile, type Profile } from "../../src/baseline/profile.js";
import { BaselineView } from "../../src/baseline/view.js";
import type { EventDetector, WindowDetector } from "../../src/detectors/types.js";
import { findingId } from "../../src/scan/findings.js";
import { rec } from "./records.js";

// Generated records: the shared data spans one hour, so multi-day windows and baselines need
// generated history (see ../shared/data/cloudtrail/README.md, "What this data cannot test").

const T0 = Date.parse("2024-05-01T00:00:00Z");

/** A test detector that reports every API first seen inside the window (to exercise ids and the baseline view). */
const novelApi: WindowDetector = {
  kind: "window",
  id: "test-novel-api",
  title: "t",
  description: "t",
  severity: "medium",
  cites: "the new API's calls",
  attack: ["T1"],
  investigate: ["x"],
  falsePositives: ["y"],
  detect(w, ctx) {
    if (ctx.learning) return [];
    return [...w.apis]
      .filter(([api]) => !ctx.baseline.known("api", api))
      .map(([api, s]) => ({
        severity: "medium" as const,
        why: `first ${api}; ${ctx.baseline.summary()}`,
        fingerprint: [api],
        eventIds: s.ids,
        firstSeen: s.first,
        lastSeen: s.last,
        count: s.n,
      }));
  },
};
const everyStop: EventDetector = {
  kind: "event",
  id: "test-stop",
  title: "stop",
  description: "t",
  severity: "critical",
  cites: "the call",
  attack: ["T1562.008"],
  investigate: ["x"],
  falsePositives: ["y"],
  eventNames: ["StopLogging"],
  detect: (ev) => ({ severity: "critical", why: "stop", fingerprint: [], eventIds: [ev.id], firstSeen: ev.time, lastSeen: ev.time, count: 1, failed: ev.failed }),
};

function scan(records: unknown[], opts: Partial<ScanOptions> = {}) {
  const s = new Scanner({ now: T0 + 30 * DAY, detectors: [novelApi, everyStop], ...opts });
  for (const r of records) s.record(r, "test");
  return s.finish();
}

/** Ten days of routine for alice (3 APIs, one IP), then a window. */
function history(days = 10): Array<Record<string, unknown>> {
  const out = [];
  for (let d = 0; d < days; d++)
    for (let h = 9; h < 17; h++) for (const name of ["DescribeInstances", "DescribeVolumes", "DescribeSecurityGroups"]) out.push(rec({ t: T0 + d * DAY + h * HOUR, name }));
  return out;
}

describe("detection window", () => {
  it("defaults to the 24 hours before the newest event; earlier events train the baseline", () => {
    const recs = [...history(), rec({ t: T0 + 10 * DAY + 10 * HOUR, name: "CreateAccessKey", source: "iam.amazonaws.com" })];
    const { report } = scan(recs);
    expect(report.window.end).toBe(new Date(T0 + 10 * DAY + 10 * HOUR).toISOString());
    expect(report.window.start).toBe(new Date(T0 + 9 * DAY + 10 * HOUR).toISOString());
    // In the window: day 9 from 10:00 (7 hours x 3 APIs) plus the new call.
    expect(report.stats.events).toBe(7 * 3 + 1);
    expect(report.findings.map((f) => f.why)).toEqual([
      expect.stringMatching(/^first iam:CreateAccessKey; 9 days of history \(9 active\); it normally calls 3 APIs in 1 service from 1 source IP in 1 region/),
    ]);
  });

  it("accepts an absolute --since and --until; later events are ignored, not trained", () => {
    const recs = [...history(), rec({ t: T0 + 10 * DAY + 10 * HOUR, name: "CreateAccessKey", source: "iam.amazonaws.com" })];
    const { report } = scan(recs, { since: { kind: "absolute", at: T0 + 9 * DAY }, until: T0 + 9 * DAY + 12 * HOUR });
    expect(report.window).toEqual({ start: new Date(T0 + 9 * DAY).toISOString(), end: new Date(T0 + 9 * DAY + 12 * HOUR).toISOString() });
    expect(report.stats.afterWindow).toBe(3 * 4 + 1);
    expect(report.findings).toEqual([]);
  });

  it("a relative --since counts back from --until", () => {
    const { report } = scan(history(), { since: { kind: "relative", ms: 2 * DAY }, until: T0 + 8 * DAY });
    expect(report.window.start).toBe(new Date(T0 + 6 * DAY).toISOString());
    expect(report.stats.events).toBe(2 * 8 * 3);
  });

  it("gives the same result whatever order the records arrive in", () => {
    const recs = [...history(), rec({ t: T0 + 10 * DAY + 10 * HOUR, name: "CreateAccessKey", source: "iam.amazonaws.com" })];
    const a = scan(recs).report;
    const shuffled = [...recs].reverse();
    const b = scan(shuffled).report;
    expect(b.stats.events).toBe(a.stats.events);
    expect(b.findings.map((f) => f.id)).toEqual(a.findings.map((f) => f.id));
  });
});

describe("filters", () => {
  const recs = [
    rec({ t: T0, user: "alice", ip: "10.0.0.1" }),
    rec({ t: T0 + 1000, user: "bob", ip: "10.0.0.2", region: "eu-west-1" }),
    rec({ t: T0 + 2000, role: "Deploy", session: "carol@example.com", ip: "10.0.0.3", account: "2222" }),
  ];
  it.each([
    [{ user: "alice" }, 1],
    [{ user: "arn:aws:iam::1111:user/bob" }, 1],
    [{ user: "carol@example.com" }, 1],
    [{ user: "Deploy" }, 1],
    [{ user: "arn:aws:sts::2222:assumed-role/Deploy/carol@example.com" }, 1],
    [{ ip: "10.0.0.2" }, 1],
    [{ account: "2222" }, 1],
    [{ region: "eu-west-1" }, 1],
    [{ user: "mallory" }, 0],
  ])("%j keeps %i event(s)", (filters, n) => {
    const { report } = scan(recs, { filters });
    expect(report.stats.events).toBe(n);
    expect(report.stats.filteredOut).toBe(3 - n);
  });
});

describe("baselines", () => {
  it("learn per identity: services, APIs, IPs, regions, hours, hourly rates", () => {
    const { profiles } = scan(history());
    const p = profiles.find((x) => x.key === "user:1111:alice")!;
    expect(Object.keys(p.dims.api).sort()).toEqual(["ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "ec2:DescribeVolumes"]);
    expect(p.dims.ip["10.0.0.1"]![0]).toBe(240);
    expect(p.days.length).toBe(10);
    expect(p.hours[9]).toBe(30);
    expect(p.hours[3]).toBe(0);
    expect(p.hourly.length).toBeGreaterThan(50);
    expect(p.hourly.every(([, n]) => n === 3)).toBe(true);
  });

  it("an identity with too little history is learning and gets no first-seen findings", () => {
    const recs = [rec({ t: T0, name: "DescribeInstances" }), rec({ t: T0 + HOUR, name: "CreateAccessKey", source: "iam.amazonaws.com" })];
    const { report } = scan(recs);
    expect(report.learning).toEqual(["user:1111:alice"]);
    expect(report.findings).toEqual([]);
    expect(report.identities[0]!.learning).toBe(true);
  });

  it("stay bounded: caps per dimension whatever the volume", () => {
    const recs = [];
    for (let i = 0; i < 2000; i++) recs.push(rec({ t: T0 + i * 60_000, name: `Describe${i}`, ip: `10.0.${i >> 8}.${i & 255}` }));
    const { profiles } = scan(recs);
    const p = profiles[0]!;
    expect(Object.keys(p.dims.api).length).toBe(DEFAULT_BASELINE_CONFIG.caps.api);
    expect(Object.keys(p.dims.ip).length).toBe(DEFAULT_BASELINE_CONFIG.caps.ip);
    expect(JSON.stringify(p).length).toBeLessThan(60_000);
  });

  it("forget behaviour older than the horizon and decay counts", () => {
    const { profiles } = scan(history());
    const p = profiles[0]!;
    const later = ageProfile(p, p.last + 100 * DAY, DEFAULT_BASELINE_CONFIG);
    expect(Object.keys(later.dims.api)).toEqual([]);
    expect(later.days).toEqual([]);
    const soon = ageProfile(p, p.trainedUntil + 30 * DAY, DEFAULT_BASELINE_CONFIG);
    expect(soon.dims.ip["10.0.0.1"]![0]).toBeCloseTo(120, 0);
  });

  it("a stored baseline trains the next scan, and rescanning the same data does not double counts", () => {
    const recs = history();
    const first = scan(recs);
    const stored = new Map(first.profiles.map((p) => [p.key, p] as [string, Profile]));
    const again = scan(recs, { storedProfile: (k) => stored.get(k) });
    const p1 = first.profiles[0]!;
    const p2 = again.profiles[0]!;
    expect(p2.dims.ip["10.0.0.1"]![0]).toBeCloseTo(p1.dims.ip["10.0.0.1"]![0], 5);
    expect(p2.events).toBeCloseTo(p1.events, 5);

    // A new day scanned on its own knows alice's history from the store alone.
    const day = [rec({ t: T0 + 11 * DAY + 10 * HOUR, name: "DescribeInstances" }), rec({ t: T0 + 11 * DAY + 11 * HOUR, name: "PutBucketPolicy", source: "s3.amazonaws.com" })];
    const next = scan(day, { storedProfile: (k) => stored.get(k) });
    expect(next.report.learning).toEqual([]);
    expect(next.report.findings.map((f) => f.why)).toEqual([expect.stringMatching(/^first s3:PutBucketPolicy/)]);
  });

  it("values first seen inside the window are not 'known', even from a store that already holds the window", () => {
    const recs = [...history(), rec({ t: T0 + 10 * DAY + 10 * HOUR, name: "CreateAccessKey", source: "iam.amazonaws.com" })];
    const first = scan(recs);
    const stored = new Map(first.profiles.map((p) => [p.key, p] as [string, Profile]));
    const again = scan(recs, { storedProfile: (k) => stored.get(k) });
    expect(again.report.findings.map((f) => f.id)).toEqual(first.report.findings.map((f) => f.id));
  });

  it("the view grades novelty: an identity that often meets new APIs has a higher rate", () => {
    const recs = [];
    for (let d = 0; d < 10; d++) {
      recs.push(rec({ t: T0 + d * DAY + HOUR, role: "ci", name: "DescribeInstances" }));
      recs.push(rec({ t: T0 + d * DAY + 2 * HOUR, role: "ci", name: `Describe${d}` }));
      for (let k = 0; k < 10; k++) recs.push(rec({ t: T0 + d * DAY + 3 * HOUR + k, name: "DescribeInstances" }));
    }
    const { profiles } = scan(recs);
    const ci = new BaselineView(
      profiles.find((p) => p.key === "role:1111:ci"),
      T0 + 10 * DAY,
      DEFAULT_BASELINE_CONFIG,
    );
    const alice = new BaselineView(
      profiles.find((p) => p.key === "user:1111:alice"),
      T0 + 10 * DAY,
      DEFAULT_BASELINE_CONFIG,
    );
    expect(ci.noveltyRate("api")).toBeCloseTo(1, 1);
    expect(alice.noveltyRate("api")).toBe(0);
  });
});

describe("findings", () => {
  it("have stable ids: the same finding in a later scan has the same id", () => {
    const a = scan([rec({ t: T0, name: "StopLogging", source: "cloudtrail.amazonaws.com" })]).report.findings[0]!;
    const b = scan([rec({ t: T0 + 5 * DAY, name: "StopLogging", source: "cloudtrail.amazonaws.com" })]).report.findings[0]!;
    expect(a.id).toBe(b.id);
    expect(a.id).toBe(findingId("test-stop", "user:1111:alice", []));
    expect(a.firstSeen).not.toBe(b.firstSeen);
  });

  it("merge drafts with the same fingerprint; failed attempts stay marked failed", () => {
    const recs = [
      rec({ t: T0, name: "StopLogging", source: "cloudtrail.amazonaws.com", error: "AccessDenied" }),
      rec({ t: T0 + 1000, name: "StopLogging", source: "cloudtrail.amazonaws.com", error: "AccessDenied" }),
    ];
    const { report } = scan(recs);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ count: 2, failed: true, severity: "critical", attack: ["T1562.008"] });
    expect(report.findings[0]!.eventIds).toHaveLength(2);
    expect(report.identities[0]).toMatchObject({ findings: 1, score: 95, topSeverity: "critical" });
    expect(report.sensitiveCalls[0]).toMatchObject({ eventName: "StopLogging", count: 2, failed: 2 });
  });
});

describe("a --since after every record", () => {
  it("gives an empty window that starts and ends at --since, the records training baselines", () => {
    const since = T0 + 20 * DAY;
    for (const fastPath of [true, false]) {
      const s = new Scanner({ now: T0 + 30 * DAY, fastPath, since: { kind: "absolute", at: since } });
      for (const r of history(3)) s.record(r, "t");
      const { report, profiles } = s.finish();
      expect(report.window).toEqual({ start: new Date(since).toISOString(), end: new Date(since).toISOString() });
      expect(report.stats.events).toBe(0);
      expect(profiles[0]!.events).toBe(3 * 8 * 3);
    }
  });
});

describe("the fast path for records before the window", () => {
  it("gives exactly the same report and baselines as the full path, in any record order", async () => {
    const { listInputFiles } = await import("../../src/sources/files.js");
    const { readFile } = await import("node:fs/promises");
    const { gunzipSync } = await import("node:zlib");
    const recs: unknown[] = [...history(12)];
    for (const f of await listInputFiles(["test/fixtures/invictus-aws"])) recs.push(...(JSON.parse(gunzipSync(await readFile(f)).toString()) as { Records: unknown[] }).Records);
    recs.push({ eventTime: "2024-05-03T00:00:00Z", eventName: "X" }, { eventTime: "2024-05-03T00:00:00Z", eventName: "X", eventSource: "s", userIdentity: {} });
    for (const order of [recs, [...recs].reverse()]) {
      for (const since of [undefined, { kind: "absolute" as const, at: Date.parse("2023-07-10T12:10:00Z") }]) {
        const run = (fastPath: boolean, deferBatch?: number) => {
          const s = new Scanner({ now: T0 + 30 * DAY, fastPath, ...(since ? { since } : {}), ...(deferBatch ? { deferBatch } : {}) });
          for (const r of order) s.record(r, "t");
          return s.finish();
        };
        const fast = run(true);
        const full = run(false);
        expect(fast.report).toEqual(full.report);
        expect(fast.profiles).toEqual(full.profiles);
        const batched = run(true, 7); // records before the window folded in many small batches
        expect(batched.report).toEqual(full.report);
        expect(batched.profiles).toEqual(full.profiles);
        expect(fast.report.stats.skipped).toEqual({ "missing-eventSource": 1, "missing-eventID": 1 });
      }
    }
  });
});

describe("target dimensions", () => {
  it("learn caller-to-role pairs and launched instance types", () => {
    const recs: Array<Record<string, unknown>> = [];
    for (let d = 0; d < 4; d++) {
      recs.push({
        ...rec({ t: T0 + d * DAY, name: "AssumeRole", source: "sts.amazonaws.com" }),
        requestParameters: { roleArn: "arn:aws:iam::1111:role/Deploy", roleSessionName: "x" },
      });
      recs.push({ ...rec({ t: T0 + d * DAY + HOUR, name: "RunInstances" }), requestParameters: { instanceType: "t3.micro", minCount: 1, maxCount: 1 } });
    }
    const { profiles } = scan(recs);
    const p = profiles[0]!;
    expect(Object.keys(p.dims.assumedRole)).toEqual(["arn:aws:iam::1111:role/Deploy"]);
    expect(p.dims.assumedRole["arn:aws:iam::1111:role/Deploy"]![0]).toBe(4);
    expect(Object.keys(p.dims.instanceType)).toEqual(["t3.micro"]);
  });
});

describe("bounded event selection", () => {
  it("a flood of one selected call cannot hide a rare one, and what is left out is counted", () => {
    const recs = [];
    for (let i = 0; i < 6000; i++) recs.push(rec({ t: T0 + i * 1000, name: "PutBucketAcl", source: "s3.amazonaws.com" }));
    recs.push(rec({ t: T0 + 6001 * 1000, name: "StopLogging", source: "cloudtrail.amazonaws.com" }));
    for (let i = 0; i < 100; i++) recs.push(rec({ t: T0 + (6002 + i) * 1000, name: "PutBucketAcl", source: "s3.amazonaws.com" }));
    const s = new Scanner({ now: T0 + DAY, detectors: [everyStop, { ...everyStop, id: "test-acl", eventNames: ["PutBucketAcl"] }] });
    for (const r of recs) s.record(r, "t");
    const { report } = s.finish();
    expect(report.findings.find((f) => f.detector === "test-stop")?.count).toBe(1);
    expect(report.partialReasons.join(" ")).toMatch(/^\d+ events beyond the per-identity cap were not examined by event detectors/);
    expect(report.findings.find((f) => f.detector === "test-acl")!.count).toBe(5000 - 1);
  });
});
