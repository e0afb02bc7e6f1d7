/**
 * The Trino SQL that trailhound sends to Athena. Every expression here mirrors a function of the
 * in-process core, so that Athena's aggregates are the core's aggregates:
 *
 * | SQL                | core (src/events/normalize.ts, src/ingest/accumulator.ts)            |
 * |--------------------|---------------------------------------------------------------------|
 * | `identSql`         | `principalOf(...).key`                                              |
 * | `sessionSql`       | `principalOf(...).sessionName`                                      |
 * | `apiNameSql`       | `normalizeEventName` (same suffix pattern)                          |
 * | `serviceSql`       | `serviceOf`                                                         |
 * | `uaFamilySql`      | `userAgentFamily`                                                   |
 * | `ipLiteralSql`     | `classifySourceIp(ip)` is "public" or "private"                     |
 * | `deniedSql`        | `isDeniedCode` + failed console logins                              |
 * | `READ_NAME`        | `isReadName`                                                        |
 * | `personSql`        | `personOf` / `personKey` (one baseline per person on shared roles)  |
 * | `targetCtes`       | `targetsOf` (secrets and parameters read: the `target` dimension)    |
 *
 * The DuckDB equivalence test (test/athena/sql-equivalence.test.ts) runs this exact text over the
 * fixtures and compares it with `runScan`, and unit tests compare each expression with its JS twin
 * on edge cases; change both sides together.
 */
import { DEFAULT_BASELINE_CONFIG, type Dim } from "../baseline/profile.js";
import { EMAIL, FIRST_LAST, MACHINE_SESSION, OFFENSIVE_UA } from "../events/normalize.js";
import { TARGET_CALLS } from "../events/targets.js";
import { BUCKET_MS } from "../ingest/accumulator.js";
import { columnsFor, col, type TableFlavor } from "./schema.js";
import type { ScanFilters } from "../events/types.js";
import { DENIED_CODES } from "../events/normalize.js";

const DAY = 86_400_000;

export interface TableRef {
  /** Glue database; omitted: the query context's database. */
  database?: string;
  table: string;
  /** Default "trailhound" (see schema.ts). */
  flavor?: TableFlavor;
}

/** Partition pruning beyond the days: the accounts and regions to read (default all projected). */
export interface Scope {
  accounts?: readonly string[];
  regions?: readonly string[];
}

/** A string literal. */
export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A JS regex source to a Trino regex: `^`/`$` become `\A`/`\z` (text anchors in every engine). */
export function re(source: string, caseInsensitive = false): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "\\") {
      out += c + (source[i + 1] ?? "");
      i++;
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    if (!inClass && c === "^") out += "\\A";
    else if (!inClass && c === "$") out += "\\z";
    else out += c;
  }
  return lit((caseInsensitive ? "(?i)" : "") + out);
}

function tableName(t: TableRef): string {
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return t.database ? `${q(t.database)}.${q(t.table)}` : q(t.table);
}

/** `yyyy/MM/dd` of an epoch-ms time (UTC). */
export function dayPartition(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replace(/-/g, "/");
}

/**
 * Partition predicate for events with times in [from, to]: the days from `from` to the day after
 * `to`, since CloudTrail delivers a file after its events (a 23:58 event can sit in the next day's
 * folder), never before.
 */
export function partitionSql(from: number, to: number, scope: Scope = {}): string {
  const parts = [`"timestamp" BETWEEN ${lit(dayPartition(from))} AND ${lit(dayPartition(to + DAY))}`];
  if (scope.accounts?.length) parts.push(`account IN (${scope.accounts.map(lit).join(", ")})`);
  if (scope.regions?.length) parts.push(`region IN (${scope.regions.map(lit).join(", ")})`);
  return parts.join(" AND ");
}

/**
 * floor(x / d) for x >= 0 in exact integer arithmetic. Not `x / 3600000.0`: in Trino that literal
 * is a DECIMAL(8,1), and decimal division rounds the quotient to one decimal place (the last
 * 3 minutes of an hour would land in the next one). `x - x % d` is divisible by d, so the division
 * is exact both where it is integer division (Trino) and where it is a double (DuckDB).
 */
function intDiv(x: string, d: number): string {
  return `CAST((${x} - ${x} % ${d}) / ${d} AS bigint)`;
}

/** Epoch milliseconds of `eventtime`, NULL when it is not an ISO 8601 time. */
export const T_MS = "CAST(to_unixtime(try(from_iso8601_timestamp(eventtime))) * 1000 AS bigint)";

