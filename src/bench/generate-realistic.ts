/**
 * The `realistic` bench profile: CloudTrail shaped like an organisation's trail rather than the
 * project's own `lean` one (generate.ts). What varies here is what varies in real trails:
 *   - several accounts (three) and regions (nine, skewed), one S3 delivery file per account and
 *     region and interval, files of very different sizes;
 *   - identity types: IAM users (people: console and CLI; several access keys), SSO permission-set
 *     roles shared by several people whose sessions are named by e-mail, workload roles with a
 *     session per instance, task or function, CI roles reached through web identity, cross-account
 *     roles, AWS services, the root user now and then;
 *   - cardinality per identity: addresses (a few networks per person, many private addresses per
 *     workload, hundreds of public ones per CI role), user agents (versions, the CLI's
 *     `command/...` suffix per call), session names and access keys, 3 to 60 APIs from ~110;
 *   - request parameters on most calls (shaped per API), response elements on some, tlsDetails with
 *     several versions and suites, VPC endpoints, console flags, errors of several kinds.
 * Deterministic from the seed.
 */
type R = () => number;

export interface RealisticIdentity {
  account: string;
  /** Regions this identity calls, the first one most. */
  regions: string[];
  weight: number;
  /** One call: the record's identity-dependent fields. */
  call(r: R, t: number, region: string): Record<string, unknown>;
}

const ACCOUNTS = ["111122223333", "444455556666", "777788889999"];
const ACCOUNT_WEIGHTS = [0.55, 0.3, 0.15];
const REGIONS = [
  "us-east-1",
  "us-east-1",
  "us-east-1",
  "us-east-1",
  "eu-west-1",
  "eu-west-1",
  "us-west-2",
  "eu-central-1",
  "ap-southeast-2",
  "ap-northeast-1",
  "ca-central-1",
  "sa-east-1",
  "us-east-2",
];

