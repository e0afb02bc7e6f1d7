/**
 * The settings of Athena as the bot's baseline source (TRAILHOUND_SOURCE=athena), parsed and
 * checked at start. Kept apart from src/athena/bot.ts so that reading the configuration does not
 * load the Athena SDK.
 */
import { DAY, DEFAULT_BASELINE_CONFIG, HOUR } from "../baseline/profile.js";
import { parseTrailUrl } from "../sources/s3.js";
import type { AthenaScanSettings } from "./engine.js";
import { parseS3Url, type TableFlavor } from "./schema.js";

/** Where the recent window is read when the baselines come from Athena. */
export type RecentSource = { kind: "lookup" } | { kind: "s3"; url: string };

export interface AthenaBotSettings {
  athena: AthenaScanSettings;
  recent: RecentSource;
  /** Days of history aggregated (TRAILHOUND_ATHENA_BASELINE_DAYS, default 90). */
  baselineDays: number;
  /** How often the baselines are aggregated again (TRAILHOUND_ATHENA_BASELINE_EVERY, default 24h). */
  refreshEveryMs: number;
}

export const ATHENA_SETTING_HINTS: Record<string, string> = {
  TRAILHOUND_ATHENA_REGION: "with TRAILHOUND_SOURCE=athena: the region of the Athena workgroup and the CloudTrail table, e.g. eu-west-1",
  TRAILHOUND_ATHENA_DATABASE: "with TRAILHOUND_SOURCE=athena: the Glue database of the CloudTrail table (letters, digits, underscores; see `trailhound athena ddl`)",
  TRAILHOUND_ATHENA_TABLE: "the CloudTrail table (letters, digits, underscores; default cloudtrail_logs)",
  TRAILHOUND_ATHENA_WORKGROUP: "the Athena workgroup (default primary)",
  TRAILHOUND_ATHENA_OUTPUT: "s3://bucket/prefix/ for Athena's query results; optional when the workgroup enforces a location",
  TRAILHOUND_ATHENA_TABLE_FLAVOR: "trailhound (a table from `trailhound athena ddl`, the default) or aws (a table from AWS's documented DDL)",
  TRAILHOUND_ATHENA_RECENT:
    "with TRAILHOUND_SOURCE=athena: where digests and alerts read the recent window: lookup (LookupEvents, the default) or s3://bucket[/prefix] (the trail's bucket)",
  TRAILHOUND_ATHENA_BASELINE_DAYS: "days of history aggregated into baselines, 1-90 (default 90: a baseline forgets what it has not seen for 90 days)",
  TRAILHOUND_ATHENA_BASELINE_EVERY: "how often Athena aggregates the baselines again: a duration from 1h to 30d such as 12h, 1d or 7d (default 1d)",
};

const DURATION_UNITS: Record<string, number> = { m: 60_000, h: HOUR, d: DAY };

function duration(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(m|h|d)$/i.exec(v.trim());
  return m ? Math.round(Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase()]!) : undefined;
}

/**
 * The Athena settings of the bot from the environment, or the problems with them (setting and
 * message), for `loadConfig` to list at start.
 */
