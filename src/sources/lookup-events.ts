/**
 * The live AWS source: CloudTrail LookupEvents, every region of every account, at the API's own
 * speed limit (2 requests/s per account and region, 50 events per page), incremental and
 * resumable.
 *
 * - Regions (and accounts) are read in parallel; each account+region has one limiter, shared
 *   process-wide through a `LimiterRegistry`, so concurrent scans share the budget.
 * - Every page is fetched until there is no NextToken: no cut-off. Throttling, 5xx and network
 *   errors are retried here (the SDK client runs with `maxAttempts: 1`) with exponential backoff
 *   and jitter; a page is never dropped. When a region still cannot finish (time budget,
 *   persistent errors), `partialReasons` says which time range was read.
 * - Pushdown: `user` -> `Username` lookup attribute, else `eventName` -> `EventName`. The API takes
 *   one attribute per call: with both, `user` is pushed down (far more selective in practice, and
 *   the caller's ARN matching depends on it) and `eventName` is filtered here.
 * - Incremental: with a `CursorStore`, each account+region (`lookup:<account>:<region>`) starts at
 *   its cursor minus an overlap (default 5 min, for events that reach LookupEvents late) and drops
 *   the events the cursor lists. A cursor moves only when its region completed; filtered reads
 *   (`user`, `eventName`) neither use nor move cursors, since they do not see every event.
 * - An expired or rejected NextToken (`InvalidNextTokenException`) restarts the region from the
 *   oldest event time already delivered (EndTime = that time + 1 s), dropping what was delivered.
 * - Every read ends: a NextToken the API already gave in this pass (a loop) ends the region as
 *   partial; throttling that outlasts the retries ends it as partial (a report, not an error, even
 *   when no region could be read); `budgetMs` (the scan's deadline) stops every region, partial.
 */
import { createHash } from "node:crypto";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import type { Event as CtEvent, LookupAttribute, LookupEventsCommandInput, LookupEventsCommandOutput } from "@aws-sdk/client-cloudtrail";
import type { Cursor } from "./types.js";
import type { EventSource, ReadOptions, RecordSink, SourceResult } from "./types.js";
import { AwsSourceError, classifyAwsError, credentialsHelp, errorSummary, isRetryable, type ErrorKind } from "./aws-errors.js";
import { COMMERCIAL_REGIONS, isOptInRegion, isValidRegionName, suggestRegion } from "./aws-regions.js";
import { discoverAccounts, discoverRegions, roleArnFromTemplate, type OrganizationsPort, type RegionsPort } from "./org.js";
import { resolveAccounts, sdkStsFactory, type AccountTarget, type AwsCredentialsProvider, type StsFactory, type StsPort } from "./aws-accounts.js";
import { lookupEventsLimiters, realSleep, systemClock, type Clock, type LimiterRegistry, type Sleep } from "./rate-limiter.js";
import { awsConnection } from "../net.js";

export { AwsSourceError } from "./aws-errors.js";

/** LookupEvents returns at most 90 days. */
export const LOOKUP_RETENTION_MS = 90 * 86_400_000;
export const LOOKUP_PAGE_SIZE = 50;
export const DEFAULT_OVERLAP_MS = 5 * 60_000;
/** Bound on the ids a cursor keeps for de-duplicating the overlap. */
export const MAX_CURSOR_IDS = 5000;

// ---------------------------------------------------------------------------------------------
// Ports

/** Where per account+region positions live (the lowdb store implements it; MemoryCursorStore in tests). */
export interface CursorStore {
  get(key: string): Cursor | undefined | Promise<Cursor | undefined>;
  set(key: string, cursor: Cursor): void | Promise<void>;
}

export class MemoryCursorStore implements CursorStore {
  readonly cursors = new Map<string, Cursor>();
  constructor(initial?: Record<string, Cursor>) {
    for (const [k, v] of Object.entries(initial ?? {})) this.cursors.set(k, v);
  }
  get(key: string): Cursor | undefined {
    return this.cursors.get(key);
  }
  set(key: string, cursor: Cursor): void {
    this.cursors.set(key, cursor);
  }
}

export function lookupCursorKey(account: string, region: string): string {
  return `lookup:${account}:${region}`;
}

/** What the source needs of a CloudTrail client. `CloudTrailClient` fits. */
export interface LookupEventsClient {
  send(command: LookupEventsCommand, options?: { abortSignal?: AbortSignal }): Promise<LookupEventsCommandOutput>;
  destroy?(): void;
}

export interface LookupClientConfig {
  region: string;
  accountId: string;
  profile?: string;
  /** Assumed-role credentials; absent: the SDK default chain (or `profile`). */
  credentials?: AwsCredentialsProvider;
}

export type LookupClientFactory = (cfg: LookupClientConfig) => LookupEventsClient;

/**
 * The real client: default credential chain (or `profile`), SDK retries off (this source retries
 * itself), request timeouts on. `AWS_ENDPOINT_URL_CLOUDTRAIL` is honoured by the SDK itself.
 */