/** `normalizeEventName`: strip API-version suffixes, keep the name when nothing would be left. */
export function apiNameSql(name: string): string {
  return `coalesce(nullif(regexp_replace(${name}, ${re(/(\d{8}(v\d+)?|\d{4}_\d{2}_\d{2})$/.source)}, ''), ''), ${name})`;
}

/** `serviceOf`: `iam.amazonaws.com` -> `iam`. */
export function serviceSql(src: string): string {
  const pos = `strpos(${src}, '.amazonaws.com')`;
  return `CASE WHEN ${pos} > 1 THEN substr(${src}, 1, ${pos} - 1) ELSE ${src} END`;
}

/** Text after the last `/` (all of it when there is none); NULL stays NULL. */
function afterLastSlash(x: string): string {
  return `reverse(split_part(reverse(${x}), '/', 1))`;
}

/** Valid IPv4 octet text as `parseIPv4` accepts it from CloudTrail: 1-3 digits, at most 255. */
const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|0\\d\\d|\\d\\d|\\d)";
const IPV4 = `\\A${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}\\z`;

/** `classifySourceIp(ip)` is "public" or "private": an IPv4 or IPv6 literal. */
export function ipLiteralSql(ip: string): string {
  const v6 = `(strpos(${ip}, ':') > 0 AND regexp_like(${ip}, '\\A[0-9a-fA-F:.]+\\z'))`;
  const mapped = `regexp_like(lower(${ip}), '\\A::ffff:\\d+\\.\\d+\\.\\d+\\.\\d+\\z')`;
  const mappedOk = `regexp_like(substr(${ip}, 8), ${lit(IPV4)})`;
  return `(regexp_like(${ip}, ${lit(IPV4)}) OR (${v6} AND (NOT ${mapped} OR ${mappedOk})))`;
}

/** `userAgentFamily` (docs/CLOUDTRAIL.md section 3), on the raw `useragent` column. */
export function uaFamilySql(raw: string): string {
  // Two replaces: DuckDB's regexp_replace replaces the first match only.
  const t = `regexp_replace(regexp_replace(${raw}, '\\A\\s+', ''), '\\s+\\z', '')`;
  // Strip one pair of surrounding brackets (S3 events).
  const u = `(CASE WHEN length(${t}) >= 2 AND substr(${t}, 1, 1) = '[' AND substr(${t}, length(${t}), 1) = ']' THEN substr(${t}, 2, length(${t}) - 2) ELSE ${t} END)`;
  const like = (src: string, ci = false) => `regexp_like(${u}, ${re(src, ci)})`;
  const extract = (src: string, ci = false) => `regexp_extract(${u}, ${re(src, ci)}, 1)`;
  return [
    `CASE`,
    `WHEN ${raw} IS NULL OR ${raw} = '' THEN 'none'`,
    `WHEN ${like(OFFENSIVE_UA.source, true)} THEN 'offensive:' || lower(${extract(OFFENSIVE_UA.source, true)})`,
    `WHEN ${like("HashiCorp|Terraform/")} THEN 'terraform'`,
    `WHEN ${like("^aws-cli/(\\d)")} THEN 'aws-cli/' || ${extract("^aws-cli/(\\d)")}`,
    `WHEN ${like("Boto3/|[Bb]otocore/")} THEN 'python'`,
    `WHEN ${like("^aws-sdk-(go-v2|go|java|js|nodejs|ruby|dotnet|php|rust|cpp|kotlin|swift)")} THEN 'aws-sdk-' || ${extract("^aws-sdk-(go-v2|go|java|js|nodejs|ruby|dotnet|php|rust|cpp|kotlin|swift)")}`,
    `WHEN ${like("^aws-sdk-java|^aws-sdk-js", true)} THEN 'aws-sdk'`,
    `WHEN ${like("^Mozilla/")} THEN 'browser'`,
    `WHEN ${like("^(console|signin|console\\.ec2)\\.amazonaws\\.com$|S3Console/|RDS Console|aws-internal/")} THEN 'console'`,
    `WHEN ${like("^AWS Internal$")} THEN 'internal'`,
    `WHEN ${like("\\.amazonaws\\.com$")} THEN 'aws-service'`,
    `WHEN ${like("amazon-ssm-agent")} THEN 'ssm-agent'`,
    `WHEN ${like("^(curl|Wget|python-requests|Go-http-client|okhttp|PostmanRuntime|insomnia)", true)} THEN 'http-client:' || lower(${extract("^([A-Za-z-]+)")})`,
    `WHEN ${like("^aws-", true)} THEN 'aws-tool'`,
    `WHEN ${like("^([A-Za-z][A-Za-z0-9.-]{0,30})")} THEN 'other:' || lower(${extract("^([A-Za-z][A-Za-z0-9.-]{0,30})")})`,
    `ELSE 'other' END`,
  ].join("\n      ");
}

