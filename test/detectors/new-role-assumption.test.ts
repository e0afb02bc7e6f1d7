import { describe, expect, test } from "vitest";
import { newRoleAssumption as d } from "../../src/detectors/new-role-assumption.js";
import { assumedRole, ctxFor, ev, iamUser, runEvent } from "../helpers/events.js";

const assume = (roleArn: string, ui: Record<string, unknown> = iamUser("alice")) =>
  ev({ eventName: "AssumeRole", userIdentity: ui, requestParameters: { roleArn, roleSessionName: "s" } });

describe("new-role-assumption", () => {
  test("fires medium on assuming a role in an account outside the organisation, even at cold start", () => {
    const [f] = runEvent(d, assume("arn:aws:iam::999999999999:role/Partner"));
    expect(f).toMatchObject({ severity: "medium", fingerprint: ["AssumeRole", "arn:aws:iam::999999999999:role/Partner"] });
  });

  test("fires high when a principal of a foreign account assumes one of our roles", () => {
    const [f] = runEvent(d, assume("arn:aws:iam::111111111111:role/Backdoor", iamUser("mallory", "999999999999")));
    expect(f?.severity).toBe("high");
    expect(f?.why).toContain("999999999999");
  });

  test("fires on a first AssumeRole by an identity with history, medium when chaining", () => {
    const e = assume("arn:aws:iam::111111111111:role/Admin", assumedRole("Ci"));
    const [f] = runEvent(d, e, ctxFor(e.principal, { history: { apis: ["s3:ListBuckets"] } }));
    expect(f?.severity).toBe("medium");
    expect(f?.why).toMatch(/chaining/);
  });

  test("fires on a caller-to-role pair never seen, when the caller has assumed other roles before", () => {
    const e = assume("arn:aws:iam::111111111111:role/Admin");
    const out = runEvent(d, e, ctxFor(e.principal, { history: { apis: ["sts:AssumeRole"], dims: { assumedRole: ["arn:aws:iam::111111111111:role/Deploy"] } } }));
    expect(out).toHaveLength(1);
    expect(out[0]!.why).toMatch(/Admin/);
  });

  test("fires on federation tokens, console sign-in tokens and Roles Anywhere trust anchors at cold start", () => {
    expect(runEvent(d, ev({ eventName: "GetFederationToken", requestParameters: { name: "x" } }))[0]?.severity).toBe("medium");
    expect(
      runEvent(d, ev({ eventName: "GetSigninToken", eventSource: "signin.amazonaws.com", userIdentity: assumedRole("MyRole"), userAgent: "python-requests/2.28.0" }))[0]?.severity,
    ).toBe("medium");
    expect(runEvent(d, ev({ eventName: "CreateTrustAnchor", eventSource: "rolesanywhere.amazonaws.com", requestParameters: { name: "ta", enabled: true } }))[0]?.severity).toBe(
      "high",
    );
  });

  test("stays quiet on AssumeRole within the organisation at cold start, on known patterns, and for services", () => {
    expect(runEvent(d, assume("arn:aws:iam::111111111111:role/Deploy"))).toEqual([]);
    const e = assume("arn:aws:iam::111111111111:role/Deploy");
    // A caller-to-role pair seen before the window.
    expect(runEvent(d, e, ctxFor(e.principal, { history: { apis: ["sts:AssumeRole"], dims: { assumedRole: ["arn:aws:iam::111111111111:role/Deploy"] } } }))).toEqual([]);
    expect(
      runEvent(
        d,
        ev({
          eventName: "AssumeRole",
          userIdentity: { type: "AWSService", invokedBy: "lambda.amazonaws.com" },
          requestParameters: { roleArn: "arn:aws:iam::999999999999:role/x" },
        }),
      ),
    ).toEqual([]);
    expect(runEvent(d, ev({ eventName: "GetSigninToken", eventSource: "signin.amazonaws.com", userIdentity: assumedRole("AWSReservedSSO_Admin_1", "jane") }))).toEqual([]);
  });
});
