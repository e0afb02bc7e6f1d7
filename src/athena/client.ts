/**
 * Runs trailhound's SQL on Athena: StartQueryExecution, GetQueryExecution polled with backoff,
 * GetQueryResults paged (1000 rows a page), StopQueryExecution when the scan is aborted. Every
 * query reports the bytes it scanned and what that costs.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  type GetQueryResultsCommandOutput,
  type StartQueryExecutionCommandInput,
  type StartQueryExecutionCommandOutput,
  type StopQueryExecutionCommandOutput,
} from "@aws-sdk/client-athena";
import { AwsSourceError, classifyAwsError, errorSummary, isRetryable } from "../sources/aws-errors.js";
import type { Row } from "./results.js";
import { awsConnection } from "../net.js";

// ---------------------------------------------------------------------------------------------
// The port the engine needs: run one query, hand over its rows page by page.

export interface QueryStats {
  label: string;
  queryId: string;
  /** `Statistics.DataScannedInBytes`. */
  dataScannedBytes: number;
  rows: number;
  engineMs?: number;
  totalMs?: number;
}

export interface RunQueryOptions {
  /** What the query is for, in messages ("baseline", "window events"). */
  label: string;
  signal?: AbortSignal;
  /** Receives the rows one result page at a time (header row removed). */
  onRows?: (rows: Row[]) => void | Promise<void>;
}

export interface QueryRunner {
  run(sql: string, opts: RunQueryOptions): Promise<QueryStats>;
}

// ---------------------------------------------------------------------------------------------
// Costs

/** Athena's price: $5 per TB scanned, bytes rounded up to the MB, at least 10 MB per query. */
export const USD_PER_TB = 5;
const MB = 1024 * 1024;
const TB = 1024 * 1024 * MB;
export const MIN_BILLED_BYTES = 10 * MB;

export function billedBytes(scanned: number): number {
  return Math.max(MIN_BILLED_BYTES, Math.ceil(Math.max(0, scanned) / MB) * MB);
}

export function queryCostUsd(scanned: number): number {
  return (billedBytes(scanned) / TB) * USD_PER_TB;
}

