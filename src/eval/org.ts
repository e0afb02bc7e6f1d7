/**
 * `npm run eval:org`: a generated organisation, scanned day by day the way the bot does (each
 * day's window against the baselines stored by the days before), to measure what the shared
 * samples cannot: weeks of history, people sharing roles, travel, a VPN change, CI through OIDC,
 * Terraform, release spikes, night incidents (one by a person who never works nights, and an on-call
 * responder who sometimes does), attacks that come back the next day and a stolen session replayed
 * at night.
 *
 * Everything here is generated (seeded, deterministic); addresses and their places come from a
 * static table, not from a real database. Each record carries its label in a side table (never
 * in the record): `attack:<kind>` or benign. The figures:
 *   - attack kinds caught: a finding of medium or higher cites at least one of the kind's events;
 *   - false findings of medium or higher per evaluated day: findings that cite no attack event;
 *   - evidence: of the true findings, the share whose cited events are all attack events.
 *
 * Usage: `npm run eval:org [-- --days 7 --history 28 --seed 1 --json]`.
 */
import { DAY, HOUR, type Profile } from "../baseline/profile.js";
import { SEVERITY_RANK } from "../events/types.js";
import { StaticGeoResolver, type GeoInfo } from "../geo/types.js";
import type { Finding } from "../scan/report-types.js";
import { Scanner } from "../scan/scanner.js";
import { rng } from "../util/rng.js";

const ACCOUNT = "222233334444";
const START = Date.parse("2026-03-02T00:00:00Z"); // a Monday
const MIN = 60_000;

type Rec = Record<string, unknown>;

// ---------------------------------------------------------------- places

const G: Record<string, GeoInfo> = {};
function place(ip: string, country: string, lat: number, lon: number, asn: number, asOrg: string, extra: Partial<GeoInfo> = {}): string {
  G[ip] = { country, lat, lon, asn, asOrg, ...extra };
  return ip;
}
const IP = {
  officeVpnOld: place("198.51.100.20", "US", 37.77, -122.42, 64500, "Old VPN Provider Inc"),
  officeVpnNew: place("203.0.113.40", "US", 37.77, -122.42, 64501, "New SASE Networks"),
  ninaHome: place("93.184.1.10", "DE", 52.52, 13.4, 3320, "Deutsche Telekom AG"),
  ninaTokyo: place("126.10.20.30", "JP", 35.68, 139.69, 17676, "SoftBank Corp."),
  omarHome: place("73.22.1.5", "US", 40.71, -74.0, 7922, "Comcast Cable"),
  leaHome: place("90.12.34.56", "FR", 48.86, 2.35, 3215, "Orange S.A."),
  raviHome: place("49.36.1.2", "IN", 19.07, 72.87, 55836, "Reliance Jio"),
  sofiaHome: place("81.2.69.142", "GB", 51.51, -0.09, 20712, "Andrews & Arnold Ltd"),
  runners: [0, 1, 2, 3, 4].map((i) => place(`20.42.65.${10 + i}`, "US", 39.04, -77.49, 8075, "Microsoft Corporation", { hosting: true })),
  awsNat: [0, 1, 2].map((i) => place(`3.80.10.${100 + i}`, "US", 39.04, -77.49, 14618, "Amazon.com, Inc.", { hosting: true })),
  attackerVps: place("45.77.12.34", "NL", 52.37, 4.89, 20473, "The Constant Company, LLC", { hosting: true }),
  attackerVps2: place("185.220.101.7", "RO", 44.43, 26.1, 9009, "M247 Europe SRL", { hosting: true }),
  // A residential proxy exit in France, on the ISP lea works from: new to omar, routine for the role.
  residentialProxyFr: place("90.77.18.201", "FR", 45.76, 4.84, 3215, "Orange S.A."),
  kimHome: place("98.42.7.19", "US", 47.61, -122.33, 7922, "Comcast Cable"),
  // A residential proxy exit in Britain, on an ISP nobody on the role uses.
  residentialProxyGb: place("86.150.3.77", "GB", 53.48, -2.24, 2856, "British Telecommunications PLC"),
};

// ---------------------------------------------------------------- identities

