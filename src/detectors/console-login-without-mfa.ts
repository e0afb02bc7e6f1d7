import type { Severity, TrailEvent } from "../events/types.js";
import { draft, q, str, who } from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * A successful password sign-in to the console without MFA, by an IAM user or root. Federated
 * sign-ins (SAML, IAM Identity Center, roles reaching the console through GetSigninToken) are
 * excluded: their MFA happens at the identity provider and CloudTrail always says `MFAUsed: No`.
 *
 * Note: this detector's selection of `ConsoleLogin` also makes every console sign-in a window
 * candidate, which the `console-login-failures` global detector relies on.
 */

const ADMINISH = /admin|root|break.?glass|emergency|owner|super.?user/i;

export const consoleLoginWithoutMfa: EventDetector = {
  kind: "event",
  id: "console-login-without-mfa",
  title: "Console sign-in without MFA",
  description: "An IAM user or the root user signed in to the AWS console with a password only. A stolen or guessed password is then enough to take over the account.",
  severity: "medium",
  cites: "The single sign-in without MFA.",
  attack: ["T1078.004"],
  investigate: [
    "Confirm the sign-in with the user (time, place, device).",
    "Enforce MFA for the user (an IAM policy denying actions without aws:MultiFactorAuthPresent) or move them to IAM Identity Center.",
    "If the sign-in is not recognised: reset the password, deactivate the user's keys, review the session's actions.",
  ],
  falsePositives: ["Break-glass users deliberately without MFA (they should still alert).", "A new user signing in once to set up MFA."],
  eventNames: ["ConsoleLogin"],
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    if (ev.failed || str(ev.responseElements?.ConsoleLogin) !== "Success") return null;
    const ad = ev.additionalEventData ?? {};
    if (str(ad.MFAUsed) !== "No") return null;
    if (str(ad.SamlProviderArn)) return null;
    const p = ev.principal;
    if (p.type !== "IAMUser" && p.type !== "Root") return null;
    const name = p.type === "Root" ? "root" : (p.userName ?? "?");
    let severity: Severity = "medium";
    let why = `${who(p)} signed in to the console with a password and no MFA from ${q(ev.sourceIp || "unknown")}.`;
    if (p.type === "Root") {
      severity = "high";
      why += " The root user can do anything in the account, including closing it.";
    } else if (ADMINISH.test(name)) {
      severity = "high";
      why += ` The user name ${q(name)} suggests a privileged user.`;
    }
    const b = ctx.baseline;
    if (b.historyDays > 0) {
      const ips = b.distinct("ip");
      const knownIp = ev.sourceIp ? b.known("ip", ev.sourceIp) : false;
      why += ` History: ${b.summary()}; the source address is ${knownIp ? "known" : "new"} for this user${ips ? ` (${ips} known)` : ""}.`;
    } else {
      why += " No history of this user before this window (cold start).";
    }
    return draft(ev, severity, why, [name], { evidence: { mfaUsed: "No", loginTo: ad.LoginTo } });
  },
};

export default consoleLoginWithoutMfa;
