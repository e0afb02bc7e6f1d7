/**
 * IAM / resource policy documents as they arrive in CloudTrail: an object, a JSON string, or a
 * URL-encoded JSON string (IAM logs `policyDocument` percent-encoded in some paths). Parsing never
 * throws: an unreadable document is "unknown" and detectors stay quiet on it rather than guess.
 */
import { accountOf, isObj, list, strings, type Obj, type OwnAccounts } from "./util.js";
import { isWholeInternet } from "./network.js";

export interface Statement {
  effect: "Allow" | "Deny";
  actions: string[];
  notActions: string[];
  resources: string[];
  /** Principal entries; `undefined` when the statement has no Principal (identity policies). */
  principals?: PrincipalEntry[];
  /** Lower-cased condition keys (`aws:principalorgid`, ...) with their values. */
  conditions: Array<{ op: string; key: string; values: string[] }>;
}

export interface PrincipalEntry {
  kind: "AWS" | "Service" | "Federated" | "CanonicalUser" | "*";
  value: string;
}

/** Parse a policy document from whatever CloudTrail gave; `null` if it is not a policy. */
export function parsePolicy(v: unknown): Obj | null {
  if (isObj(v)) return v;
  if (typeof v !== "string") return null;
  const s = v.trim();
  if (s.length === 0) return null;
  const tryJson = (t: string): Obj | null => {
    try {
      const o: unknown = JSON.parse(t);
      if (isObj(o)) return o;
      // Double-encoded: a JSON string containing JSON.
      if (typeof o === "string") return tryJson(o);
    } catch {
      /* not JSON */
    }
    return null;
  };
  let o = tryJson(s);
  if (!o && s.includes("%")) {
    try {
      o = tryJson(decodeURIComponent(s.replace(/\+/g, " ")));
    } catch {
      o = null;
    }
  }
  return o;
}

function principalsOf(p: unknown): PrincipalEntry[] {
  if (p === "*") return [{ kind: "*", value: "*" }];
  const out: PrincipalEntry[] = [];
  if (typeof p === "string") {
    out.push({ kind: "AWS", value: p });
    return out;
  }
  if (!isObj(p)) return out;
  for (const [k, v] of Object.entries(p)) {
    const kind = (["AWS", "Service", "Federated", "CanonicalUser"].find((x) => x.toLowerCase() === k.toLowerCase()) ?? "AWS") as PrincipalEntry["kind"];
    for (const s of strings(v)) out.push({ kind: s === "*" && kind === "AWS" ? "*" : kind, value: s });
  }
  return out;
}

export function statements(doc: Obj | null): Statement[] {
  if (!doc) return [];
  const raw = doc.Statement ?? doc.statement;
  const out: Statement[] = [];
  for (const s of list(raw)) {
    if (!isObj(s)) continue;
    const effect = String(s.Effect ?? s.effect ?? "Allow").toLowerCase() === "deny" ? "Deny" : "Allow";
    const conds: Statement["conditions"] = [];
    const c = s.Condition ?? s.condition;
    if (isObj(c)) {
      for (const [op, kv] of Object.entries(c)) {
        if (!isObj(kv)) continue;
        for (const [key, val] of Object.entries(kv)) conds.push({ op, key: key.toLowerCase(), values: strings(val) });
      }
    }
    const st: Statement = {
      effect,
      actions: strings(s.Action ?? s.action),
      notActions: strings(s.NotAction ?? s.notAction),
      resources: strings(s.Resource ?? s.resource),
      conditions: conds,
    };
    const pr = s.Principal ?? s.principal;
    if (pr !== undefined) st.principals = principalsOf(pr);
    out.push(st);
  }
  return out;
}

const FULL_ACTION = /^(\*|\*:\*)$/;

/**
 * Does an identity policy grant administrator-equivalent rights? `*` on `*`, `iam:*` on `*`
 * (can grant itself anything), or an Allow with NotAction on `*` (everything but a few actions).
 */
export function adminGrant(doc: Obj | null): { admin: boolean; detail?: string } {
  for (const st of statements(doc)) {
    if (st.effect !== "Allow") continue;
    const allRes = st.resources.length === 0 || st.resources.includes("*");
    if (!allRes) continue;
    if (st.actions.some((a) => FULL_ACTION.test(a))) return { admin: true, detail: "Action `*` on Resource `*`" };
    if (st.actions.some((a) => a.toLowerCase() === "iam:*")) return { admin: true, detail: "Action `iam:*` on Resource `*`" };
    if (st.notActions.length > 0) return { admin: true, detail: "Allow with NotAction on Resource `*`" };
  }
  return { admin: false };
}

