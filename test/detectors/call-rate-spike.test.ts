/**
 * call-rate-spike on generated histories (test/helpers/window.ts): a service role with a steady
 * ~30 calls/hour day and night, a console user working weekdays, a CI role with bursts of Terraform
 * plans. The shared samples span one hour and cannot give an hourly baseline, hence the generator.
 */
import { describe, expect, test } from "vitest";
import { DAY, HOUR } from "../../src/baseline/profile.js";
import { callRateSpike } from "../../src/detectors/call-rate-spike.js";
import { GEN_END, GEN_GEO, GEN_IPS, UA, generate, invictusWindows, make, normalDays, run, scenario, type Generated } from "../helpers/window.js";

const W = { start: GEN_END, end: GEN_END + DAY };

function burst(g: Generated, n: number, at: number, spreadMs: number, service = "dynamodb", eventName = "Scan", ip: string = GEN_IPS.awsTasks[0]) {
  return Array.from({ length: n }, (_, i) => make(g, { service, eventName, time: at + Math.floor((i * spreadMs) / n), sourceIPAddress: ip, userAgent: UA.java }));
}

/** The service role's own next day (normal traffic), from a longer generated history. */
function serviceRoleNextDay() {
  const long = generate("service-role", { days: 43, end: GEN_END + DAY });
  return { history: long.events.filter((e) => e.time < GEN_END), day: long.events.filter((e) => e.time >= GEN_END) };
}

describe("call-rate-spike", () => {
  test("fires when a steady service role makes 1500 calls in an hour (mass read)", () => {
    const g = generate("service-role");
    const { history, day } = serviceRoleNextDay();
    const out = run(callRateSpike, scenario(history, [...day, ...burst(g, 1500, GEN_END + 14 * HOUR + 20 * 60_000, 40 * 60_000)], W, { geo: GEN_GEO }));
    expect(out).toHaveLength(1);
    const f = out[0]!;
    expect(f.fingerprint).toEqual(["calls"]);
    expect(["medium", "high"]).toContain(f.severity);
    expect(f.count).toBeGreaterThanOrEqual(1500);
    expect(f.why).toMatch(/calls by this role between 14:[0-5]0 and 15:[0-5]0 UTC against an expected \d+/);
    expect(f.why).toMatch(/Poisson P\(>= \d+\) (< 1e-12|[\d.e-]+)/);
    expect(f.why).toMatch(/dynamodb:Scan \(1500\)/);
    expect((f.evidence?.topApis as Array<{ api: string }> | undefined)?.[0]?.api).toBe("dynamodb:Scan");
  });

  test("fires at night for the console user too, when far above its busiest hours", () => {
    const g = generate("console-person");
    const win = Array.from({ length: 900 }, (_, i) =>
      make(g, { service: "s3", eventName: "GetObject", time: GEN_END + 2 * HOUR + i * 3000, sourceIPAddress: GEN_IPS.parisOrange[0], userAgent: UA.cli }),
    );
    const out = run(callRateSpike, scenario(g.events, win, W, { geo: GEN_GEO }));
    expect(out).toHaveLength(1);
    expect(out[0]!.evidence?.maxBaselineHour as number).toBeLessThan(900);
  });

  test("stays quiet when the count is only 1.5x normal", () => {
    const g = generate("service-role");
    const { history, day } = serviceRoleNextDay();
    const out = run(callRateSpike, scenario(history, [...day, ...burst(g, 25, GEN_END + 14 * HOUR, 50 * 60_000, "dynamodb", "GetItem")], W, { geo: GEN_GEO }));
    expect(out).toEqual([]);
  });

  test("stays quiet on a few calls at an hour the identity never works (minimum count)", () => {
    const g = generate("console-person");
    const win = [0, 1, 2].map((i) =>
      make(g, { service: "ec2", eventName: "DescribeInstances", time: GEN_END + 3 * HOUR + i * 60_000, sourceIPAddress: GEN_IPS.parisOrange[0], userAgent: UA.console }),
    );
    expect(run(callRateSpike, scenario(g.events, win, W, { geo: GEN_GEO }))).toEqual([]);
  });

  test("stays quiet at cold start (no hourly baseline), however many calls", () => {
    const g = generate("service-role");
    const s = scenario([], burst(g, 3000, GEN_END + HOUR, 30 * 60_000), W);
    expect(s.ctx.learning).toBe(true);
    expect(run(callRateSpike, s)).toEqual([]);
  });

  test("stays quiet on normal generated weeks (including the CI role's Terraform bursts)", { tags: ["slow"] }, () => {
    for (const kind of ["console-person", "ci-role", "service-role"] as const) {
      for (const s of normalDays(kind, 7)) expect(run(callRateSpike, s), kind).toEqual([]);
    }
  });

  test("stays quiet on the benign part of the shared invictus sample (cold start)", () => {
    for (const s of invictusWindows("benign")) expect(run(callRateSpike, s)).toEqual([]);
  });
});
