/**
 * Which public Panther CloudTrail rules (panther-labs/panther-analysis, test events in
 * shared/data/cloudtrail/panther-rule-tests) are in scope for trailhound, and which detectors
 * should fire on their positive tests and stay quiet on their negatives.
 *
 * In scope = the rule's intent is one of our detectors'. Left out: rules about ordinary
 * activity (instance starts/stops, any security-group or VPC change, any IAM change, any
 * deletion), informational audit rules, organisation-specific allow/deny lists, rules whose
 * records have no identity, and discovery rules that belong to the behavioural detectors.
 *
 * Judging a rule's test on one record:
 * - `outcome: "success"` (default): only findings with `failed: false` count as the rule firing.
 *   Panther rules ignore failed calls (their negatives include "Error ..." records), while
 *   trailhound reports failed attempts as `failed: true` findings.
 * - `outcome: "failure"`: the rule is about failed attempts; only failed findings count.
 * - `outcome: "any"`: both count (rules whose positives include failed and successful calls).
 * - `perRecord: false`: threshold rules (brute force, spraying) whose positives need a sequence
 *   of events; a single-record scan cannot judge them. Report them apart.
 */

export type PantherOutcome = "success" | "failure" | "any";

export interface PantherRuleScope {
  detectors: readonly string[];
  outcome?: PantherOutcome;
  /** False for rules that need a sequence of records (thresholds, dedup windows). */
  perRecord?: boolean;
}

export const PANTHER_RULES: Readonly<Record<string, PantherRuleScope>> = {
  // ---- logging and monitoring tampering
  "AWS.CloudTrail.Stopped": { detectors: ["logging-tampering"] },
  "AWS.CloudTrail.EventSelectorsDisabled": { detectors: ["logging-tampering"] },
  "AWS.CloudTrail.ShortLifecycle": { detectors: ["logging-tampering"] },
  "AWS.CloudTrail.DNSLogsDeleted": { detectors: ["logging-tampering"] },
  "AWS.VPCFlow.LogsDeleted": { detectors: ["logging-tampering"] },
  "AWS.CloudTrail.AttemptToLeaveOrg": { detectors: ["logging-tampering"], outcome: "any" },
  "AWS.ConfigService.DisabledDeleted": { detectors: ["logging-tampering"] },
  "AWS.CloudTrail.SecurityConfigurationChange": { detectors: ["logging-tampering"] },
  "AWS.Macie.Evasion": { detectors: ["logging-tampering"] },
  "AWS.SecurityHub.Finding.Evasion": { detectors: ["logging-tampering"] },
  "AWS.S3.DisableBucketLogging": { detectors: ["logging-tampering"] },
  "AWS.Bedrock.DeleteModelInvocationLoggingConfiguration": { detectors: ["logging-tampering"] },
  "AWS.RDS.ActivityStreamStopped": { detectors: ["logging-tampering"] },
  "AWS.WAF.Disassociation": { detectors: ["logging-tampering"] },
  "AWS.S3.SecurityControlDisabling": { detectors: ["logging-tampering", "s3-ransomware"] },
  // ---- S3 ransomware and destruction of recovery means
  "AWS.S3.DisableMfaDelete": { detectors: ["s3-ransomware"] },
  "AWS.S3.SuspendVersioning": { detectors: ["s3-ransomware"] },
  "AWS.S3.DeleteBucketEncryption": { detectors: ["s3-ransomware"] },
  "AWS.S3.DeleteBucketReplication": { detectors: ["s3-ransomware"] },
  "AWS.S3.CopyObjectWithClientSideEncryption": { detectors: ["s3-ransomware"] },
  "AWS.S3.CopyObject.CrossAccount.Encryption.KMS": { detectors: ["s3-ransomware"] },
  "AWS.S3.RansomwareNoteUpload": { detectors: ["s3-ransomware"] },
  "AWS.KMS.CustomerManagedKeyLoss": { detectors: ["data-destruction"] },
  "AWS.RDS.AutomatedBackupDeleted": { detectors: ["data-destruction"] },
  "AWS.RDS.DeletionProtectionDisabled": { detectors: ["data-destruction"] },
  // ---- root and sign-in
  "AWS.Console.RootLogin": { detectors: ["root-activity"] },
  "AWS.Console.RootLoginFailed": { detectors: ["root-activity"], outcome: "failure" },
  "AWS.Root.Activity": { detectors: ["root-activity"] },
  "AWS.CloudTrail.RootAccessKeyCreated": { detectors: ["root-activity"] },
  "AWS.CloudTrail.RootPasswordChanged": { detectors: ["root-activity"] },
  "AWS.Console.LoginWithoutMFA": { detectors: ["console-login-without-mfa"] },
  "AWS.Unsuccessful.MFA.attempt": { detectors: ["console-login-failures"], outcome: "failure" },
  "AWS.CloudTrail.PasswordSpraying": { detectors: ["console-login-failures"], outcome: "failure", perRecord: false },
  "Standard.BruteForceByIP": { detectors: ["console-login-failures"], outcome: "failure", perRecord: false },
  "Standard.BruteForceByUser": { detectors: ["console-login-failures"], outcome: "failure", perRecord: false },
  // ---- credentials, privileges, federation
  "AWS.IAM.Backdoor.User.Keys": { detectors: ["credential-for-other-user"] },
  "AWS.CloudTrail.LoginProfileCreatedOrModified": { detectors: ["credential-for-other-user"] },
  "AWS.User.Login.Profile.Modified": { detectors: ["credential-for-other-user"] },
  "AWS.IAM.AttachAdminRolePolicy": { detectors: ["privilege-escalation"] },
  "AWS.IAM.AttachAdminUserPolicy": { detectors: ["privilege-escalation"] },
  "AWS.IAM.BackdoorRole": { detectors: ["privilege-escalation"] },
  "AWS.Suspicious.SAML.Activity": { detectors: ["persistence-backdoor"] },
  "AWS.Console.GetSigninToken.Abuse": { detectors: ["new-role-assumption"] },
  // ---- credential access
  "AWS.SecretsManager.RetrieveSecrets": { detectors: ["secrets-access", "bulk-sensitive-actions"], outcome: "any" },
  "AWS.SecretsManager.BatchRetrieveSecrets": { detectors: ["secrets-access"] },
  "AWS.SecretsManager.BatchRetrieveSecretsCatchAll": { detectors: ["secrets-access"] },
  "AWS.SecretsManager.RetrieveSecretsMultiRegion": { detectors: ["secrets-access"] },
  "AWS.SSM.DecryptSSMParams": { detectors: ["secrets-access", "bulk-sensitive-actions"] },
  "AWS.EC2.ManyPasswordReadAttempts": { detectors: ["secrets-access", "bulk-sensitive-actions"], outcome: "any" },
  "AWS.CloudTrail.IMDSCredentialExfiltration": { detectors: ["instance-credential-abuse"] },
  // ---- exposure and exfiltration
  "AWS.CloudTrail.AMIModifiedForPublicAccess": { detectors: ["resource-exposure"] },
  "AWS.CloudTrail.SnapshotMadePublic": { detectors: ["resource-exposure"] },
  "AWS.RDS.SnapshotShared": { detectors: ["resource-exposure"] },
  "AWS.CloudTrail.ResourceMadePublic": { detectors: ["resource-exposure"] },
  "AWS.S3.DeletePublicAccessBlock": { detectors: ["resource-exposure"] },
  "AWS.CloudTrail.NetworkACLPermissiveEntry": { detectors: ["resource-exposure"] },
  "AWS.RDS.InstanceMadePublic": { detectors: ["resource-exposure"] },
  "AWS.CloudTrail.CodebuildProjectMadePublic": { detectors: ["resource-exposure"] },
  "AWS.RDS.PublicRestore": { detectors: ["resource-exposure"] },
  "AWS.S3.CopyObjectToExternalAccountBucket": { detectors: ["resource-exposure"] },
  // ---- execution, lateral movement, discovery
  "AWS.Lambda.UpdateFunctionCode": { detectors: ["execution-and-lateral-movement"] },
  "AWS.Lambda.UpdateFunctionConfiguration": { detectors: ["execution-and-lateral-movement"] },
  "AWS.EC2.Startup.Script.Change": { detectors: ["execution-and-lateral-movement"] },
  "AWS.EC2.MultiInstanceConnect": { detectors: ["execution-and-lateral-movement", "bulk-sensitive-actions"] },
  "AWS.SSM.DistributedCommand": { detectors: ["execution-and-lateral-movement", "bulk-sensitive-actions"] },
  "AWS.EC2.LaunchUnusualEC2Instances": { detectors: ["execution-and-lateral-movement"], outcome: "any" },
  "AWS.EC2.DownloadInstanceUserData": { detectors: ["discovery-user-data", "bulk-sensitive-actions"], outcome: "any" },
  "AWS.STS.GetCallerIdentity.TruffleHog": { detectors: ["suspicious-user-agent"], outcome: "any" },
  "AWS.Bedrock.GuardrailUpdateDelete": { detectors: ["bedrock-abuse"] },
};