const sso = (person: string, set = "AWSReservedSSO_AdministratorAccess_a1b2c3d4"): Rec => ({
  type: "AssumedRole",
  principalId: `AROASSO:${person}`,
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${set}/${person}`,
  accountId: ACCOUNT,
  sessionContext: {
    sessionIssuer: { type: "Role", arn: `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/${set}`, accountId: ACCOUNT, userName: set },
    attributes: { creationDate: "2026-03-02T08:00:00Z", mfaAuthenticated: "true" },
  },
});
const role = (name: string, session: string): Rec => ({
  type: "AssumedRole",
  principalId: `AROA${name}:${session}`,
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${name}/${session}`,
  accountId: ACCOUNT,
  sessionContext: { sessionIssuer: { type: "Role", arn: `arn:aws:iam::${ACCOUNT}:role/${name}`, accountId: ACCOUNT, userName: name }, attributes: { mfaAuthenticated: "false" } },
});
const user = (name: string): Rec => ({
  type: "IAMUser",
  principalId: `AIDA${name}`,
  arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
  accountId: ACCOUNT,
  userName: name,
  accessKeyId: `AKIA${name.toUpperCase()}`,
});

const UA = {
  console: "AWS Internal",
  browser: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
  cli: "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64",
  terraform: "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.40.0",
  java: "aws-sdk-java/2.25.0 Linux/5.10 OpenJDK_64-Bit_Server_VM/21",
  boto: "Boto3/1.34.0 Python/3.12 Linux/6.1 Botocore/1.34.0",
  attacker: "aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0-kali exe/x86_64.kali",
};

const SOURCE: Record<string, string> = {
  iam: "iam.amazonaws.com",
  sts: "sts.amazonaws.com",
  ec2: "ec2.amazonaws.com",
  s3: "s3.amazonaws.com",
  logs: "logs.amazonaws.com",
  cloudtrail: "cloudtrail.amazonaws.com",
  lambda: "lambda.amazonaws.com",
  dynamodb: "dynamodb.amazonaws.com",
  sqs: "sqs.amazonaws.com",
  kms: "kms.amazonaws.com",
  secretsmanager: "secretsmanager.amazonaws.com",
  ssm: "ssm.amazonaws.com",
  ses: "ses.amazonaws.com",
  cloudwatch: "monitoring.amazonaws.com",
  rds: "rds.amazonaws.com",
  ecs: "ecs.amazonaws.com",
  signin: "signin.amazonaws.com",
};

// ---------------------------------------------------------------- the generator

export interface OrgData {
  records: Rec[];
  /** eventID -> attack kind (benign records are absent). */
  labels: Map<string, string>;
  start: number;
  days: number;
}

