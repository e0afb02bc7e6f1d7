/**
 * first-time-api on generated histories: weeks of normal activity for a console user, a CI role and
 * a service role come from the seeded generator in test/helpers/window.ts, because the shared
 * CloudTrail samples span one hour and cannot give a baseline. Anomalies are injected on top.
 */
import { describe, expect, test } from "vitest";
import { DAY, HOUR } from "../../src/baseline/profile.js";
import { firstTimeApi } from "../../src/detectors/first-time-api.js";
import { GEN_END, GEN_GEO, GEN_IPS, UA, generate, invictusWindows, make, normalDays, run, scenario, type Generated } from "../helpers/window.js";

const W = { start: GEN_END, end: GEN_END + DAY };

function personDay(g: Generated, extra: Parameters<typeof make>[1][]) {
  const t = GEN_END + 9 * HOUR;
  const evs = [
    make(g, { service: "ec2", eventName: "DescribeInstances", time: t, sourceIPAddress: GEN_IPS.parisOrange[0], userAgent: UA.console, region: "eu-west-3" }),
    make(g, { service: "s3", eventName: "ListBuckets", time: t + 60_000, sourceIPAddress: GEN_IPS.parisOrange[0], userAgent: UA.console, region: "eu-west-3" }),
    ...extra.map((x, i) => make(g, { time: t + (i + 2) * 60_000, sourceIPAddress: GEN_IPS.parisOrange[0], userAgent: UA.console, region: "eu-west-3", ...x })),
  ];
  return scenario(g.events, evs, W, { geo: GEN_GEO });
}

describe("first-time-api", () => {
  test("fires high on the first iam:CreateAccessKey of a console user with a settled routine", () => {
    const g = generate("console-person");
    const out = run(firstTimeApi, personDay(g, [{ service: "iam", eventName: "CreateAccessKey", requestParameters: { userName: "maria" } }]));
    expect(out).toHaveLength(1);
    const f = out[0]!;
    expect(f.fingerprint).toEqual(["iam:CreateAccessKey"]);
    expect(f.severity).toBe("high");
    expect(f.why).toMatch(/first call to iam:CreateAccessKey by this user in 42 days of history/);
    expect(f.why).toMatch(/novelty rate [\d.]+ new APIs\/day/);
    expect(f.why).toMatch(/calls \d+ APIs in \d+ services/);
    expect(f.eventIds).toHaveLength(1);
    expect(f.evidence?.apiClass).toBe("critical");
  });

  test("fires lower for a CI role that meets new APIs often than for a person who rarely does", () => {
    const person = run(firstTimeApi, personDay(generate("console-person"), [{ service: "iam", eventName: "CreateAccessKey" }]))[0]!;
    const ci = generate("ci-role");
    const win = [make(ci, { service: "iam", eventName: "CreateAccessKey", time: GEN_END + 10 * HOUR, sourceIPAddress: GEN_IPS.azureRunners[0], userAgent: UA.terraform })];
    const ciOut = run(firstTimeApi, scenario(ci.events, win, W, { geo: GEN_GEO }));
    expect(ciOut).toHaveLength(1);
    expect(ciOut[0]!.score!).toBeLessThan(person.score!);
    expect(ciOut[0]!.why).toMatch(/this role/);
  });

  test("a first iam write outranks a first ordinary write, which outranks a first read", () => {
    const g = generate("console-person");
    const out = run(
      firstTimeApi,
      personDay(g, [
        { service: "iam", eventName: "AttachUserPolicy" },
        { service: "ec2", eventName: "RebootInstances" },
        { service: "ec2", eventName: "DescribeImages" },
      ]),
    );
    const score = (api: string) => out.find((f) => f.fingerprint[0] === api)?.score ?? 0;
    expect(score("iam:AttachUserPolicy")).toBeGreaterThan(score("ec2:RebootInstances"));
    expect(score("ec2:RebootInstances")).toBeGreaterThan(score("ec2:DescribeImages"));
    expect(out.find((f) => f.fingerprint[0] === "ec2:DescribeImages")?.severity).toBe("info");
  });

  test("many new APIs at once give at most ten findings, the rest listed in the top one", () => {
    const g = generate("console-person");
    const names = Array.from({ length: 14 }, (_, i) => ({ service: "ec2", eventName: `ModifyThing${i}` }));
    const out = run(firstTimeApi, personDay(g, names));
    expect(out).toHaveLength(10);
    expect((out[0]!.evidence?.moreNewApis as string[] | undefined)?.length).toBe(4);
    expect(out[0]!.why).toMatch(/4 more APIs were called for the first time/);
  });

  test("a denied first call is reported as an attempt", () => {
    const g = generate("console-person");
    const out = run(
      firstTimeApi,
      personDay(g, [{ service: "iam", eventName: "CreateLoginProfile", errorCode: "AccessDenied", errorMessage: "User: x is not authorized to perform: iam:CreateLoginProfile" }]),
    );
    expect(out[0]?.failed).toBe(true);
    expect(out[0]?.why).toMatch(/1 denied/);
  });

  test("stays quiet on a first Describe* by the busy CI role", () => {
    const ci = generate("ci-role");
    const win = [make(ci, { service: "ec2", eventName: "DescribeFlowLogs", time: GEN_END + 10 * HOUR, sourceIPAddress: GEN_IPS.azureRunners[1], userAgent: UA.terraform })];
    expect(run(firstTimeApi, scenario(ci.events, win, W, { geo: GEN_GEO }))).toEqual([]);
  });

  test("stays quiet on APIs of a service the identity never used (first-time-service reports those)", () => {
    const g = generate("service-role");
    const win = [make(g, { service: "secretsmanager", eventName: "GetSecretValue", time: GEN_END + HOUR, sourceIPAddress: GEN_IPS.awsTasks[0], userAgent: UA.java })];
    expect(run(firstTimeApi, scenario(g.events, win, W, { geo: GEN_GEO }))).toEqual([]);
  });

  test("stays quiet while the identity is learning (cold start)", () => {
    const g = generate("console-person");
    const cold = scenario([], [make(g, { service: "iam", eventName: "CreateAccessKey", time: GEN_END + HOUR, sourceIPAddress: GEN_IPS.parisOrange[0] })], W);
    expect(cold.ctx.learning).toBe(true);
    expect(run(firstTimeApi, cold)).toEqual([]);
  });

  test("stays quiet on normal generated weeks: nothing for the person and the service role, at most low for the CI role's weekly growth", { tags: ["slow"] }, () => {
    let ciFindings = 0;
    for (const kind of ["console-person", "ci-role", "service-role"] as const) {
      for (const s of normalDays(kind, 7)) {
        const out = run(firstTimeApi, s);
        if (kind === "ci-role") {
          ciFindings += out.length;
          for (const f of out) expect(["info", "low"], f.why).toContain(f.severity);
        } else expect(out, `${kind} ${new Date(s.ctx.window.start).toISOString()}`).toEqual([]);
      }
    }
    expect(ciFindings).toBeGreaterThan(0); // the CI role did meet new APIs that week
  });

  test("stays quiet on the benign part of the shared invictus sample (cold start)", () => {
    for (const s of invictusWindows("benign")) expect(run(firstTimeApi, s)).toEqual([]);
  });
});
