import { LookupEventsSource, type LookupEventsSourceOptions, type CursorStore } from "./lookup-events.js";
import { sdkOrganizationsPort, sdkRegionsPort, type OrganizationsPort, type RegionsPort } from "./org.js";
import { parseTrailUrl, S3Source, type S3Port } from "./s3.js";
import type { EventSource } from "./types.js";
import type { ScanFilters } from "../events/types.js";
import { athenaBotSettings, type AthenaBotSettings } from "../athena/bot-settings.js";
import type { QueryRunner } from "../athena/client.js";

export interface AwsCliOptions {
  /** Absolute window start (ms) and end (ms): live scans always resolve relative times against now. */
  start: number;
  end: number;
  filters: ScanFilters;
  profile?: string;
  /** Comma-separated list; default TRAILHOUND_REGIONS; else the regions each account has enabled. */
  regions?: string;
  roleArns?: string[];
  /** `arn:aws:iam::{account}:role/Name`: read every active account of the organisation. */
  roleTemplate?: string;
  externalId?: string;
  /** Only these accounts / never these (with a role template). */
  accounts?: string[];
  excludeAccounts?: string[];
  cursorStore?: CursorStore;
  /** The read's deadline: a duration (`90m`, `2h`) or `none`; default TRAILHOUND_SCAN_DEADLINE, else 2h. */
  deadline?: string;
  env?: Record<string, string | undefined>;
  /** Tests: the Organizations and account:ListRegions ports (default: the SDK's). */
  organizationsPort?: OrganizationsPort;
  regionsPort?: RegionsPort;
}

/** A live read stops after this long by default, and reports what it covered (partial). */
export const DEFAULT_SCAN_DEADLINE = "2h";

export class DeadlineSettingError extends Error {
  readonly code = "usage";
}

/** `30m`, `2h`, `1d` -> ms; `none` or `0` -> undefined (no deadline). */
export function parseDeadline(v: string, what: string): number | undefined {
  const t = v.trim().toLowerCase();
  if (t === "none" || t === "0" || t === "off") return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(t);
  const unit: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  if (!m || Number(m[1]) <= 0) throw new DeadlineSettingError(`${what}=${JSON.stringify(v)}: expected a duration such as 30m, 2h or 1d, or none`);
  return Math.round(Number(m[1]) * unit[m[2]!]!);
}