/** Error codes `isDeniedCode` treats as authorisation failures (one list for both). */
export { DENIED_CODES };

/** `isReadName`: read-only API names by prefix. */
export const READ_NAME = "^(List|Describe|Get|Head|Search|Scan|Query|Lookup|BatchGet|Select)";

// ---------------------------------------------------------------------------------------------
// The event relation: one row per usable record, with the core's derived keys.

interface EventsOpts {
  table: TableRef;
  scope?: Scope;
  /** Inclusive lower bound (ms). */
  from: number;
  /** Upper bound (ms): exclusive unless `toInclusive`. */
  to: number;
  toInclusive?: boolean;
  /** Events at or after this time get an `hour_n` (for the recent hourly history). */
  hourlyFrom?: number;
}

/**
 * `personOf(role, session, sourceIdentity)`: the person a shared role's session belongs to
 * (lower-cased), NULL when it names none. `role` is NULL for principals that are not sessions.
 */
export function personSql(role: string, session: string, sourceIdentity: string): string {
  return [
    `CASE`,
    `WHEN ${role} IS NULL THEN NULL`,
    `WHEN ${sourceIdentity} IS NOT NULL AND length(${sourceIdentity}) <= 256 THEN lower(${sourceIdentity})`,
    `WHEN ${session} IS NULL OR length(${session}) > 128 OR regexp_like(${session}, ${re(MACHINE_SESSION.source)}) THEN NULL`,
    `WHEN regexp_like(${session}, ${re(EMAIL.source)}) OR regexp_like(${session}, ${re(FIRST_LAST.source)}) THEN lower(${session})`,
    `WHEN strpos(${role}, 'AWSReservedSSO_') = 1 THEN lower(${session})`,
    `END`,
  ].join("\n      ");
}

/**
 * CTEs `<p>0` to `<p>3`: the records of the range that `normalizeRecord` accepts, with identity
 * key, API key, dimensions, failure flags, time keys and (`<p>3`) the person's baseline key.
 */
