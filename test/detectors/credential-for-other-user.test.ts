import { describe, expect, test } from "vitest";
import { credentialForOtherUser as d } from "../../src/detectors/credential-for-other-user.js";
import { assumedRole, ctxFor, ev, iamUser, rootUser, runEvent } from "../helpers/events.js";

describe("credential-for-other-user", () => {
  test("fires medium when a user creates an access key for another user, high for an admin-looking target", () => {
    const [a] = runEvent(d, ev({ eventName: "CreateAccessKey", userIdentity: iamUser("alice"), requestParameters: { userName: "svc-reports" } }));
    expect(a).toMatchObject({ severity: "medium", fingerprint: ["CreateAccessKey", "svc-reports"] });
    expect(runEvent(d, ev({ eventName: "CreateAccessKey", userIdentity: iamUser("alice"), requestParameters: { userName: "admin" } }))[0]?.severity).toBe("high");
  });

  test("fires for roles and root creating credentials for users", () => {
    expect(runEvent(d, ev({ eventName: "CreateAccessKey", userIdentity: assumedRole("Ops"), requestParameters: { userName: "bob" } }))).toHaveLength(1);
    expect(runEvent(d, ev({ eventName: "CreateAccessKey", userIdentity: rootUser(), requestParameters: { userName: "bob" } }))).toHaveLength(1);
  });

  test("fires high on a console password set for another user without a forced change", () => {
    const [f] = runEvent(d, ev({ eventName: "CreateLoginProfile", userIdentity: iamUser("alice"), requestParameters: { userName: "bob", passwordResetRequired: false } }));
    expect(f?.severity).toBe("high");
    expect(f?.why).toContain("No password change is required");
  });

  test("fires lower when the caller routinely creates keys, and low from infrastructure as code", () => {
    const e = ev({ eventName: "CreateAccessKey", userIdentity: iamUser("alice"), requestParameters: { userName: "svc" } });
    expect(runEvent(d, e, ctxFor(e.principal, { history: { apis: ["iam:CreateAccessKey"] } }))[0]?.severity).toBe("low");
    const tf = ev({ eventName: "CreateAccessKey", userIdentity: iamUser("ci"), userAgent: "APN/1.0 HashiCorp/1.0 Terraform/1.5.7", requestParameters: { userName: "svc" } });
    expect(runEvent(d, tf)[0]?.severity).toBe("low");
  });

  test("stays quiet on own keys, own password changes and helpdesk resets", () => {
    expect(runEvent(d, ev({ eventName: "CreateAccessKey", userIdentity: iamUser("alice"), requestParameters: { userName: "alice" } }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "CreateAccessKey", userIdentity: iamUser("alice") }))).toEqual([]);
    expect(
      runEvent(d, ev({ eventName: "UpdateLoginProfile", userIdentity: assumedRole("IAM", "alice"), requestParameters: { userName: "alice", passwordResetRequired: false } })),
    ).toEqual([]);
    expect(runEvent(d, ev({ eventName: "UpdateLoginProfile", userIdentity: iamUser("helpdesk"), requestParameters: { userName: "bob", passwordResetRequired: true } }))).toEqual(
      [],
    );
  });
});
