/**
 * Builders for detector tests: raw CloudTrail records, normalised TrailEvents, detector contexts
 * with a cold-start or a generated baseline, identity windows, and readers for the shared
 * fixtures. Shared by the catalogue and behavioural detector tests: keep the signatures stable
 * (add options rather than change parameters).
 *
 * Generated baselines stand in for weeks of history, which no shared data set spans (see
 * test/fixtures/*: at most one hour of one account).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { DAY, DEFAULT_BASELINE_CONFIG, emptyProfile, type Dim, type Profile } from "../../src/baseline/profile.js";
import { BaselineView } from "../../src/baseline/view.js";
import { emptyWindow } from "../../src/detectors/lib/window.js";
import { normalizeRecord } from "../../src/events/normalize.js";
import type { Principal, TrailEvent } from "../../src/events/types.js";
import type { GeoResolver } from "../../src/geo/types.js";
import type { Detector, DetectorConfig, DetectorContext, EventDetector, FindingDraft, IdentityWindow, WinStat } from "../../src/detectors/types.js";

export const ACCOUNT = "111111111111";
export const T0 = Date.parse("2024-05-01T12:00:00Z");

// ---------------------------------------------------------------- identities (raw userIdentity)

export function iamUser(name = "alice", account = ACCOUNT): Record<string, unknown> {
  return { type: "IAMUser", principalId: "AIDAEXAMPLE" + name, arn: `arn:aws:iam::${account}:user/${name}`, accountId: account, accessKeyId: "AKIAEXAMPLE", userName: name };
}

export function assumedRole(role = "Deploy", session = "session-1", account = ACCOUNT, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "AssumedRole",
    principalId: `AROAEXAMPLE:${session}`,
    arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
    accountId: account,
    accessKeyId: "ASIAEXAMPLE",
    sessionContext: {
      sessionIssuer: { type: "Role", principalId: "AROAEXAMPLE", arn: `arn:aws:iam::${account}:role/${role}`, accountId: account, userName: role },
      attributes: { creationDate: "2024-05-01T11:00:00Z", mfaAuthenticated: "false" },
      ...extra,
    },
  };
}

export function rootUser(account = ACCOUNT): Record<string, unknown> {
  return { type: "Root", principalId: account, arn: `arn:aws:iam::${account}:root`, accountId: account, accessKeyId: "ASIAROOT" };
}

export function awsService(name = "lambda.amazonaws.com"): Record<string, unknown> {
  return { type: "AWSService", invokedBy: name };
}

// ---------------------------------------------------------------- records and events

let seq = 0;

export interface RecordInput {
  eventName: string;
  eventSource?: string;
  userIdentity?: Record<string, unknown>;
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
  additionalEventData?: Record<string, unknown> | null;
  errorCode?: string;
  errorMessage?: string;
  sourceIPAddress?: string;
  userAgent?: string;
  time?: number;
  region?: string;
  eventType?: string;
  readOnly?: boolean;
  recipientAccountId?: string;
  resources?: Array<Record<string, unknown>>;
  vpcEndpointId?: string;
  eventId?: string;
  [k: string]: unknown;
}

const SOURCE_BY_PREFIX: Array<[RegExp, string]> = [
  [/^(StopLogging|StartLogging|DeleteTrail|UpdateTrail|PutEventSelectors|CreateTrail|LookupEvents)$/, "cloudtrail.amazonaws.com"],
  [/^(ConsoleLogin|CheckMfa|GetSigninToken|PasswordUpdated)$/, "signin.amazonaws.com"],
  [/^(AssumeRole|AssumeRoleWithSAML|AssumeRoleWithWebIdentity|GetFederationToken|GetCallerIdentity|GetSessionToken)$/, "sts.amazonaws.com"],
  [/^(GetSecretValue|BatchGetSecretValue|PutResourcePolicy)$/, "secretsmanager.amazonaws.com"],
  [/^(SendCommand|StartSession|GetParameter|GetParameters|GetParametersByPath)$/, "ssm.amazonaws.com"],
  [/^(PutBucket\w*|DeleteBucket\w*|PutObject\w*|CopyObject|DeleteObjects?|GetObject|ListBuckets)$/, "s3.amazonaws.com"],
  [
    /^(CreateAccessKey|CreateLoginProfile|UpdateLoginProfile|Attach\w+Policy|Put\w+Policy|CreateRole|CreateUser|UpdateAssumeRolePolicy|AddUserToGroup|CreatePolicyVersion|SetDefaultPolicyVersion|(Create|Update|Delete)\w*Provider|ListUsers|ListRoles)$/,
    "iam.amazonaws.com",
  ],
  [/^(UpdateFunctionCode|UpdateFunctionConfiguration|AddPermission|CreateFunction)/, "lambda.amazonaws.com"],
];

export function sourceFor(eventName: string): string {
  for (const [re, src] of SOURCE_BY_PREFIX) if (re.test(eventName)) return src;
  return "ec2.amazonaws.com";
}

/** A raw CloudTrail record with sensible defaults (IAM user `alice`, us-east-1, T0). */
export function rawRecord(input: RecordInput): Record<string, unknown> {
  const { eventName, eventSource, userIdentity, time, region, eventId, ...rest } = input;
  const r: Record<string, unknown> = {
    eventVersion: "1.09",
    eventID: eventId ?? `ev-${++seq}`,
    eventTime: new Date(time ?? T0).toISOString(),
    eventName,
    eventSource: eventSource ?? sourceFor(eventName),
    awsRegion: region ?? "us-east-1",
    userIdentity: userIdentity ?? iamUser(),
    sourceIPAddress: "203.0.113.10",
    userAgent: "aws-cli/2.15.0 Python/3.11.6 Linux/6.5 exe/x86_64.ubuntu.22",
    requestParameters: null,
    responseElements: null,
    eventType: "AwsApiCall",
    recipientAccountId: ACCOUNT,
  };
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) r[k] = v;
  return r;
}

