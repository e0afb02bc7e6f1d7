/** command-then-credential-theft on windows built from events (the table runs it through the scan). */
import { describe, expect, test } from "vitest";
import { commandThenCredentialTheft as d } from "../../src/detectors/command-then-credential-theft.js";
import type { GlobalContext } from "../../src/detectors/types.js";
import { assumedRole, ev, iamUser, T0 } from "../helpers/events.js";
import { buildWindow, GEN_GEO, GEN_IPS, DETECTOR_CONFIG } from "../helpers/window.js";
import { BaselineView } from "../../src/baseline/view.js";
import { DEFAULT_BASELINE_CONFIG } from "../../src/baseline/profile.js";

const inst = assumedRole("web-instance-role", "i-0abc1234def567890");
const gctx: GlobalContext = {
  window: { start: T0 - 3_600_000, end: T0 + 7_200_000 },
  config: DETECTOR_CONFIG,
  baselineOf: () => new BaselineView(undefined, T0, DEFAULT_BASELINE_CONFIG),
};

function windows(stolenAt: number) {
  const cmd = ev({
    eventName: "SendCommand",
    userIdentity: iamUser("mallory"),
    requestParameters: { documentName: "AWS-RunShellScript", instanceIds: ["i-0abc1234def567890"] },
    time: T0,
  });
  const a = buildWindow([cmd]);
  a.candidates = [cmd];
  const use = ev({ eventName: "ListBuckets", eventSource: "s3.amazonaws.com", userIdentity: inst, sourceIPAddress: GEN_IPS.attackerVps, time: stolenAt });
  const b = buildWindow([use], { geo: GEN_GEO, geoSessions: true });
  return { list: [a, b], cmd, use };
}

describe("command-then-credential-theft", () => {
  test("fires critical, attributed to the sender, citing the command and the outside use", () => {
    const { list, cmd, use } = windows(T0 + 5 * 60_000);
    const [f] = d.detect(list, gctx);
    expect(f?.severity).toBe("critical");
    expect(f?.principal?.userName).toBe("mallory");
    expect(f?.eventIds).toEqual([cmd.id, use.id]);
    expect(f?.why).toMatch(/5 minutes later that instance's credentials/);
  });

  test("stays quiet when the outside use came first", () => {
    expect(d.detect(windows(T0 - 5 * 60_000).list, gctx)).toEqual([]);
  });
});
