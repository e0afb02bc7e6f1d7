/**
 * Store benchmark: `npm run bench:store` (builds, then `node --expose-gc dist/bench/store-bench.js`).
 *
 * Generates a store of 10,000 identities with realistic, bounded profiles (a share filled near
 * the caps of src/baseline/profile.ts, most much smaller), plus findings, suppressions and a full
 * audit log, and reports size on disk, write latency (p50/p99 over 50 writes of a decision, and
 * of a scan-sized update) and load time. Goals: < 50 MB on disk, a write < 300 ms.
 *
 * The busy share fills to their caps the dimensions that grow with activity (APIs, services,
 * IPs, sessions, user agents, error codes); countries, networks, regions, assumed roles and
 * instance types stay within what one organisation plausibly has (ORG_BOUNDED). With
 * --all-dims-at-caps every dimension of the busy share is near its cap: an upper bound.
 *
 * Options: --identities N (default 10000), --writes N (default 50), --seed N, --dir PATH (keep
 * the store there), --all-dims-at-caps.
 *
 * First, the warm path (src/bench/warm-bench.ts): a new day against a stored 30-day baseline of
 * 5,000 identities, against the same scan without the store, alternating rounds. Options:
 * --warm-only, --no-warm, --warm-rounds N (default 5), --warm-events N (default 1,000,000 over
 * the 31 days), --warm-identities N (default 5,000), --warm-dir PATH (default ./bench-data-warm),
 * --profile lean|realistic (the warm path's data, generate.ts; default lean).
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { PerformanceObserver, constants as perfConstants, type PerformanceEntry } from "node:perf_hooks";
import { DAY, DEFAULT_BASELINE_CONFIG, DIMS, HOUR, compactProfile, emptyProfile, type Profile, type Stat } from "../baseline/profile.js";
import { learningAt } from "../baseline/view.js";
import type { Severity } from "../events/types.js";
import type { Finding } from "../scan/report-types.js";
import { TrailStore } from "../store/store.js";
import { formatBytes } from "../store/maintenance.js";
import { packProfile } from "../store/pack.js";
import { rng } from "../util/rng.js";
import { numArg, strArg } from "./cli-args.js";
import type { BenchProfile } from "./generate.js";
import { warmPath } from "./warm-bench.js";

const NOW = Date.UTC(2024, 5, 1, 12);
const VERBS = ["Describe", "Get", "List", "Create", "Delete", "Update", "Put", "Modify", "Attach", "Detach", "Start", "Stop", "Tag", "Untag", "Batch"];
const NOUNS = [
  "Instances",
  "Bucket",
  "BucketPolicy",
  "Object",
  "User",
  "Role",
  "RolePolicy",
  "AccessKey",
  "Policy",
  "PolicyVersion",
  "SecurityGroups",
  "Vpcs",
  "Subnets",
  "Volumes",
  "Snapshots",
  "Images",
  "Functions",
  "FunctionConfiguration",
  "LogGroups",
  "LogStreams",
  "Trail",
  "TrailStatus",
  "Key",
  "KeyPolicy",
  "Secret",
  "SecretValue",
  "Parameters",
  "Parameter",
  "Stack",
  "StackResources",
  "Cluster",
  "Tasks",
  "Services",
  "Table",
  "Item",
  "Queue",
  "QueueAttributes",
  "Topic",
  "Subscriptions",
  "HostedZones",
  "ResourceRecordSets",
  "CallerIdentity",
  "SessionToken",
  "LoginProfile",
  "MFADevices",
  "Groups",
  "GroupPolicy",
  "InstanceProfile",
  "LaunchTemplates",
  "Alarms",
  "MetricData",
  "Repositories",
];
const SERVICES = [
  "ec2",
  "s3",
  "iam",
  "sts",
  "kms",
  "lambda",
  "logs",
  "cloudtrail",
  "cloudformation",
  "ecs",
  "eks",
  "dynamodb",
  "sqs",
  "sns",
  "route53",
  "secretsmanager",
  "ssm",
  "monitoring",
  "ecr",
  "elasticloadbalancing",
  "autoscaling",
  "rds",
  "organizations",
  "config",
  "guardduty",
  "securityhub",
  "athena",
  "glue",
  "kinesis",
  "firehose",
  "events",
  "states",
  "apigateway",
  "cloudfront",
  "acm",
  "wafv2",
  "elasticache",
  "es",
  "redshift",
  "sagemaker",
  "codebuild",
  "codepipeline",
  "codecommit",
  "codedeploy",
  "cognito-idp",
  "cognito-identity",
  "backup",
  "access-analyzer",
  "health",
  "support",
  "tagging",
  "servicequotas",
  "ram",
  "sso",
  "identitystore",
  "signin",
  "notifications",
  "account",
  "ce",
  "budgets",
  "pricing",
  "trustedadvisor",
  "inspector2",
  "macie2",
  "detective",
  "fms",
  "shield",
  "network-firewall",
  "transfer",
  "datasync",
  "dms",
  "emr",
  "batch",
  "appsync",
  "amplify",
  "bedrock",
  "q",
  "xray",
  "ds",
];
const REGIONS = [
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "eu-central-1",
  "eu-north-1",
  "eu-south-1",
  "ap-south-1",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-southeast-1",
  "ap-southeast-2",
  "ca-central-1",
  "sa-east-1",
  "me-south-1",
  "af-south-1",
  "ap-east-1",
  "eu-central-2",
  "ap-south-2",
  "ap-southeast-3",
  "ap-southeast-4",
  "me-central-1",
  "il-central-1",
  "us-gov-west-1",
  "us-gov-east-1",
  "ca-west-1",
];
const COUNTRIES = "US DE FR GB NL IE SE IN JP SG AU BR CA KR ES IT PL CH BE AT DK FI NO PT CZ RO HU IL ZA MX".split(" ");
const UAS = [
  "aws-cli/2.15.",
  "terraform/1.7.",
  "Boto3/1.34.",
  "aws-sdk-go-v2/1.25.",
  "aws-sdk-java/2.25.",
  "aws-sdk-js/3.540.",
  "console.amazonaws.com",
  "Mozilla/5.0 (Windows NT 10.0) Chrome/124.",
  "aws-internal/3",
];
const ERRORS = [
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "ThrottlingException",
  "NoSuchEntity",
  "NoSuchBucket",
  "ResourceNotFoundException",
  "ValidationException",
  "InvalidParameterValue",
  "Client.RequestLimitExceeded",
  "ExpiredToken",
  "InvalidClientTokenId",
  "EntityAlreadyExists",
  "ConditionalCheckFailedException",
  "ServiceUnavailable",
  "InternalError",
  "DryRunOperation",
  "LimitExceeded",
  "NoSuchKey",
  "OptInRequired",
  "KMS.NotFoundException",
  "DependencyViolation",
  "InvalidGroup.NotFound",
  "InvalidInstanceID.NotFound",
  "RequestExpired",
  "SignatureDoesNotMatch",
  "MalformedPolicyDocument",
  "DeleteConflict",
  "InvalidAction",
  "Throttling",
];

type Tier = "heavy" | "medium" | "light";

/** A profile as the baseline code would store it: bounded by the caps, counts rounded by compactProfile. */
/** Upper bounds, per identity, of dimensions that do not grow with activity (see makeProfile). */
const ORG_BOUNDED: Record<string, number> = { country: 5, network: 15, region: 17, assumedRole: 20, instanceType: 10, target: 40 };

