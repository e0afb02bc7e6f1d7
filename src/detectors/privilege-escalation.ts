import type { Severity, TrailEvent } from "../events/types.js";
import { adminGrant, exposure, managedPolicyRisk, parsePolicy } from "./lib/policy.js";
import { apiKey, bool, draft, isIaC, lower, novelty, ownAccounts, q, rp, str, who, type RuleHit, type OwnAccounts } from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * IAM changes that grant power: administrator policies attached or written inline, policy
 * versions swapped, users added to admin groups, and role trust policies opened to other
 * accounts, to everyone or to any GitHub repository. Infrastructure as code lowers policy
 * grants one step, never trust opened outside the organisation.
 *
 * CreateStack, CreateInstanceProfile and AddRoleToInstanceProfile are selected (no finding on
 * their own) so that `privilege-escalation-chain` sees them among the window candidates.
 */

const ADMIN_GROUP = /admin|administrator|power.?user|super.?user|root|full.?access|iam/i;

interface Hit extends RuleHit {
  /** Trust opened outside the organisation: IaC does not lower it. */
  external?: boolean;
}

function targetOf(ev: TrailEvent): { kind: string; name: string } {
  for (const [k, kind] of [
    ["userName", "user"],
    ["roleName", "role"],
    ["groupName", "group"],
  ] as const) {
    const v = str(rp(ev, k));
    if (v) return { kind, name: v };
  }
  return { kind: "policy", name: str(rp(ev, "policyArn")) ?? "" };
}

function attachRule(ev: TrailEvent): Hit | null {
  const arn = str(rp(ev, "policyArn"));
  if (!arn) return null;
  const risk = managedPolicyRisk(arn);
  if (!risk) return null;
  const t = targetOf(ev);
  const sev: Severity = risk.level === "admin" || risk.level === "iam" ? "high" : "medium";
  const label = risk.level === "named-admin" ? `customer policy ${q(risk.name)} (its name suggests administrator rights)` : `${q(risk.name)}`;
  return { severity: sev, what: `attached ${label} to ${t.kind} ${q(t.name)}`, target: `${t.kind}:${t.name}:${risk.name}`, evidence: { policyArn: arn, target: t } };
}

function inlineRule(ev: TrailEvent): Hit | null {
  const doc = parsePolicy(rp(ev, "policyDocument"));
  const g = adminGrant(doc);
  if (!g.admin) return null;
  const t = targetOf(ev);
  const name = str(rp(ev, "policyName")) ?? "?";
  return {
    severity: "high",
    what: `wrote inline policy ${q(name)} on ${t.kind} ${q(t.name)} granting ${g.detail}`,
    target: `${t.kind}:${t.name}:${name}`,
    evidence: { target: t, policyName: name },
  };
}

function trustRule(docParam: string) {
  return (ev: TrailEvent, own: OwnAccounts): Hit | null => {
    const raw = rp(ev, docParam);
    const doc = parsePolicy(raw);
    if (!doc) return null;
    const x = exposure(doc, own);
    const role = str(rp(ev, "roleName")) ?? "?";
    const verb = ev.eventName === "CreateRole" ? "created role" : "changed the trust policy of role";
    if (x.public)
      return {
        severity: "critical",
        what: `${verb} ${q(role)} so that any AWS principal (\`*\`) can assume it`,
        target: role,
        external: true,
        attack: ["T1098.003"],
        evidence: { principal: "*" },
      };
    if (x.externalAccounts.length > 0)
      return {
        severity: "high",
        what: `${verb} ${q(role)} trusting account${x.externalAccounts.length > 1 ? "s" : ""} ${x.externalAccounts.map((a) => q(a)).join(", ")} outside the organisation`,
        target: role,
        external: true,
        attack: ["T1098.003"],
        evidence: { externalAccounts: x.externalAccounts },
      };
    if (x.openFederation.length > 0)
      return {
        severity: "high",
        what: `${verb} ${q(role)} trusting web identities from ${x.openFederation.map((f) => q(f)).join(", ")} without a subject condition (anyone with such a token can assume it)`,
        target: role,
        external: true,
        attack: ["T1098.003"],
        evidence: { openFederation: x.openFederation },
      };
    return null;
  };
}

const createRoleTrust = trustRule("assumeRolePolicyDocument");
const updateTrust = trustRule("policyDocument");

