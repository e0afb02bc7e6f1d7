import type { Severity, TrailEvent } from "../events/types.js";
import { bucketLoggingDisabled, LOGGISH, selectorReduction, shortestExpiration, trailUpdateReductions, TRAILISH } from "./lib/logging.js";
import { apiKey, arnName, bool, draft, isAwsServiceCall, novelty, q, rp, str, strings, who, params, type RuleHit } from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * Defense evasion against the audit trail and the security tooling that watches it: CloudTrail
 * stopped, deleted or narrowed, flow/DNS/Config logging removed, log buckets given a short
 * lifecycle, GuardDuty / Security Hub / Macie / Inspector / WAF disabled, leaving the
 * organisation. Infrastructure as code never lowers these.
 */

interface Hit extends RuleHit {
  /** Short title; derived from `what` when absent. */
  title?: string;
}

type Rule = (ev: TrailEvent) => Hit | null;

const p = (ev: TrailEvent, ...path: string[]) => str(rp(ev, ...path));

const simple =
  (severity: Severity, what: string, targetKeys: string[] = [], attack?: string[]): Rule =>
  (ev) => {
    let target = "";
    for (const k of targetKeys) {
      const v = p(ev, k);
      if (v) {
        target = arnName(v);
        break;
      }
    }
    const hit: Hit = { severity, what: target ? `${what} (${q(target)})` : what, target };
    if (attack) hit.attack = attack;
    return hit;
  };

const trailName = (ev: TrailEvent) => arnName(p(ev, "name") ?? p(ev, "trailName") ?? "");

