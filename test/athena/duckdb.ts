/**
 * Test double of Athena: DuckDB with the CloudTrail table laid out as Athena's (same column names
 * and types: scalar strings, `useridentity` a STRUCT, JSON documents as strings, readOnly as a
 * string, partition columns account/region/timestamp), running trailhound's Trino SQL unchanged
 * (after the function-name macros of src/athena/dialect.ts).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import nock from "nock";
import { duckdbPrelude } from "../../src/athena/dialect.js";
import { columnsFor, col, duckdbType, type ColType, type TableFlavor } from "../../src/athena/schema.js";
import type { Row } from "../../src/athena/results.js";
import type { QueryRunner, QueryStats, RunQueryOptions } from "../../src/athena/client.js";
import { listInputFiles } from "../../src/sources/files.js";

export interface PlacedRecord {
  record: Record<string, unknown>;
  account: string;
  region: string;
  /** `yyyy/MM/dd`. */
  day: string;
}

/** What the Hive JSON SerDe makes of a JSON value for a column of type `t`. */
function serde(v: unknown, t: ColType, jsonText = false): unknown {
  if (v === undefined || v === null) return null;
  if (t === "string") {
    if (typeof v === "string") return v;
    if (jsonText || typeof v === "object") return JSON.stringify(v);
    return String(v);
  }
  if ("array" in t) return Array.isArray(v) ? v.map((x) => serde(x, t.array)) : null;
  if ("map" in t) {
    if (typeof v !== "object" || Array.isArray(v)) return null;
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, serde(x, t.map[1])]));
  }
  if (typeof v !== "object" || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const lower = new Map(Object.keys(o).map((k) => [k.toLowerCase(), k]));
  const out: Record<string, unknown> = {};
  for (const f of t.struct) {
    const k = lower.get(col(f));
    out[col(f)] = k === undefined ? null : serde(o[k], f.type, f.jsonText);
  }
  return out;
}

export function athenaRow(p: PlacedRecord, flavor: TableFlavor = "trailhound"): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const lower = new Map(Object.keys(p.record).map((k) => [k.toLowerCase(), k]));
  for (const c of columnsFor(flavor)) {
    const k = lower.get(col(c));
    out[col(c)] = k === undefined ? null : serde(p.record[k], c.type, c.jsonText);
  }
  out.account = p.account;
  out.region = p.region;
  out.timestamp = p.day;
  return out;
}

export class DuckAthena implements QueryRunner {
  readonly queries: Array<{ label: string; sql: string }> = [];
  private constructor(
    readonly instance: DuckDBInstance,
    readonly conn: DuckDBConnection,
  ) {}

