import type { Severity } from "../events/types.js";
import { multiDraft, q, who } from "./lib/util.js";
import type { DetectorContext, FindingDraft, IdentityWindow, WindowDetector } from "./types.js";

/**
 * API calls whose user agent names offensive tooling (Pacu, CloudFox, TruffleHog, ...) or a
 * penetration-testing distribution (Kali, Parrot, ...), as classified at the boundary
 * (`userAgentFamily` -> `offensive:<tool>`). Cloud posture scanners (Prowler, ScoutSuite,
 * CloudSploit, CloudMapper) are reported low: often your own audits, sometimes an attacker's
 * reconnaissance. User agents are trivially forged, so absence proves nothing.
 *
 * A window detector over the identity's user-agent families: a tool making thousands of calls
 * gives one finding and never crowds the per-identity event candidates.
 */

/** Families (from `userAgentFamily`: `offensive:<name>`) that are audit scanners. */
const SCANNERS = new Set(["prowler", "scoutsuite", "cloudsploit", "cloudmapper", "s3scanner"]);
/** Key-validation tools: someone holds the key and checks whether it works. */
const KEY_CHECKERS = new Set(["trufflehog"]);

function classify(tool: string): { severity: Severity; kind: string } {
  if (SCANNERS.has(tool)) return { severity: "low", kind: "cloud security scanner" };
  if (KEY_CHECKERS.has(tool)) return { severity: "medium", kind: "secret-scanning tool validating a leaked key" };
  if (["kali", "parrot", "pentoo", "blackarch"].includes(tool)) return { severity: "high", kind: "penetration-testing Linux distribution" };
  return { severity: "high", kind: "offensive security tool" };
}

export const suspiciousUserAgent: WindowDetector = {
  kind: "window",
  id: "suspicious-user-agent",
  title: "Offensive tooling in the user agent",
  description:
    "API calls made with a user agent of offensive cloud tooling (Pacu, CloudFox, TruffleHog, enumerate-iam, ...) or from a penetration-testing distribution (Kali, Parrot). Posture scanners such as Prowler or ScoutSuite are reported at low severity.",
  severity: "high",
  cites: "The calls made with the offensive tool's or unusual client's user agent (up to 20, earliest first).",
  attack: ["T1087.004", "T1580"],
  investigate: [
    "Is a penetration test or security audit scheduled for this identity and time? Ask the security team.",
    "If not: treat the credentials as compromised; deactivate them and review everything the identity did.",
    "For key validators (TruffleHog): find where the key leaked (public repository, CI logs) and rotate it.",
  ],
  falsePositives: ["Authorised penetration tests and red-team exercises.", "Your own Prowler/ScoutSuite audits.", "Security engineers working from Kali Linux."],
  detect(win: IdentityWindow, ctx: DetectorContext): FindingDraft[] {
    const out: FindingDraft[] = [];
    const b = ctx.baseline;
    for (const [family, st] of win.uas) {
      if (!family.startsWith("offensive:")) continue;
      const tool = family.slice("offensive:".length);
      const c = classify(tool);
      const seen = b.known("ua", family);
      const sev: Severity = seen ? (c.severity === "high" ? "medium" : "low") : c.severity;
      const apis = [...win.apis.entries()]
        .filter(([, s]) => s.ids.some((id) => st.ids.includes(id)))
        .map(([k]) => k)
        .slice(0, 6);
      const why =
        `${who(win.principal)} made ${st.n} call${st.n === 1 ? "" : "s"} with the user agent of ${c.kind} ${q(tool)}` +
        `${apis.length ? ` (among them ${apis.map((a) => q(a)).join(", ")})` : ""}${st.err ? `, ${st.err} of them failed` : ""}. ` +
        (seen
          ? "This identity used the same tooling before this window."
          : b.historyDays > 0
            ? `This tooling is new for this identity (${b.summary()}).`
            : "No history of this identity before this window (cold start).");
      const d = multiDraft([], sev, why, [tool], { title: `${c.kind[0]!.toUpperCase()}${c.kind.slice(1)} (${tool})`, evidence: { tool, calls: st.n, failed: st.err } });
      d.eventIds = st.ids.slice(0, 20);
      d.firstSeen = st.first;
      d.lastSeen = st.last;
      d.count = st.n;
      // A failed call by an attack tool is still the tool being used: same severity, marked failed.
      if (st.err === st.n) d.failed = true;
      out.push(d);
    }
    return out;
  },
};

export default suspiciousUserAgent;
