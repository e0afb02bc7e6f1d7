/**
 * Stratus Red Team techniques that the shared invictus sample does not contain (or contains only
 * as failed detonations), rebuilt from the API calls each technique makes (per the Stratus Red
 * Team documentation and source): every one must give a finding of medium or higher in a
 * cold-start scan of its own events (the real Scanner, all registered detectors).
 *
 * These records are generated, not captured: request parameters follow CloudTrail's shapes for
 * each API. The captured techniques are checked on real data in stratus-coverage.test.ts.
 */
import { describe, expect, test } from "vitest";
import { Scanner } from "../../src/scan/scanner.js";
import { SEVERITY_RANK } from "../../src/events/types.js";
import { assumedRole, iamUser, rawRecord, T0, type RecordInput } from "../helpers/events.js";

function scan(inputs: RecordInput[]) {
  const s = new Scanner({ now: T0 + 2 * 3_600_000, since: { kind: "absolute", at: T0 - 3_600_000 } });
  for (const [i, r] of inputs.entries()) s.record(rawRecord({ time: T0 + i * 1000, ...r }), "generated");
  return s.finish().report.findings;
}

const attacker = iamUser("dev-ops-temp");
const adminDoc = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });

const TECHNIQUES: Array<[technique: string, detector: string, records: RecordInput[]]> = [
  [
    "aws.credential-access.secretsmanager-batch-retrieve-secrets",
    "secrets-access",
    [{ eventName: "BatchGetSecretValue", userIdentity: attacker, requestParameters: { filters: [{ key: "tag-key", values: ["StratusRedTeam"] }] } }],
  ],
  [
    "aws.defense-evasion.dns-delete-logs",
    "logging-tampering",
    [
      {
        eventName: "DeleteResolverQueryLogConfig",
        eventSource: "route53resolver.amazonaws.com",
        userIdentity: attacker,
        requestParameters: { resolverQueryLogConfigId: "rqlc-5aa596fe3bd84ec6" },
      },
    ],
  ],
  [
    "aws.execution.ec2-user-data",
    "execution-and-lateral-movement",
    [
      { eventName: "StopInstances", userIdentity: attacker, requestParameters: { instancesSet: { items: [{ instanceId: "i-0a1b2c3d4e5f60718" }] } } },
      { eventName: "ModifyInstanceAttribute", userIdentity: attacker, requestParameters: { instanceId: "i-0a1b2c3d4e5f60718", userData: "<sensitiveDataRemoved>" } },
      { eventName: "StartInstances", userIdentity: attacker, requestParameters: { instancesSet: { items: [{ instanceId: "i-0a1b2c3d4e5f60718" }] } } },
    ],
  ],
  [
    "aws.execution.ssm-send-command",
    "execution-and-lateral-movement",
    [
      {
        eventName: "SendCommand",
        userIdentity: attacker,
        requestParameters: { documentName: "AWS-RunShellScript", instanceIds: ["i-01", "i-02", "i-03"], parameters: "HIDDEN_DUE_TO_SECURITY_REASONS", interactive: false },
      },
    ],
  ],
  [
    "aws.execution.ssm-start-session",
    "bulk-sensitive-actions",
    ["i-0aaa1111bbbb2222c", "i-0aaa1111bbbb2222d", "i-0aaa1111bbbb2222e"].map((t) => ({ eventName: "StartSession", userIdentity: attacker, requestParameters: { target: t } })),
  ],
  [
    "aws.execution.sagemaker-update-lifecycle-config",
    "execution-and-lateral-movement",
    [
      { eventName: "StopNotebookInstance", eventSource: "sagemaker.amazonaws.com", userIdentity: attacker, requestParameters: { notebookInstanceName: "nb" } },
      {
        eventName: "CreateNotebookInstanceLifecycleConfig",
        eventSource: "sagemaker.amazonaws.com",
        userIdentity: attacker,
        requestParameters: { notebookInstanceLifecycleConfigName: "malicious-lc", onStart: [{ content: "HIDDEN" }] },
      },
      {
        eventName: "UpdateNotebookInstance",
        eventSource: "sagemaker.amazonaws.com",
        userIdentity: attacker,
        requestParameters: { notebookInstanceName: "nb", lifecycleConfigName: "malicious-lc" },
      },
    ],
  ],
  [
    "aws.impact.s3-ransomware-batch-deletion",
    "s3-ransomware",
    [
      { eventName: "DeleteObjects", userIdentity: attacker, requestParameters: { bucketName: "victim", delete: "" } },
      { eventName: "PutObject", userIdentity: attacker, requestParameters: { bucketName: "victim", key: "FILES-DELETED.txt" } },
    ],
  ],
  [
    "aws.impact.s3-ransomware-individual-deletion",
    "s3-ransomware",
    [
      ...Array.from({ length: 60 }, (_, i) => ({ eventName: "DeleteObject", userIdentity: attacker, requestParameters: { bucketName: "victim", key: `data/${i}.csv` } })),
      { eventName: "PutObject", userIdentity: attacker, requestParameters: { bucketName: "victim", key: "FILES-DELETED.txt" } },
    ],
  ],
  [
    "aws.impact.s3-ransomware-individual-deletion (larger bucket, deletion volume alone)",
    "bulk-sensitive-actions",
    Array.from({ length: 150 }, (_, i) => ({ eventName: "DeleteObject", userIdentity: attacker, requestParameters: { bucketName: "victim", key: `data/${i}.csv` } })),
  ],
  [
    "aws.impact.s3-ransomware-client-side-encryption",
    "bulk-sensitive-actions",
    Array.from({ length: 12 }, (_, i) => ({
      eventName: "CopyObject",
      userIdentity: attacker,
      requestParameters: { bucketName: "victim", key: `data/${i}.csv`, "x-amz-copy-source": `victim/data/${i}.csv`, "x-amz-server-side-encryption-customer-algorithm": "AES256" },
    })),
  ],
  [
    "aws.impact: Bedrock model invocation (LLM hijacking)",
    "bulk-sensitive-actions",
    ["anthropic.claude-3-sonnet", "anthropic.claude-v2", "meta.llama3-70b-instruct", "amazon.titan-text-express-v1"].map((m) => ({
      eventName: "InvokeModel",
      eventSource: "bedrock.amazonaws.com",
      userIdentity: attacker,
      requestParameters: { modelId: m },
    })),
  ],
  [
    "aws.impact: Bedrock invocation logging set-up",
    "bedrock-abuse",
    [
      {
        eventName: "PutModelInvocationLoggingConfiguration",
        eventSource: "bedrock.amazonaws.com",
        userIdentity: attacker,
        requestParameters: { loggingConfig: { s3Config: { bucketName: "x" } } },
      },
    ],
  ],
  ["aws.impact: AMI deregistration", "data-destruction", [{ eventName: "DeregisterImage", userIdentity: attacker, requestParameters: { imageId: "ami-0123456789abcdef0" } }]],
  [
    "aws.lateral-movement.ec2-instance-connect",
    "execution-and-lateral-movement",
    [
      {
        eventName: "SendSSHPublicKey",
        eventSource: "ec2-instance-connect.amazonaws.com",
        userIdentity: attacker,
        requestParameters: { instanceId: "i-0a1", instanceOSUser: "ec2-user", sSHPublicKey: "ssh-ed25519 AAAA" },
      },
    ],
  ],
  [
    "aws.lateral-movement.ec2-serial-console-send-ssh-public-key",
    "execution-and-lateral-movement",
    [
      { eventName: "EnableSerialConsoleAccess", userIdentity: attacker },
      {
        eventName: "SendSerialConsoleSSHPublicKey",
        eventSource: "ec2-instance-connect.amazonaws.com",
        userIdentity: attacker,
        requestParameters: { instanceId: "i-0a1", serialPort: 0 },
      },
    ],
  ],
  [
    "aws.persistence.iam-create-backdoor-role",
    "privilege-escalation",
    [
      {
        eventName: "CreateRole",
        userIdentity: attacker,
        requestParameters: {
          roleName: "malicious-iam-role",
          assumeRolePolicyDocument: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::193672423079:root" }, Action: "sts:AssumeRole" }],
          }),
        },
      },
      { eventName: "AttachRolePolicy", userIdentity: attacker, requestParameters: { roleName: "malicious-iam-role", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" } },
    ],
  ],
  [
    "aws.persistence.lambda-layer-extension",
    "execution-and-lateral-movement",
    [
      {
        eventName: "UpdateFunctionConfiguration20150331v2",
        userIdentity: attacker,
        requestParameters: { functionName: "app", layers: ["arn:aws:lambda:us-east-1:701396796022:layer:stratus-layer:1"] },
      },
    ],
  ],
  [
    "aws.persistence.sts-federation-token",
    "new-role-assumption",
    [{ eventName: "GetFederationToken", userIdentity: attacker, requestParameters: { name: "stratus_red_team", policy: adminDoc } }],
  ],
  [
    "aws.privilege-escalation.iam-update-user-login-profile",
    "credential-for-other-user",
    [{ eventName: "UpdateLoginProfile", userIdentity: attacker, requestParameters: { userName: "stratus-red-team-ulp-user", passwordResetRequired: false } }],
  ],
  [
    "aws.discovery.ses-enumerate",
    "email-abuse-recon",
    ["GetAccountSendingEnabled", "GetSendQuota", "ListIdentities", "GetIdentityVerificationAttributes"].map((n) => ({
      eventName: n,
      eventSource: "ses.amazonaws.com",
      userIdentity: attacker,
    })),
  ],
  [
    "aws.discovery.ec2-enumerate-from-instance (a run that reaches the instance)",
    "instance-credential-abuse",
    (
      [
        ["GetCallerIdentity", "sts"],
        ["ListBuckets", "s3"],
        ["GetAccountSummary", "iam"],
        ["ListRoles", "iam"],
        ["ListUsers", "iam"],
        ["GetAccountAuthorizationDetails", "iam"],
        ["DescribeSnapshots", "ec2"],
        ["DescribeTrails", "cloudtrail"],
        ["ListDetectors", "guardduty"],
      ] as const
    ).map(([n, svc]) => ({
      eventName: n,
      eventSource: `${svc}.amazonaws.com`,
      userIdentity: assumedRole("app-instance-role", "i-05c30218156bcc246"),
      sourceIPAddress: "52.45.102.28",
    })),
  ],
];

