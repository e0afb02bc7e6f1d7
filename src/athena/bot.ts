/**
 * Athena as the bot's baseline source (`TRAILHOUND_SOURCE=athena`, docs/SCALE.md):
 *
 * - Baselines over months of history are aggregated in Athena by a scheduled refresh
 *   (`TRAILHOUND_ATHENA_BASELINE_EVERY`, default daily), not by every scan: the refresh runs the
 *   baseline query once over `TRAILHOUND_ATHENA_BASELINE_DAYS` (default 90) up to its horizon,
 *   and saves the profiles in the store with the horizon (the `athena:baseline` read position)
 *   and a scan record, in one write. Scans then use the stored baselines like any other.
 * - The recent window of the digests and alerts is read incrementally from
 *   `TRAILHOUND_ATHENA_RECENT`: `lookup` (LookupEvents, the default) or the trail's bucket
 *   (`s3://bucket[/prefix]`, with the same cursors as TRAILHOUND_SOURCE=s3://...).
 * - A slash-command scan (`/cloudtrail scan user alice`) reads its window through Athena, its
 *   filter pushed into the query's WHERE (escaped literals, src/athena/sql.ts `filterSql`).
 */
import { DAY, DEFAULT_BASELINE_CONFIG, HOUR, statOf, type BaselineConfig, type Profile } from "../baseline/profile.js";
import type { ScanFilters } from "../events/types.js";
import type { GeoResolver } from "../geo/types.js";
import type { Log } from "../log.js";
import type { Cursor } from "../sources/types.js";
import { AthenaQueryRunner, formatBytes, formatUsd, queryCostUsd, type AthenaRunnerOptions, type QueryRunner } from "./client.js";
import { AthenaSource, type AthenaScanSettings } from "./engine.js";
import { profilesFromRows, type Row } from "./results.js";
import { baselineQuery, type Scope, type TableRef } from "./sql.js";
import type { AthenaBotSettings } from "./bot-settings.js";

export { athenaBotSettings, ATHENA_SETTING_HINTS, type AthenaBotSettings, type RecentSource } from "./bot-settings.js";

/** The store's read position that records the horizon of the Athena baselines. */
export const ATHENA_BASELINE_CURSOR = "athena:baseline";

/** The table and partition scope of the settings. */
export function tableOf(s: AthenaScanSettings): { table: TableRef; scope?: Scope } {
  const table: TableRef = { database: s.database, table: s.table ?? "cloudtrail_logs", ...(s.flavor ? { flavor: s.flavor } : {}) };
  const scope: Scope = { ...(s.accounts?.length ? { accounts: s.accounts } : {}), ...(s.regions?.length ? { regions: s.regions } : {}) };
  return { table, ...(scope.accounts || scope.regions ? { scope } : {}) };
}

/** The SDK runner of the settings (tests pass their own QueryRunner instead). */
export function athenaRunner(s: AthenaScanSettings, opts: AthenaRunnerOptions = {}): QueryRunner {
  return new AthenaQueryRunner(s, opts);
}

/**
 * A slash-command scan's window, read through Athena with its filters in the WHERE (and, as the S3
 * source does, an account or region filter limiting the partitions read). No baseline query: the
 * stored baselines (the refresh's) serve.
 */
