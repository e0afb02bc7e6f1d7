import { describe, expect, test } from "vitest";
import { BaselineView } from "../../src/baseline/view.js";
import { DEFAULT_BASELINE_CONFIG } from "../../src/baseline/profile.js";
import { consoleLoginFailures as d } from "../../src/detectors/console-login-failures.js";
import { DETECTORS } from "../../src/detectors/index.js";
import type { GlobalContext } from "../../src/detectors/types.js";
import { byIdentity, DEFAULT_DETECTOR_CONFIG, ev, iamUser, rootUser, T0, windowOf } from "../helpers/events.js";
import type { TrailEvent } from "../../src/events/types.js";

const gctx: GlobalContext = {
  window: { start: T0 - 3_600_000, end: T0 + 3_600_000 },
  config: DEFAULT_DETECTOR_CONFIG,
  baselineOf: () => new BaselineView(undefined, T0 - 3_600_000, DEFAULT_BASELINE_CONFIG),
};

function login(ui: Record<string, unknown>, ok: boolean, ip: string, i: number, mfa = "No"): TrailEvent {
  return ev({
    eventName: "ConsoleLogin",
    eventType: "AwsConsoleSignIn",
    userIdentity: ui,
    sourceIPAddress: ip,
    time: T0 + i * 60_000,
    responseElements: { ConsoleLogin: ok ? "Success" : "Failure" },
    additionalEventData: { MFAUsed: mfa },
    ...(ok ? {} : { errorMessage: "Failed authentication" }),
  });
}

function run(events: TrailEvent[]) {
  const windows = [...byIdentity(events).values()].map((evs) => windowOf(evs, DETECTORS));
  return d.detect(windows, gctx);
}

const hidden = { type: "IAMUser", accountId: "111111111111", accessKeyId: "", userName: "HIDDEN_DUE_TO_SECURITY_REASONS" };

describe("console-login-failures", () => {
  test("fires medium on brute force against one user, high when a success follows", () => {
    const fails = Array.from({ length: 6 }, (_, i) => login(iamUser("bob"), false, "198.51.100.7", i));
    const [a] = run(fails);
    expect(a).toMatchObject({ severity: "medium", fingerprint: ["brute-force"], failed: true });
    expect(a?.principal?.key).toBe("user:111111111111:bob");
    const [b] = run([...fails, login(iamUser("bob"), true, "198.51.100.7", 10)]);
    expect(b?.severity).toBe("high");
    expect(b?.failed).toBeUndefined();
  });

  test("fires on password spraying: one address failing for several users, counting unknown names once", () => {
    const evs = [
      login(iamUser("a"), false, "203.0.113.9", 1),
      login(iamUser("b"), false, "203.0.113.9", 2),
      login(hidden, false, "203.0.113.9", 3),
      login(hidden, false, "203.0.113.9", 4),
    ];
    const out = run(evs);
    const spray = out.find((f) => f.fingerprint[0] === "spray");
    expect(spray).toMatchObject({ severity: "medium", fingerprint: ["spray", "203.0.113.9"] });
    expect(spray?.principal?.key).toBe("ip:203.0.113.9");
    expect(spray?.why).toContain("do not exist in the account");
  });

  test("fires medium when the password was right but MFA failed", () => {
    const [f] = run([login(iamUser("carol"), false, "192.0.2.44", 1, "Yes")]);
    expect(f).toMatchObject({ severity: "medium", fingerprint: ["mfa-failure"], failed: true });
  });

  test("stays quiet on a few typos, on successes, and on root's single failure", () => {
    expect(run([login(iamUser("bob"), false, "198.51.100.7", 1), login(iamUser("bob"), false, "198.51.100.7", 2), login(iamUser("bob"), true, "198.51.100.7", 3)])).toEqual([]);
    expect(run([login(rootUser(), false, "198.51.100.7", 1)])).toEqual([]);
    expect(run([login(hidden, false, "10.0.0.1", 1), login(hidden, false, "10.0.0.1", 2), login(hidden, false, "10.0.0.1", 3)])).toEqual([]);
  });
});
