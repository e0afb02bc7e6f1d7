import { describe, expect, test } from "vitest";
import { consoleLoginWithoutMfa as d } from "../../src/detectors/console-login-without-mfa.js";
import { assumedRole, ctxFor, ev, iamUser, rootUser, runEvent } from "../helpers/events.js";

const login = (ui: Record<string, unknown>, extra: Record<string, unknown> = {}, ok = true) =>
  ev({
    eventName: "ConsoleLogin",
    eventType: "AwsConsoleSignIn",
    userIdentity: ui,
    responseElements: { ConsoleLogin: ok ? "Success" : "Failure" },
    additionalEventData: { MFAUsed: "No", ...extra },
    userAgent: "Mozilla/5.0",
  });

describe("console-login-without-mfa", () => {
  test("fires medium for an IAM user, high for root and admin-looking users", () => {
    expect(runEvent(d, login(iamUser("dev1")))[0]?.severity).toBe("medium");
    expect(runEvent(d, login(rootUser()))[0]?.severity).toBe("high");
    expect(runEvent(d, login(iamUser("admin-ops")))[0]?.severity).toBe("high");
  });

  test("fires with the user's history in the explanation", () => {
    const e = login(iamUser("dev1"));
    const [f] = runEvent(d, e, ctxFor(e.principal, { history: { days: 20, dims: { ip: ["198.51.100.1"] } } }));
    expect(f?.why).toMatch(/20 days of history/);
    expect(f?.why).toContain("source address is new");
  });

  test("stays quiet with MFA, for SAML/SSO federation, for assumed roles and for failures", () => {
    expect(runEvent(d, login(iamUser(), { MFAUsed: "Yes" }))).toEqual([]);
    expect(runEvent(d, login(iamUser(), { SamlProviderArn: "arn:aws:iam::111111111111:saml-provider/Okta" }))).toEqual([]);
    expect(runEvent(d, login(assumedRole("AWSReservedSSO_Admin_123", "jane@example.com")))).toEqual([]);
    expect(runEvent(d, login(assumedRole("SomeRole", "1641313043312360000")))).toEqual([]);
    expect(runEvent(d, login(iamUser(), {}, false))).toEqual([]);
  });
});