const RULES: Record<string, Rule> = {
  // ---- CloudTrail
  "cloudtrail:StopLogging": (ev) => ({ severity: "high", what: `CloudTrail logging stopped on trail ${q(trailName(ev))}`, target: trailName(ev) }),
  "cloudtrail:DeleteTrail": (ev) => ({ severity: "high", what: `CloudTrail trail ${q(trailName(ev))} deleted`, target: trailName(ev) }),
  "cloudtrail:UpdateTrail": (ev) => {
    const r = trailUpdateReductions(params(ev));
    if (r.length === 0) return null;
    return { severity: "medium", what: `trail ${q(trailName(ev))} updated so that ${r.join("; ")}`, target: trailName(ev), evidence: { reductions: r } };
  },
  "cloudtrail:PutEventSelectors": (ev) => {
    const r = selectorReduction(params(ev));
    if (!r) return null;
    return {
      severity: r.managementOff ? "high" : "medium",
      what: `event selectors of trail ${q(trailName(ev))} changed: ${r.reasons.join("; ")}`,
      target: trailName(ev),
      evidence: { reductions: r.reasons },
    };
  },
  "cloudtrail:DeleteEventDataStore": simple("high", "CloudTrail Lake event data store deleted", ["eventDataStore"]),
  "cloudtrail:StopEventDataStoreIngestion": simple("high", "CloudTrail Lake ingestion stopped", ["eventDataStore"]),
  // ---- network, DNS and configuration logging
  "ec2:DeleteFlowLogs": (ev) => {
    const ids = strings(rp(ev, "DeleteFlowLogsRequest", "FlowLogId")).concat(strings(rp(ev, "flowLogIds")));
    const content = rp(ev, "DeleteFlowLogsRequest", "FlowLogId", "content");
    const id = str(content) ?? ids[0] ?? "";
    return { severity: "high", what: `VPC flow logs deleted${id ? ` (${q(id)})` : ""}`, target: "flow-logs" };
  },
  "route53resolver:DeleteResolverQueryLogConfig": simple("high", "Route 53 Resolver DNS query logging configuration deleted", ["resolverQueryLogConfigId"]),
  "route53resolver:DisassociateResolverQueryLogConfig": simple("high", "Route 53 Resolver DNS query logging detached from a VPC", ["resolverQueryLogConfigId"]),
  "config:StopConfigurationRecorder": simple("high", "AWS Config recorder stopped", ["configurationRecorderName"]),
  "config:DeleteConfigurationRecorder": simple("high", "AWS Config recorder deleted", ["configurationRecorderName"]),
  "config:DeleteDeliveryChannel": simple("high", "AWS Config delivery channel deleted", ["deliveryChannelName", "configurationRecorderName"]),
  // ---- S3 log buckets
  "s3:PutBucketLifecycle": lifecycleRule,
  "s3:PutBucketLifecycleConfiguration": lifecycleRule,
  "s3:PutBucketLogging": (ev) => {
    if (!bucketLoggingDisabled(params(ev))) return null;
    const bucket = p(ev, "bucketName") ?? "";
    const trailish = TRAILISH.test(bucket);
    return { severity: trailish ? "medium" : "low", what: `server access logging turned off on bucket ${q(bucket)}`, target: bucket };
  },
  // ---- CloudWatch Logs holding audit data
  "logs:DeleteLogGroup": logGroupRule("log group deleted"),
  "logs:DeleteLogStream": logGroupRule("log stream deleted"),
  "logs:DeleteSubscriptionFilter": logGroupRule("log subscription filter (forwarding) deleted"),
  // ---- organisation
  "organizations:LeaveOrganization": () => ({
    severity: "high",
    what: "the account tried to leave its AWS Organization (escaping organisation-wide trails, SCPs and GuardDuty)",
    target: "organization",
  }),
  "organizations:DisableAWSServiceAccess": (ev) => {
    const sp = p(ev, "servicePrincipal") ?? "";
    if (!/cloudtrail|guardduty|config|securityhub|macie|inspector|detective|access-analyzer/.test(sp)) return null;
    return { severity: "medium", what: `organisation access of ${q(sp)} disabled`, target: sp };
  },
  // ---- GuardDuty
  "guardduty:DeleteDetector": simple("high", "GuardDuty detector deleted", ["detectorId"]),
  "guardduty:UpdateDetector": (ev) => {
    if (bool(rp(ev, "enable")) !== false) return null;
    return { severity: "high", what: `GuardDuty detector disabled (${q(p(ev, "detectorId") ?? "?")})`, target: p(ev, "detectorId") ?? "" };
  },
  "guardduty:DisassociateFromMasterAccount": simple("high", "GuardDuty disassociated from its administrator account", ["detectorId"]),
  "guardduty:DisassociateFromAdministratorAccount": simple("high", "GuardDuty disassociated from its administrator account", ["detectorId"]),
  "guardduty:DeleteMembers": simple("medium", "GuardDuty member accounts deleted", ["detectorId"]),
  "guardduty:DisassociateMembers": simple("medium", "GuardDuty member accounts disassociated", ["detectorId"]),
  "guardduty:StopMonitoringMembers": simple("medium", "GuardDuty monitoring of member accounts stopped", ["detectorId"]),
  "guardduty:DeletePublishingDestination": simple("medium", "GuardDuty findings export destination deleted", ["detectorId"]),
  "guardduty:CreateIPSet": simple("medium", "GuardDuty trusted IP list created (findings from these addresses are suppressed)", ["name"]),
  "guardduty:UpdateIPSet": simple("medium", "GuardDuty trusted IP list updated (findings from these addresses are suppressed)", ["ipSetId"]),
  "guardduty:CreateFilter": (ev) =>
    p(ev, "action") === "ARCHIVE" ? { severity: "medium", what: `GuardDuty suppression rule created (${q(p(ev, "name") ?? "?")})`, target: p(ev, "name") ?? "" } : null,
  "guardduty:UpdateFilter": (ev) =>
    p(ev, "action") === "ARCHIVE" ? { severity: "medium", what: `GuardDuty suppression rule updated (${q(p(ev, "filterName") ?? "?")})`, target: p(ev, "filterName") ?? "" } : null,
  // ---- Security Hub
  "securityhub:DisableSecurityHub": simple("high", "Security Hub disabled"),
  "securityhub:DisassociateFromMasterAccount": simple("high", "Security Hub disassociated from its administrator account"),
  "securityhub:DisassociateFromAdministratorAccount": simple("high", "Security Hub disassociated from its administrator account"),
  "securityhub:BatchDisableStandards": simple("medium", "Security Hub standards disabled"),
  "securityhub:DeleteMembers": simple("medium", "Security Hub member accounts deleted"),
  "securityhub:DisassociateMembers": simple("medium", "Security Hub member accounts disassociated"),
  "securityhub:UpdateStandardsControl": (ev) =>
    p(ev, "ControlStatus") === "DISABLED"
      ? { severity: "low", what: `Security Hub control disabled (${q(p(ev, "StandardsControlArn") ?? "?")})`, target: arnName(p(ev, "StandardsControlArn") ?? "") }
      : null,
  "securityhub:DeleteInsight": simple("low", "Security Hub insight deleted", ["InsightArn"]),
  "securityhub:UpdateFindings": simple("low", "Security Hub findings updated directly (notes/record state can hide findings)"),
  "securityhub:BatchUpdateFindings": (ev) => {
    const wf = str(rp(ev, "Workflow", "Status"));
    if (wf !== "SUPPRESSED" && wf !== "RESOLVED") return null;
    return { severity: "low", what: `Security Hub findings set to ${q(wf)}`, target: wf };
  },
  // ---- Macie (v2 and classic)
  "macie2:DisableMacie": simple("high", "Amazon Macie disabled"),
  "macie:DisableMacie": simple("high", "Amazon Macie disabled"),
  "macie2:UpdateMacieSession": (ev) =>
    p(ev, "status") === "PAUSED"
      ? { severity: "high", what: "Amazon Macie paused", target: "session" }
      : { severity: "low", what: `Amazon Macie session settings changed (${q(JSON.stringify(ev.requestParameters ?? {}), 80)})`, target: "session" },
  "macie:UpdateMacieSession": (ev) => RULES["macie2:UpdateMacieSession"]!(ev),
  "macie2:DisassociateFromAdministratorAccount": simple("medium", "Macie disassociated from its administrator account"),
  "macie2:DisassociateFromMasterAccount": simple("medium", "Macie disassociated from its administrator account"),
  "macie2:DisassociateMember": simple("medium", "Macie member account disassociated", ["id"]),
  "macie2:DeleteMember": simple("medium", "Macie member account deleted", ["id"]),
  "macie2:DisableOrganizationAdminAccount": simple("medium", "Macie delegated administrator removed"),
  "macie2:CreateFindingsFilter": (ev) =>
    p(ev, "action") === "ARCHIVE" ? { severity: "medium", what: `Macie suppression rule created (${q(p(ev, "name") ?? "?")})`, target: p(ev, "name") ?? "" } : null,
  "macie2:UpdateFindingsFilter": (ev) => (p(ev, "action") === "ARCHIVE" ? { severity: "medium", what: "Macie suppression rule updated", target: p(ev, "id") ?? "" } : null),
  // ---- Inspector, Detective, Access Analyzer
  "inspector2:Disable": simple("high", "Amazon Inspector disabled"),
  "inspector2:DisableDelegatedAdminAccount": simple("medium", "Amazon Inspector delegated administrator removed"),
  "inspector2:DisassociateMember": simple("medium", "Amazon Inspector member disassociated", ["accountId"]),
  "detective:DeleteGraph": simple("medium", "Amazon Detective behaviour graph deleted", ["GraphArn"]),
  "detective:DisableOrganizationAdminAccount": simple("medium", "Amazon Detective delegated administrator removed"),
  "access-analyzer:DeleteAnalyzer": simple("medium", "IAM Access Analyzer deleted", ["analyzerName"]),
  // ---- WAF
  "wafv2:DisassociateWebACL": simple("medium", "WAF web ACL detached from a resource", ["ResourceArn"], ["T1562.001"]),
  "waf-regional:DisassociateWebACL": simple("medium", "WAF web ACL detached from a resource", ["ResourceArn"], ["T1562.001"]),
  "wafv2:DeleteWebACL": simple("low", "WAF web ACL deleted", ["Name"], ["T1562.001"]),
  // ---- RDS and Bedrock audit streams
  "rds:StopActivityStream": simple("medium", "RDS database activity stream stopped", ["resourceArn"]),
  "bedrock:DeleteModelInvocationLoggingConfiguration": simple("high", "Bedrock model invocation logging deleted"),
};

