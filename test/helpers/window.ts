/**
 * Builders for the behavioural (window) detectors: IdentityWindow, Profile and BaselineView from
 * lists of TrailEvents, and a seeded generator of weeks of normal activity for a few identity
 * archetypes.
 *
 * Why generated data: the shared CloudTrail samples span about one hour of one account and carry
 * no real public IP addresses (see test/fixtures and shared/data/cloudtrail/README.md), so a
 * baseline of weeks, hour-of-day rhythms, novelty rates and geography cannot come from them. The
 * generator below produces that history deterministically (seeded), and tests inject anomalies on
 * top. Public addresses and their locations are illustrative: they come from a static table
 * (`GEN_GEO`), not from a real database, so tests do not depend on monthly data updates.
 *
 * `buildWindow` and `buildProfile` run the production code: the ingest's accumulator
 * (src/ingest/accumulator.ts) and the baseline merge (src/baseline/merge.ts), so that detector
 * tests see the windows and profiles a scan gives them.
 */
import { mergeProfile } from "../../src/baseline/merge.js";
import { DAY, DEFAULT_BASELINE_CONFIG, HOUR, type BaselineConfig, type Profile } from "../../src/baseline/profile.js";
import { BaselineView } from "../../src/baseline/view.js";
import type { Principal, TrailEvent } from "../../src/events/types.js";
import { StaticGeoResolver, type GeoInfo, type GeoResolver } from "../../src/geo/types.js";
import type { DetectorConfig, DetectorContext, FindingDraft, IdentityWindow, WindowDetector } from "../../src/detectors/types.js";
import { BUCKET_MS, IdentityAcc } from "../../src/ingest/accumulator.js";
import { floorBucket } from "../../src/ingest/window.js";
import { ACCOUNT, STRATUS_UA, assumedRole, emptyWindow, ev, iamUser, invictusRecords, toEvent, type RecordInput } from "./events.js";
import { rng } from "../../src/util/rng.js";

export const BUCKET = BUCKET_MS;

export const DETECTOR_CONFIG: DetectorConfig = { ownAccounts: new Set([ACCOUNT]), maxSpeedKmh: 900, minTravelKm: 100 };

// ---------------------------------------------------------------- window

export interface WindowOptions {
  start?: number;
  end?: number;
  geo?: GeoResolver;
  /**
   * Keep the session name on each geo point (what impossible-travel uses). The scan always
   * provides it; without this option the points are stripped of it, to test the detector on
   * sources that carry no session (IAM users' keys, older logs).
   */
  geoSessions?: boolean;
}

/** An accumulator of the ingest with `events` (in time order) folded in as the scan folds them. */
function accumulate(events: readonly TrailEvent[], wmin: number, inWindow: (e: TrailEvent) => boolean, geo: GeoResolver | undefined): IdentityAcc {
  const acc = new IdentityAcc(events[0]!.principal, -Infinity);
  for (const e of events) acc.add(e, e.ipKind === "public" ? geo?.lookup(e.sourceIp) : undefined, inWindow(e), wmin, undefined);
  return acc;
}

/**
 * The IdentityWindow of one identity's events inside [start, end) (defaults: the events' span),
 * built by the ingest's accumulator (src/ingest/accumulator.ts) as the scan builds it. It holds
 * no candidates: a test sets those the event detectors would select.
 */
export function buildWindow(events: readonly TrailEvent[], opts: WindowOptions = {}): IdentityWindow {
  const sorted = [...events].sort((a, b) => a.time - b.time);
  if (sorted.length === 0) throw new Error("buildWindow needs events");
  const start = opts.start ?? floorBucket(sorted[0]!.time);
  const end = opts.end ?? sorted[sorted.length - 1]!.time + 1;
  const inWin = sorted.filter((e) => e.time >= start && e.time < end);
  if (inWin.length === 0) return emptyWindow(sorted[0]!.principal);
  const w = accumulate(inWin, start, () => true, opts.geo).toWindow(start, end, (ip) => opts.geo?.lookup(ip));
  if (!opts.geoSessions) w.geo = w.geo.map(({ session: _, ...p }) => p);
  return w;
}

// ---------------------------------------------------------------- profile

export interface ProfileOptions {
  /** Fold only events before this time (the window start). */
  before: number;
  geo?: GeoResolver;
  cfg?: BaselineConfig;
}

