import type { TrailEvent } from "../events/types.js";
import { allPorts, exposedServices, onlyWeb, openIngressRules, openNaclEntry } from "./lib/network.js";
import { exposure, parsePolicy } from "./lib/policy.js";
import {
  ACCOUNT_ID,
  accountOf,
  at,
  bool,
  draft,
  get,
  isObj,
  list,
  novelty,
  ownAccounts,
  q,
  re,
  rp,
  str,
  strings,
  who,
  type Obj,
  params,
  type RuleHit,
  type OwnAccounts,
} from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * Data and services opened to the internet or to accounts outside the organisation: snapshots,
 * AMIs and database snapshots shared, bucket/queue/topic/key/secret/repository policies with a
 * public or foreign principal, public ACLs, public access blocks removed, security groups and
 * network ACLs opened to 0.0.0.0/0, Lambda functions invocable by anyone, public CodeBuild
 * projects and databases, objects copied to a foreign bucket. Infrastructure as code never
 * lowers these.
 */

type Own = OwnAccounts;

function sharedWith(items: unknown, own: Own): { public: boolean; external: string[] } {
  const out = { public: false, external: [] as string[] };
  for (const it of list(items)) {
    const group = str(get(it, "group"));
    if (group && group.toLowerCase() === "all") out.public = true;
    const uid = str(get(it, "userId"));
    if (uid && ACCOUNT_ID.test(uid) && !own.has(uid)) out.external.push(uid);
  }
  return out;
}

function shareHit(kind: string, id: string, s: { public: boolean; external: string[] }): RuleHit | null {
  if (s.public) return { severity: "critical", what: `made ${kind} ${q(id)} public (shared with \`all\`)`, target: id, evidence: { public: true } };
  if (s.external.length > 0)
    return {
      severity: "high",
      what: `shared ${kind} ${q(id)} with account${s.external.length > 1 ? "s" : ""} ${s.external.map((a) => q(a)).join(", ")} outside the organisation`,
      target: id,
      evidence: { externalAccounts: s.external },
    };
  return null;
}

function policyHit(doc: Obj | null, resource: string, own: Own): RuleHit | null {
  if (!doc) return null;
  const x = exposure(doc, own);
  const acts = [...new Set(x.actions)].slice(0, 6);
  const writes = acts.some((a) => a === "*" || /:\*$|:(Put|Delete|Create|Update|Write|Send|Publish|Invoke)/i.test(a));
  if (x.public)
    return {
      severity: writes ? "critical" : "high",
      what: `gave everyone (\`*\` principal, no restricting condition) access to ${resource}${acts.length ? ` (${acts.map((a) => q(a, 40)).join(", ")})` : ""}`,
      target: resource,
      evidence: { public: true, actions: acts },
    };
  if (x.externalAccounts.length > 0)
    return {
      severity: "high",
      what: `gave account${x.externalAccounts.length > 1 ? "s" : ""} ${x.externalAccounts.map((a) => q(a)).join(", ")} outside the organisation access to ${resource}${acts.length ? ` (${acts.map((a) => q(a, 40)).join(", ")})` : ""}`,
      target: resource,
      evidence: { externalAccounts: x.externalAccounts, actions: acts },
    };
  return null;
}