function lifecycleRule(ev: TrailEvent): Hit | null {
  const exp = shortestExpiration(params(ev));
  if (!exp) return null;
  const bucket = p(ev, "bucketName") ?? "";
  const trailish = TRAILISH.test(bucket) || TRAILISH.test(exp.ruleId ?? "");
  const loggish = trailish || LOGGISH.test(bucket) || LOGGISH.test(exp.ruleId ?? "");
  let severity: Severity | null = null;
  if (trailish) severity = exp.days <= 7 ? "high" : exp.days <= 30 ? "medium" : null;
  else if (loggish) severity = exp.days <= 3 ? "medium" : exp.days <= 7 ? "low" : null;
  else severity = exp.days <= 1 ? "medium" : exp.days <= 3 ? "low" : null;
  if (!severity) return null;
  const kind = trailish ? "a bucket that looks like an audit-log (CloudTrail) bucket" : loggish ? "a log bucket" : "bucket";
  return {
    severity,
    what: `lifecycle rule ${q(exp.ruleId ?? "?")} expires ${exp.noncurrent ? "noncurrent versions" : "objects"} after ${exp.days} day${exp.days === 1 ? "" : "s"} on ${kind} ${q(bucket)}`,
    target: bucket,
    attack: ["T1485"],
    title: trailish ? "Short expiration on an audit-log bucket" : loggish ? "Short expiration on a log bucket" : "Short expiration on a bucket",
    evidence: { bucket, expirationDays: exp.days, ruleId: exp.ruleId },
  };
}