/** [service, API, weight, readOnly]: a wide mix, reads far more common than writes. */
const APIS: Array<[string, string, number]> = [];
const SERVICES: Record<string, Array<[string, number]>> = {
  ec2: [
    ["DescribeInstances", 40],
    ["DescribeSecurityGroups", 12],
    ["DescribeVolumes", 8],
    ["DescribeSubnets", 6],
    ["DescribeVpcs", 5],
    ["DescribeImages", 5],
    ["DescribeNetworkInterfaces", 6],
    ["DescribeTags", 5],
    ["DescribeInstanceStatus", 4],
    ["RunInstances", 1],
    ["TerminateInstances", 1],
    ["CreateTags", 2],
    ["StartInstances", 1],
    ["StopInstances", 1],
    ["AuthorizeSecurityGroupIngress", 0.3],
    ["CreateSnapshot", 0.5],
  ],
  s3: [
    ["GetBucketAcl", 20],
    ["ListBuckets", 6],
    ["GetBucketPolicy", 4],
    ["GetBucketLocation", 8],
    ["GetBucketVersioning", 3],
    ["GetBucketEncryption", 3],
    ["PutBucketPolicy", 0.2],
    ["GetBucketTagging", 3],
    ["GetBucketLogging", 2],
    ["GetBucketPublicAccessBlock", 2],
    ["PutBucketTagging", 0.3],
  ],
  sts: [
    ["AssumeRole", 25],
    ["GetCallerIdentity", 10],
    ["GetSessionToken", 1],
    ["AssumeRoleWithWebIdentity", 2],
    ["GetFederationToken", 0.1],
  ],
  kms: [
    ["Decrypt", 30],
    ["GenerateDataKey", 12],
    ["Encrypt", 4],
    ["DescribeKey", 5],
    ["ListAliases", 2],
    ["ListKeys", 1],
    ["GetKeyPolicy", 1],
  ],
  logs: [
    ["CreateLogStream", 10],
    ["DescribeLogGroups", 4],
    ["DescribeLogStreams", 4],
    ["FilterLogEvents", 2],
    ["GetLogEvents", 2],
    ["CreateLogGroup", 0.5],
    ["PutRetentionPolicy", 0.3],
  ],
  lambda: [
    ["ListFunctions20150331", 3],
    ["GetFunction20150331v2", 3],
    ["Invoke", 2],
    ["UpdateFunctionCode20150331v2", 0.5],
    ["GetPolicy20150331v2", 1],
    ["ListEventSourceMappings20150331", 1],
  ],
  iam: [
    ["GetRole", 6],
    ["ListRoles", 2],
    ["GetUser", 2],
    ["ListAttachedRolePolicies", 3],
    ["GetPolicy", 2],
    ["GetPolicyVersion", 2],
    ["ListUsers", 1],
    ["ListAccessKeys", 1],
    ["CreateAccessKey", 0.05],
    ["AttachRolePolicy", 0.1],
    ["PassRole", 0.2],
    ["ListRolePolicies", 2],
    ["GetAccountPasswordPolicy", 0.3],
  ],
  dynamodb: [
    ["DescribeTable", 6],
    ["ListTables", 2],
    ["DescribeContinuousBackups", 1],
    ["DescribeTimeToLive", 1],
  ],
  ssm: [
    ["GetParameter", 8],
    ["GetParameters", 4],
    ["GetParametersByPath", 3],
    ["UpdateInstanceInformation", 10],
    ["DescribeInstanceInformation", 2],
    ["ListCommands", 1],
    ["SendCommand", 0.2],
    ["StartSession", 0.2],
  ],
  secretsmanager: [
    ["GetSecretValue", 3],
    ["DescribeSecret", 2],
    ["ListSecrets", 1],
  ],
  monitoring: [
    ["GetMetricData", 5],
    ["PutMetricData", 4],
    ["DescribeAlarms", 3],
    ["GetMetricStatistics", 3],
    ["ListMetrics", 1],
  ],
  ecr: [
    ["GetAuthorizationToken", 4],
    ["BatchGetImage", 3],
    ["GetDownloadUrlForLayer", 3],
    ["DescribeRepositories", 1],
    ["DescribeImages", 1],
  ],
  ecs: [
    ["DescribeServices", 3],
    ["DescribeTasks", 3],
    ["ListTasks", 2],
    ["RegisterTaskDefinition", 0.2],
    ["UpdateService", 0.3],
    ["DescribeClusters", 1],
  ],
  rds: [
    ["DescribeDBInstances", 3],
    ["DescribeDBClusters", 2],
    ["DescribeDBSnapshots", 1],
    ["ListTagsForResource", 1],
  ],
  elasticloadbalancing: [
    ["DescribeLoadBalancers", 3],
    ["DescribeTargetGroups", 2],
    ["DescribeTargetHealth", 3],
    ["DescribeListeners", 1],
  ],
  autoscaling: [
    ["DescribeAutoScalingGroups", 3],
    ["DescribeScalingActivities", 1],
    ["DescribeLaunchConfigurations", 1],
  ],
  cloudformation: [
    ["DescribeStacks", 3],
    ["ListStacks", 1],
    ["DescribeStackEvents", 2],
    ["GetTemplate", 1],
    ["UpdateStack", 0.2],
  ],
  sqs: [
    ["ListQueues", 2],
    ["GetQueueAttributes", 2],
    ["GetQueueUrl", 1],
  ],
  sns: [
    ["ListTopics", 1],
    ["GetTopicAttributes", 1],
    ["Publish", 0.5],
  ],
  route53: [
    ["ListHostedZones", 1],
    ["GetHostedZone", 1],
    ["ListResourceRecordSets", 1],
    ["ChangeResourceRecordSets", 0.2],
  ],
  cloudtrail: [
    ["DescribeTrails", 1],
    ["GetTrailStatus", 1],
    ["LookupEvents", 0.5],
    ["GetEventSelectors", 0.5],
  ],
  config: [
    ["DescribeConfigRules", 1],
    ["PutEvaluations", 2],
    ["DescribeConfigurationRecorders", 0.5],
  ],
  sso: [
    ["ListAccountRoles", 0.5],
    ["GetRoleCredentials", 1],
    ["ListAccounts", 0.5],
  ],
  signin: [["ConsoleLogin", 0.3]],
  athena: [
    ["StartQueryExecution", 0.5],
    ["GetQueryExecution", 1],
    ["GetQueryResults", 0.5],
  ],
  glue: [
    ["GetTable", 1],
    ["GetDatabases", 0.5],
    ["GetPartitions", 0.5],
  ],
  "access-analyzer": [["ListAnalyzers", 0.3]],
  guardduty: [
    ["ListDetectors", 0.5],
    ["GetFindings", 0.3],
  ],
};
for (const [svc, apis] of Object.entries(SERVICES)) for (const [name, w] of apis) APIS.push([`${svc}.amazonaws.com`, name, w]);
const READ = /^(Describe|Get|List|Lookup|Filter|BatchGet)/;