export function generateOrg(opts: { history: number; days: number; seed: number }): OrgData {
  const r = rng(opts.seed * 104729 + 7);
  const records: Rec[] = [];
  const labels = new Map<string, string>();
  let seq = 0;
  const emit = (o: { t: number; who: Rec; api: string; ip: string; ua: string; region?: string; rp?: Rec | null; error?: string; label?: string; extra?: Rec }): void => {
    const [svc, name] = o.api.split(":") as [string, string];
    const id = `org-${++seq}`;
    const rec: Rec = {
      eventVersion: "1.09",
      eventID: id,
      eventTime: new Date(Math.floor(o.t)).toISOString(),
      eventName: name,
      eventSource: SOURCE[svc] ?? `${svc}.amazonaws.com`,
      awsRegion: o.region ?? "us-east-1",
      sourceIPAddress: o.ip,
      userAgent: o.ua,
      userIdentity: o.who,
      requestParameters: o.rp ?? null,
      responseElements: null,
      eventType: "AwsApiCall",
      recipientAccountId: ACCOUNT,
      ...(o.extra ?? {}),
    };
    if (o.error) {
      rec.errorCode = o.error;
      rec.errorMessage = "User is not authorized to perform this operation";
    }
    records.push(rec);
    if (o.label) labels.set(id, o.label);
  };
  const total = opts.history + opts.days;
  const day0 = START;
  const evalStart = day0 + opts.history * DAY;
  const vpnChange = evalStart + 2 * DAY; // the company VPN moves to another provider mid-evaluation
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  // People and attacks added later draw from their own stream: the others are generated as before.
  const rk = rng(opts.seed * 7919 + 13);
  const pickK = <T>(xs: readonly T[]): T => xs[Math.floor(rk() * xs.length)]!;

  // People sharing one SSO permission set (session name = the person), each from home or the VPN.
  const people = [
    { name: "nina@example.com", home: IP.ninaHome, start: 7 },
    { name: "omar@example.com", home: IP.omarHome, start: 13 },
    { name: "lea@example.com", home: IP.leaHome, start: 7 },
    { name: "ravi@example.com", home: IP.raviHome, start: 4 },
    { name: "sofia@example.com", home: IP.sofiaHome, start: 8 },
  ];
  const consoleApis = [
    "ec2:DescribeInstances",
    "s3:ListBuckets",
    "cloudwatch:GetMetricData",
    "logs:FilterLogEvents",
    "iam:ListRoles",
    "lambda:ListFunctions20150331",
    "rds:DescribeDBInstances",
    "ecs:ListClusters",
    "cloudtrail:LookupEvents",
    "ec2:DescribeSecurityGroups",
  ];
  const cliApis = ["s3:GetObject", "s3:PutObject", "ssm:GetParameter", "sts:GetCallerIdentity", "ecs:DescribeServices", "logs:GetLogEvents"];

  for (let d = 0; d < total; d++) {
    const dayStart = day0 + d * DAY;
    const weekday = (new Date(dayStart).getUTCDay() + 6) % 7; // Monday = 0
    const vpn = dayStart >= vpnChange ? IP.officeVpnNew : IP.officeVpnOld;

    // --- people on the shared SSO role
    for (const p of people) {
      if (weekday >= 5 && r() < 0.85) continue;
      // nina travels to Tokyo for four days in the evaluation period, same laptop, with MFA.
      const travelling = p.name.startsWith("nina") && dayStart >= evalStart + DAY && dayStart < evalStart + 5 * DAY;
      const ip = travelling ? IP.ninaTokyo : r() < 0.5 ? vpn : p.home;
      const startHour = travelling ? 0 : p.start; // Tokyo working hours in UTC
      const n = 20 + Math.floor(r() * 40);
      for (let i = 0; i < n; i++) {
        const t = dayStart + (startHour + r() * 8) * HOUR;
        const viaCli = r() < 0.3;
        emit({
          t,
          who: sso(p.name),
          api: viaCli ? pick(cliApis) : pick(consoleApis),
          ip,
          ua: viaCli ? UA.cli : UA.console,
          rp: viaCli ? { name: "/app/config", withDecryption: false } : null,
        });
      }
    }
    // A night incident: omar on call at 03:00 UTC in the evaluation period restarts services.
    if (dayStart === evalStart + 3 * DAY) {
      for (let i = 0; i < 40; i++)
        emit({
          t: dayStart + 3 * HOUR + i * MIN,
          who: sso("omar@example.com"),
          api: pick(["ecs:UpdateService", "ecs:DescribeServices", "logs:FilterLogEvents", "cloudwatch:GetMetricData"]),
          ip: IP.omarHome,
          ua: UA.cli,
        });
    }

    // --- kim, on the same permission set, works 15:00-23:00 UTC on weekdays and is on call: about
    // one night in five she works 02:00-03:00 UTC (her own random stream, so the rest of the
    // organisation is generated as before).
    if (weekday < 5) {
      const n = 20 + Math.floor(rk() * 30);
      const ip = rk() < 0.5 ? vpn : IP.kimHome;
      for (let i = 0; i < n; i++) {
        const viaCli = rk() < 0.3;
        emit({ t: dayStart + (15 + rk() * 8) * HOUR, who: sso("kim@example.com"), api: viaCli ? pickK(cliApis) : pickK(consoleApis), ip, ua: viaCli ? UA.cli : UA.console });
      }
    }
    if (rk() < 0.2 || dayStart === evalStart + 4 * DAY) {
      const n = 15 + Math.floor(rk() * 25);
      for (let i = 0; i < n; i++)
        emit({
          t: dayStart + (2 + rk()) * HOUR,
          who: sso("kim@example.com"),
          api: pickK(["ecs:DescribeServices", "ecs:UpdateService", "logs:FilterLogEvents", "cloudwatch:GetMetricData"]),
          ip: IP.kimHome,
          ua: UA.cli,
        });
    }

    // --- CI through OIDC: GitHub Actions assumes a deploy role; Terraform plans daily, applies on releases.
    const runs = weekday < 5 ? 3 + Math.floor(r() * 4) : 0;
    for (let k = 0; k < runs; k++) {
      const session = `GitHubActions-${d}-${k}`;
      const t0 = dayStart + (9 + r() * 9) * HOUR;
      const ip = pick(IP.runners);
      emit({
        t: t0,
        who: {
          type: "WebIdentityUser",
          principalId: `token.actions.githubusercontent.com:repo:org/infra`,
          userName: "repo:org/infra:ref:refs/heads/main",
          identityProvider: "token.actions.githubusercontent.com",
        },
        api: "sts:AssumeRoleWithWebIdentity",
        ip,
        ua: "aws-sdk-js/3",
        rp: { roleArn: `arn:aws:iam::${ACCOUNT}:role/github-deploy`, roleSessionName: session },
      });
      const reads = [
        "ec2:DescribeInstances",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeVpcs",
        "s3:GetBucketPolicy",
        "iam:GetRole",
        "iam:GetPolicy",
        "lambda:GetFunction",
        "rds:DescribeDBInstances",
        "ecs:DescribeServices",
        "logs:DescribeLogGroups",
        "kms:DescribeKey",
        "sqs:GetQueueAttributes",
        "dynamodb:DescribeTable",
      ];
      for (let i = 0; i < 60; i++) emit({ t: t0 + MIN + i * 2000, who: role("github-deploy", session), api: pick(reads), ip, ua: UA.terraform });
      if (r() < 0.3)
        for (const api of ["lambda:UpdateFunctionCode20150331v2", "ecs:UpdateService", "ecs:RegisterTaskDefinition", "iam:PutRolePolicy"])
          emit({
            t: t0 + 5 * MIN,
            who: role("github-deploy", session),
            api,
            ip,
            ua: UA.terraform,
            rp: api.startsWith("iam")
              ? { roleName: "app", policyName: "p", policyDocument: '{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}' }
              : { functionName: "orders" },
          });
    }

    // --- the application role: ~30 calls an hour from AWS NAT addresses; releases triple it for an hour (Wednesdays).
    for (let h = 0; h < 24; h++) {
      let n = 20 + Math.floor(r() * 20);
      if (weekday === 2 && h === 15) n *= 3;
      for (let i = 0; i < n; i++) {
        const api = pick(["dynamodb:GetItem", "dynamodb:PutItem", "sqs:SendMessage", "sqs:ReceiveMessage", "kms:Decrypt", "secretsmanager:GetSecretValue"]);
        emit({
          t: dayStart + h * HOUR + r() * HOUR,
          who: role("orders-api", "i-0a1b2c3d4e5f60718"),
          api,
          ip: IP.awsNat[0]!,
          ua: UA.java,
          rp: api.startsWith("secrets") ? { secretId: "orders/db" } : null,
          // Its data key's key, as CloudTrail names it.
          ...(api === "kms:Decrypt" ? { extra: { resources: [{ ARN: `arn:aws:kms:us-east-1:${ACCOUNT}:key/orders-1`, accountId: ACCOUNT, type: "AWS::KMS::Key" }] } } : {}),
        });
      }
    }
    // --- a reporting bot (IAM user with an access key) from the office, weekdays.
    if (weekday < 5)
      for (let i = 0; i < 30; i++)
        emit({
          t: dayStart + (6 + r() * 2) * HOUR,
          who: user("reporting-bot"),
          api: pick(["s3:GetObject", "s3:ListObjects", "athena:StartQueryExecution", "athena:GetQueryResults"]),
          ip: IP.officeVpnOld,
          ua: UA.boto,
        });
  }

  // ---------------------------------------------------------------- attacks (evaluation days only)
  const at = (day: number, hour: number) => evalStart + day * DAY + hour * HOUR;
  const atk = (kind: string) => kind;
  // Attack `kind` made with the orders service's own credentials, from its own NAT address (9 and 11
  // below): `n` calls of `api`, `step` ms apart from `from`, the i-th with the parameters (and
  // resources) that call(i) gives.
  const ordersApiSweep = (kind: string, n: number, from: number, step: number, api: string, call: (i: number) => { rp: Rec; extra?: Rec }): void => {
    for (let i = 0; i < n; i++) emit({ t: from + i * step, who: role("orders-api", "i-0a1b2c3d4e5f60718"), api, ip: IP.awsNat[0]!, ua: UA.java, ...call(i), label: atk(kind) });
  };
  // 1. The reporting bot's key leaks: enumeration and a secrets sweep from a rented server, and again the next day.
  for (const day of [0, 1]) {
    const t0 = at(day, 2);
    const again = day === 1 ? " (repeat, next day)" : "";
    const recon = [
      "sts:GetCallerIdentity",
      "iam:ListUsers",
      "iam:ListRoles",
      "iam:ListPolicies",
      "s3:ListBuckets",
      "ec2:DescribeInstances",
      "ec2:DescribeRegions",
      "lambda:ListFunctions20150331",
      "secretsmanager:ListSecrets",
      "ssm:DescribeParameters",
      "rds:DescribeDBInstances",
      "dynamodb:ListTables",
      "kms:ListKeys",
      "cloudtrail:DescribeTrails",
      "logs:DescribeLogGroups",
      "sqs:ListQueues",
      "ecs:ListClusters",
      "iam:ListGroups",
      "iam:GetAccountSummary",
      "ec2:DescribeSnapshots",
    ];
    for (const [i, api] of recon.entries())
      emit({
        t: t0 + i * 15_000,
        who: user("reporting-bot"),
        api,
        ip: IP.attackerVps,
        ua: UA.attacker,
        label: atk("leaked-key-recon" + again),
        ...(i % 3 === 0 ? { error: "AccessDenied" } : {}),
      });
    for (let i = 0; i < 25; i++)
      emit({
        t: t0 + 10 * MIN + i * 10_000,
        who: user("reporting-bot"),
        api: "secretsmanager:GetSecretValue",
        ip: IP.attackerVps,
        ua: UA.attacker,
        rp: { secretId: `prod/service-${i}` },
        label: atk("secrets-sweep" + again),
      });
  }
  // 2. Instance credentials of the app role used from outside after an SSM command by a phished SSO session.
  const phishT = at(2, 1);
  emit({
    t: phishT,
    who: sso("lea@example.com"),
    api: "ssm:SendCommand",
    ip: IP.attackerVps2,
    ua: UA.attacker,
    rp: { documentName: "AWS-RunShellScript", instanceIds: ["i-0a1b2c3d4e5f60718"] },
    label: atk("ssm-credential-theft"),
  });
  for (let i = 0; i < 6; i++)
    emit({
      t: phishT + (5 + i) * MIN,
      who: role("orders-api", "i-0a1b2c3d4e5f60718"),
      api: pick(["s3:ListBuckets", "s3:GetObject", "dynamodb:Scan"]),
      ip: IP.attackerVps2,
      ua: UA.attacker,
      label: atk("ssm-credential-theft"),
    });
  // 3. Persistence by the phished session: an access key for another user, an admin policy.
  emit({
    t: phishT + 20 * MIN,
    who: sso("lea@example.com"),
    api: "iam:CreateAccessKey",
    ip: IP.attackerVps2,
    ua: UA.attacker,
    rp: { userName: "reporting-bot" },
    label: atk("persistence"),
  });
  emit({
    t: phishT + 21 * MIN,
    who: sso("lea@example.com"),
    api: "iam:AttachUserPolicy",
    ip: IP.attackerVps2,
    ua: UA.attacker,
    rp: { userName: "reporting-bot", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" },
    label: atk("persistence"),
  });
  // 4. Cryptomining in a region nobody uses, with the leaked key.
  for (let i = 0; i < 3; i++)
    emit({
      t: at(3, 22) + i * MIN,
      who: user("reporting-bot"),
      api: "ec2:RunInstances",
      region: "ap-southeast-3",
      ip: IP.attackerVps,
      ua: UA.attacker,
      rp: { instanceType: "p4d.24xlarge", instancesSet: { items: [{ imageId: "ami-0abc", minCount: 1, maxCount: 10 }] } },
      label: atk("cryptomining-new-region"),
    });
  // 5. Logging stopped, and a security group opened to a /0 written oddly.
  emit({
    t: at(4, 23),
    who: user("reporting-bot"),
    api: "cloudtrail:StopLogging",
    ip: IP.attackerVps,
    ua: UA.attacker,
    rp: { name: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/org` },
    label: atk("defense-evasion"),
  });
  emit({
    t: at(4, 23) + MIN,
    who: user("reporting-bot"),
    api: "ec2:AuthorizeSecurityGroupIngress",
    ip: IP.attackerVps,
    ua: UA.attacker,
    rp: { groupId: "sg-1", ipPermissions: { items: [{ ipProtocol: "tcp", fromPort: 22, toPort: 22, ipRanges: { items: [{ cidrIp: "10.0.0.0/0" }] } }] } },
    label: atk("exposure"),
  });
  // 6. SES production access asked with the leaked key (which only ever used S3 and Athena).
  emit({ t: at(5, 3), who: user("reporting-bot"), api: "ses:GetSendQuota", ip: IP.attackerVps, ua: UA.attacker, label: atk("email-abuse") });
  emit({
    t: at(5, 3) + MIN,
    who: user("reporting-bot"),
    api: "ses:PutAccountDetails",
    ip: IP.attackerVps,
    ua: UA.attacker,
    rp: { mailType: "MARKETING", websiteURL: "https://x.example" },
    label: atk("email-abuse"),
  });

  // 8. Before mining, the leaked key looks around regions nobody in the account uses.
  for (const [i, region] of ["eu-north-1", "sa-east-1", "ap-south-2"].entries())
    emit({ t: at(3, 21) + i * MIN, who: user("reporting-bot"), api: "ec2:DescribeSpotPriceHistory", region, ip: IP.attackerVps, ua: UA.attacker, label: atk("region-sweep") });
  // 9. A server-side request forgery in the orders service: its own credentials, from its own NAT
  // address, read 30 secrets it never read (it reads one secret hundreds of times a day).
  ordersApiSweep("app-secrets-sweep", 30, at(5, 11), 2000, "secretsmanager:GetSecretValue", (i) => ({
    rp: { secretId: `prod/${["billing", "payments", "crm", "hr", "search"][i % 5]}-${i}` },
  }));
  // 7. omar's SSO session token is stolen and replayed through a residential proxy in France, the
  // country (and ISP) a colleague on the same permission set works from: only omar's own baseline
  // says it is new.
  for (let i = 0; i < 12; i++)
    emit({
      t: at(6, 15) + i * 2 * MIN,
      who: sso("omar@example.com"),
      api: pick(["s3:ListBuckets", "s3:GetObject", "iam:ListRoles", "ec2:DescribeInstances"]),
      ip: IP.residentialProxyFr,
      ua: UA.console,
      label: atk("stolen-sso-session"),
    });

  // 11. The orders service's credentials, from its own address, decrypt under 14 KMS keys of other
  // teams it never used (it decrypts under one key all day): data keys of backups and exports.
  ordersApiSweep("kms-key-sweep", 14, at(4, 10), 4000, "kms:Decrypt", (i) => ({
    rp: { encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
    extra: { resources: [{ ARN: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${["backup", "export", "hr", "billing"][i % 4]}-${i}`, accountId: ACCOUNT, type: "AWS::KMS::Key" }] },
  }));

  // 10. sofia's SSO session (she works 08:00-16:00 UTC from London) is stolen and replayed at 02:00
  // UTC through a residential proxy in Britain, on a network she never used, with the console.
  for (let i = 0; i < 14; i++)
    emit({
      t: at(6, 2) + i * 90_000,
      who: sso("sofia@example.com"),
      api: pickK(["s3:ListBuckets", "s3:GetObject", "iam:ListRoles", "ec2:DescribeInstances", "logs:FilterLogEvents"]),
      ip: IP.residentialProxyGb,
      ua: UA.console,
      label: atk("off-hour-stolen-session"),
    });

  records.sort((a, b) => String(a.eventTime).localeCompare(String(b.eventTime)));
  return { records, labels, start: evalStart, days: opts.days };
}