/** Resource policies carried by various APIs: [service:EventName] -> (policy, resource label). */
const POLICY_APIS: Record<string, (ev: TrailEvent) => { doc: unknown; resource: string } | null> = {
  "s3:PutBucketPolicy": (ev) => ({ doc: rp(ev, "bucketPolicy") ?? rp(ev, "policy"), resource: `bucket ${q(str(rp(ev, "bucketName")) ?? "?")}` }),
  "s3:PutAccessPointPolicy": (ev) => ({ doc: rp(ev, "policy"), resource: `access point ${q(str(rp(ev, "name")) ?? "?")}` }),
  "ecr:SetRepositoryPolicy": (ev) => ({ doc: rp(ev, "policyText"), resource: `ECR repository ${q(str(rp(ev, "repositoryName")) ?? "?")}` }),
  "ecr:PutRegistryPolicy": (ev) => ({ doc: rp(ev, "policyText"), resource: "the ECR registry" }),
  "kms:PutKeyPolicy": (ev) => ({ doc: rp(ev, "policy"), resource: `KMS key ${q(str(rp(ev, "keyId")) ?? "?")}` }),
  "kms:CreateKey": (ev) => ({ doc: rp(ev, "policy"), resource: "a new KMS key" }),
  "sns:SetTopicAttributes": (ev) =>
    str(rp(ev, "attributeName")) === "Policy" ? { doc: rp(ev, "attributeValue"), resource: `SNS topic ${q(str(rp(ev, "topicArn")) ?? "?")}` } : null,
  "sns:CreateTopic": (ev) => ({ doc: rp(ev, "attributes", "Policy"), resource: `SNS topic ${q(str(rp(ev, "name")) ?? "?")}` }),
  "sqs:SetQueueAttributes": (ev) => ({ doc: rp(ev, "attributes", "Policy"), resource: `SQS queue ${q(str(rp(ev, "queueUrl")) ?? "?")}` }),
  "sqs:CreateQueue": (ev) => ({ doc: rp(ev, "attributes", "Policy"), resource: `SQS queue ${q(str(rp(ev, "queueName")) ?? "?")}` }),
  "secretsmanager:PutResourcePolicy": (ev) => ({ doc: rp(ev, "resourcePolicy"), resource: `secret ${q(str(rp(ev, "secretId")) ?? "?")}` }),
  "logs:PutResourcePolicy": (ev) => ({ doc: rp(ev, "policyDocument"), resource: "CloudWatch Logs" }),
  "es:CreateElasticsearchDomain": (ev) => ({ doc: rp(ev, "accessPolicies"), resource: `search domain ${q(str(rp(ev, "domainName")) ?? "?")}` }),
  "es:UpdateElasticsearchDomainConfig": (ev) => ({ doc: rp(ev, "accessPolicies"), resource: `search domain ${q(str(rp(ev, "domainName")) ?? "?")}` }),
  "es:CreateDomain": (ev) => ({ doc: rp(ev, "accessPolicies"), resource: `search domain ${q(str(rp(ev, "domainName")) ?? "?")}` }),
  "es:UpdateDomainConfig": (ev) => ({ doc: rp(ev, "accessPolicies"), resource: `search domain ${q(str(rp(ev, "domainName")) ?? "?")}` }),
  "elasticfilesystem:PutFileSystemPolicy": (ev) => ({ doc: rp(ev, "policy"), resource: `EFS file system ${q(str(rp(ev, "fileSystemId")) ?? "?")}` }),
  "glacier:SetVaultAccessPolicy": (ev) => ({ doc: rp(ev, "policy", "policy") ?? rp(ev, "policy"), resource: `Glacier vault ${q(str(rp(ev, "vaultName")) ?? "?")}` }),
  "backup:PutBackupVaultAccessPolicy": (ev) => ({ doc: rp(ev, "policy"), resource: `backup vault ${q(str(rp(ev, "backupVaultName")) ?? "?")}` }),
  "codeartifact:PutRepositoryPermissionsPolicy": (ev) => ({ doc: rp(ev, "policyDocument"), resource: `CodeArtifact repository ${q(str(rp(ev, "repository")) ?? "?")}` }),
  "lambda:AddLayerVersionPermission": (ev) => {
    const principal = str(rp(ev, "principal"));
    if (!principal) return null;
    return {
      doc: { Statement: [{ Effect: "Allow", Principal: principal === "*" ? "*" : { AWS: principal }, Action: str(rp(ev, "action")) ?? "lambda:GetLayerVersion" }] },
      resource: `Lambda layer ${q(str(rp(ev, "layerName")) ?? "?")}`,
    };
  },
};

const PUBLIC_ACL = /public-read|public-read-write|authenticated-read/;
const PUBLIC_GROUP = /AllUsers|AuthenticatedUsers/;

function aclHit(ev: TrailEvent): RuleHit | null {
  const bucket = str(rp(ev, "bucketName")) ?? "?";
  const key = str(rp(ev, "key"));
  const target = key ? `object ${q(bucket + "/" + key)}` : `bucket ${q(bucket)}`;
  const canned = strings(rp(ev, "x-amz-acl")).join(",");
  if (PUBLIC_ACL.test(canned))
    return { severity: canned.includes("write") ? "critical" : "high", what: `set the canned ACL ${q(canned)} on ${target}`, target: key ? `${bucket}/${key}` : bucket };
  for (const h of ["x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp", "x-amz-grant-full-control"]) {
    const v = strings(rp(ev, h)).join(",");
    if (PUBLIC_GROUP.test(v)) return { severity: "high", what: `granted ${q(h)} to ${q(v, 80)} on ${target}`, target: key ? `${bucket}/${key}` : bucket };
  }
  const grants = list(at(params(ev), "AccessControlPolicy", "AccessControlList", "Grant"));
  for (const g of grants) {
    const uri = str(at(g, "Grantee", "URI"));
    if (uri && PUBLIC_GROUP.test(uri))
      return { severity: "high", what: `granted ${q(str(get(g, "Permission")) ?? "?")} to ${q(uri)} on ${target}`, target: key ? `${bucket}/${key}` : bucket };
  }
  return null;
}