describe("Stratus Red Team techniques absent from the shared sample (generated events)", () => {
  test.each(TECHNIQUES)("fires medium or higher for %s (%s)", (_t, detector, records) => {
    const findings = scan(records).filter((f) => f.detector === detector);
    const best = findings.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity])[0];
    expect(best, `no ${detector} finding`).toBeDefined();
    expect(SEVERITY_RANK[best!.severity]).toBeGreaterThanOrEqual(SEVERITY_RANK.medium);
  });

  test("stays quiet on the same APIs used the ordinary way (one own-account AssumeRole, one session, one t3 launch)", () => {
    const findings = scan([
      { eventName: "AssumeRole", userIdentity: attacker, requestParameters: { roleArn: "arn:aws:iam::111111111111:role/Deploy", roleSessionName: "x" } },
      { eventName: "StartSession", userIdentity: attacker, requestParameters: { target: "i-0aaa1111bbbb2222c" } },
      {
        eventName: "RunInstances",
        userIdentity: attacker,
        requestParameters: { instanceType: "t3.micro", instancesSet: { items: [{ imageId: "ami-1", minCount: 1, maxCount: 1 }] } },
      },
    ]);
    expect(findings.filter((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK.medium).map((f) => `${f.detector}: ${f.why}`)).toEqual([]);
  });
});