const FIRST = [
  "alice",
  "bob",
  "carol",
  "dave",
  "erin",
  "frank",
  "grace",
  "heidi",
  "ivan",
  "judy",
  "mallory",
  "nina",
  "oscar",
  "peggy",
  "rupert",
  "sybil",
  "trent",
  "ursula",
  "victor",
  "wendy",
  "xavier",
  "yolanda",
  "zoe",
  "amir",
  "bea",
  "chen",
  "dmitri",
  "eva",
  "farah",
  "goran",
  "hana",
  "ines",
  "jun",
  "kofi",
  "lena",
  "mateo",
  "noor",
  "olga",
  "priya",
  "quinn",
  "rosa",
  "sven",
  "tariq",
  "uma",
  "vik",
  "wei",
  "yusuf",
  "zara",
];
const LAST = [
  "smith",
  "jones",
  "garcia",
  "muller",
  "rossi",
  "dubois",
  "tanaka",
  "kim",
  "nguyen",
  "silva",
  "kowalski",
  "andersen",
  "okafor",
  "patel",
  "cohen",
  "ivanova",
  "larsen",
  "moreau",
  "novak",
  "haddad",
];
const PERMISSION_SETS = ["AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess", "DeveloperAccess", "SecurityAudit", "BillingAccess", "DataScientist", "SupportUser"];
const CLI_COMMANDS = [
  "ec2.describe-instances",
  "s3.ls",
  "sts.get-caller-identity",
  "logs.tail",
  "iam.list-roles",
  "ssm.get-parameter",
  "ecs.describe-services",
  "lambda.list-functions",
  "cloudformation.describe-stacks",
  "eks.update-kubeconfig",
  "s3.cp",
  "kms.decrypt",
  "ecr.get-login-password",
];
const BROWSERS = [
  (v: number) => `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36`,
  (v: number) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36 Edg/${v}.0.0.0`,
  (v: number) => `Mozilla/5.0 (X11; Linux x86_64; rv:${v - 5}.0) Gecko/20100101 Firefox/${v - 5}.0`,
  (v: number) => `Mozilla/5.0 (Macintosh; Intel Mac OS X 14_${v % 7}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.${v % 5} Safari/605.1.15`,
];
const CIPHERS = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "TLS_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-AES256-GCM-SHA384"];
const ERRORS: Array<[string, string]> = [
  ["AccessDenied", "User: {arn} is not authorized to perform: {api} on resource: {res} because no identity-based policy allows the {api} action"],
  ["Client.UnauthorizedOperation", "You are not authorized to perform this operation."],
  ["ThrottlingException", "Rate exceeded"],
  ["ResourceNotFoundException", "Requested resource not found: {res}"],
  ["NoSuchBucketPolicy", "The bucket policy does not exist"],
  ["ValidationException", "1 validation error detected: Value at 'maxResults' failed to satisfy constraint"],
  ["ParameterNotFound", ""],
  ["InvalidInstanceID.NotFound", "The instance ID '{res}' does not exist"],
];

function hex(r: R, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += "0123456789abcdef"[Math.floor(r() * 16)];
  return s;
}
function upper(r: R, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[Math.floor(r() * 32)];
  return s;
}
function uuid(r: R): string {
  return `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;
}
const pickOf = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
/** Skewed towards the first items (a power law): most calls go to a few of an identity's values. */
const skewed = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(Math.pow(r(), 2.2) * xs.length)]!;
const pubNet = (r: R) =>
  `${pickOf(r, [3, 13, 18, 24, 31, 34, 46, 52, 62, 77, 81, 85, 91, 94, 98, 109, 134, 145, 176, 185, 193, 203, 212, 213])}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}`;
const privIp = (r: R) => `10.${Math.floor(r() * 40)}.${Math.floor(r() * 255)}.${Math.floor(r() * 254) + 1}`;
const cliUa = (r: R) =>
  `aws-cli/2.${13 + Math.floor(r() * 5)}.${Math.floor(r() * 30)} md/awscrt#0.19.${Math.floor(r() * 19)} ua/2.0 os/${pickOf(r, ["linux#6.5.0", "macos#23.4.0", "windows#10"])} md/arch#${pickOf(r, ["x86_64", "arm64"])} lang/python#3.11.${Math.floor(r() * 9)} md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe`;
const sdkUa = (r: R) =>
  pickOf(r, [
    () =>
      `Boto3/1.34.${Math.floor(r() * 120)} md/Botocore#1.34.${Math.floor(r() * 120)} ua/2.0 os/linux#5.10.${200 + Math.floor(r() * 20)}-${190 + Math.floor(r() * 20)}.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.${Math.floor(r() * 4)} md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.${Math.floor(r() * 120)}`,
    () =>
      `aws-sdk-go-v2/1.${24 + Math.floor(r() * 6)}.${Math.floor(r() * 5)} os/linux lang/go#1.22.${Math.floor(r() * 6)} md/GOOS#linux md/GOARCH#amd64 api/${pickOf(r, ["ec2", "s3", "sts", "kms", "sqs"])}#1.${Math.floor(r() * 160)}.0`,
    () =>
      `aws-sdk-java/2.25.${Math.floor(r() * 60)} Linux/5.10.${200 + Math.floor(r() * 20)}-${190 + Math.floor(r() * 20)}.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/21.0.${Math.floor(r() * 4)}+${Math.floor(r() * 12)}-LTS Java/21.0.${Math.floor(r() * 4)} vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/standard`,
    () =>
      `aws-sdk-js/3.${500 + Math.floor(r() * 100)}.0 ua/2.0 os/linux#5.10.${200 + Math.floor(r() * 20)} lang/js md/nodejs#20.${10 + Math.floor(r() * 8)}.0 api/${pickOf(r, ["s3", "dynamodb", "sqs", "secrets-manager", "ssm"])}#3.${500 + Math.floor(r() * 100)}.0 exec-env/AWS_ECS_FARGATE`,
  ])();
