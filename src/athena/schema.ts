/**
 * The CloudTrail table as Athena sees it (docs/CLOUDTRAIL.md section 6): one model of the columns
 * that drives the DDL (`athenaDdl`), the SELECT of detection-window events, and the rebuild of
 * CloudTrail-shaped records from query results. Column names are the JSON names lowercased.
 */
import { COMMERCIAL_REGIONS } from "../sources/aws-regions.js";

export type ColType = "string" | { struct: Field[] } | { array: ColType } | { map: [ColType, ColType] };

export interface Field {
  /** The name in the CloudTrail JSON (camelCase); the column / struct field is its lowercase. */
  json: string;
  type: ColType;
  /** The STRING column holds a JSON document (object) in the record: parsed back on rebuild. */
  jsonText?: boolean;
  /** A boolean in the delivered JSON (Athena reads it as the string "true"/"false"). */
  bool?: boolean;
  /** Not in AWS's documented DDL: only in tables created by `trailhound athena ddl`. */
  trailhoundOnly?: boolean;
}

const S = "string" as const;
const f = (json: string, type: ColType = S, extra: Partial<Field> = {}): Field => ({ json, type, ...extra });

const SESSION_ISSUER = { struct: [f("type"), f("principalId"), f("arn"), f("accountId"), f("userName")] };

export const USER_IDENTITY: Field = f("userIdentity", {
  struct: [
    f("type"),
    f("principalId"),
    f("arn"),
    f("accountId"),
    f("invokedBy"),
    f("accessKeyId"),
    f("userName"),
    f("identityProvider", S, { trailhoundOnly: true }),
    f("onBehalfOf", { struct: [f("userId"), f("identityStoreArn")] }),
    f("sessionContext", {
      struct: [
        f("attributes", { struct: [f("mfaAuthenticated"), f("creationDate")] }),
        f("sessionIssuer", SESSION_ISSUER),
        f("ec2RoleDelivery"),
        f("sourceIdentity", S, { trailhoundOnly: true }),
        f("webIdFederationData", { struct: [f("federatedProvider"), f("attributes", { map: [S, S] })] }),
      ],
    }),
  ],
});

/** Columns of the standard CloudTrail table, in AWS's order (plus trailhound's few additions). */
export const CLOUDTRAIL_COLUMNS: readonly Field[] = [
  f("eventVersion"),
  USER_IDENTITY,
  f("eventTime"),
  f("eventSource"),
  f("eventName"),
  f("awsRegion"),
  f("sourceIPAddress"),
  f("userAgent"),
  f("errorCode"),
  f("errorMessage"),
  f("requestParameters", S, { jsonText: true }),
  f("responseElements", S, { jsonText: true }),
  f("additionalEventData", S, { jsonText: true }),
  f("requestID"),
  f("eventID"),
  f("readOnly", S, { bool: true }),
  f("resources", { array: { struct: [f("ARN"), f("accountId"), f("type")] } }),
  f("eventType"),
  f("apiVersion"),
  f("managementEvent", S, { bool: true, trailhoundOnly: true }),
  f("recipientAccountId"),
  f("serviceEventDetails", S, { jsonText: true }),
  f("sharedEventID"),
  f("vpcEndpointId"),
  f("vpcEndpointAccountId"),
  f("eventCategory"),
  f("addendum", { struct: [f("reason"), f("updatedFields"), f("originalRequestID"), f("originalEventID")] }),
  f("sessionCredentialFromConsole"),
  f("edgeDeviceDetails", S, { jsonText: true }),
  f("tlsDetails", { struct: [f("tlsVersion"), f("cipherSuite"), f("clientProvidedHostHeader")] }),
];

/** Partition columns (projected): account, region, day `yyyy/MM/dd`. */
export const PARTITION_COLUMNS = ["account", "region", "timestamp"] as const;

/**
 * Which table the queries run against: "trailhound" (created by `trailhound athena ddl`, the
 * default) or "aws" (created from AWS's documented DDL: no `useridentity.identityprovider`,
 * `managementevent`, `sessioncontext.sourceidentity`). With "aws", SAML and web-identity users are
 * keyed on their principalId prefix instead of `identityProvider` (see sql.ts).
 */
export type TableFlavor = "trailhound" | "aws";

export function columnsFor(flavor: TableFlavor): Field[] {
  if (flavor === "trailhound") return [...CLOUDTRAIL_COLUMNS];
  const strip = (fl: Field): Field | undefined => {
    if (fl.trailhoundOnly) return undefined;
    return { ...fl, type: stripType(fl.type) };
  };
  const stripType = (t: ColType): ColType => {
    if (t === "string") return t;
    if ("struct" in t) return { struct: t.struct.map(strip).filter((x): x is Field => x !== undefined) };
    if ("array" in t) return { array: stripType(t.array) };
    return t;
  };
  return CLOUDTRAIL_COLUMNS.map(strip).filter((x): x is Field => x !== undefined);
}

export const col = (fl: Field): string => fl.json.toLowerCase();

/** Hive type text for the DDL: `STRUCT<type:STRING, ...>`. */
export function hiveType(t: ColType, indent = "  "): string {
  if (t === "string") return "STRING";
  if ("array" in t) return `ARRAY<${hiveType(t.array, indent)}>`;
  if ("map" in t) return `MAP<${hiveType(t.map[0], indent)}, ${hiveType(t.map[1], indent)}>`;
  const inner = indent + "  ";
  return `STRUCT<\n${t.struct.map((x) => `${inner}${col(x)}: ${hiveType(x.type, inner)}`).join(",\n")}>`;
}