function logGroupRule(what: string): Rule {
  return (ev) => {
    const group = p(ev, "logGroupName") ?? p(ev, "logGroupIdentifier") ?? "";
    if (!TRAILISH.test(group)) return null;
    return { severity: "medium", what: `audit ${what}: ${q(group)}`, target: group };
  };
}

const EVENT_NAMES = [...new Set(Object.keys(RULES).map((k) => k.slice(k.indexOf(":") + 1)))];

export const loggingTampering: EventDetector = {
  kind: "event",
  id: "logging-tampering",
  title: "Audit logging or security monitoring reduced",
  description:
    "CloudTrail stopped, deleted or narrowed; flow, DNS or Config logging removed; log buckets given a short expiration; GuardDuty, Security Hub, Macie, Inspector or WAF disabled or muted; the account leaving its organisation.",
  severity: "high",
  cites: "The single call that stopped, deleted or weakened logging or detection.",
  attack: ["T1562.008", "T1562.001"],
  investigate: [
    "Confirm with the owner of the identity whether the change was planned (change ticket, IaC pull request).",
    "Restore the logging or monitoring configuration, then review everything this identity did around the change: attackers blind the trail right before acting.",
    "Check whether other accounts or regions saw the same change at the same time.",
  ],
  falsePositives: [
    "Decommissioning a trail, detector or account through a reviewed change.",
    "Cost reductions of data-event logging agreed with the security team.",
    "Test accounts torn down by automation.",
  ],
  eventNames: EVENT_NAMES,
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    const rule = RULES[ev.service + ":" + ev.eventName];
    if (!rule) return null;
    // AWS services cleaning up after themselves (service-linked roles) are not tampering.
    if (isAwsServiceCall(ev) && ev.principal.invokedBy !== "cloudformation.amazonaws.com") return null;
    const hit = rule(ev);
    if (!hit) return null;
    const nov = novelty(ctx, apiKey(ev), `${ev.service}:${ev.eventName}`);
    const why = `${capital(hit.what)} by ${who(ev.principal)}. ${nov.text}`;
    return draft(ev, hit.severity, why, [ev.eventName, hit.target], {
      // A short, stable title: the action without the (attacker-controlled) names.
      title:
        hit.title ??
        capital(
          hit.what
            .split(/ \(|: | so that/)[0]!
            .replace(/`[^`]*`/g, "")
            .replace(/\s+/g, " ")
            .trim(),
        ).slice(0, 90),
      ...(hit.attack ? { attack: hit.attack } : {}),
      evidence: { target: hit.target, ...(hit.evidence ?? {}) },
    });
  },
};

function capital(s: string): string {
  return s.length > 0 ? s[0]!.toUpperCase() + s.slice(1) : s;
}

export default loggingTampering;