export function makeProfile(r: () => number, i: number, tier: Tier, allDimsAtCaps = false): Profile {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)]!;
  const account = String(100000000000 + (i % 40) * 7919);
  const kind = r();
  const key =
    kind < 0.55
      ? `role:${account}:${pick(["Deploy", "CI", "Lambda", "ECS", "Admin", "ReadOnly", "DataPipeline", "Backup"])}-${i.toString(36)}`
      : kind < 0.95
        ? `user:${account}:${pick(["alice", "bob", "carol", "dave", "erin", "svc", "build", "ops"])}.${i.toString(36)}`
        : `service:${pick(SERVICES)}.amazonaws.com-${i}`;
  const p = emptyProfile(key, kind < 0.55 ? "AssumedRole" : kind < 0.95 ? "IAMUser" : "AWSService");
  const name = key.split(":")[2]; // absent for service keys
  if (key.startsWith("role:")) p.arn = `arn:aws:iam::${account}:role/${name}`;
  else if (key.startsWith("user:")) p.arn = `arn:aws:iam::${account}:user/${name}`;
  p.accountId = account;
  if (name !== undefined) p.userName = name;
  const historyDays = tier === "heavy" ? 90 : tier === "medium" ? int(30, 90) : int(1, 60);
  const activeDays = tier === "heavy" ? int(75, 90) : tier === "medium" ? int(10, historyDays) : int(1, Math.min(historyDays, 15));
  const first = NOW - historyDays * DAY + int(0, 3600) * 1000;
  const sec = (t: number) => Math.floor(t / 1000) * 1000; // CloudTrail times have second precision
  p.first = sec(first);
  p.last = sec(NOW - int(0, 3 * 3600) * 1000);
  p.trainedUntil = p.last;
  const scale = tier === "heavy" ? 50_000 : tier === "medium" ? 3_000 : 80;
  p.events = scale * (0.5 + r());
  p.errors = p.events * r() * 0.05;
  p.denied = p.errors * r() * 0.5;
  const days = new Set<number>();
  while (days.size < activeDays) days.add(Math.floor(NOW / DAY) - int(0, historyDays - 1));
  p.days = [...days].sort((a, b) => a - b);
  p.hours = p.hours.map(() => (r() < 0.6 ? (p.events / 24) * r() * 2 : 0));
  p.weekdays = p.weekdays.map(() => (p.events / 7) * (0.5 + r()));
  const share = tier === "heavy" ? () => 0.8 + r() * 0.2 : tier === "medium" ? () => 0.15 + r() * 0.25 : () => 0;
  // Keyed by dimension name (not Record<Dim, ...>) so that dimensions added to profile.ts get a
  // generic generator instead of breaking the build.
  const lightCount: Record<string, () => number> = {
    api: () => int(3, 30),
    service: () => int(1, 6),
    ip: () => int(1, 6),
    network: () => int(1, 3),
    country: () => int(1, 2),
    region: () => int(1, 3),
    ua: () => int(1, 3),
    session: () => int(1, 12),
    errorCode: () => int(0, 3),
    assumedRole: () => int(0, 3),
    instanceType: () => int(0, 2),
    target: () => int(0, 5),
  };
  const valueFor: Record<string, (k: number) => string> = {
    api: (k) => `${VERBS[k % VERBS.length]}${NOUNS[Math.floor(k / VERBS.length) % NOUNS.length]}${k >= VERBS.length * NOUNS.length ? "V2" : ""}`,
    service: (k) => SERVICES[k % SERVICES.length]!,
    ip: () => `${int(1, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`,
    network: (k) => `AS${[16509, 14618, 8075, 15169, 7922, 3320, 701, 3356][k % 8]! + Math.floor(k / 8)}`,
    country: (k) => COUNTRIES[k % COUNTRIES.length]!,
    region: (k) => REGIONS[k % REGIONS.length]!,
    ua: (k) => `${UAS[k % UAS.length]}${k}`,
    session: () =>
      r() < 0.5
        ? `i-0${Math.floor(r() * 2 ** 52)
            .toString(16)
            .padStart(16, "0")}`
        : `botocore-session-${Math.floor((NOW - int(0, 90) * DAY) / 1000)}`,
    errorCode: (k) => ERRORS[k % ERRORS.length]!,
    assumedRole: (k) => `arn:aws:iam::${100000000000 + (k % 50)}:role/deploy-role-${k}`,
    instanceType: (k) => ["t3.micro", "m5.large", "c6i.xlarge", "r6g.2xlarge", "p4d.24xlarge"][k % 5]! + (k >= 5 ? `-${k}` : ""),
    target: (k) => `secret:app/service-${k}`,
  };
  const caps = DEFAULT_BASELINE_CONFIG.caps as Record<string, number>;
  for (const d of DIMS) {
    const cap = caps[d] ?? 30;
    // Busy identities fill the dimensions that grow with automation (APIs, services, IPs,
    // sessions, user agents, error codes) up to their caps; where and as what they act stays
    // bounded by the organisation (countries, networks, enabled regions, roles, instance types),
    // unless --all-dims-at-caps asks for the upper bound.
    const limit = allDimsAtCaps ? cap : Math.min(cap, ORG_BOUNDED[d] ?? cap);
    const n = tier === "light" ? Math.min(cap, (lightCount[d] ?? (() => int(0, 3)))()) : Math.max(1, Math.round(limit * share()));
    const value = valueFor[d] ?? ((k: number) => `${d}-value-${k}`);
    const rec: Record<string, Stat> = {};
    const offset = int(0, 500);
    for (let k = 0; k < n; k++) {
      const f = sec(p.first + r() * (p.last - p.first));
      const l = sec(f + r() * (p.last - f));
      rec[value(k + (d === "api" ? offset : 0))] = [p.events * r() * (2 / n), r() < 0.8 ? 0 : r() * 3, f, l];
    }
    p.dims[d] = rec;
  }
  const hourlyFrom = Math.floor((NOW - DEFAULT_BASELINE_CONFIG.hourlyDays * DAY) / HOUR);
  const activeHours = tier === "heavy" ? int(200, 336) : tier === "medium" ? int(30, 150) : int(1, 20);
  const hours = new Set<number>();
  while (hours.size < activeHours) hours.add(hourlyFrom + int(0, DEFAULT_BASELINE_CONFIG.hourlyDays * 24 - 1));
  p.hourly = [...hours].sort((a, b) => a - b).map((h) => [h, int(1, tier === "heavy" ? 2000 : 60), r() < 0.8 ? 0 : int(1, 5)]);
  p.breadth = [int(1, 40), int(1, 2000)];
  return compactProfile(p);
}