/** Condition keys that pin a `*` principal to the organisation, a network or an account. */
const RESTRICTIVE_KEYS = new Set([
  "aws:principalorgid",
  "aws:principalorgpaths",
  "aws:principalaccount",
  "aws:principalarn",
  "aws:sourceaccount",
  "aws:sourceowner",
  "aws:sourcearn",
  "aws:sourcevpc",
  "aws:sourcevpce",
  "aws:sourceorgid",
  "aws:sourceorgpaths",
  "aws:userid",
  "aws:username",
  "aws:calledvia",
  "kms:calleraccount",
  "kms:viaservice",
  "lambda:functionarn",
  "sns:endpoint",
  "s3:dataaccesspointaccount",
  "aws:sourceip",
]);

/** Web-identity providers whose tokens anyone can obtain: only conditions make them safe. */
const OPEN_WEB_IDP =
  /token\.actions\.githubusercontent\.com|accounts\.google\.com|graph\.facebook\.com|www\.amazon\.com|cognito-identity\.amazonaws\.com|gitlab\.com|app\.terraform\.io/;

function restrictive(st: Statement): boolean {
  return st.conditions.some((c) => {
    if (!RESTRICTIVE_KEYS.has(c.key)) return false;
    if (c.key === "aws:sourceip") return c.values.length > 0 && !c.values.some((v) => isWholeInternet(v));
    return c.values.length > 0 && !c.values.every((v) => v === "*");
  });
}

export interface Exposure {
  /** Allow statements open to everyone (`*` principal without a restrictive condition). */
  public: boolean;
  /** Accounts outside `own` that are granted access. */
  externalAccounts: string[];
  /** Open web-identity federation without a subject/audience condition. */
  openFederation: string[];
  /** Actions of the public/external statements (for severity and evidence). */
  actions: string[];
}

/** Who a resource or trust policy lets in, relative to the accounts we own. */
export function exposure(doc: Obj | null, own: OwnAccounts): Exposure {
  const out: Exposure = { public: false, externalAccounts: [], openFederation: [], actions: [] };
  for (const st of statements(doc)) {
    if (st.effect !== "Allow" || !st.principals) continue;
    for (const p of st.principals) {
      if (p.kind === "*" || (p.kind === "AWS" && p.value === "*")) {
        if (!restrictive(st)) {
          out.public = true;
          out.actions.push(...st.actions);
        }
      } else if (p.kind === "AWS") {
        const acct = accountOf(p.value);
        if (acct && !own.has(acct) && !out.externalAccounts.includes(acct)) {
          out.externalAccounts.push(acct);
          out.actions.push(...st.actions);
        }
      } else if (p.kind === "Federated" && OPEN_WEB_IDP.test(p.value)) {
        const pinned = st.conditions.some(
          (c) => /:(sub|aud|amr|repository|job_workflow_ref|repository_owner|oaud)$/.test(c.key) && c.values.length > 0 && !c.values.every((v) => v === "*"),
        );
        // GitHub/GitLab need a subject pin; an audience alone lets any repository in.
        const needsSub = /githubusercontent|gitlab|terraform\.io/.test(p.value);
        const subPinned = st.conditions.some((c) => /:(sub|repository|repository_owner|job_workflow_ref)$/.test(c.key) && c.values.length > 0 && !c.values.every((v) => v === "*"));
        if (needsSub ? !subPinned : !pinned) out.openFederation.push(p.value);
      }
    }
  }
  return out;
}

/** Managed policies that are administrator-equivalent or close to it, with a severity hint. */
export const ADMIN_MANAGED: Record<string, "admin" | "iam" | "power"> = {
  AdministratorAccess: "admin",
  "AdministratorAccess-Amplify": "admin",
  "AdministratorAccess-AWSElasticBeanstalk": "admin",
  AWSAdministratorAccess: "admin",
  IAMFullAccess: "iam",
  PowerUserAccess: "power",
  AWSOrganizationsFullAccess: "iam",
};

/** Classify a managed policy ARN: AWS-managed admin policies, or a customer policy whose name says admin. */
export function managedPolicyRisk(arn: string): { level: "admin" | "iam" | "power" | "named-admin"; name: string } | null {
  const name = arn.slice(arn.lastIndexOf("/") + 1);
  const awsManaged = arn.includes(":aws:policy/") || !arn.startsWith("arn:");
  const hit = ADMIN_MANAGED[name];
  if (hit && awsManaged) return { level: hit, name };
  if (!awsManaged && /admin|full-?access|superuser|power-?user/i.test(name)) return { level: "named-admin", name };
  return null;
}