const PAB_FLAGS = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"];

function pabHit(ev: TrailEvent): RuleHit | null {
  const cfg = rp(ev, "PublicAccessBlockConfiguration") ?? rp(ev, "publicAccessBlock");
  if (!isObj(cfg)) return null;
  const off = PAB_FLAGS.filter((f) => bool(get(cfg, f)) === false);
  if (off.length === 0) return null;
  const account = ev.eventName.includes("Account") || !str(rp(ev, "bucketName"));
  const scope = account ? "the account" : `bucket ${q(str(rp(ev, "bucketName")) ?? "?")}`;
  return {
    severity: off.length === PAB_FLAGS.length || off.includes("BlockPublicPolicy") ? (account ? "high" : "medium") : "low",
    what: `turned off S3 public access blocks (${off.join(", ")}) on ${scope}`,
    target: account ? "account" : (str(rp(ev, "bucketName")) ?? ""),
  };
}

function lambdaPermissionHit(ev: TrailEvent, own: Own): RuleHit | null {
  const principal = str(rp(ev, "principal")) ?? "";
  const fn = str(rp(ev, "functionName")) ?? "?";
  const action = str(rp(ev, "action")) ?? "lambda:InvokeFunction";
  const urlAuth = str(rp(ev, "functionUrlAuthType"));
  const pinned = !!(str(rp(ev, "sourceAccount")) || str(rp(ev, "sourceArn")) || str(rp(ev, "principalOrgID")));
  if (principal === "*" && !pinned)
    return {
      severity: urlAuth === "NONE" ? "high" : "high",
      what: `allowed anyone (\`*\`) to ${q(action)} Lambda function ${q(fn)}`,
      target: fn,
      attack: ["T1546"],
      evidence: { principal, action },
    };
  const acct = accountOf(principal);
  if (acct && !own.has(acct))
    return {
      severity: "high",
      what: `allowed account ${q(acct)} outside the organisation to ${q(action)} Lambda function ${q(fn)}`,
      target: fn,
      attack: ["T1546"],
      evidence: { principal, action },
    };
  return null;
}

function foreignBucket(ev: TrailEvent, own: Own): string | null {
  for (const r of ev.resources ?? []) {
    if (r.type !== "AWS::S3::Bucket" || !r.accountId || !r.arn) continue;
    if (!own.has(r.accountId)) return `${r.arn.replace("arn:aws:s3:::", "")} (account ${r.accountId})`;
  }
  return null;
}