/** Normalise a record; throws if the record is not usable (a test bug). */
export function toEvent(raw: unknown): TrailEvent {
  const res = normalizeRecord(raw);
  if (!res.ok) throw new Error(`record not usable: ${res.reason}`);
  return res.event;
}

/** A normalised event built from `rawRecord` defaults. */
export function ev(input: RecordInput): TrailEvent {
  return toEvent(rawRecord(input));
}

// ---------------------------------------------------------------- contexts and baselines

export const DEFAULT_DETECTOR_CONFIG: DetectorConfig = { ownAccounts: new Set([ACCOUNT]), maxSpeedKmh: 900, minTravelKm: 100 };

export interface HistoryInput {
  /** `service:EventName` keys seen before the window. */
  apis?: string[];
  /** Other dimensions: { ip: ["1.2.3.4"], ... }. */
  dims?: Partial<Record<Dim, string[]>>;
  /** Days of history before the window (default 41). */
  days?: number;
  /** Events per API (default 20). */
  perApi?: number;
  /** Total (decayed) events; default max(apis x perApi, 100), i.e. past learning. */
  events?: number;
}

/** A generated profile: `days` days of history ending just before `windowStart`, active every day. */
export function historyProfile(p: Principal, windowStart: number, h: HistoryInput = {}): Profile {
  const prof = emptyProfile(p.key, p.type);
  const days = h.days ?? 41;
  const first = windowStart - days * DAY;
  const perApi = h.perApi ?? 20;
  prof.first = first;
  prof.last = windowStart - 3_600_000;
  prof.trainedUntil = prof.last;
  const apis = h.apis ?? ["sts:GetCallerIdentity", "ec2:DescribeInstances", "s3:ListBuckets"];
  for (const a of apis) prof.dims.api[a] = [perApi, 0, first, prof.last];
  for (const a of apis) prof.dims.service[a.split(":")[0]!] = [perApi, 0, first, prof.last];
  for (const [dim, vals] of Object.entries(h.dims ?? {})) for (const v of vals ?? []) prof.dims[dim as Dim][v] = [perApi, 0, first, prof.last];
  // Enough events to be past learning (DEFAULT_BASELINE_CONFIG.learningMinEvents) unless told otherwise.
  prof.events = h.events ?? Math.max(apis.length * perApi, 100);
  for (let d = Math.floor(first / DAY); d < Math.floor(windowStart / DAY); d++) prof.days.push(d);
  return prof;
}

export interface CtxInput {
  /** Omit for a cold start (no history). */
  history?: HistoryInput;
  windowStart?: number;
  windowEnd?: number;
  ownAccounts?: string[];
  geo?: GeoResolver;
}

/** A detector context for `p`: cold start by default, or with a generated history. */
export function ctxFor(p: Principal, input: CtxInput = {}): DetectorContext {
  const start = input.windowStart ?? T0 - 3_600_000;
  const end = input.windowEnd ?? T0 + 3_600_000;
  const profile = input.history ? historyProfile(p, start, input.history) : undefined;
  const baseline = new BaselineView(profile, start, DEFAULT_BASELINE_CONFIG);
  const ctx: DetectorContext = {
    principal: p,
    baseline,
    learning: baseline.learning,
    window: { start, end },
    config: input.ownAccounts ? { ...DEFAULT_DETECTOR_CONFIG, ownAccounts: new Set(input.ownAccounts) } : DEFAULT_DETECTOR_CONFIG,
  };
  if (input.geo) ctx.geo = input.geo;
  return ctx;
}

/** A cold-start context for the event's own principal. */
export function coldCtx(e: TrailEvent, input: Omit<CtxInput, "history"> = {}): DetectorContext {
  return ctxFor(e.principal, input);
}

// ---------------------------------------------------------------- running detectors

