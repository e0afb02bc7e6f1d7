/**
 * Small helpers shared by the catalogue detectors: reading request parameters (whose casing and
 * shapes vary between services and between CloudTrail, LookupEvents and hand-written samples),
 * severities, describing identities and building single-event finding drafts.
 *
 * Everything here is pure. Values taken from records are attacker-controlled: `q()` quotes and
 * truncates them for `why` texts (the Slack layer escapes mrkdwn on top of that).
 */
import type { BaselineView } from "../../baseline/view.js";
import { SEVERITY_RANK, type Principal, type Severity, type TrailEvent } from "../../events/types.js";
import type { DetectorContext, FindingDraft } from "../types.js";

// ---------------------------------------------------------------- values

export type Obj = Record<string, unknown>;

/** What a catalogue rule found in one event; its detector turns it into a finding. */
export interface RuleHit {
  severity: Severity;
  /** What happened, human readable (values quoted). */
  what: string;
  /** The stable target for the fingerprint (trail, bucket, detector...). */
  target: string;
  attack?: string[];
  evidence?: Record<string, unknown>;
}

export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  if (typeof v === "string") return v.length > 0 ? v : undefined;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  // EC2 often wraps scalars: {"value": "p2.xlarge"}.
  if (isObj(v) && (typeof v.value === "string" || typeof v.value === "number")) return String(v.value);
  return undefined;
}

/**
 * A non-negative integer with thousands separators, as `n.toLocaleString("en-US")` writes it
 * (which goes through ICU: some 20 microseconds a call, a cost per finding at the end of a scan).
 */
export function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

export function num(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  if (isObj(v) && v.value !== undefined) return num(v.value);
  return undefined;
}

/** true / "true" / {"value": true}. */
export function bool(v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (typeof v === "string") {
    const l = v.toLowerCase();
    if (l === "true") return true;
    if (l === "false") return false;
  }
  if (isObj(v) && v.value !== undefined) return bool(v.value);
  return undefined;
}

/** A value or list of values as a list (EC2 `{"items": [...]}` lists included). */
export function list(v: unknown): unknown[] {
  if (v === undefined || v === null || v === "") return [];
  if (Array.isArray(v)) return v;
  if (isObj(v) && Array.isArray(v.items)) return v.items;
  if (isObj(v) && Array.isArray(v.item)) return v.item;
  return [v];
}

