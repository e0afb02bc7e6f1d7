import type { TrailEvent } from "../events/types.js";
import { accountOf, apiKey, at, draft, isIaC, lower, novelty, ownAccounts, q, rp, str, who, params, type RuleHit, type OwnAccounts } from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * Single-event signs of S3 ransomware and data destruction: versioning suspended or MFA delete
 * turned off (no way back after deletion), default encryption or replication removed, objects
 * written with customer-provided keys (SSE-C: only the attacker holds the key) or with a KMS key
 * of another account, and ransom notes. Mass deletion and mass SSE-C rewrites across many
 * objects are judged by `bulk-sensitive-actions`.
 */

/** Object names ransom notes use. */
export const RANSOM_NOTE =
  /(ransom|decrypt|encrypted|files?[-_ ]?deleted|recover[-_ ]?(your|files|data)|restore[-_ ]?(your|files|data)|how[-_ ]?to[-_ ]?(decrypt|recover|restore|get)|read[-_ ]?me[-_ ]?(now|first|!))[^/]*\.(txt|html?|md|hta|rtf)$/i;

export function usesSseC(ev: TrailEvent): boolean {
  return str(rp(ev, "x-amz-server-side-encryption-customer-algorithm")) !== undefined || str(ev.additionalEventData?.SSEApplied) === "SSE_C";
}

function kmsKeyOf(ev: TrailEvent): string | undefined {
  return str(rp(ev, "x-amz-server-side-encryption-aws-kms-key-id")) ?? str(rp(ev, "SSEKMSKeyId"));
}

function foreignKey(ev: TrailEvent): boolean {
  const k = kmsKeyOf(ev);
  const a = k ? accountOf(k) : undefined;
  return a !== undefined && a !== ev.accountId;
}

function isObjectWrite(ev: TrailEvent): boolean {
  return (
    ev.service === "s3" && (ev.eventName === "PutObject" || ev.eventName === "CopyObject" || ev.eventName === "CompleteMultipartUpload" || ev.eventName === "CreateMultipartUpload")
  );
}

/** Every name selectEvent may take (its necessary condition, for mayTake). */
const S3_NAMES = new Set([
  "PutBucketVersioning",
  "DeleteBucketEncryption",
  "DeleteBucketReplication",
  "PutBucketEncryption",
  "PutObject",
  "CopyObject",
  "CompleteMultipartUpload",
  "CreateMultipartUpload",
]);

function selectEvent(ev: TrailEvent): boolean {
  if (ev.service !== "s3") return false;
  switch (ev.eventName) {
    case "PutBucketVersioning":
    case "DeleteBucketEncryption":
    case "DeleteBucketReplication":
    case "PutBucketEncryption":
      return true;
    default:
      if (!isObjectWrite(ev)) return false;
      // SSE-KMS uploads are everyday traffic: only keys of another account than the bucket's are selected.
      return usesSseC(ev) || foreignKey(ev) || RANSOM_NOTE.test(str(rp(ev, "key")) ?? "");
  }
}