export const sdkLookupClientFactory: LookupClientFactory = (cfg) =>
  new CloudTrailClient({
    region: cfg.region,
    maxAttempts: 1,
    ...awsConnection({ credentials: cfg.credentials, profile: cfg.profile, handler: { connectionTimeout: 10_000, requestTimeout: 60_000, throwOnRequestTimeout: true } }),
  });

// ---------------------------------------------------------------------------------------------
// Options and results

export interface LookupEventsSourceOptions {
  /** Shared-config profile for the default credentials (and for STS when assuming roles). */
  profile?: string;
  /** Regions to read; empty or absent: every commercial region (not-enabled ones are skipped). */
  regions?: string[];
  /** Read these accounts by assuming each role (STS AssumeRole) instead of the caller's own account. */
  roleArns?: string[];
  roleSessionName?: string;
  /** Sent with every AssumeRole (TRAILHOUND_EXTERNAL_ID / --external-id). */
  externalId?: string;
  /**
   * Read the organisation's member accounts instead of `roleArns`: ListAccounts (active accounts,
   * allow/deny lists) and one role per account from the template (see org.ts).
   */
  organization?: { port: OrganizationsPort; roleTemplate: string; allow?: string[]; deny?: string[] };
  /** Without explicit `regions`: ask each account which regions it has enabled (account:ListRegions). */
  regionsPort?: RegionsPort;
  /** The caller's account id when already known (skips STS GetCallerIdentity). */
  accountId?: string;
  /** Push down as the `Username` lookup attribute (for assumed roles: the session name). */
  user?: string;
  /** Push down as `EventName` (filtered client-side when `user` is also given). */
  eventName?: string;
  /** Epoch ms. Default: 90 days ago. Clamped to 90 days with a note. */
  startTime?: number;
  /** Epoch ms. Default: now. */
  endTime?: number;
  /** Stop issuing requests after this many ms and report what was covered. */
  budgetMs?: number;
  /** Attempts per page for throttling / 5xx / network errors (default 8). */
  maxAttempts?: number;
  /** Exponential backoff: base (default 500 ms) and cap (default 20 s), equal jitter. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** NextToken rejections tolerated per region before it is reported partial (default 5). */
  maxRestarts?: number;
  /** Account+regions read at once (default 32). Each is paced by its own limiter. */
  concurrency?: number;
  cursorStore?: CursorStore;
  /** Use and move cursors (default: true when a cursorStore is given). */
  incremental?: boolean;
  overlapMs?: number;
  /**
   * "region" (default): a cursor is written as soon as its region completes.
   * "manual": nothing is written; call `result.commitCursors()` once the scan's results are saved.
   */
  cursorCommit?: "region" | "manual";
  /** Default: the process-wide LookupEvents registry (real time). Pass one with the same clock in tests. */
  limiters?: LimiterRegistry;
  clock?: Clock;
  sleep?: Sleep;
  /** [0, 1), for backoff jitter. */
  random?: () => number;
  clientFactory?: LookupClientFactory;
  stsFactory?: StsFactory;
}

export type RegionStatus = "complete" | "partial" | "skipped" | "failed";

export interface RegionOutcome {
  account: string;
  region: string;
  status: RegionStatus;
  /** Records delivered to the sink. */
  events: number;
  pages: number;
  requests: number;
  throttles: number;
  retries: number;
  duplicates: number;
  filteredOut: number;
  invalid: number;
  restarts: number;
  /** The range asked of this region (start moved up by a cursor). */
  range: { start: number; end: number };
  /**
   * Oldest event time read. Pages come newest first, so `[coveredFrom, range.end]` was read in
   * full, except possibly further events at `coveredFrom` itself.
   */
  coveredFrom?: number;
  reason?: string;
  error?: AwsSourceError;
  /** What ended the region when it failed (throttled, server, ...). */
  errorKind?: ErrorKind;
}

export interface LookupReadResult extends SourceResult {
  regions: RegionOutcome[];
  skippedRegions: Array<{ account: string; region: string; reason: string }>;
  notes: string[];
  /** Cursors of the completed regions (already written unless cursorCommit is "manual"). */
  cursorUpdates: Record<string, Cursor>;
  commitCursors(): Promise<void>;
  stats: {
    requests: number;
    pages: number;
    throttles: number;
    retries: number;
    duplicates: number;
    filteredOut: number;
    invalid: number;
    elapsedMs: number;
  };
}

// ---------------------------------------------------------------------------------------------

interface Unit {
  account: AccountTarget;
  region: string;
  origin: string;
  outcome: RegionOutcome;
  startedAt?: number;
  done: boolean;
}

/** Ends a unit's work early without an error of its own (budget, cancel, account-wide failure). */
class Stop extends Error {
  constructor(readonly why: string) {
    super(why);
  }
}

