/**
 * The Athena query runner over the real SDK client, HTTP intercepted by nock (no network):
 * StartQueryExecution, GetQueryExecution polled with backoff, GetQueryResults paged,
 * StopQueryExecution on abort, errors a person can act on, and the cost of each query.
 */
import { AthenaClient } from "@aws-sdk/client-athena";
import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AthenaQueryRunner, MIN_BILLED_BYTES, billedBytes, formatQueryCost, queryCostUsd, type AthenaSettings, type QueryStats, type Sleep } from "../../src/athena/client.js";
import type { Row } from "../../src/athena/results.js";
import { AwsSourceError } from "../../src/sources/aws-errors.js";

const ENDPOINT = "https://athena.eu-west-1.amazonaws.com";
const SETTINGS: AthenaSettings = {
  region: "eu-west-1",
  workgroup: "security",
  database: "trail",
  table: "cloudtrail_logs",
  outputLocation: "s3://results-bucket/athena/",
};
const creds = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" };

function client(): AthenaClient {
  return new AthenaClient({ region: "eu-west-1", credentials: creds, maxAttempts: 1 });
}

interface Call {
  target: string;
  body: Record<string, unknown>;
}

/** One nock interceptor per Athena call, in order; records what was asked. */
function athena(replies: Array<{ target: string; status?: number; body: unknown }>, calls: Call[]) {
  const scope = nock(ENDPOINT);
  for (const r of replies) {
    scope
      .post("/", () => true)
      .matchHeader("x-amz-target", `AmazonAthena.${r.target}`)
      .reply((_uri, body) => {
        calls.push({ target: r.target, body: typeof body === "string" ? JSON.parse(body) : (body as Record<string, unknown>) });
        return [r.status ?? 200, JSON.stringify(r.body), { "content-type": "application/x-amz-json-1.1" }];
      });
  }
  return scope;
}

const sleeps: number[] = [];
const fakeSleep: Sleep = async (ms, signal) => {
  sleeps.push(ms);
  if (signal?.aborted) throw Object.assign(new Error("aborted"), { name: "AbortError" });
  await new Promise((r) => setImmediate(r));
};

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  nock.cleanAll();
  sleeps.length = 0;
});

const exec = (state: string, extra: Record<string, unknown> = {}) => ({
  QueryExecution: { QueryExecutionId: "q-1", Status: { State: state, ...extra }, Statistics: { DataScannedInBytes: 3 * 1024 ** 3, EngineExecutionTimeInMillis: 4200 } },
});
const col = (n: string) => ({ Name: n, Type: "varchar" });
const cell = (v?: string) => (v === undefined ? {} : { VarCharValue: v });

