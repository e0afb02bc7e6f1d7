import { describe, expect, test } from "vitest";
import { bestSlidingWindow, gammaP, hourlyBaseline, logGamma, mad, median, poissonSf, quantile, spikeTest } from "../../../src/detectors/lib/stats.js";
import { apiClass, apiWeight, severityOf, surprise } from "../../../src/detectors/lib/novelty.js";

describe("stats", () => {
  test("logGamma matches factorials", () => {
    expect(logGamma(1)).toBeCloseTo(0, 10);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 10);
    expect(logGamma(11)).toBeCloseTo(Math.log(3628800), 8);
  });

  test("Poisson upper tail", () => {
    expect(poissonSf(0, 3)).toBe(1);
    expect(poissonSf(1, 1)).toBeCloseTo(1 - Math.exp(-1), 10);
    expect(poissonSf(3, 2)).toBeCloseTo(1 - 5 * Math.exp(-2), 10);
    // Large counts through the continued fraction.
    expect(poissonSf(130, 100)).toBeGreaterThan(0.001);
    expect(poissonSf(130, 100)).toBeLessThan(0.01);
    expect(poissonSf(600, 24)).toBeLessThan(1e-12);
    expect(poissonSf(5, 0)).toBe(0);
    expect(gammaP(1, 1)).toBeCloseTo(1 - Math.exp(-1), 10);
  });

  test("median, MAD, quantile", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(mad([1, 1, 2, 2, 4, 6, 9])).toBe(1);
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantile([], 0.5)).toBe(0);
  });

  test("hourly baseline: comparable hours include idle ones, active-hour stats exclude them", () => {
    const start = 1000 * 24; // an hour index at 00:00 UTC
    const hourly: Array<[number, number, number]> = [];
    // 7 days, active 09-17 with 20 calls, 2 errors at 10:00.
    for (let d = 0; d < 7; d++) for (let h = 9; h < 17; h++) hourly.push([start + d * 24 + h, 20, h === 10 ? 2 : 0]);
    const wStart = start + 7 * 24;
    const night = hourlyBaseline(hourly, 7 * 24, wStart, wStart + 3, 1);
    expect(night.comparableMean).toBe(0);
    expect(night.medianActive).toBe(20);
    expect(night.maxHour).toBe(20);
    expect(night.activeHours).toBe(56);
    const day = hourlyBaseline(hourly, 7 * 24, wStart, wStart + 12, 1);
    expect(day.comparableMean).toBeCloseTo(20, 6);
    const errs = hourlyBaseline(hourly, 7 * 24, wStart, wStart + 10, 2);
    expect(errs.total).toBe(14);
    expect(errs.totalCalls).toBe(1120);
    expect(errs.comparableMean).toBeGreaterThan(0);
    expect(errs.comparableMean).toBeLessThan(2);
  });

  test("spikeTest needs every condition: 3 instead of 0 is never a spike", () => {
    const base = { hours: 100, activeHours: 0, mean: 0, comparableMean: 0, comparableHours: 21, medianActive: 0, madActive: 0, maxHour: 0, total: 0, totalCalls: 0 };
    const opts = { minCount: 10, minRatio: 5, madK: 5, maxP: 1e-6, overMax: 1 };
    expect(spikeTest(3, base, opts).spike).toBe(false);
    expect(spikeTest(3, base, opts).failed).toContain("minCount");
    expect(spikeTest(30, base, opts).spike).toBe(true);
    const busy = { ...base, activeHours: 50, medianActive: 100, madActive: 20, maxHour: 180, comparableMean: 90 };
    const r = spikeTest(150, busy, opts);
    expect(r.spike).toBe(false);
    expect(r.failed).toEqual(expect.arrayContaining(["minRatio", "mad", "max"]));
  });

  test("bestSlidingWindow finds the busiest hour across clock-hour boundaries", () => {
    const b = (m: number, n: number) => ({ start: m * 60_000, n });
    const best = bestSlidingWindow([b(0, 1), b(50, 10), b(60, 10), b(70, 10), b(130, 1)], (x) => x.n)!;
    expect(best.sum).toBe(30);
    expect(best.start).toBe(50 * 60_000);
    expect(bestSlidingWindow([], (x: { start: number }) => x.start)).toBeUndefined();
  });
});

describe("novelty", () => {
  test("surprise falls with the novelty rate", () => {
    expect(surprise(0)).toBe(1);
    expect(surprise(3)).toBeLessThan(0.06);
  });

  test("API classes rank what an API can do", () => {
    expect(apiClass("iam:CreateAccessKey")).toBe("critical");
    expect(apiClass("cloudtrail:StopLogging")).toBe("critical");
    expect(apiClass("iam:TagRole")).toBe("sensitive-write");
    expect(apiClass("secretsmanager:GetSecretValue")).toBe("secret-read");
    expect(apiClass("sts:GetCallerIdentity")).toBe("recon");
    expect(apiClass("ec2:RebootInstances")).toBe("write");
    expect(apiClass("iam:ListUsers")).toBe("recon");
    expect(apiClass("kms:ListKeys")).toBe("sensitive-read");
    expect(apiClass("ec2:DescribeImages")).toBe("read");
    expect(apiWeight("iam:CreateAccessKey")).toBeGreaterThan(apiWeight("ec2:RebootInstances"));
    expect(apiWeight("ec2:RebootInstances")).toBeGreaterThan(apiWeight("ec2:DescribeImages"));
  });

  test("severity bands", () => {
    expect(severityOf(90)).toBe("high");
    expect(severityOf(50)).toBe("medium");
    expect(severityOf(20)).toBe("low");
    expect(severityOf(7)).toBe("info");
    expect(severityOf(2)).toBeUndefined();
  });
});
