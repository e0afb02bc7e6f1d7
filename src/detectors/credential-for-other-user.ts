import type { Severity, TrailEvent } from "../events/types.js";
import { apiKey, bool, draft, isIaC, lower, novelty, q, rp, str, who } from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * Credentials created for someone else: access keys, console passwords, service-specific
 * credentials, SSH keys or MFA devices for a user other than the caller. This is how attackers
 * keep access (a key on a forgotten user) and move sideways (a known password on a privileged
 * user). Roles and root creating credentials for users always count as "someone else".
 */

const EVENTS: Record<string, { what: string; base: Severity; attack: string[] }> = {
  CreateAccessKey: { what: "created an access key", base: "medium", attack: ["T1098.001"] },
  CreateLoginProfile: { what: "created a console password", base: "medium", attack: ["T1098.001", "T1078.004"] },
  UpdateLoginProfile: { what: "changed the console password", base: "medium", attack: ["T1098.001", "T1078.004"] },
  CreateServiceSpecificCredential: { what: "created a service-specific credential (CodeCommit/Keyspaces)", base: "medium", attack: ["T1098.001"] },
  ResetServiceSpecificCredential: { what: "reset a service-specific credential", base: "medium", attack: ["T1098.001"] },
  UploadSSHPublicKey: { what: "uploaded an SSH public key", base: "low", attack: ["T1098.004"] },
  UploadSigningCertificate: { what: "uploaded a signing certificate", base: "medium", attack: ["T1098.001"] },
  EnableMFADevice: { what: "enabled an MFA device", base: "medium", attack: ["T1098.005"] },
};

const ADMINISH = /admin|root|break.?glass|emergency|owner|super.?user/i;

export const credentialForOtherUser: EventDetector = {
  kind: "event",
  id: "credential-for-other-user",
  title: "Credentials created for another user",
  description:
    "An identity created or changed long-lived credentials (access key, console password, service credential, SSH key, MFA device) of a different IAM user: a classic persistence and lateral-movement step.",
  severity: "medium",
  cites: "The single call that created or changed the other user's credential.",
  attack: ["T1098.001"],
  investigate: [
    "Ask the target user whether they requested the credential; list their keys and when each was last used.",
    "Check what the caller did before (was it itself compromised?) and what the new credential did afterwards.",
    "Deactivate the credential if the change is not explained.",
  ],
  falsePositives: [
    "Administrators onboarding users or rotating keys for service users.",
    "Infrastructure as code creating keys for service users (reported at low severity).",
    "Helpdesk password resets that force a change at next sign-in (not reported).",
  ],
  eventNames: Object.keys(EVENTS),
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    const spec = EVENTS[ev.eventName];
    if (!spec || ev.service !== "iam") return null;
    const target = str(rp(ev, "userName"));
    const p = ev.principal;
    if (!target) return null; // no userName: the caller's own credential
    if (p.type === "IAMUser" && p.userName === target) return null;
    // A federated person (SSO/SAML session named after them) changing their own IAM user.
    const session = p.sessionName?.toLowerCase();
    if (p.type === "AssumedRole" && session && (session === target.toLowerCase() || session.startsWith(target.toLowerCase() + "@"))) return null;
    if (p.type === "AWSService") return null;
    let sev = spec.base;
    const notes: string[] = [];
    if (ev.eventName === "CreateLoginProfile" || ev.eventName === "UpdateLoginProfile") {
      const reset = bool(rp(ev, "passwordResetRequired"));
      if (reset === true) {
        // A helpdesk reset: the user must choose a new password at next sign-in.
        if (ev.eventName === "UpdateLoginProfile") return null;
        sev = "low";
        notes.push("The user must change the password at first sign-in.");
      } else {
        sev = "high";
        notes.push("No password change is required at next sign-in, so whoever set it can keep using it.");
      }
    }
    if (ADMINISH.test(target) && ev.eventName !== "UploadSSHPublicKey") {
      sev = sev === "low" ? "medium" : "high";
      notes.push(`The target name ${q(target)} suggests a privileged or automation user.`);
    }
    const nov = novelty(ctx, apiKey(ev), "iam:" + ev.eventName);
    if (nov.known && sev !== "high") sev = lower(sev);
    if (isIaC(ev)) {
      sev = "low";
      notes.push("The call came from infrastructure as code.");
    }
    const why = `${who(p)} ${spec.what} for IAM user ${q(target)}. ${notes.join(" ")} ${nov.text}`.replace(/\s+/g, " ").trim();
    return draft(ev, sev, why, [ev.eventName, target], {
      title: `${spec.what[0]!.toUpperCase()}${spec.what.slice(1)} for another user`,
      attack: spec.attack,
      evidence: { targetUser: target },
    });
  },
};

export default credentialForOtherUser;
