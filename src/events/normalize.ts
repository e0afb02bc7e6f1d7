import { readsRequestParameters } from "./targets.js";
import type { IpKind, Principal, SkipReason, TrailEvent } from "./types.js";

// The boundary schema of a record (zod) is in ./raw-record.ts: `normalizeRecord` implements its
// checks by hand, and loading zod is not part of a scan.

export type NormalizeResult = { ok: true; event: TrailEvent } | { ok: false; reason: SkipReason };

const VERSION_SUFFIX = /(\d{8}(v\d+)?|\d{4}_\d{2}_\d{2})$/;
const nameCache = new Map<string, string>();

/** `UpdateFunctionCode20150331v2` -> `UpdateFunctionCode`; `CreateDistribution2020_05_31` -> `CreateDistribution`. */
export function normalizeEventName(name: string): string {
  let n = nameCache.get(name);
  if (n === undefined) {
    n = name.replace(VERSION_SUFFIX, "");
    if (n.length === 0) n = name;
    if (nameCache.size < 20000) nameCache.set(name, n);
  }
  return n;
}

/** The names of a call (see apiOf). */
export interface ApiNames {
  /** The normalised event name. */
  name: string;
  /** The short service name. */
  service: string;
  /** `service:name`. */
  api: string;
  /** readsRequestParameters(name) (events/targets.ts). */
  readsParams: boolean;
}

const apiCache = new Map<string, Map<string, ApiNames>>();
/** Interned names for (eventSource, raw event name): normalised name, short service, `service:name`. */
export function apiOf(eventSource: string, rawName: string): ApiNames {
  let bySource = apiCache.get(eventSource);
  if (!bySource) {
    if (apiCache.size > 2000) apiCache.clear();
    bySource = new Map();
    apiCache.set(eventSource, bySource);
  }
  let a = bySource.get(rawName);
  if (!a) {
    const name = normalizeEventName(rawName);
    const service = serviceOf(eventSource);
    a = { name, service, api: service + ":" + name, readsParams: readsRequestParameters(name) };
    if (bySource.size < 5000) bySource.set(rawName, a);
  }
  return a;
}

const serviceCache = new Map<string, string>();
/** `iam.amazonaws.com` -> `iam`. */
export function serviceOf(eventSource: string): string {
  let s = serviceCache.get(eventSource);
  if (s === undefined) {
    const i = eventSource.indexOf(".amazonaws.com");
    s = i > 0 ? eventSource.slice(0, i) : eventSource;
    if (serviceCache.size < 5000) serviceCache.set(eventSource, s);
  }
  return s;
}

// ---------------------------------------------------------------- source addresses

function parseIPv4(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (p.length === 0 || p.length > 3) return null;
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0 || n > 255) return null;
    out.push(n);
  }
  return out;
}

function isPrivateV4(o: number[]): boolean {
  return isPrivateQuad(o[0]!, o[1]!, o[2]!);
}

/** The private, reserved and documentation ranges of IPv4, by the first three octets. */
function isPrivateQuad(a: number, b: number, c: number): boolean {
  return (
    a === 10 ||
    a === 127 ||
    a === 0 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254) ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 192 && b === 0 && c === 2) || // TEST-NET-1
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a === 198 && b === 51 && c === 100) || // TEST-NET-2
    (a === 203 && b === 0 && c === 113) || // TEST-NET-3
    a >= 224
  );
}

/**
 * classifySourceIp of the usual form, four parts of 1-3 plain digits each at most 255 ("private"
 * or "public", as parseIPv4 and isPrivateV4 say), read without allocating; undefined for anything
 * else (the general code decides). Most source addresses are of this form and many are met once.
 */
function quadKind(s: string): IpKind | undefined {
  const n = s.length;
  if (n < 7 || n > 15) return undefined;
  let a = 0,
    b = 0,
    c = 0,
    v = 0,
    digits = 0,
    part = 0;
  for (let i = 0; i < n; i++) {
    const ch = s.charCodeAt(i);
    if (ch >= 0x30 && ch <= 0x39) {
      if (++digits > 3) return undefined;
      v = v * 10 + (ch - 0x30);
    } else if (ch === 0x2e) {
      if (digits === 0 || part === 3 || v > 255) return undefined;
      if (part === 0) a = v;
      else if (part === 1) b = v;
      else c = v;
      part++;
      v = 0;
      digits = 0;
    } else return undefined;
  }
  if (part !== 3 || digits === 0 || v > 255) return undefined;
  return isPrivateQuad(a, b, c) ? "private" : "public";
}