  static async create(records: readonly PlacedRecord[], opts: { table?: string; flavor?: TableFlavor } = {}): Promise<DuckAthena> {
    const instance = await DuckDBInstance.create(":memory:");
    const conn = await instance.connect();
    for (const s of duckdbPrelude()) await conn.run(s);
    const flavor = opts.flavor ?? "trailhound";
    const dir = await mkdtemp(join(tmpdir(), "th-duck-"));
    try {
      const file = join(dir, "rows.jsonl");
      await writeFile(file, records.map((r) => JSON.stringify(athenaRow(r, flavor))).join("\n") + "\n");
      const types: Record<string, string> = {};
      for (const c of columnsFor(flavor)) types[col(c)] = duckdbType(c.type);
      types.account = "VARCHAR";
      types.region = "VARCHAR";
      types.timestamp = "VARCHAR";
      const spec = Object.entries(types)
        .map(([k, v]) => `'${k}': '${v.replace(/'/g, "''")}'`)
        .join(", ");
      await conn.run(`CREATE TABLE "${opts.table ?? "cloudtrail_logs"}" AS SELECT * FROM read_json('${file}', format = 'newline_delimited', columns = {${spec}})`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return new DuckAthena(instance, conn);
  }

  async run(sql: string, opts: RunQueryOptions): Promise<QueryStats> {
    this.queries.push({ label: opts.label, sql });
    const reader = await this.conn.runAndReadAll(sql);
    const names = reader.columnNames();
    const rows: Row[] = reader.getRows().map((r) => {
      const o: Row = {};
      names.forEach((n, i) => {
        const v = r[i];
        o[n] = v === null || v === undefined ? null : typeof v === "object" ? String(v) : String(v);
      });
      return o;
    });
    // Deliver in pages, as GetQueryResults does.
    for (let i = 0; i < rows.length; i += 1000) await opts.onRows?.(rows.slice(i, i + 1000));
    if (rows.length === 0) await opts.onRows?.([]);
    return { label: opts.label, queryId: `duck-${this.queries.length}`, dataScannedBytes: 0, rows: rows.length };
  }

  async all(sql: string): Promise<Row[]> {
    const rows: Row[] = [];
    await this.run(sql, { label: "test", onRows: (r) => void rows.push(...r) });
    return rows;
  }

  close(): void {
    this.conn.closeSync();
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures placed like the S3 delivery layout

export const INVICTUS = "test/fixtures/invictus-aws";
export const OTRF = "test/fixtures/otrf/ec2-proxy-s3-exfiltration.jsonl";

const dayOf = (iso: string) => iso.slice(0, 10).replace(/-/g, "/");

/** The invictus delivery files: partition values from the object path. */
export async function invictusPlaced(): Promise<PlacedRecord[]> {
  const out: PlacedRecord[] = [];
  for (const f of await listInputFiles([INVICTUS])) {
    const m = /AWSLogs\/(\d{12})\/CloudTrail\/([a-z0-9-]+)\/(\d{4}\/\d{2}\/\d{2})\//.exec(f);
    if (!m) throw new Error(`not a delivery path: ${f}`);
    const doc = JSON.parse(gunzipSync(await readFile(f)).toString("utf8")) as { Records: Array<Record<string, unknown>> };
    for (const record of doc.Records) out.push({ record, account: m[1]!, region: m[2]!, day: m[3]! });
  }
  return out;
}

/** JSON Lines records: partition values from the record (recipient account, region, event day). */
export function placeRecords(records: ReadonlyArray<Record<string, unknown>>): PlacedRecord[] {
  return records.map((record) => ({
    record,
    account: String(record.recipientAccountId ?? "000000000000"),
    region: String(record.awsRegion ?? "us-east-1"),
    day: dayOf(String(record.eventTime)),
  }));
}

export async function otrfRecords(): Promise<Array<Record<string, unknown>>> {
  return (await readFile(OTRF, "utf8"))
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

/**
 * Invictus records copied onto earlier days and hours (fresh eventIDs), written as JSON Lines
 * files in time order: multi-day history (days, the hourly cut-off, weekdays, read breadth).
 * The newest copy has no AWS service principals, so some identities are absent from the last day.
 */
export async function multiDayDataset(base: PlacedRecord[], dir: string): Promise<{ files: string[]; placed: PlacedRecord[] }> {
  const shifts = [-20 * DAY + 5 * HOUR, -16 * DAY, -15 * DAY - 7 * HOUR, -10 * DAY + 3 * HOUR, -6 * DAY - 11 * HOUR, -2 * DAY, 0];
  const placed: PlacedRecord[] = [];
  const files: string[] = [];
  for (const [i, shift] of shifts.entries()) {
    const last = i === shifts.length - 1;
    const recs = base
      .filter((p, j) => (i % 2 === 0 || j % 3 !== 0) && !(last && (p.record.userIdentity as { type?: string }).type === "AWSService"))
      .map((p) => {
        const t = new Date(Date.parse(String(p.record.eventTime)) + shift).toISOString().replace(/\.\d{3}Z$/, "Z");
        return { ...p.record, eventTime: t, eventID: `${String(p.record.eventID)}-${i}` };
      });
    const file = join(dir, `multi-${String(i).padStart(2, "0")}.jsonl`);
    await writeFile(file, recs.map((r) => JSON.stringify(r)).join("\n") + "\n");
    files.push(file);
    placed.push(...placeRecords(recs));
  }
  return { files, placed };
}

/**
 * Shared roles and secrets (issue 16): IAM Identity Center permission sets and federated roles
 * used by several people (session names, e-mail and first.last names, sourceIdentity, machine
 * sessions that name nobody), and reads of secrets and parameters in every shape `targetsOf`
 * accepts (names, ARNs with and without the random suffix, arrays with duplicates and non-strings,
 * versions, paths, failed calls, missing or malformed parameters), over five days.
 */
export async function sharedRolesDataset(dir: string): Promise<{ files: string[]; placed: PlacedRecord[] }> {
  const T = Date.parse("2024-05-20T06:00:00Z");
  const acct = "210987654321";
  const sso = (role: string, session: string, extra: Record<string, unknown> = {}) => ({
    type: "AssumedRole",
    principalId: `AROAEXAMPLE:${session}`,
    arn: `arn:aws:sts::${acct}:assumed-role/${role}/${session}`,
    accountId: acct,
    sessionContext: { sessionIssuer: { type: "Role", arn: `arn:aws:iam::${acct}:role/aws-reserved/sso.amazonaws.com/${role}`, accountId: acct, userName: role }, ...extra },
  });
  const ADMIN = "AWSReservedSSO_AdministratorAccess_0123456789abcdef";
  const identities: Array<Record<string, unknown>> = [
    sso(ADMIN, "nina"),
    sso(ADMIN, "Nina"),
    sso(ADMIN, "omar@example.com"),
    sso(ADMIN, "i-0123456789abcdef0"),
    sso("Deployer", "jane.doe"),
    sso("Deployer", "GitHubActions-1234567"),
    sso("Deployer", "botocore-session-1716"),
    sso("Deployer", "build", { sourceIdentity: "Carl@Example.com" }),
    sso("Deployer", "x".repeat(64)),
    sso("AppRole", "app-task"),
    { type: "FederatedUser", arn: `arn:aws:sts::${acct}:federated-user/pat.kim`, principalId: `${acct}:pat.kim`, accountId: acct },
    {
      type: "FederatedUser",
      arn: `arn:aws:sts::${acct}:federated-user/ci-bot`,
      principalId: `${acct}:ci-bot`,
      accountId: acct,
      sessionContext: { sessionIssuer: { userName: "broker" } },
    },
    { type: "IAMUser", arn: `arn:aws:iam::${acct}:user/svc`, accountId: acct, userName: "svc" },
  ];
  const reads: Array<[string, string, unknown, string?]> = [
    ["secretsmanager", "GetSecretValue", { secretId: "prod/db/password" }],
    ["secretsmanager", "GetSecretValue", { secretId: `arn:aws:secretsmanager:us-east-1:${acct}:secret:prod/api-key-AbC123` }],
    ["secretsmanager", "GetSecretValue", { secretId: `arn:aws:secretsmanager:us-east-1:${acct}:secret:short` }],
    ["secretsmanager", "GetSecretValue", { secretId: "" }],
    ["secretsmanager", "GetSecretValue", { secretId: ["a-list", 7] }],
    ["secretsmanager", "GetSecretValue", { secretId: "denied/secret" }, "AccessDenied"],
    ["secretsmanager", "BatchGetSecretValue", { secretIdList: ["one", "two", "one", 3, "", null, { x: 1 }, `arn:aws:secretsmanager:eu-west-1:${acct}:secret:three-XyZ789`] }],
    ["secretsmanager", "BatchGetSecretValue", { secretIdList: [] }],
    ["secretsmanager", "BatchGetSecretValue", { filters: [{ key: "name", values: ["x"] }] }],
    ["ssm", "GetParameter", { name: "/app/db/url:3", withDecryption: true }],
    ["ssm", "GetParameter", { name: "/app/db/url" }],
    ["ssm", "GetParameters", { names: ["/app/a", "/app/b:12", "/app/c:label"] }],
    ["ssm", "GetParameters", { names: "/app/single" }],
    ["ssm", "GetParametersByPath", { path: "/app/", recursive: true }],
    ["ssm", "GetParametersByPath", { path: 42 }],
    ["ssm", "GetParameter", null],
    ["ssm", "GetParameter", "not an object"],
    ["ssm", "DescribeParameters", { name: "/not/a/read" }],
  ];
  const out: Array<Record<string, unknown>> = [];
  let n = 0;
  for (let day = 0; day < 5; day++) {
    for (const [i, ui] of identities.entries()) {
      // Not every identity every day, and each a different slice of the reads.
      if ((i + day) % 4 === 3) continue;
      for (let j = 0; j < reads.length; j++) {
        if ((i * 7 + j + day) % 3 === 0) continue;
        const [svc, name, rp, err] = reads[j]!;
        n++;
        out.push({
          eventVersion: "1.09",
          eventID: `shared-${n}`,
          eventTime: new Date(T + day * DAY + i * 17 * 60_000 + j * 41_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
          eventSource: `${svc}.amazonaws.com`,
          eventName: name,
          awsRegion: j % 5 === 0 ? "eu-west-1" : "us-east-1",
          sourceIPAddress: `198.51.100.${(i * 3 + day) % 250}`,
          userAgent: j % 2 ? "aws-cli/2.15.0 Python/3.11" : "Mozilla/5.0 (Macintosh)",
          recipientAccountId: acct,
          userIdentity: ui,
          ...(rp === undefined ? {} : { requestParameters: rp }),
          ...(err ? { errorCode: err, errorMessage: "not authorized" } : {}),
        });
      }
    }
  }
  const file = join(dir, "shared-roles.jsonl");
  await writeFile(file, out.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return { files: [file], placed: placeRecords(out) };
}

/**
 * A local fake Athena for the real SDK client (nock on the region's endpoint): StartQueryExecution
 * runs the query on DuckDB, GetQueryExecution says SUCCEEDED, GetQueryResults pages the rows (1000
 * a page, the header row first, as Athena does). Records each StartQueryExecution's input.
 */
export function nockAthena(duck: DuckAthena, region: string): { starts: Array<Record<string, unknown>>; done(): void } {
  const results = new Map<string, { names: string[]; rows: Array<Array<string | null>> }>();
  const starts: Array<Record<string, unknown>> = [];
  const reply = (body: unknown) => [200, JSON.stringify(body), { "content-type": "application/x-amz-json-1.1" }] as [number, string, Record<string, string>];
  const scope = nock(`https://athena.${region}.amazonaws.com`)
    .persist()
    .post("/")
    .reply(async function (this: nock.ReplyFnContext, _uri, raw) {
      const target = String(this.req.headers["x-amz-target"]).replace("AmazonAthena.", "");
      const body = (typeof raw === "string" ? JSON.parse(raw) : raw) as Record<string, unknown>;
      if (target === "StartQueryExecution") {
        starts.push(body);
        const id = `fake-${starts.length}`;
        const reader = await duck.conn.runAndReadAll(String(body.QueryString));
        results.set(id, {
          names: reader.columnNames(),
          rows: reader.getRows().map((r) => r.map((v) => (v === null || v === undefined ? null : String(v)))),
        });
        return reply({ QueryExecutionId: id });
      }
      const id = String(body.QueryExecutionId);
      if (target === "GetQueryExecution")
        return reply({ QueryExecution: { QueryExecutionId: id, Status: { State: "SUCCEEDED" }, Statistics: { DataScannedInBytes: 12_345_678 } } });
      if (target === "GetQueryResults") {
        const r = results.get(id)!;
        const from = body.NextToken ? Number(body.NextToken) : 0;
        const page = r.rows.slice(from, from + 1000);
        const Rows = [...(from === 0 ? [r.names] : []), ...page].map((row) => ({ Data: row.map((v) => (v === null ? {} : { VarCharValue: v })) }));
        return reply({
          ResultSet: { ResultSetMetadata: { ColumnInfo: r.names.map((n) => ({ Name: n, Type: "varchar" })) }, Rows },
          ...(from + 1000 < r.rows.length ? { NextToken: String(from + 1000) } : {}),
        });
      }
      return [400, JSON.stringify({ __type: "InvalidRequestException", message: `fake Athena: ${target}` }), { "content-type": "application/x-amz-json-1.1" }];
    });
  return { starts, done: () => void scope.persist(false) };
}