function rule(ev: TrailEvent, own: Own): RuleHit | null {
  const key = ev.service + ":" + ev.eventName;
  switch (key) {
    case "ec2:ModifySnapshotAttribute":
      return shareHit("EBS snapshot", str(rp(ev, "snapshotId")) ?? "?", sharedWith(rp(ev, "createVolumePermission", "add"), own));
    case "ec2:ModifyImageAttribute":
      return shareHit("AMI", str(rp(ev, "imageId")) ?? "?", sharedWith(rp(ev, "launchPermission", "add"), own));
    case "rds:ModifyDBSnapshotAttribute":
    case "rds:ModifyDBClusterSnapshotAttribute": {
      if ((str(rp(ev, "attributeName")) ?? "restore") !== "restore") return null;
      const vals = strings(rp(ev, "valuesToAdd"));
      const id = str(rp(ev, "dBSnapshotIdentifier")) ?? str(rp(ev, "dBClusterSnapshotIdentifier")) ?? "?";
      return shareHit(ev.eventName.includes("Cluster") ? "RDS cluster snapshot" : "RDS snapshot", id, {
        public: vals.some((v) => v.toLowerCase() === "all"),
        external: vals.filter((v) => ACCOUNT_ID.test(v) && !own.has(v)),
      });
    }
    case "s3:PutBucketAcl":
    case "s3:PutObjectAcl":
    case "s3:PutObject":
      return aclHit(ev);
    case "s3:DeleteBucketPublicAccessBlock":
    case "s3:DeleteAccountPublicAccessBlock":
    case "s3:DeletePublicAccessBlock": {
      const bucket = str(rp(ev, "bucketName"));
      if (ev.eventName === "DeleteBucketPublicAccessBlock" && !bucket) return null;
      const account = !bucket;
      return {
        severity: account ? "high" : "medium",
        what: `deleted the S3 public access block of ${account ? "the account" : `bucket ${q(bucket)}`}`,
        target: bucket ?? "account",
      };
    }
    case "s3:PutBucketPublicAccessBlock":
    case "s3:PutAccountPublicAccessBlock":
    case "s3:PutPublicAccessBlock":
      return pabHit(ev);
    case "ec2:AuthorizeSecurityGroupIngress": {
      const rules = openIngressRules(params(ev));
      const gid = str(rp(ev, "groupId")) ?? str(rp(ev, "groupName")) ?? "?";
      let best: RuleHit | null = null;
      for (const r of rules) {
        if (onlyWeb(r)) continue;
        const svc = exposedServices(r);
        const ports = r.from === r.to ? String(r.from) : `${r.from}-${r.to}`;
        const h: RuleHit = svc.length
          ? { severity: "high", what: `opened security group ${q(gid)} to ${q(r.cidr)} on ${svc.join(", ")}`, target: gid, evidence: { cidr: r.cidr, ports, protocol: r.protocol } }
          : { severity: "low", what: `opened security group ${q(gid)} to ${q(r.cidr)} on port ${q(ports)}`, target: gid, evidence: { cidr: r.cidr, ports, protocol: r.protocol } };
        if (!best || (best.severity === "low" && h.severity === "high")) best = h;
      }
      return best;
    }
    case "ec2:CreateNetworkAclEntry":
    case "ec2:ReplaceNetworkAclEntry": {
      const r = openNaclEntry(params(ev));
      if (!r) return null;
      const svc = exposedServices(r);
      const acl = str(rp(ev, "networkAclId")) ?? "?";
      // Allow-all is the AWS default for network ACLs (security groups do the filtering): only
      // an explicit opening of administration or database ports is more than low.
      return {
        severity: svc.length && !allPorts(r) ? "medium" : "low",
        what: `allowed inbound traffic from ${q(r.cidr)} in network ACL ${q(acl)}${svc.length ? ` on ${svc.join(", ")}` : ` (ports ${r.from}-${r.to})`}`,
        target: acl,
      };
    }
    case "ec2:DisableImageBlockPublicAccess":
      return { severity: "medium", what: "turned off the account's block on public AMI sharing", target: "image-block-public-access" };
    case "ec2:DisableSnapshotBlockPublicAccess":
      return { severity: "medium", what: "turned off the account's block on public EBS snapshot sharing", target: "snapshot-block-public-access" };
    case "lambda:AddPermission":
      return lambdaPermissionHit(ev, own);
    case "lambda:CreateFunctionUrlConfig":
    case "lambda:UpdateFunctionUrlConfig":
      return str(rp(ev, "authType")) === "NONE"
        ? {
            severity: "medium",
            what: `gave Lambda function ${q(str(rp(ev, "functionName")) ?? "?")} a public URL without authentication`,
            target: str(rp(ev, "functionName")) ?? "",
          }
        : null;
    case "codebuild:UpdateProjectVisibility": {
      const vis = str(rp(ev, "projectVisibility"));
      if (vis !== "PUBLIC_READ") return null;
      const arn = str(rp(ev, "projectArn")) ?? "?";
      return { severity: "medium", what: `made CodeBuild project ${q(arn)} public (build logs and artifacts readable by anyone)`, target: arn };
    }
    case "rds:ModifyDBInstance":
    case "rds:ModifyDBCluster":
    case "rds:RestoreDBInstanceFromDBSnapshot":
    case "rds:RestoreDBClusterFromSnapshot":
    case "rds:RestoreDBInstanceToPointInTime":
    case "rds:RestoreDBInstanceFromS3": {
      const pub = bool(rp(ev, "publiclyAccessible")) ?? (ev.eventName.startsWith("Restore") ? bool(re(ev, "publiclyAccessible")) : undefined);
      if (pub !== true) return null;
      const id = str(rp(ev, "dBInstanceIdentifier")) ?? str(rp(ev, "dBClusterIdentifier")) ?? "?";
      return { severity: "medium", what: `${ev.eventName.startsWith("Restore") ? "restored" : "made"} database ${q(id)} publicly accessible`, target: id };
    }
    case "s3:CopyObject": {
      const foreign = foreignBucket(ev, own);
      if (!foreign) return null;
      return {
        severity: "high",
        what: `copied object ${q(str(rp(ev, "x-amz-copy-source")) ?? str(rp(ev, "key")) ?? "?")} to bucket ${q(foreign)} of an account outside the organisation`,
        target: foreign,
        attack: ["T1537"],
      };
    }
    default: {
      const f = POLICY_APIS[key];
      if (!f) return null;
      const got = f(ev);
      if (!got) return null;
      return policyHit(parsePolicy(got.doc), got.resource, own);
    }
  }
}

