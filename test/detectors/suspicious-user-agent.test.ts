import { describe, expect, test } from "vitest";
import { suspiciousUserAgent as d } from "../../src/detectors/suspicious-user-agent.js";
import { ctxFor, ev, runEvent } from "../helpers/events.js";

describe("suspicious-user-agent", () => {
  test("fires high on Pacu and on a Kali distribution, medium on TruffleHog, low on Prowler", () => {
    expect(runEvent(d, ev({ eventName: "ListUsers", userAgent: "aws-cli/2.15.0 Python/3.11 Linux/6.5 exe/x86_64.kali.2023" }))[0]?.severity).toBe("high");
    expect(runEvent(d, ev({ eventName: "ListRoles", userAgent: "Boto3/1.26 Pacu/1.5" }))[0]).toMatchObject({ severity: "high", fingerprint: ["pacu"] });
    expect(runEvent(d, ev({ eventName: "GetCallerIdentity", userAgent: "TruffleHog" }))[0]?.severity).toBe("medium");
    expect(runEvent(d, ev({ eventName: "DescribeInstances", userAgent: "prowler/3.0 aws-sdk" }))[0]?.severity).toBe("low");
  });

  test("fires one step lower when the identity used the tool before", () => {
    const e = ev({ eventName: "ListUsers", userAgent: "Boto3/1.26 Pacu/1.5" });
    expect(runEvent(d, e, ctxFor(e.principal, { history: { dims: { ua: ["offensive:pacu"] } } }))[0]?.severity).toBe("medium");
  });

  test("stays quiet on ordinary SDKs, the console and the simulation label", () => {
    expect(runEvent(d, ev({ eventName: "ListUsers", userAgent: "aws-cli/2.15.0 Python/3.11" }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "ListUsers", userAgent: "Mozilla/5.0 (X11; Linux x86_64)" }))).toEqual([]);
    expect(runEvent(d, ev({ eventName: "ListUsers", userAgent: "stratus-red-team_0a1b2c3d-0000-0000-0000-000000000000" }))).toEqual([]);
  });
});