function eventCtes(p: string, o: EventsOpts): string[] {
  const flavor = o.table.flavor ?? "trailhound";
  const hasIdp = flavor === "trailhound";
  const n = (x: string) => `nullif(${x}, '')`;
  const e0 = [
    `SELECT`,
    `    ${T_MS} AS t_ms,`,
    `    eventid, eventname, eventsource,`,
    `    coalesce(awsregion, 'unknown') AS region_v,`,
    `    sourceipaddress AS ip_raw, useragent AS ua_raw,`,
    `    ${n("errorcode")} AS err_code, errormessage, responseelements, requestparameters,`,
    `    ${n("useridentity.type")} AS ui_type,`,
    `    ${n("useridentity.arn")} AS ui_arn,`,
    `    ${n("useridentity.accountid")} AS ui_acct,`,
    `    ${n("useridentity.username")} AS ui_user,`,
    `    ${n("useridentity.principalid")} AS ui_pid,`,
    `    ${n("useridentity.invokedby")} AS ui_inv,`,
    `    ${n("useridentity.sessioncontext.sessionissuer.username")} AS si_user,`,
    `    ${n("useridentity.sessioncontext.sessionissuer.accountid")} AS si_acct,`,
    `    ${n("useridentity.onbehalfof.userid")} AS obo_user,`,
    `    ${n("useridentity.onbehalfof.identitystorearn")} AS obo_store,`,
    // AWS's DDL has no identityprovider: SAML and web-identity principalIds start with it.
    hasIdp ? `    ${n("useridentity.identityprovider")} AS ui_idp,` : `    ${n(`split_part(${n("useridentity.principalid")}, ':', 1)`)} AS ui_idp,`,
    // AWS's DDL has no sourceidentity: persons are then named by their session names only.
    hasIdp ? `    ${n("useridentity.sessioncontext.sourceidentity")} AS si_src,` : `    CAST(NULL AS varchar) AS si_src,`,
    `    ${n("recipientaccountid")} AS recipient`,
    `  FROM ${tableName(o.table)}`,
    `  WHERE ${partitionSql(o.from, o.to, o.scope)}`,
    `    AND useridentity IS NOT NULL AND eventid <> '' AND eventname <> '' AND eventsource <> ''`,
  ].join("\n  ");
  const e1 = [
    `SELECT *,`,
    `    coalesce(ui_type, CASE WHEN ui_inv IS NOT NULL THEN 'AWSService' ELSE 'Unknown' END) AS p_type,`,
    `    coalesce(ui_acct, ${n("split_part(ui_arn, ':', 5)")}, recipient) AS p_acct,`,
    `    ${afterLastSlash("ui_arn")} AS arn_tail,`,
    `    CASE WHEN strpos(ui_arn, ':assumed-role/') > 0 THEN substr(ui_arn, strpos(ui_arn, ':assumed-role/') + 14) END AS ar_rest,`,
    `    ${apiNameSql("eventname")} AS name_n,`,
    `    ${serviceSql("eventsource")} AS svc`,
    `  FROM ${p}0`,
    `  WHERE t_ms >= ${o.from} AND t_ms ${o.toInclusive ? "<=" : "<"} ${o.to}`,
  ].join("\n  ");
  const acct = "coalesce(p_acct, 'unknown')";
  // `principalOf`: the role of an assumed-role session, the user name of a federated one.
  const roleName = "coalesce(si_user, CASE WHEN ar_rest IS NOT NULL THEN split_part(ar_rest, '/', 1) END, split_part(ui_pid, ':', 1), 'unknown')";
  const ident = [
    `CASE p_type`,
    `      WHEN 'IAMUser' THEN 'user:' || ${acct} || ':' || coalesce(ui_user, arn_tail, ui_pid, 'unknown')`,
    `      WHEN 'Root' THEN 'root:' || ${acct}`,
    `      WHEN 'AssumedRole' THEN 'role:' || coalesce(si_acct, p_acct, 'unknown') || ':' || ${roleName}`,
    `      WHEN 'FederatedUser' THEN 'federated:' || ${acct} || ':' || coalesce(si_user, arn_tail, 'unknown')`,
    `      WHEN 'AWSService' THEN 'service:' || coalesce(ui_inv, ui_pid, 'unknown')`,
    `      WHEN 'AWSAccount' THEN 'account:' || coalesce(p_acct, ui_pid, 'unknown')`,
    `      WHEN 'IdentityCenterUser' THEN 'idc:' || coalesce(${afterLastSlash("obo_store")}, 'unknown') || ':' || coalesce(obo_user, ui_user, 'unknown')`,
    `      WHEN 'SAMLUser' THEN 'saml:' || coalesce(ui_idp, 'unknown') || ':' || coalesce(ui_user, ui_pid, 'unknown')`,
    `      WHEN 'WebIdentityUser' THEN 'web:' || coalesce(ui_idp, 'unknown') || ':' || coalesce(ui_user, ui_pid, 'unknown')`,
    `      ELSE lower(p_type) || ':' || ${acct} || ':' || coalesce(ui_user, ui_pid, 'unknown')`,
    `    END`,
  ].join("\n");
  const session = [
    `CASE p_type`,
    `      WHEN 'AssumedRole' THEN nullif(coalesce(CASE WHEN strpos(ar_rest, '/') > 0 THEN substr(ar_rest, strpos(ar_rest, '/') + 1) END, CASE WHEN strpos(ui_pid, ':') > 0 THEN substr(ui_pid, strpos(ui_pid, ':') + 1) END), '')`,
    `      WHEN 'FederatedUser' THEN nullif(arn_tail, '')`,
    `    END`,
  ].join("\n");
  const consoleFail = `(name_n = 'ConsoleLogin' AND coalesce(try(json_extract_scalar(responseelements, '$.ConsoleLogin')), '') = 'Failure')`;
  const denied =
    `(${consoleFail} OR (err_code IS NOT NULL AND (err_code IN (${DENIED_CODES.map(lit).join(", ")})` +
    ` OR err_code LIKE '%UnauthorizedOperation' OR err_code LIKE 'AccessDenied%'` +
    ` OR strpos(coalesce(errormessage, ''), 'is not authorized to perform') > 0)))`;
  const hourly = o.hourlyFrom !== undefined ? `CASE WHEN t_ms >= ${o.hourlyFrom} THEN ${intDiv("t_ms", 3_600_000)} END` : "CAST(NULL AS bigint)";
  const e2 = [
    `SELECT`,
    `    ${ident} AS ident,`,
    `    eventid, p_type, t_ms,`,
    `    svc || ':' || name_n AS d_api,`,
    `    svc AS d_service,`,
    `    region_v AS d_region,`,
    `    CASE WHEN ui_inv IS NULL AND ${ipLiteralSql("ip_raw")} THEN ip_raw END AS d_ip,`,
    `    CASE WHEN ui_inv IS NULL THEN ${uaFamilySql("ua_raw")} END AS d_ua,`,
    `    ${session} AS d_session,`,
    `    err_code AS d_err,`,
    `    CASE WHEN name_n IN ('AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity') THEN nullif(try(json_extract_scalar(requestparameters, '$.roleArn')), '') END AS d_role,`,
    `    CASE WHEN name_n = 'RunInstances' THEN nullif(try(json_extract_scalar(requestparameters, '$.instanceType')), '') END AS d_itype,`,
    `    (err_code IS NOT NULL OR ${consoleFail}) AS failed,`,
    `    ${denied} AS denied,`,
    `    regexp_like(name_n, ${re(READ_NAME)}) AS is_read,`,
    `    ${intDiv("t_ms", 3_600_000)} % 24 AS hod,`,
    `    (${intDiv("t_ms", DAY)} + 4) % 7 AS dow,`,
    `    ${intDiv("t_ms", DAY)} AS day_n,`,
    `    ${hourly} AS hour_n,`,
    // Read breadth: only buckets with read-only calls count (as IdentityAcc's history does).
    `    CASE WHEN regexp_like(name_n, ${re(READ_NAME)}) THEN t_ms - t_ms % ${BUCKET_MS} END AS bucket,`,
    // For the person (personOf) and the read targets (targetsOf) below.
    `    CASE p_type WHEN 'AssumedRole' THEN ${roleName} WHEN 'FederatedUser' THEN coalesce(si_user, arn_tail, 'unknown') END AS who_role,`,
    `    si_src,`,
    `    CASE WHEN name_n IN (${[...TARGET_CALLS].map(lit).join(", ")}) THEN name_n END AS t_call,`,
    `    CASE WHEN name_n IN (${[...TARGET_CALLS].map(lit).join(", ")}) THEN requestparameters END AS t_params`,
    `  FROM ${p}1`,
  ].join("\n  ");
  const e3 = [
    `SELECT *,`,
    `    CASE WHEN person IS NOT NULL THEN 'person:' || substr(ident, strpos(ident, ':') + 1) || ':' || person END AS person_key`,
    `  FROM (SELECT *, ${personSql("who_role", "d_session", "si_src")} AS person FROM ${p}2) x`,
  ].join("\n  ");
  return [`${p}0 AS (\n  ${e0}\n)`, `${p}1 AS (\n  ${e1}\n)`, `${p}2 AS (\n  ${e2}\n)`, `${p}3 AS (\n  ${e3}\n)`];
}