export function athenaWindowSource(o: { settings: AthenaScanSettings; runner: QueryRunner; start: number; end: number; filters: ScanFilters }): AthenaSource {
  const { table, scope } = tableOf(o.settings);
  const narrowed: Scope = {
    ...(scope ?? {}),
    ...(o.filters.account ? { accounts: [o.filters.account] } : {}),
    ...(o.filters.region ? { regions: [o.filters.region] } : {}),
  };
  return new AthenaSource(o.runner, {
    table,
    window: { start: o.start, end: o.end },
    fetchBaseline: false,
    filters: o.filters,
    ...(narrowed.accounts || narrowed.regions ? { scope: narrowed } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// The scheduled refresh

/** What the refresh needs of the store (TrailStore fits). */
export interface RefreshStore {
  getCursor(key: string): Cursor | undefined;
  getBaseline(key: string): Profile | undefined;
  commitScan(
    input: {
      profiles: readonly Profile[];
      findings: readonly never[];
      scan: { at: string; by: string; target: string; window: { start: string; end: string }; events: number; findings: number; partial: boolean };
      cursors: Record<string, Cursor>;
    },
    now: number,
  ): Promise<unknown>;
}

export interface AthenaRefreshStatus {
  days: number;
  everyMs: number;
  /** Newest time the stored Athena baselines cover (ms), and when they were saved. */
  horizon?: number;
  refreshedAt?: string;
  /** The last refresh since start: identities, events, bytes scanned and cost. */
  last?: { identities: number; events: number; bytes: number; costUsd: number; tookMs: number };
  running: boolean;
  /** The last refresh failed: its message (the next attempt is at `nextAt`). */
  lastError?: string;
  nextAt?: number;
}

export interface RefresherOptions {
  store: RefreshStore;
  runner: QueryRunner;
  settings: AthenaBotSettings;
  baseline?: BaselineConfig;
  geo?: GeoResolver;
  log?: Log;
  now?: () => number;
  /** Tests: the timer (default setTimeout, unref'd). */
  setTimer?: (fn: () => void, ms: number) => { clear(): void };
}

/** After a failed refresh, try again after this long (or sooner, when the refresh interval is shorter). */
const RETRY_MS = HOUR;

/**
 * Aggregates the baselines in Athena on a schedule and saves them in the store with their horizon.
 * One refresh at a time; a refresh that is not due does not query Athena.
 */
export class AthenaBaselineRefresher {
  #running: Promise<AthenaRefreshStatus> | undefined;
  #timer: { clear(): void } | undefined;
  #stopped = false;
  #last: AthenaRefreshStatus["last"];
  #lastError: string | undefined;
  #nextAt: number | undefined;
  readonly #now: () => number;

  constructor(private readonly o: RefresherOptions) {
    this.#now = o.now ?? Date.now;
  }

  /** The stored horizon and when it was saved. */
  stored(): { horizon: number; refreshedAt: string } | undefined {
    const c = this.o.store.getCursor(ATHENA_BASELINE_CURSOR);
    return c ? { horizon: c.newestTime, refreshedAt: c.updatedAt } : undefined;
  }

  /** When the next refresh is due: now when there is no stored Athena baseline. */
  dueAt(): number {
    const s = this.stored();
    if (!s) return this.#now();
    return Date.parse(s.refreshedAt) + this.o.settings.refreshEveryMs;
  }

  status(): AthenaRefreshStatus {
    const s = this.stored();
    return {
      days: this.o.settings.baselineDays,
      everyMs: this.o.settings.refreshEveryMs,
      ...(s ? { horizon: s.horizon, refreshedAt: s.refreshedAt } : {}),
      ...(this.#last ? { last: this.#last } : {}),
      running: this.#running !== undefined,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
      ...(this.#nextAt !== undefined ? { nextAt: this.#nextAt } : {}),
    };
  }

  /** Refresh now unless one is running (then wait for that one). */
  refresh(): Promise<AthenaRefreshStatus> {
    this.#running ??= this.#refresh().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Refresh when due, then on the schedule; failures are logged and retried. */
  start(): void {
    this.#schedule(Math.max(0, this.dueAt() - this.#now()));
  }

  stop(): Promise<unknown> {
    this.#stopped = true;
    this.#timer?.clear();
    return this.#running ?? Promise.resolve();
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer?.clear();
    this.#nextAt = this.#now() + ms;
    const set =
      this.o.setTimer ??
      ((fn: () => void, t: number) => {
        const h = setTimeout(fn, Math.min(t, 2 ** 31 - 1));
        h.unref();
        return { clear: () => clearTimeout(h) };
      });
    this.#timer = set(() => {
      void this.refresh().then(
        () => this.#schedule(Math.max(0, this.dueAt() - this.#now())),
        () => this.#schedule(Math.min(RETRY_MS, this.o.settings.refreshEveryMs)),
      );
    }, ms);
  }

  async #refresh(): Promise<AthenaRefreshStatus> {
    const started = this.#now();
    const cfg = this.o.baseline ?? DEFAULT_BASELINE_CONFIG;
    const s = this.o.settings;
    // The horizon: the refresh's start. Events after it are the live scans' (they count only
    // events after a profile's trainedUntil).
    const horizon = started;
    const from = horizon - s.baselineDays * DAY;
    const { table, scope } = tableOf(s.athena);
    const sql = baselineQuery({
      table,
      ...(scope ? { scope } : {}),
      from,
      to: horizon,
      hourlyFrom: Math.floor((horizon - cfg.hourlyDays * DAY) / HOUR) * HOUR,
      caps: cfg.caps,
      ...(this.o.geo ? { ipRows: 1000 } : {}),
    });
    this.o.log?.info("athena baseline refresh started", { days: s.baselineDays, horizon: new Date(horizon).toISOString() });
    try {
      const rows: Row[] = [];
      const q = await this.o.runner.run(sql, { label: "baseline refresh", onRows: (r) => void rows.push(...r) });
      const profiles = profilesFromRows(rows, { trainedUntil: horizon - 1, baseline: cfg, ...(this.o.geo ? { geo: this.o.geo } : {}) });
      const out: Profile[] = [];
      let events = 0;
      for (const p of profiles.values()) {
        out.push(keepFromStored(p, this.o.store.getBaseline(p.key)));
        if (!p.key.startsWith("person:")) events += p.events;
      }
      const at = new Date(this.#now()).toISOString();
      await this.o.store.commitScan(
        {
          profiles: out,
          findings: [],
          scan: {
            at,
            by: "trailhound",
            target: `athena baselines (${s.baselineDays} days)`,
            window: { start: new Date(from).toISOString(), end: new Date(horizon).toISOString() },
            events,
            findings: 0,
            partial: false,
          },
          cursors: { [ATHENA_BASELINE_CURSOR]: { newestTime: horizon, newestIds: [], updatedAt: at } },
        },
        this.#now(),
      );
      this.#last = { identities: out.length, events, bytes: q.dataScannedBytes, costUsd: queryCostUsd(q.dataScannedBytes), tookMs: this.#now() - started };
      this.#lastError = undefined;
      this.o.log?.info("athena baseline refresh saved", {
        identities: out.length,
        events,
        scanned: formatBytes(q.dataScannedBytes),
        cost: formatUsd(queryCostUsd(q.dataScannedBytes)),
        query: q.queryId,
      });
      return this.status();
    } catch (err) {
      this.#lastError = err instanceof Error ? err.message : String(err);
      this.o.log?.error("athena baseline refresh failed; the stored baselines stay in use", { err });
      throw err;
    }
  }
}

/**
 * An Athena profile with what the stored one knows beyond the aggregation: the values it holds
 * back for open findings (never learn from an attack: those values move from Athena's `dims` to
 * `held` again, with Athena's counts) and its ARN and names.
 */
export function keepFromStored(a: Profile, stored: Profile | undefined): Profile {
  if (!stored) return a;
  if (stored.arn !== undefined && a.arn === undefined) a.arn = stored.arn;
  if (stored.userName !== undefined && a.userName === undefined) a.userName = stored.userName;
  if (stored.accountId !== undefined && a.accountId === undefined) a.accountId = stored.accountId;
  if (stored.held?.length) {
    a.held = stored.held.map((h) => ({
      ...h,
      values: h.values.map(([dim, value, st]) => {
        const fromAthena = statOf(a.dims[dim], value);
        if (fromAthena) delete a.dims[dim][value];
        return [dim, value, fromAthena ?? st] as [typeof dim, string, typeof st];
      }),
    }));
  }
  return a;
}