/** DuckDB type text (tests load fixtures into DuckDB with the same layout). */
export function duckdbType(t: ColType): string {
  if (t === "string") return "VARCHAR";
  if ("array" in t) return `${duckdbType(t.array)}[]`;
  if ("map" in t) return `MAP(${duckdbType(t.map[0])}, ${duckdbType(t.map[1])})`;
  return `STRUCT(${t.struct.map((x) => `"${col(x)}" ${duckdbType(x.type)}`).join(", ")})`;
}

// ---------------------------------------------------------------------------------------------
// DDL

export interface AthenaDdlOptions {
  /** `s3://bucket/prefix` where the trail delivers (the part before `AWSLogs/`). */
  location: string;
  /** Organisation trail id (`o-xxxxxxxxxx`): logs are under `AWSLogs/<org>/<account>/`. */
  orgId?: string;
  /** Accounts to project (enum). Required: Athena needs the values to build partitions. */
  accounts: readonly string[];
  /** Regions to project; default: every commercial region. */
  regions?: readonly string[];
  database?: string;
  /** Default `cloudtrail_logs`. */
  table?: string;
  /** First day of the projected date range, `yyyy/MM/dd` (default 2020/01/01). */
  since?: string;
  flavor?: TableFlavor;
}

export class AthenaConfigError extends Error {
  override readonly name = "AthenaConfigError";
  readonly code = "invalid-argument";
}

const IDENT = /^[a-z_][a-z0-9_]{0,254}$/;
export const ACCOUNT_ID = /^\d{12}$/;
export const ORG_ID = /^o-[a-z0-9]{10,32}$/;

/** `s3://bucket/some/prefix` -> { bucket, prefix: "some/prefix/" } (prefix "" or ending in "/"). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url.trim());
  if (!m) throw new AthenaConfigError(`${url}: expected s3://bucket or s3://bucket/prefix (bucket names are 3-63 lowercase letters, digits, dots, hyphens)`);
  let prefix = (m[2] ?? "").replace(/^\/+/, "");
  if (prefix && !prefix.endsWith("/")) prefix += "/";
  return { bucket: m[1]!, prefix };
}

function sqlIdent(name: string, what: string): string {
  if (!IDENT.test(name)) throw new AthenaConfigError(`${what} "${name}": use lowercase letters, digits and underscores`);
  return name;
}

/**
 * CREATE EXTERNAL TABLE for the CloudTrail delivery layout with partition projection on account,
 * region and day, after AWS's documented CloudTrail table (Hive JSON SerDe over
 * CloudTrailInputFormat). Digest and Insights files live under `CloudTrail-Digest/` and
 * `CloudTrail-Insight/`, outside the location template, so they are never read.
 */
export function athenaDdl(o: AthenaDdlOptions): string {
  const { bucket, prefix } = parseS3Url(o.location);
  let base = prefix;
  // Accept a location that already ends in AWSLogs/ (or AWSLogs/<org>/).
  const idx = base.indexOf("AWSLogs/");
  let org = o.orgId;
  if (idx >= 0) {
    const rest = base
      .slice(idx + "AWSLogs/".length)
      .split("/")
      .filter(Boolean);
    if (rest[0] && ORG_ID.test(rest[0])) org ??= rest[0];
    base = base.slice(0, idx);
  }
  if (org !== undefined && !ORG_ID.test(org)) throw new AthenaConfigError(`organisation id "${org}": expected o- followed by 10-32 lowercase letters or digits`);
  if (!o.accounts.length) throw new AthenaConfigError("at least one account id is needed for partition projection (--accounts 111111111111,222222222222)");
  for (const a of o.accounts) if (!ACCOUNT_ID.test(a)) throw new AthenaConfigError(`account id "${a}": expected 12 digits`);
  const regions = o.regions?.length ? o.regions : COMMERCIAL_REGIONS;
  for (const r of regions) if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(r)) throw new AthenaConfigError(`region "${r}" is not a region name`);
  const since = o.since ?? "2020/01/01";
  if (!/^\d{4}\/\d{2}\/\d{2}$/.test(since)) throw new AthenaConfigError(`since "${since}": expected yyyy/MM/dd`);
  const table = sqlIdent(o.table ?? "cloudtrail_logs", "table");
  const qualified = o.database ? `${sqlIdent(o.database, "database")}.${table}` : table;
  const root = `s3://${bucket}/${base}AWSLogs/${org ? org + "/" : ""}`;
  const cols = columnsFor(o.flavor ?? "trailhound");
  return (
    [
      `CREATE EXTERNAL TABLE IF NOT EXISTS ${qualified} (`,
      cols.map((c) => `  ${col(c)} ${hiveType(c.type, "  ")}`).join(",\n"),
      `)`,
      `PARTITIONED BY (account string, region string, \`timestamp\` string)`,
      `ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'`,
      `STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'`,
      `OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'`,
      `LOCATION '${root}'`,
      `TBLPROPERTIES (`,
      `  'projection.enabled'='true',`,
      `  'projection.account.type'='enum',`,
      `  'projection.account.values'='${o.accounts.join(",")}',`,
      `  'projection.region.type'='enum',`,
      `  'projection.region.values'='${regions.join(",")}',`,
      `  'projection.timestamp.type'='date',`,
      `  'projection.timestamp.format'='yyyy/MM/dd',`,
      `  'projection.timestamp.range'='${since},NOW',`,
      `  'projection.timestamp.interval'='1',`,
      `  'projection.timestamp.interval.unit'='DAYS',`,
      `  'storage.location.template'='${root}\${account}/CloudTrail/\${region}/\${timestamp}'`,
      `)`,
    ].join("\n") + ";\n"
  );
}
