import { DIMS, type Dim } from "../baseline/profile.js";
import type { TrailEvent } from "../events/types.js";
import { adminGrant, parsePolicy } from "./lib/policy.js";
import { accountOf, apiKey, arnName, draft, isAwsServiceCall, isSsoRole, novelty, ownAccounts, q, rp, str, who, type Novelty, type RuleHit } from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * Unusual ways of obtaining another identity: assuming a role across an account boundary, a
 * caller assuming a role it never assumed before (once baselines track caller -> role pairs),
 * role chaining, federation tokens (which outlive the revocation of the access key that minted
 * them), console sign-in tokens minted from API credentials, and IAM Roles Anywhere trust
 * anchors and profiles (X.509 certificates from outside AWS that can assume roles).
 *
 * Cold start: AssumeRole alone is never a finding; cross-account assumption, federation and
 * sign-in tokens and trust anchors are.
 */

/**
 * Baseline dimension with the roles an identity assumed (value: role ARN). Not in the core yet:
 * when the lead adds it to DIMS (see `ASSUMED_ROLE_DIM`), pair novelty starts working.
 */
export const ASSUMED_ROLE_DIM = "assumedRole";
const pairDim: Dim | undefined = (DIMS as readonly string[]).includes(ASSUMED_ROLE_DIM) ? (ASSUMED_ROLE_DIM as Dim) : undefined;

const NAMES = new Set([
  "AssumeRole",
  "AssumeRoleWithSAML",
  "AssumeRoleWithWebIdentity",
  "AssumeRoot",
  "GetFederationToken",
  "GetSigninToken",
  "CreateTrustAnchor",
  "UpdateTrustAnchor",
  "EnableTrustAnchor",
  "CreateProfile",
  "UpdateProfile",
]);

function assumeRule(ev: TrailEvent, ctx: DetectorContext): RuleHit | null {
  const roleArn = str(rp(ev, "roleArn"));
  if (!roleArn) return null;
  const p = ev.principal;
  const own = ownAccounts(ev, ctx);
  const roleAcct = accountOf(roleArn);
  const role = arnName(roleArn);
  const callerAcct = p.accountId;
  // Inbound: a principal of another account assumed a role of ours (the record is in our trail).
  if (callerAcct && roleAcct && callerAcct !== roleAcct && ev.accountId === roleAcct && !ctx.config.ownAccounts.has(callerAcct)) {
    return {
      severity: "high",
      what: `assumed role ${q(role)} from account ${q(callerAcct)} outside the organisation`,
      target: roleArn,
      attack: ["T1199", "T1078.004"],
      evidence: { roleArn, callerAccount: callerAcct },
    };
  }
  // Outbound: one of ours assumed a role in an account we do not know.
  if (roleAcct && !own.has(roleAcct)) {
    return {
      severity: "medium",
      what: `assumed role ${q(role)} in account ${q(roleAcct)} outside the organisation`,
      target: roleArn,
      attack: ["T1078.004"],
      evidence: { roleArn, roleAccount: roleAcct },
    };
  }
  if (ctx.learning) return null; // cold start / learning: AssumeRole alone says nothing
  const chained = p.type === "AssumedRole";
  if (pairDim) {
    if (ctx.baseline.known(pairDim, roleArn)) return null;
    return {
      severity: chained ? "medium" : "low",
      what: `assumed role ${q(role)} for the first time${chained ? " (role chaining: an assumed-role session assuming another role)" : ""}`,
      target: roleArn,
      evidence: { roleArn, chained, knownRoles: ctx.baseline.distinct(pairDim) },
    };
  }
  const nov = novelty(ctx, apiKey(ev));
  if (nov.known) return null;
  return {
    severity: chained ? "medium" : "low",
    what: `assumed a role (${q(role)}) for the first time${chained ? ", chaining from an assumed-role session" : ""}`,
    target: roleArn,
    evidence: { roleArn, chained },
  };
}