/**
 * The Profile of the events before `before`: folded by the ingest's accumulator and merged by
 * the baseline's `mergeProfile` (src/baseline/merge.ts) into an empty profile at `before`, as a
 * first scan would store it (no decay).
 */
export function buildProfile(events: readonly TrailEvent[], opts: ProfileOptions): Profile {
  const hist = [...events].filter((e) => e.time < opts.before).sort((a, b) => a.time - b.time);
  if (hist.length === 0) {
    const p0 = events[0];
    if (!p0) throw new Error("buildProfile needs events");
    return mergeProfile(undefined, new IdentityAcc(p0.principal, -Infinity), opts.before, opts.cfg ?? DEFAULT_BASELINE_CONFIG);
  }
  const acc = accumulate(hist, opts.before, () => false, opts.geo);
  acc.foldAll();
  return mergeProfile(undefined, acc, opts.before, opts.cfg ?? DEFAULT_BASELINE_CONFIG);
}

/** The detector context of an identity with `profile` (undefined = cold start) for a window. */
export function contextFor(principal: Principal, profile: Profile | undefined, window: { start: number; end: number }, geo?: GeoResolver): DetectorContext {
  const baseline = new BaselineView(profile, window.start, DEFAULT_BASELINE_CONFIG);
  const ctx: DetectorContext = { principal, baseline, learning: baseline.learning, window, config: DETECTOR_CONFIG };
  if (geo) ctx.geo = geo;
  return ctx;
}

export interface Scenario {
  win: IdentityWindow;
  ctx: DetectorContext;
  profile: Profile | undefined;
}

/**
 * History events (before `start`) + window events -> the window and context a detector sees.
 * Pass `history: []` for a cold start.
 */
export function scenario(
  history: readonly TrailEvent[],
  windowEvents: readonly TrailEvent[],
  window: { start: number; end: number },
  opts: { geo?: GeoResolver; geoSessions?: boolean } = {},
): Scenario {
  const profile = history.length ? buildProfile(history, { before: window.start, ...(opts.geo ? { geo: opts.geo } : {}) }) : undefined;
  const principal = windowEvents[0]?.principal ?? history[0]!.principal;
  const win = buildWindow(windowEvents, { start: window.start, end: window.end, ...opts });
  return { win, ctx: contextFor(principal, profile, window, opts.geo), profile };
}

export function run(d: WindowDetector, s: Scenario): FindingDraft[] {
  return d.detect(s.win, s.ctx);
}

// ---------------------------------------------------------------- seeded generator

export { rng };

export function poisson(r: () => number, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gauss(r)));
  const L = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= r();
  } while (p > L);
  return k - 1;
}

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(1e-12, r()))) * Math.cos(2 * Math.PI * r());
}

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** Illustrative public addresses and where the generator says they are. */
/** The array as a non-empty tuple type, so that `[0]` is known to exist. */
function nonEmpty<T>(a: readonly T[]): readonly [T, ...T[]] {
  const [first, ...rest] = a;
  if (first === undefined) throw new Error("expected a non-empty array");
  return [first, ...rest];
}

export const GEN_IPS = {
  parisOrange: ["90.12.34.56", "90.12.77.10", "86.200.14.3"],
  parisOrangeNew: "90.47.201.9",
  parisFree: "82.64.12.200",
  lyonOrange: "90.55.3.21",
  saoPaulo: "177.92.14.7",
  mullvadSe: "193.138.218.77",
  azureRunners: ["20.42.65.10", "20.118.33.4", "52.176.9.81", "40.84.170.2", "20.98.140.19"],
  awsTasks: nonEmpty(Array.from({ length: 24 }, (_, i) => `3.${80 + (i % 6)}.${10 + i}.${100 + i}`)),
  londonHome: "81.2.69.142",
  attackerVps: "45.77.12.34",
} as const;

const PARIS = { lat: 48.8566, lon: 2.3522 };
const ORANGE = { asn: 3215, asOrg: "Orange S.A." };

