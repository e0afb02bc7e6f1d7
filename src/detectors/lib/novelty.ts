/**
 * Graded novelty: how surprising is it that this identity met something new, and how much does
 * the new thing matter.
 *
 * Surprise. `BaselineView.noveltyRate(dim)` is the number of values first seen after the
 * identity's first day, per active day. With a rate r, P(at least one new value on a day) is about
 * 1 - exp(-r) (a Poisson process), so exp(-r) is the probability of a day *without* news: near 1
 * for an identity with a fixed routine (a new value is surprising), near 0 for a CI role that meets
 * new APIs daily. The rate is smoothed with half an event of prior over the active days, so that
 * three quiet days do not make an identity look perfectly rigid.
 *
 * Weight. What the API can do: identity, keys, logging, sharing and organisation changes above
 * other writes, writes above reads, a few reads that hand out secrets above other reads.
 */
import type { BaselineView } from "../../baseline/view.js";
import type { Dim } from "../../baseline/profile.js";
import type { Principal, Severity } from "../../events/types.js";
import type { FindingDraft } from "../types.js";

/** New values per active day, smoothed: (fresh + 0.5) / activeDays. */
export function smoothedRate(view: BaselineView, dim: Dim): number {
  const days = view.activeDays;
  if (days <= 0) return 1;
  const fresh = view.noveltyRate(dim) * Math.max(1, days - 1);
  return (fresh + 0.5) / days;
}

/** Probability of a day with nothing new in `dim`: exp(-rate). */
export function surprise(rate: number): number {
  return Math.exp(-Math.max(0, rate));
}

export const READ_PREFIX = /^(List|Describe|Get|Head|Search|Scan|Query|Lookup|BatchGet)/;

export function isReadName(eventName: string): boolean {
  return READ_PREFIX.test(eventName);
}

/** Services whose writes change who can do what, what is recorded, or who can see the data. */
const SENSITIVE_SERVICES = new Set([
  "iam",
  "sts",
  "kms",
  "organizations",
  "cloudtrail",
  "config",
  "guardduty",
  "securityhub",
  "access-analyzer",
  "sso",
  "sso-directory",
  "identitystore",
  "secretsmanager",
  "ssm",
  "logs",
  "ram",
  "account",
  "signin",
  "cognito-idp",
  "detective",
  "macie2",
  "inspector2",
  "backup",
]);

/**
 * APIs that give persistence, escalate privileges, hide activity, share data outside, or hand out
 * secrets: weight 1 whoever calls them.
 */
const CRITICAL_APIS = new Set([
  // IAM persistence and privilege escalation
  "iam:CreateAccessKey",
  "iam:CreateLoginProfile",
  "iam:UpdateLoginProfile",
  "iam:CreateUser",
  "iam:AttachUserPolicy",
  "iam:AttachRolePolicy",
  "iam:AttachGroupPolicy",
  "iam:PutUserPolicy",
  "iam:PutRolePolicy",
  "iam:PutGroupPolicy",
  "iam:AddUserToGroup",
  "iam:CreatePolicyVersion",
  "iam:SetDefaultPolicyVersion",
  "iam:UpdateAssumeRolePolicy",
  "iam:DeactivateMFADevice",
  "iam:DeleteVirtualMFADevice",
  "iam:UploadSSHPublicKey",
  "iam:CreateServiceSpecificCredential",
  "iam:UpdateAccessKey",
  "sts:GetFederationToken",
  "sso:CreateAccountAssignment",
  "identitystore:CreateUser",
  // Logging and detection tampering
  "cloudtrail:StopLogging",
  "cloudtrail:DeleteTrail",
  "cloudtrail:UpdateTrail",
  "cloudtrail:PutEventSelectors",
  "config:StopConfigurationRecorder",
  "config:DeleteConfigurationRecorder",
  "config:DeleteDeliveryChannel",
  "guardduty:DeleteDetector",
  "guardduty:UpdateDetector",
  "guardduty:DisassociateFromMasterAccount",
  "guardduty:DisassociateFromAdministratorAccount",
  "guardduty:CreateIPSet",
  "securityhub:DisableSecurityHub",
  "logs:DeleteLogGroup",
  "logs:DeleteLogStream",
  "organizations:LeaveOrganization",
  // Keys
  "kms:ScheduleKeyDeletion",
  "kms:DisableKey",
  "kms:PutKeyPolicy",
  "kms:CreateGrant",
  // Sharing and exposure
  "s3:PutBucketPolicy",
  "s3:PutBucketAcl",
  "s3:PutObjectAcl",
  "s3:DeleteBucketPublicAccessBlock",
  "s3:PutBucketPublicAccessBlock",
  "s3:PutBucketReplication",
  "ec2:ModifySnapshotAttribute",
  "ec2:ModifyImageAttribute",
  "ec2:ModifyInstanceAttribute",
  "rds:ModifyDBSnapshotAttribute",
  "rds:ModifyDBClusterSnapshotAttribute",
  "lambda:AddPermission",
  "ram:CreateResourceShare",
  "ram:AssociateResourceShare",
  "secretsmanager:PutResourcePolicy",
  "ec2:AuthorizeSecurityGroupIngress",
  "ec2:CreateKeyPair",
  "ec2:ImportKeyPair",
  // Execution on other machines, secrets of other machines
  "ssm:StartSession",
  "ssm:SendCommand",
  "lambda:UpdateFunctionCode",
  "ec2:GetPasswordData",
]);

