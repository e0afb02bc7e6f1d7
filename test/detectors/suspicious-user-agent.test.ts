import { describe, expect, test } from "vitest";
import { DETECTORS } from "../../src/detectors/index.js";
import { suspiciousUserAgent as d } from "../../src/detectors/suspicious-user-agent.js";
import type { TrailEvent } from "../../src/events/types.js";
import { ctxFor, ev, T0, windowOf } from "../helpers/events.js";

const calls = (ua: string, n = 1, extra: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => ev({ eventName: "ListUsers", eventSource: "iam.amazonaws.com", userAgent: ua, time: T0 + i, ...extra }));
const run = (evs: TrailEvent[], history?: Parameters<typeof ctxFor>[1]) => d.detect(windowOf(evs, DETECTORS), ctxFor(evs[0]!.principal, history));

describe("suspicious-user-agent", () => {
  test("fires high on Pacu and on a Kali distribution, medium on TruffleHog, low on Prowler", () => {
    expect(run(calls("aws-cli/2.15.0 Python/3.11 Linux/6.5 exe/x86_64.kali.2023"))[0]?.severity).toBe("high");
    expect(run(calls("Boto3/1.26 Pacu/1.5"))[0]).toMatchObject({ severity: "high", fingerprint: ["pacu"] });
    expect(run(calls("TruffleHog"))[0]?.severity).toBe("medium");
    expect(run(calls("prowler/3.0 aws-sdk"))[0]?.severity).toBe("low");
  });

  test("fires once for a tool making many calls, with the count, marked failed when every call failed", () => {
    const out = run(calls("Boto3/1.26 Pacu/1.5", 40, { errorCode: "AccessDenied" }));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ count: 40, failed: true, severity: "high" });
  });

  test("fires one step lower when the identity used the tool before", () => {
    expect(run(calls("Boto3/1.26 Pacu/1.5"), { history: { dims: { ua: ["offensive:pacu"] } } })[0]?.severity).toBe("medium");
  });

  test("stays quiet on ordinary SDKs, the console and the simulation label", () => {
    expect(run(calls("aws-cli/2.15.0 Python/3.11"))).toEqual([]);
    expect(run(calls("Mozilla/5.0 (X11; Linux x86_64)"))).toEqual([]);
    expect(run(calls("stratus-red-team_0a1b2c3d-0000-0000-0000-000000000000"))).toEqual([]);
  });
});