/**
 * Every usable event of a range with what trailhound derives from it (identity key, API key,
 * dimensions, failure flags): for tests and for looking at what the aggregates are made of.
 */
export function eventRowsQuery(o: { table: TableRef; scope?: Scope; from: number; to: number }): string {
  return `WITH ${eventCtes("b", { ...o, toInclusive: true }).join(",\n")}\nSELECT * FROM b3`;
}

// ---------------------------------------------------------------------------------------------
// Query 1: baseline marginals per identity

/** Dimensions computed in SQL (network and country come from the IPs and the geo resolver). */
export const SQL_DIMS = ["api", "service", "region", "ip", "ua", "session", "errorCode", "assumedRole", "instanceType"] as const satisfies readonly Dim[];
const DIM_COLUMN: Record<(typeof SQL_DIMS)[number], string> = {
  api: "d_api",
  service: "d_service",
  region: "d_region",
  ip: "d_ip",
  ua: "d_ua",
  session: "d_session",
  errorCode: "d_err",
  assumedRole: "d_role",
  instanceType: "d_itype",
};
/** Per-identity time marginals: hour of day, weekday, day, recent hour index, 10-minute bucket with reads. */
const TIME_SETS: Record<string, string> = { hod: "hod", dow: "dow", day: "day_n", hour: "hour_n", bucket: "bucket" };

export interface BaselineQueryOptions {
  table: TableRef;
  scope?: Scope;
  /** Baseline range [from, to): usually [window start - horizon, window start). */
  from: number;
  to: number;
  /** Hours at or after this time come back one by one (hourly history). */
  hourlyFrom: number;
  /** Values kept per identity and dimension (the profile caps). */
  caps?: Partial<Record<Dim, number>>;
  /** IPs returned per identity when more than the cap are wanted (for geo-derived dimensions). */
  ipRows?: number;
  /**
   * Only identities active in this range (the detection window): the scan needs no other
   * baseline, and it keeps the result small. Costs a second, small scan of the window's days.
   */
  onlyActiveIn?: { from: number; to: number };
}