export const GEN_GEO_TABLE: Record<string, GeoInfo> = {
  ...Object.fromEntries(GEN_IPS.parisOrange.map((ip) => [ip, { country: "FR", city: "Paris", ...PARIS, ...ORANGE }])),
  [GEN_IPS.parisOrangeNew]: { country: "FR", city: "Paris", ...PARIS, ...ORANGE },
  [GEN_IPS.parisFree]: { country: "FR", city: "Paris", ...PARIS, asn: 12322, asOrg: "Free SAS" },
  [GEN_IPS.lyonOrange]: { country: "FR", city: "Lyon", lat: 45.764, lon: 4.8357, ...ORANGE },
  [GEN_IPS.saoPaulo]: { country: "BR", city: "Sao Paulo", lat: -23.5505, lon: -46.6333, asn: 28573, asOrg: "Claro NXT Telecomunicacoes Ltda" },
  [GEN_IPS.mullvadSe]: { country: "SE", city: "Stockholm", lat: 59.3293, lon: 18.0686, asn: 39351, asOrg: "31173 Services AB", relay: true, relayKind: "vpn" },
  [GEN_IPS.londonHome]: { country: "GB", city: "London", lat: 51.5143, lon: -0.0912, asn: 20712, asOrg: "Andrews & Arnold Ltd" },
  [GEN_IPS.attackerVps]: { country: "NL", city: "Amsterdam", lat: 52.37, lon: 4.89, asn: 20473, asOrg: "The Constant Company, LLC", hosting: true },
  ...Object.fromEntries(
    GEN_IPS.azureRunners
      .map((ip, i) => [
        ip,
        [
          { country: "US", city: "Ashburn", lat: 39.0438, lon: -77.4874 },
          { country: "US", city: "San Antonio", lat: 29.4241, lon: -98.4936 },
          { country: "US", city: "Des Moines", lat: 41.5868, lon: -93.625 },
          { country: "US", city: "Boydton", lat: 36.6676, lon: -78.3875 },
          { country: "US", city: "Quincy", lat: 47.2343, lon: -119.8526 },
        ][i]!,
      ])
      .map(([ip, loc]) => [ip, { ...(loc as object), asn: 8075, asOrg: "Microsoft Corporation", hosting: true }]),
  ),
  ...Object.fromEntries(GEN_IPS.awsTasks.map((ip) => [ip, { country: "US", city: "Ashburn", lat: 39.0438, lon: -77.4874, asn: 14618, asOrg: "Amazon.com, Inc.", hosting: true }])),
};

export const GEN_GEO = new StaticGeoResolver(GEN_GEO_TABLE);

/** Monday 2024-06-03 00:00 UTC: generated histories end here, windows start here. */
export const GEN_END = Date.parse("2024-06-03T00:00:00Z");

export const UA = {
  browser: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
  console: "console.amazonaws.com",
  terraform:
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.40.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.3 os/linux lang/go#1.21.8 md/GOOS#linux md/GOARCH#amd64",
  java: "aws-sdk-java/2.25.10 Linux/5.10.213-201.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/standard",
  cli: "aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9 exe/x86_64.ubuntu.22 prompt/off command/ec2.describe-instances",
  kali: "aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024 prompt/off",
} as const;

export type Archetype = "console-person" | "ci-role" | "service-role";

export interface Generated {
  kind: Archetype;
  identity: Record<string, unknown>;
  principal: Principal;
  /** Time-sorted events in [end - days, end). */
  events: TrailEvent[];
  start: number;
  end: number;
}

let genSeq = 0;

/** One generated call: the service (short name) and event, plus record fields. */
export interface GenInput {
  service: string;
  eventName: string;
  /** Raw userIdentity; defaults to the archetype's. */
  identity?: Record<string, unknown>;
  time?: number;
  sourceIPAddress?: string;
  userAgent?: string;
  region?: string;
  errorCode?: string;
  errorMessage?: string;
  eventType?: string;
  readOnly?: boolean;
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
  additionalEventData?: Record<string, unknown> | null;
}

type Emit = (input: GenInput) => void;

function emitter(out: TrailEvent[], identity: Record<string, unknown>, prefix: string): Emit {
  return ({ service, identity: id, ...input }) => {
    const rec: RecordInput = { ...input, eventSource: `${service}.amazonaws.com`, userIdentity: id ?? identity, eventId: `${prefix}-${++genSeq}` };
    out.push(ev(rec));
  };
}

