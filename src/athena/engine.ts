/**
 * The Athena engine: Athena does the heavy reading, the in-process core does the detecting.
 *
 * Two queries, started together:
 * 1. baseline: per-identity marginals over the baseline range (default: the 90 days before the
 *    detection window), for the identities active in the window only. They become `Profile`s that
 *    the scanner uses as stored profiles (ScanOptions.storedProfile).
 * 2. window: the detection window's events as full records, pushed into the scanner like records
 *    read from files; the same detectors run on them.
 * The window's rows are held back (one result page) until the baseline is loaded, because the
 * scanner looks a stored profile up when it first meets an identity.
 */
import { DEFAULT_BASELINE_CONFIG, DAY, HOUR, type BaselineConfig, type Profile } from "../baseline/profile.js";
import type { GeoResolver } from "../geo/types.js";
import { runScan } from "../scan/run.js";
import { detectionWindow } from "../scan/time.js";
import type { ScanOptions, ScanResult } from "../scan/scanner.js";
import { AwsSourceError } from "../sources/aws-errors.js";
import type { EventSource, ReadOptions, RecordSink, SourceProgress, SourceResult } from "../sources/types.js";
import { AthenaQueryRunner, formatBytes, formatUsd, queryCostUsd, type AthenaRunnerOptions, type AthenaSettings, type QueryRunner, type QueryStats } from "./client.js";
import { profilesFromRows, recordFromRow } from "./results.js";
import { parseS3Url, type TableFlavor } from "./schema.js";
import { baselineQuery, dayPartition, windowEventsQuery, type Scope, type TableRef } from "./sql.js";
import type { ScanFilters } from "../events/types.js";

/** IPs fetched per identity when a geo resolver derives network and country from them. */
const GEO_IP_ROWS = 1000;

/** The detection window the scanner will use (shared with the other live sources). */
export { detectionWindow };

export interface AthenaSourceOptions {
  table: TableRef;
  scope?: Scope;
  /** The detection window (see `detectionWindow`). */
  window: { start: number; end: number };
  baseline?: BaselineConfig;
  /** Days of history before the window (default: the baseline horizon, 90). */
  baselineDays?: number;
  /** Run the baseline query (default true). Off: the window only, baselines from the store. */
  fetchBaseline?: boolean;
  geo?: GeoResolver;
  /** Each finished query: bytes scanned, for cost reporting. */
  onQuery?: (q: QueryStats) => void;
  /** The scan's filters, pushed into the window query's WHERE (the scanner filters again). */
  filters?: ScanFilters;
}

/**
 * An `EventSource` whose records are the detection window's events from Athena, and whose
 * `storedProfile` lookup serves the baseline computed by Athena.
 */
export class AthenaSource implements EventSource {
  readonly name: string;
  readonly queries: QueryStats[] = [];
  private profiles = new Map<string, Profile>();
  private baselineLoaded = false;

  constructor(
    private readonly runner: QueryRunner,
    private readonly o: AthenaSourceOptions,
  ) {
    this.name = `athena ${o.table.database ? o.table.database + "." : ""}${o.table.table}`;
  }

  /** For ScanOptions.storedProfile: Athena's baseline, or the fallback (the store) for identities it lacks. */
  storedProfile(fallback?: (key: string) => Profile | undefined): (key: string) => Profile | undefined {
    return (key) => (this.baselineLoaded ? this.profiles.get(key) : undefined) ?? fallback?.(key);
  }

  /**
   * For ScanOptions.storedTrainedUntil: the `trainedUntil` of the profile that
   * `storedProfile(...)` serves: Athena's baseline's, or the fallback's (the store's) for
   * identities it lacks.
   */
  storedTrainedUntil(fallback: (key: string) => number | undefined): (key: string) => number | undefined {
    return (key) => {
      const p = this.baselineLoaded ? this.profiles.get(key) : undefined;
      return p !== undefined ? p.trainedUntil : fallback(key);
    };
  }

  /** What the progress message says is read: `Athena db.table WHERE user = alice, 2026/12/06 to 2026/12/07`. */
  reading(): string {
    const f = this.o.filters ?? {};
    const where = (["user", "account", "ip", "region", "eventName"] as const).filter((k) => f[k]).map((k) => `${k} = ${f[k]}`);
    const days = [dayPartition(this.o.window.start), dayPartition(this.o.window.end)];
    const what = this.o.fetchBaseline === false ? "" : ` (and ${this.o.baselineDays ?? (this.o.baseline ?? DEFAULT_BASELINE_CONFIG).horizonDays} days of baselines)`;
    return `Athena ${this.name.replace(/^athena /, "")}${where.length ? ` WHERE ${where.join(" AND ")}` : ""}, ${days[0]}${days[1] !== days[0] ? ` to ${days[1]}` : ""}${what}`;
  }

