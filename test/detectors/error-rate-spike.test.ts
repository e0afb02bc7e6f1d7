/**
 * error-rate-spike on generated histories (test/helpers/window.ts: weeks of normal activity, since
 * the shared samples span one hour) and on the real invictus sample for the cold-start rules.
 */
import { describe, expect, test } from "vitest";
import { DAY, HOUR } from "../../src/baseline/profile.js";
import { errorRateSpike } from "../../src/detectors/error-rate-spike.js";
import { iamUser } from "../helpers/events.js";
import { GEN_END, GEN_GEO, GEN_IPS, UA, generate, invictusWindows, make, normalDays, run, scenario, type Generated } from "../helpers/window.js";

const W = { start: GEN_END, end: GEN_END + DAY };
const DENIED = { errorCode: "AccessDenied", errorMessage: "User: arn:aws:iam::111111111111:user/maria is not authorized to perform this action" };

/** A recon sweep: `perApi` denied calls on each API, within `minutes`. */
function sweep(g: Generated, apis: Array<[string, string]>, perApi: number, at: number, ip: string = GEN_IPS.attackerVps, identity?: Record<string, unknown>) {
  const out = [];
  let t = at;
  for (const [service, eventName] of apis) {
    for (let i = 0; i < perApi; i++) {
      const code = service === "ec2" ? { errorCode: "Client.UnauthorizedOperation", errorMessage: "You are not authorized to perform this operation." } : DENIED;
      out.push(make(g, { service, eventName, time: (t += 7000), sourceIPAddress: ip, userAgent: UA.cli, ...code, ...(identity ? { identity } : {}) }));
    }
  }
  return out;
}

const NEVER_USED: Array<[string, string]> = [
  ["iam", "ListUsers"],
  ["iam", "ListRoles"],
  ["iam", "GetAccountAuthorizationDetails"],
  ["secretsmanager", "ListSecrets"],
  ["organizations", "DescribeOrganization"],
  ["ec2", "DescribeSnapshots"],
  ["ec2", "GetPasswordData"],
  ["kms", "ListKeys"],
];