/** Console pages and the reads each page load makes (a person in the console, eu-west-3). */
const CONSOLE_PAGES: ReadonlyArray<{ service: string; reads: string[]; writes?: string[] }> = [
  {
    service: "ec2",
    reads: ["DescribeInstances", "DescribeInstanceStatus", "DescribeTags", "DescribeVolumes", "DescribeSecurityGroups", "DescribeAddresses"],
    writes: ["StartInstances", "StopInstances"],
  },
  { service: "s3", reads: ["ListBuckets", "GetBucketLocation", "ListObjects", "GetBucketPolicyStatus"], writes: ["PutObject"] },
  { service: "cloudwatch", reads: ["GetMetricData", "DescribeAlarms", "ListDashboards"] },
  { service: "logs", reads: ["DescribeLogGroups", "FilterLogEvents"] },
  { service: "lambda", reads: ["ListFunctions", "GetFunction", "GetAccountSettings"] },
  { service: "iam", reads: ["GetUser", "ListAccessKeys", "ListMFADevices"] },
  { service: "rds", reads: ["DescribeDBInstances", "DescribeDBClusters"] },
];

function consolePerson(r: () => number, start: number, end: number, out: TrailEvent[]): Record<string, unknown> {
  const identity = { ...iamUser("maria"), sessionContext: { attributes: { mfaAuthenticated: "true", creationDate: new Date(start).toISOString() } } };
  const emit = emitter(out, identity, "cp");
  const ips = [...GEN_IPS.parisOrange];
  for (let day = start; day < end; day += DAY) {
    const wd = new Date(day).getUTCDay();
    if ((wd === 0 || wd === 6) && r() > 0.05) continue;
    if (r() < 0.08) continue; // leave, meetings all day
    const ip = r() < 0.8 ? ips[0]! : pick(r, ips);
    const sessions = 1 + poisson(r, 0.8);
    for (let s = 0; s < sessions; s++) {
      let t = day + (7 + Math.floor(r() * 9)) * HOUR + Math.floor(r() * 60) * 60_000;
      emit({
        service: "signin",
        eventName: "ConsoleLogin",
        eventType: "AwsConsoleSignIn",
        time: t,
        sourceIPAddress: ip,
        userAgent: UA.browser,
        region: "eu-west-3",
        responseElements: { ConsoleLogin: "Success" },
        additionalEventData: { MFAUsed: "Yes" },
      });
      const loads = 5 + poisson(r, 10);
      for (let k = 0; k < loads; k++) {
        t += (1 + Math.floor(r() * 4)) * 60_000;
        const page = pick(r, CONSOLE_PAGES);
        const n = 2 + Math.floor(r() * (page.reads.length - 1));
        for (let j = 0; j < n; j++)
          emit({
            service: page.service,
            eventName: page.reads[j]!,
            time: t + j * 1000,
            sourceIPAddress: ip,
            userAgent: r() < 0.7 ? UA.console : UA.browser,
            region: "eu-west-3",
            readOnly: true,
          });
        if (page.writes && r() < 0.08)
          emit({ service: page.service, eventName: pick(r, page.writes), time: t + 20_000, sourceIPAddress: ip, userAgent: UA.console, region: "eu-west-3" });
      }
    }
  }
  return identity;
}