class PageError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly original: unknown,
    readonly attempts: number,
  ) {
    super(errorSummary(original));
  }
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.000Z$/, "Z");

/** Why a region is skipped (named, not an error) when its first request fails this way; undefined: it is an error. */
function unusableRegion(e: PageError, u: Unit, explicitRegions: boolean): string | undefined {
  if (e.kind === "dns") return `no CloudTrail endpoint answers for ${u.region} (DNS: ${errorSummary(e.original)})`;
  if (e.kind === "region-not-enabled") return `region ${u.region} is not enabled in account ${u.account.accountId}`;
  if (e.kind === "unrecognized-client" && isOptInRegion(u.region)) {
    return `region ${u.region} is not enabled in account ${u.account.accountId} (opt-in region; the security token is not recognised there)`;
  }
  // Organisations commonly deny unused regions with an SCP: when every region was asked for
  // (no explicit list), such a region is skipped; an explicitly asked region stays an error.
  if (e.kind === "access-denied" && !explicitRegions && /service control polic/i.test(errorSummary(e.original))) {
    return `region ${u.region} is denied to account ${u.account.accountId} by a service control policy`;
  }
  return undefined;
}

export class LookupEventsSource implements EventSource {
  readonly name = "lookup-events";
  private readonly o: LookupEventsSourceOptions;

  constructor(options: LookupEventsSourceOptions = {}) {
    this.o = options;
  }