function rule(ev: TrailEvent, own: OwnAccounts): RuleHit | null {
  const bucket = str(rp(ev, "bucketName")) ?? "?";
  switch (ev.eventName) {
    case "PutBucketVersioning": {
      const status = str(at(params(ev), "VersioningConfiguration", "Status"));
      const mfaDelete = str(at(params(ev), "VersioningConfiguration", "MfaDelete"));
      const suspended = status === "Suspended" || status === "Disabled";
      const mfaOff = mfaDelete === "Disabled";
      if (!suspended && !mfaOff) return null;
      const parts = [suspended ? `versioning ${status!.toLowerCase()}` : "", mfaOff ? "MFA delete turned off" : ""].filter(Boolean);
      return {
        severity: suspended && mfaOff ? "high" : "medium",
        what: `${parts.join(" and ")} on bucket ${q(bucket)}: deleted or overwritten objects can no longer be recovered`,
        target: bucket,
        attack: ["T1490"],
      };
    }
    case "DeleteBucketEncryption":
      return { severity: "medium", what: `removed default encryption of bucket ${q(bucket)}`, target: bucket, attack: ["T1486"] };
    case "DeleteBucketReplication":
      return { severity: "medium", what: `removed replication of bucket ${q(bucket)} (the copy that would survive a destruction)`, target: bucket, attack: ["T1490"] };
    case "PutBucketEncryption": {
      const key = str(at(params(ev), "ServerSideEncryptionConfiguration", "Rule", "ApplyServerSideEncryptionByDefault", "KMSMasterKeyID"));
      const acct = key ? accountOf(key) : undefined;
      if (!acct || own.has(acct)) return null;
      return {
        severity: "high",
        what: `set the default encryption of bucket ${q(bucket)} to KMS key ${q(key)} of account ${q(acct)} outside the organisation`,
        target: bucket,
        attack: ["T1486"],
      };
    }
    default: {
      if (!isObjectWrite(ev)) return null;
      const key = str(rp(ev, "key")) ?? "?";
      if (RANSOM_NOTE.test(key))
        return { severity: "high", what: `uploaded ${q(bucket + "/" + key)}, a file named like a ransom note`, target: bucket, attack: ["T1486", "T1485"] };
      const kms = kmsKeyOf(ev);
      const acct = kms ? accountOf(kms) : undefined;
      if (acct && !own.has(acct))
        return {
          severity: "high",
          what: `re-encrypted ${q(bucket + "/" + key)} with KMS key ${q(kms)} of account ${q(acct)} outside the organisation`,
          target: bucket,
          attack: ["T1486"],
        };
      if (usesSseC(ev))
        return {
          severity: "low",
          what: `wrote ${q(bucket + "/" + key)} with a customer-provided encryption key (SSE-C): only the holder of that key can read it back`,
          target: bucket,
          attack: ["T1486"],
        };
      return null;
    }
  }
}

export const s3Ransomware: EventDetector = {
  kind: "event",
  id: "s3-ransomware",
  title: "S3 ransomware or destruction preparation",
  description:
    "Bucket versioning suspended or MFA delete disabled, default encryption or replication removed, objects re-encrypted with customer-provided (SSE-C) or foreign KMS keys, and ransom notes uploaded.",
  severity: "medium",
  cites: "The single call (customer-key encryption, ransom note, lifecycle or deletion of versions).",
  attack: ["T1486", "T1485", "T1490"],
  investigate: [
    "Check the bucket for mass deletions or rewrites around the event (S3 data events, object counts, CloudWatch metrics).",
    "Restore versioning/encryption settings; keep versions and backups out of reach of the caller.",
    "Treat the caller's credentials as compromised if the change is not explained.",
  ],
  falsePositives: ["Buckets deliberately moved to unversioned storage to save costs.", "Applications that use SSE-C by design (rare; they do so consistently)."],
  select: selectEvent,
  mayTake: { eventNames: [...S3_NAMES] },
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    const hit = rule(ev, ownAccounts(ev, ctx));
    if (!hit) return null;
    let sev = hit.severity;
    const nov = novelty(ctx, apiKey(ev), `s3:${ev.eventName}`);
    const notes: string[] = [];
    if (nov.known && sev !== "high") sev = lower(sev);
    if (isIaC(ev) && sev !== "high") {
      sev = lower(sev);
      notes.push("It came from infrastructure as code.");
    }
    const why = `${who(ev.principal)} ${hit.what}. ${notes.join(" ")} ${nov.text}`.replace(/\s+/g, " ").trim();
    return draft(ev, sev, why, [ev.eventName, hit.target], { ...(hit.attack ? { attack: hit.attack } : {}), evidence: { bucket: hit.target } });
  },
};

export default s3Ransomware;
