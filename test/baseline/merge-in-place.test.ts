import { describe, expect, it } from "vitest";
import { mergeProfile, type Observed, type ObservedStat } from "../../src/baseline/merge.js";
import { DAY, DEFAULT_BASELINE_CONFIG, DIMS, emptyProfile, handOver, statRecord, takeOver, type Dim, type Profile } from "../../src/baseline/profile.js";
import { BaselineTable } from "../../src/store/baselines.js";

// A profile handed over by the store (a fresh decode) is aged in place by mergeProfile: the merge
// must give exactly what it gives for a profile it may not change (new records and tuples).

const NOW = Date.parse("2024-06-01T00:00:00Z");
const HOUR_MS = 3_600_000;
const cfg = { ...DEFAULT_BASELINE_CONFIG, caps: { ...DEFAULT_BASELINE_CONFIG.caps, region: 3, api: 4 } };

function stored(): Profile {
  const p = emptyProfile("user:1111:alice", "IAMUser");
  p.accountId = "1111";
  p.trainedUntil = NOW - 20 * DAY;
  p.first = NOW - 200 * DAY;
  p.last = NOW - 20 * DAY;
  p.events = 90;
  p.days = [Math.floor((NOW - 150 * DAY) / DAY), Math.floor((NOW - 21 * DAY) / DAY)];
  p.hours[3] = 40;
  const r = statRecord();
  r["us-east-1"] = [50, 0, NOW - 60 * DAY, NOW - 20 * DAY];
  r["eu-west-1"] = [8, 1, NOW - 100 * DAY, NOW - 21 * DAY]; // first seen before the horizon: clamped
  r["ap-south-1"] = [30, 0, NOW - 150 * DAY, NOW - 120 * DAY]; // last seen before the horizon: dropped
  r["sa-east-1"] = [2, 0, NOW - 40 * DAY, NOW - 30 * DAY];
  p.dims.region = r;
  const a = statRecord();
  const proto = "__proto__";
  a[proto] = [3, 1, NOW - 30 * DAY, NOW - 25 * DAY];
  for (let i = 0; i < 5; i++) a[`s3:Get${i}`] = [i + 1.5, 0, NOW - (30 + i) * DAY, NOW - 22 * DAY];
  p.dims.api = a;
  return p;
}

function observed(): Observed {
  const dims = new Map<Dim, Map<string, ObservedStat>>([
    [
      "region",
      new Map([
        ["eu-west-3", { n: 9, err: 0, first: NOW - DAY, last: NOW - HOUR_MS }],
        ["sa-east-1", { n: 1, err: 0, first: NOW - DAY, last: NOW - DAY }],
      ]),
    ],
    [
      "api",
      new Map([
        ["s3:Get0", { n: 4, err: 1, first: NOW - DAY, last: NOW - HOUR_MS }],
        ["__proto__", { n: 2, err: 0, first: NOW - DAY, last: NOW - DAY }],
        ["iam:ListUsers", { n: 1, err: 0, first: NOW - DAY, last: NOW - DAY }],
      ]),
    ],
  ]);
  const empty = new Map<string, ObservedStat>();
  const hours = new Array<number>(24).fill(0);
  hours[5] = 10;
  return {
    principal: { key: "user:1111:alice", type: "IAMUser", accountId: "1111" },
    first: NOW - DAY,
    last: NOW - HOUR_MS,
    events: 10,
    errors: 1,
    denied: 0,
    hours,
    weekdays: new Array(7).fill(0),
    breadthMax: 2,
    breadthBuckets: 3,
    days: [Math.floor((NOW - DAY) / DAY)],
    hourlyCounts: () => [Math.floor((NOW - HOUR_MS) / HOUR_MS), 10, 1],
    eachValue: (d: Dim, fn) => (dims.get(d) ?? empty).forEach((s, k) => void fn(k, s.n, s.err, s.first, s.last)),
  };
}

/** Every number of a profile's dimensions, in record order (Object.is: the same doubles). */
function dimsOf(p: Profile): Array<[string, string, number[]]> {
  return DIMS.flatMap((d) => Object.keys(p.dims[d]).map((k): [string, string, number[]] => [d, k, [...p.dims[d][k]!]]));
}

describe("mergeProfile of a profile handed over (aged in place)", () => {
  it("gives the same profile, values in the same order, as for a profile it may not change", () => {
    const kept = stored();
    const before = structuredClone(dimsOf(kept));
    const want = mergeProfile(kept, observed(), NOW, cfg);
    // The profile it may not change is unchanged.
    expect(dimsOf(kept)).toEqual(before);

    const given = handOver(stored());
    const got = mergeProfile(given, observed(), NOW, cfg);
    expect(got).toEqual(want);
    const a = dimsOf(got);
    const b = dimsOf(want);
    expect(a.map(([d, k]) => `${d}/${k}`)).toEqual(b.map(([d, k]) => `${d}/${k}`));
    for (let i = 0; i < a.length; i++) for (let j = 0; j < 4; j++) expect(Object.is(a[i]![2][j], b[i]![2][j])).toBe(true);
    expect(Object.keys(got.dims.region).sort()).toEqual(["eu-west-1", "eu-west-3", "us-east-1"]);
    expect(got.dims.region["eu-west-1"]![2]).toBe(NOW - cfg.horizonDays * DAY);
    expect(Object.hasOwn(got.dims.api, "__proto__")).toBe(true);
    // The mark is taken once.
    expect(takeOver(given)).toBe(false);
  });

  it("BaselineTable.read hands over a fresh decode, never the cached one", () => {
    const t = BaselineTable.fromProfiles({ [stored().key]: stored() });
    const key = stored().key;
    const fresh = t.read(key)!;
    expect(takeOver(fresh)).toBe(true);
    const cached = t.get(key)!;
    const again = t.read(key)!;
    expect(again).toBe(cached);
    expect(takeOver(again)).toBe(false);
    // Merging the cached profile leaves it as it was.
    const copy = structuredClone(dimsOf(cached));
    mergeProfile(again, observed(), NOW, cfg);
    expect(dimsOf(t.get(key)!)).toEqual(copy);
  });
});
