import type { Severity } from "../events/types.js";
import { multiDraft, q, who } from "./lib/util.js";
import type { DetectorContext, FindingDraft, IdentityWindow, WindowDetector } from "./types.js";

/**
 * Checking whether the account can send e-mail: SES sending status, quotas, verified
 * identities. Stolen keys are routinely tested for SES to send spam and phishing from a
 * reputable domain. Reported when an identity that never used SES makes several of these calls
 * in one window, or changes sending capabilities. Judged per API: an identity that uses SES (checks
 * its quota every hour) is reported when it makes a sending change it never made before, above
 * all a request for production access.
 */

const RECON = new Set([
  "ses:GetAccountSendingEnabled",
  "ses:GetSendQuota",
  "ses:GetSendStatistics",
  "ses:ListIdentities",
  "ses:ListVerifiedEmailAddresses",
  "ses:GetIdentityVerificationAttributes",
  "ses:GetIdentityDkimAttributes",
  "ses:DescribeActiveReceiptRuleSet",
  "ses:GetAccount",
  "ses:ListEmailIdentities",
  "email:GetAccount",
  "email:ListEmailIdentities",
]);

const CHANGES = new Set([
  "ses:UpdateAccountSendingEnabled",
  "ses:PutAccountDetails",
  "ses:VerifyEmailIdentity",
  "ses:VerifyDomainIdentity",
  "ses:CreateEmailIdentity",
  "ses:DeleteIdentity",
  "ses:PutAccountSendingAttributes",
  "email:PutAccountDetails",
  "email:CreateEmailIdentity",
]);

export const RECON_MIN = 3;

/** Requests to leave the SES sandbox (send to anyone): what spammers need first. */
const PRODUCTION = new Set(["ses:PutAccountDetails", "email:PutAccountDetails", "ses:UpdateAccountSendingEnabled"]);

export const emailAbuseRecon: WindowDetector = {
  kind: "window",
  id: "email-abuse-recon",
  title: "E-mail sending capability probed (SES)",
  description:
    "An identity that never used Amazon SES checks whether the account can send e-mail (sending status, quota, verified identities) or changes sending capabilities: a common first step of spam and phishing with stolen keys.",
  severity: "medium",
  cites: "The SES calls judged new for this identity: recon calls it never made (only when it never used SES), and sending-capability changes it never made before.",
  attack: ["T1526", "T1585.002"],
  investigate: [
    "Does this identity have any reason to use SES? Check SES sending statistics and new verified identities.",
    "If not: deactivate the credentials and look for where they leaked.",
  ],
  falsePositives: ["Applications or administrators starting to use SES.", "Security scanners enumerating every service."],
  detect(win: IdentityWindow, ctx: DetectorContext): FindingDraft[] {
    // No SES call in the window (nearly every identity): nothing to judge, and its baseline is not read.
    let ses = false;
    for (const k of win.apis.keys())
      if (RECON.has(k) || CHANGES.has(k)) {
        ses = true;
        break;
      }
    if (!ses) return [];
    // Novelty per API: an identity that checks its sending quota every hour has not thereby made
    // creating identities or asking for production access normal.
    const b = ctx.baseline;
    const usesSes = b.known("service", "ses") || b.known("service", "email");
    const isNew = ([k]: [string, unknown]) => !b.known("api", k);
    const recon = [...win.apis.entries()].filter(([k]) => RECON.has(k)).filter(isNew);
    const changes = [...win.apis.entries()].filter(([k]) => CHANGES.has(k) && win.apis.get(k)!.err < win.apis.get(k)!.n).filter(isNew);
    // A known SES user probing what it already may use is routine; a never-made change is not.
    if (usesSes ? changes.length === 0 : recon.length < RECON_MIN && changes.length === 0) return [];
    const shown = usesSes ? changes : [...recon, ...changes];
    const production = changes.some(([k]) => PRODUCTION.has(k));
    const sev: Severity = changes.length === 0 ? "medium" : usesSes && !production ? "medium" : "high";
    const hist =
      b.historyDays <= 0
        ? "No history of this identity before this window (cold start)."
        : usesSes
          ? `It uses SES (${b
              .values("api")
              .filter(([k]) => k.startsWith("ses:") || k.startsWith("email:"))
              .slice(0, 4)
              .map(([k]) => q(k))
              .join(", ")}), but never made ${changes.length === 1 ? "this change" : "these changes"} before (${b.summary()}).`
          : `It never used SES before (${b.summary()}).`;
    const reconText = !usesSes && recon.length ? `probed SES with ${recon.length} distinct calls (${recon.map(([k, s]) => `${q(k)} x${s.n}`).join(", ")})` : "";
    const why =
      `${who(win.principal)} ${reconText}` +
      `${reconText && changes.length ? " and " : ""}${changes.length ? `changed SES sending settings for the first time (${changes.map(([k]) => q(k)).join(", ")})${production ? ", including a request for production (unrestricted) sending" : ""}` : ""}. ${hist}`;
    const d = multiDraft([], sev, why, ["ses"], { evidence: { apis: shown.map(([k]) => k), usesSes } });
    d.eventIds = shown.flatMap(([, s]) => s.ids).slice(0, 20);
    d.count = shown.reduce((a, [, s]) => a + s.n, 0);
    d.firstSeen = Math.min(...shown.map(([, s]) => s.first));
    d.lastSeen = Math.max(...shown.map(([, s]) => s.last));
    if (shown.every(([, s]) => s.err === s.n)) d.failed = true;
    return [d];
  },
};

export default emailAbuseRecon;