const NAMES = [
  "ModifySnapshotAttribute",
  "ModifyImageAttribute",
  "ModifyDBSnapshotAttribute",
  "ModifyDBClusterSnapshotAttribute",
  "PutBucketAcl",
  "PutObjectAcl",
  "DeleteBucketPublicAccessBlock",
  "DeleteAccountPublicAccessBlock",
  "DeletePublicAccessBlock",
  "PutBucketPublicAccessBlock",
  "PutAccountPublicAccessBlock",
  "PutPublicAccessBlock",
  "AuthorizeSecurityGroupIngress",
  "CreateNetworkAclEntry",
  "ReplaceNetworkAclEntry",
  "DisableImageBlockPublicAccess",
  "DisableSnapshotBlockPublicAccess",
  "AddPermission",
  "CreateFunctionUrlConfig",
  "UpdateFunctionUrlConfig",
  "UpdateProjectVisibility",
  "ModifyDBInstance",
  "ModifyDBCluster",
  "RestoreDBInstanceFromDBSnapshot",
  "RestoreDBClusterFromSnapshot",
  "RestoreDBInstanceToPointInTime",
  "RestoreDBInstanceFromS3",
  ...Object.keys(POLICY_APIS).map((k) => k.slice(k.indexOf(":") + 1)),
];
const NAME_SET = new Set(NAMES);

/** Data-plane S3 writes are only selected when they carry an ACL header or cross an account boundary. */
function selectEvent(ev: TrailEvent): boolean {
  if (NAME_SET.has(ev.eventName)) return true;
  if (ev.service !== "s3") return false;
  // Only public ACLs: most uploads carry `bucket-owner-full-control`, which must not flood the candidates.
  if (ev.eventName === "PutObject") return PUBLIC_ACL.test(strings(rp(ev, "x-amz-acl")).join(",")) || PUBLIC_GROUP.test(strings(rp(ev, "x-amz-grant-read")).join(","));
  if (ev.eventName === "CopyObject") return (ev.resources ?? []).some((r) => r.accountId !== undefined && r.accountId !== ev.accountId);
  return false;
}

export const resourceExposure: EventDetector = {
  kind: "event",
  id: "resource-exposure",
  title: "Resource exposed publicly or to another account",
  description:
    "Snapshots, AMIs, database snapshots, buckets, queues, topics, keys, secrets, repositories or functions opened to everyone or to an account outside the organisation; S3 public access blocks removed; security groups or network ACLs opened to the internet on sensitive ports; databases or CodeBuild projects made public; objects copied to a foreign bucket.",
  severity: "high",
  cites: "The single call that opened the resource (the policy, ACL, share or rule change).",
  attack: ["T1537", "T1530", "T1098"],
  investigate: [
    "Is the receiving account known (a vendor, a partner, another business unit)? Is public access intended (a static website, a public dataset)?",
    "Revert the sharing or policy if not, and check for access from the foreign account (S3 server access logs, CloudTrail in the receiving side if available).",
    "Review the caller's other actions in the same session.",
  ],
  falsePositives: [
    "Public websites and open datasets published on purpose.",
    "Sharing AMIs or snapshots with a partner or an account of the organisation not listed in the configuration (add it to the own-accounts list).",
    "Bastion hosts intentionally reachable over SSH (prefer SSM Session Manager).",
  ],
  select: selectEvent,
  mayTake: { eventNames: [...NAMES, "PutObject", "CopyObject"] },
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    const own = ownAccounts(ev, ctx);
    const hit = rule(ev, own);
    if (!hit) return null;
    const nov = novelty(ctx, ev.service + ":" + ev.eventName);
    const why = `${who(ev.principal)} ${hit.what}. ${nov.text}`;
    return draft(ev, hit.severity, why, [ev.eventName, hit.target], {
      ...(hit.attack ? { attack: hit.attack } : {}),
      evidence: hit.evidence ?? { target: hit.target },
    });
  },
};

export default resourceExposure;