const terraformUa = (r: R) =>
  `APN/1.0 HashiCorp/1.0 Terraform/1.${6 + Math.floor(r() * 3)}.${Math.floor(r() * 6)} (+https://www.terraform.io) terraform-provider-aws/5.${30 + Math.floor(r() * 20)}.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.${24 + Math.floor(r() * 4)}.0 os/linux lang/go#1.22.${Math.floor(r() * 5)} md/GOOS#linux md/GOARCH#amd64 api/${pickOf(r, ["ec2", "iam", "s3", "rds"])}#1.${Math.floor(r() * 160)}.0`;

/** Request parameters shaped like the API's (present on most calls, as in real trails). */
function requestParameters(r: R, svc: string, api: string, account: string, region: string, id: string): Record<string, unknown> | null {
  const s = svc.slice(0, svc.indexOf("."));
  switch (s) {
    case "ec2":
      if (api === "DescribeInstances")
        return r() < 0.5
          ? { instancesSet: { items: [{ instanceId: `i-${hex(r, 17)}` }] }, filterSet: {} }
          : { instancesSet: {}, filterSet: { items: [{ name: "tag:Name", valueSet: { items: [{ value: `svc-${Math.floor(r() * 90)}` }] } }] }, maxResults: 1000 };
      if (api === "RunInstances")
        return {
          instancesSet: { items: [{ imageId: `ami-${hex(r, 17)}`, minCount: 1, maxCount: 1 }] },
          instanceType: pickOf(r, ["t3.micro", "m5.large", "c6i.xlarge", "r6g.2xlarge"]),
          blockDeviceMapping: {},
          monitoring: { enabled: false },
          disableApiTermination: false,
          disableApiStop: false,
          clientToken: uuid(r),
        };
      return {
        maxResults: pickOf(r, [5, 100, 500, 1000]),
        filterSet: {},
        [api.includes("Volume") ? "volumeSet" : api.includes("Security") ? "securityGroupIdSet" : "resourceIdSet"]: {
          items: [{ id: `${api.includes("Volume") ? "vol" : "sg"}-${hex(r, 17)}` }],
        },
      };
    case "s3":
      return api === "ListBuckets"
        ? { Host: `s3.${region}.amazonaws.com` }
        : {
            bucketName: `${pickOf(r, ["logs", "data", "artifacts", "backups", "web", "ml", "tfstate"])}-${account.slice(0, 4)}-${Math.floor(r() * 40)}`,
            Host: `s3.${region}.amazonaws.com`,
            [api.slice(3).toLowerCase()]: "",
          };
    case "sts":
      if (api === "GetCallerIdentity") return null;
      if (api.startsWith("AssumeRole"))
        return {
          roleArn: `arn:aws:iam::${pickOf(r, ACCOUNTS)}:role/${pickOf(r, ["deploy", "readonly-audit", "OrganizationAccountAccessRole", "data-pipeline", "cross-account-backup"])}`,
          roleSessionName: `${id}-${Math.floor(r() * 1e9)}`,
          durationSeconds: pickOf(r, [900, 3600, 43200]),
        };
      return { durationSeconds: 3600 };
    case "kms":
      return {
        keyId: `arn:aws:kms:${region}:${account}:key/${uuid(r)}`,
        encryptionAlgorithm: "SYMMETRIC_DEFAULT",
        ...(api === "Decrypt" || api === "GenerateDataKey"
          ? { encryptionContext: { "aws:s3:arn": `arn:aws:s3:::data-${account.slice(0, 4)}-${Math.floor(r() * 40)}/${hex(r, 12)}` } }
          : {}),
      };
    case "logs":
      return {
        logGroupName: `/aws/${pickOf(r, ["lambda", "ecs", "eks", "rds"])}/${pickOf(r, ["api", "worker", "auth", "billing", "search"])}-${Math.floor(r() * 30)}`,
        ...(api === "CreateLogStream" ? { logStreamName: `${new Date().getUTCFullYear()}/${hex(r, 32)}` } : {}),
      };
    case "ssm":
      if (api === "UpdateInstanceInformation")
        return {
          instanceId: `i-${hex(r, 17)}`,
          agentVersion: `3.3.${Math.floor(r() * 999)}.0`,
          agentName: "amazon-ssm-agent",
          platformType: "Linux",
          platformName: "Amazon Linux",
          platformVersion: "2023",
          iPAddress: privIp(r),
          computerName: `ip-10-0-${Math.floor(r() * 255)}-${Math.floor(r() * 255)}.ec2.internal`,
          agentStatus: "Active",
        };
      return {
        name: `/${pickOf(r, ["prod", "staging", "shared"])}/${pickOf(r, ["db", "api", "queue", "cache"])}/${pickOf(r, ["url", "password", "host", "token"])}`,
        withDecryption: r() < 0.5,
      };
    case "secretsmanager":
      return { secretId: `arn:aws:secretsmanager:${region}:${account}:secret:${pickOf(r, ["prod", "staging"])}/${pickOf(r, ["db", "api-key", "oauth"])}-${upper(r, 6)}` };
    case "lambda":
      return { functionName: `${pickOf(r, ["ingest", "resize", "notify", "auth", "etl"])}-${Math.floor(r() * 25)}`, ...(api.startsWith("List") ? { maxItems: 50 } : {}) };
    case "iam":
      return api.startsWith("List")
        ? { maxItems: 100, ...(api.includes("Role") ? { roleName: `app-role-${Math.floor(r() * 500)}` } : {}) }
        : { roleName: `app-role-${Math.floor(r() * 500)}` };
    case "dynamodb":
      return api === "ListTables" ? null : { tableName: `${pickOf(r, ["orders", "sessions", "users", "events"])}-${Math.floor(r() * 12)}` };
    case "monitoring":
      return api === "PutMetricData"
        ? { namespace: pickOf(r, ["CWAgent", "App/Custom", "ECS/ContainerInsights"]) }
        : { startTime: "2024-03-01T00:00:00Z", endTime: "2024-03-01T01:00:00Z", maxDatapoints: 1440 };
    case "ecr":
      return api === "GetAuthorizationToken" ? null : { repositoryName: `${pickOf(r, ["api", "worker", "web"])}-${Math.floor(r() * 10)}`, registryId: account };
    case "cloudtrail":
    case "guardduty":
    case "access-analyzer":
      return r() < 0.5 ? null : { maxResults: 50 };
    default:
      return r() < 0.2 ? null : { maxResults: pickOf(r, [20, 50, 100]), ...(r() < 0.5 ? { nextToken: hex(r, 24) } : {}) };
  }
}

