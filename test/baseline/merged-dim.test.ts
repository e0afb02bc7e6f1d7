import { describe, expect, it } from "vitest";
import { mergedDim, mergeProfile, type Observed, type ObservedStat } from "../../src/baseline/merge.js";
import { DAY, DEFAULT_BASELINE_CONFIG, DIMS, emptyProfile, statRecord, type Dim, type Profile } from "../../src/baseline/profile.js";

// mergedDim is one dimension of mergeProfile (the scan asks it of identities not settled yet):
// decayed, horizon-cut and capped the same way.

const NOW = Date.parse("2024-06-01T00:00:00Z");
const cfg = { ...DEFAULT_BASELINE_CONFIG, caps: { ...DEFAULT_BASELINE_CONFIG.caps, region: 3 } };

function observed(region: Map<string, ObservedStat>, accountId?: string): Observed {
  const empty = new Map<string, ObservedStat>();
  return {
    principal: { key: "user:1111:alice", type: "IAMUser", ...(accountId ? { accountId } : {}) },
    first: NOW - DAY,
    last: NOW - HOUR_MS,
    events: 10,
    errors: 0,
    denied: 0,
    hours: new Array(24).fill(0),
    weekdays: new Array(7).fill(0),
    breadthMax: 0,
    breadthBuckets: 0,
    days: [],
    hourlyCounts: () => [],
    eachValue: (d: Dim, fn) => (d === "region" ? region : empty).forEach((s, k) => void fn(k, s.n, s.err, s.first, s.last)),
  };
}
const HOUR_MS = 3_600_000;

function stored(): Profile {
  const p = emptyProfile("user:1111:alice", "IAMUser");
  p.accountId = "1111";
  p.trainedUntil = NOW - 20 * DAY;
  p.first = NOW - 200 * DAY;
  p.last = NOW - 20 * DAY;
  const r = statRecord();
  r["us-east-1"] = [50, 0, NOW - 60 * DAY, NOW - 20 * DAY];
  r["eu-west-1"] = [8, 1, NOW - 50 * DAY, NOW - 21 * DAY];
  r["ap-south-1"] = [30, 0, NOW - 150 * DAY, NOW - 120 * DAY]; // beyond the 90-day horizon
  r["sa-east-1"] = [2, 0, NOW - 40 * DAY, NOW - 30 * DAY];
  p.dims.region = r;
  return p;
}

describe("mergedDim", () => {
  const scan = new Map<string, ObservedStat>([
    ["eu-west-3", { n: 9, err: 0, first: NOW - DAY, last: NOW - HOUR_MS }],
    ["sa-east-1", { n: 1, err: 0, first: NOW - DAY, last: NOW - DAY }],
    ["me-south-1", { n: 1, err: 0, first: NOW - DAY, last: NOW - DAY }],
  ]);

  it("equals mergeProfile's dimension, with or without a stored baseline (capped: the least used go)", () => {
    for (const s of [stored(), undefined]) {
      const acc = observed(scan, s ? undefined : "1111");
      const full = mergeProfile(s, acc, NOW, cfg);
      const one = mergedDim(s, acc, "region", NOW, cfg);
      expect(one.values).toEqual(full.dims.region);
      expect(Object.keys(one.values)).toEqual(Object.keys(full.dims.region));
      expect(one.accountId).toBe(full.accountId);
    }
    const one = mergedDim(stored(), observed(scan), "region", NOW, cfg);
    expect(Object.keys(one.values).sort()).toEqual(["eu-west-1", "eu-west-3", "us-east-1"]);
    expect(one.accountId).toBe("1111");
    expect(DIMS).toContain("region");
  });
});