export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function formatUsd(usd: number): string {
  return usd < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** `athena baseline: 1.20 GB scanned, $0.0059 (query 1234-...)`. */
export function formatQueryCost(s: QueryStats): string {
  return `athena ${s.label}: ${formatBytes(s.dataScannedBytes)} scanned, ${formatUsd(queryCostUsd(s.dataScannedBytes))} (query ${s.queryId}, ${s.rows} rows)`;
}

// ---------------------------------------------------------------------------------------------
// Settings

export interface AthenaSettings {
  region: string;
  /** Default "primary". */
  workgroup?: string;
  /** Glue database of the CloudTrail table. */
  database: string;
  /** Default "cloudtrail_logs". */
  table?: string;
  /** `s3://bucket/prefix/` for query results; optional when the workgroup enforces one. */
  outputLocation?: string;
  /** Data catalog; default AwsDataCatalog. */
  catalog?: string;
  profile?: string;
}

// ---------------------------------------------------------------------------------------------
// The SDK runner

/** What the runner needs of an Athena client. `AthenaClient` fits. */
export interface AthenaPort {
  send(command: StartQueryExecutionCommand, options?: { abortSignal?: AbortSignal }): Promise<StartQueryExecutionCommandOutput>;
  send(command: GetQueryExecutionCommand, options?: { abortSignal?: AbortSignal }): Promise<GetQueryExecutionCommandOutput>;
  send(command: GetQueryResultsCommand, options?: { abortSignal?: AbortSignal }): Promise<GetQueryResultsCommandOutput>;
  send(command: StopQueryExecutionCommand, options?: { abortSignal?: AbortSignal }): Promise<StopQueryExecutionCommandOutput>;
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const abortableSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

function abortError(): Error {
  const e = new Error("the scan was aborted");
  e.name = "AbortError";
  return e;
}

export interface AthenaRunnerOptions {
  client?: AthenaPort;
  sleep?: Sleep;
  /** Poll interval: starts at `pollMinMs` (default 250), doubles up to `pollMaxMs` (default 5000). */
  pollMinMs?: number;
  pollMaxMs?: number;
  /** Attempts for throttled / 5xx / network errors per call (default 6). */
  maxAttempts?: number;
  /** Give up (and stop the query) after this long (default 30 min). */
  timeoutMs?: number;
  /** Called when a query finishes, e.g. to print its cost. */
  onQuery?: (s: QueryStats) => void;
  now?: () => number;
}

export const ATHENA_PERMISSIONS =
  "athena:StartQueryExecution, athena:GetQueryExecution, athena:GetQueryResults, athena:StopQueryExecution, " +
  "glue:GetDatabase, glue:GetTable, s3:GetBucketLocation + s3:ListBucket + s3:GetObject on the trail bucket " +
  "(and kms:Decrypt for SSE-KMS trails), s3:PutObject + s3:GetObject on the results location";

export function sdkAthenaClient(s: AthenaSettings): AthenaClient {
  return new AthenaClient({
    region: s.region,
    // Retries are done here, with backoff that knows about the query.
    maxAttempts: 1,
    ...awsConnection({ profile: s.profile }),
  });
}

export class AthenaQueryRunner implements QueryRunner {
  private readonly client: AthenaPort;
  private readonly sleep: Sleep;
  private readonly now: () => number;

  constructor(
    readonly settings: AthenaSettings,
    private readonly opts: AthenaRunnerOptions = {},
  ) {
    this.client = opts.client ?? sdkAthenaClient(settings);
    this.sleep = opts.sleep ?? abortableSleep;
    this.now = opts.now ?? Date.now;
  }

  async run(sql: string, o: RunQueryOptions): Promise<QueryStats> {
    const s = this.settings;
    const input: StartQueryExecutionCommandInput = {
      QueryString: sql,
      WorkGroup: s.workgroup ?? "primary",
      QueryExecutionContext: { Database: s.database, ...(s.catalog ? { Catalog: s.catalog } : {}) },
    };
    if (s.outputLocation) input.ResultConfiguration = { OutputLocation: s.outputLocation };
    const started = await this.call(o, "StartQueryExecution", (signal) => this.client.send(new StartQueryExecutionCommand(input), signal ? { abortSignal: signal } : {}));
    const id = started.QueryExecutionId;
    if (!id) throw new AwsSourceError("unavailable", `Athena did not return a query id for the ${o.label} query`);
    try {
      const exec = await this.wait(id, o);
      const st = exec.QueryExecution?.Statistics;
      const stats: QueryStats = { label: o.label, queryId: id, dataScannedBytes: st?.DataScannedInBytes ?? 0, rows: 0 };
      if (st?.EngineExecutionTimeInMillis !== undefined) stats.engineMs = st.EngineExecutionTimeInMillis;
      if (st?.TotalExecutionTimeInMillis !== undefined) stats.totalMs = st.TotalExecutionTimeInMillis;
      stats.rows = await this.results(id, o);
      this.opts.onQuery?.(stats);
      return stats;
    } catch (e) {
      if (o.signal?.aborted || (e as Error).name === "AbortError") await this.stop(id);
      throw e;
    }
  }

  /** Poll until the query leaves QUEUED/RUNNING. */
  private async wait(id: string, o: RunQueryOptions): Promise<GetQueryExecutionCommandOutput> {
    const min = this.opts.pollMinMs ?? 250;
    const max = this.opts.pollMaxMs ?? 5000;
    const deadline = this.now() + (this.opts.timeoutMs ?? 30 * 60_000);
    let delay = min;
    for (;;) {
      const out = await this.call(o, "GetQueryExecution", (signal) =>
        this.client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }), signal ? { abortSignal: signal } : {}),
      );
      const status = out.QueryExecution?.Status;
      const state = status?.State;
      if (state === "SUCCEEDED") return out;
      if (state === "FAILED" || state === "CANCELLED") {
        const reason = status?.AthenaError?.ErrorMessage ?? status?.StateChangeReason ?? state;
        throw queryFailure(o.label, id, state, reason, this.settings);
      }
      if (this.now() >= deadline) {
        await this.stop(id);
        throw new AwsSourceError(
          "unavailable",
          `the Athena ${o.label} query ${id} did not finish within ${Math.round((this.opts.timeoutMs ?? 1_800_000) / 60_000)} min; it was stopped`,
        );
      }
      await this.sleep(delay, o.signal);
      delay = Math.min(max, delay * 2);
    }
  }

  private async results(id: string, o: RunQueryOptions): Promise<number> {
    let token: string | undefined;
    let names: string[] | undefined;
    let total = 0;
    let first = true;
    do {
      const out = await this.call(o, "GetQueryResults", (signal) =>
        this.client.send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 1000, ...(token ? { NextToken: token } : {}) }), signal ? { abortSignal: signal } : {}),
      );
      names ??= (out.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? "");
      let raw = out.ResultSet?.Rows ?? [];
      // The first row of a SELECT's first page repeats the column names.
      if (first && raw.length && raw[0]!.Data?.every((d, i) => d.VarCharValue === names![i])) raw = raw.slice(1);
      first = false;
      const rows: Row[] = raw.map((r) => {
        const o: Row = {};
        const data = r.Data ?? [];
        names!.forEach((n, i) => {
          const v = data[i]?.VarCharValue;
          o[n] = v === undefined ? null : v;
        });
        return o;
      });
      total += rows.length;
      if (o.onRows) await o.onRows(rows);
      token = out.NextToken;
    } while (token);
    return total;
  }

  private async stop(id: string): Promise<void> {
    try {
      await this.client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    } catch {
      // Best effort: the query may already be over.
    }
  }

  /** One API call with retries on throttling, 5xx and network errors; errors a person can act on are explained. */
  private async call<T>(o: RunQueryOptions, op: string, fn: (signal?: AbortSignal) => Promise<T>): Promise<T> {
    const attempts = this.opts.maxAttempts ?? 6;
    for (let attempt = 1; ; attempt++) {
      if (o.signal?.aborted) throw abortError();
      try {
        return await fn(o.signal);
      } catch (e) {
        const kind = classifyAwsError(e);
        if (kind === "aborted" || o.signal?.aborted) throw abortError();
        if (isRetryable(kind) && attempt < attempts) {
          const base = Math.min(20_000, 500 * 2 ** (attempt - 1));
          await this.sleep(base / 2 + Math.random() * (base / 2), o.signal);
          continue;
        }
        throw explain(e, kind, op, o.label, this.settings);
      }
    }
  }
}

