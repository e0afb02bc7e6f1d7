/**
 * A small, deterministic CloudTrail story for the timeline (tests, the bench, the docs' pictures):
 * one IAM user works office hours for two weeks from one network, then, inside the last day, its
 * key is used at night from another country for a burst of enumeration, secret reads and a new
 * access key, with many AccessDenied errors. Real public IPs (resolved by the bundled offline
 * geography), real record shapes.
 */
import { rng } from "../util/rng.js";

export interface ScenarioOptions {
  /** The user name (hostile names welcome: it is attacker-controlled data). */
  user?: string;
  account?: string;
  /** End of the detection window (whole hour); the window is the 24 hours before it. */
  end?: number;
  days?: number;
  seed?: number;
}

export const SCENARIO_END = Date.parse("2026-03-13T12:00:00Z");
const HOUR = 3_600_000;

const WORK_APIS: Array<[string, string, number]> = [
  ["ec2.amazonaws.com", "DescribeInstances", 30],
  ["s3.amazonaws.com", "ListBuckets", 10],
  ["s3.amazonaws.com", "GetBucketAcl", 8],
  ["logs.amazonaws.com", "DescribeLogGroups", 8],
  ["sts.amazonaws.com", "GetCallerIdentity", 6],
  ["cloudformation.amazonaws.com", "DescribeStacks", 8],
  ["lambda.amazonaws.com", "ListFunctions20150331", 5],
];

function pick(r: () => number, items: Array<[string, string, number]>): [string, string] {
  const total = items.reduce((a, b) => a + b[2], 0);
  let x = r() * total;
  for (const [src, name, w] of items) {
    x -= w;
    if (x <= 0) return [src, name];
  }
  return [items[0]![0], items[0]![1]];
}

export function timelineScenario(o: ScenarioOptions = {}): Array<Record<string, unknown>> {
  const user = o.user ?? "alice";
  const account = o.account ?? "111122223333";
  const end = o.end ?? SCENARIO_END;
  const days = o.days ?? 14;
  const r = rng(o.seed ?? 7);
  const identity = {
    type: "IAMUser",
    principalId: "AIDAEXAMPLEALICE",
    arn: `arn:aws:iam::${account}:user/${user}`,
    accountId: account,
    accessKeyId: "AKIAEXAMPLEALICE",
    userName: user,
  };
  const out: Array<Record<string, unknown>> = [];
  let seq = 0;
  const rec = (t: number, src: string, name: string, ip: string, ua: string, err?: string, params: Record<string, unknown> | null = null) => {
    const x: Record<string, unknown> = {
      eventVersion: "1.09",
      userIdentity: identity,
      eventTime: new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z"),
      eventSource: src,
      eventName: name,
      awsRegion: "eu-west-1",
      sourceIPAddress: ip,
      userAgent: ua,
      requestParameters: params,
      responseElements: null,
      requestID: `req-${seq}`,
      eventID: `0000${(seq++).toString(16).padStart(8, "0")}-aaaa-4bbb-8ccc-timeline0000`,
      readOnly: /^(Describe|List|Get)/.test(name),
      eventType: "AwsApiCall",
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: "Management",
    };
    if (err) {
      x.errorCode = err;
      x.errorMessage = `User: ${identity.arn} is not authorized to perform: ${name}`;
    }
    out.push(x);
  };
  const homeIp = "81.2.69.160";
  const homeUa = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off";
  const start = end - days * 24 * HOUR;
  for (let h = start; h < end; h += HOUR) {
    const d = new Date(h);
    const hod = d.getUTCHours();
    const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6;
    let n = 0;
    if (!weekend && hod >= 8 && hod < 18) n = 6 + Math.floor(r() * 22);
    else if (!weekend && (hod === 7 || hod === 18)) n = Math.floor(r() * 6);
    else if (weekend && hod >= 10 && hod < 14 && r() < 0.3) n = Math.floor(r() * 5);
    for (let i = 0; i < n; i++) {
      const [src, name] = pick(r, WORK_APIS);
      rec(h + Math.floor(r() * HOUR), src, name, homeIp, homeUa, r() < 0.02 ? "ThrottlingException" : undefined);
    }
  }
  // The night burst, inside the last day: another country and network, enumeration, secrets, a key.
  const burst = end - 10 * HOUR + 5 * 60_000;
  const evilIp = "185.220.101.45";
  const evilUa = "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.15.0 md/arch#x86_64 lang/python#3.10.12 Botocore/1.34.0";
  const burstApis: Array<[string, string, number, number]> = [
    ["iam.amazonaws.com", "ListUsers", 90, 0],
    ["iam.amazonaws.com", "ListRoles", 80, 0],
    ["iam.amazonaws.com", "ListAttachedUserPolicies", 120, 60],
    ["secretsmanager.amazonaws.com", "ListSecrets", 40, 0],
    ["secretsmanager.amazonaws.com", "GetSecretValue", 70, 45],
    ["ec2.amazonaws.com", "DescribeInstances", 160, 0],
    ["s3.amazonaws.com", "ListBuckets", 60, 0],
    ["ssm.amazonaws.com", "GetParameters", 50, 30],
  ];
  let k = 0;
  for (const [src, name, n, errs] of burstApis) {
    for (let i = 0; i < n; i++) {
      rec(burst + Math.floor(((k++ * 7919) % 2400) * 1000), src, name, evilIp, evilUa, i < errs ? "AccessDenied" : undefined);
    }
  }
  rec(burst + 41 * 60_000, "iam.amazonaws.com", "CreateAccessKey", evilIp, evilUa, undefined, { userName: "backup-admin" });
  out.sort((a, b) => String(a.eventTime).localeCompare(String(b.eventTime)));
  return out;
}
