import { LookupEventsSource, type LookupEventsSourceOptions, type CursorStore } from "./lookup-events.js";
import type { EventSource } from "./types.js";
import type { ScanFilters } from "../events/types.js";

export interface AwsCliOptions {
  /** Absolute window start (ms) and end (ms): live scans always resolve relative times against now. */
  start: number;
  end: number;
  filters: ScanFilters;
  profile?: string;
  /** Comma-separated list; default TRAILHOUND_REGIONS; else every commercial region that answers. */
  regions?: string;
  roleArns?: string[];
  cursorStore?: CursorStore;
  /** The read's deadline: a duration (`90m`, `2h`) or `none`; default TRAILHOUND_SCAN_DEADLINE, else 2h. */
  deadline?: string;
  env?: Record<string, string | undefined>;
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
  const roles = o.roleArns?.length ? o.roleArns : splitList(env.TRAILHOUND_ROLE_ARNS);
  if (roles) opts.roleArns = roles;
  // Push down what LookupEvents can filter on (one attribute per call); the scanner filters the rest.
  if (o.filters.user && !o.filters.user.startsWith("arn:")) opts.user = o.filters.user;
  if (o.filters.eventName) opts.eventName = o.filters.eventName;
  if (o.cursorStore) {
    opts.cursorStore = o.cursorStore;
    opts.incremental = true;
  }
  const deadline = o.deadline !== undefined ? parseDeadline(o.deadline, "--deadline") : parseDeadline(env.TRAILHOUND_SCAN_DEADLINE || DEFAULT_SCAN_DEADLINE, "TRAILHOUND_SCAN_DEADLINE");
  if (deadline !== undefined) opts.budgetMs = deadline;
  return new LookupEventsSource(opts);
}

/** The bot's and the digest's live source: LookupEvents over the account(s) named by the environment. */
export function liveSourceFactory(env: Record<string, string | undefined>) {
  return (o: { start: number; end: number; filters: ScanFilters; incremental: boolean; store: { cursors(): CursorStore } }): EventSource => {
    const opts: AwsCliOptions = { start: o.start, end: o.end, filters: o.filters, env };
    if (o.incremental) opts.cursorStore = o.store.cursors();
    return awsSource(opts);
  };
}