export const privilegeEscalation: EventDetector = {
  kind: "event",
  id: "privilege-escalation",
  title: "Privilege escalation through IAM",
  description:
    "Administrator-equivalent permissions granted (AdministratorAccess, IAMFullAccess, PowerUserAccess, inline `*:*`), policy versions swapped, users added to admin groups, or role trust opened to other accounts, to everyone or to any GitHub repository.",
  severity: "high",
  cites: "The single permission change.",
  attack: ["T1098", "T1098.003", "T1484"],
  investigate: [
    "Who asked for the change? Look for a ticket or an IaC pull request.",
    "What did the target principal do after gaining the permissions (and who can use it)?",
    "Revert the grant or trust policy if it is not explained; review the caller's other IAM changes.",
  ],
  falsePositives: [
    "Administrators setting up new admins or break-glass roles.",
    "Cross-account trust to a vendor or a partner account not listed in the organisation's accounts.",
    "Infrastructure as code provisioning admin roles (reported one step lower).",
  ],
  eventNames: [
    "AttachUserPolicy",
    "AttachRolePolicy",
    "AttachGroupPolicy",
    "PutUserPolicy",
    "PutRolePolicy",
    "PutGroupPolicy",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "AddUserToGroup",
    "CreateRole",
    "UpdateAssumeRolePolicy",
    "CreateInstanceProfile",
    "AddRoleToInstanceProfile",
    "CreateStack",
  ],
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    if (ev.service !== "iam") return null;
    const own = ownAccounts(ev, ctx);
    let hit: Hit | null = null;
    switch (ev.eventName) {
      case "AttachUserPolicy":
      case "AttachRolePolicy":
      case "AttachGroupPolicy":
        hit = attachRule(ev);
        break;
      case "PutUserPolicy":
      case "PutRolePolicy":
      case "PutGroupPolicy":
        hit = inlineRule(ev);
        break;
      case "CreatePolicyVersion": {
        if (bool(rp(ev, "setAsDefault")) !== true) return null;
        const g = adminGrant(parsePolicy(rp(ev, "policyDocument")));
        const arn = str(rp(ev, "policyArn")) ?? "?";
        hit = {
          severity: g.admin ? "high" : "medium",
          what: `made a new default version of policy ${q(arn)}${g.admin ? ` granting ${g.detail}` : ""} (everyone holding the policy gets the new rights at once)`,
          target: arn,
        };
        break;
      }
      case "SetDefaultPolicyVersion":
        hit = {
          severity: "medium",
          what: `switched policy ${q(str(rp(ev, "policyArn")) ?? "?")} to version ${q(str(rp(ev, "versionId")) ?? "?")} (an older version may be more permissive)`,
          target: str(rp(ev, "policyArn")) ?? "",
        };
        break;
      case "AddUserToGroup": {
        const group = str(rp(ev, "groupName")) ?? "";
        const user = str(rp(ev, "userName")) ?? "";
        if (ADMIN_GROUP.test(group)) {
          hit = { severity: "high", what: `added user ${q(user)} to group ${q(group)}, whose name suggests administrator rights`, target: `${group}:${user}` };
        } else {
          const nov = novelty(ctx, apiKey(ev));
          if (!nov.learned || nov.known) return null;
          hit = { severity: "low", what: `added user ${q(user)} to group ${q(group)} for the first time`, target: `${group}:${user}` };
        }
        break;
      }
      case "CreateRole":
        hit = createRoleTrust(ev, own);
        break;
      case "UpdateAssumeRolePolicy":
        hit = updateTrust(ev, own);
        break;
      default:
        return null; // selected only for privilege-escalation-chain
    }
    if (!hit) return null;
    let sev = hit.severity;
    const notes: string[] = [];
    if (isIaC(ev) && !hit.external) {
      sev = lower(sev);
      notes.push("It came from infrastructure as code.");
    }
    const nov = novelty(ctx, apiKey(ev), "iam:" + ev.eventName);
    const why = `${who(ev.principal)} ${hit.what}. ${notes.join(" ")} ${nov.text}`.replace(/\s+/g, " ").trim();
    return draft(ev, sev, why, [ev.eventName, hit.target], {
      title: hit.external ? "Role trust opened outside the organisation" : "Administrator permissions granted",
      ...(hit.attack ? { attack: hit.attack } : {}),
      evidence: hit.evidence ?? { target: hit.target },
    });
  },
};

export default privilegeEscalation;
