import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { rng } from "../util/rng.js";
import { makeRealisticIdentities, realisticRecord } from "./generate-realistic.js";

/**
 * Generates CloudTrail S3 delivery files for the benchmarks, deterministic from the seed, in one
 * of two profiles:
 * - `lean` (the default, the project's historical bench data): thousands of identities (IAM
 *   users, roles with sessions, service roles, AWS services) in one account, a skewed mix of 30
 *   APIs, two addresses and one user agent per identity, the same small request parameters on
 *   every call, some errors, files of `perFile` records;
 * - `realistic` (generate-realistic.ts): three accounts and nine regions, SSO sessions named by
 *   e-mail, CI through web identity, cross-account roles, many addresses, user agents and
 *   sessions per identity, ~110 APIs, request parameters shaped per API, varied tlsDetails,
 *   files of very different sizes per account and region.
 * The manifest that lets a second run reuse the data is `.manifest.json`: hidden, so a scan of
 * the folder never lists it.
 */
export type BenchProfile = "lean" | "realistic";
export const BENCH_PROFILES: readonly BenchProfile[] = ["lean", "realistic"];

export interface GenerateOptions {
  dir: string;
  events: number;
  identities: number;
  days: number;
  perFile: number;
  seed?: number;
  account?: string;
  /** Default `lean`. */
  profile?: BenchProfile;
}

const APIS: Array<[string, string, number]> = [
  ["ec2.amazonaws.com", "DescribeInstances", 40],
  ["ec2.amazonaws.com", "DescribeSecurityGroups", 10],
  ["ec2.amazonaws.com", "DescribeVolumes", 8],
  ["ec2.amazonaws.com", "RunInstances", 1],
  ["s3.amazonaws.com", "GetBucketAcl", 20],
  ["s3.amazonaws.com", "ListBuckets", 6],
  ["s3.amazonaws.com", "GetBucketPolicy", 4],
  ["sts.amazonaws.com", "AssumeRole", 25],
  ["sts.amazonaws.com", "GetCallerIdentity", 8],
  ["kms.amazonaws.com", "Decrypt", 30],
  ["kms.amazonaws.com", "GenerateDataKey", 12],
  ["logs.amazonaws.com", "CreateLogStream", 10],
  ["logs.amazonaws.com", "DescribeLogGroups", 4],
  ["lambda.amazonaws.com", "ListFunctions20150331", 3],
  ["lambda.amazonaws.com", "GetFunction20150331v2", 3],
  ["iam.amazonaws.com", "GetRole", 6],
  ["iam.amazonaws.com", "ListRoles", 2],
  ["iam.amazonaws.com", "GetUser", 2],
  ["dynamodb.amazonaws.com", "DescribeTable", 6],
  ["ssm.amazonaws.com", "GetParameter", 8],
  ["ssm.amazonaws.com", "UpdateInstanceInformation", 10],
  ["secretsmanager.amazonaws.com", "GetSecretValue", 3],
  ["cloudwatch.amazonaws.com", "PutMetricData", 2],
  ["monitoring.amazonaws.com", "GetMetricData", 5],
  ["ecr.amazonaws.com", "GetAuthorizationToken", 4],
  ["rds.amazonaws.com", "DescribeDBInstances", 3],
  ["elasticloadbalancing.amazonaws.com", "DescribeLoadBalancers", 3],
  ["autoscaling.amazonaws.com", "DescribeAutoScalingGroups", 3],
  ["cloudformation.amazonaws.com", "DescribeStacks", 3],
  ["sqs.amazonaws.com", "ListQueues", 2],
];
const UAS = [
  "aws-cli/2.13.5 Python/3.11.4 Linux/6.1.0 exe/x86_64.ubuntu.22 prompt/off command/ec2.describe-instances",
  "Boto3/1.28.12 md/Botocore#1.31.12 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.4 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.12",
  "aws-sdk-go-v2/1.21.0 os/linux lang/go#1.21.1 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.118.0",
  "aws-sdk-java/2.20.109 Linux/5.10.184-175.749.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.8+7-LTS Java/17.0.8 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/115.0.0.0 Safari/537.36",
  "console.amazonaws.com",
  "APN/1.0 HashiCorp/1.0 Terraform/1.5.3 (+https://www.terraform.io) terraform-provider-aws/5.9.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.44.300 (go1.20.6; linux; amd64)",
  "aws-sdk-nodejs/2.1423.0 linux/v18.17.0 exec-env/AWS_Lambda_nodejs18.x promise",
];
const REGIONS = ["us-east-1", "us-east-1", "us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"];

