/**
 * The environment before anything reads it: the `.env` file (Node's own parser, `util.parseEnv`,
 * the one behind `node --env-file`), which never overrides a variable that is already set, and
 * warnings for settings trailhound does not know (a `TRAILHOUND_*` name, or one a letter or two
 * away from a known setting), each with the closest known name.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseEnv } from "node:util";

/**
 * The variables trailhound reads outside `trailhound serve`'s validated settings (src/config.ts's
 * schema lists those, SERVE_SETTINGS below names them; `knownSettings()` is the union, and .env.example lists them all).
 */
export const OTHER_SETTINGS = [
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "TRAILHOUND_RESPONDER_ROLE_ARNS",
  "TRAILHOUND_PROTECTED_ARNS",
  "TRAILHOUND_RESPONDERS",
  "TRAILHOUND_TWO_PERSON_MINUTES",
  "TRAILHOUND_NATIVE",
  "TRAILHOUND_SCAN_THREADS",
  "TRAILHOUND_FOLD_THREAD",
  "TRAILHOUND_REPORT_RSS",
  "TRAILHOUND_FAULT",
  "TRAILHOUND_FAULT_TRACE",
  "TRAILHOUND_PRUNE_DAYS",
  "TRAILHOUND_PRUNE_FINDINGS_DAYS",
  "TRAILHOUND_PRUNE_AUDIT_DAYS",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "NO_COLOR",
  "FORCE_COLOR",
  // Set by the terminal: `dumb` means no colour.
  "TERM",
  // Node's own; read only for V8 tiering flags the user set (scan/tiering.ts).
  "NODE_OPTIONS",
  // npm run fuzz only: the C compiler of the sanitizer build (default gcc).
  "CC",
] as const;

/**
 * The settings `trailhound serve` validates, in the order of src/config.ts's schema (which is typed
 * against this list: a setting added there must be added here). Kept here, apart from the schema,
 * so that the CLI can warn about unknown settings without loading zod and the modules whose
 * checks the schema calls (the AWS SDK among them).
 */
export const SERVE_SETTINGS = [
  "SLACK_BOT_TOKEN",
  "SLACK_APP_TOKEN",
  "SLACK_SIGNING_SECRET",
  "PORT",
  "SLACK_API_URL",
  "TRAILHOUND_DATA_DIR",
  "TRAILHOUND_ADMINS",
  "TRAILHOUND_VIEWERS",
  "TRAILHOUND_RESPONDERS",
  "TRAILHOUND_RESPONDER_ROLE_ARNS",
  "TRAILHOUND_PROTECTED_ARNS",
  "TRAILHOUND_TWO_PERSON_MINUTES",
  "TRAILHOUND_WEBHOOK_URL",
  "TRAILHOUND_WEBHOOK_SECRET",
  "TRAILHOUND_WEBHOOK_SEVERITY",
  "TRAILHOUND_PAGERDUTY_ROUTING_KEY",
  "TRAILHOUND_PAGERDUTY_SEVERITY",
  "TRAILHOUND_SECURITYHUB",
  "TRAILHOUND_SECURITYHUB_REGION",
  "TRAILHOUND_SECURITYHUB_ROLE_ARNS",
  "TRAILHOUND_SECURITYHUB_SEVERITY",
  "TRAILHOUND_CHANNELS",
  "TRAILHOUND_MAX_SCANS_PER_USER",
  "TRAILHOUND_ACK_ANYONE",
  "TRAILHOUND_TEAM_ID",
  "TRAILHOUND_REGIONS",
  "AWS_PROFILE",
  "TRAILHOUND_ROLE_ARNS",
  "TRAILHOUND_SOURCE",
  "TRAILHOUND_ATHENA_REGION",
  "TRAILHOUND_ATHENA_DATABASE",
  "TRAILHOUND_ATHENA_TABLE",
  "TRAILHOUND_ATHENA_WORKGROUP",
  "TRAILHOUND_ATHENA_OUTPUT",
  "TRAILHOUND_ATHENA_TABLE_FLAVOR",
  "TRAILHOUND_ATHENA_RECENT",
  "TRAILHOUND_ATHENA_BASELINE_DAYS",
  "TRAILHOUND_ATHENA_BASELINE_EVERY",
  "TRAILHOUND_S3_REGION",
  "TRAILHOUND_SQS_QUEUE_URL",
  "TRAILHOUND_ROLE_TEMPLATE",
  "TRAILHOUND_EXTERNAL_ID",
  "TRAILHOUND_ACCOUNTS",
  "TRAILHOUND_EXCLUDE_ACCOUNTS",
  "TRAILHOUND_ALERT_CHANNEL",
  "TRAILHOUND_ALERT_EVERY",
  "TRAILHOUND_ALERT_SEVERITY",
  "TRAILHOUND_DIGEST_CHANNEL",
  "TRAILHOUND_DIGEST_CRON",
  "TRAILHOUND_TZ",
  "TRAILHOUND_DIGESTS",
  "TRAILHOUND_DIGEST_QUIET",
  "TRAILHOUND_GEOIP_CITY_DB",
  "TRAILHOUND_GEOIP_ASN_DB",
  "TRAILHOUND_LOG_LEVEL",
  "TRAILHOUND_SCAN_DEADLINE",
  "TRAILHOUND_MAX_FILE_MB",
] as const;

export type ServeSetting = (typeof SERVE_SETTINGS)[number];

/** Every environment variable trailhound reads: serve's settings and the others. */
export function knownSettings(): string[] {
  return [...new Set<string>([...SERVE_SETTINGS, ...OTHER_SETTINGS])];
}

