import type { Severity, TrailEvent } from "../events/types.js";
import { apiKey, bool, draft, isAwsServiceCall, isHumanPrincipal, isIaC, lower, novelty, num, q, rp, str, who, type RuleHit } from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * Destroying the means of recovery: KMS keys disabled or scheduled for deletion (every object
 * encrypted with them becomes unreadable), RDS automated backups deleted or backups turned off,
 * deletion protection removed, backup vaults and recovery points deleted, AMIs deregistered.
 * Volumes (many AMIs, many snapshots) are judged by `bulk-sensitive-actions`.
 */

function rule(ev: TrailEvent, ctx: DetectorContext): RuleHit | null {
  const nov = novelty(ctx, apiKey(ev));
  switch (ev.service + ":" + ev.eventName) {
    case "kms:ScheduleKeyDeletion": {
      const key = str(rp(ev, "keyId")) ?? "?";
      const days = num(rp(ev, "pendingWindowInDays"));
      return {
        severity: days !== undefined && days <= 7 ? "high" : "medium",
        what: `scheduled KMS key ${q(key)} for deletion${days !== undefined ? ` in ${days} days` : ""}: data encrypted with it becomes unrecoverable`,
        target: key,
        attack: ["T1485", "T1486"],
      };
    }
    case "kms:DisableKey":
      return {
        severity: "medium",
        what: `disabled KMS key ${q(str(rp(ev, "keyId")) ?? "?")}: data encrypted with it cannot be read until it is enabled again`,
        target: str(rp(ev, "keyId")) ?? "",
        attack: ["T1485", "T1486"],
      };
    case "rds:DeleteDBInstanceAutomatedBackup":
    case "rds:DeleteDBClusterAutomatedBackup": {
      const id = str(rp(ev, "dbiResourceId")) ?? str(rp(ev, "dbClusterResourceId")) ?? str(rp(ev, "dBInstanceAutomatedBackupsArn")) ?? "?";
      return { severity: "medium", what: `deleted the retained automated backups of database ${q(id)}`, target: id, attack: ["T1490"] };
    }
    case "rds:ModifyDBInstance":
    case "rds:ModifyDBCluster": {
      const id = str(rp(ev, "dBInstanceIdentifier")) ?? str(rp(ev, "dBClusterIdentifier")) ?? "?";
      const noProtection = bool(rp(ev, "deletionProtection")) === false;
      const retention = num(rp(ev, "backupRetentionPeriod"));
      const noBackups = retention === 0;
      if (!noProtection && !noBackups) return null;
      const parts = [noProtection ? "turned off deletion protection" : "", noBackups ? "turned off automated backups (retention 0)" : ""].filter(Boolean);
      return { severity: noBackups ? "medium" : "low", what: `${parts.join(" and ")} on database ${q(id)}`, target: id, attack: ["T1490"] };
    }
    case "backup:DeleteBackupVault":
    case "backup:DeleteRecoveryPoint":
    case "backup:DeleteBackupPlan": {
      const id = str(rp(ev, "backupVaultName")) ?? str(rp(ev, "recoveryPointArn")) ?? str(rp(ev, "backupPlanId")) ?? "?";
      const sev: Severity = ev.eventName === "DeleteBackupPlan" ? "low" : "medium";
      return {
        severity: sev,
        what: `${ev.eventName
          .replace(/^Delete/, "deleted ")
          .replace(/([a-z])([A-Z])/g, "$1 $2")
          .toLowerCase()} ${q(id)}`,
        target: id,
        attack: ["T1490"],
      };
    }
    case "backup:PutBackupVaultLockConfiguration":
      return null;
    case "ec2:DeregisterImage": {
      if (nov.known) return null;
      const img = str(rp(ev, "imageId")) ?? "?";
      // AMI rotation by pipelines is routine: without history only people are reported.
      if (!nov.learned && !isHumanPrincipal(ev.principal)) return { severity: "low", what: `deregistered AMI ${q(img)}`, target: "ami" };
      return { severity: "medium", what: `deregistered AMI ${q(img)}`, target: "ami", attack: ["T1485"] };
    }
    default:
      return null;
  }
}

export const dataDestruction: EventDetector = {
  kind: "event",
  id: "data-destruction",
  title: "Recovery means destroyed",
  description:
    "KMS keys disabled or scheduled for deletion, RDS automated backups deleted or turned off, deletion protection removed, backup vaults or recovery points deleted, AMIs deregistered.",
  severity: "medium",
  cites: "The single destructive call.",
  attack: ["T1485", "T1490"],
  investigate: [
    "Cancel key deletion (CancelKeyDeletion) or re-enable the key while you investigate.",
    "Check whether data that depended on the key, backup or image is still recoverable.",
    "Review the caller's other destructive actions in the window.",
  ],
  falsePositives: ["Decommissioning of an application and its keys and backups.", "AMI and backup rotation jobs."],
  eventNames: [
    "ScheduleKeyDeletion",
    "DisableKey",
    "DeleteDBInstanceAutomatedBackup",
    "DeleteDBClusterAutomatedBackup",
    "ModifyDBInstance",
    "ModifyDBCluster",
    "DeleteBackupVault",
    "DeleteRecoveryPoint",
    "DeleteBackupPlan",
    "DeregisterImage",
  ],
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    if (isAwsServiceCall(ev)) return null;
    const hit = rule(ev, ctx);
    if (!hit) return null;
    let sev = hit.severity;
    const notes: string[] = [];
    if (isIaC(ev)) {
      sev = lower(sev);
      notes.push("It came from infrastructure as code.");
    }
    const nov = novelty(ctx, apiKey(ev), `${ev.service}:${ev.eventName}`);
    const why = `${who(ev.principal)} ${hit.what}. ${notes.join(" ")} ${nov.text}`.replace(/\s+/g, " ").trim();
    return draft(ev, sev, why, [ev.eventName, hit.target], { ...(hit.attack ? { attack: hit.attack } : {}), evidence: { target: hit.target } });
  },
};

export default dataDestruction;