export const newRoleAssumption: EventDetector = {
  kind: "event",
  id: "new-role-assumption",
  title: "Unusual role assumption or federation",
  description:
    "Roles assumed across an account boundary or for the first time, role chaining, federation tokens, console sign-in tokens minted from API credentials, and IAM Roles Anywhere trust anchors and profiles.",
  severity: "medium",
  cites: "The single AssumeRole call to a role this identity never assumed (or from an unknown account).",
  attack: ["T1550.001", "T1078.004"],
  investigate: [
    "Which role was assumed, by whom, and from where? Follow the new session (its access key id) through the trail.",
    "For federation tokens and sign-in tokens: who holds the minting credentials, and is a federation broker expected?",
    "For Roles Anywhere: whose certificate authority was registered, and which roles can the profile assume?",
  ],
  falsePositives: [
    "Cross-account access to partner or organisation accounts not listed as own accounts.",
    "New automation assuming deployment roles.",
    "Console federation brokers and tools such as aws-vault (GetFederationToken, GetSigninToken).",
  ],
  // AWS services assume roles all day (every Lambda cold start): selecting them would crowd the
  // service identities' candidates for nothing, so they are left out at selection.
  select: (ev) => NAMES.has(ev.eventName) && !isAwsServiceCall(ev),
  mayTake: { eventNames: [...NAMES] },
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    if (isAwsServiceCall(ev)) return null;
    const p = ev.principal;
    let hit: RuleHit | null = null;
    // How the API relates to the history: its text is asked only of a finding (most role assumptions are none).
    let known: Novelty | undefined;
    const nov = (): Novelty => (known ??= novelty(ctx, apiKey(ev), `${ev.service}:${ev.eventName}`));
    switch (ev.service + ":" + ev.eventName) {
      case "sts:AssumeRole":
      case "sts:AssumeRoleWithSAML":
      case "sts:AssumeRoleWithWebIdentity":
        hit = assumeRule(ev, ctx);
        break;
      case "sts:AssumeRoot":
        hit = {
          severity: "high",
          what: `obtained root credentials of member account ${q(str(rp(ev, "targetPrincipal")) ?? "?")} (centralised root access) with task policy ${q(str(rp(ev, "taskPolicyArn", "arn")) ?? str(rp(ev, "taskPolicyArn")) ?? "?")}`,
          target: str(rp(ev, "targetPrincipal")) ?? "",
          attack: ["T1078.004"],
        };
        break;
      case "sts:GetFederationToken": {
        if (nov().known) return null;
        const name = str(rp(ev, "name")) ?? "?";
        const g = adminGrant(parsePolicy(rp(ev, "policy")));
        hit = {
          severity: g.admin ? "high" : "medium",
          what: `minted a federation token (federated user ${q(name)}${g.admin ? `, session policy granting ${g.detail}` : ""}); such sessions stay valid after the minting access key is deactivated`,
          target: "federation-token",
          attack: ["T1550.001", "T1098"],
        };
        break;
      }
      case "signin:GetSigninToken": {
        if (isSsoRole(p) || nov().known) return null;
        if (p.fromConsole) return null;
        hit = { severity: "medium", what: "turned API credentials into a console sign-in token (GetSigninToken)", target: "signin-token", attack: ["T1550.001"] };
        break;
      }
      case "rolesanywhere:CreateTrustAnchor":
      case "rolesanywhere:UpdateTrustAnchor":
      case "rolesanywhere:EnableTrustAnchor": {
        const name = str(rp(ev, "name")) ?? str(rp(ev, "trustAnchorId")) ?? "?";
        const verb = ev.eventName === "CreateTrustAnchor" ? "registered" : ev.eventName === "UpdateTrustAnchor" ? "changed" : "enabled";
        hit = {
          severity: nov().known ? "medium" : "high",
          what: `${verb} IAM Roles Anywhere trust anchor ${q(name)}: certificates issued by its CA can obtain AWS credentials from outside AWS`,
          target: name,
          attack: ["T1098", "T1556"],
        };
        break;
      }
      case "rolesanywhere:CreateProfile":
      case "rolesanywhere:UpdateProfile": {
        const name = str(rp(ev, "name")) ?? str(rp(ev, "profileId")) ?? "?";
        const roles = (rp(ev, "roleArns") as unknown[] | undefined)?.map(String) ?? [];
        hit = {
          severity: nov().known ? "low" : "medium",
          what: `${ev.eventName === "CreateProfile" ? "created" : "updated"} IAM Roles Anywhere profile ${q(name)} for role${roles.length === 1 ? "" : "s"} ${roles.map((r) => q(arnName(r))).join(", ") || "?"}`,
          target: name,
          attack: ["T1098"],
          evidence: { roles },
        };
        break;
      }
      default:
        return null;
    }
    if (!hit) return null;
    const why = `${who(p)} ${hit.what}. ${nov().text}`;
    return draft(ev, hit.severity, why, [ev.eventName, hit.target], { ...(hit.attack ? { attack: hit.attack } : {}), evidence: hit.evidence ?? { target: hit.target } });
  },
};

export default newRoleAssumption;