const SEVERITIES: Severity[] = ["critical", "high", "medium", "low", "info"];

function makeFinding(r: () => number, i: number, keys: string[]): Finding {
  const key = keys[Math.floor(r() * keys.length)]!;
  return {
    id: `f${i.toString(16).padStart(12, "0")}`,
    detector: ["new-api", "new-country", "error-spike", "rate-spike", "impossible-travel", "logging-tampering", "root-usage"][i % 7]!,
    title: "First use of a sensitive API by this identity",
    severity: SEVERITIES[Math.floor(r() * 4)]!,
    score: Math.round(r() * 100),
    identity: { key, type: "AssumedRole", arn: `arn:aws:iam::111122223333:role/${key}`, accountId: "111122223333" },
    sourceIp: `198.51.100.${i % 250}`,
    region: REGIONS[i % REGIONS.length]!, // index modulo the length
    eventIds: Array.from({ length: 1 + Math.floor(r() * 20) }, () => crypto.randomUUID()),
    firstSeen: new Date(NOW - 3 * HOUR).toISOString(),
    lastSeen: new Date(NOW - HOUR).toISOString(),
    count: 1 + Math.floor(r() * 50),
    why: `first CreateAccessKey by this role in 41 days of history; it normally calls 12 APIs in 3 services (baseline ${Math.round(r() * 5000)} events)`,
    attack: ["T1098.001"],
    investigate: ["Who created the key, and is it in use?", "Compare with the change calendar."],
    falsePositives: ["Planned key rotation"],
    failed: false,
    evidence: { api: "CreateAccessKey", targetUser: "deploy-bot", userAgent: "aws-cli/2.15.30" },
  };
}