/** Rule id -> detector ids that should fire on its positive tests. */
export const PANTHER_MAP: Readonly<Record<string, readonly string[]>> = Object.fromEntries(Object.entries(PANTHER_RULES).map(([k, v]) => [k, v.detectors]));

/** Did the rule "fire" on a record, judged from trailhound's findings on that record alone? */
export function pantherFired(ruleId: string, findings: ReadonlyArray<{ detector: string; failed?: boolean }>): boolean {
  const scope = PANTHER_RULES[ruleId];
  if (!scope) return false;
  const outcome = scope.outcome ?? "success";
  return findings.some((f) => scope.detectors.includes(f.detector) && (outcome === "any" || (outcome === "failure" ? f.failed === true : f.failed !== true)));
}

/**
 * Panther's test events are hand-written: some lack `eventID`, `eventTime` or `userIdentity`,
 * or use Panther's own time format (`2024-11-25 22:00:58.000000000`). Fill in what the
 * normaliser requires (without inventing behaviour) so that every record can be scanned.
 */
export function pantherRecord(record: Record<string, unknown>, index: number): Record<string, unknown> {
  const r: Record<string, unknown> = { ...record };
  if (typeof r.eventID !== "string" || r.eventID === "") r.eventID = `panther-test-${index}`;
  const t = typeof r.eventTime === "string" ? r.eventTime : typeof r.p_event_time === "string" ? r.p_event_time : undefined;
  r.eventTime = toIso(t) ?? "2024-01-01T00:00:00Z";
  if (r.userIdentity === null || typeof r.userIdentity !== "object")
    r.userIdentity = { type: "Unknown", accountId: typeof r.recipientAccountId === "string" ? r.recipientAccountId : undefined };
  if (typeof r.eventSource !== "string" && typeof r.eventsource === "string") r.eventSource = r.eventsource;
  if (typeof r.eventName !== "string" && typeof r.eventname === "string") r.eventName = r.eventname;
  return r;
}

function toIso(t: string | undefined): string | undefined {
  if (!t) return undefined;
  if (!Number.isNaN(Date.parse(t)) && /T/.test(t)) return t;
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?/.exec(t);
  if (!m) return undefined;
  return `${m[1]}T${m[2]}${m[3] ? m[3].slice(0, 4) : ""}Z`;
}