export function strings(v: unknown): string[] {
  const out: string[] = [];
  for (const x of list(v)) {
    const s = str(x);
    if (s !== undefined) out.push(s);
  }
  return out;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Case-insensitive property read: `get(o, "bucketName")` also finds `BucketName`. */
export function get(o: unknown, key: string): unknown {
  if (!isObj(o)) return undefined;
  if (key in o) return o[key];
  const lk = key.toLowerCase();
  // A key whose lower case is an ASCII name has that name's length (the one lower-case mapping that
  // lengthens, U+0130, gives a non-ASCII mark): keys of another length are passed over unlowered.
  let ascii: boolean | undefined;
  for (const k of Object.keys(o)) {
    if (k.length !== lk.length && (ascii ??= isAscii(lk))) continue;
    if (k.toLowerCase() === lk) return o[k];
  }
  return undefined;
}

/** Case-insensitive path read: `at(rp, "VersioningConfiguration", "Status")`. */
export function at(o: unknown, ...path: string[]): unknown {
  let cur: unknown = o;
  for (const p of path) {
    cur = get(cur, p);
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Depth-first search for the first value of `key` (case-insensitive), bounded in depth. */
export function find(o: unknown, key: string, depth = 6): unknown {
  if (depth < 0 || o === null || typeof o !== "object") return undefined;
  if (Array.isArray(o)) {
    for (const x of o) {
      const r = find(x, key, depth - 1);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  const direct = get(o, key);
  if (direct !== undefined) return direct;
  for (const v of Object.values(o as Obj)) {
    const r = find(v, key, depth - 1);
    if (r !== undefined) return r;
  }
  return undefined;
}

/**
 * Request parameter (case-insensitive). Newer EC2 APIs wrap their parameters in one
 * `<EventName>Request` object (`{"DeleteFlowLogsRequest": {...}}`): looked up inside it too.
 */
export function rp(ev: TrailEvent, ...path: string[]): unknown {
  const direct = at(ev.requestParameters, ...path);
  if (direct !== undefined || path.length === 0) return direct;
  const wrapped = get(ev.requestParameters, ev.eventName + "Request");
  return wrapped === undefined ? undefined : at(wrapped, ...path);
}

/** The request parameters, unwrapped from a `<EventName>Request` envelope when present. */
export function params(ev: TrailEvent): Obj | null {
  const w = get(ev.requestParameters, ev.eventName + "Request");
  return isObj(w) ? w : ev.requestParameters;
}

/** Response element (case-insensitive). */
export function re(ev: TrailEvent, ...path: string[]): unknown {
  return at(ev.responseElements, ...path);
}

/** Quote an attacker-controlled value for a `why` text: backticks, no backticks inside, bounded. */
export function q(v: unknown, max = 120): string {
  let s = typeof v === "string" ? v : (JSON.stringify(v) ?? String(v));
  s = s.replace(/[`\r\n]/g, " ");
  if (s.length > max) s = s.slice(0, max - 1) + "…";
  return "`" + s + "`";
}

/** Last path segment of an ARN (`arn:aws:iam::1:role/a/B` -> `B`), or the value itself. */
export function arnName(v: string): string {
  const i = v.lastIndexOf("/");
  if (v.startsWith("arn:") && i >= 0) return v.slice(i + 1);
  if (v.startsWith("arn:")) return v.slice(v.lastIndexOf(":") + 1);
  return v;
}

// ---------------------------------------------------------------- severities

const ORDER: Severity[] = ["info", "low", "medium", "high", "critical"];

export function lower(s: Severity, steps = 1): Severity {
  return ORDER[Math.max(0, SEVERITY_RANK[s] - steps)]!;
}

export function raise(s: Severity, steps = 1): Severity {
  return ORDER[Math.min(ORDER.length - 1, SEVERITY_RANK[s] + steps)]!;
}

export function maxSev(...s: Severity[]): Severity {
  let best: Severity = "info";
  for (const x of s) if (SEVERITY_RANK[x] > SEVERITY_RANK[best]) best = x;
  return best;
}

export function atLeast(s: Severity, min: Severity): boolean {
  return SEVERITY_RANK[s] >= SEVERITY_RANK[min];
}

// ---------------------------------------------------------------- principals

/** Session names AWS gives EC2 instance-profile credentials: the instance id. */
export const INSTANCE_SESSION = /^i-[0-9a-f]{8,17}$/;

export function isSsoRole(p: Principal): boolean {
  return p.type === "AssumedRole" && /^AWSReservedSSO_/.test(p.userName ?? "");
}

export function isServiceLinkedRole(p: Principal): boolean {
  return p.type === "AssumedRole" && (/^AWSServiceRole/.test(p.userName ?? "") || (p.arn ?? "").includes(":role/aws-service-role/"));
}

/**
 * A person rather than automation: IAM users, root, federated and Identity Center users, SSO
 * roles, and any session issued to the console. Plain assumed roles are treated as automation.
 */
export function isHumanPrincipal(p: Principal): boolean {
  if (["IAMUser", "Root", "FederatedUser", "IdentityCenterUser", "SAMLUser"].includes(p.type)) return true;
  if (p.type === "AssumedRole") return isSsoRole(p) || p.fromConsole === true;
  return false;
}

/** An AWS service acting (service principal, service-linked role, or a call proxied by a service other than the console). */
export function isAwsServiceCall(ev: TrailEvent): boolean {
  const p = ev.principal;
  if (p.type === "AWSService") return true;
  if (ev.eventType.toLowerCase() === "awsserviceevent") return true;
  if (isServiceLinkedRole(p)) return true;
  if (p.invokedBy && !CONSOLE_PROXIES.has(p.invokedBy) && !IAC_SERVICES.has(p.invokedBy)) return true;
  return false;
}

/** invokedBy values that mean "a person in the console", not a service acting alone. */
const CONSOLE_PROXIES = new Set(["signin.amazonaws.com", "console.amazonaws.com", "AWS Internal"]);
/** invokedBy values of infrastructure-as-code engines. */
const IAC_SERVICES = new Set(["cloudformation.amazonaws.com"]);

/** Infrastructure as code: Terraform, CloudFormation (also CDK, which deploys through it), Pulumi, ... */
export function isIaC(ev: TrailEvent): boolean {
  if (ev.uaFamily === "terraform") return true;
  if (ev.principal.invokedBy === "cloudformation.amazonaws.com") return true;
  if (ev.sourceIp === "cloudformation.amazonaws.com") return true;
  return /aws-cdk|CloudFormation|pulumi|crossplane|cdktf|OpenTofu/i.test(ev.userAgent);
}

/** `user \`alice\``, `role \`Deploy\` (session \`x\`)`, `root`, ... */
export function who(p: Principal): string {
  switch (p.type) {
    case "Root":
      return `the root user of account ${q(p.accountId ?? "?")}`;
    case "IAMUser":
      return `IAM user ${q(p.userName ?? "?")}`;
    case "AssumedRole":
      return `role ${q(p.userName ?? "?")}${p.sessionName ? ` (session ${q(p.sessionName, 60)})` : ""}`;
    case "AWSService":
      return `AWS service ${q(p.userName ?? "?")}`;
    default:
      return `${p.type} ${q(p.userName ?? p.key)}`;
  }
}

// ---------------------------------------------------------------- accounts

export const ACCOUNT_ID = /^\d{12}$/;

/** The account of an ARN or a bare account id; undefined for services, `*`, names. */
export function accountOf(v: string): string | undefined {
  const s = v.trim();
  if (ACCOUNT_ID.test(s)) return s;
  if (s.startsWith("arn:")) {
    const a = s.split(":")[4];
    return a && ACCOUNT_ID.test(a) ? a : undefined;
  }
  return undefined;
}

/** Accounts that are "us" (ownAccounts): asked one at a time. */
export interface OwnAccounts {
  has(account: string): boolean;
}

/**
 * Accounts that are "us" for this event: the configured organisation, the event's account and the
 * caller's. A test, not a copy of the configured set (every account of the scan by default: a copy
 * per event was most of new-role-assumption's time on scans of many accounts).
 */
export function ownAccounts(ev: TrailEvent, ctx: { config: { ownAccounts: ReadonlySet<string> } }): OwnAccounts {
  const configured = ctx.config.ownAccounts;
  const event = ev.accountId && ev.accountId !== "unknown" ? ev.accountId : undefined;
  const caller = ev.principal.accountId || undefined;
  return { has: (a) => a === event || a === caller || configured.has(a) };
}

// ---------------------------------------------------------------- baseline phrases

export function apiKey(ev: TrailEvent): string {
  return ev.service + ":" + ev.eventName;
}

export interface Novelty {
  /** The identity has history and this API is part of it. */
  known: boolean;
  /** The identity has enough history to call something "new". */
  learned: boolean;
  /** A sentence for `why`. */
  text: string;
}

/** How this API relates to the identity's history, with numbers. */
export function novelty(ctx: DetectorContext, api: string, label = api): Novelty {
  const b: BaselineView = ctx.baseline;
  const st = b.stat("api", api);
  if (st) {
    const days = Math.max(1, Math.round((b.windowStart - st[2]) / 86_400_000));
    return {
      known: true,
      learned: !ctx.learning,
      text: `This identity has called ${label} before (first seen ${days} day${days === 1 ? "" : "s"} before this window, about ${Math.max(1, Math.round(st[0]))} call${Math.round(st[0]) === 1 ? "" : "s"}).`,
    };
  }
  if (b.historyDays <= 0)
    return { known: false, learned: false, text: `No history of this identity before this window (cold start): ${label} cannot be compared with its normal behaviour.` };
  if (ctx.learning) return { known: false, learned: false, text: `This identity is still learning (${b.summary()}) and has not called ${label} before.` };
  return { known: false, learned: true, text: `This identity never called ${label} in ${b.summary()}.` };
}

/** " The call failed (`AccessDenied`): an attempt, not a change." */
export function failNote(ev: TrailEvent): string {
  if (!ev.failed) return "";
  const code = ev.errorCode ?? (ev.eventName === "ConsoleLogin" ? "Failure" : "error");
  return ` The call failed (${q(code, 60)}): an attempt, not a completed change.`;
}

// ---------------------------------------------------------------- drafts

export interface DraftOpts {
  title?: string;
  evidence?: Record<string, unknown>;
  attack?: string[];
  /** Severity to use when the event failed; default one step lower. */
  failedSeverity?: Severity;
}

/** A draft for one event; failed events are marked and lowered one step unless told otherwise. */
export function draft(ev: TrailEvent, severity: Severity, why: string, fingerprint: string[], opts: DraftOpts = {}): FindingDraft {
  const sev = ev.failed ? (opts.failedSeverity ?? lower(severity)) : severity;
  const d: FindingDraft = {
    severity: sev,
    why: why + failNote(ev),
    fingerprint,
    eventIds: [ev.id],
    firstSeen: ev.time,
    lastSeen: ev.time,
    count: 1,
    region: ev.region,
  };
  if (ev.sourceIp) d.sourceIp = ev.sourceIp;
  if (ev.failed) d.failed = true;
  if (opts.title) d.title = opts.title;
  if (opts.attack && opts.attack.length > 0) d.attack = opts.attack;
  const evidence: Record<string, unknown> = { eventName: ev.eventName, eventSource: ev.eventSource };
  if (ev.errorCode) evidence.errorCode = ev.errorCode;
  if (ev.userAgent) evidence.userAgent = ev.userAgent.slice(0, 200);
  Object.assign(evidence, opts.evidence ?? {});
  d.evidence = evidence;
  return d;
}

/** A draft spanning several events (window and global detectors). */
export function multiDraft(
  events: readonly TrailEvent[],
  severity: Severity,
  why: string,
  fingerprint: string[],
  opts: DraftOpts & { count?: number; principal?: Principal } = {},
): FindingDraft {
  const sorted = [...events].sort((a, b) => a.time - b.time);
  const allFailed = sorted.length > 0 && sorted.every((e) => e.failed);
  const first = sorted[0];
  const d: FindingDraft = {
    severity: allFailed ? (opts.failedSeverity ?? lower(severity)) : severity,
    why: allFailed ? why + " Every one of these calls failed: attempts, not completed actions." : why,
    fingerprint,
    eventIds: sorted.slice(0, 20).map((e) => e.id),
    firstSeen: first ? first.time : 0,
    lastSeen: sorted.length > 0 ? sorted[sorted.length - 1]!.time : 0,
    count: opts.count ?? sorted.length,
  };
  if (first?.sourceIp) d.sourceIp = first.sourceIp;
  if (first) d.region = first.region;
  if (allFailed) d.failed = true;
  if (opts.title) d.title = opts.title;
  if (opts.attack && opts.attack.length > 0) d.attack = opts.attack;
  if (opts.evidence) d.evidence = opts.evidence;
  if (opts.principal) d.principal = opts.principal;
  return d;
}

/**
 * Up to `max` ids taken in turn from each list (one per list per round), without duplicates:
 * evidence that spans every bucket of a burst rather than its first minutes.
 */
export function spreadIds(lists: ReadonlyArray<readonly string[]>, max = 20): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (let round = 0; out.length < max; round++) {
    let any = false;
    for (const l of lists) {
      const id = l[round];
      if (id === undefined) continue;
      any = true;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(id);
      if (out.length >= max) break;
    }
    if (!any) break;
  }
  return out;
}