function explain(e: unknown, kind: ReturnType<typeof classifyAwsError>, op: string, label: string, s: AthenaSettings): AwsSourceError {
  const what = `Athena ${op} for the ${label} query (workgroup ${s.workgroup ?? "primary"}, region ${s.region})`;
  if (kind === "access-denied")
    return new AwsSourceError("missing-permission", `${what} was denied: ${errorSummary(e)}. Needed: ${ATHENA_PERMISSIONS}`, { region: s.region, cause: e });
  if (kind === "credentials" || kind === "unrecognized-client")
    return new AwsSourceError("credentials", `${what}: AWS credentials are missing or invalid (${errorSummary(e)})`, { region: s.region, cause: e });
  if (isRetryable(kind)) return new AwsSourceError("unavailable", `${what} kept failing: ${errorSummary(e)}`, { region: s.region, cause: e });
  return new AwsSourceError("invalid-argument", `${what} failed: ${errorSummary(e)}`, { region: s.region, cause: e });
}

function queryFailure(label: string, id: string, state: string, reason: string, s: AthenaSettings): AwsSourceError {
  const table = `${s.database}.${s.table ?? "cloudtrail_logs"}`;
  let hint = "";
  if (/TABLE_NOT_FOUND|Table .* does not exist|SCHEMA_NOT_FOUND|Schema .* does not exist|DATABASE_NOT_FOUND/i.test(reason))
    hint = ` The table ${table} does not exist: create it with the statement from \`trailhound athena ddl\`.`;
  else if (/COLUMN_NOT_FOUND|cannot be resolved/i.test(reason))
    hint = ` The table ${table} lacks a column trailhound reads: if it was created from AWS's documented DDL, set the table flavor to "aws", or recreate it with \`trailhound athena ddl\`.`;
  else if (/access denied|accessdenied|not authorized|permission/i.test(reason)) hint = ` Check the permissions: ${ATHENA_PERMISSIONS}.`;
  else if (/output location|OutputLocation/i.test(reason)) hint = " Set an output location (s3://bucket/prefix/) or use a workgroup that enforces one.";
  const code = /access denied|accessdenied|not authorized/i.test(reason) ? "missing-permission" : "invalid-argument";
  return new AwsSourceError(code, `the Athena ${label} query ${id} ${state.toLowerCase()}: ${reason}.${hint}`, { region: s.region });
}
