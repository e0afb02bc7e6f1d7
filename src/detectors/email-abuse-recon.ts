import type { Severity } from "../events/types.js";
import { multiDraft, q, who } from "./lib/util.js";
import type { DetectorContext, FindingDraft, IdentityWindow, WindowDetector } from "./types.js";

/**
 * Checking whether the account can send e-mail: SES sending status, quotas, verified
 * identities. Stolen keys are routinely tested for SES to send spam and phishing from a
 * reputable domain. Reported when an identity that never used SES makes several of these calls
 * in one window, or changes sending capabilities.
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

export const emailAbuseRecon: WindowDetector = {
  kind: "window",
  id: "email-abuse-recon",
  title: "E-mail sending capability probed (SES)",
  description:
    "An identity that never used Amazon SES checks whether the account can send e-mail (sending status, quota, verified identities) or changes sending capabilities: a common first step of spam and phishing with stolen keys.",
  severity: "medium",
  cites: "The SES calls judged new for this identity: recon calls it never made, and sending-capability changes it never made before.",
  attack: ["T1526", "T1585.002"],
  investigate: [
    "Does this identity have any reason to use SES? Check SES sending statistics and new verified identities.",
    "If not: deactivate the credentials and look for where they leaked.",
  ],
  falsePositives: ["Applications or administrators starting to use SES.", "Security scanners enumerating every service."],
  detect(win: IdentityWindow, ctx: DetectorContext): FindingDraft[] {
    if (ctx.baseline.known("service", "ses") || ctx.baseline.known("service", "email")) return [];
    const recon = [...win.apis.entries()].filter(([k]) => RECON.has(k));
    const changes = [...win.apis.entries()].filter(([k]) => CHANGES.has(k) && win.apis.get(k)!.err < win.apis.get(k)!.n);
    if (recon.length < RECON_MIN && changes.length === 0) return [];
    const all = [...recon, ...changes];
    const sev: Severity = changes.length > 0 ? "high" : "medium";
    const hist = ctx.baseline.historyDays > 0 ? `It never used SES before (${ctx.baseline.summary()}).` : "No history of this identity before this window (cold start).";
    const why =
      `${who(win.principal)} ${recon.length ? `probed SES with ${recon.length} distinct calls (${recon.map(([k, s]) => `${q(k)} x${s.n}`).join(", ")})` : ""}` +
      `${recon.length && changes.length ? " and " : ""}${changes.length ? `changed SES sending settings (${changes.map(([k]) => q(k)).join(", ")})` : ""}. ${hist}`;
    const d = multiDraft([], sev, why, ["ses"], { evidence: { apis: all.map(([k]) => k) } });
    d.eventIds = all.flatMap(([, s]) => s.ids).slice(0, 20);
    d.count = all.reduce((a, [, s]) => a + s.n, 0);
    d.firstSeen = Math.min(...all.map(([, s]) => s.first));
    d.lastSeen = Math.max(...all.map(([, s]) => s.last));
    if (all.every(([, s]) => s.err === s.n)) d.failed = true;
    return [d];
  },
};

export default emailAbuseRecon;
