/**
 * new-region on its own (the table in tables/new-region.ts runs it through the scan, where the
 * account's regions come from every identity's baseline): here the account's knowledge is given.
 */
import { describe, expect, test } from "vitest";
import { newRegion } from "../../src/detectors/new-region.js";
import type { DetectorContext } from "../../src/detectors/types.js";
import { ctxFor, ev, iamUser, runEvent } from "../helpers/events.js";

const launch = (region: string, extra: Record<string, unknown> = {}) =>
  ev({ eventName: "RunInstances", userIdentity: iamUser("alice"), region, requestParameters: { instanceType: "t3.micro" }, ...extra });

function ctx(accountRegions: string[], identityRegions: string[] = ["eu-west-1"]): DetectorContext {
  const e = launch("eu-west-1");
  return {
    ...ctxFor(e.principal, { history: { dims: { region: identityRegions } } }),
    account: { knowsRegion: (r) => accountRegions.includes(r), hasHistory: () => accountRegions.length > 0 },
  };
}

describe("new-region", () => {
  test("fires high on compute in a region the account never used, naming the region", () => {
    const [f] = runEvent(newRegion, launch("ap-south-2"), ctx(["eu-west-1"]));
    expect(f?.severity).toBe("high");
    expect(f?.fingerprint).toEqual(["ap-south-2"]);
    expect(f?.why).toMatch(/a region no identity of account .* used before this window/);
  });

  test("fires one step lower when infrastructure as code launched it", () => {
    const [f] = runEvent(newRegion, launch("ap-south-2", { userAgent: "APN/1.0 HashiCorp/1.0 Terraform/1.6.0" }), ctx(["eu-west-1"]));
    expect(f?.severity).toBe("medium");
  });

  test("stays quiet on a failed launch, a known region, or without account context", () => {
    expect(runEvent(newRegion, launch("ap-south-2", { errorCode: "UnauthorizedOperation" }), ctx(["eu-west-1"]))).toEqual([]);
    expect(runEvent(newRegion, launch("eu-west-1"), ctx(["eu-west-1"]))).toEqual([]);
    const bare = ctxFor(launch("x").principal, { history: {} });
    expect(runEvent(newRegion, launch("ap-south-2"), bare)).toEqual([]);
  });
});
