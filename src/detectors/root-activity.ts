import type { Severity, TrailEvent } from "../events/types.js";
import { apiKey, draft, novelty, q, re, rp, str } from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * Any use of the root user: console sign-in, password or credential changes, API calls. AWS
 * best practice is to lock root away, so each use is worth a look; what root did decides how
 * urgent. Service events on root's behalf (AwsServiceEvent, calls proxied by a service other
 * than the console) are not root activity.
 */

const CREDENTIAL_EVENTS = new Set([
  "CreateAccessKey",
  "UpdateAccessKey",
  "DeleteAccessKey",
  "PasswordUpdated",
  "ChangePassword",
  "CreateVirtualMFADevice",
  "EnableMFADevice",
  "DeactivateMFADevice",
  "DeleteVirtualMFADevice",
  "UploadSigningCertificate",
  "PasswordRecoveryRequested",
  "PasswordRecoveryCompleted",
]);

const SIGNIN_EVENTS = new Set(["ConsoleLogin", "ExternalIdPDirectoryLogin", "CheckMfa"]);

function outcomeFailed(ev: TrailEvent): boolean {
  if (ev.failed) return true;
  // Sign-in events carry their outcome in responseElements.<EventName>.
  const r = str(re(ev, ev.eventName));
  return r === "Failure";
}

function classify(ev: TrailEvent): { kind: string; severity: Severity; what: string } | null {
  const n = ev.eventName;
  if (n === "CheckMfa") return null; // part of a sign-in, reported with ConsoleLogin
  if (SIGNIN_EVENTS.has(n)) {
    const mfa = str(ev.additionalEventData?.MFAUsed);
    return {
      kind: "sign-in",
      severity: mfa === "No" ? "critical" : "high",
      what: `root console sign-in${mfa === "No" ? " without MFA" : mfa === "Yes" ? " with MFA" : ""}`,
    };
  }
  if (n === "CreateAccessKey" && !str(rp(ev, "userName"))) return { kind: "credentials", severity: "critical", what: "root access key created" };
  if (CREDENTIAL_EVENTS.has(n)) {
    const target = str(rp(ev, "userName"));
    return { kind: "credentials", severity: "high", what: `root credential change ${q(n)}${target ? ` for user ${q(target)}` : ""}` };
  }
  if (ev.readOnly === true || /^(Get|List|Describe|Head|Lookup|Search|Check|View|Preview|Estimate)/.test(n)) {
    return { kind: "read", severity: "medium", what: `root read-only call ${q(ev.service + ":" + n)}` };
  }
  return { kind: "write", severity: "high", what: `root API call ${q(ev.service + ":" + n)}` };
}

export const rootActivity: EventDetector = {
  kind: "event",
  id: "root-activity",
  title: "Root user activity",
  description: "The account's root user signed in or made API calls. Root should be locked away behind MFA and used only for the few tasks that need it.",
  severity: "high",
  cites: "The single root call.",
  attack: ["T1078.004"],
  investigate: [
    "Ask the holders of the root credentials whether they signed in, and why.",
    "Check that root has hardware MFA and no access keys (IAM credential report).",
    "Review every action in the root session; rotate the root password if the use is not explained.",
  ],
  falsePositives: ["Tasks that need root: closing the account, changing the support plan, restoring IAM access, some billing settings."],
  select: (ev) => ev.principal.type === "Root",
  mayTake: { principalTypes: ["Root"] },
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    if (ev.principal.type !== "Root") return null;
    if (ev.eventType.toLowerCase() === "awsserviceevent") return null;
    const inv = ev.principal.invokedBy;
    if (inv && inv !== "signin.amazonaws.com" && inv !== "console.amazonaws.com" && inv !== "AWS Internal") return null;
    const c = classify(ev);
    if (!c) return null;
    const failed = outcomeFailed(ev);
    const nov = novelty(ctx, apiKey(ev), ev.service + ":" + ev.eventName);
    const why =
      `${c.what[0]!.toUpperCase()}${c.what.slice(1)} on account ${q(ev.accountId)} from ${q(ev.sourceIp || "unknown address")}. ` +
      `${nov.text}` +
      (failed && !ev.failed ? " The attempt failed: someone has the root e-mail address and is trying to sign in." : "");
    const sev: Severity = c.severity;
    const d = draft(ev, sev, why, [c.kind], {
      title: `Root ${c.kind === "sign-in" ? "console sign-in" : c.kind === "credentials" ? "credential change" : c.kind === "read" ? "read-only activity" : "activity"}${failed ? " (failed)" : ""}`,
      evidence: { kind: c.kind, mfaUsed: ev.additionalEventData?.MFAUsed },
      // A failed root sign-in is still serious: someone is trying the root password.
      failedSeverity: c.kind === "sign-in" ? "medium" : c.severity === "critical" ? "medium" : "low",
    });
    if (failed && !ev.failed) {
      d.failed = true;
      d.severity = "medium";
    }
    return d;
  },
};

export default rootActivity;