/** Variables of the AWS SDK, Node, npm or Slack's own tools: never "did you mean" (except near-exact AWS ones). */
const OTHERS_OWN = /^(AWS_|NODE_|npm_|SLACK_CLIENT_|SLACK_STATE_SECRET$)/;
const AWS_OURS = ["AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"];

export interface DotEnvResult {
  /** The file read, or undefined when there is none. */
  path?: string;
  /** Names set from the file (the environment did not have them). */
  loaded: string[];
  /** Names the file has but the environment already set: the environment wins. */
  kept: string[];
}

/**
 * Reads `.env` (or `path`) into `env` without overriding what is set. A file that cannot be
 * parsed throws with its path; a missing file is not an error.
 */
export function loadDotEnv(path = ".env", env: NodeJS.ProcessEnv = process.env): DotEnvResult {
  const full = resolve(path);
  if (!existsSync(full)) return { loaded: [], kept: [] };
  const values = parseEnv(readFileSync(full, "utf8"));
  const loaded: string[] = [];
  const kept: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    // Empty values count as unset (`NAME=` in the file): not set, so libraries see no value either.
    if (v === undefined || v.trim() === "") continue;
    if (env[k] !== undefined && env[k] !== "") kept.push(k);
    else {
      env[k] = v;
      loaded.push(k);
    }
  }
  return { path: full, loaded, kept };
}

/**
 * Edit distance (insertions, deletions, substitutions, adjacent swaps). Three rows of the usual
 * table, reused: at start-up it runs for every variable of the environment against every setting.
 */
export function editDistance(a: string, b: string): number {
  return boundedDistance(a, b, Infinity);
}

/**
 * `editDistance(a, b)` when it is at most `bound`; otherwise some number above `bound` (the rows
 * stop once two in a row exceed it: no later cell can come back under it).
 */
function boundedDistance(a: string, b: string, bound: number): number {
  const m = b.length;
  if (rows[0]!.length <= m) for (let k = 0; k < 3; k++) rows[k] = new Int32Array(2 * m + 2);
  let prev2 = rows[0]!;
  let prev = rows[1]!;
  let cur = rows[2]!;
  for (let j = 0; j <= m; j++) prev[j] = j;
  let prevMin = 0;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= m; j++) {
      const bj = b.charCodeAt(j - 1);
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (ai === bj ? 0 : 1));
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > bound && prevMin > bound) return bound + 1;
    prevMin = rowMin;
    const t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return prev[m]!;
}
const rows: Int32Array[] = [new Int32Array(64), new Int32Array(64), new Int32Array(64)];

/** The closest of `candidates` to `name` (case-insensitive), when it is close enough to be a typo. */
export function closest(name: string, candidates: readonly string[], maxDistance?: number): string | undefined {
  const n = name.toLowerCase();
  const limit = maxDistance ?? Math.max(2, Math.floor(n.length / 4));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    // The distance is at least the difference in length: one beyond the limit is never the answer.
    const lc = c.toLowerCase();
    if (Math.abs(lc.length - n.length) > limit) continue;
    const d = boundedDistance(n, lc, limit);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= limit ? best : undefined;
}

/**
 * One warning per variable that looks like a trailhound setting but is not one: an unknown
 * `TRAILHOUND_*`, or any name within a typo of a known setting.
 */
export function settingWarnings(env: NodeJS.ProcessEnv | Record<string, string | undefined>, knownSettings: readonly string[]): string[] {
  const KNOWN_SETTINGS = knownSettings;
  const known = new Set<string>(KNOWN_SETTINGS);
  const out: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (known.has(name)) continue;
    // Lower-case proxy names are the same settings to every proxy-aware client.
    if (/_proxy$/i.test(name) && known.has(name.toUpperCase())) continue;
    let guess: string | undefined;
    if (/^TRAILHOUND_/i.test(name)) {
      const suffix = name.slice("TRAILHOUND_".length);
      const ours = KNOWN_SETTINGS.filter((k) => k.startsWith("TRAILHOUND_")).map((k) => k.slice("TRAILHOUND_".length));
      const g = closest(suffix, ours, Math.max(1, Math.floor(suffix.length / 4)));
      out.push(g ? `${name} is not a trailhound setting: did you mean TRAILHOUND_${g}?` : `${name} is not a trailhound setting (.env.example lists them all); it is ignored`);
      continue;
    }
    if (/^AWS_/.test(name)) guess = closest(name, AWS_OURS, 1);
    else if (!OTHERS_OWN.test(name) && name.length >= 6)
      guess = closest(
        name,
        KNOWN_SETTINGS.filter((k) => k.length >= 6),
      );
    if (guess) out.push(`${name} is not a trailhound setting: did you mean ${guess}?`);
  }
  return out;
}

/** IANA zone names, for did-you-mean. */
function zones(): string[] {
  try {
    return [...Intl.supportedValuesOf("timeZone"), "UTC"];
  } catch {
    return ["UTC"];
  }
}

/** A known IANA time zone close to `tz` ("europe/paris", "Paris", "Europe/Pariss"), if any. */
export function suggestTimeZone(tz: string): string | undefined {
  const all = zones();
  const lower = tz.toLowerCase().replace(/ /g, "_");
  const exact = all.find((z) => z.toLowerCase() === lower);
  if (exact) return exact;
  const city = all.filter((z) => z.toLowerCase().split("/").pop() === lower.split("/").pop());
  if (city.length === 1) return city[0];
  return closest(tz, all, 3);
}

/** "… is not a known IANA time zone" with a did-you-mean when one is close. */
export function timeZoneProblem(tz: string): string {
  const s = suggestTimeZone(tz);
  return `${JSON.stringify(tz)} is not a known IANA time zone${s ? `: did you mean ${s}?` : " (e.g. Europe/Paris, America/New_York, UTC)"}`;
}