// ---------------------------------------------------------------- scanning day by day

export interface OrgFigures {
  days: number;
  records: number;
  attackKinds: string[];
  caught: string[];
  missed: string[];
  findings: number;
  falseMediumPlus: number;
  falseMediumPlusPerDay: number;
  trueFindings: number;
  trueAllCitedAnomalous: number;
  shareAllCitedAnomalous: number;
  falseList: string[];
  mixedList: string[];
}

export function evaluateOrg(data: OrgData): OrgFigures {
  const geo = new StaticGeoResolver(G);
  const stored = new Map<string, Profile>();
  const byDay = new Map<number, Rec[]>();
  const hist: Rec[] = [];
  for (const r of data.records) {
    const t = Date.parse(String(r.eventTime));
    if (t < data.start) hist.push(r);
    else {
      const d = Math.floor((t - data.start) / DAY);
      if (!byDay.has(d)) byDay.set(d, []);
      byDay.get(d)!.push(r);
    }
  }
  // History: one scan trains every baseline (its own window's findings are not evaluated).
  const first = new Scanner({ now: data.start, since: { kind: "absolute", at: data.start - DAY }, until: data.start - 1, geo });
  for (const r of hist) first.record(r, "org");
  for (const p of first.finish().profiles) stored.set(p.key, p);

  const findings: Finding[] = [];
  // The analyst acknowledges as expected what is not an attack (travel, the VPN change...) after
  // each day; attack findings stay open, so their values are never learned.
  const status = new Map<string, string>();
  for (let d = 0; d < data.days; d++) {
    const s = new Scanner({
      now: data.start + (d + 1) * DAY,
      since: { kind: "absolute", at: data.start + d * DAY },
      until: data.start + (d + 1) * DAY - 1,
      geo,
      storedProfile: (k) => stored.get(k),
      findingStatus: (id) => status.get(id),
      maxFindingEventIds: 1000,
    });
    for (const r of byDay.get(d) ?? []) s.record(r, "org");
    const res = s.finish();
    for (const p of res.profiles) stored.set(p.key, p);
    findings.push(...res.report.findings);
    for (const f of res.report.findings) if (!f.eventIds.some((id) => data.labels.has(id))) status.set(f.id, "acknowledged");
  }
  const kinds = [...new Set(data.labels.values())].sort();
  const caught = new Set<string>();
  let falseMed = 0;
  let trueN = 0;
  let allAnom = 0;
  const falseList: string[] = [];
  const mixedList: string[] = [];
  for (const f of findings) {
    const cited = f.eventIds.map((id) => data.labels.get(id));
    const attack = cited.filter((x) => x !== undefined);
    const medPlus = SEVERITY_RANK[f.severity] >= SEVERITY_RANK.medium;
    if (attack.length === 0) {
      if (medPlus) {
        falseMed++;
        falseList.push(`[${f.severity}] ${f.detector} ${f.identity.key}${f.identity.sessionName ? ` (${f.identity.sessionName})` : ""}: ${f.title}`);
      }
      continue;
    }
    trueN++;
    if (attack.length === cited.length) allAnom++;
    else mixedList.push(`[${f.severity}] ${f.detector} ${f.identity.key}: ${cited.length - attack.length} of ${cited.length} cited events are not the attack`);
    if (medPlus) for (const k of attack) caught.add(k!);
  }
  return {
    days: data.days,
    records: data.records.length,
    attackKinds: kinds,
    caught: kinds.filter((k) => caught.has(k)),
    missed: kinds.filter((k) => !caught.has(k)),
    findings: findings.length,
    falseMediumPlus: falseMed,
    falseMediumPlusPerDay: falseMed / data.days,
    trueFindings: trueN,
    trueAllCitedAnomalous: allAnom,
    shareAllCitedAnomalous: trueN ? allAnom / trueN : 1,
    falseList,
    mixedList,
  };
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    process.stderr.write(`--${name}: expected a positive number, got ${process.argv[i + 1] ?? "nothing"}\n`);
    process.exit(2);
  }
  return v;
}

if (process.argv[1]?.endsWith("org.js")) {
  const data = generateOrg({ history: arg("history", 28), days: arg("days", 7), seed: arg("seed", 1) });
  const f = evaluateOrg(data);
  if (process.argv.includes("--json")) process.stdout.write(JSON.stringify(f, null, 2) + "\n");
  else {
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    process.stdout.write(
      [
        `Generated organisation: ${f.records} records, ${arg("history", 28)} days of history, ${f.days} evaluated days (seed ${arg("seed", 1)}).`,
        `attack kinds caught (a finding of medium or higher cites them): ${f.caught.length} of ${f.attackKinds.length} (${f.caught.join(", ")})${f.missed.length ? `; missed: ${f.missed.join(", ")}` : ""}`,
        `false findings of medium or higher: ${f.falseMediumPlus} in ${f.days} days (${f.falseMediumPlusPerDay.toFixed(2)} a day)`,
        ...f.falseList.map((x) => `  false: ${x}`),
        `true findings whose cited events are all attack events: ${f.trueAllCitedAnomalous} of ${f.trueFindings} (${pct(f.shareAllCitedAnomalous)})`,
        ...f.mixedList.map((x) => `  mixed: ${x}`),
        "",
      ].join("\n"),
    );
  }
}
