/**
 * first-time-service on generated histories (test/helpers/window.ts): the shared samples span one
 * hour, so weeks of normal activity are generated (seeded) and anomalies injected on top.
 */
import { describe, expect, test } from "vitest";
import { DAY, HOUR } from "../../src/baseline/profile.js";
import { firstTimeService } from "../../src/detectors/first-time-service.js";
import { GEN_END, GEN_GEO, GEN_IPS, UA, generate, invictusWindows, make, normalDays, run, scenario } from "../helpers/window.js";

const W = { start: GEN_END, end: GEN_END + DAY };

describe("first-time-service", () => {
  test("fires once per new service, listing its APIs, for a service role reading secrets", () => {
    const g = generate("service-role");
    const t = GEN_END + 3 * HOUR;
    const base = { sourceIPAddress: GEN_IPS.awsTasks[0], userAgent: UA.java };
    const win = [
      make(g, { service: "dynamodb", eventName: "GetItem", time: t, ...base }),
      make(g, { service: "secretsmanager", eventName: "ListSecrets", time: t + 1000, ...base }),
      ...Array.from({ length: 6 }, (_, i) => make(g, { service: "secretsmanager", eventName: "GetSecretValue", time: t + 2000 + i * 1000, ...base })),
      make(g, { service: "secretsmanager", eventName: "DescribeSecret", time: t + 9000, ...base }),
    ];
    const out = run(firstTimeService, scenario(g.events, win, W, { geo: GEN_GEO }));
    expect(out).toHaveLength(1);
    const f = out[0]!;
    expect(f.fingerprint).toEqual(["secretsmanager"]);
    expect(f.severity).toBe("high");
    expect(f.count).toBe(8);
    expect(f.why).toMatch(/first use of secretsmanager by this role in 42 days of history/);
    expect(f.why).toMatch(/3 APIs \(GetSecretValue, /);
    expect(f.why).toMatch(/novelty rate 0 new services\/day/);
    expect((f.evidence?.apis as unknown[] | undefined)?.length).toBe(3);
  });

  test("fires one finding, not forty, when one new service gets many APIs", () => {
    const g = generate("console-person");
    const names = Array.from({ length: 40 }, (_, i) => `DescribeThing${i}`);
    const win = names.map((n, i) =>
      make(g, { service: "glue", eventName: n, time: GEN_END + 9 * HOUR + i * 1000, sourceIPAddress: GEN_IPS.parisOrange[0], userAgent: UA.console }),
    );
    const out = run(firstTimeService, scenario(g.events, win, W, { geo: GEN_GEO }));
    expect(out).toHaveLength(1);
    expect(out[0]!.why).toMatch(/40 APIs .* and 30 more/);
  });

  test("a sweep over twelve new services gives five findings, the rest listed in the top one", () => {
    const g = generate("console-person");
    const services = ["sts", "kms", "secretsmanager", "ssm", "sns", "sqs", "dynamodb", "ecr", "eks", "guardduty", "cloudtrail", "organizations"];
    const win = services.map((sv, i) =>
      make(g, { service: sv, eventName: "ListThings", time: GEN_END + 9 * HOUR + i * 2000, sourceIPAddress: GEN_IPS.parisOrange[0], userAgent: UA.cli }),
    );
    const out = run(firstTimeService, scenario(g.events, win, W, { geo: GEN_GEO }));
    expect(out).toHaveLength(5);
    expect((out[0]!.evidence?.moreNewServices as string[] | undefined)?.length).toBe(7);
    expect(out[0]!.why).toMatch(/7 more services were used for the first time in this window/);
  });

  test("a CI role that often adopts services scores lower than a service role that never does", () => {
    const read = (g: ReturnType<typeof generate>, ip: string) => [
      make(g, { service: "elasticache", eventName: "DescribeCacheClusters", time: GEN_END + 10 * HOUR, sourceIPAddress: ip, userAgent: UA.terraform }),
    ];
    const ci = generate("ci-role");
    const svc = generate("service-role");
    const ciOut = run(firstTimeService, scenario(ci.events, read(ci, GEN_IPS.azureRunners[0]), W, { geo: GEN_GEO }));
    const svcOut = run(firstTimeService, scenario(svc.events, read(svc, GEN_IPS.awsTasks[0]), W, { geo: GEN_GEO }));
    expect(svcOut).toHaveLength(1);
    expect(ciOut.length === 0 || ciOut[0]!.score! < svcOut[0]!.score!).toBe(true);
    expect(["info", "low"]).toContain(svcOut[0]!.severity);
  });

  test("stays quiet while the identity is learning", () => {
    const g = generate("service-role");
    const s = scenario([], [make(g, { service: "secretsmanager", eventName: "GetSecretValue", time: GEN_END + HOUR })], W);
    expect(s.ctx.learning).toBe(true);
    expect(run(firstTimeService, s)).toEqual([]);
  });

  test("stays quiet on normal generated weeks: nothing for the person and the service role, at most info for the CI role's new service", { tags: ["slow"] }, () => {
    for (const kind of ["console-person", "ci-role", "service-role"] as const) {
      for (const s of normalDays(kind, 7)) {
        const out = run(firstTimeService, s);
        if (kind === "ci-role") for (const f of out) expect(f.severity, f.why).toBe("info");
        else expect(out, kind).toEqual([]);
      }
    }
  });

  test("stays quiet on the benign part of the shared invictus sample (cold start)", () => {
    for (const s of invictusWindows("benign")) expect(run(firstTimeService, s)).toEqual([]);
  });
});