/** The estate a CI role's Terraform reads on every plan; it grows by a few resource types a week. */
const CI_ESTATE: ReadonlyArray<{ week: number; service: string; reads: string[]; writes: string[] }> = [
  {
    week: 0,
    service: "ec2",
    reads: ["DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups", "DescribeRouteTables", "DescribeInstances", "DescribeLaunchTemplates"],
    writes: ["CreateTags", "AuthorizeSecurityGroupEgress"],
  },
  { week: 0, service: "s3", reads: ["GetBucketPolicy", "GetBucketVersioning", "GetBucketAcl", "GetBucketTagging", "ListBucket"], writes: ["PutBucketTagging"] },
  { week: 0, service: "iam", reads: ["GetRole", "ListRolePolicies", "ListAttachedRolePolicies", "GetPolicy", "GetPolicyVersion"], writes: ["TagRole"] },
  { week: 0, service: "lambda", reads: ["GetFunction", "GetFunctionCodeSigningConfig", "ListVersionsByFunction", "GetPolicy"], writes: ["UpdateFunctionConfiguration"] },
  { week: 0, service: "logs", reads: ["DescribeLogGroups", "ListTagsLogGroup"], writes: ["PutRetentionPolicy"] },
  { week: 0, service: "sts", reads: ["GetCallerIdentity"], writes: [] },
  { week: 1, service: "dynamodb", reads: ["DescribeTable", "DescribeContinuousBackups", "DescribeTimeToLive", "ListTagsOfResource"], writes: ["TagResource"] },
  { week: 2, service: "sqs", reads: ["GetQueueAttributes", "ListQueueTags"], writes: ["SetQueueAttributes"] },
  { week: 3, service: "ec2", reads: ["DescribeNatGateways", "DescribeVpcEndpoints"], writes: ["ModifyVpcEndpoint"] },
  { week: 4, service: "cloudwatch", reads: ["DescribeAlarms", "ListTagsForResource"], writes: ["PutMetricAlarm"] },
  { week: 5, service: "ecr", reads: ["DescribeRepositories", "GetLifecyclePolicy", "ListTagsForResource"], writes: ["PutLifecyclePolicy"] },
  { week: 6, service: "ec2", reads: ["DescribeFlowLogs"], writes: ["CreateFlowLogs"] },
  { week: 6, service: "sns", reads: ["GetTopicAttributes", "ListTagsForResource"], writes: ["SetTopicAttributes"] },
];

function ciRole(r: () => number, start: number, end: number, out: TrailEvent[]): Record<string, unknown> {
  let identity: Record<string, unknown> = assumedRole("github-deploy", "GitHubActions-0");
  const week0 = start;
  for (let day = start; day < end; day += DAY) {
    const wd = new Date(day).getUTCDay();
    const deploys = poisson(r, wd === 0 || wd === 6 ? 0.7 : 4);
    const week = Math.floor((day - week0) / (7 * DAY));
    const estate = CI_ESTATE.filter((x) => x.week <= week);
    for (let k = 0; k < deploys; k++) {
      const runId = Math.floor(r() * 1e9);
      identity = assumedRole("github-deploy", `GitHubActions-${runId}`);
      const emit = emitter(out, identity, "ci");
      const ip = pick(r, GEN_IPS.azureRunners);
      let t = day + (6 + Math.floor(r() * 14)) * HOUR + Math.floor(r() * 50) * 60_000;
      for (const res of estate) {
        for (const name of res.reads) {
          const reps = 1 + poisson(r, 1.5);
          for (let i = 0; i < reps; i++)
            emit({
              service: res.service,
              eventName: name,
              time: (t += 700 + Math.floor(r() * 900)),
              sourceIPAddress: ip,
              userAgent: UA.terraform,
              region: "us-east-1",
              readOnly: true,
            });
        }
      }
      for (const res of estate)
        if (res.writes.length && r() < 0.3)
          emit({ service: res.service, eventName: pick(r, res.writes), time: (t += 2000), sourceIPAddress: ip, userAgent: UA.terraform, region: "us-east-1" });
    }
  }
  return identity;
}

function serviceRole(r: () => number, start: number, end: number, out: TrailEvent[]): Record<string, unknown> {
  const identity = assumedRole("orders-api", "task-7f3a");
  const emit = emitter(out, identity, "svc");
  const mix: Array<[string, string, number]> = [
    ["dynamodb", "GetItem", 0.45],
    ["dynamodb", "PutItem", 0.2],
    ["dynamodb", "Query", 0.15],
    ["sqs", "ReceiveMessage", 0.08],
    ["sqs", "DeleteMessage", 0.07],
    ["kms", "Decrypt", 0.05],
  ];
  let ipIdx = 0;
  for (let h = start; h < end; h += HOUR) {
    const hod = new Date(h).getUTCHours();
    if (hod === 0 && r() < 0.3) ipIdx = (ipIdx + 1) % GEN_IPS.awsTasks.length; // tasks replaced now and then
    const lambda = 30 + 15 * Math.sin(((hod - 8) / 24) * 2 * Math.PI);
    const n = poisson(r, lambda);
    for (let i = 0; i < n; i++) {
      let x = r();
      let choice = mix[0]!;
      for (const m of mix) {
        if (x < m[2]) {
          choice = m;
          break;
        }
        x -= m[2];
      }
      const fail = choice[1] === "PutItem" && r() < 0.02;
      emit({
        service: choice[0],
        eventName: choice[1],
        time: h + Math.floor(r() * HOUR),
        sourceIPAddress: GEN_IPS.awsTasks[ipIdx]!,
        userAgent: UA.java,
        region: "us-east-1",
        ...(fail ? { errorCode: "ConditionalCheckFailedException", errorMessage: "The conditional request failed" } : {}),
      });
    }
  }
  return identity;
}