/** An identity's own API mix: a few favourite services, 3 to 60 APIs. */
function apiMix(r: R, n: number, services: string[]): number[] {
  const out: number[] = [];
  const want = new Set(services.map((s) => `${s}.amazonaws.com`));
  const pool = APIS.map((_, i) => i).filter((i) => want.size === 0 || want.has(APIS[i]![0]));
  for (let k = 0; k < n; k++) {
    // weighted by the global API weights
    let total = 0;
    for (const i of pool) total += APIS[i]![2];
    let x = r() * total;
    let chosen = pool[0]!;
    for (const i of pool) {
      x -= APIS[i]![2];
      if (x <= 0) {
        chosen = i;
        break;
      }
    }
    out.push(chosen);
  }
  return out;
}

export function makeRealisticIdentities(r: R, n: number): RealisticIdentity[] {
  const out: RealisticIdentity[] = [];
  const domain = "example.com";
  const homeRegions = () => {
    const home = pickOf(r, REGIONS);
    const k = r() < 0.6 ? 1 : r() < 0.8 ? 2 : 3 + Math.floor(r() * 4);
    const regs = [home];
    for (let i = 1; i < k; i++) regs.push(pickOf(r, REGIONS));
    return regs;
  };
  const accountOf = () => {
    const x = r();
    return x < ACCOUNT_WEIGHTS[0]! ? ACCOUNTS[0]! : x < ACCOUNT_WEIGHTS[0]! + ACCOUNT_WEIGHTS[1]! ? ACCOUNTS[1]! : ACCOUNTS[2]!;
  };
  const tls = (rr: R, host: string) => ({ tlsVersion: rr() < 0.8 ? "TLSv1.3" : "TLSv1.2", cipherSuite: pickOf(rr, CIPHERS), clientProvidedHostHeader: host });
  for (let i = 0; i < n; i++) {
    const account = accountOf();
    const kind = r();
    const regions = homeRegions();
    const weight = Math.pow(r(), 3);
    if (kind < 0.18) {
      // A person with an IAM user: console and CLI, a few networks, several keys over time.
      const person = `${pickOf(r, FIRST)}.${pickOf(r, LAST)}${i}`;
      const principalId = "AIDA" + upper(r, 17);
      const nets = Array.from({ length: 1 + Math.floor(r() * 4) }, () => pubNet(r));
      const ips = Array.from({ length: 2 + Math.floor(r() * 14) }, () => `${skewed(r, nets)}.${Math.floor(r() * 254) + 1}`);
      const uas = Array.from({ length: 1 + Math.floor(r() * 6) }, () => (r() < 0.5 ? pickOf(r, BROWSERS)(118 + Math.floor(r() * 14)) : cliUa(r)));
      const keys = Array.from({ length: 1 + Math.floor(r() * 3) }, () => "AKIA" + upper(r, 16));
      const apis = apiMix(r, 5 + Math.floor(r() * 50), []);
      out.push({
        account,
        regions,
        weight,
        call(rr, _t, _region) {
          const ua = skewed(rr, uas);
          const fromConsole = ua.startsWith("Mozilla");
          const ui: Record<string, unknown> = {
            type: "IAMUser",
            principalId,
            arn: `arn:aws:iam::${account}:user/${person}`,
            accountId: account,
            accessKeyId: fromConsole ? "ASIA" + upper(rr, 16) : skewed(rr, keys),
            userName: person,
          };
          if (fromConsole) ui.sessionContext = { attributes: { creationDate: "2024-03-01T08:00:00Z", mfaAuthenticated: "true" } };
          const [svc, api] = APIS[skewed(rr, apis)]!;
          return { userIdentity: ui, svc, api, ip: skewed(rr, ips), ua: fromConsole || rr() < 0.5 ? ua : `${ua} command/${pickOf(rr, CLI_COMMANDS)}`, console: fromConsole, tls };
        },
      });
    } else if (kind < 0.3) {
      // An SSO permission set in one account, shared by several people: sessions named by e-mail.
      const set = PERMISSION_SETS[i % PERMISSION_SETS.length]!;
      const role = `AWSReservedSSO_${set}_${hex(r, 16)}`;
      const roleId = "AROA" + upper(r, 17);
      const ssoPath = r() < 0.5 ? "" : `${regions[0]}/`;
      const people = Array.from({ length: 2 + Math.floor(r() * 25) }, () => {
        const nets = Array.from({ length: 1 + Math.floor(r() * 3) }, () => pubNet(r));
        return {
          email: `${pickOf(r, FIRST)}.${pickOf(r, LAST)}@${domain}`,
          ips: Array.from({ length: 1 + Math.floor(r() * 8) }, () => `${skewed(r, nets)}.${Math.floor(r() * 254) + 1}`),
          ua: r() < 0.6 ? pickOf(r, BROWSERS)(118 + Math.floor(r() * 14)) : cliUa(r),
        };
      });
      const apis = apiMix(r, 8 + Math.floor(r() * 50), []);
      out.push({
        account,
        regions,
        weight: weight * 2,
        call(rr, _t, _region) {
          const p = skewed(rr, people);
          const fromConsole = p.ua.startsWith("Mozilla");
          const ui = {
            type: "AssumedRole",
            principalId: `${roleId}:${p.email}`,
            arn: `arn:aws:sts::${account}:assumed-role/${role}/${p.email}`,
            accountId: account,
            accessKeyId: "ASIA" + upper(rr, 16),
            sessionContext: {
              sessionIssuer: {
                type: "Role",
                principalId: roleId,
                arn: `arn:aws:iam::${account}:role/aws-reserved/sso.amazonaws.com/${ssoPath}${role}`,
                accountId: account,
                userName: role,
              },
              webIdFederationData: {},
              attributes: { creationDate: "2024-03-01T08:00:00Z", mfaAuthenticated: "false" },
            },
          };
          const [svc, api] = APIS[skewed(rr, apis)]!;
          return { userIdentity: ui, svc, api, ip: skewed(rr, p.ips), ua: fromConsole ? p.ua : `${p.ua} command/${pickOf(rr, CLI_COMMANDS)}`, console: fromConsole, tls };
        },
      });
    } else if (kind < 0.68) {
      // A workload role: a session per instance, task or function, private addresses, SDK agents.
      const role = `${pickOf(r, ["app", "svc", "ecs-task", "lambda", "eks-node", "batch", "etl"])}-${pickOf(r, ["orders", "search", "auth", "billing", "ingest", "web", "api", "ml"])}-${i}`;
      const roleId = "AROA" + upper(r, 17);
      const how = r();
      const sessions = Array.from({ length: 1 + Math.floor(Math.pow(r(), 2) * 60) }, () =>
        how < 0.4 ? `i-${hex(r, 17)}` : how < 0.7 ? hex(r, 32) : how < 0.85 ? `${role.slice(0, 20)}-fn` : `botocore-session-${1709251200 + Math.floor(r() * 1e6)}`,
      );
      const ips = Array.from({ length: 1 + Math.floor(Math.pow(r(), 1.5) * 80) }, () => (r() < 0.9 ? privIp(r) : `${pubNet(r)}.${Math.floor(r() * 254) + 1}`));
      const uas = Array.from({ length: 1 + Math.floor(r() * 4) }, () => sdkUa(r));
      const favourite = Array.from({ length: 1 + Math.floor(r() * 4) }, () => pickOf(r, Object.keys(SERVICES)));
      const apis = apiMix(r, 3 + Math.floor(r() * 25), favourite.concat(["sts", "kms"]));
      const vpce = r() < 0.3 ? `vpce-${hex(r, 17)}` : undefined;
      out.push({
        account,
        regions,
        weight,
        call(rr, _t, _region) {
          const si = Math.floor(Math.pow(rr(), 1.7) * sessions.length);
          const session = sessions[si]!;
          const ui = {
            type: "AssumedRole",
            principalId: `${roleId}:${session}`,
            arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
            accountId: account,
            accessKeyId: "ASIA" + upper(rr, 16),
            sessionContext: {
              sessionIssuer: { type: "Role", principalId: roleId, arn: `arn:aws:iam::${account}:role/${role}`, accountId: account, userName: role },
              webIdFederationData: {},
              attributes: { creationDate: "2024-03-01T00:00:00Z", mfaAuthenticated: "false" },
              ...(session.startsWith("i-") ? { ec2RoleDelivery: "2.0" } : {}),
            },
          };
          const [svc, api] = APIS[skewed(rr, apis)]!;
          return { userIdentity: ui, svc, api, ip: ips[si % ips.length]!, ua: skewed(rr, uas), vpce, tls };
        },
      });
    } else if (kind < 0.76) {
      // CI through web identity (GitHub Actions, Terraform): many public addresses, one session per run.
      const role = `${pickOf(r, ["github-actions", "gha-deploy", "terraform-ci", "gitlab-ci"])}-${i}`;
      const roleId = "AROA" + upper(r, 17);
      const ips = Array.from(
        { length: 20 + Math.floor(r() * 200) },
        () => `${pickOf(r, ["4.175", "20.57", "20.98", "40.80", "52.176", "104.45", "172.183", "191.235"])}.${Math.floor(r() * 255)}.${Math.floor(r() * 254) + 1}`,
      );
      const uas = Array.from({ length: 1 + Math.floor(r() * 3) }, () => (r() < 0.6 ? terraformUa(r) : cliUa(r)));
      const apis = apiMix(r, 15 + Math.floor(r() * 45), []);
      out.push({
        account,
        regions,
        weight: weight * 0.7,
        call(rr, t, _region) {
          const run = Math.floor(t / 1_800_000); // a run every half hour or so
          const session = rr() < 0.5 ? "GitHubActions" : `run-${run}-${Math.floor(rr() * 3)}`;
          const ui = {
            type: "AssumedRole",
            principalId: `${roleId}:${session}`,
            arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
            accountId: account,
            accessKeyId: "ASIA" + upper(rr, 16),
            sessionContext: {
              sessionIssuer: { type: "Role", principalId: roleId, arn: `arn:aws:iam::${account}:role/${role}`, accountId: account, userName: role },
              webIdFederationData: { federatedProvider: `arn:aws:iam::${account}:oidc-provider/token.actions.githubusercontent.com`, attributes: {} },
              attributes: { creationDate: "2024-03-01T00:00:00Z", mfaAuthenticated: "false" },
            },
          };
          const [svc, api] = APIS[skewed(rr, apis)]!;
          return { userIdentity: ui, svc, api, ip: ips[(run * 7 + Math.floor(rr() * 3)) % ips.length]!, ua: skewed(rr, uas), tls };
        },
      });
    } else if (kind < 0.8) {
      // A role of another account, assumed across (the caller's account differs from the recipient).
      const from = pickOf(
        r,
        ACCOUNTS.filter((a) => a !== account),
      );
      const role = `cross-account-${pickOf(r, ["audit", "backup", "deploy", "monitoring"])}-${i}`;
      const roleId = "AROA" + upper(r, 17);
      const ips = Array.from({ length: 1 + Math.floor(r() * 10) }, () => `${pubNet(r)}.${Math.floor(r() * 254) + 1}`);
      const ua = sdkUa(r);
      const apis = apiMix(r, 10 + Math.floor(r() * 40), []);
      out.push({
        account,
        regions,
        weight: weight * 0.5,
        call(rr, _t, _region) {
          const session = `${from}-${Math.floor(rr() * 40)}`;
          const ui = {
            type: "AssumedRole",
            principalId: `${roleId}:${session}`,
            arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
            accountId: account,
            accessKeyId: "ASIA" + upper(rr, 16),
            sessionContext: {
              sessionIssuer: { type: "Role", principalId: roleId, arn: `arn:aws:iam::${account}:role/${role}`, accountId: account, userName: role },
              webIdFederationData: {},
              attributes: { creationDate: "2024-03-01T00:00:00Z", mfaAuthenticated: "false" },
            },
          };
          const [svc, api] = APIS[skewed(rr, apis)]!;
          return { userIdentity: ui, svc, api, ip: skewed(rr, ips), ua, tls };
        },
      });
    } else if (kind < 0.995) {
      // An AWS service acting for the account.
      const svcName = pickOf(r, [
        "lambda",
        "ec2",
        "config",
        "cloudformation",
        "autoscaling",
        "elasticloadbalancing",
        "ecs",
        "ssm",
        "backup",
        "guardduty",
        "access-analyzer",
        "trustedadvisor",
        "sso",
        "organizations",
        "resource-explorer-2",
      ]);
      const invokedBy = `${svcName}.amazonaws.com`;
      const apis = apiMix(r, 3 + Math.floor(r() * 20), []);
      out.push({
        account,
        regions,
        weight,
        call(rr) {
          const [svc, api] = APIS[skewed(rr, apis)]!;
          return { userIdentity: { type: "AWSService", invokedBy }, svc, api, ip: invokedBy, ua: invokedBy, tls: undefined };
        },
      });
    } else {
      // The root user, now and then, from the console.
      const ips = Array.from({ length: 1 + Math.floor(r() * 3) }, () => `${pubNet(r)}.${Math.floor(r() * 254) + 1}`);
      const ua = pickOf(r, BROWSERS)(120 + Math.floor(r() * 10));
      const apis = apiMix(r, 3 + Math.floor(r() * 10), ["iam", "s3", "ec2", "signin"]);
      out.push({
        account,
        regions,
        weight: weight * 0.05,
        call(rr) {
          const [svc, api] = APIS[skewed(rr, apis)]!;
          return {
            userIdentity: {
              type: "Root",
              principalId: account,
              arn: `arn:aws:iam::${account}:root`,
              accountId: account,
              accessKeyId: "ASIA" + upper(rr, 16),
              sessionContext: { attributes: { creationDate: "2024-03-01T08:00:00Z", mfaAuthenticated: "true" } },
            },
            svc,
            api,
            ip: skewed(rr, ips),
            ua,
            console: true,
            tls,
          };
        },
      });
    }
  }
  return out;
}

