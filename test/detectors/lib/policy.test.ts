import { describe, expect, test } from "vitest";
import { adminGrant, exposure, managedPolicyRisk, parsePolicy } from "../../../src/detectors/lib/policy.js";
import { selectorReduction, shortestExpiration } from "../../../src/detectors/lib/logging.js";
import { exposedServices, openIngressRules } from "../../../src/detectors/lib/network.js";

const own = new Set(["111111111111"]);

describe("policy documents", () => {
  test("parse objects, JSON strings, URL-encoded and double-encoded JSON; null on garbage", () => {
    const p = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };
    expect(parsePolicy(p)).toEqual(p);
    expect(parsePolicy(JSON.stringify(p))).toEqual(p);
    expect(parsePolicy(encodeURIComponent(JSON.stringify(p)))).toEqual(p);
    expect(parsePolicy(JSON.stringify(JSON.stringify(p)))).toEqual(p);
    expect(parsePolicy("invalid-json-policy")).toBeNull();
    expect(parsePolicy("")).toBeNull();
  });

  test("admin grants: *, iam:*, NotAction on *; not scoped or denied statements", () => {
    expect(adminGrant({ Statement: { Effect: "Allow", Action: "*:*", Resource: "*" } }).admin).toBe(true);
    expect(adminGrant({ Statement: [{ Effect: "Allow", Action: ["iam:*"], Resource: ["*"] }] }).admin).toBe(true);
    expect(adminGrant({ Statement: [{ Effect: "Allow", NotAction: "iam:*", Resource: "*" }] }).admin).toBe(true);
    expect(adminGrant({ Statement: [{ Effect: "Allow", Action: "*", Resource: "arn:aws:s3:::b/*" }] }).admin).toBe(false);
    expect(adminGrant({ Statement: [{ Effect: "Deny", Action: "*", Resource: "*" }] }).admin).toBe(false);
  });

  test("exposure: public unless pinned by an organisation/account/network condition; external accounts; open GitHub OIDC", () => {
    expect(exposure({ Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject" }] }, own).public).toBe(true);
    expect(exposure({ Statement: [{ Effect: "Allow", Principal: { AWS: ["*"] }, Action: "x", Condition: { StringEquals: { "sts:ExternalId": "1" } } }] }, own).public).toBe(true);
    expect(exposure({ Statement: [{ Effect: "Allow", Principal: "*", Action: "x", Condition: { StringEquals: { "aws:PrincipalOrgID": "o-1" } } }] }, own).public).toBe(false);
    expect(exposure({ Statement: [{ Effect: "Allow", Principal: "*", Action: "x", Condition: { IpAddress: { "aws:SourceIp": "0.0.0.0/0" } } }] }, own).public).toBe(true);
    expect(exposure({ Statement: [{ Effect: "Allow", Principal: { AWS: ["arn:aws:iam::222222222222:role/x", "111111111111"] }, Action: "x" }] }, own).externalAccounts).toEqual([
      "222222222222",
    ]);
    const gh = (cond: Record<string, unknown>) => ({
      Statement: [
        {
          Effect: "Allow",
          Principal: { Federated: "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com" },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: cond,
        },
      ],
    });
    expect(exposure(gh({ StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" } }), own).openFederation).toHaveLength(1);
    expect(exposure(gh({ StringLike: { "token.actions.githubusercontent.com:sub": "repo:acme/app:*" } }), own).openFederation).toHaveLength(0);
  });

  test("managed policy risk: AWS admin policies and customer policies named like admin; not ReadOnlyAccess", () => {
    expect(managedPolicyRisk("arn:aws:iam::aws:policy/AdministratorAccess")?.level).toBe("admin");
    expect(managedPolicyRisk("arn:aws:iam::aws:policy/PowerUserAccess")?.level).toBe("power");
    expect(managedPolicyRisk("arn:aws:iam::111111111111:policy/FullAdmin")?.level).toBe("named-admin");
    expect(managedPolicyRisk("arn:aws:iam::aws:policy/ReadOnlyAccess")).toBeNull();
    expect(managedPolicyRisk("arn:aws:iam::111111111111:policy/AdministratorAccess")?.level).toBe("named-admin");
  });
});

describe("logging and network helpers", () => {
  test("selector reductions and lifecycle expirations", () => {
    expect(selectorReduction({ eventSelectors: [{ includeManagementEvents: true, readWriteType: "All" }] })).toBeNull();
    expect(
      selectorReduction({ eventSelectors: [{ includeManagementEvents: true, readWriteType: "All", excludeManagementEventSources: ["kms.amazonaws.com"] }] })?.reasons[0],
    ).toContain("kms");
    expect(
      shortestExpiration({
        LifecycleConfiguration: {
          Rule: [
            { ID: "a", Status: "Enabled", Expiration: { Days: 30 } },
            { ID: "b", Status: "Enabled", NoncurrentVersionExpiration: { NoncurrentDays: 2 } },
          ],
        },
      }),
    ).toEqual({ days: 2, ruleId: "b", noncurrent: true });
  });

  test("open ingress rules name the exposed services", () => {
    const rules = openIngressRules({
      ipPermissions: {
        items: [
          { ipProtocol: "tcp", fromPort: 3300, toPort: 3310, ipRanges: { items: [{ cidrIp: "0.0.0.0/0" }] } },
          { ipProtocol: "-1", ipv6Ranges: { items: [{ cidrIpv6: "::/0" }] } },
        ],
      },
    });
    expect(rules.map(exposedServices)).toEqual([["MySQL (3306)"], ["all ports"]]);
    expect(openIngressRules({ ipPermissions: { items: [{ ipProtocol: "tcp", fromPort: 22, toPort: 22, ipRanges: { items: [{ cidrIp: "10.0.0.0/8" }] } }] } })).toEqual([]);
  });
});