  /** The SQL this source runs, for `--dry-run` style output and tests. */
  sql(): { baseline?: string; window: string } {
    const { start, end } = this.o.window;
    const cfg = this.o.baseline ?? DEFAULT_BASELINE_CONFIG;
    const days = this.o.baselineDays ?? cfg.horizonDays;
    const scope = this.o.scope ? { scope: this.o.scope } : {};
    const out: { baseline?: string; window: string } = {
      window: windowEventsQuery({ table: this.o.table, from: start, to: end, ...scope, ...(this.o.filters ? { filters: this.o.filters } : {}) }),
    };
    if (this.o.fetchBaseline !== false)
      out.baseline = baselineQuery({
        table: this.o.table,
        from: start - days * DAY,
        to: start,
        hourlyFrom: Math.floor((end - cfg.hourlyDays * DAY) / HOUR) * HOUR,
        caps: cfg.caps,
        ...(this.o.geo ? { ipRows: GEO_IP_ROWS } : {}),
        onlyActiveIn: { from: start, to: end },
        ...scope,
      });
    return out;
  }

  async read(sink: RecordSink, opts: ReadOptions = {}): Promise<SourceResult> {
    const sql = this.sql();
    const cfg = this.o.baseline ?? DEFAULT_BASELINE_CONFIG;
    const ctrl = new AbortController();
    const onAbort = () => ctrl.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.signal?.aborted) ctrl.abort();
    let records = 0;
    let done = 0;
    const total = sql.baseline ? 2 : 1;
    const progress = (detail: string) => {
      const p: SourceProgress = { source: "athena", records, done, total, unit: "queries", detail, reading: this.reading() };
      opts.onProgress?.(p);
    };
    const finished = (q: QueryStats) => {
      this.queries.push(q);
      done++;
      this.o.onQuery?.(q);
      progress(`${q.label}: ${formatBytes(q.dataScannedBytes)} scanned`);
    };

    let baselineDone: Promise<void>;
    if (sql.baseline) {
      const rows: Array<Record<string, string | null>> = [];
      baselineDone = this.runner.run(sql.baseline, { label: "baseline", signal: ctrl.signal, onRows: (r) => void rows.push(...r) }).then((q) => {
        this.profiles = profilesFromRows(rows, {
          trainedUntil: this.o.window.start - 1,
          baseline: cfg,
          ...(this.o.geo ? { geo: this.o.geo } : {}),
        });
        this.baselineLoaded = true;
        finished(q);
      });
    } else baselineDone = Promise.resolve();
    // A failed baseline stops the window query too.
    baselineDone.catch(() => ctrl.abort());

    progress("queries running");
    const origin = this.name;
    const windowDone = this.runner
      .run(sql.window, {
        label: "window events",
        signal: ctrl.signal,
        onRows: async (rows) => {
          await baselineDone;
          for (const r of rows) {
            sink.record(recordFromRow(r, this.o.table.flavor ?? "trailhound"), origin);
            records++;
          }
          progress(`window events: ${records} records`);
        },
      })
      .then(finished);

    try {
      const results = await Promise.allSettled([baselineDone, windowDone]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      // The baseline's own error explains more than the abort it caused in the window query.
      if (results[0].status === "rejected") throw results[0].reason;
      if (failed) throw failed.reason;
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
    }

    const cost = this.queries.reduce((s, q) => s + queryCostUsd(q.dataScannedBytes), 0);
    const note =
      this.queries.map((q) => `${q.label}: ${formatBytes(q.dataScannedBytes)} scanned, ${formatUsd(queryCostUsd(q.dataScannedBytes))}`).join("; ") +
      ` (total ${formatUsd(cost)}; baseline for ${this.profiles.size} identities)`;
    return { summary: { kind: "athena", name: this.name, records, skipped: 0, note }, partialReasons: [] };
  }
}

// ---------------------------------------------------------------------------------------------
// One call for the CLI and the bot

export interface AthenaScanSettings extends AthenaSettings {
  flavor?: TableFlavor;
  /** Partition pruning: only these accounts / regions. */
  accounts?: string[];
  regions?: string[];
}

