import { describe, expect, test } from "vitest";
import { DETECTORS } from "../../src/detectors/index.js";
import { emailAbuseRecon as d } from "../../src/detectors/email-abuse-recon.js";
import { ctxFor, ev, T0, windowOf } from "../helpers/events.js";

const ses = (names: string[]) => names.map((n, i) => ev({ eventName: n, eventSource: "ses.amazonaws.com", time: T0 + i * 1000 }));

describe("email-abuse-recon", () => {
  test("fires medium when an identity probes SES sending status, quota and identities", () => {
    const evs = ses(["GetAccountSendingEnabled", "GetSendQuota", "ListIdentities"]);
    const [f] = d.detect(windowOf(evs, DETECTORS), ctxFor(evs[0]!.principal));
    expect(f).toMatchObject({ severity: "medium", fingerprint: ["ses"], count: 3 });
  });

  test("fires high when it also changes sending settings", () => {
    const evs = ses(["GetSendQuota", "VerifyEmailIdentity"]);
    expect(d.detect(windowOf(evs, DETECTORS), ctxFor(evs[0]!.principal))[0]?.severity).toBe("high");
  });

  test("stays quiet for identities that use SES and for a single check", () => {
    const evs = ses(["GetAccountSendingEnabled", "GetSendQuota", "ListIdentities"]);
    expect(d.detect(windowOf(evs, DETECTORS), ctxFor(evs[0]!.principal, { history: { apis: ["ses:SendEmail"] } }))).toEqual([]);
    const one = ses(["GetSendQuota"]);
    expect(d.detect(windowOf(one, DETECTORS), ctxFor(one[0]!.principal))).toEqual([]);
  });
});