  async read(sink: RecordSink, ropts: ReadOptions = {}): Promise<LookupReadResult> {
    const o = this.o;
    const clock = o.clock ?? systemClock;
    const sleep = o.sleep ?? realSleep;
    const random = o.random ?? Math.random;
    const limiters = o.limiters ?? lookupEventsLimiters;
    const clientFactory = o.clientFactory ?? sdkLookupClientFactory;
    const maxAttempts = Math.max(1, o.maxAttempts ?? 8);
    const backoffBase = o.backoffBaseMs ?? 500;
    const backoffMax = o.backoffMaxMs ?? 20_000;
    const maxRestarts = o.maxRestarts ?? 5;
    const overlapMs = o.overlapMs ?? DEFAULT_OVERLAP_MS;
    const filtered = Boolean(o.user || o.eventName);
    const incremental = Boolean(o.cursorStore) && (o.incremental ?? true) && !filtered;
    const cursorCommit = o.cursorCommit ?? "region";
    const t0 = clock.now();
    const notes: string[] = [];

    // --- validate before any request ---------------------------------------------------------
    const regions = validateRegions(o.regions);
    const explicitRegions = (o.regions ?? []).some((r) => r.trim() !== "");
    const range = validateRange(o.startTime, o.endTime, t0, notes);
    if (filtered && o.cursorStore && (o.incremental ?? true)) {
      notes.push("cursors not used: a filtered read (user/eventName) does not see every event");
    }
    const attrs: LookupAttribute[] = o.user
      ? [{ AttributeKey: "Username", AttributeValue: o.user }]
      : o.eventName
        ? [{ AttributeKey: "EventName", AttributeValue: o.eventName }]
        : [];
    const clientEventName = o.user && o.eventName ? o.eventName : undefined;
    if (clientEventName) {
      notes.push(`pushed down Username=${o.user}; EventName=${clientEventName} filtered client-side (one lookup attribute per call)`);
    }

    // --- stopping: caller's signal, time budget, end of read ---------------------------------
    const lifetime = new AbortController();
    const runCtl = new AbortController();
    const runSignal = ropts.signal ? AbortSignal.any([ropts.signal, runCtl.signal]) : runCtl.signal;
    const deadline = o.budgetMs !== undefined ? t0 + o.budgetMs : Number.POSITIVE_INFINITY;
    if (o.budgetMs !== undefined) {
      sleep(Math.max(0, o.budgetMs), lifetime.signal).then(
        () => runCtl.abort(new Stop(`time budget of ${fmtDuration(o.budgetMs!)} spent`)),
        () => undefined,
      );
    }
    const stopReason = (signal: AbortSignal): string => {
      const r: unknown = signal.reason;
      if (r instanceof Stop) return r.why;
      if (runCtl.signal.aborted && runCtl.signal.reason instanceof Stop) return runCtl.signal.reason.why;
      return "cancelled";
    };

    try {
      // --- accounts ------------------------------------------------------------------------
      const sts: StsPort | undefined =
        o.roleArns?.length || !o.accountId ? (o.stsFactory ?? sdkStsFactory)({ region: stsRegion(regions), ...(o.profile ? { profile: o.profile } : {}) }) : undefined;
      let roleArns = o.roleArns;
      if (o.organization) {
        const org = await discoverAccounts({
          org: o.organization.port,
          ...(o.organization.allow ? { allow: o.organization.allow } : {}),
          ...(o.organization.deny ? { deny: o.organization.deny } : {}),
          signal: runSignal,
        });
        if (org.notInOrganization) notes.push("not in an AWS organisation: reading the caller's own account");
        else roleArns = org.accounts.map((a) => roleArnFromTemplate(o.organization!.roleTemplate, a));
        for (const s of org.skipped) notes.push(`account ${s.account} skipped: ${s.reason}`);
        if (!org.notInOrganization && org.accounts.length === 0) {
          throw new AwsSourceError("invalid-argument", "the organisation lists no active account to read (see the allow and deny lists)");
        }
      }
      const resolved = await resolveAccounts({
        ...(roleArns ? { roleArns } : {}),
        ...(o.externalId ? { externalId: o.externalId } : {}),
        ...(o.accountId ? { accountId: o.accountId } : {}),
        ...(o.profile ? { profile: o.profile } : {}),
        sts: sts ?? unusedSts,
        sessionName: o.roleSessionName ?? "trailhound",
        clock,
        signal: runSignal,
      });
      const accountFailures = resolved.failures;
      if (resolved.targets.length === 0 && accountFailures.length > 0) throw accountFailures[0]!.error;

      // --- units -----------------------------------------------------------------------------
      const units: Unit[] = [];
      const regionsByAccount = new Map<string, string[]>();
      if (o.regionsPort && !explicitRegions) {
        await Promise.all(
          resolved.targets.map(async (account) => {
            const d = await discoverRegions({
              port: o.regionsPort!,
              account: account.accountId,
              ...(account.credentials ? { credentials: account.credentials } : {}),
              signal: runSignal,
            });
            if (d.note) notes.push(d.note);
            regionsByAccount.set(account.accountId, d.regions);
          }),
        );
      }
      for (const account of resolved.targets) {
        for (const region of regionsByAccount.get(account.accountId) ?? regions) {
          units.push({
            account,
            region,
            origin: `lookup-events:${account.accountId}/${region}`,
            done: false,
            outcome: {
              account: account.accountId,
              region,
              status: "partial",
              events: 0,
              pages: 0,
              requests: 0,
              throttles: 0,
              retries: 0,
              duplicates: 0,
              filteredOut: 0,
              invalid: 0,
              restarts: 0,
              range: { ...range },
            },
          });
        }
      }
      const accountCtl = new Map<string, AbortController>();
      for (const a of resolved.targets) accountCtl.set(a.accountId, new AbortController());
      const cursorUpdates: Record<string, Cursor> = {};
      let recordsTotal = 0;

      const progress = (): void => {
        if (!ropts.onProgress) return;
        const now = clock.now();
        const done = units.filter((u) => u.done).length;
        let pages = 0;
        let throttles = 0;
        let eta: number | undefined;
        let unknown = false;
        for (const u of units) {
          pages += u.outcome.pages;
          throttles += u.outcome.throttles;
          if (u.done) continue;
          const est = unitEta(u, now, limiters.intervalMs);
          if (est === undefined) unknown = true;
          else eta = Math.max(eta ?? 0, est);
        }
        const queued = units.filter((u) => !u.done && u.startedAt === undefined).length;
        const accounts = new Set(units.map((u) => u.account.accountId)).size;
        const pushed = attrs[0] ? ` ${attrs[0].AttributeKey}=${attrs[0].AttributeValue}` : "";
        ropts.onProgress({
          source: this.name,
          reading: `LookupEvents${pushed} in ${accounts} account${accounts === 1 ? "" : "s"}`,
          records: recordsTotal,
          done,
          total: units.length,
          unit: "regions",
          ...(eta !== undefined && !unknown && queued === 0 ? { etaMs: Math.round(eta) } : {}),
          detail: `${pages} pages, ${recordsTotal} events, ${done}/${units.length} regions${throttles ? `, ${throttles} throttled` : ""}`,
        });
      };

      const backoff = (attempt: number): number => {
        const d = Math.min(backoffMax, backoffBase * 2 ** (attempt - 1));
        return d / 2 + random() * (d / 2);
      };

      // --- one account+region -------------------------------------------------------------------
      const runUnit = async (u: Unit): Promise<void> => {
        const out = u.outcome;
        const acctSignal = AbortSignal.any([runSignal, accountCtl.get(u.account.accountId)!.signal]);
        const limiter = limiters.get(`${u.account.accountId}/${u.region}`);
        const key = lookupCursorKey(u.account.accountId, u.region);
        if (acctSignal.aborted) {
          out.reason = stopReason(acctSignal);
          u.done = true;
          return;
        }
        u.startedAt = clock.now();

        // Where to start: the cursor (minus the overlap) when it is later than the asked start.
        const seen = new Set<string>();
        const prev = incremental ? await o.cursorStore!.get(key) : undefined;
        if (prev) {
          for (const id of prev.newestIds) seen.add(id);
          out.range.start = Math.max(range.start, Math.min(prev.newestTime - overlapMs, range.end));
        }

        const client = clientFactory({
          region: u.region,
          accountId: u.account.accountId,
          ...(o.profile ? { profile: o.profile } : {}),
          ...(u.account.credentials ? { credentials: u.account.credentials } : {}),
        });
        markSendsOn(client, () => limiter.markSent());
        let firstRequest = true;

        const fetchPage = async (input: LookupEventsCommandInput): Promise<LookupEventsCommandOutput> => {
          for (let attempt = 1; ; attempt++) {
            await limiter.acquire(acctSignal);
            if (clock.now() >= deadline) throw new Stop(`time budget of ${fmtDuration(o.budgetMs!)} spent`);
            out.requests++;
            try {
              return await client.send(new LookupEventsCommand(input), { abortSignal: acctSignal });
            } catch (e) {
              if (acctSignal.aborted) throw new Stop(stopReason(acctSignal));
              const kind = classifyAwsError(e);
              if (!isRetryable(kind) || attempt >= maxAttempts) throw new PageError(kind, e, attempt);
              out.retries++;
              const delay = backoff(attempt);
              if (kind === "throttled") {
                out.throttles++;
                // Everyone sharing this account+region backs off, not only this request.
                limiter.defer(delay);
              } else {
                await sleep(delay, acctSignal);
              }
            } finally {
              if (firstRequest) {
                // The first request of a region pays for SDK set-up and a new connection, so it
                // may reach the server late; the third request must still be 1 s after it.
                // Spacing the second from the first answer guarantees that, once per region.
                firstRequest = false;
                limiter.markSent();
              }
            }
          }
        };

        // Paging state.
        let nextToken: string | undefined;
        let endForPass = out.range.end;
        let oldest: number | undefined;
        let newest: number | undefined;
        const boundaryIds = new Set<string>(); // ids at `oldest`
        let restartAt: number | undefined; // events after this were delivered before a restart
        let restartIds = new Set<string>();
        let restartsWithoutProgress = 0;
        const recent: Array<{ id: string; t: number }> = []; // for the next cursor
        /** Digests of the NextTokens of this pass: one given twice is a loop. */
        let tokens = new Set<string>();

        try {
          if (out.range.start > out.range.end) {
            out.status = "complete";
          } else {
            for (;;) {
              if (acctSignal.aborted) throw new Stop(stopReason(acctSignal));
              let page: LookupEventsCommandOutput;
              try {
                page = await fetchPage({
                  StartTime: new Date(out.range.start),
                  EndTime: new Date(endForPass),
                  MaxResults: LOOKUP_PAGE_SIZE,
                  ...(attrs.length ? { LookupAttributes: attrs } : {}),
                  ...(nextToken ? { NextToken: nextToken } : {}),
                });
              } catch (e) {
                if (e instanceof PageError && e.kind === "invalid-next-token") {
                  out.restarts++;
                  if (out.restarts > maxRestarts || restartsWithoutProgress >= 2) {
                    throw new PageError("invalid-next-token", e.original, e.attempts);
                  }
                  // Restart from the oldest time delivered. EndTime is a second later so that it
                  // does not matter whether the API treats it as inclusive; what was delivered is dropped.
                  const before = restartAt;
                  restartAt = oldest;
                  restartIds = new Set(boundaryIds);
                  restartsWithoutProgress = before !== undefined && before === restartAt ? restartsWithoutProgress + 1 : 0;
                  if (oldest !== undefined) endForPass = Math.min(out.range.end, oldest + 1000);
                  nextToken = undefined;
                  tokens = new Set();
                  continue;
                }
                throw e;
              }
              out.pages++;
              for (const ev of page.Events ?? []) {
                const t = eventTime(ev);
                const id = ev.EventId ?? undefined;
                if (t !== undefined) {
                  if (newest === undefined || t > newest) newest = t;
                  if (oldest === undefined || t < oldest) {
                    oldest = t;
                    boundaryIds.clear();
                  }
                  if (id && t === oldest) boundaryIds.add(id);
                  if (id && recent.length < MAX_CURSOR_IDS && t >= newest - overlapMs) recent.push({ id, t });
                }
                if (restartAt !== undefined && t !== undefined && (t > restartAt || (id && t === restartAt && restartIds.has(id)))) {
                  out.duplicates++;
                  continue;
                }
                if (id && seen.has(id)) {
                  out.duplicates++;
                  continue;
                }
                if (clientEventName && ev.EventName !== clientEventName) {
                  out.filteredOut++;
                  continue;
                }
                const raw = ev.CloudTrailEvent;
                if (typeof raw !== "string") {
                  out.invalid++;
                  sink.skip("invalid-json", u.origin, 1, `event ${id ?? "?"} has no CloudTrailEvent`);
                  continue;
                }
                let obj: unknown;
                try {
                  obj = JSON.parse(raw);
                } catch (pe) {
                  out.invalid++;
                  sink.skip("invalid-json", u.origin, 1, `event ${id ?? "?"}: ${(pe as Error).message}`);
                  continue;
                }
                sink.record(obj, u.origin);
                out.events++;
                recordsTotal++;
              }
              if (oldest !== undefined) out.coveredFrom = oldest;
              progress();
              nextToken = page.NextToken || undefined;
              if (!nextToken) break;
              const digest = createHash("sha1").update(nextToken).digest("base64");
              if (tokens.has(digest)) throw new Stop(`LookupEvents gave a NextToken it had already given (a paging loop) after ${out.pages} pages; the region was ended there`);
              tokens.add(digest);
            }
            out.status = "complete";
            out.coveredFrom = out.range.start;
          }

          // Completed: the cursor may move (never backwards).
          if (incremental && newest !== undefined && (!prev || newest >= prev.newestTime)) {
            const cur: Cursor = {
              newestTime: newest,
              newestIds: recent.filter((r) => r.t >= newest! - overlapMs).map((r) => r.id),
              updatedAt: new Date(clock.now()).toISOString(),
            };
            cursorUpdates[key] = cur;
            if (cursorCommit === "region") await o.cursorStore!.set(key, cur);
          }
        } catch (e) {
          if (e instanceof Stop) {
            out.status = "partial";
            out.reason = e.why;
          } else if (e instanceof PageError) {
            this.handlePageError(e, u, o, accountCtl, explicitRegions);
          } else if ((e as { name?: string })?.name === "AbortError" || acctSignal.aborted) {
            out.status = "partial";
            out.reason = stopReason(acctSignal);
          } else {
            throw e;
          }
        } finally {
          u.done = true;
          client.destroy?.();
          progress();
        }
      };

      // --- run them, `concurrency` at a time ----------------------------------------------
      const concurrency = Math.max(1, o.concurrency ?? 32);
      let next = 0;
      let unexpected: unknown;
      const worker = async (): Promise<void> => {
        while (next < units.length) {
          const u = units[next++]!;
          try {
            await runUnit(u);
          } catch (e) {
            unexpected ??= e;
            runCtl.abort(new Stop("stopped by an unexpected error"));
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, units.length) }, worker));
      if (unexpected !== undefined) throw unexpected;

      return this.finish({ units, accountFailures, notes, cursorUpdates, cursorCommit, o, t0, clock, range });
    } finally {
      lifetime.abort();
    }
  }

  private handlePageError(e: PageError, u: Unit, o: LookupEventsSourceOptions, accountCtl: Map<string, AbortController>, explicitRegions: boolean): void {
    const out = u.outcome;
    out.errorKind = e.kind;
    const where = `account ${u.account.accountId}, region ${u.region}`;
    const who = u.account.roleArn ? ` (as ${u.account.roleArn})` : o.profile ? ` (profile ${o.profile})` : "";
    const ctx = { account: u.account.accountId, region: u.region, cause: e.original };
    // A region that cannot be used at all (first request) is skipped and named, not an error.
    const skipped = out.pages === 0 ? unusableRegion(e, u, explicitRegions) : undefined;
    if (skipped !== undefined) {
      out.status = "skipped";
      out.reason = skipped;
      return;
    }
    out.status = out.pages > 0 ? "partial" : "failed";
    if (e.kind === "access-denied") {
      out.error = new AwsSourceError(
        "missing-permission",
        `missing permission cloudtrail:LookupEvents in ${where}${who}: grant it to the identity trailhound runs as (or lift the SCP/permission boundary that denies it in this region) [${errorSummary(e.original)}]`,
        ctx,
      );
    } else if (e.kind === "credentials" || e.kind === "unrecognized-client") {
      out.error = new AwsSourceError(
        "credentials",
        `AWS credentials${who} are missing, expired or invalid (${where}; ${errorSummary(e.original)}): ${credentialsHelp(o.profile)}`,
        ctx,
      );
      // Same credentials for every region of this account: stop the others now.
      accountCtl.get(u.account.accountId)?.abort(new Stop(`not read: credentials for account ${u.account.accountId} failed`));
    } else if (e.kind === "invalid-time") {
      out.error = new AwsSourceError("invalid-time", `LookupEvents rejected the time range in ${where}: ${errorSummary(e.original)}`, ctx);
    } else if (e.kind === "invalid-next-token") {
      out.error = new AwsSourceError("unavailable", `LookupEvents kept rejecting the NextToken in ${where} after ${out.restarts} restarts (${errorSummary(e.original)})`, ctx);
    } else if (isRetryable(e.kind)) {
      out.error = new AwsSourceError(
        "unavailable",
        `LookupEvents in ${where} still failing after ${e.attempts} attempt${e.attempts === 1 ? "" : "s"} (${e.kind}: ${errorSummary(e.original)})`,
        ctx,
      );
    } else {
      out.error = new AwsSourceError("unavailable", `LookupEvents failed in ${where}: ${errorSummary(e.original)}`, ctx);
    }
    out.reason = out.error.message;
  }

  private finish(args: {
    units: Unit[];
    accountFailures: Array<{ roleArn: string; accountId?: string; error: AwsSourceError }>;
    notes: string[];
    cursorUpdates: Record<string, Cursor>;
    cursorCommit: "region" | "manual";
    o: LookupEventsSourceOptions;
    t0: number;
    clock: Clock;
    range: { start: number; end: number };
  }): LookupReadResult {
    const { units, accountFailures, notes, cursorUpdates, o } = args;
    const outcomes = units.map((u) => u.outcome);
    const complete = outcomes.filter((r) => r.status === "complete");
    const partial = outcomes.filter((r) => r.status === "partial");
    const failed = outcomes.filter((r) => r.status === "failed");
    const skipped = outcomes.filter((r) => r.status === "skipped");

    // Nothing could be read at all: an error the person must act on, not an empty report. Unless
    // the API only asked to slow down (throttling, 5xx, network that outlasted the retries): then
    // a partial report that says so, the next scan reads it.
    const readAnything = complete.length > 0 || outcomes.some((r) => r.pages > 0);
    const onlyTransient = failed.length > 0 && accountFailures.length === 0 && failed.every((f) => f.errorKind !== undefined && isRetryable(f.errorKind));
    if (!readAnything && !onlyTransient && (failed.length > 0 || skipped.length > 0 || accountFailures.length > 0)) {
      const errors = [...failed.map((f) => f.error).filter((e): e is AwsSourceError => !!e), ...accountFailures.map((f) => f.error)];
      const rank: Record<string, number> = { credentials: 0, "missing-permission": 1, "invalid-time": 2 };
      errors.sort((a, b) => (rank[a.code] ?? 9) - (rank[b.code] ?? 9));
      const first = errors[0];
      if (first) {
        const others = failed.length + accountFailures.length - 1;
        if (others > 0 && first.message.length < 2000) {
          throw new AwsSourceError(first.code, `${first.message} (and ${others} more account/region failure${others === 1 ? "" : "s"})`, first.details);
        }
        throw first;
      }
      if (failed.length === 0 && accountFailures.length === 0 && skipped.length > 0) {
        const anyOptIn = skipped.some((s) => /not enabled/.test(s.reason ?? ""));
        throw new AwsSourceError(
          anyOptIn ? "credentials" : "unavailable",
          `no region could be read: ${skipped.map((s) => `${s.region}: ${s.reason}`).join("; ")}${anyOptIn ? `. If these regions are enabled, the credentials are not valid: ${credentialsHelp(o.profile)}` : ""}`,
        );
      }
      // Every unit stopped before its first page (cancelled, or a budget of ~0).
    }

    const partialReasons: string[] = [];
    for (const f of accountFailures) partialReasons.push(`account ${f.accountId ?? f.roleArn} not read: ${f.error.message}`);
    for (const r of [...failed, ...partial]) {
      const what = `${r.account}/${r.region}`;
      const why = r.reason ?? "incomplete";
      if (r.coveredFrom !== undefined && r.pages > 0) {
        partialReasons.push(
          `${what}: ${why}; read ${iso(r.coveredFrom)} .. ${iso(r.range.end)} (${r.events} events, ${r.pages} pages), not read ${iso(r.range.start)} .. ${iso(r.coveredFrom)}`,
        );
      } else if (r.pages > 0) {
        partialReasons.push(`${what}: ${why}; ${r.pages} pages read (no event times), range ${iso(r.range.start)} .. ${iso(r.range.end)} incomplete`);
      } else {
        partialReasons.push(`${what}: ${why}; nothing read of ${iso(r.range.start)} .. ${iso(r.range.end)}`);
      }
    }
    if (partialReasons.length > 0) {
      partialReasons.push(
        `complete: ${complete.length} of ${outcomes.length - skipped.length} account/regions${complete.length ? ` (${complete.map((r) => `${r.account}/${r.region}`).join(", ")})` : ""}`,
      );
    }

    const skippedRegions = skipped.map((r) => ({ account: r.account, region: r.region, reason: r.reason ?? "skipped" }));
    const stats = {
      requests: sum(outcomes, (r) => r.requests),
      pages: sum(outcomes, (r) => r.pages),
      throttles: sum(outcomes, (r) => r.throttles),
      retries: sum(outcomes, (r) => r.retries),
      duplicates: sum(outcomes, (r) => r.duplicates),
      filteredOut: sum(outcomes, (r) => r.filteredOut),
      invalid: sum(outcomes, (r) => r.invalid),
      elapsedMs: args.clock.now() - args.t0,
    };
    const records = sum(outcomes, (r) => r.events);
    const accounts = new Set(outcomes.map((r) => r.account)).size;
    const noteParts = [
      `${records} events from ${accounts} account${accounts === 1 ? "" : "s"} x ${new Set(outcomes.map((r) => r.region)).size} regions, ${iso(args.range.start)} .. ${iso(args.range.end)}`,
      `${stats.pages} pages, ${stats.requests} requests, ${stats.throttles} throttled`,
    ];
    if (stats.duplicates) noteParts.push(`${stats.duplicates} already-seen events dropped`);
    if (stats.filteredOut) noteParts.push(`${stats.filteredOut} filtered out client-side`);
    if (skippedRegions.length) noteParts.push(`skipped regions: ${skippedRegions.map((s) => `${s.account}/${s.region}`).join(", ")}`);
    noteParts.push(...notes);

    const store = o.cursorStore;
    let committed = args.cursorCommit === "region";
    return {
      summary: { kind: "lookup-events", name: this.name, records, skipped: stats.invalid, note: noteParts.join("; ") },
      partialReasons,
      regions: outcomes,
      coverage: { accountRegions: outcomes.length - skippedRegions.length },
      skippedRegions,
      notes,
      cursorUpdates,
      async commitCursors() {
        if (committed || !store) return;
        committed = true;
        for (const [k, c] of Object.entries(cursorUpdates)) await store.set(k, c);
      },
      stats,
    };
  }
}

