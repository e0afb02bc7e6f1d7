/**
 * Each SQL expression against its JS twin in the core, on the edge cases of docs/CLOUDTRAIL.md:
 * identity keys for every userIdentity shape, user-agent families, IP literals, event-name
 * suffixes, services, failures and denials. Also: the SQL only calls functions Athena (Trino) has.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TARGET_FIELDS, baselineQuery, eventRowsQuery, windowEventsQuery } from "../../src/athena/sql.js";
import { TARGET_CALLS, targetsOf } from "../../src/events/targets.js";
import { TRINO_FUNCTIONS, DUCKDB_FUNCTION_MACROS } from "../../src/athena/dialect.js";
import { isReadName } from "../../src/ingest/accumulator.js";
import { normalizeRecord, personKey } from "../../src/events/normalize.js";
import type { Row } from "../../src/athena/results.js";
import { DuckAthena, placeRecords } from "./duckdb.js";

const T0 = Date.parse("2024-03-04T10:00:00Z");
let seq = 0;
function rec(over: Record<string, unknown>): Record<string, unknown> {
  seq++;
  return {
    eventVersion: "1.09",
    eventID: `ev-${seq}`,
    eventTime: new Date(T0 + seq * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    eventSource: "iam.amazonaws.com",
    eventName: "ListUsers",
    awsRegion: "us-east-1",
    sourceIPAddress: "198.51.100.7",
    userAgent: "aws-cli/2.13.0 Python/3.11",
    recipientAccountId: "111111111111",
    userIdentity: { type: "IAMUser", accountId: "111111111111", userName: "alice", arn: "arn:aws:iam::111111111111:user/alice" },
    ...over,
  };
}

const IDENTITIES: Array<Record<string, unknown>> = [
  { type: "IAMUser", arn: "arn:aws:iam::1111:user/alice", accountId: "1111", userName: "alice" },
  { type: "IAMUser", arn: "arn:aws:iam::2222:user/path/bob" },
  { type: "IAMUser", arn: "arn:aws:iam::2222:user/" },
  { type: "IAMUser", principalId: "AIDAXYZ" },
  { type: "IAMUser", userName: "", principalId: "AIDAQ", accountId: "" },
  { type: "IAMUser", arn: "noColons" },
  { type: "AssumedRole", arn: "arn:aws:sts::1111:assumed-role/R/s", sessionContext: { sessionIssuer: { arn: "arn:aws:iam::1111:role/path/R", accountId: "1111", userName: "R" } } },
  { type: "AssumedRole", arn: "arn:aws:sts::3333:assumed-role/Deploy/i-0abc", accountId: "3333" },
  { type: "AssumedRole", arn: "arn:aws:sts::3333:assumed-role/OnlyRole" },
  { type: "AssumedRole", arn: "arn:aws:sts::3333:assumed-role/R2/" },
  { type: "AssumedRole", principalId: "AROAEXAMPLE:session-x" },
  { type: "AssumedRole", principalId: "AROANOSESSION" },
  {
    type: "AssumedRole",
    accountId: "4444",
    sessionContext: { sessionIssuer: { accountId: "5555", userName: "Cross" }, attributes: { mfaAuthenticated: "true" } },
    arn: "arn:aws:sts::4444:assumed-role/Cross/me",
  },
  { type: "AssumedRole", sessionContext: { sessionIssuer: {} } },
  { type: "Root", principalId: "1111", arn: "arn:aws:iam::1111:root", accountId: "1111" },
  { type: "Root" },
  { type: "FederatedUser", arn: "arn:aws:sts::1111:federated-user/bob", sessionContext: { sessionIssuer: { userName: "broker" } } },
  { type: "FederatedUser", arn: "arn:aws:sts::1111:federated-user/carol" },
  { type: "FederatedUser" },
  { type: "AWSService", invokedBy: "lambda.amazonaws.com" },
  { accountId: "1111", invokedBy: "cloudtrail.amazonaws.com" },
  { type: "AWSService", principalId: "svc-principal" },
  { type: "AWSService" },
  { type: "AWSAccount", principalId: "AIDAOTHER", accountId: "7777" },
  { type: "AWSAccount", principalId: "AIDAOTHER" },
  { type: "IdentityCenterUser", accountId: "1111", onBehalfOf: { userId: "5448-u", identityStoreArn: "arn:aws:identitystore::1111:identitystore/d-9067" }, credentialId: "c" },
  { type: "IdentityCenterUser", userName: "dave" },
  { type: "SAMLUser", principalId: "nq:sub", userName: "sub", identityProvider: "nq" },
  { type: "SAMLUser", principalId: "nq2:sub2" },
  { type: "WebIdentityUser", principalId: "accounts.google.com:app:u1", userName: "u1", identityProvider: "accounts.google.com" },
  { type: "Unknown", accountId: "1111", userName: "anyuser" },
  { type: "Unknown", principalId: "pid-only" },
  { type: "Role", accountId: "1111", principalId: "x" },
  { type: "Directory", userName: "d" },
  { type: "", userName: "typeless" },
  {},
  { type: "IAMUser", userName: "eve", invokedBy: "cloudformation.amazonaws.com", accountId: "1111" },
];

const USER_AGENTS = [
  "aws-cli/2.13.0 Python/3.11.4 Linux/5.10",
  "aws-cli/1.27.0 Python/3.8",
  "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488]",
  "[aws-cli/2.13.0]",
  "Boto3/1.28.0 Python/3.11 Botocore/1.31.0",
  "botocore/1.31.0",
  "aws-sdk-go-v2/1.18.0 os/linux",
  "aws-sdk-go/1.44.0 (go1.20)",
  "aws-sdk-java/1.12.0 Linux",
  "aws-sdk-javascript/2.0",
  "AWS-SDK-JS/3.0",
  "aws-sdk-nodejs/2.1",
  "Mozilla/5.0 (Windows NT 10.0)",
  "Mozilla/5.0 (X11; Kali Linux)",
  "console.amazonaws.com",
  "signin.amazonaws.com",
  "console.ec2.amazonaws.com",
  "RDS Console",
  "aws-internal/3 aws-sdk-java/1.12",
  "AWS Internal",
  "lambda.amazonaws.com",
  "amazon-ssm-agent/3.2.0",
  "curl/7.88.1",
  "python-requests/2.31",
  "Go-http-client/1.1",
  "wget/1.21",
  "aws-something/1.0",
  "APN/1.0 HashiCorp/1.0 Terraform/1.5.0 (+https://www.terraform.io) terraform-provider-aws/5.0.0 aws-sdk-go-v2/1.18",
  "Pacu/1.0 botocore",
  "stratus-red-team_83f9",
  "something-else/1.0",
  "123abc",
  "",
  "  aws-cli/2.0  ",
  "[]",
  "[",
  "   ",
  "a".repeat(40),
];

const IPS = [
  "198.51.100.7",
  "10.0.0.1",
  "256.1.1.1",
  "01.02.03.004",
  "1.2.3",
  "1.2.3.4.5",
  "::1",
  "2001:db8::1",
  "2600:1f18:abcd::5",
  "fe80::1",
  "::ffff:203.0.113.9",
  "::ffff:999.1.1.1",
  "AWS Internal",
  "ec2.amazonaws.com",
  "",
  "abc:def",
];

const NAMES: Array<[string, string]> = [
  ["lambda.amazonaws.com", "UpdateFunctionCode20150331v2"],
  ["lambda.amazonaws.com", "CreateFunction20150331"],
  ["cloudfront.amazonaws.com", "CreateDistribution2020_05_31"],
  ["x.amazonaws.com", "20150331"],
  ["s3.amazonaws.com", "GetObject"],
  ["s3.amazonaws.com", "Foo123456789"],
  [".amazonaws.com", "DescribeThing"],
  ["custom-source", "BatchGetItem"],
  ["iam.amazonaws.com", "Listen"],
];

const FAILURES: Array<Record<string, unknown>> = [
  { errorCode: "AccessDenied", errorMessage: "nope" },
  { errorCode: "Client.UnauthorizedOperation" },
  { errorCode: "FooUnauthorizedOperation" },
  { errorCode: "AccessDeniedForReal" },
  { errorCode: "ThrottlingException" },
  { errorCode: "ValidationError", errorMessage: "User: x is not authorized to perform: iam:ListUsers" },
  { errorCode: "", errorMessage: "is not authorized to perform" },
  { eventSource: "signin.amazonaws.com", eventName: "ConsoleLogin", responseElements: { ConsoleLogin: "Failure" }, errorMessage: "Failed authentication" },
  { eventSource: "signin.amazonaws.com", eventName: "ConsoleLogin", responseElements: { ConsoleLogin: "Success" } },
  { eventSource: "signin.amazonaws.com", eventName: "ConsoleLogin", responseElements: null },
];

const records: Array<Record<string, unknown>> = [
  ...IDENTITIES.map((ui) => rec({ userIdentity: ui })),
  ...IDENTITIES.map((ui) => rec({ userIdentity: ui, recipientAccountId: undefined })),
  ...USER_AGENTS.map((userAgent) => rec({ userAgent })),
  rec({ userAgent: undefined }),
  ...IPS.map((sourceIPAddress) => rec({ sourceIPAddress })),
  rec({ sourceIPAddress: undefined }),
  ...NAMES.map(([eventSource, eventName]) => rec({ eventSource, eventName })),
  ...FAILURES.map((f) => rec(f)),
  rec({ awsRegion: undefined }),
  rec({ awsRegion: "" }),
];

let duck: DuckAthena;
let rows: Map<string, Row>;
beforeAll(async () => {
  duck = await DuckAthena.create(placeRecords(records));
  const all = await duck.all(eventRowsQuery({ table: { table: "cloudtrail_logs" }, from: T0, to: T0 + 86_400_000 }));
  rows = new Map(all.map((r) => [r.eventid!, r]));
});
afterAll(() => duck.close());

function expected(r: Record<string, unknown>) {
  const res = normalizeRecord(r);
  if (!res.ok) throw new Error("fixture record rejected: " + res.reason);
  const ev = res.event;
  const via = ev.principal.invokedBy !== undefined;
  return {
    ident: ev.principal.key,
    session: ev.principal.sessionName ?? null,
    api: ev.service + ":" + ev.eventName,
    service: ev.service,
    region: ev.region,
    ip: !via && (ev.ipKind === "public" || ev.ipKind === "private") ? ev.sourceIp : null,
    ua: via ? null : ev.uaFamily,
    err: ev.errorCode ?? null,
    failed: ev.failed,
    denied: ev.denied,
    read: isReadName(ev.eventName),
    t: ev.time,
  };
}

function actual(r: Row) {
  return {
    ident: r.ident,
    session: r.d_session,
    api: r.d_api,
    service: r.d_service,
    region: r.d_region,
    ip: r.d_ip,
    ua: r.d_ua,
    err: r.d_err,
    failed: r.failed === "true",
    denied: r.denied === "true",
    read: r.is_read === "true",
    t: Number(r.t_ms),
  };
}

describe("SQL expressions == the core's functions", () => {
  it("every record is there", () => {
    expect(rows.size).toBe(records.length);
  });

  it("identity keys and session names for every userIdentity shape", () => {
    for (const r of records.slice(0, IDENTITIES.length * 2)) {
      const e = expected(r);
      const a = actual(rows.get(r.eventID as string)!);
      expect({ ident: a.ident, session: a.session }, JSON.stringify(r.userIdentity)).toEqual({ ident: e.ident, session: e.session });
    }
  });

  it("user-agent families, IP literals, API keys, services, regions, failures and denials", () => {
    for (const r of records) expect(actual(rows.get(r.eventID as string)!), JSON.stringify(r)).toEqual(expected(r));
  });

  it("a table from AWS's DDL (no identityprovider) keys SAML and web users on the principalId prefix: same keys when it is the provider", async () => {
    const aws = await DuckAthena.create(placeRecords(records), { flavor: "aws" });
    try {
      const got = new Map((await aws.all(eventRowsQuery({ table: { table: "cloudtrail_logs", flavor: "aws" }, from: T0, to: T0 + 86_400_000 }))).map((r) => [r.eventid!, r]));
      let differ = 0;
      for (const r of records) {
        const ui = r.userIdentity as Record<string, unknown>;
        const e = expected(r);
        if ((ui.type === "SAMLUser" || ui.type === "WebIdentityUser") && !ui.identityProvider) {
          differ++;
          expect(got.get(r.eventID as string)!.ident).toBe("saml:nq2:nq2:sub2");
          continue;
        }
        expect(actual(got.get(r.eventID as string)!), JSON.stringify(r)).toEqual(e);
      }
      expect(differ).toBe(2);
    } finally {
      aws.close();
    }
  });

  it("the cases cover what they claim", () => {
    const uas = new Set(records.map((r) => expected(r).ua));
    for (const fam of [
      "terraform",
      "aws-cli/2",
      "aws-cli/1",
      "python",
      "aws-sdk-go-v2",
      "aws-sdk-java",
      "aws-sdk",
      "browser",
      "console",
      "internal",
      "aws-service",
      "ssm-agent",
      "http-client:curl",
      "aws-tool",
      "offensive:pacu",
      "offensive:kali",
      "none",
      "other",
    ]) {
      expect(uas, fam).toContain(fam);
    }
    const e = records.map(expected);
    expect(e.filter((x) => x.denied).length).toBeGreaterThanOrEqual(5);
    expect(e.some((x) => x.failed && !x.denied)).toBe(true);
    expect(e.some((x) => x.ip === null && x.ua !== null)).toBe(true);
    expect(new Set(e.map((x) => x.ident)).size).toBeGreaterThan(30);
  });
});

describe("the SQL stays within Athena's functions", () => {
  const calls = (sql: string) => {
    const noStrings = sql.replace(/'(?:[^']|'')*'/g, "''").replace(/"(?:[^"]|"")*"/g, '""');
    const out = new Set<string>();
    for (const m of noStrings.matchAll(/\b([a-zA-Z_][a-zA-Z0-9_]*)\s*\(/g)) out.add(m[1]!.toLowerCase());
    return out;
  };
  const KEYWORDS = new Set([
    "as",
    "in",
    "and",
    "or",
    "not",
    "over",
    "sets",
    "from",
    "select",
    "with",
    "where",
    "then",
    "else",
    "when",
    "case",
    "by",
    "on",
    "json",
    "varchar",
    "bigint",
    "e",
    "r",
    "values",
    "unnest",
    "join",
  ]);
  const sqls = {
    baseline: baselineQuery({
      table: { table: "t", database: "db" },
      from: 0,
      to: 1e12,
      hourlyFrom: 0,
      onlyActiveIn: { from: 1e12, to: 2e12 },
      scope: { accounts: ["111111111111"], regions: ["us-east-1"] },
    }),
    window: windowEventsQuery({ table: { table: "t" }, from: 0, to: 1e12 }),
    aws: baselineQuery({ table: { table: "t", flavor: "aws" }, from: 0, to: 1e12, hourlyFrom: 0 }),
  };
  for (const [name, sql] of Object.entries(sqls)) {
    it(`${name}: only allow-listed Trino functions; those DuckDB lacks have macros`, () => {
      const used = [...calls(sql)].filter((f) => !KEYWORDS.has(f) && !/^[bw][0-3]$|^g$|^ev$|^bk$|^t[faevt]$|^[kfu]$/.test(f));
      for (const f of used) expect(TRINO_FUNCTIONS, `function ${f}`).toContain(f);
      expect(used).toContain("from_iso8601_timestamp");
      for (const f of Object.keys(DUCKDB_FUNCTION_MACROS)) expect(TRINO_FUNCTIONS).toContain(f);
      // No decimal literals: in Trino 3600000.0 is a DECIMAL and its division rounds.
      expect(sql.replace(/'(?:[^']|'')*'/g, "''")).not.toMatch(/\b\d+\.\d+\b/);
      // Trino-only anchors: no bare ^ or $ inside regex literals.
      for (const m of sql.matchAll(/regexp_(?:like|extract|replace)\([^']*'((?:[^']|'')*)'/g)) expect(m[1], m[0]).not.toMatch(/(^|[^\\[])[$^]/);
    });
  }

  it("the 'aws' flavor reads no column that AWS's documented table lacks", () => {
    expect(sqls.aws).not.toMatch(/identityprovider|managementevent|sourceidentity/);
    expect(sqls.baseline).toMatch(/useridentity\.identityprovider/);
  });

  it("partition predicates prune to the days, accounts and regions asked for", () => {
    expect(sqls.baseline).toContain(`"timestamp" BETWEEN '1970/01/01' AND '2001/09/10'`);
    expect(sqls.baseline).toContain(`account IN ('111111111111')`);
    expect(sqls.baseline).toContain(`region IN ('us-east-1')`);
    expect(sqls.baseline).toContain(`FROM "db"."t"`);
  });
});

describe("persons and read targets (issue 16) == personOf / targetsOf", () => {
  const ADMIN = "AWSReservedSSO_Admin_0123";
  const ar = (role: string, session: string | undefined, sourceIdentity?: string) => ({
    type: "AssumedRole",
    accountId: "1111",
    arn: `arn:aws:sts::1111:assumed-role/${role}${session === undefined ? "" : "/" + session}`,
    ...(session === undefined ? { principalId: "AROA" } : {}),
    sessionContext: { sessionIssuer: { userName: role, accountId: "1111" }, ...(sourceIdentity !== undefined ? { sourceIdentity } : {}) },
  });
  const people = [
    ar(ADMIN, "nina"),
    ar(ADMIN, "NINA"),
    ar(ADMIN, "i-0abcdef01"),
    ar(ADMIN, "botocore-session-1"),
    ar(ADMIN, "8c1f0a2b-1111-2222-3333-444455556666"),
    ar(ADMIN, "run-1234567"),
    ar(ADMIN, "a".repeat(129)),
    ar(ADMIN, undefined),
    ar("Plain", "ops"),
    ar("Plain", "first.last"),
    ar("Plain", "first.last2"),
    ar("Plain", "o'neil.smith"),
    ar("Plain", "me@example.com"),
    ar("Plain", "me@localhost"),
    ar("Plain", "two@at@example.com"),
    ar("Plain", "ci", "Dev@Example.COM"),
    ar("Plain", "ci", ""),
    ar("Plain", "ci", "s".repeat(257)),
    ar("Plain", "GitHubActions", "real.person"),
    ar("xAWSReservedSSO_", "nina"),
    { type: "FederatedUser", arn: "arn:aws:sts::1111:federated-user/ann.lee", accountId: "1111" },
    { type: "FederatedUser", arn: "arn:aws:sts::1111:federated-user/bot", accountId: "1111", sessionContext: { sourceIdentity: "Who" } },
    { type: "FederatedUser", arn: "arn:aws:sts::1111:federated-user/", accountId: "1111" },
    { type: "IAMUser", userName: "first.last", accountId: "1111" },
    { type: "Root", accountId: "1111", sessionContext: { sourceIdentity: "someone" } },
  ];
  const reads: Array<[string, unknown]> = [
    ["GetSecretValue", { secretId: "plain" }],
    ["GetSecretValue", { secretId: "arn:aws:secretsmanager:us-east-1:1111:secret:app/key-Ab12Cd" }],
    ["GetSecretValue", { secretId: "arn:aws:secretsmanager:us-east-1:1111:secret:a:b-zzzzzz" }],
    ["GetSecretValue", { secretId: "arn:aws:other:x:y:zzz-ABCDEF" }],
    ["GetSecretValue", { secretId: "name-ABCDEF" }],
    ["GetSecretValue", { secretId: "with 'quote' and \\ slash" }],
    ["GetSecretValue", { secretId: ["x", "y"] }],
    ["GetSecretValue", { secretId: 5 }],
    ["GetSecretValue", { secretId: "" }],
    ["GetSecretValue", {}],
    ["BatchGetSecretValue", { secretIdList: ["a", "a", "", 1, true, null, ["nested"], { o: 1 }, "b"] }],
    ["BatchGetSecretValue", { secretIdList: "single" }],
    ["BatchGetSecretValue", { secretIdList: [] }],
    ["GetParameter", { name: "/p:12" }],
    ["GetParameter", { name: "/p:v1" }],
    ["GetParameter", { name: "/p:12:3" }],
    ["GetParameter", { name: "/p", names: ["/q"] }],
    ["GetParameters", { names: ["/a:1", "/b"] }],
    ["GetParametersByPath", { path: "/x:1" }],
    ["GetParametersByPath", { path: ["/x", "/y"] }],
    ["DescribeSecret", { secretId: "not-a-read" }],
    ["GetSecretValue", null],
    ["GetSecretValue", "text"],
    ["GetSecretValue", [1, 2]],
  ];
  const recs = [
    ...people.map((ui) => rec({ userIdentity: ui })),
    ...reads.map(([eventName, requestParameters]) =>
      rec({ eventSource: eventName.includes("Parameter") ? "ssm.amazonaws.com" : "secretsmanager.amazonaws.com", eventName, requestParameters }),
    ),
  ];
  let d: DuckAthena;
  let got: Map<string, Row>;
  beforeAll(async () => {
    d = await DuckAthena.create(placeRecords(recs));
    got = new Map((await d.all(eventRowsQuery({ table: { table: "cloudtrail_logs" }, from: T0, to: T0 + 86_400_000 }))).map((r) => [r.eventid!, r]));
  });
  afterAll(() => d.close());

  it("the person key of every session shape", () => {
    let named = 0;
    for (const r of recs.slice(0, people.length)) {
      const ev = normalizeRecord(r);
      if (!ev.ok) throw new Error(ev.reason);
      const want = personKey(ev.event.principal) ?? null;
      if (want) named++;
      expect(got.get(r.eventID as string)!.person_key, JSON.stringify(r.userIdentity)).toBe(want);
    }
    expect(named).toBeGreaterThanOrEqual(8);
  });

  it("the targets of every read shape (one row per target, duplicates counted)", async () => {
    const sql = baselineQuery({ table: { table: "cloudtrail_logs" }, from: T0, to: T0 + 86_400_000, hourlyFrom: T0 });
    const rows = (await d.all(sql)).filter((r) => r.dim === "target" && r.ident === "user:111111111111:alice");
    const fromSql = Object.fromEntries(rows.map((r) => [r.value!, Number(r.n)]));
    const want: Record<string, number> = {};
    for (const r of recs.slice(people.length)) {
      const ev = normalizeRecord(r);
      if (!ev.ok) throw new Error(ev.reason);
      for (const t of targetsOf(ev.event.eventName, ev.event.requestParameters ?? null)) want[t] = (want[t] ?? 0) + 1;
    }
    expect(fromSql).toEqual(want);
    expect(want["secret:a"]).toBe(2);
    expect(Object.keys(want).length).toBeGreaterThan(12);
  });

  it("TARGET_FIELDS names every call targetsOf reads", () => {
    expect(new Set(TARGET_FIELDS.map(([c]) => c))).toEqual(TARGET_CALLS);
  });
});