export function asList(out: FindingDraft | FindingDraft[] | null): FindingDraft[] {
  if (!out) return [];
  return Array.isArray(out) ? out : [out];
}

/** Does an event detector look at this event (by name or by `select`)? */
export function selects(d: EventDetector, e: TrailEvent): boolean {
  return d.eventNames ? d.eventNames.includes(e.eventName) : (d.select?.(e) ?? false);
}

/** Run one event detector on one event the way the scan does (selection first). */
export function runEvent(d: EventDetector, e: TrailEvent, ctx: DetectorContext = coldCtx(e)): FindingDraft[] {
  if (!selects(d, e)) return [];
  return asList(d.detect(e, ctx));
}

function winStat(): WinStat {
  return { n: 0, err: 0, denied: 0, first: Infinity, last: -Infinity, ids: [] };
}

function bump(m: Map<string, WinStat>, k: string, e: TrailEvent): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = winStat()));
  s.n++;
  if (e.failed) s.err++;
  if (e.denied) s.denied++;
  s.first = Math.min(s.first, e.time);
  s.last = Math.max(s.last, e.time);
  if (s.ids.length < 5) s.ids.push(e.id);
}

/**
 * A simplified IdentityWindow over the events of ONE identity (a test double of the scan's
 * accumulator): counts per API/IP/UA/session, public-IP geo points, and the events that the given
 * event detectors select as candidates.
 */
export { emptyWindow };

export function windowOf(events: readonly TrailEvent[], detectors: readonly Detector[], geo?: GeoResolver): IdentityWindow {
  const sorted = [...events].sort((a, b) => a.time - b.time);
  const first = sorted[0];
  if (!first) throw new Error("windowOf needs events");
  const w: IdentityWindow = {
    ...emptyWindow(first.principal),
    events: sorted.length,
    errors: sorted.filter((e) => e.failed).length,
    denied: sorted.filter((e) => e.denied).length,
    first: first.time,
    last: sorted[sorted.length - 1]!.time,
  };
  const sessions = new Set<string>();
  const eventDetectors = detectors.filter((d): d is EventDetector => d.kind === "event");
  for (const e of sorted) {
    const viaService = e.principal.invokedBy !== undefined;
    bump(w.apis, e.service + ":" + e.eventName, e);
    bump(w.services, e.service, e);
    bump(w.regions, e.region, e);
    if (!viaService && (e.ipKind === "public" || e.ipKind === "private")) bump(w.ips, e.sourceIp, e);
    if (!viaService) bump(w.uas, e.uaFamily, e);
    if (e.errorCode) bump(w.errorCodes, e.errorCode, e);
    if (e.principal.sessionName) sessions.add(e.principal.sessionName);
    if (e.ipKind === "public" && !viaService) {
      const info = geo?.lookup(e.sourceIp);
      const point: IdentityWindow["geo"][number] = { time: e.time, ip: e.sourceIp, eventId: e.id };
      if (e.principal.sessionName) point.session = e.principal.sessionName;
      if (info) point.geo = info;
      w.geo.push(point);
    }
    if (eventDetectors.some((d) => selects(d, e))) w.candidates.push(e);
  }
  w.sessions = [...sessions];
  return w;
}

/** Group events by identity key. */
export function byIdentity(events: readonly TrailEvent[]): Map<string, TrailEvent[]> {
  const m = new Map<string, TrailEvent[]>();
  for (const e of events) {
    let l = m.get(e.principal.key);
    if (!l) m.set(e.principal.key, (l = []));
    l.push(e);
  }
  return m;
}

// ---------------------------------------------------------------- shared fixtures

const FIXTURES = join(import.meta.dirname, "..", "fixtures");

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
}

/** Every raw record of the invictus-aws sample, time-sorted. */
export function invictusRecords(): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const f of walk(join(FIXTURES, "invictus-aws", "AWSLogs"))) {
    if (!f.endsWith(".json.gz")) continue;
    const body = JSON.parse(gunzipSync(readFileSync(f)).toString("utf8")) as { Records: Array<Record<string, unknown>> };
    out.push(...body.Records);
  }
  return out.sort((a, b) => String(a.eventTime).localeCompare(String(b.eventTime)));
}

/** The otrf breach sample (one record per line). */
export function otrfRecords(): Array<Record<string, unknown>> {
  return readFileSync(join(FIXTURES, "otrf", "ec2-proxy-s3-exfiltration.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export interface PantherTest {
  rule_id: string;
  test_name: string;
  expect: boolean;
  has_mocks: boolean;
  record: Record<string, unknown>;
}

export function pantherTests(): PantherTest[] {
  return readFileSync(join(FIXTURES, "panther-rule-tests", "tests.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as PantherTest);
}

/** The label of the invictus sample: the Stratus Red Team user agent (never used by detectors). */
export const STRATUS_UA = /stratus-red-team_([0-9a-f-]{36})/;
export const TERRAFORM_UA = /HashiCorp|Terraform\//;