// ---------------------------------------------------------------------------------------------

const unusedSts: StsPort = {
  getCallerIdentity: () => Promise.reject(new Error("STS not configured")),
  assumeRole: () => Promise.reject(new Error("STS not configured")),
};

function stsRegion(regions: string[]): string {
  return regions.includes("us-east-1") ? "us-east-1" : (regions[0] ?? "us-east-1");
}

export function validateRegions(input: string[] | undefined): string[] {
  const list = (input ?? []).map((r) => r.trim().toLowerCase()).filter((r) => r.length > 0);
  if (list.length === 0) return [...COMMERCIAL_REGIONS];
  for (const r of list) {
    if (!isValidRegionName(r)) {
      const hint = suggestRegion(r);
      throw new AwsSourceError("unknown-region", `unknown AWS region "${r}"${hint ? ` (did you mean "${hint}"?)` : ""}: region names look like us-east-1 or eu-west-2`, {
        region: r,
      });
    }
  }
  return [...new Set(list)];
}

export function validateRange(startTime: number | undefined, endTime: number | undefined, now: number, notes: string[]): { start: number; end: number } {
  for (const [name, v] of [
    ["start", startTime],
    ["end", endTime],
  ] as const) {
    if (v !== undefined && !Number.isFinite(v)) {
      throw new AwsSourceError("invalid-time", `the ${name} time is not a valid time (${String(v)})`);
    }
  }
  const retentionStart = now - LOOKUP_RETENTION_MS;
  const end = Math.min(endTime ?? now, now);
  let start = startTime ?? retentionStart;
  if (start > end) {
    throw new AwsSourceError("invalid-time", `the start time ${iso(start)} is after the end time ${iso(end)}`);
  }
  if (end < retentionStart) {
    throw new AwsSourceError(
      "invalid-time",
      `the whole range ${iso(start)} .. ${iso(end)} is older than the 90 days LookupEvents keeps; read the trail's log files instead (S3 or --input)`,
    );
  }
  if (start < retentionStart) {
    notes.push(`start clamped from ${iso(start)} to ${iso(retentionStart)}: LookupEvents keeps 90 days (older events are only in the trail's S3 logs)`);
    start = retentionStart;
  }
  return { start, end };
}

