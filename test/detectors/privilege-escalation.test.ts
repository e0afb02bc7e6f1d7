import { describe, expect, test } from "vitest";
import { privilegeEscalation as d } from "../../src/detectors/privilege-escalation.js";
import { assumedRole, ev, iamUser, runEvent } from "../helpers/events.js";

const doc = (o: unknown) => JSON.stringify(o);

describe("privilege-escalation", () => {
  test("fires high when AdministratorAccess is attached to a user, role or group", () => {
    for (const [name, key] of [
      ["AttachUserPolicy", "userName"],
      ["AttachRolePolicy", "roleName"],
      ["AttachGroupPolicy", "groupName"],
    ] as const) {
      const [f] = runEvent(d, ev({ eventName: name, requestParameters: { [key]: "x", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" } }));
      expect(f?.severity, name).toBe("high");
    }
  });

  test("fires high on an inline *:* policy, whether JSON or URL-encoded", () => {
    const p = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };
    expect(runEvent(d, ev({ eventName: "PutUserPolicy", requestParameters: { userName: "u", policyName: "p", policyDocument: doc(p) } }))[0]?.severity).toBe("high");
    expect(runEvent(d, ev({ eventName: "PutRolePolicy", requestParameters: { roleName: "r", policyName: "p", policyDocument: encodeURIComponent(doc(p)) } }))[0]?.severity).toBe(
      "high",
    );
  });

  test("fires critical on a trust policy open to everyone, high on an external account or open GitHub OIDC", () => {
    const star = { Statement: [{ Effect: "Allow", Principal: "*", Action: "sts:AssumeRole", Condition: { StringEquals: { "sts:ExternalId": "1" } } }] };
    expect(runEvent(d, ev({ eventName: "UpdateAssumeRolePolicy", requestParameters: { roleName: "r", policyDocument: doc(star) } }))[0]?.severity).toBe("critical");
    const ext = { Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::193672423079:root" }, Action: "sts:AssumeRole" }] };
    const [f] = runEvent(d, ev({ eventName: "CreateRole", requestParameters: { roleName: "r", assumeRolePolicyDocument: doc(ext) } }));
    expect(f?.severity).toBe("high");
    expect(f?.why).toContain("193672423079");
    const gh = {
      Statement: [
        {
          Effect: "Allow",
          Principal: { Federated: "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com" },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" } },
        },
      ],
    };
    expect(runEvent(d, ev({ eventName: "CreateRole", requestParameters: { roleName: "gh", assumeRolePolicyDocument: doc(gh) } }))[0]?.severity).toBe("high");
  });

  test("fires even from infrastructure as code when trust leaves the organisation, one step lower for admin grants", () => {
    const tf = "APN/1.0 HashiCorp/1.0 Terraform/1.5.7";
    const ext = { Statement: [{ Effect: "Allow", Principal: { AWS: "222222222222" }, Action: "sts:AssumeRole" }] };
    expect(runEvent(d, ev({ eventName: "CreateRole", userAgent: tf, requestParameters: { roleName: "r", assumeRolePolicyDocument: doc(ext) } }))[0]?.severity).toBe("high");
    expect(
      runEvent(d, ev({ eventName: "AttachRolePolicy", userAgent: tf, requestParameters: { roleName: "r", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" } }))[0]
        ?.severity,
    ).toBe("medium");
  });

  test("fires on admin group membership and default policy version swaps", () => {
    expect(runEvent(d, ev({ eventName: "AddUserToGroup", requestParameters: { groupName: "Administrators", userName: "eve" } }))[0]?.severity).toBe("high");
    const adminDoc = doc({ Statement: [{ Effect: "Allow", Action: "iam:*", Resource: "*" }] });
    expect(
      runEvent(d, ev({ eventName: "CreatePolicyVersion", requestParameters: { policyArn: "arn:aws:iam::111111111111:policy/p", setAsDefault: true, policyDocument: adminDoc } }))[0]
        ?.severity,
    ).toBe("high");
  });

  test("stays quiet on ordinary grants, ordinary trust and ordinary groups at cold start", () => {
    expect(runEvent(d, ev({ eventName: "AttachRolePolicy", requestParameters: { roleName: "r", policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess" } }))).toEqual([]);
    const svc = { Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] };
    expect(runEvent(d, ev({ eventName: "CreateRole", requestParameters: { roleName: "r", assumeRolePolicyDocument: doc(svc) } }))).toEqual([]);
    const own = { Statement: [{ Effect: "Allow", Principal: { AWS: "111111111111" }, Action: "sts:AssumeRole" }] };
    expect(runEvent(d, ev({ eventName: "UpdateAssumeRolePolicy", userIdentity: assumedRole("Ops"), requestParameters: { roleName: "r", policyDocument: doc(own) } }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "AddUserToGroup", userIdentity: iamUser("hr"), requestParameters: { groupName: "developers", userName: "new" } }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "UpdateAssumeRolePolicy", requestParameters: { roleName: "r" } }))).toEqual([]);
  });
});