/**
 * One pass over the baseline range, one GROUPING SETS aggregation: per identity the totals, each
 * dimension's values (count, errors, first, last; the top values up to the caps), the activity by
 * hour of day, weekday, day and recent hour, and the read breadth: the most distinct read-only
 * APIs in one 10-minute bucket, and the number of buckets with read-only calls.
 *
 * Result columns: ident, dim, value, n, err, den, first_ms, last_ms, p_type, breadth_max,
 * breadth_buckets. `dim` is a profile dimension (`target` included), or `total` (one row per
 * identity, with the breadth), `hod`, `dow`, `day`, `hour`. Identities include the people on
 * shared roles (`person:<account>:<role>:<person>`), whose rows are built from their sessions'
 * events exactly like a role's.
 */
export function baselineQuery(o: BaselineQueryOptions): string {
  const caps = { ...DEFAULT_BASELINE_CONFIG.caps, ...o.caps };
  const ctes = eventCtes("b", { table: o.table, from: o.from, to: o.to, hourlyFrom: o.hourlyFrom, ...(o.scope ? { scope: o.scope } : {}) });
  // Every event counts for its identity and, on a shared role, once more for the person behind the
  // session (`person:<account>:<role>:<person>`, as the ingest's person accumulators do).
  const cols = ["p_type", "t_ms", ...SQL_DIMS.map((d) => DIM_COLUMN[d]), "failed", "denied", "is_read", "hod", "dow", "day_n", "hour_n", "bucket", "t_call", "t_params"];
  ctes.push(
    [
      `bk AS (`,
      `  SELECT CASE WHEN k.copy = 0 THEN ident ELSE person_key END AS ident, ${cols.join(", ")}`,
      `  FROM b3 CROSS JOIN (VALUES (0), (1)) AS k(copy)`,
      `  WHERE k.copy = 0 OR person_key IS NOT NULL`,
      `)`,
    ].join("\n"),
  );
  let src = "bk";
  if (o.onlyActiveIn) {
    ctes.push(...eventCtes("w", { table: o.table, from: o.onlyActiveIn.from, to: o.onlyActiveIn.to, toInclusive: true, ...(o.scope ? { scope: o.scope } : {}) }));
    ctes.push(`ev AS (\n  SELECT * FROM bk WHERE ident IN (SELECT ident FROM w3 UNION SELECT person_key FROM w3 WHERE person_key IS NOT NULL)\n)`);
    src = "ev";
  }
  ctes.push(...targetCtes(src));
  const sets: Array<[string, string]> = [...SQL_DIMS.map((d) => [d, DIM_COLUMN[d]] as [string, string]), ...Object.entries(TIME_SETS)];
  const dimCase = sets.map(([d, c]) => `WHEN grouping(${c}) = 0 THEN '${d}'`).join(" ");
  const valueCase = sets.map(([, c]) => `WHEN grouping(${c}) = 0 THEN ${c.startsWith("d_") ? c : `CAST(${c} AS varchar)`}`).join("\n      ");
  const g = [
    `SELECT ident,`,
    `    CASE ${dimCase} ELSE 'total' END AS dim,`,
    `    CASE\n      ${valueCase}\n    END AS value,`,
    `    count(*) AS n,`,
    `    sum(CASE WHEN failed THEN 1 ELSE 0 END) AS err,`,
    `    sum(CASE WHEN denied THEN 1 ELSE 0 END) AS den,`,
    `    min(t_ms) AS first_ms,`,
    `    max(t_ms) AS last_ms,`,
    `    count(DISTINCT CASE WHEN is_read THEN d_api END) AS reads,`,
    `    min(p_type) AS p_type`,
    `  FROM ${src}`,
    `  GROUP BY GROUPING SETS ((ident), ${sets.map(([, c]) => `(ident, ${c})`).join(", ")})`,
    // The targets (several per call): aggregated apart, as rows of the same shape.
    `  UNION ALL`,
    `  SELECT ident, 'target' AS dim, d_target AS value, count(*) AS n, sum(CASE WHEN failed THEN 1 ELSE 0 END) AS err, 0 AS den,`,
    `    min(t_ms) AS first_ms, max(t_ms) AS last_ms, 0 AS reads, CAST(NULL AS varchar) AS p_type`,
    `  FROM tt`,
    `  GROUP BY ident, d_target`,
  ].join("\n  ");
  ctes.push(`g AS (\n  ${g}\n)`);
  const capOf = (d: Dim) => (d === "ip" ? Math.max(caps.ip, o.ipRows ?? 0) : caps[d]);
  const capCase = `CASE dim ${[...SQL_DIMS, "target" as const].map((d) => `WHEN '${d}' THEN ${capOf(d)}`).join(" ")} ELSE 2147483647 END`;
  const ranked = [
    `SELECT ident, dim, value, n, err, den, first_ms, last_ms, p_type,`,
    `    max(CASE WHEN dim = 'bucket' THEN reads END) OVER (PARTITION BY ident) AS breadth_max,`,
    `    sum(CASE WHEN dim = 'bucket' THEN 1 ELSE 0 END) OVER (PARTITION BY ident) AS breadth_buckets,`,
    `    row_number() OVER (PARTITION BY ident, dim ORDER BY n DESC, last_ms DESC, value) AS rn`,
    `  FROM g`,
    `  WHERE value IS NOT NULL OR dim = 'total'`,
  ].join("\n  ");
  return [
    `WITH ${ctes.join(",\n")}`,
    `SELECT ident, dim, value, n, err, den, first_ms, last_ms, p_type,`,
    `  CASE WHEN dim = 'total' THEN breadth_max END AS breadth_max,`,
    `  CASE WHEN dim = 'total' THEN breadth_buckets END AS breadth_buckets`,
    `FROM (\n  ${ranked}\n) r`,
    `WHERE dim <> 'bucket' AND rn <= ${capCase}`,
  ].join("\n");
}

