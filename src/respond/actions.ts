/**
 * Which containment actions fit a finding, which are refused and why, and the exact IAM calls of
 * each (the plan). Pure: no AWS call here (the access key used is resolved by the caller, see
 * responder.ts), so the same plan is shown in Slack's confirmation, printed by the CLI and executed.
 *
 * Actions (docs/RESPOND.md has the responder role's permissions):
 * - deactivate-key        the IAM user's access key used in the finding: UpdateAccessKey Inactive (never deleted); undo: Active
 * - revoke-sessions       a role's sessions issued before now: inline policy AWSRevokeOlderSessions (aws:TokenIssueTime)
 * - quarantine            an inline deny-all policy on the user or role; undo: delete it
 * - delete-login-profile  the console password the finding shows being created
 * - detach-policy         the managed policy the finding shows being attached
 *
 * Refused: root, AWS services, service-linked roles, IAM Identity Center roles (revoke there), the
 * bot's own roles and users (scan roles, responder roles, its own caller identity), identities
 * without an account or name, and findings whose every event failed for evidence-based actions.
 */
import type { ContainmentCall } from "../store/types.js";
import type { Finding } from "../scan/report-types.js";

export const CONTAIN_ACTIONS = ["deactivate-key", "revoke-sessions", "quarantine", "delete-login-profile", "detach-policy"] as const;
export type ContainAction = (typeof CONTAIN_ACTIONS)[number];

export const QUARANTINE_POLICY_NAME = "TrailhoundQuarantine";
export const REVOKE_POLICY_NAME = "AWSRevokeOlderSessions";

export const ACTION_LABELS: Record<ContainAction, string> = {
  "deactivate-key": "Deactivate the access key used",
  "revoke-sessions": "Revoke the role's active sessions",
  quarantine: "Quarantine (deny-all policy)",
  "delete-login-profile": "Delete the console password created",
  "detach-policy": "Detach the policy attached",
};

export class RespondError extends Error {
  constructor(
    /** refused: not allowed for this finding; not-found; invalid: bad input; state: not in a state for it; unavailable: AWS not reachable/configured. */
    readonly code: "refused" | "not-found" | "invalid" | "state" | "unavailable",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "RespondError";
  }
}

/** An IAM principal a containment touches. */
export interface IamTarget {
  kind: "user" | "role" | "group";
  account: string;
  name: string;
  /** The role's path ("/aws-service-role/..."), when known. */
  path?: string;
}

export interface ActionOption {
  action: ContainAction;
  label: string;
  /** What it acts on, for people: "user alice in 111111111111". */
  target: string;
  undoable: boolean;
}

export interface Refusal {
  action?: ContainAction;
  reason: string;
}

export interface GuardConfig {
  /** The bot's own principals (scan roles, responder roles, its caller identity): never contained. */
  protectedArns: readonly string[];
}

const IAM_ARN = /^arn:aws(?:-[a-z]+)*:(iam|sts)::(\d{12}):(user|role|assumed-role|group|root)(\/.*)?$/;

/** The principal an ARN names: IAM user/role/group ARNs, and STS assumed-role session ARNs (as their role). */
export function parsePrincipalArn(arn: string): IamTarget | undefined {
  const m = IAM_ARN.exec(arn);
  if (!m) return undefined;
  const [, , account, type, rest] = m;
  const segs = (rest ?? "").split("/").filter(Boolean);
  if (type === "assumed-role") return segs[0] ? { kind: "role", account: account!, name: segs[0] } : undefined;
  if (type === "root" || segs.length === 0) return undefined;
  const name = segs[segs.length - 1]!;
  const path =
    "/" +
    segs
      .slice(0, -1)
      .map((s) => s + "/")
      .join("");
  const kind = type === "user" ? "user" : type === "role" ? "role" : "group";
  return { kind, account: account!, name, path };
}

export function isServiceLinkedRole(t: IamTarget): boolean {
  return t.kind === "role" && ((t.path ?? "").startsWith("/aws-service-role/") || /^AWSServiceRoleFor/.test(t.name));
}

export function isIdentityCenterRole(t: IamTarget): boolean {
  return t.kind === "role" && ((t.path ?? "").startsWith("/aws-reserved/sso.amazonaws.com/") || /^AWSReservedSSO_/.test(t.name));
}