/** The record of one call (key order as CloudTrail writes it). */
export function realisticRecord(r: R, id: RealisticIdentity, t: number, region: string): Record<string, unknown> {
  const c = id.call(r, t, region) as {
    userIdentity: Record<string, unknown>;
    svc: string;
    api: string;
    ip: string;
    ua: string;
    console?: boolean;
    vpce?: string;
    tls?: (r: R, host: string) => unknown;
  };
  const svc = c.api === "ConsoleLogin" ? "signin.amazonaws.com" : c.svc;
  const err = r() < 0.04 ? ERRORS[Math.floor(Math.pow(r(), 1.5) * ERRORS.length)]! : undefined;
  const resource = `arn:aws:${svc.slice(0, svc.indexOf("."))}:${region}:${id.account}:${hex(r, 8)}`;
  const rec: Record<string, unknown> = {
    eventVersion: pickOf(r, ["1.08", "1.09", "1.10"]),
    userIdentity: c.userIdentity,
    eventTime: new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z"),
    eventSource: svc,
    eventName: c.api,
    awsRegion: region,
    sourceIPAddress: c.ip,
    userAgent: c.ua,
  };
  if (err) {
    rec.errorCode = err[0];
    if (err[1])
      rec.errorMessage = err[1]
        .replaceAll("{arn}", String(c.userIdentity.arn ?? ""))
        .replaceAll("{api}", `${svc.slice(0, svc.indexOf("."))}:${c.api}`)
        .replaceAll("{res}", resource);
  }
  rec.requestParameters = requestParameters(r, svc, c.api, id.account, region, String(c.userIdentity.principalId ?? "svc").slice(-12));
  rec.responseElements =
    err || READ.test(c.api)
      ? null
      : c.api.startsWith("AssumeRole")
        ? {
            credentials: { accessKeyId: "ASIA" + upper(r, 16), sessionToken: hex(r, 96), expiration: "Mar 1, 2024, 1:00:00 PM" },
            assumedRoleUser: { assumedRoleId: `AROA${upper(r, 17)}:${hex(r, 8)}`, arn: `arn:aws:sts::${id.account}:assumed-role/deploy/${hex(r, 8)}` },
          }
        : r() < 0.5
          ? { requestId: uuid(r) }
          : null;
  if (r() < 0.05)
    rec.additionalEventData = {
      SignatureVersion: "SigV4",
      CipherSuite: "ECDHE-RSA-AES128-GCM-SHA256",
      bytesTransferredIn: Math.floor(r() * 1000),
      AuthenticationMethod: "AuthHeader",
    };
  rec.requestID = uuid(r);
  rec.eventID = uuid(r);
  rec.readOnly = READ.test(c.api);
  if (svc === "kms.amazonaws.com" && (c.api === "Decrypt" || c.api === "GenerateDataKey"))
    rec.resources = [{ accountId: id.account, type: "AWS::KMS::Key", ARN: `arn:aws:kms:${region}:${id.account}:key/${uuid(r)}` }];
  rec.eventType = c.api === "ConsoleLogin" ? "AwsConsoleSignIn" : "AwsApiCall";
  rec.managementEvent = true;
  rec.recipientAccountId = id.account;
  if (c.vpce) {
    rec.vpcEndpointId = c.vpce;
    rec.vpcEndpointAccountId = id.account;
  }
  rec.eventCategory = "Management";
  if (c.tls) rec.tlsDetails = c.tls(r, `${svc.slice(0, svc.indexOf("."))}.${region}.amazonaws.com`);
  if (c.console) rec.sessionCredentialFromConsole = "true";
  return rec;
}