describe("AthenaQueryRunner", () => {
  it("starts, polls with growing delays, pages the results and reports bytes scanned", async () => {
    const calls: Call[] = [];
    const scope = athena(
      [
        { target: "StartQueryExecution", body: { QueryExecutionId: "q-1" } },
        { target: "GetQueryExecution", body: exec("QUEUED") },
        { target: "GetQueryExecution", body: exec("RUNNING") },
        { target: "GetQueryExecution", body: exec("RUNNING") },
        { target: "GetQueryExecution", body: exec("SUCCEEDED") },
        {
          target: "GetQueryResults",
          body: {
            ResultSet: {
              ResultSetMetadata: { ColumnInfo: [col("ident"), col("n")] },
              Rows: [{ Data: [cell("ident"), cell("n")] }, { Data: [cell("user:1:a"), cell("3")] }, { Data: [cell("user:1:b"), cell()] }],
            },
            NextToken: "page-2",
          },
        },
        {
          target: "GetQueryResults",
          body: { ResultSet: { ResultSetMetadata: { ColumnInfo: [col("ident"), col("n")] }, Rows: [{ Data: [cell(""), cell("7")] }] } },
        },
      ],
      calls,
    );
    const seen: QueryStats[] = [];
    const runner = new AthenaQueryRunner(SETTINGS, { client: client(), sleep: fakeSleep, pollMinMs: 100, pollMaxMs: 300, onQuery: (q) => seen.push(q) });
    const pages: Row[][] = [];
    const stats = await runner.run("SELECT 1", { label: "baseline", onRows: (r) => void pages.push(r) });
    expect(scope.isDone()).toBe(true);
    expect(pages).toEqual([
      [
        { ident: "user:1:a", n: "3" },
        { ident: "user:1:b", n: null },
      ],
      [{ ident: "", n: "7" }],
    ]);
    expect(stats).toMatchObject({ label: "baseline", queryId: "q-1", dataScannedBytes: 3 * 1024 ** 3, rows: 3, engineMs: 4200 });
    expect(seen).toEqual([stats]);
    expect(sleeps).toEqual([100, 200, 300]);
    expect(calls[0]!.body).toMatchObject({
      QueryString: "SELECT 1",
      WorkGroup: "security",
      QueryExecutionContext: { Database: "trail" },
      ResultConfiguration: { OutputLocation: "s3://results-bucket/athena/" },
    });
    expect(calls[5]!.body).toMatchObject({ QueryExecutionId: "q-1", MaxResults: 1000 });
    expect(calls[6]!.body).toMatchObject({ NextToken: "page-2" });
    expect(formatQueryCost(stats)).toBe("athena baseline: 3.00 GB scanned, $0.0146 (query q-1, 3 rows)");
  });

  it("a failed query names the reason and how to fix it", async () => {
    athena(
      [
        { target: "StartQueryExecution", body: { QueryExecutionId: "q-1" } },
        {
          target: "GetQueryExecution",
          body: exec("FAILED", { StateChangeReason: "TABLE_NOT_FOUND: line 3:8: Table 'awsdatacatalog.trail.cloudtrail_logs' does not exist" }),
        },
      ],
      [],
    );
    const runner = new AthenaQueryRunner(SETTINGS, { client: client(), sleep: fakeSleep });
    const err = await runner.run("SELECT 1", { label: "baseline" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsSourceError);
    expect((err as AwsSourceError).code).toBe("invalid-argument");
    expect((err as Error).message).toMatch(/baseline query q-1 failed: TABLE_NOT_FOUND.*trailhound athena ddl/);
  });

  it("access denied on StartQueryExecution lists the permissions needed", async () => {
    athena(
      [
        {
          target: "StartQueryExecution",
          status: 400,
          body: { __type: "AccessDeniedException", Message: "User: arn:aws:iam::1:user/x is not authorized to perform: athena:StartQueryExecution" },
        },
      ],
      [],
    );
    const runner = new AthenaQueryRunner(SETTINGS, { client: client(), sleep: fakeSleep });
    const err = (await runner.run("SELECT 1", { label: "window events" }).catch((e: unknown) => e)) as AwsSourceError;
    expect(err.code).toBe("missing-permission");
    expect(err.message).toMatch(/StartQueryExecution for the window events query \(workgroup security, region eu-west-1\) was denied/);
    expect(err.message).toMatch(/athena:GetQueryResults.*glue:GetTable.*kms:Decrypt/);
  });

  it("throttling is retried with backoff", async () => {
    const calls: Call[] = [];
    athena(
      [
        { target: "StartQueryExecution", status: 400, body: { __type: "TooManyRequestsException", Message: "Rate exceeded" } },
        { target: "StartQueryExecution", body: { QueryExecutionId: "q-1" } },
        { target: "GetQueryExecution", status: 400, body: { __type: "ThrottlingException", message: "Rate exceeded" } },
        { target: "GetQueryExecution", body: exec("SUCCEEDED") },
        { target: "GetQueryResults", body: { ResultSet: { ResultSetMetadata: { ColumnInfo: [col("x")] }, Rows: [{ Data: [cell("x")] }] } } },
      ],
      calls,
    );
    const runner = new AthenaQueryRunner(SETTINGS, { client: client(), sleep: fakeSleep });
    const stats = await runner.run("SELECT 1", { label: "baseline" });
    expect(stats.rows).toBe(0);
    expect(calls.map((c) => c.target)).toEqual(["StartQueryExecution", "StartQueryExecution", "GetQueryExecution", "GetQueryExecution", "GetQueryResults"]);
    expect(sleeps.length).toBe(2);
  });

  it("an abort while the query runs stops it (StopQueryExecution)", async () => {
    const calls: Call[] = [];
    const ctrl = new AbortController();
    const scope = athena(
      [
        { target: "StartQueryExecution", body: { QueryExecutionId: "q-1" } },
        { target: "GetQueryExecution", body: exec("RUNNING") },
        { target: "StopQueryExecution", body: {} },
      ],
      calls,
    );
    const abortingSleep: Sleep = async (ms, signal) => {
      sleeps.push(ms);
      ctrl.abort();
      if (signal?.aborted) throw Object.assign(new Error("aborted"), { name: "AbortError" });
    };
    const runner = new AthenaQueryRunner(SETTINGS, { client: client(), sleep: abortingSleep });
    await expect(runner.run("SELECT 1", { label: "baseline", signal: ctrl.signal })).rejects.toMatchObject({ name: "AbortError" });
    expect(scope.isDone()).toBe(true);
    expect(calls.at(-1)).toEqual({ target: "StopQueryExecution", body: { QueryExecutionId: "q-1" } });
  });

  it("a query that outlives the time limit is stopped", async () => {
    let t = 0;
    const calls: Call[] = [];
    athena(
      [
        { target: "StartQueryExecution", body: { QueryExecutionId: "q-1" } },
        { target: "GetQueryExecution", body: exec("RUNNING") },
        { target: "GetQueryExecution", body: exec("RUNNING") },
        { target: "StopQueryExecution", body: {} },
      ],
      calls,
    );
    const runner = new AthenaQueryRunner(SETTINGS, {
      client: client(),
      now: () => t,
      sleep: async (ms) => {
        t += ms;
      },
      timeoutMs: 1000,
      pollMinMs: 1000,
    });
    await expect(runner.run("SELECT 1", { label: "baseline" })).rejects.toThrow(/did not finish within .* it was stopped/);
    expect(calls.map((c) => c.target)).toEqual(["StartQueryExecution", "GetQueryExecution", "GetQueryExecution", "StopQueryExecution"]);
  });
});

describe("query cost", () => {
  it("$5 per TB scanned, rounded up to the MB, 10 MB minimum", () => {
    expect(billedBytes(0)).toBe(MIN_BILLED_BYTES);
    expect(billedBytes(1)).toBe(10 * 1024 * 1024);
    expect(billedBytes(10 * 1024 * 1024 + 1)).toBe(11 * 1024 * 1024);
    expect(queryCostUsd(1024 ** 4)).toBe(5);
    expect(queryCostUsd(0)).toBeCloseTo((10 / 1024 / 1024) * 5, 12);
    expect(queryCostUsd(200 * 1024 ** 3)).toBeCloseTo(0.9765625, 9);
  });
});
