import type { Severity } from "../events/types.js";
import { isReadName } from "./lib/novelty.js";
import { isAwsManaged } from "./lib/novelty.js";
import { q, who } from "./lib/util.js";
import { COMPUTE, CREATE } from "./new-region.js";
import type { DetectorContext, FindingDraft, IdentityWindow, WindowDetector } from "./types.js";

/**
 * First activity of any kind (reads, other writes) in a region that neither this identity nor any
 * identity of its account used before: attackers look around regions nobody watches before they
 * launch there, and an account's regions are few and stable. Launches and resource creation there
 * are new-region's (stronger) findings; regions the account uses but this identity does not are
 * not reported here (people move between the account's regions all the time).
 *
 * - reads only, in one such region: low (a console page that lists every region does this too);
 * - writes there, or reads across 3 or more such regions in the window (a region sweep): medium.
 * Global services (IAM, STS, ...) recorded in us-east-1 are not region activity. Nothing is said
 * without account history (nothing can be new) or for AWS-managed identities.
 */
const SWEEP = 3;

export const newRegionActivity: WindowDetector = {
  kind: "window",
  id: "new-region-activity",
  title: "First activity in a region the account never used",
  description:
    "Calls in a region that no identity of the account used before (reads, or writes other than launches and resource creation, which new-region reports): " +
    "one region read is a low note, writes or a sweep across several such regions weigh more.",
  severity: "low",
  cites: "The calls in the regions new to the account (up to 10 per region, at most 3 per API), never calls in the account's usual regions.",
  attack: ["T1535", "T1580"],
  investigate: [
    "Does anyone in the account work in this region? If not, consider disabling it or denying it by SCP.",
    "Look at what was called there: listing instances, quotas, spot prices or AMIs before a launch is how miners prepare.",
    "Check the source address and user agent of these calls against the identity's usual ones.",
  ],
  falsePositives: ["A console page or tool that lists resources in every region.", "A team preparing a new region (disaster recovery, data residency)."],
  detect(win: IdentityWindow, ctx: DetectorContext): FindingDraft[] {
    const acct = ctx.account;
    if (!acct || isAwsManaged(win.principal) || !win.regionActivity) return [];
    const b = ctx.baseline;
    // The identity's own baseline first: the account's regions are asked only about regions new to it.
    const newToIt = [...win.regionActivity.entries()].filter(([r, a]) => r !== "unknown" && !b.known("region", r) && !a.apis.some((api) => launches(api)));
    if (newToIt.length === 0 || !acct.hasHistory()) return [];
    const fresh = newToIt.filter(([r]) => !acct.knowsRegion(r)).sort((x, y) => x[1].first - y[1].first || (x[0] < y[0] ? -1 : 1));
    if (fresh.length === 0) return [];
    const sweep = fresh.length >= SWEEP;
    return fresh.map(([region, a]) => {
      const writes = a.apis.filter((api) => !isReadName(api.slice(api.indexOf(":") + 1)));
      const sev: Severity = writes.length > 0 || sweep ? "medium" : "low";
      const reasons: string[] = [];
      if (writes.length > 0)
        reasons.push(
          `including writes (${writes
            .slice(0, 4)
            .map((x) => q(x))
            .join(", ")})`,
        );
      if (sweep)
        reasons.push(
          `one of ${fresh.length} regions new to the account touched in this window (${fresh
            .map(([r]) => q(r))
            .slice(0, 6)
            .join(", ")}): a region sweep`,
        );
      const why =
        `${who(win.principal)} made ${a.n} call${a.n === 1 ? "" : "s"} (${a.apis
          .slice(0, 5)
          .map((x) => q(x))
          .join(", ")}${a.apis.length > 5 ? ", …" : ""}) in ${q(region)}, ` +
        `a region neither it nor any identity of account ${q(win.principal.accountId ?? "?")} used before this window` +
        (reasons.length ? `, ${reasons.join("; ")}` : "; reads only") +
        `. Baseline: ${b.summary()}.`;
      const d: FindingDraft = {
        severity: sev,
        title: `First activity in ${region}, a region the account never used`,
        why,
        fingerprint: [region],
        eventIds: a.ids.slice(),
        firstSeen: a.first,
        lastSeen: a.last,
        count: a.n,
        region,
        evidence: { region, apis: a.apis, calls: a.n, newRegionsInWindow: fresh.map(([r]) => r) },
        holds: [["region", region]],
      };
      return d;
    });
  },
};

function launches(api: string): boolean {
  const name = api.slice(api.indexOf(":") + 1);
  return COMPUTE.has(name) || CREATE.has(name);
}

export default newRegionActivity;