/**
 * Where `targetsOf` (src/events/targets.ts) finds a call's targets: the request parameter and the
 * kind of target it names. Each parameter may be a string or an array of strings; other JSON
 * values name nothing.
 */
export const TARGET_FIELDS: ReadonlyArray<readonly [call: string, param: string, kind: string]> = [
  ["GetSecretValue", "secretId", "secret"],
  ["BatchGetSecretValue", "secretIdList", "secret"],
  ["GetParameter", "name", "parameter"],
  ["GetParameter", "names", "parameter"],
  ["GetParameters", "name", "parameter"],
  ["GetParameters", "names", "parameter"],
  ["GetParametersByPath", "path", "parameter-path"],
];

/** Trino's `sequence` refuses more than 10,000 entries; no API takes arrays anywhere near that. */
const MAX_TARGETS_PER_PARAM = 10_000;

/**
 * CTEs `tf` to `tt`: one row per target read (the baseline's `target` dimension), from the
 * relation `src` (with `t_call` and `t_params`): `tt(ident, d_target, t_ms, failed)`.
 */
function targetCtes(src: string): string[] {
  const fields = TARGET_FIELDS.map(([c, f, k]) => `(${lit(c)}, ${lit(f)}, ${lit(k)})`).join(", ");
  const params = [...new Set(TARGET_FIELDS.map(([, f]) => f))].map((f) => `WHEN ${lit(f)} THEN try(json_extract(t_params, ${lit("$." + f)}))`).join(" ");
  const isStr = (j: string) => `substr(json_format(${j}), 1, 1) = '"'`;
  const isArr = (j: string) => `substr(json_format(${j}), 1, 1) = '['`;
  // secretName: an ARN's name without its 6-character random suffix; a name as it is.
  const afterSecret = `CASE WHEN strpos(s, ':secret:') > 0 THEN substr(s, strpos(s, ':secret:') + 8) ELSE reverse(split_part(reverse(s), ':', 1)) END`;
  const secret = `CASE WHEN substr(s, 1, 4) = 'arn:' THEN regexp_replace(${afterSecret}, ${re("-[A-Za-z0-9]{6}$")}, '') ELSE s END`;
  const value = `tkind || ':' || CASE tkind WHEN 'secret' THEN ${secret} WHEN 'parameter' THEN regexp_replace(s, ${re(":\\d+$")}, '') ELSE s END`;
  return [
    `tf AS (\n  SELECT ident, t_ms, failed, f.tkind, CASE f.tparam ${params} END AS fv\n  FROM ${src} CROSS JOIN (VALUES ${fields}) AS f(tcall, tparam, tkind)\n  WHERE t_call = f.tcall\n)`,
    `ta AS (\n  SELECT ident, t_ms, failed, tkind, fv, ${isArr("fv")} AS is_arr,\n    CASE WHEN ${isArr("fv")} THEN least(json_array_length(fv), ${MAX_TARGETS_PER_PARAM}) ELSE 1 END AS len\n  FROM tf\n  WHERE fv IS NOT NULL AND (${isStr("fv")} OR (${isArr("fv")} AND json_array_length(fv) > 0))\n)`,
    `te AS (\n  SELECT ident, t_ms, failed, tkind, CASE WHEN is_arr THEN json_extract(fv, '$[' || CAST(u.i AS varchar) || ']') ELSE fv END AS el\n  FROM ta CROSS JOIN UNNEST(sequence(0, CAST(len AS bigint) - 1)) AS u(i)\n)`,
    `tv AS (\n  SELECT ident, t_ms, failed, tkind, json_extract_scalar(el, '$') AS s\n  FROM te\n  WHERE ${isStr("el")}\n)`,
    `tt AS (\n  SELECT ident, ${value} AS d_target, t_ms, failed\n  FROM tv\n  WHERE s <> ''\n)`,
  ];
}