describe("error-rate-spike", () => {
  test("fires high on an AccessDenied storm over APIs the identity never used", () => {
    const g = generate("console-person");
    const win = [
      make(g, { service: "ec2", eventName: "DescribeInstances", time: GEN_END + 9 * HOUR, sourceIPAddress: GEN_IPS.parisOrange[0], userAgent: UA.console }),
      ...sweep(g, NEVER_USED, 4, GEN_END + 20 * HOUR),
    ];
    const out = run(errorRateSpike, scenario(g.events, win, W, { geo: GEN_GEO }));
    expect(out).toHaveLength(1);
    const f = out[0]!;
    expect(f.severity).toBe("high");
    expect(f.fingerprint).toEqual(["errors"]);
    expect(f.failed).toBe(true);
    expect(f.why).toMatch(/32 denied calls on 8 APIs it has never called/);
    expect(f.why).toMatch(/AccessDenied x24/);
    expect(f.why).toMatch(/Client\.UnauthorizedOperation x8/);
    expect((f.evidence?.neverUsedDeniedApis as string[] | undefined)?.length).toBe(8);
  });

  test("fires medium on a failure spike on the identity's own APIs", () => {
    const g = generate("service-role");
    const long = generate("service-role", { days: 43, end: GEN_END + DAY });
    const history = long.events.filter((e) => e.time < GEN_END);
    const day = long.events.filter((e) => e.time >= GEN_END);
    const fails = Array.from({ length: 150 }, (_, i) =>
      make(g, {
        service: "dynamodb",
        eventName: "PutItem",
        time: GEN_END + 15 * HOUR + i * 20_000,
        sourceIPAddress: GEN_IPS.awsTasks[0],
        userAgent: UA.java,
        errorCode: "ConditionalCheckFailedException",
      }),
    );
    const out = run(errorRateSpike, scenario(history, [...day, ...fails], W, { geo: GEN_GEO }));
    expect(out).toHaveLength(1);
    expect(out[0]!.severity).toBe("medium");
    expect(out[0]!.why).toMatch(/failed of \d+ calls \(0 denied\)/);
    expect(out[0]!.why).toMatch(/baseline failure share [\d.]+%/);
    expect(out[0]!.failed).toBeUndefined();
  });

  test("fires on the recon hour even when another hour has more (benign) failures", () => {
    const g = generate("service-role");
    const long = generate("service-role", { days: 43, end: GEN_END + DAY });
    const history = long.events.filter((e) => e.time < GEN_END);
    const fails = Array.from({ length: 150 }, (_, i) =>
      make(g, {
        service: "dynamodb",
        eventName: "PutItem",
        time: GEN_END + 15 * HOUR + i * 20_000,
        sourceIPAddress: GEN_IPS.awsTasks[0],
        userAgent: UA.java,
        errorCode: "ConditionalCheckFailedException",
      }),
    );
    const recon = sweep(g, NEVER_USED, 2, GEN_END + 22 * HOUR);
    const out = run(errorRateSpike, scenario(history, [...long.events.filter((e) => e.time >= GEN_END), ...fails, ...recon], W, { geo: GEN_GEO }));
    expect(out).toHaveLength(1);
    expect(out[0]!.severity).toBe("high");
    expect(out[0]!.why).toMatch(/16 denied calls on 8 APIs it has never called/);
  });

  test("fires medium at cold start on a denied storm across many APIs (recon)", () => {
    const g = generate("console-person");
    const stolen = iamUser("svc-backup");
    const s = scenario([], sweep(g, NEVER_USED, 3, GEN_END + HOUR, GEN_IPS.attackerVps, stolen), W, { geo: GEN_GEO });
    expect(s.ctx.learning).toBe(true);
    const out = run(errorRateSpike, s);
    expect(out).toHaveLength(1);
    expect(out[0]!.severity).toBe("medium");
    expect(out[0]!.why).toMatch(/24 denied of 24 calls .* across 8 APIs/);
    expect(out[0]!.why).toMatch(/no history/);
  });

  test("fires low on the real invictus role whose every call was denied (ec2:GetPasswordData x29)", () => {
    const s = invictusWindows("attack").find((x) => x.win.principal.key.endsWith("stratus-red-team-ec2-get-password-data-role"));
    expect(s).toBeDefined();
    const out = run(errorRateSpike, s!);
    expect(out).toHaveLength(1);
    expect(out[0]!.severity).toBe("low");
    expect(out[0]!.why).toMatch(/29 denied of 29 calls/);
  });

  test("stays quiet on a handful of denials (3 instead of 0 never alerts)", () => {
    const g = generate("console-person");
    const win = sweep(g, [["iam", "ListUsers"]], 3, GEN_END + 10 * HOUR, GEN_IPS.parisOrange[0]);
    expect(run(errorRateSpike, scenario(g.events, win, W, { geo: GEN_GEO }))).toEqual([]);
    const cold = scenario(
      [],
      sweep(
        g,
        [
          ["iam", "ListUsers"],
          ["s3", "ListBuckets"],
        ],
        4,
        GEN_END + HOUR,
        GEN_IPS.attackerVps,
        iamUser("new"),
      ),
      W,
    );
    expect(run(errorRateSpike, cold)).toEqual([]);
  });

  test("stays quiet on normal generated weeks (the service role's usual 2% failures included)", { tags: ["slow"] }, () => {
    for (const kind of ["console-person", "ci-role", "service-role"] as const) {
      for (const s of normalDays(kind, 7)) expect(run(errorRateSpike, s), kind).toEqual([]);
    }
  });

  test("stays quiet on the benign part of the shared invictus sample (cold start)", () => {
    for (const s of invictusWindows("benign")) expect(run(errorRateSpike, s)).toEqual([]);
  });
});
