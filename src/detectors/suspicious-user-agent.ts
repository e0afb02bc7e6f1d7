import type { Severity, TrailEvent } from "../events/types.js";
import { draft, q, who } from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * API calls whose user agent names offensive tooling (Pacu, CloudFox, TruffleHog, ...) or a
 * penetration-testing distribution (Kali, Parrot, ...). Cloud posture scanners (Prowler,
 * ScoutSuite, CloudSploit, CloudMapper) are reported low: often your own audits, sometimes an
 * attacker's reconnaissance. User agents are trivially forged, so absence proves nothing.
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

export const suspiciousUserAgent: EventDetector = {
  kind: "event",
  id: "suspicious-user-agent",
  title: "Offensive tooling in the user agent",
  description:
    "API calls made with a user agent of offensive cloud tooling (Pacu, CloudFox, TruffleHog, enumerate-iam, ...) or from a penetration-testing distribution (Kali, Parrot). Posture scanners such as Prowler or ScoutSuite are reported at low severity.",
  severity: "high",
  attack: ["T1087.004", "T1580"],
  investigate: [
    "Is a penetration test or security audit scheduled for this identity and time? Ask the security team.",
    "If not: treat the credentials as compromised; deactivate them and review everything the identity did.",
    "For key validators (TruffleHog): find where the key leaked (public repository, CI logs) and rotate it.",
  ],
  falsePositives: ["Authorised penetration tests and red-team exercises.", "Your own Prowler/ScoutSuite audits.", "Security engineers working from Kali Linux."],
  select: (ev) => ev.uaFamily.startsWith("offensive:"),
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    if (!ev.uaFamily.startsWith("offensive:")) return null;
    const tool = ev.uaFamily.slice("offensive:".length);
    const c = classify(tool);
    const b = ctx.baseline;
    const seen = b.known("ua", ev.uaFamily);
    const why =
      `${who(ev.principal)} called ${q(ev.service + ":" + ev.eventName)} with a user agent of ${c.kind} ${q(tool)} (${q(ev.userAgent, 160)}) from ${q(ev.sourceIp || "unknown")}. ` +
      (seen ? "This identity used the same tooling before this window." : b.historyDays > 0 ? `This tooling is new for this identity (${b.summary()}).` : "No history of this identity before this window (cold start).");
    const sev: Severity = seen ? (c.severity === "high" ? "medium" : "low") : c.severity;
    return draft(ev, sev, why, [tool], {
      title: `${c.kind[0]!.toUpperCase()}${c.kind.slice(1)} (${tool})`,
      // A failed call by an attack tool is still the tool being used.
      failedSeverity: sev,
      evidence: { tool },
    });
  },
};

export default suspiciousUserAgent;