/** Why a containment may not touch this principal, or undefined when it may. */
export function targetRefusal(t: IamTarget, guard: GuardConfig): string | undefined {
  if (isServiceLinkedRole(t)) return `${t.name} is a service-linked role: AWS manages it and IAM refuses changes to it`;
  for (const arn of guard.protectedArns) {
    const p = parsePrincipalArn(arn);
    if (p && p.account === t.account && p.kind === t.kind && p.name === t.name)
      return `${t.kind} ${t.name} is one of trailhound's own identities (${arn}): containing it would blind or disarm the bot`;
  }
  return undefined;
}

/** The identity of a finding as an IAM target (users and roles), or why it cannot be contained. */
export function identityTarget(f: Finding): { target?: IamTarget; refusal?: string } {
  const id = f.identity;
  if (id.type === "Root" || id.key.startsWith("root:"))
    return { refusal: "the account's root user cannot be contained by IAM calls: sign in as root, rotate its password and MFA, delete its access keys" };
  if (id.type === "AWSService" || id.key.startsWith("service:")) return { refusal: "an AWS service acted: there is no identity of yours to contain" };
  if (!id.accountId) return { refusal: "the finding does not name the identity's account" };
  const parsed = id.arn ? parsePrincipalArn(id.arn) : undefined;
  if (id.type === "IAMUser") {
    const name = id.userName ?? (parsed?.kind === "user" ? parsed.name : undefined);
    if (!name) return { refusal: "the finding does not name the IAM user" };
    return { target: { kind: "user", account: id.accountId, name, ...(parsed?.path ? { path: parsed.path } : {}) } };
  }
  if (id.type === "AssumedRole") {
    const name = parsed?.kind === "role" ? parsed.name : id.userName;
    if (!name) return { refusal: "the finding does not name the role" };
    return { target: { kind: "role", account: id.accountId, name, ...(parsed?.path ? { path: parsed.path } : {}) } };
  }
  return { refusal: `identities of type ${id.type} (${id.key}) cannot be contained through IAM; contain the user or role that issued their credentials` };
}

function ev(f: Finding): Record<string, unknown> {
  return f.evidence ?? {};
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

/** The user whose console password the finding shows being created. */
export function loginProfileTarget(f: Finding): IamTarget | undefined {
  const e = ev(f);
  if (e.eventName !== "CreateLoginProfile" || f.failed) return undefined;
  const user = str(e.targetUser) ?? str(e.userName) ?? (typeof e.target === "string" ? e.target : undefined);
  const account = f.identity.accountId;
  return user && account ? { kind: "user", account, name: user } : undefined;
}

/** The managed policy the finding shows being attached, and to what. */
export function attachedPolicy(f: Finding): { target: IamTarget; policyArn: string } | undefined {
  const e = ev(f);
  const api = e.eventName;
  if ((api !== "AttachUserPolicy" && api !== "AttachRolePolicy" && api !== "AttachGroupPolicy") || f.failed) return undefined;
  const policyArn = str(e.policyArn);
  const t = e.target as { kind?: unknown; name?: unknown } | undefined;
  const kind = api === "AttachUserPolicy" ? "user" : api === "AttachRolePolicy" ? "role" : "group";
  const name = t && typeof t === "object" ? str(t.name) : undefined;
  const account = f.identity.accountId;
  if (!policyArn || !name || !account || !/^arn:aws(?:-[a-z]+)*:iam::(aws|\d{12}):policy\//.test(policyArn)) return undefined;
  return { target: { kind, account, name }, policyArn };
}

function describe(t: IamTarget): string {
  return `${t.kind} ${t.name} in ${t.account}`;
}

/** The actions that fit the finding, and the ones refused with the reason. */
export function containOptions(f: Finding, guard: GuardConfig): { options: ActionOption[]; refusals: Refusal[] } {
  const options: ActionOption[] = [];
  const refusals: Refusal[] = [];
  const offer = (action: ContainAction, t: IamTarget, undoable: boolean) => {
    const why = targetRefusal(t, guard);
    if (why) refusals.push({ action, reason: why });
    else options.push({ action, label: ACTION_LABELS[action], target: describe(t), undoable });
  };
  const { target: t0, refusal } = identityTarget(f);
  let target = t0;
  if (refusal) refusals.push({ reason: refusal });
  const identityRefusal = target ? targetRefusal(target, guard) : undefined;
  if (identityRefusal) {
    refusals.push({ reason: identityRefusal });
    target = undefined;
  }
  if (target?.kind === "user") {
    offer("deactivate-key", target, true);
    offer("quarantine", target, true);
  } else if (target?.kind === "role") {
    if (isIdentityCenterRole(target)) {
      refusals.push({ reason: `${target.name} is an IAM Identity Center role: IAM refuses changes to it; revoke the user's sessions and permission set in IAM Identity Center` });
    } else {
      offer("revoke-sessions", target, false);
      offer("quarantine", target, true);
    }
  }
  const lp = loginProfileTarget(f);
  if (lp) offer("delete-login-profile", lp, false);
  const ap = attachedPolicy(f);
  if (ap) offer("detach-policy", ap.target, false);
  return { options, refusals };
}

/** The plan of one action: exactly what will be called, where, and what it breaks. */
export interface Plan {
  findingId: string;
  action: ContainAction;
  account: string;
  /** The ARN acted on. */
  resource: string;
  summary: string;
  calls: ContainmentCall[];
  breaks: string;
  /** The calls that undo it (for deactivate-key, only the keys that were active: fixed at execution). */
  undo?: ContainmentCall[];
  /** Anything the person approving should know (how the key was found, propagation delay). */
  notes: string[];
}

/** "AKIA...WXYZ": enough to recognise a key, as in the AWS console. */
export function maskKey(id: string): string {
  return id.length > 8 ? `${id.slice(0, 4)}...${id.slice(-4)}` : id;
}

export const DENY_ALL_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Sid: "TrailhoundQuarantine", Effect: "Deny", Action: ["*"], Resource: ["*"] }],
});