const cache = new Map<string, Generated>();

/**
 * Weeks of normal activity for one archetype, ending at `end` (default GEN_END). Deterministic for
 * a given (kind, days, seed, end); cached, treat the result as read-only.
 *  - console-person: IAM user `maria` in the console from Paris (Orange), weekdays 07-17 UTC,
 *    a fixed set of console pages;
 *  - ci-role: role `github-deploy` run by GitHub-hosted runners (Azure, US), Terraform plans of an
 *    estate that gains resource types every week (new APIs and services regularly, including in the
 *    seventh week, which `normalDays` uses as detection windows);
 *  - service-role: role `orders-api` from AWS task addresses, around 30 calls an hour day and night,
 *    DynamoDB/SQS/KMS, 2% conditional-check failures on PutItem.
 */
export function generate(kind: Archetype, opts: { days?: number; seed?: number; end?: number } = {}): Generated {
  const days = opts.days ?? 42;
  const seed = opts.seed ?? 1;
  const end = opts.end ?? GEN_END;
  const key = `${kind}:${days}:${seed}:${end}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const start = end - days * DAY;
  const r = rng(seed * 7919 + kind.length);
  const events: TrailEvent[] = [];
  const identity = kind === "console-person" ? consolePerson(r, start, end, events) : kind === "ci-role" ? ciRole(r, start, end, events) : serviceRole(r, start, end, events);
  events.sort((a, b) => a.time - b.time);
  const g: Generated = { kind, identity, principal: events[0]!.principal, events, start, end };
  cache.set(key, g);
  return g;
}

/** Events of a generated identity (its identity record by default) for injecting anomalies. */
export function make(g: Generated, input: GenInput): TrailEvent {
  const out: TrailEvent[] = [];
  emitter(out, g.identity, `x-${g.kind}`)(input);
  return out[0]!;
}

/**
 * Normal days as detection windows: for each of the last `n` days of a generated history, the
 * scenario whose history is everything before that day and whose window is that day.
 */
export function normalDays(kind: Archetype, n = 7, opts: { seed?: number; geo?: GeoResolver; geoSessions?: boolean } = {}): Scenario[] {
  const g = generate(kind, { days: 42 + n, seed: opts.seed ?? 1, end: GEN_END });
  const geo = opts.geo ?? GEN_GEO;
  const out: Scenario[] = [];
  for (let i = n; i >= 1; i--) {
    const start = GEN_END - i * DAY;
    const end = start + DAY;
    const history = g.events.filter((e) => e.time < start);
    const win = g.events.filter((e) => e.time >= start && e.time < end);
    if (win.length === 0) continue;
    out.push(scenario(history, win, { start, end }, { geo, geoSessions: opts.geoSessions ?? false }));
  }
  return out;
}

// ---------------------------------------------------------------- shared real data

/**
 * The invictus-aws sample as cold-start windows, one per identity, split into attack traffic
 * (Stratus Red Team user agents, the sample's label) and the rest. Identities appear in both when
 * they did both. Detectors never see the label: it only selects which records are in a window.
 */
export function invictusWindows(part: "benign" | "attack" | "all", geo?: GeoResolver): Scenario[] {
  const events = invictusRecords()
    .filter((r) => part === "all" || (part === "attack") === STRATUS_UA.test(String(r.userAgent ?? "")))
    .map((r) => toEvent(r));
  const by = new Map<string, TrailEvent[]>();
  for (const e of events) {
    if (!by.has(e.principal.key)) by.set(e.principal.key, []);
    by.get(e.principal.key)!.push(e);
  }
  const start = Math.min(...events.map((e) => e.time));
  const window = { start: start - (start % BUCKET), end: Math.max(...events.map((e) => e.time)) + 1 };
  return [...by.values()].map((evs) => scenario([], evs, window, geo ? { geo } : {}));
}