export function athenaBotSettings(env: Record<string, string | undefined>): { settings?: AthenaBotSettings; problems: Array<{ setting: string; message: string }> } {
  const get = (k: string) => {
    const v = env[k]?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  const problems: Array<{ setting: string; message: string }> = [];
  const region = get("TRAILHOUND_ATHENA_REGION");
  const database = get("TRAILHOUND_ATHENA_DATABASE");
  if (!region) problems.push({ setting: "TRAILHOUND_ATHENA_REGION", message: "missing: TRAILHOUND_SOURCE=athena needs the region of the Athena table" });
  else if (!/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/.test(region)) problems.push({ setting: "TRAILHOUND_ATHENA_REGION", message: "must be an AWS region like eu-west-1" });
  if (!database) problems.push({ setting: "TRAILHOUND_ATHENA_DATABASE", message: "missing: TRAILHOUND_SOURCE=athena needs the Glue database of the CloudTrail table" });
  const flavor = get("TRAILHOUND_ATHENA_TABLE_FLAVOR");
  if (flavor !== undefined && flavor !== "trailhound" && flavor !== "aws") problems.push({ setting: "TRAILHOUND_ATHENA_TABLE_FLAVOR", message: "must be trailhound or aws" });
  const athena: AthenaScanSettings = { region: region ?? "", database: database ?? "" };
  const table = get("TRAILHOUND_ATHENA_TABLE");
  const workgroup = get("TRAILHOUND_ATHENA_WORKGROUP");
  const output = get("TRAILHOUND_ATHENA_OUTPUT");
  if (table) athena.table = table;
  if (workgroup) athena.workgroup = workgroup;
  if (output) athena.outputLocation = output;
  if (flavor === "trailhound" || flavor === "aws") athena.flavor = flavor as TableFlavor;
  const profile = get("AWS_PROFILE");
  if (profile) athena.profile = profile;
  if (workgroup && !/^[A-Za-z0-9._-]{1,128}$/.test(workgroup))
    problems.push({ setting: "TRAILHOUND_ATHENA_WORKGROUP", message: "letters, digits, '.', '_' and '-' only, at most 128" });
  // Names go into the SQL quoted, but Glue names are letters, digits and underscores.
  if (database && !/^[a-z0-9_]{1,255}$/i.test(database)) problems.push({ setting: "TRAILHOUND_ATHENA_DATABASE", message: "letters, digits and underscores only" });
  if (table && !/^[a-z0-9_]{1,255}$/i.test(table)) problems.push({ setting: "TRAILHOUND_ATHENA_TABLE", message: "letters, digits and underscores only" });
  if (output) {
    try {
      parseS3Url(output);
    } catch (e) {
      problems.push({ setting: "TRAILHOUND_ATHENA_OUTPUT", message: (e as Error).message });
    }
  }
  let recent: RecentSource = { kind: "lookup" };
  const r = get("TRAILHOUND_ATHENA_RECENT");
  if (r !== undefined && r !== "lookup") {
    if (!r.startsWith("s3://")) problems.push({ setting: "TRAILHOUND_ATHENA_RECENT", message: `"${r}": expected lookup or s3://bucket[/prefix]` });
    else {
      try {
        parseTrailUrl(r);
        recent = { kind: "s3", url: r };
      } catch (e) {
        problems.push({ setting: "TRAILHOUND_ATHENA_RECENT", message: (e as Error).message });
      }
    }
  }
  let baselineDays = DEFAULT_BASELINE_CONFIG.horizonDays;
  const days = get("TRAILHOUND_ATHENA_BASELINE_DAYS");
  if (days !== undefined) {
    const max = DEFAULT_BASELINE_CONFIG.horizonDays;
    if (!/^\d{1,3}$/.test(days) || Number(days) < 1 || Number(days) > max)
      problems.push({ setting: "TRAILHOUND_ATHENA_BASELINE_DAYS", message: `must be a whole number of days, 1-${max} (a baseline forgets what it has not seen for ${max} days)` });
    else baselineDays = Number(days);
  }
  let refreshEveryMs = DAY;
  const every = get("TRAILHOUND_ATHENA_BASELINE_EVERY");
  if (every !== undefined) {
    const ms = duration(every);
    if (ms === undefined || ms < HOUR || ms > 30 * DAY)
      problems.push({ setting: "TRAILHOUND_ATHENA_BASELINE_EVERY", message: "must be a duration from 1h to 30d, such as 12h, 1d or 7d" });
    else refreshEveryMs = ms;
  }
  if (problems.length) return { problems };
  const accounts = list(get("TRAILHOUND_ACCOUNTS"));
  const regions = list(get("TRAILHOUND_REGIONS"));
  if (accounts) athena.accounts = accounts;
  if (regions) athena.regions = regions;
  return { settings: { athena, recent, baselineDays, refreshEveryMs }, problems };
}

function list(s: string | undefined): string[] | undefined {
  const l = (s ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  return l.length ? l : undefined;
}
