import { describe, expect, test } from "vitest";
import { DETECTORS } from "../../src/detectors/index.js";
import { instanceCredentialAbuse as d } from "../../src/detectors/instance-credential-abuse.js";
import { StaticGeoResolver } from "../../src/geo/types.js";
import { OfflineGeoResolver } from "../../src/geo/offline.js";
import { assumedRole, ctxFor, ev, invictusRecords, otrfRecords, T0, toEvent, windowOf } from "../helpers/events.js";
import type { TrailEvent } from "../../src/events/types.js";

const inst = assumedRole("WebRole", "i-0abcdef1234567890", "111111111111", { ec2RoleDelivery: "2.0" });
const call = (name: string, ip: string, i: number, ua = "aws-sdk-go/1.44") => ev({ eventName: name, userIdentity: inst, sourceIPAddress: ip, userAgent: ua, time: T0 + i * 1000 });
const geo = new StaticGeoResolver({
  "3.225.16.109": { country: "US", asn: 14618, asOrg: "Amazon.com, Inc." },
  "45.33.32.156": { country: "US", asn: 63949, asOrg: "Akamai Technologies, Inc." },
});
const run = (evs: TrailEvent[]) => d.detect(windowOf(evs, DETECTORS, geo), ctxFor(evs[0]!.principal));

describe("instance-credential-abuse", () => {
  test("fires high when one instance's credentials are used from two public addresses", () => {
    const out = run([call("UpdateInstanceInformation", "3.225.16.109", 1, "amazon-ssm-agent"), call("GetCallerIdentity", "198.51.100.20", 2, "aws-cli/2.15")]);
    expect(out.find((f) => f.fingerprint[0] === "exfiltration")?.severity).toBe("high");
  });

  test("fires high for a role shared by instances when one instance session appears at two public addresses", () => {
    const other = assumedRole("WebRole", "i-0fedcba9876543210");
    const out = run([
      call("UpdateInstanceInformation", "3.225.16.109", 1),
      ev({ eventName: "UpdateInstanceInformation", userIdentity: other, sourceIPAddress: "3.225.16.110", time: T0 + 2000 }),
      call("GetCallerIdentity", "8.8.4.4", 3, "aws-cli/2.15"),
    ]);
    expect(out.find((f) => f.fingerprint[0] === "exfiltration")).toMatchObject({ severity: "high", fingerprint: ["exfiltration", "i-0abcdef1234567890"] });
  });

  test("fires high when instance credentials are used from a network outside AWS", () => {
    const out = run([call("DescribeInstances", "45.33.32.156", 1, "aws-cli/2.15")]);
    expect(out[0]).toMatchObject({ severity: "high", fingerprint: ["outside-aws"] });
    expect(out[0]?.why).toContain("Akamai");
  });

  test("fires on account discovery from instance credentials", () => {
    const names = ["GetCallerIdentity", "ListUsers", "ListRoles", "ListBuckets", "DescribeTrails"];
    const srcs = ["sts", "iam", "iam", "s3", "cloudtrail"];
    const out = run(names.map((n, i) => ev({ eventName: n, eventSource: `${srcs[i]}.amazonaws.com`, userIdentity: inst, sourceIPAddress: "3.225.16.109", time: T0 + i })));
    expect(out.find((f) => f.fingerprint[0] === "discovery")?.severity).toBe("medium");
  });

  test("fires on the real stolen instance credentials of the shared invictus sample", () => {
    const evs = invictusRecords()
      .filter((r) => String((r.userIdentity as { arn?: string }).arn ?? "").includes("ec2-steal-credentials-role"))
      .map(toEvent);
    const out = d.detect(windowOf(evs, DETECTORS), ctxFor(evs[0]!.principal));
    expect(out.map((f) => f.fingerprint[0])).toContain("exfiltration");
    expect(["medium", "high"]).toContain(out[0]?.severity);
  });

  test("fires medium on the stolen instance role of the otrf breach, resolved with the packaged geo data", () => {
    const evs = otrfRecords()
      .map(toEvent)
      .filter((e) => e.principal.userName?.startsWith("MordorNginxStack-BankingWAFRole"));
    const out = d.detect(windowOf(evs, DETECTORS, new OfflineGeoResolver({})), ctxFor(evs[0]!.principal));
    expect(out[0]).toMatchObject({ severity: "medium", fingerprint: ["outside-aws"] });
  });

  test("stays quiet on an instance calling from its own address, on Amazon networks and on non-instance roles", () => {
    expect(run([call("UpdateInstanceInformation", "3.225.16.109", 1), call("PutObject", "3.225.16.109", 2)])).toEqual([]);
    const other = assumedRole("Deploy", "gh-actions-123");
    expect(
      run([
        ev({ eventName: "DescribeInstances", userIdentity: other, sourceIPAddress: "45.33.32.156" }),
        ev({ eventName: "DescribeInstances", userIdentity: other, sourceIPAddress: "198.51.100.1" }),
      ]),
    ).toEqual([]);
  });
});