// ---------------------------------------------------------------------------------------------
// Query 2: the detection window's events, as full records

/** Struct and array columns come back as JSON text (a whole struct would print as `{type=...}`). */
export function windowEventsQuery(o: { table: TableRef; scope?: Scope; from: number; to: number; filters?: ScanFilters }): string {
  const cols = columnsFor(o.table.flavor ?? "trailhound").map((c) => {
    const name = col(c);
    return c.type === "string" ? name : `json_format(CAST(${name} AS JSON)) AS ${name}`;
  });
  const pushed = o.filters ? filterSql(o.filters) : [];
  return [
    `SELECT ${cols.join(", ")}`,
    `FROM (`,
    `  SELECT *, ${T_MS} AS t_ms`,
    `  FROM ${tableName(o.table)}`,
    `  WHERE ${partitionSql(o.from, o.to, o.scope)}`,
    ...pushed.map((c) => `    AND ${c}`),
    `) e`,
    `WHERE t_ms >= ${o.from} AND t_ms <= ${o.to}`,
  ].join("\n");
}

/** userIdentity fields (and the recipient) that the identity's names, ARNs and keys are made of. */
const IDENTITY_TEXT = [
  "useridentity.username",
  "useridentity.arn",
  "useridentity.principalid",
  "useridentity.accountid",
  "useridentity.invokedby",
  "useridentity.sessioncontext.sessionissuer.username",
  "useridentity.sessioncontext.sessionissuer.arn",
  "useridentity.onbehalfof.userid",
];

/**
 * A scan's filters as SQL conditions on the raw columns (pushed into the window query's WHERE):
 * never narrower than the scanner's own filter (src/ingest/ingest.ts `matches`), which still runs
 * on what comes back, so a condition may keep a few records the scanner then drops. Every value
 * is user-controlled and goes in as an escaped string literal (`lit`), compared with `=` or
 * `strpos` (no LIKE pattern, no regex).
 *
 * - user: a user, role, session or person name, an ARN or an identity key. The principal's names,
 *   ARN, session and key are all built from the userIdentity fields, so the value (or, for a key
 *   or ARN, its last `:` or `/` part) occurs in one of them. Root's name "root" also matches by type.
 * - account: the recipient, the caller's or the session issuer's account, or in the caller's ARN.
 * - ip, region: equal. eventName: the raw name starts with it (API-version suffixes are dropped).
 */
export function filterSql(f: ScanFilters): string[] {
  const out: string[] = [];
  if (f.user) {
    const u = f.user;
    const needles = new Set([u]);
    const afterColon = u.slice(u.lastIndexOf(":") + 1);
    const afterSlash = u.slice(u.lastIndexOf("/") + 1);
    if (afterColon) needles.add(afterColon);
    if (afterSlash) needles.add(afterSlash);
    const any = [...needles].flatMap((n) => IDENTITY_TEXT.map((c) => `strpos(${c}, ${lit(n)}) > 0`));
    if ([...needles].some((n) => n === "root" || /^\d{12}$/.test(n))) any.push(`useridentity.type = 'Root'`);
    out.push(`(${any.join(" OR ")})`);
  }
  if (f.account) {
    const a = lit(f.account);
    out.push(`(recipientaccountid = ${a} OR useridentity.accountid = ${a} OR useridentity.sessioncontext.sessionissuer.accountid = ${a} OR strpos(useridentity.arn, ${a}) > 0)`);
  }
  if (f.ip) out.push(`sourceipaddress = ${lit(f.ip)}`);
  if (f.region) out.push(`awsregion = ${lit(f.region)}`);
  if (f.eventName) out.push(`strpos(eventname, ${lit(f.eventName)}) = 1`);
  return out;
}