export interface AthenaScanOptions extends Omit<ScanOptions, "storedProfile"> {
  /** Athena settings, or any QueryRunner (tests use DuckDB). */
  athena: AthenaScanSettings | { runner: QueryRunner; table: TableRef; scope?: Scope };
  runnerOptions?: AthenaRunnerOptions;
  baselineDays?: number;
  fetchBaseline?: boolean;
  /** Stored baselines (the store), used for identities Athena has no baseline for. */
  storedProfile?: (key: string) => Profile | undefined;
  /**
   * The stored baselines' `trainedUntil` (the store's, as `storedProfile`'s), for identities Athena
   * has no baseline for; Athena's own baselines answer for the others.
   */
  storedTrainedUntil?: (key: string) => number | undefined;
  onQuery?: (q: QueryStats) => void;
  onProgress?: (p: SourceProgress) => void;
  signal?: AbortSignal;
}

export interface AthenaScanResult extends ScanResult {
  queries: QueryStats[];
  /** Sum of the per-query estimates ($5/TB, 10 MB minimum per query). */
  costUsd: number;
}

export function athenaSettingsProblems(s: AthenaScanSettings): string[] {
  const out: string[] = [];
  if (!s.region) out.push("athena region: missing (e.g. us-east-1, the region of the workgroup and the table)");
  if (!s.database) out.push("athena database: missing (the Glue database that holds the CloudTrail table)");
  if (s.database && !/^[a-z0-9_]{1,255}$/i.test(s.database)) out.push(`athena database "${s.database}": letters, digits and underscores only`);
  if (s.table && !/^[a-z0-9_]{1,255}$/i.test(s.table)) out.push(`athena table "${s.table}": letters, digits and underscores only`);
  if (s.outputLocation) {
    try {
      parseS3Url(s.outputLocation);
    } catch (e) {
      out.push(`athena output location: ${(e as Error).message}`);
    }
  }
  for (const a of s.accounts ?? []) if (!/^\d{12}$/.test(a)) out.push(`account "${a}": expected 12 digits`);
  return out;
}

/** Scan the detection window with Athena doing the reading and aggregation. */
export async function runAthenaScan(o: AthenaScanOptions): Promise<AthenaScanResult> {
  const win = detectionWindow(o.now, o.since, o.until);
  let runner: QueryRunner;
  let table: TableRef;
  let scope: Scope | undefined;
  if ("runner" in o.athena) {
    runner = o.athena.runner;
    table = o.athena.table;
    scope = o.athena.scope;
  } else {
    const s = o.athena;
    const problems = athenaSettingsProblems(s);
    if (problems.length) throw new AwsSourceError("invalid-argument", `Athena settings: ${problems.join("; ")}`);
    runner = new AthenaQueryRunner(s, o.runnerOptions ?? {});
    table = { database: s.database, table: s.table ?? "cloudtrail_logs", ...(s.flavor ? { flavor: s.flavor } : {}) };
    if (s.accounts?.length || s.regions?.length) scope = { ...(s.accounts?.length ? { accounts: s.accounts } : {}), ...(s.regions?.length ? { regions: s.regions } : {}) };
  }
  const source = new AthenaSource(runner, {
    table,
    window: win,
    ...(scope ? { scope } : {}),
    ...(o.baseline ? { baseline: o.baseline } : {}),
    ...(o.baselineDays !== undefined ? { baselineDays: o.baselineDays } : {}),
    ...(o.fetchBaseline !== undefined ? { fetchBaseline: o.fetchBaseline } : {}),
    ...(o.geo ? { geo: o.geo } : {}),
    ...(o.onQuery ? { onQuery: o.onQuery } : {}),
  });
  const { athena: _a, runnerOptions: _r, baselineDays: _b, fetchBaseline: _f, onQuery: _q, storedProfile, storedTrainedUntil, ...scanOpts } = o;
  const res = await runScan({
    ...scanOpts,
    since: { kind: "absolute", at: win.start },
    until: win.end,
    storedProfile: source.storedProfile(storedProfile),
    // Without it the scanner takes trainedUntil from storedProfile above: the same profile.
    ...(storedTrainedUntil ? { storedTrainedUntil: source.storedTrainedUntil(storedTrainedUntil) } : {}),
    sources: [source],
  });
  return { ...res, queries: source.queries, costUsd: source.queries.reduce((s, q) => s + queryCostUsd(q.dataScannedBytes), 0) };
}
