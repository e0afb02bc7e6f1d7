import { GLOBAL_SERVICES } from "../events/regions.js";
import type { Severity, TrailEvent } from "../events/types.js";
import { draft, isAwsServiceCall, isIaC, lower, q, who } from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * Resources launched or created in a region the identity, and above all its account, never used:
 * attackers mine and stage in regions nobody watches. Judged per call that starts compute or
 * creates a resource (reads in a new region are exploration, which enumeration-burst judges);
 * the finding's fingerprint is the region.
 *
 * - the account (every identity of this scan with a stored or scanned baseline) never used the
 *   region: high for compute, medium for other resources; with no account history at all nothing
 *   is new, so nothing is said;
 * - the account uses it but this identity never did (and it has left learning): medium for
 *   compute, low for other resources;
 * - infrastructure as code and AWS services acting for the identity: one step lower.
 * Global services (IAM, STS, Organizations, CloudFront, Route 53, ...) record their calls in
 * us-east-1 whatever the caller does, so they are not region activity (src/events/regions.ts).
 * Other first activity (reads, other writes) in a region the account never used is
 * new-region-activity's finding.
 */

/** Calls that start compute somebody pays for. */
export const COMPUTE: ReadonlySet<string> = new Set([
  "RunInstances",
  "RequestSpotInstances",
  "RequestSpotFleet",
  "CreateFleet",
  "StartInstances",
  "CreateAutoScalingGroup",
  "RunTask",
  "CreateService",
  "CreateCluster",
  "CreateNodegroup",
  "CreateFunction",
  "CreateComputeEnvironment",
  "CreateNotebookInstance",
  "CreateTrainingJob",
  "CreateProcessingJob",
  "CreateEndpoint",
  "CreateJobFlow",
  "RunJobFlow",
]);

/** Calls that create resources that stay (storage, keys, networks, templates, databases, ...). */
export const CREATE: ReadonlySet<string> = new Set([
  "CreateBucket",
  "CreateKeyPair",
  "ImportKeyPair",
  "CreateSecurityGroup",
  "CreateVpc",
  "CreateLaunchTemplate",
  "CreateDBInstance",
  "CreateDBCluster",
  "CreateStack",
  "CreateRepository",
  "CreateSecret",
  "CreateTopic",
  "CreateQueue",
  "CreateTable",
  "CreateSnapshot",
  "CopySnapshot",
  "CopyImage",
  "CreateImage",
  "ImportImage",
  "CreateVolume",
  "CreateProject",
]);

export const newRegion: EventDetector = {
  kind: "event",
  id: "new-region",
  title: "Resources launched in a region never used",
  description:
    "Compute launched or resources created in a region this identity never used, stronger when no identity of its account ever used it: " +
    "cryptomining and staging with stolen credentials go to regions nobody watches.",
  severity: "medium",
  cites: "The single launching or creating call in the new region.",
  attack: ["T1535", "T1496"],
  investigate: [
    "Does anyone in the account work in this region? Check the account's region policy (SCP) and whether the region should be disabled.",
    "List what else exists in the region now (instances, functions, keys, buckets) and who pays for it.",
    "Check the identity's source address and user agent for this call against its usual ones.",
  ],
  falsePositives: ["A team expanding to a new region (disaster recovery, latency, data residency).", "Infrastructure as code applying a new regional stack."],
  eventNames: [...COMPUTE, ...CREATE],
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    if (GLOBAL_SERVICES.has(ev.service) || !ev.region || ev.failed) return null;
    const b = ctx.baseline;
    if (b.known("region", ev.region)) return null;
    const account = ctx.account;
    if (!account) return null;
    const compute = COMPUTE.has(ev.eventName);
    let sev: Severity;
    let why: string;
    if (!account.knowsRegion(ev.region)) {
      if (!account.hasHistory()) return null;
      sev = compute ? "high" : "medium";
      why = `${who(ev.principal)} ${compute ? "started compute" : "created a resource"} (${q(ev.service + ":" + ev.eventName)}) in ${q(ev.region)}, a region no identity of account ${q(ev.principal.accountId ?? ev.accountId)} used before this window`;
    } else {
      if (ctx.learning) return null;
      sev = compute ? "medium" : "low";
      why = `${who(ev.principal)} ${compute ? "started compute" : "created a resource"} (${q(ev.service + ":" + ev.eventName)}) in ${q(ev.region)}, a region this identity never used (${b.summary()}), though others in its account do`;
    }
    const notes: string[] = [];
    if (isAwsServiceCall(ev)) {
      sev = lower(sev);
      notes.push("an AWS service made the call on the identity's behalf (lowered)");
    } else if (isIaC(ev)) {
      sev = lower(sev);
      notes.push("infrastructure as code made the call (lowered)");
    }
    const d = draft(ev, sev, why + (notes.length ? `; ${notes.join("; ")}` : "") + ".", [ev.region], {
      evidence: { region: ev.region, compute, accountUsedRegion: account.knowsRegion(ev.region) },
    });
    d.holds = [["region", ev.region]];
    return d;
  },
};

export default newRegion;
