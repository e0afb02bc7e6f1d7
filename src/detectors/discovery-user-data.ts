import type { Severity, TrailEvent } from "../events/types.js";
import { apiKey, draft, isAwsServiceCall, isIaC, novelty, q, rp, str, who } from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * Reading EC2 user data (DescribeInstanceAttribute, attribute `userData`): bootstrap scripts
 * often embed passwords, tokens and keys. A single read is low (the console shows user data to
 * operators); a first read by an identity with history is medium; reading many instances in a
 * window is judged by `bulk-sensitive-actions`.
 */
export const discoveryUserData: EventDetector = {
  kind: "event",
  id: "discovery-user-data",
  title: "EC2 user data read",
  description: "An identity read the user data (bootstrap script) of EC2 instances, which often contains credentials.",
  severity: "low",
  cites: "The single read of instance user data (or launch template data).",
  attack: ["T1552.005", "T1580"],
  investigate: [
    "Does this identity manage the instance? Operators viewing user data in the console is normal; scripts reading it across instances is not.",
    "Check the instance's user data for embedded secrets and rotate them if the read is not explained.",
  ],
  falsePositives: [
    "Operators viewing user data in the EC2 console.",
    "Inventory and posture tools (usually through an audit role).",
    "Infrastructure as code refreshing instance state (not reported).",
  ],
  select: (ev) => ev.eventName === "DescribeInstanceAttribute" && str(rp(ev, "attribute")) === "userData",
  mayTake: { eventNames: ["DescribeInstanceAttribute"] },
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    if (ev.eventName !== "DescribeInstanceAttribute" || str(rp(ev, "attribute")) !== "userData") return null;
    if (isAwsServiceCall(ev) || ev.ipKind === "service" || isIaC(ev)) return null;
    const inst = str(rp(ev, "instanceId")) ?? "?";
    const nov = novelty(ctx, apiKey(ev), "ec2:DescribeInstanceAttribute");
    const sev: Severity = nov.learned && !nov.known ? "medium" : "low";
    const why = `${who(ev.principal)} read the user data of instance ${q(inst)}. ${nov.text}`;
    return draft(ev, sev, why, ["userData"], { evidence: { instanceId: inst } });
  },
};

export default discoveryUserData;
