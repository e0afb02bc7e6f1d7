import { describe, expect, test } from "vitest";
import { discoveryUserData as d } from "../../src/detectors/discovery-user-data.js";
import { assumedRole, ctxFor, ev, runEvent } from "../helpers/events.js";

const read = (extra: Record<string, unknown> = {}) =>
  ev({ eventName: "DescribeInstanceAttribute", requestParameters: { instanceId: "i-1234567890abcdef0", attribute: "userData" }, ...extra });

describe("discovery-user-data", () => {
  test("fires low at cold start and medium for an identity with history that never read user data", () => {
    expect(runEvent(d, read())[0]?.severity).toBe("low");
    const e = read({ userIdentity: assumedRole("App") });
    expect(runEvent(d, e, ctxFor(e.principal, { history: { apis: ["s3:GetObject"] } }))[0]?.severity).toBe("medium");
  });

  test("stays quiet on other attributes, AWS services and infrastructure as code", () => {
    expect(runEvent(d, ev({ eventName: "DescribeInstanceAttribute", requestParameters: { instanceId: "i-1", attribute: "disableApiTermination" } }))).toEqual([]);
    expect(runEvent(d, read({ sourceIPAddress: "cloudformation.amazonaws.com" }))).toEqual([]);
    expect(runEvent(d, read({ userAgent: "APN/1.0 HashiCorp/1.0 Terraform/1.5.7" }))).toEqual([]);
  });
});
