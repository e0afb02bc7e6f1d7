/**
 * enumeration-burst on generated histories (test/helpers/window.ts): the console user's page loads
 * and the CI role's Terraform plans give each identity its own usual read breadth per 10 minutes;
 * the shared samples (one hour) cannot. The benign invictus sample checks the cold-start rules on
 * real console and Terraform traffic.
 */
import { describe, expect, test } from "vitest";
import { DAY, HOUR } from "../../src/baseline/profile.js";
import { enumerationBurst } from "../../src/detectors/enumeration-burst.js";
import { iamUser } from "../helpers/events.js";
import { buildProfile, GEN_END, GEN_GEO, GEN_IPS, UA, generate, invictusWindows, make, normalDays, run, scenario, type Generated } from "../helpers/window.js";

const W = { start: GEN_END, end: GEN_END + DAY };

/** What discovery tools call: distinct reads over many services. */
const DISCOVERY: Array<[string, string]> = [
  ["sts", "GetCallerIdentity"],
  ["iam", "ListUsers"],
  ["iam", "ListRoles"],
  ["iam", "ListPolicies"],
  ["iam", "ListGroups"],
  ["iam", "GetAccountSummary"],
  ["iam", "ListAccessKeys"],
  ["s3", "ListBuckets"],
  ["s3", "GetBucketAcl"],
  ["s3", "GetBucketPolicy"],
  ["ec2", "DescribeInstances"],
  ["ec2", "DescribeSnapshots"],
  ["ec2", "DescribeImages"],
  ["ec2", "DescribeVpcs"],
  ["ec2", "DescribeSecurityGroups"],
  ["ec2", "DescribeKeyPairs"],
  ["lambda", "ListFunctions"],
  ["lambda", "ListLayers"],
  ["rds", "DescribeDBInstances"],
  ["rds", "DescribeDBSnapshots"],
  ["secretsmanager", "ListSecrets"],
  ["ssm", "DescribeParameters"],
  ["kms", "ListKeys"],
  ["kms", "ListAliases"],
  ["dynamodb", "ListTables"],
  ["sns", "ListTopics"],
  ["sqs", "ListQueues"],
  ["cloudtrail", "DescribeTrails"],
  ["guardduty", "ListDetectors"],
  ["organizations", "DescribeOrganization"],
  ["ecr", "DescribeRepositories"],
  ["eks", "ListClusters"],
];

function discovery(g: Generated, n: number, at: number, ua: string, opts: { identity?: Record<string, unknown>; denyEvery?: number } = {}) {
  return DISCOVERY.slice(0, n).map(([service, eventName], i) =>
    make(g, {
      service,
      eventName,
      time: at + i * 12_000,
      sourceIPAddress: GEN_IPS.attackerVps,
      userAgent: ua,
      ...(opts.identity ? { identity: opts.identity } : {}),
      ...(opts.denyEvery && i % opts.denyEvery === 0 ? { errorCode: "AccessDenied" } : {}),
    }),
  );
}

describe("enumeration-burst", () => {
  test("fires when the console user's key sweeps 32 read APIs over 17 services with the CLI", () => {
    const g = generate("console-person");
    const out = run(enumerationBurst, scenario(g.events, discovery(g, 32, GEN_END + 21 * HOUR, UA.cli), W, { geo: GEN_GEO }));
    expect(out).toHaveLength(1);
    const f = out[0]!;
    expect(f.fingerprint).toEqual(["reads"]);
    expect(f.severity).toBe("medium");
    expect(f.why).toMatch(/32 distinct read APIs across \d+ services .* in 10 minutes/);
    expect(f.why).toMatch(/against a usual maximum of \d+ distinct reads per 10 minutes over \d+ buckets of history/);
    expect(f.why).toMatch(/of them never called before/);
    expect(f.evidence?.usualMaxReads as number).toBeLessThan(32);
  });

  test("fires high with an offensive distribution's user agent (Kali)", () => {
    const g = generate("console-person");
    const out = run(enumerationBurst, scenario(g.events, discovery(g, 32, GEN_END + 21 * HOUR, UA.kali), W, { geo: GEN_GEO }));
    expect(out[0]?.severity).toBe("high");
    expect(out[0]?.why).toMatch(/offensive tool "kali"/);
  });

  test("fires at cold start on an absolute burst (25+ reads, 4+ services)", () => {
    const g = generate("console-person");
    const s = scenario([], discovery(g, 28, GEN_END + HOUR, UA.cli, { identity: iamUser("ci-legacy") }), W);
    expect(s.ctx.learning).toBe(true);
    const out = run(enumerationBurst, s);
    expect(out).toHaveLength(1);
    expect(out[0]!.why).toMatch(/absolute threshold applies \(25 reads in 4 services\)/);
  });

  test("at cold start a console/Terraform burst needs corroboration: quiet without denials, fires with them", () => {
    const g = generate("console-person");
    const quiet = scenario([], discovery(g, 30, GEN_END + HOUR, UA.console, { identity: iamUser("new-admin") }), W);
    expect(run(enumerationBurst, quiet)).toEqual([]);
    const probing = scenario([], discovery(g, 30, GEN_END + HOUR, UA.console, { identity: iamUser("new-admin"), denyEvery: 3 }), W);
    expect(run(enumerationBurst, probing)).toHaveLength(1);
  });

  test("stays quiet on a burst within the identity's usual breadth", () => {
    const g = generate("console-person");
    const usual = buildProfile(g.events, { before: GEN_END }).breadth[0];
    expect(usual).toBeGreaterThan(5);
    const out = run(enumerationBurst, scenario(g.events, discovery(g, Math.min(usual + 5, 30), GEN_END + 9 * HOUR, UA.cli), W, { geo: GEN_GEO }));
    expect(out).toEqual([]);
  });

  test("stays quiet on the CI role's Terraform plans (broad reads are its normal) and on all normal weeks", () => {
    for (const kind of ["console-person", "ci-role", "service-role"] as const) {
      for (const s of normalDays(kind, 7)) expect(run(enumerationBurst, s), kind).toEqual([]);
    }
  });

  test("stays quiet on the benign part of the shared invictus sample (real console and Terraform traffic, cold start)", () => {
    const windows = invictusWindows("benign");
    // The sample's busiest benign bucket is broad indeed: the thresholds are not trivially met.
    expect(Math.max(...windows.flatMap((s) => s.win.buckets.map((b) => b.reads.length)))).toBeGreaterThanOrEqual(25);
    for (const s of windows) expect(run(enumerationBurst, s)).toEqual([]);
  });
});