/** User + system CPU time of this process (all threads: the event loop and the fs thread pool). */
function cpuMs(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1000;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const ALL_AT_CAPS = process.argv.includes("--all-dims-at-caps");

function printTierSizes(profiles: readonly Profile[], tiers: readonly Tier[]): void {
  for (const tier of ["heavy", "medium", "light"] as Tier[]) {
    const ps = profiles.filter((_, i) => tiers[i] === tier);
    const plain = ps.map((p) => JSON.stringify(p).length);
    const packed = ps.map((p) => JSON.stringify(packProfile(p) ?? p).length);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`  ${tier} profile on disk: mean ${formatBytes(mean(packed))}, max ${formatBytes(Math.max(...packed))} (plain JSON: mean ${formatBytes(mean(plain))})`);
  }
}

/** Garbage-collection pauses of this process, to tell GC from I/O in slow writes. */
const gcEntries: PerformanceEntry[] = [];
const gcObserver = new PerformanceObserver((list) => gcEntries.push(...list.getEntries()));
gcObserver.observe({ entryTypes: ["gc"] });

/** GC pauses that started within the given [from, to] spans (performance.now() times), as one line. */
async function gcSummary(spans: Array<[number, number]>): Promise<string> {
  await new Promise((r) => setTimeout(r, 10)); // let the observer deliver
  const es = gcEntries.filter((e) => spans.some(([a, b]) => e.startTime >= a && e.startTime <= b));
  const major = es.filter((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR);
  const sum = (xs: PerformanceEntry[]) => xs.reduce((a, e) => a + e.duration, 0);
  const max = (xs: PerformanceEntry[]) => xs.reduce((a, e) => Math.max(a, e.duration), 0);
  return `GC ${es.length} pauses, ${sum(es).toFixed(1)} ms in all, longest ${max(es).toFixed(1)} ms (${major.length} full, longest ${max(major).toFixed(1)} ms)`;
}

async function main(): Promise<void> {
  if (!process.argv.includes("--no-warm")) {
    const w = await warmPath({
      dir: strArg("warm-dir") ?? "bench-data-warm",
      identities: numArg("warm-identities", 5_000),
      events: numArg("warm-events", 1_000_000),
      rounds: Math.max(1, numArg("warm-rounds", 5)),
      profile: (strArg("profile") ?? "lean") as BenchProfile,
    });
    if (w.wall > 1.2) process.exitCode = 1;
    if (process.argv.includes("--warm-only")) return;
  }
  const N = numArg("identities", 10_000);
  const WRITES = numArg("writes", 50);
  const r = rng(numArg("seed", 7));
  const keep = strArg("dir");
  const dir = keep ?? (await mkdtemp(path.join(os.tmpdir(), "trailhound-store-bench-")));
  const gc = (globalThis as { gc?: () => void }).gc;
  const f1 = (x: number) => x.toFixed(1);
  try {
    let t = performance.now();
    const tiers: Tier[] = [];
    const profiles: Profile[] = [];
    for (let i = 0; i < N; i++) {
      const x = r();
      const tier: Tier = x < 0.05 ? "heavy" : x < 0.2 ? "medium" : "light";
      tiers.push(tier);
      profiles.push(makeProfile(r, i, tier, ALL_AT_CAPS));
    }
    const count = (t: Tier) => tiers.filter((x) => x === t).length;
    console.log(
      `node ${process.version}, ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")} (other work on the machine inflates every figure)`,
    );
    console.log(
      `generated ${N} profiles (${count("heavy")} near the caps${ALL_AT_CAPS ? " of every dimension (--all-dims-at-caps)" : " of the dimensions that grow with activity"}, ` +
        `${count("medium")} medium, ${count("light")} light; ${DIMS.length} dimensions) in ${f1(performance.now() - t)} ms`,
    );

    let store = await TrailStore.open(dir);
    t = performance.now();
    await store.putBaselines(profiles);
    console.log(`first save of all baselines (serialises every profile): ${f1(performance.now() - t)} ms`);

    const keys = profiles.map((p) => p.key);
    const findings = Array.from({ length: 2000 }, (_, i) => makeFinding(r, i, keys));
    await store.recordFindings(findings, NOW);
    for (let i = 0; i < 50; i++) {
      void store.suppress({ scope: "identity", identityKey: keys[(i * 7) % keys.length]!, until: NOW + 30 * DAY, reason: "known CI role", by: "U0123ABCD" }, NOW);
    }
    for (let i = 0; i < 5000; i++) {
      void store.audit({
        at: new Date(NOW - (5000 - i) * 60_000).toISOString(),
        actor: "U0123ABCD",
        action: "ack",
        target: findings[i % 2000]!.id,
        detail: "severity medium; was open",
      });
    }
    for (let i = 0; i < 40; i++)
      void store.setCursor(`lookup:111122223333:${REGIONS[i % REGIONS.length]}:${i}`, { newestTime: NOW, newestIds: ["a", "b"], updatedAt: new Date(NOW).toISOString() });
    await store.flush();
    const st = store.stats(NOW);
    console.log(
      `store on disk: ${formatBytes(st.bytes)} (${st.bytes} bytes): baselines ${formatBytes(st.sections.baselines)}, findings ${formatBytes(st.sections.findings)}, audit ${formatBytes(st.sections.audit)}, other ${formatBytes(st.sections.other)}`,
    );
    printTierSizes(profiles, tiers);
    // From here on the bench holds no profiles (as the bot: a scan's profiles are garbage once
    // saved), so that the heap measured is the store's. (The per-tier figures are computed in a
    // function of their own: a local of this long-running async function can stay reachable.)
    profiles.length = 0;
    gc?.();
    console.log(`process memory with the store open: heap ${formatBytes(process.memoryUsage().heapUsed)}, buffers ${formatBytes(process.memoryUsage().arrayBuffers)}`);

    // A decision: one acknowledgement, awaited (each is one full, durable save).
    const ackMs: number[] = [];
    const ackCpu: number[] = [];
    const ackFrom = performance.now();
    for (let i = 0; i < WRITES; i++) {
      const c = process.cpuUsage();
      t = performance.now();
      await store.acknowledge(findings[i]!.id, "U0123ABCD", NOW + i);
      ackMs.push(performance.now() - t);
      ackCpu.push(cpuMs(process.cpuUsage(c)));
    }
    console.log(
      `write (acknowledge, ${WRITES}x): p50 ${f1(pct(ackMs, 50))} ms, p90 ${f1(pct(ackMs, 90))} ms, p99 ${f1(pct(ackMs, 99))} ms wall; ` +
        `CPU p50 ${f1(pct(ackCpu, 50))} ms, p99 ${f1(pct(ackCpu, 99))} ms; ${await gcSummary([[ackFrom, performance.now()]])}`,
    );

    // A scan-sized update: 300 profiles replaced, 20 findings recorded, one scan record.
    const scanMs: number[] = [];
    const scanCpu: number[] = [];
    const scanSpans: Array<[number, number]> = [];
    for (let i = 0; i < WRITES; i++) {
      const changed = Array.from({ length: 300 }, (_, k) => makeProfile(r, (i * 300 + k) % N, tiers[(i * 300 + k) % N]!, ALL_AT_CAPS)).map((p, k) => ({
        ...p,
        key: keys[(i * 300 + k) % N]!,
      }));
      const fs = Array.from({ length: 20 }, (_, k) => makeFinding(r, 3000 + i * 20 + k, keys));
      const c = process.cpuUsage();
      t = performance.now();
      await Promise.all([
        store.putBaselines(changed),
        store.recordFindings(fs, NOW + i),
        store.addScan({ at: new Date(NOW + i).toISOString(), by: "bench", target: "all", window: { start: "a", end: "b" }, events: 1000, findings: 20, partial: false }),
      ]);
      scanMs.push(performance.now() - t);
      scanCpu.push(cpuMs(process.cpuUsage(c)));
      scanSpans.push([t, performance.now()]);
    }
    console.log(
      `write (scan: 300 profiles + 20 findings, ${WRITES}x): p50 ${f1(pct(scanMs, 50))} ms, p90 ${f1(pct(scanMs, 90))} ms, p99 ${f1(pct(scanMs, 99))} ms wall; ` +
        `CPU p50 ${f1(pct(scanCpu, 50))} ms, p99 ${f1(pct(scanCpu, 99))} ms; inside the timed saves: ${await gcSummary(scanSpans)}`,
    );

    // Reading baselines: each is decoded from its stored form (inflate + JSON.parse) when asked for.
    const readKeys = Array.from({ length: 300 }, (_, k) => keys[(k * 31) % N]!);
    t = performance.now();
    for (const k of readKeys) store.getBaseline(k);
    const read300 = performance.now() - t;
    t = performance.now();
    for (const k of readKeys) store.getBaseline(k);
    const read300again = performance.now() - t;
    t = performance.now();
    const readAll = store.getBaselines().size;
    console.log(
      `read baselines (decoded on demand): 300 profiles ${f1(read300)} ms, the same 300 again ${f1(read300again)} ms, ` +
        `all ${readAll} (getBaselines()) ${f1(performance.now() - t)} ms`,
    );
    // What /cloudtrail status and a scan's first look at each identity need: the facts kept
    // beside the stored bytes, no decoding.
    t = performance.now();
    let learning = 0;
    for (const f of store.getBaselineFacts().values()) if (learningAt(f, NOW, DEFAULT_BASELINE_CONFIG)) learning++;
    const statusMs = performance.now() - t;
    t = performance.now();
    let trained = 0;
    for (const k of keys) if (store.getBaselineTrainedUntil(k) !== undefined) trained++;
    console.log(
      `baseline facts (no decoding): still-learning over all ${readAll} (getBaselineFacts() + learningAt, /cloudtrail status) ${f1(statusMs)} ms ` +
        `(${learning} learning); trainedUntil of ${trained} (getBaselineTrainedUntil) ${f1(performance.now() - t)} ms`,
    );

    await store.close();
    const bytes = store.stats(NOW).bytes;
    profiles.length = 0;
    store = undefined as unknown as TrailStore; // let the first instance be collected
    gc?.();
    const mem0 = process.memoryUsage();
    const loadMs: number[] = [];
    const loadCpu: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c = process.cpuUsage();
      t = performance.now();
      store = await TrailStore.open(dir);
      loadMs.push(performance.now() - t);
      loadCpu.push(cpuMs(process.cpuUsage(c)));
      if (i < 2) {
        await store.close();
        store = undefined as unknown as TrailStore;
        gc?.();
      }
    }
    gc?.();
    gc?.();
    const mem = process.memoryUsage();
    t = performance.now();
    await store.acknowledge(findings[WRITES]!.id, "U0123ABCD", NOW);
    const firstAfterLoad = performance.now() - t;
    console.log(
      `load (read, JSON.parse, check the baselines against their digest, cache the bytes): ${loadMs.map(f1).join(" / ")} ms wall (3 opens; CPU ${loadCpu.map(f1).join(" / ")} ms); ` +
        (gc
          ? `process memory with the store open: heap ${formatBytes(mem.heapUsed)} (before opening: ${formatBytes(mem0.heapUsed)}), buffers ${formatBytes(mem.arrayBuffers)}; `
          : "") +
        `first write after load ${f1(firstAfterLoad)} ms`,
    );
    await store.close();
    gcObserver.disconnect();

    const p99 = Math.max(pct(ackMs, 99), pct(scanMs, 99));
    const size = bytes < 50 * 1024 * 1024 ? "OK" : "OVER";
    const lat = p99 < 300 ? "OK" : "OVER";
    console.log(
      `load average now ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}`,
    );
    console.log(`goals: size ${formatBytes(bytes)} < 50 MB: ${size}; write p99 ${f1(p99)} ms < 300 ms: ${lat}`);
    if (size !== "OK" || lat !== "OK") process.exitCode = 1;
  } finally {
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