interface MiddlewareStackLike {
  add(mw: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>, opts: Record<string, unknown>): void;
}

/**
 * On an SDK client, tell the limiter when each request really leaves (after serialising and
 * signing, just before the HTTP handler), so the spacing holds at the wire and not only at the
 * grant. Other clients (test doubles) are paced by their grants alone.
 */
function markSendsOn(client: LookupEventsClient, onSend: () => void): void {
  const stack = (client as { middlewareStack?: MiddlewareStackLike }).middlewareStack;
  if (!stack || typeof stack.add !== "function") return;
  stack.add(
    (next) => (args) => {
      onSend();
      return next(args);
    },
    { step: "deserialize", priority: "low", name: "trailhoundRequestPacing", override: true },
  );
}

function eventTime(ev: CtEvent): number | undefined {
  const t = ev.EventTime;
  if (t instanceof Date) {
    const ms = t.getTime();
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}

/** Estimated ms left for a unit: pages so far scaled by the share of its time range still unread. */
function unitEta(u: Unit, now: number, intervalMs: number): number | undefined {
  const r = u.outcome;
  if (u.startedAt === undefined || r.pages === 0 || r.coveredFrom === undefined) return undefined;
  const span = r.range.end - r.range.start;
  if (span <= 0) return 0;
  const covered = Math.min(1, Math.max(0, (r.range.end - r.coveredFrom) / span));
  if (covered <= 0) return undefined;
  const perPage = Math.max(intervalMs, (now - u.startedAt) / r.pages);
  return ((r.pages * (1 - covered)) / covered) * perPage;
}

function sum<T>(xs: T[], f: (x: T) => number): number {
  let s = 0;
  for (const x of xs) s += f(x);
  return s;
}

function fmtDuration(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}