/** The documented "revoke active sessions" policy: deny everything to tokens issued before `cutoff`. */
export function revokePolicy(cutoff: Date): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Deny", Action: ["*"], Resource: ["*"], Condition: { DateLessThan: { "aws:TokenIssueTime": cutoff.toISOString() } } }],
  });
}

function arnOf(t: IamTarget, partition = "aws"): string {
  const path = t.path ?? "/";
  return `arn:${partition}:iam::${t.account}:${t.kind}${path}${t.name}`;
}

const IAM_PROPAGATION = "IAM changes reach every region within seconds, at worst a few minutes.";

export interface PlanInput {
  finding: Finding;
  action: ContainAction;
  guard: GuardConfig;
  /** deactivate-key: the keys used (resolved by the caller from the finding's events or given). */
  accessKeyIds?: readonly string[];
  /** How the keys were found, shown in the plan. */
  keyNote?: string;
  /** revoke-sessions: the cut-off shown (the executed call uses the time of execution). */
  now: Date;
}

export function buildPlan(p: PlanInput): Plan {
  const f = p.finding;
  const { options, refusals } = containOptions(f, p.guard);
  if (!options.some((o) => o.action === p.action)) {
    const why = refusals.find((r) => r.action === p.action) ?? refusals.find((r) => r.action === undefined);
    throw new RespondError(
      "refused",
      `${p.action} does not fit finding ${f.id}${why ? `: ${why.reason}` : ""}${options.length ? ` (possible: ${options.map((o) => o.action).join(", ")})` : ""}`,
    );
  }
  const base = { findingId: f.id, action: p.action };
  switch (p.action) {
    case "deactivate-key": {
      const t = identityTarget(f).target!;
      const keys = [...new Set(p.accessKeyIds ?? [])];
      if (keys.length === 0) throw new RespondError("not-found", `no access key of user ${t.name} was found in the finding's events; name it (CLI: --access-key-id)`);
      for (const k of keys) {
        if (!/^AKIA[A-Z0-9]{12,124}$/.test(k))
          throw new RespondError("invalid", `${k} is not a long-term access key id (AKIA...): temporary keys (ASIA...) cannot be deactivated; quarantine the user instead`);
      }
      return {
        ...base,
        account: t.account,
        resource: arnOf(t),
        summary: `key${keys.length > 1 ? "s" : ""} ${keys.map(maskKey).join(", ")} deactivated`,
        calls: keys.map((k) => ({ api: "iam:UpdateAccessKey", input: { UserName: t.name, AccessKeyId: k, Status: "Inactive" } })),
        breaks: `Every program that signs with ${keys.length > 1 ? "these keys" : "this key"} (scripts, CI jobs, applications using user ${t.name}'s key) gets InvalidClientTokenId until it is reactivated. The user's console password and other keys keep working.`,
        undo: keys.map((k) => ({ api: "iam:UpdateAccessKey", input: { UserName: t.name, AccessKeyId: k, Status: "Active" } })),
        notes: [...(p.keyNote ? [p.keyNote] : []), "The key is deactivated, never deleted.", IAM_PROPAGATION],
      };
    }
    case "revoke-sessions": {
      const t = identityTarget(f).target!;
      return {
        ...base,
        account: t.account,
        resource: arnOf(t),
        summary: `sessions of role ${t.name} issued before ${p.now.toISOString()} revoked`,
        calls: [{ api: "iam:PutRolePolicy", input: { RoleName: t.name, PolicyName: REVOKE_POLICY_NAME, PolicyDocument: revokePolicy(p.now) } }],
        breaks: `Every session of role ${t.name} issued before the cut-off is denied every action, legitimate ones too: people, instances and functions using the role must obtain new credentials (instance profiles and Lambda do so within minutes). Sessions issued later are not affected.`,
        notes: [
          "The cut-off (aws:TokenIssueTime) is the time of execution; running it again moves it.",
          "Not undone by trailhound: the revoked sessions stay revoked (delete the inline policy by hand to lift it).",
          IAM_PROPAGATION,
        ],
      };
    }
    case "quarantine": {
      const t = identityTarget(f).target!;
      const user = t.kind === "user";
      const nameKey = user ? "UserName" : "RoleName";
      return {
        ...base,
        account: t.account,
        resource: arnOf(t),
        summary: `${t.kind} ${t.name} quarantined (deny-all policy ${QUARANTINE_POLICY_NAME})`,
        calls: [{ api: user ? "iam:PutUserPolicy" : "iam:PutRolePolicy", input: { [nameKey]: t.name, PolicyName: QUARANTINE_POLICY_NAME, PolicyDocument: DENY_ALL_POLICY } }],
        breaks: user
          ? `User ${t.name} is denied every AWS action, console and API, with every key and session, until the policy is removed.`
          : `Every session of role ${t.name}, current and future (people, instances, functions, other accounts assuming it), is denied every action until the policy is removed.`,
        undo: [{ api: user ? "iam:DeleteUserPolicy" : "iam:DeleteRolePolicy", input: { [nameKey]: t.name, PolicyName: QUARANTINE_POLICY_NAME } }],
        notes: [IAM_PROPAGATION],
      };
    }
    case "delete-login-profile": {
      const t = loginProfileTarget(f)!;
      return {
        ...base,
        account: t.account,
        resource: arnOf(t),
        summary: `console password of user ${t.name} deleted`,
        calls: [{ api: "iam:DeleteLoginProfile", input: { UserName: t.name } }],
        breaks: `User ${t.name} can no longer sign in to the console. Access keys are not affected: deactivate them too if they may be stolen. Cannot be undone (only a new password can be set).`,
        notes: [IAM_PROPAGATION],
      };
    }
    case "detach-policy": {
      const ap = attachedPolicy(f)!;
      const t = ap.target;
      const api = t.kind === "user" ? "iam:DetachUserPolicy" : t.kind === "role" ? "iam:DetachRolePolicy" : "iam:DetachGroupPolicy";
      const nameKey = t.kind === "user" ? "UserName" : t.kind === "role" ? "RoleName" : "GroupName";
      return {
        ...base,
        account: t.account,
        resource: arnOf(t),
        summary: `policy ${ap.policyArn} detached from ${t.kind} ${t.name}`,
        calls: [{ api, input: { [nameKey]: t.name, PolicyArn: ap.policyArn } }],
        breaks: `${t.kind === "group" ? `Members of group ${t.name}` : `${t.kind === "user" ? "User" : "Role"} ${t.name}`} lose${t.kind === "group" ? "" : "s"} the permissions of ${ap.policyArn}, including any legitimate use of them.`,
        notes: ["Not undone by trailhound (attach it again by hand if it was legitimate).", IAM_PROPAGATION],
      };
    }
  }
}
