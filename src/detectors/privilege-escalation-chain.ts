import type { Severity, TrailEvent } from "../events/types.js";
import { adminGrant, managedPolicyRisk, parsePolicy } from "./lib/policy.js";
import { arnName, isIaC, multiDraft, q, rp, str, who } from "./lib/util.js";
import type { DetectorContext, FindingDraft, IdentityWindow, WindowDetector } from "./types.js";

/**
 * Multi-step privilege escalation inside one identity's window:
 *
 * - PassRole chain: the identity gives a role administrator-level permissions and then hands
 *   that role to compute it controls (Lambda CreateFunction / UpdateFunctionConfiguration,
 *   RunInstances with an instance profile, CloudFormation CreateStack with a service role);
 * - self-escalation: the identity grants administrator-level permissions to itself (its own
 *   user or the role it is using).
 *
 * Uses the window candidates selected by `privilege-escalation` (IAM changes, instance
 * profiles, CreateStack) and `execution-and-lateral-movement` (CreateFunction, RunInstances).
 * Infrastructure as code doing this is reported one step lower.
 */

interface Grant {
  ev: TrailEvent;
  role?: string;
  user?: string;
  label: string;
}

function grantOf(ev: TrailEvent): Grant | null {
  if (ev.service !== "iam" || ev.failed) return null;
  const role = str(rp(ev, "roleName"));
  const user = str(rp(ev, "userName"));
  let label: string | undefined;
  if (/^Attach(Role|User)Policy$/.test(ev.eventName)) {
    const arn = str(rp(ev, "policyArn"));
    const risk = arn ? managedPolicyRisk(arn) : null;
    if (risk) label = `policy ${q(risk.name)}`;
  } else if (/^Put(Role|User)Policy$/.test(ev.eventName)) {
    const g = adminGrant(parsePolicy(rp(ev, "policyDocument")));
    if (g.admin) label = `inline policy ${q(str(rp(ev, "policyName")) ?? "?")} (${g.detail})`;
  }
  if (!label) return null;
  const out: Grant = { ev, label };
  if (role) out.role = role;
  if (user) out.user = user;
  return out;
}

/** The role a compute-creating call passes, by role name. */
function passedRole(ev: TrailEvent, profiles: Map<string, string>): string | undefined {
  switch (ev.service + ":" + ev.eventName) {
    case "lambda:CreateFunction":
    case "lambda:UpdateFunctionConfiguration": {
      const r = str(rp(ev, "role"));
      return r ? arnName(r) : undefined;
    }
    case "cloudformation:CreateStack":
    case "cloudformation:UpdateStack": {
      const r = str(rp(ev, "roleARN"));
      return r ? arnName(r) : undefined;
    }
    case "ec2:RunInstances": {
      const prof = str(rp(ev, "iamInstanceProfile", "name")) ?? str(rp(ev, "iamInstanceProfile", "arn"));
      if (!prof) return undefined;
      return profiles.get(arnName(prof));
    }
    default:
      return undefined;
  }
}

export const privilegeEscalationChain: WindowDetector = {
  kind: "window",
  id: "privilege-escalation-chain",
  title: "Privilege escalation chain (PassRole or self-grant)",
  description:
    "An identity grants administrator-level permissions to a role and then passes that role to compute it controls (Lambda, EC2, CloudFormation), or grants such permissions to itself.",
  severity: "high",
  cites: "The grant and, for a passed role, the compute call that used it.",
  attack: ["T1098", "T1078.004"],
  investigate: [
    "What did the compute running with the escalated role do (function invocations, instance activity, stack resources)?",
    "Should the caller be allowed iam:PassRole and iam:Attach*Policy at the same time? Tighten with permission boundaries.",
    "Revert the grant and stop the compute if the chain is not explained.",
  ],
  falsePositives: ["Infrastructure as code bootstrapping an administrative function or stack (reported one step lower).", "Administrators setting up break-glass automation."],
  detect(win: IdentityWindow, _ctx: DetectorContext): FindingDraft[] {
    const out: FindingDraft[] = [];
    const p = win.principal;
    const grants: Grant[] = [];
    const profiles = new Map<string, string>();
    for (const ev of win.candidates) {
      const g = grantOf(ev);
      if (g) grants.push(g);
      if (ev.service === "iam" && ev.eventName === "AddRoleToInstanceProfile" && !ev.failed) {
        const prof = str(rp(ev, "instanceProfileName"));
        const role = str(rp(ev, "roleName"));
        if (prof && role) profiles.set(prof, role);
      }
    }
    if (grants.length === 0) return out;

    // Self-escalation.
    for (const g of grants) {
      const self = (p.type === "IAMUser" && g.user !== undefined && g.user === p.userName) || (p.type === "AssumedRole" && g.role !== undefined && g.role === p.userName);
      if (!self) continue;
      const sev: Severity = isIaC(g.ev) ? "high" : "critical";
      const why = `${who(p)} granted ${g.label} to itself (${g.user ? `user ${q(g.user)}` : `role ${q(g.role!)}`}). An identity able to raise its own permissions can do anything in the account.`;
      out.push(multiDraft([g.ev], sev, why, ["self", g.user ?? g.role ?? ""], { title: "Identity granted itself administrator permissions", evidence: { grant: g.label } }));
    }

    // PassRole chain.
    const seen = new Set<string>();
    for (const ev of win.candidates) {
      if (ev.failed) continue;
      const role = passedRole(ev, profiles);
      if (!role || seen.has(role)) continue;
      const g = grants.find((x) => x.role === role && x.ev.time <= ev.time);
      if (!g) continue;
      seen.add(role);
      const iac = isIaC(g.ev) && isIaC(ev);
      const sev: Severity = iac ? "medium" : "high";
      const why =
        `${who(p)} granted ${g.label} to role ${q(role)} and then passed that role to ${q(ev.service + ":" + ev.eventName)}` +
        `${str(rp(ev, "functionName")) ? ` (function ${q(str(rp(ev, "functionName")))})` : str(rp(ev, "stackName")) ? ` (stack ${q(str(rp(ev, "stackName")))})` : ""}. ` +
        "Code running with that role now holds the escalated permissions." +
        (iac ? " Both steps came from infrastructure as code." : "");
      out.push(multiDraft([g.ev, ev], sev, why, ["passrole", role], { title: "Escalated role passed to compute", evidence: { role, grant: g.label, compute: ev.eventName } }));
    }
    return out;
  },
};

export default privilegeEscalationChain;