function hex(r: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += "0123456789abcdef"[Math.floor(r() * 16)];
  return s;
}
function uuid(r: () => number): string {
  return `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;
}

interface Ident {
  /** Who calls from where: an instance role has one session per instance, each with its own address. */
  variants: Array<{ userIdentity: Record<string, unknown>; ip: string }>;
  /** The one or two regions this identity works in. */
  regions: string[];
  ua: string;
  apis: number[];
  weight: number;
}

function makeIdentities(r: () => number, n: number, account: string): Ident[] {
  const out: Ident[] = [];
  for (let i = 0; i < n; i++) {
    const kind = r();
    // Realistic addresses: one office or home network per person (a /24), private VPC addresses
    // for workloads; nobody hops between continents (the generated history is meant to be benign).
    const net = `${Math.floor(r() * 200) + 3}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}`;
    const pubIp = () => `${net}.${Math.floor(r() * 254) + 1}`;
    const privIp = () => `10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 254) + 1}`;
    const apiCount = 3 + Math.floor(r() * 12);
    const apis: number[] = [];
    for (let k = 0; k < apiCount; k++) apis.push(Math.floor(r() * APIS.length));
    let userIdentity: Record<string, unknown>;
    let variants: Ident["variants"];
    let ua = UAS[Math.floor(r() * UAS.length)]!;
    if (kind < 0.3) {
      const name = `user-${i}`;
      userIdentity = {
        type: "IAMUser",
        principalId: "AIDA" + hex(r, 16).toUpperCase(),
        arn: `arn:aws:iam::${account}:user/${name}`,
        accountId: account,
        accessKeyId: "AKIA" + hex(r, 16).toUpperCase(),
        userName: name,
      };
      variants = [
        { userIdentity, ip: pubIp() },
        { userIdentity, ip: pubIp() },
      ];
    } else if (kind < 0.9) {
      const role = `app-role-${i}`;
      const onInstance = r() < 0.6;
      const roleId = "AROA" + hex(r, 16).toUpperCase();
      const sessionOf = (session: string) => ({
        type: "AssumedRole",
        principalId: `${roleId}:${session}`,
        arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
        accountId: account,
        accessKeyId: "ASIA" + hex(r, 16).toUpperCase(),
        sessionContext: {
          sessionIssuer: { type: "Role", principalId: roleId, arn: `arn:aws:iam::${account}:role/${role}`, accountId: account, userName: role },
          webIdFederationData: {},
          attributes: { creationDate: "2024-03-01T00:00:00Z", mfaAuthenticated: "false" },
          ...(onInstance ? { ec2RoleDelivery: "2.0" } : {}),
        },
      });
      userIdentity = sessionOf(onInstance ? `i-${hex(r, 17)}` : `session-${hex(r, 6)}`);
      if (onInstance) {
        // Two instances share the profile: each its own session and private address.
        const second = sessionOf(`i-${hex(r, 17)}`);
        variants = [
          { userIdentity, ip: privIp() },
          { userIdentity: second, ip: privIp() },
        ];
      } else variants = [{ userIdentity, ip: pubIp() }];
    } else {
      const svc = ["lambda.amazonaws.com", "ec2.amazonaws.com", "config.amazonaws.com", "cloudformation.amazonaws.com"][i % 4]!;
      userIdentity = { type: "AWSService", invokedBy: svc };
      variants = [{ userIdentity, ip: svc }];
      ua = svc;
    }
    const home = REGIONS[Math.floor(r() * REGIONS.length)]!;
    const regions = r() < 0.3 ? [home, REGIONS[Math.floor(r() * REGIONS.length)]!] : [home];
    out.push({ variants, ua, apis, regions, weight: Math.pow(r(), 3) });
  }
  return out;
}

export async function generate(o: GenerateOptions): Promise<{ files: number; events: number; bytes: number }> {
  const account = o.account ?? "111122223333";
  const manifestPath = join(o.dir, ".manifest.json");
  // Older benches wrote it visibly, where a scan of the folder read it as a non-CloudTrail file.
  const oldManifest = join(o.dir, "manifest.json");
  const profile = o.profile ?? "lean";
  const want = JSON.stringify({ v: 5, ...o, dir: undefined, profile: profile === "lean" ? undefined : profile });
  let ours = false;
  for (const p of [manifestPath, oldManifest]) {
    try {
      const m = JSON.parse(await readFile(p, "utf8")) as { want: string; files: number; events: number; bytes: number };
      ours = true;
      if (m.want === want) {
        if (p === oldManifest) {
          await writeFile(manifestPath, JSON.stringify(m));
          await rm(oldManifest, { force: true });
        }
        return { files: m.files, events: m.events, bytes: m.bytes };
      }
    } catch {
      // not generated yet
    }
  }
  // Data of another profile or size left in the folder would be scanned with the new one: removed,
  // but only where this generator wrote it (never someone's own logs given as --dir).
  if (ours) await rm(join(o.dir, "AWSLogs"), { recursive: true, force: true });
  else if (existsSync(join(o.dir, "AWSLogs"))) throw new Error(`${o.dir} holds logs this generator did not write (no .manifest.json): choose another --dir`);
  await rm(manifestPath, { force: true });
  await rm(oldManifest, { force: true });
  if (profile === "realistic") {
    const g = await generateRealistic(o);
    await writeFile(manifestPath, JSON.stringify({ want, ...g }));
    return g;
  }
  const r = rng(o.seed ?? 42);
  const ids = makeIdentities(r, o.identities, account);
  // Cumulative weights for a skewed choice of identity.
  const cum: number[] = [];
  let total = 0;
  for (const id of ids) cum.push((total += id.weight + 0.0005));
  const pick = () => {
    const x = r() * total;
    let lo = 0,
      hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return ids[lo]!;
  };
  const start = Date.parse("2024-03-01T00:00:00Z");
  const span = o.days * 86_400_000;
  const files = Math.ceil(o.events / o.perFile);
  let bytes = 0,
    written = 0;
  for (let f = 0; f < files; f++) {
    const n = Math.min(o.perFile, o.events - written);
    const fileStart = start + (span * f) / files;
    const fileSpan = span / files;
    const records: unknown[] = [];
    for (let k = 0; k < n; k++) {
      const id = pick();
      const [source, name] = APIS[id.apis[Math.floor(r() * id.apis.length)]!]!;
      const v = id.variants[Math.floor(r() * id.variants.length)]!;
      const t = new Date(fileStart + r() * fileSpan);
      const region = id.regions[Math.floor(r() * id.regions.length)]!;
      const err = r() < 0.03;
      const rec: Record<string, unknown> = {
        eventVersion: "1.09",
        userIdentity: v.userIdentity,
        eventTime: t.toISOString().replace(/\.\d{3}Z$/, "Z"),
        eventSource: source,
        eventName: name,
        awsRegion: region,
        sourceIPAddress: v.ip,
        userAgent: id.ua,
        requestParameters: { maxResults: 100, filterSet: {}, instancesSet: { items: [{ instanceId: "i-" + hex(r, 17) }] } },
        responseElements: null,
        requestID: uuid(r),
        eventID: uuid(r),
        readOnly: name.startsWith("Describe") || name.startsWith("Get") || name.startsWith("List"),
        eventType: "AwsApiCall",
        managementEvent: true,
        recipientAccountId: account,
        eventCategory: "Management",
        tlsDetails: { tlsVersion: "TLSv1.3", cipherSuite: "TLS_AES_128_GCM_SHA256", clientProvidedHostHeader: `${source.split(".")[0]}.${region}.amazonaws.com` },
      };
      if (err) {
        rec.errorCode = r() < 0.5 ? "AccessDenied" : "ThrottlingException";
        rec.errorMessage = "User is not authorized to perform this operation";
      }
      records.push(rec);
    }
    const ts = new Date(fileStart + fileSpan);
    const y = ts.getUTCFullYear(),
      mo = String(ts.getUTCMonth() + 1).padStart(2, "0"),
      d = String(ts.getUTCDate()).padStart(2, "0");
    const dir = join(o.dir, "AWSLogs", account, "CloudTrail", "us-east-1", String(y), mo, d);
    await mkdir(dir, { recursive: true });
    const stamp = ts.toISOString().replace(/[-:]/g, "").slice(0, 13) + "Z";
    const body = gzipSync(JSON.stringify({ Records: records }), { level: 6 });
    bytes += body.length;
    await writeFile(join(dir, `${account}_CloudTrail_us-east-1_${stamp}_${String(f).padStart(6, "0")}.json.gz`), body);
    written += n;
  }
  await writeFile(manifestPath, JSON.stringify({ want, files, events: written, bytes }));
  return { files, events: written, bytes };
}

/** The `realistic` profile: one file per account, region and interval, of very different sizes. */
async function generateRealistic(o: GenerateOptions): Promise<{ files: number; events: number; bytes: number }> {
  const r = rng(o.seed ?? 42);
  const ids = makeRealisticIdentities(r, o.identities);
  // Identities by (account, region), weighted: an identity calls its first region most.
  const buckets = new Map<string, { account: string; region: string; ids: typeof ids; cum: number[]; total: number }>();
  for (const id of ids) {
    id.regions.forEach((region, k) => {
      const key = `${id.account}|${region}`;
      let b = buckets.get(key);
      if (!b) buckets.set(key, (b = { account: id.account, region, ids: [], cum: [], total: 0 }));
      b.ids.push(id);
      b.cum.push((b.total += (id.weight + 0.0005) / (k === 0 ? 1 : 3 * k)));
    });
  }
  const bucketList = [...buckets.values()].sort((a, b) => (a.account + a.region).localeCompare(b.account + b.region));
  const bucketCum: number[] = [];
  let all = 0;
  for (const b of bucketList) bucketCum.push((all += b.total));
  const search = (cum: number[], x: number) => {
    let lo = 0,
      hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  // File sizes: most files small, some large (mean about perFile).
  const sizes: number[] = [];
  for (let left = o.events; left > 0; ) {
    const n = Math.min(left, 1 + Math.floor(Math.pow(r(), 2) * o.perFile * 3));
    sizes.push(n);
    left -= n;
  }
  const start = Date.parse("2024-03-01T00:00:00Z");
  const span = o.days * 86_400_000;
  let bytes = 0;
  for (let f = 0; f < sizes.length; f++) {
    const b = bucketList[search(bucketCum, r() * all)]!;
    const fileStart = start + (span * f) / sizes.length;
    const fileSpan = span / sizes.length;
    const records: unknown[] = [];
    for (let k = 0; k < sizes[f]!; k++) {
      const id = b.ids[search(b.cum, r() * b.total)]!;
      records.push(realisticRecord(r, id, Math.floor(fileStart + r() * fileSpan), b.region));
    }
    const ts = new Date(fileStart + fileSpan);
    const day = ts.toISOString().slice(0, 10).split("-");
    const dir = join(o.dir, "AWSLogs", b.account, "CloudTrail", b.region, day[0]!, day[1]!, day[2]!);
    await mkdir(dir, { recursive: true });
    const stamp = ts.toISOString().replace(/[-:]/g, "").slice(0, 13) + "Z";
    const body = gzipSync(JSON.stringify({ Records: records }), { level: 6 });
    bytes += body.length;
    await writeFile(join(dir, `${b.account}_CloudTrail_${b.region}_${stamp}_${String(f).padStart(6, "0")}.json.gz`), body);
  }
  return { files: sizes.length, events: o.events, bytes };
}