/** Reads that hand out secrets: applications call some of them routinely, so below critical. */
const SECRET_READS = new Set([
  "secretsmanager:GetSecretValue",
  "secretsmanager:BatchGetSecretValue",
  "ssm:GetParameters",
  "ssm:GetParameter",
  "ssm:GetParametersByPath",
  "kms:Decrypt",
  "ec2:DescribeInstanceAttribute",
  "lambda:GetFunction",
]);

/** Recon reads attackers run first with stolen credentials. */
const RECON_APIS = new Set([
  "sts:GetCallerIdentity",
  "iam:GetAccountAuthorizationDetails",
  "iam:ListAttachedUserPolicies",
  "iam:GetUserPolicy",
  "iam:ListUserPolicies",
  "iam:GetAccountSummary",
  "iam:ListRoles",
  "iam:ListUsers",
  "organizations:DescribeOrganization",
  "s3:ListBuckets",
  "ec2:GetConsoleScreenshot",
  "ec2:GetConsoleOutput",
]);

export type ApiClass = "critical" | "sensitive-write" | "secret-read" | "recon" | "write" | "sensitive-read" | "read";

export const API_WEIGHT: Record<ApiClass, number> = {
  critical: 1,
  "sensitive-write": 0.6,
  "secret-read": 0.6,
  recon: 0.45,
  write: 0.3,
  "sensitive-read": 0.3,
  read: 0.08,
};

/** Classify `service:EventName`. */
export function apiClass(api: string): ApiClass {
  if (CRITICAL_APIS.has(api)) return "critical";
  if (SECRET_READS.has(api)) return "secret-read";
  if (RECON_APIS.has(api)) return "recon";
  const i = api.indexOf(":");
  const service = i > 0 ? api.slice(0, i) : api;
  const name = i > 0 ? api.slice(i + 1) : api;
  const read = isReadName(name);
  if (SENSITIVE_SERVICES.has(service)) return read ? "sensitive-read" : "sensitive-write";
  return read ? "read" : "write";
}

export function apiWeight(api: string): number {
  return API_WEIGHT[apiClass(api)];
}

/** "this role", "this user", "the root user", ... */
export function identityNoun(p: Principal): string {
  switch (p.type) {
    case "IAMUser":
      return "this user";
    case "AssumedRole":
      return "this role";
    case "Root":
      return "the root user";
    case "FederatedUser":
      return "this federated user";
    case "AWSService":
      return "this service";
    default:
      return "this identity";
  }
}

/**
 * Map a 0-100 score to a severity, or undefined below `info` (not worth a finding). Behavioural
 * anomalies alone top out at high: critical is for the catalogue's certain-bad events.
 */
export function severityOf(score: number): Severity | undefined {
  if (score >= 65) return "high";
  if (score >= 38) return "medium";
  if (score >= 16) return "low";
  if (score >= 6) return "info";
  return undefined;
}

/** One step down (relay networks, corroborated benign causes). */
export function lower(sev: Severity): Severity {
  return sev === "critical" ? "high" : sev === "high" ? "medium" : sev === "medium" ? "low" : "info";
}

export function plural(n: number, word: string, pluralWord = word + "s"): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

/**
 * Identities whose behaviour AWS decides: service principals and service-linked roles. Their
 * "new" APIs follow AWS feature releases, and nobody can assume a service-linked role.
 */
export function isAwsManaged(p: Principal): boolean {
  if (p.type === "AWSService") return true;
  if (p.userName?.startsWith("AWSServiceRoleFor")) return true;
  return p.arn?.includes(":role/aws-service-role/") ?? false;
}

/** The single key of a map, when there is exactly one (for a finding's sourceIp / region). */
export function onlyKey<K>(m: ReadonlyMap<K, unknown>): K | undefined {
  if (m.size !== 1) return undefined;
  return m.keys().next().value as K;
}

/**
 * The common tail of the first-time detectors: each draft gets the window's only source address
 * and region (when there is exactly one), the drafts are sorted by score (then by their first
 * fingerprint value), and past `max` the rest are folded into the top draft's `why` (`more` says
 * how) and evidence (`evidenceKey`), never dropped silently.
 */
export function finishNovelty(
  win: { ips: ReadonlyMap<string, unknown>; regions: ReadonlyMap<string, unknown> },
  scored: Array<{ score: number; draft: FindingDraft }>,
  max: number,
  more: (rest: string[]) => string,
  evidenceKey: string,
): FindingDraft[] {
  if (scored.length === 0) return [];
  const ip = onlyKey(win.ips);
  const region = onlyKey(win.regions);
  for (const { draft } of scored) {
    if (ip) draft.sourceIp = ip;
    if (region) draft.region = region;
  }
  scored.sort((x, y) => y.score - x.score || (x.draft.fingerprint[0]! < y.draft.fingerprint[0]! ? -1 : 1));
  const out = scored.slice(0, max).map((x) => x.draft);
  const top = out[0];
  if (scored.length > max && top) {
    const rest = scored.slice(max).map((x) => x.draft.fingerprint[0]!);
    top.why += ` ${more(rest)}`;
    top.evidence = { ...top.evidence, [evidenceKey]: rest };
  }
  return out;
}