function classifyV6(s: string): IpKind | null {
  if (!s.includes(":") || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const lower = s.toLowerCase();
  if (lower === "::1" || lower === "::") return "private";
  if (lower.startsWith("fe8") || lower.startsWith("fe9") || lower.startsWith("fea") || lower.startsWith("feb")) return "private";
  if (lower.startsWith("fc") || lower.startsWith("fd")) return "private";
  if (lower.startsWith("2001:db8")) return "private";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) {
    const o = parseIPv4(mapped[1]!);
    return o ? (isPrivateV4(o) ? "private" : "public") : null;
  }
  return "public";
}

const ipKindCache = new Map<string, IpKind>();
/** Classify `sourceIPAddress`: public/private IP, AWS service name, `AWS Internal`, other. */
export function classifySourceIp(ip: string | undefined): IpKind {
  if (!ip) return "none";
  const q = quadKind(ip);
  if (q !== undefined) return q;
  let k = ipKindCache.get(ip);
  if (k !== undefined) return k;
  const v4 = parseIPv4(ip);
  if (v4) k = isPrivateV4(v4) ? "private" : "public";
  else {
    const v6 = classifyV6(ip);
    if (v6) k = v6;
    else if (ip.endsWith(".amazonaws.com")) k = "service";
    else if (ip.startsWith("AWS Internal")) k = "internal";
    else k = "other";
  }
  if (ipKindCache.size > 100000) ipKindCache.clear();
  ipKindCache.set(ip, k);
  return k;
}

// ---------------------------------------------------------------- user agents

/** Offensive tooling and pentest distributions, matched case-insensitively in the user agent. */
export const OFFENSIVE_UA =
  /(pacu|cloudgoat|kali|parrot|pentoo|blackarch|cloudsploit|scoutsuite|prowler|weirdaal|cloudfox|trufflehog|endgame|cloudmapper|nmap|sqlmap|masscan|aws_consoler|awspx|pmapper|enumerate-iam|cloudbrute|s3scanner|nuclei|metasploit|powershell-empire|zgrab)/i;

const uaCache = new Map<string, string>();
/** Reduce a user agent to a family (see docs/CLOUDTRAIL.md section 3). */
export function userAgentFamily(ua: string | undefined): string {
  if (!ua) return "none";
  let f = uaCache.get(ua);
  if (f !== undefined) return f;
  f = uncachedUserAgentFamily(ua);
  if (uaCache.size > 20000) uaCache.clear();
  uaCache.set(ua, f);
  return f;
}

/**
 * The families met, each as one string: a family built by concatenation ("aws-sdk-" + "go") was a
 * new string at every computation, hashed (and flattened) again by each map it went into.
 * Bounded (families can be built from the logs' text).
 */
const uaFamilies = new Map<string, string>();

/**
 * userAgentFamily, worked out without its cache (for callers that keep their own, by something
 * cheaper than the user agent's text): the same family.
 */
export function uncachedUserAgentFamily(ua: string): string {
  if (!ua) return "none";
  const f = computeUaFamily(ua);
  const known = uaFamilies.get(f);
  if (known !== undefined) return known;
  if (uaFamilies.size >= 4096) uaFamilies.clear();
  uaFamilies.set(f, f);
  return f;
}