function splitList(s: string | undefined): string[] | undefined {
  const l = (s ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  return l.length ? l : undefined;
}

/** The LookupEvents source for `trailhound scan` without --input (and for the bot's scans). */
export function awsSource(o: AwsCliOptions): EventSource {
  const env = o.env ?? process.env;
  const opts: LookupEventsSourceOptions = { startTime: o.start, endTime: o.end };
  const profile = o.profile ?? env.AWS_PROFILE;
  if (profile) opts.profile = profile;
  // A --region filter narrows the regions read (global services log in us-east-1).
  const regions = splitList(o.regions) ?? (o.filters.region ? [o.filters.region] : splitList(env.TRAILHOUND_REGIONS));
  if (regions) opts.regions = regions;
  // Without a region list, each account says which regions it has enabled (account:ListRegions).
  else opts.regionsPort = o.regionsPort ?? sdkRegionsPort(profile ? { profile } : {});
  const roles = o.roleArns?.length ? o.roleArns : splitList(env.TRAILHOUND_ROLE_ARNS);
  const template = o.roleTemplate ?? (env.TRAILHOUND_ROLE_TEMPLATE?.trim() || undefined);
  if (roles) opts.roleArns = roles;
  else if (template) {
    const allow = o.accounts ?? splitList(env.TRAILHOUND_ACCOUNTS);
    const deny = o.excludeAccounts ?? splitList(env.TRAILHOUND_EXCLUDE_ACCOUNTS);
    opts.organization = {
      port: o.organizationsPort ?? sdkOrganizationsPort(profile ? { profile } : {}),
      roleTemplate: template,
      ...(allow ? { allow } : {}),
      ...(deny ? { deny } : {}),
    };
  }
  const externalId = o.externalId ?? (env.TRAILHOUND_EXTERNAL_ID?.trim() || undefined);
  if (externalId) opts.externalId = externalId;
  // Push down what LookupEvents can filter on (one attribute per call); the scanner filters the rest.
  if (o.filters.user && !o.filters.user.startsWith("arn:")) opts.user = o.filters.user;
  if (o.filters.eventName) opts.eventName = o.filters.eventName;
  if (o.cursorStore) {
    opts.cursorStore = o.cursorStore;
    opts.incremental = true;
  }
  const deadline =
    o.deadline !== undefined ? parseDeadline(o.deadline, "--deadline") : parseDeadline(env.TRAILHOUND_SCAN_DEADLINE || DEFAULT_SCAN_DEADLINE, "TRAILHOUND_SCAN_DEADLINE");
  if (deadline !== undefined) opts.budgetMs = deadline;
  return new LookupEventsSource(opts);
}

/** Where the bot's scans read (TRAILHOUND_SOURCE): LookupEvents, a trail's log files in S3, or Athena (baselines) with one of those (the recent window). */
export type LiveSourceKind = { kind: "lookup" } | { kind: "s3"; url: string } | { kind: "athena" };

/** TRAILHOUND_SOURCE: `lookup` (default), `s3://bucket[/prefix]` or `athena`. Throws a message naming the setting. */
export function parseLiveSource(value: string | undefined): LiveSourceKind {
  const v = (value ?? "").trim();
  if (v === "" || v === "lookup") return { kind: "lookup" };
  if (v.startsWith("s3://")) {
    parseTrailUrl(v); // throws S3LocationError with what is wrong
    return { kind: "s3", url: v };
  }
  if (v === "athena") return { kind: "athena" };
  throw new Error(
    `TRAILHOUND_SOURCE="${v}": expected lookup (LookupEvents, the default), s3://bucket[/prefix] (the trail's S3 bucket) or athena (baselines aggregated in Athena; see TRAILHOUND_ATHENA_*)`,
  );
}

/**
 * The trail bucket the bot's incremental reads list (TRAILHOUND_SOURCE=s3://..., or
 * TRAILHOUND_SOURCE=athena with TRAILHOUND_ATHENA_RECENT=s3://...), if any: the bucket whose S3
 * event notifications TRAILHOUND_SQS_QUEUE_URL may carry.
 */
export function recentTrailUrl(env: Record<string, string | undefined>): string | undefined {
  const kind = parseLiveSource(env.TRAILHOUND_SOURCE);
  if (kind.kind === "s3") return kind.url;
  if (kind.kind === "athena") {
    const r = env.TRAILHOUND_ATHENA_RECENT?.trim();
    return r?.startsWith("s3://") ? r : undefined;
  }
  return undefined;
}

export interface LiveSourceRequest {
  start: number;
  end: number;
  filters: ScanFilters;
  incremental: boolean;
  store: { cursors(): CursorStore };
  /** S3 only: read exactly these keys (S3 event notifications through SQS). */
  keys?: string[];
}

/**
 * The bot's and the digest's live source, chosen by TRAILHOUND_SOURCE: LookupEvents over the
 * account(s) named by the environment (role ARNs, or every account of the organisation through a
 * role template), or the trail's log files in S3 (only the window's days are listed; incremental
 * runs start at each account+region's listing position).
 */
export function liveSourceFactory(env: Record<string, string | undefined>, deps: { s3Client?: S3Port; athenaRunner?: QueryRunner } = {}) {
  const kind = parseLiveSource(env.TRAILHOUND_SOURCE);
  let athena: AthenaBotSettings | undefined;
  let runner: QueryRunner | undefined = deps.athenaRunner;
  if (kind.kind === "athena") {
    const r = athenaBotSettings(env);
    if (!r.settings) throw new Error(`TRAILHOUND_SOURCE=athena: ${r.problems.map((p) => `${p.setting} ${p.message}`).join("; ")}`);
    athena = r.settings;
  }
  const recentUrl = recentTrailUrl(env);
  return (o: LiveSourceRequest): EventSource | Promise<EventSource> => {
    // Athena: a slash-command scan reads its window through Athena, the filter in the WHERE;
    // digests and alerts read what is new from the recent source (the baselines are stored).
    if (athena && !o.incremental && !o.keys) {
      const s = athena.athena;
      return import("../athena/bot.js").then((m) => m.athenaWindowSource({ settings: s, runner: (runner ??= m.athenaRunner(s)), start: o.start, end: o.end, filters: o.filters }));
    }
    if (recentUrl) {
      const regions = o.filters.region ? [o.filters.region] : splitList(env.TRAILHOUND_REGIONS);
      const accounts = o.filters.account ? [o.filters.account] : splitList(env.TRAILHOUND_ACCOUNTS);
      const exclude = splitList(env.TRAILHOUND_EXCLUDE_ACCOUNTS);
      const profile = env.AWS_PROFILE;
      return new S3Source({
        url: recentUrl,
        startTime: o.start,
        endTime: o.end,
        ...(accounts ? { accounts } : {}),
        ...(exclude ? { excludeAccounts: exclude } : {}),
        ...(regions ? { regions } : {}),
        ...(profile ? { profile } : {}),
        ...(env.TRAILHOUND_S3_REGION ? { region: env.TRAILHOUND_S3_REGION } : {}),
        ...(o.incremental ? { cursorStore: o.store.cursors(), incremental: true } : {}),
        ...(deps.s3Client ? { client: deps.s3Client } : {}),
        ...(o.keys ? { keys: o.keys } : {}),
      });
    }
    if (o.keys)
      throw new Error(
        "new S3 files were pushed (TRAILHOUND_SQS_QUEUE_URL), but the bot's reads are not from an s3:// trail location (TRAILHOUND_SOURCE, TRAILHOUND_ATHENA_RECENT)",
      );
    const opts: AwsCliOptions = { start: o.start, end: o.end, filters: o.filters, env };
    if (o.incremental) opts.cursorStore = o.store.cursors();
    return awsSource(opts);
  };
}