function computeUaFamily(raw: string): string {
  let ua = raw.trim();
  if (ua.startsWith("[") && ua.endsWith("]")) ua = ua.slice(1, -1);
  const off = OFFENSIVE_UA.exec(ua);
  if (off) return "offensive:" + off[1]!.toLowerCase();
  if (/HashiCorp|Terraform\//.test(ua)) return "terraform";
  let m = /^aws-cli\/(\d)/.exec(ua);
  if (m) return "aws-cli/" + m[1];
  if (/Boto3\/|[Bb]otocore\//.test(ua)) return "python";
  m = /^aws-sdk-(go-v2|go|java|js|nodejs|ruby|dotnet|php|rust|cpp|kotlin|swift)/.exec(ua);
  if (m) return "aws-sdk-" + m[1];
  if (/^aws-sdk-java|^aws-sdk-js/i.test(ua)) return "aws-sdk";
  if (/^Mozilla\//.test(ua)) return "browser";
  if (/^(console|signin|console\.ec2)\.amazonaws\.com$|S3Console\/|RDS Console|aws-internal\//.test(ua)) return "console";
  if (/^AWS Internal$/.test(ua)) return "internal";
  if (/\.amazonaws\.com$/.test(ua)) return "aws-service";
  if (/amazon-ssm-agent/.test(ua)) return "ssm-agent";
  if (/^(curl|Wget|python-requests|Go-http-client|okhttp|PostmanRuntime|insomnia)/i.test(ua)) {
    return "http-client:" + /^([A-Za-z-]+)/.exec(ua)![1]!.toLowerCase();
  }
  if (/^aws-/i.test(ua)) return "aws-tool";
  const first = /^([A-Za-z][A-Za-z0-9.-]{0,30})/.exec(ua);
  return first ? "other:" + first[1]!.toLowerCase() : "other";
}

// ---------------------------------------------------------------- errors

/** Authorisation-failure error codes (the Athena SQL uses the same list). */
export const DENIED_CODES: readonly string[] = [
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "Client.UnauthorizedOperation",
  "VpceAccessDenied",
  "UnauthorizedAccess",
  "AuthorizationError",
  "ForbiddenException",
  "Client.AccessDenied",
  "AuthFailure",
  "Client.AuthFailure",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "NotAuthorized",
  "AccessDeniedFault",
];
const DENIED_SET = new Set(DENIED_CODES);

/** Is this error code an authorisation failure? */
export function isDeniedCode(code: string | undefined, message?: string): boolean {
  if (!code) return false;
  if (DENIED_SET.has(code)) return true;
  if (code.endsWith("UnauthorizedOperation") || code.startsWith("AccessDenied")) return true;
  return message?.includes("is not authorized to perform") ?? false;
}

// ---------------------------------------------------------------- identities

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function accountFromArn(arn: string | undefined): string | undefined {
  if (!arn) return undefined;
  const parts = arn.split(":");
  return parts.length >= 5 && parts[4] ? parts[4] : undefined;
}

/** Parse `arn:aws:sts::1111:assumed-role/RoleName/session`. */
function parseAssumedRoleArn(arn: string | undefined): { role?: string; session?: string } {
  if (!arn) return {};
  const i = arn.indexOf(":assumed-role/");
  if (i < 0) return {};
  const rest = arn.slice(i + ":assumed-role/".length);
  const slash = rest.indexOf("/");
  if (slash < 0) return { role: rest };
  return { role: rest.slice(0, slash), session: rest.slice(slash + 1) };
}

/** Session names that are machines, not people: instance ids, SDK defaults, CI runs, numbers, UUIDs. */
export const MACHINE_SESSION =
  /^(i-[0-9a-f]{8,17}|botocore-session-.*|aws-go-sdk-.*|aws-sdk-.*|AWSCLI-Session.*|GitHubActions.*|gha-.*|terraform.*|Terraform.*|AutoScaling.*|[0-9a-f]{8}-[0-9a-f]{4}-.*|.*\d{6,}.*)$/;
export const EMAIL = /^[^@\s/]+@[^@\s/]+\.[A-Za-z]{2,}$/;
export const FIRST_LAST = /^[A-Za-z][A-Za-z'-]*\.[A-Za-z][A-Za-z'-]*$/;

/**
 * The person a role (or federated) session belongs to, if it names one: the session's
 * `sourceIdentity` (set by the identity provider and kept through role chaining), else the
 * session name when it is a person's: any session of an IAM Identity Center permission set
 * (`AWSReservedSSO_*`, whose session name is the user), an e-mail address, or a first.last name
 * (SAML and OIDC federation). Machine-like names (instance ids, SDK defaults, CI runs, numbers)
 * never are. Lower-cased: the same person whatever the case the IdP used.
 */
export function personOf(roleName: string | undefined, sessionName: string | undefined, sourceIdentity: string | undefined): string | undefined {
  if (sourceIdentity && sourceIdentity.length <= 256) return sourceIdentity.toLowerCase();
  if (!sessionName || sessionName.length > 128 || MACHINE_SESSION.test(sessionName)) return undefined;
  if (EMAIL.test(sessionName) || FIRST_LAST.test(sessionName)) return sessionName.toLowerCase();
  if (roleName?.startsWith("AWSReservedSSO_")) return sessionName.toLowerCase();
  return undefined;
}

/** The baseline key of a person on a shared role: `person:<account>:<role>:<person>` (beside the role's `role:<account>:<role>`). */
export function personKey(p: Principal): string | undefined {
  if (!p.person) return undefined;
  const i = p.key.indexOf(":");
  return `person:${p.key.slice(i + 1)}:${p.person}`;
}

/**
 * A copy of `s` in a string of its own. A slice of a longer string (a session name cut from its
 * ARN) is a view of it in V8 and keeps the whole of it alive: the accumulators keep session names
 * (values, kept events) long after the principal and its ARN are gone (realistic 1M events /
 * 20,000 identities: 102,000 ARNs, 11 MB, held by their session names alone). The same characters.
 */
function own(s: string | undefined): string | undefined {
  // V8 copies slices shorter than 13 characters (SlicedString::kMinLength) anyway.
  return s === undefined || s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

/**
 * What principalOf reads of a `userIdentity`, as found there (unchecked: principalFrom applies the
 * checks): its own keys, those of its `sessionContext` (undefined when that is not an object) and,
 * within that, of `sessionIssuer` and `attributes` (likewise). `ui` is the whole object, read only
 * for the rare types whose keys are not listed here (IdentityCenterUser's `onBehalfOf`, SAMLUser's
 * and WebIdentityUser's `identityProvider`).
 */
export interface IdentityParts {
  type: unknown;
  arn: unknown;
  accountId: unknown;
  userName: unknown;
  principalId: unknown;
  accessKeyId: unknown;
  invokedBy: unknown;
  sessionCredentialFromConsole: unknown;
  sourceIdentity: unknown;
  issuerUserName: unknown;
  issuerArn: unknown;
  issuerAccountId: unknown;
  mfaAuthenticated: unknown;
  ui: Record<string, unknown> | undefined;
}

/** A blank IdentityParts (every field present: one hidden class). */
export function emptyIdentityParts(): IdentityParts {
  return {
    type: undefined,
    arn: undefined,
    accountId: undefined,
    userName: undefined,
    principalId: undefined,
    accessKeyId: undefined,
    invokedBy: undefined,
    sessionCredentialFromConsole: undefined,
    sourceIdentity: undefined,
    issuerUserName: undefined,
    issuerArn: undefined,
    issuerAccountId: undefined,
    mfaAuthenticated: undefined,
    ui: undefined,
  };
}

const partsScratch = emptyIdentityParts();

/**
 * Build the principal and its stable key from `userIdentity` (docs/CLOUDTRAIL.md section 2).
 * Keys are on (account, name), never on the bare Username or the session name.
 */
export function principalOf(ui: Record<string, unknown>, recipientAccountId: string | undefined): Principal {
  const sc = obj(ui.sessionContext);
  const attrs = sc ? obj(sc.attributes) : undefined;
  const issuer = sc ? obj(sc.sessionIssuer) : undefined;
  const x = partsScratch;
  x.type = ui.type;
  x.arn = ui.arn;
  x.accountId = ui.accountId;
  x.userName = ui.userName;
  x.principalId = ui.principalId;
  x.accessKeyId = ui.accessKeyId;
  x.invokedBy = ui.invokedBy;
  x.sessionCredentialFromConsole = ui.sessionCredentialFromConsole;
  x.sourceIdentity = sc?.sourceIdentity;
  x.issuerUserName = issuer?.userName;
  x.issuerArn = issuer?.arn;
  x.issuerAccountId = issuer?.accountId;
  x.mfaAuthenticated = attrs?.mfaAuthenticated;
  x.ui = ui;
  const p = principalFrom(x, recipientAccountId);
  x.ui = undefined;
  return p;
}

/** The types whose principal reads keys of `userIdentity` that IdentityParts does not list (see IdentityParts.ui). */
export const TYPES_READING_UI: ReadonlySet<string> = new Set(["IdentityCenterUser", "SAMLUser", "WebIdentityUser"]);

/**
 * principalOf from what it reads of a userIdentity (see IdentityParts; `x.ui` must be given for
 * the TYPES_READING_UI). The same principal for the same values.
 */
export function principalFrom(x: IdentityParts, recipientAccountId: string | undefined): Principal {
  const type = str(x.type) ?? (str(x.invokedBy) ? "AWSService" : "Unknown");
  const arn = str(x.arn);
  const accountId = str(x.accountId) ?? accountFromArn(arn) ?? recipientAccountId;
  const userName = str(x.userName);
  const principalId = str(x.principalId);
  const invokedBy = str(x.invokedBy);
  const mfaRaw = x.mfaAuthenticated;
  // Every field present (undefined when unknown): one hidden class for all principals keeps the
  // scan's hot path monomorphic.
  const fc = x.sessionCredentialFromConsole;
  const p: Principal = {
    key: "",
    type,
    arn,
    accountId,
    userName: undefined,
    sessionName: undefined,
    principalId,
    accessKeyId: str(x.accessKeyId),
    invokedBy,
    mfa: mfaRaw !== undefined ? mfaRaw === true || mfaRaw === "true" : undefined,
    fromConsole: fc === true || fc === "true" ? true : undefined,
    person: undefined,
  };
  const acct = accountId ?? "unknown";

  switch (type) {
    case "IAMUser": {
      const name = userName ?? (arn ? arn.slice(arn.lastIndexOf("/") + 1) : undefined) ?? principalId ?? "unknown";
      p.userName = name;
      p.arn = arn ?? `arn:aws:iam::${acct}:user/${name}`;
      p.key = `user:${acct}:${name}`;
      break;
    }
    case "Root":
      p.arn = arn ?? `arn:aws:iam::${acct}:root`;
      p.userName = "root";
      p.key = `root:${acct}`;
      break;
    case "AssumedRole": {
      const parsed = parseAssumedRoleArn(arn);
      const issuerName = str(x.issuerUserName);
      const issuerArn = str(x.issuerArn);
      const issuerAcct = str(x.issuerAccountId) ?? accountId ?? "unknown";
      const role = issuerName ?? parsed.role ?? principalId?.split(":")[0] ?? "unknown";
      p.userName = role;
      p.accountId = issuerAcct;
      p.arn = issuerArn ?? `arn:aws:iam::${issuerAcct}:role/${role}`;
      const session = own(parsed.session ?? (principalId?.includes(":") ? principalId.slice(principalId.indexOf(":") + 1) : undefined));
      if (session) p.sessionName = session;
      p.key = `role:${issuerAcct}:${role}`;
      const who = personOf(role, session, str(x.sourceIdentity));
      if (who) p.person = who;
      break;
    }
    case "FederatedUser": {
      const issuerName = str(x.issuerUserName);
      const fedName = own(arn ? arn.slice(arn.lastIndexOf("/") + 1) : undefined);
      p.userName = issuerName ?? fedName ?? "unknown";
      if (fedName) p.sessionName = fedName;
      p.key = `federated:${acct}:${p.userName}`;
      const who = personOf(p.userName, fedName, str(x.sourceIdentity));
      if (who) p.person = who;
      break;
    }
    case "AWSService":
      p.key = `service:${invokedBy ?? principalId ?? "unknown"}`;
      p.userName = invokedBy ?? principalId ?? "unknown";
      break;
    case "AWSAccount":
      p.key = `account:${accountId ?? principalId ?? "unknown"}`;
      break;
    case "IdentityCenterUser": {
      const ob = obj(x.ui?.onBehalfOf);
      const store = ob ? str(ob.identityStoreArn) : undefined;
      const dir = store ? store.slice(store.lastIndexOf("/") + 1) : "unknown";
      const uid = (ob ? str(ob.userId) : undefined) ?? userName ?? "unknown";
      p.userName = userName ?? uid;
      p.key = `idc:${dir}:${uid}`;
      break;
    }
    case "SAMLUser":
      p.userName = userName ?? principalId ?? "unknown";
      p.key = `saml:${str(x.ui?.identityProvider) ?? "unknown"}:${p.userName}`;
      break;
    case "WebIdentityUser":
      p.userName = userName ?? principalId ?? "unknown";
      p.key = `web:${str(x.ui?.identityProvider) ?? "unknown"}:${p.userName}`;
      break;
    default:
      p.userName = userName ?? principalId ?? "unknown";
      p.key = `${type.toLowerCase()}:${acct}:${p.userName}`;
  }
  return p;
}

// ---------------------------------------------------------------- the record

/** The checks after eventTime, in the order both paths apply them (so skip reasons agree). */
export function missingField(r: Record<string, unknown>): SkipReason | undefined {
  const rawName = r.eventName;
  if (typeof rawName !== "string" || rawName.length === 0) {
    if (r.eventCategory === "Insight" || r.insightDetails) return "insight-event";
    return "missing-eventName";
  }
  const eventSource = r.eventSource;
  if (typeof eventSource !== "string" || eventSource.length === 0) return "missing-eventSource";
  const ui = r.userIdentity;
  if (ui === null || typeof ui !== "object" || Array.isArray(ui)) return "missing-userIdentity";
  const id = r.eventID;
  if (typeof id !== "string" || id.length === 0) return "missing-eventID";
  return undefined;
}

/**
 * Turn one raw CloudTrail record into a TrailEvent, or say why it cannot be used.
 * Implements the checks of `RawRecord` (./raw-record.ts) without allocating a schema parse per record.
 */
export function normalizeRecord(raw: unknown): NormalizeResult {
  const r = toTrailEvent(raw);
  return typeof r === "string" ? { ok: false, reason: r } : { ok: true, event: r };
}

/** The allocation-lean form of `normalizeRecord` used on the scan's hot path: the event, or why not. */
export function toTrailEvent(raw: unknown): TrailEvent | SkipReason {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return "not-an-object";
  const r = raw as Record<string, unknown>;
  const eventTime = r.eventTime;
  if (typeof eventTime !== "string") {
    if (r.eventCategory === "Insight" || r.insightDetails) return "insight-event";
    return "missing-eventTime";
  }
  const time = Date.parse(eventTime);
  if (Number.isNaN(time)) return "bad-eventTime";
  const bad = missingField(r);
  if (bad) return bad;
  const rawName = r.eventName as string;
  const eventSource = r.eventSource as string;
  const ui = r.userIdentity as Record<string, unknown>;
  const id = r.eventID as string;

  const recipient = typeof r.recipientAccountId === "string" ? r.recipientAccountId : undefined;
  const principal = principalOf(ui as Record<string, unknown>, recipient);
  const sourceIp = typeof r.sourceIPAddress === "string" ? r.sourceIPAddress : "";
  const userAgent = typeof r.userAgent === "string" ? r.userAgent : "";
  const errorCode = typeof r.errorCode === "string" && r.errorCode.length > 0 ? r.errorCode : undefined;
  const errorMessage = typeof r.errorMessage === "string" ? r.errorMessage : undefined;
  const responseElements = obj(r.responseElements) ?? null;
  const names = apiOf(eventSource, rawName);
  const eventName = names.name;
  const consoleFailure = eventName === "ConsoleLogin" && responseElements?.ConsoleLogin === "Failure";
  const failed = errorCode !== undefined || consoleFailure;
  const denied = consoleFailure || isDeniedCode(errorCode, errorMessage);
  const ro = r.readOnly;

  const ev: TrailEvent = {
    id,
    time,
    eventName,
    rawEventName: rawName,
    eventSource,
    service: names.service,
    api: names.api,
    eventType: typeof r.eventType === "string" ? r.eventType : "AwsApiCall",
    region: typeof r.awsRegion === "string" ? r.awsRegion : "unknown",
    accountId: recipient ?? principal.accountId ?? "unknown",
    principal,
    sourceIp,
    ipKind: classifySourceIp(sourceIp),
    userAgent,
    uaFamily: userAgentFamily(userAgent),
    failed,
    denied,
    requestParameters: obj(r.requestParameters) ?? null,
    responseElements,
    additionalEventData: obj(r.additionalEventData) ?? null,
    // Optional fields are always present (undefined when absent): one hidden class for every event.
    errorCode,
    errorMessage,
    readOnly: ro === true || ro === "true" ? true : ro === false || ro === "false" ? false : undefined,
    managementEvent: typeof r.managementEvent === "boolean" ? r.managementEvent : undefined,
    eventCategory: typeof r.eventCategory === "string" ? r.eventCategory : undefined,
    serviceEventDetails: obj(r.serviceEventDetails),
    resources: undefined,
    vpcEndpointId: typeof r.vpcEndpointId === "string" ? r.vpcEndpointId : undefined,
    sharedEventId: typeof r.sharedEventID === "string" ? r.sharedEventID : undefined,
  };
  if (Array.isArray(r.resources)) {
    ev.resources = (r.resources as unknown[])
      .filter((x) => obj(x))
      .map((x) => {
        const o = x as Record<string, unknown>;
        const res: { arn?: string; accountId?: string; type?: string } = {};
        const a = str(o.ARN) ?? str(o.ARNPrefix) ?? str(o.arn);
        if (a) res.arn = a;
        const acc = str(o.accountId);
        if (acc) res.accountId = acc;
        const t = str(o.type);
        if (t) res.type = t;
        return res;
      });
  }
  return ev;
}
