/**
 * Digest schedules from the environment. One digest:
 *
 *   TRAILHOUND_DIGEST_CHANNEL=C0123ABCD   TRAILHOUND_DIGEST_CRON="0 8 * * *"   TRAILHOUND_TZ=Europe/Paris
 *
 * Several (per account, per team, ...), one entry per digest, separated by `;` or new lines:
 *
 *   TRAILHOUND_DIGESTS="C0SEC=0 8 * * *@Europe/Paris; C0OPS=30 7 * * 1-5@America/New_York account=111122223333 quiet=silent"
 *
 * An entry is `CHANNEL=CRON[@TZ] [option=value ...]`; options: `account=<12 digits>`,
 * `region=<aws region>` (only findings of that account / region; the scan reads only them),
 * `quiet=line|silent` (a day with nothing new: one short line, or no message), `top=<1-10>`
 * (findings in the message itself, the rest in its thread), `name=<id>` (the key of the
 * digest's last run in the store; default: the channel plus its filters). The time zone
 * defaults to TRAILHOUND_TZ (else UTC), quiet to TRAILHOUND_DIGEST_QUIET (else line).
 * TRAILHOUND_DIGEST_CHANNEL adds one more entry (its own cron and TRAILHOUND_TZ).
 *
 * Everything is checked at start: the cron expression with node-cron's validator (field by
 * field), the zone with Intl (IANA names), and every problem names the setting and the entry.
 */
import { validateDetailed } from "node-cron";
import { timeZoneProblem } from "../env.js";
import type { Severity } from "../events/types.js";
import { alertSchedule } from "./alerts.js";

export type QuietMode = "line" | "silent";

export interface DigestFilters {
  account?: string;
  region?: string;
}

export interface DigestScheduleConfig {
  /** Key of the last run in the store (`digestRuns`), shown on the Home tab. */
  name: string;
  channel: string;
  cron: string;
  /** IANA time zone of the cron expression. */
  tz: string;
  filters: DigestFilters;
  quiet: QuietMode;
  /** Findings shown in the message itself (the rest go in its thread). */
  top: number;
  /** Only findings at or above this severity (alerts). */
  minSeverity?: Severity;
  /** "alert": the frequent run of TRAILHOUND_ALERT_CHANNEL (alerts.ts); default a digest. */
  kind?: "digest" | "alert";
}

export interface DigestConfigProblem {
  setting: string;
  message: string;
}

export const DEFAULT_DIGEST_CRON = "0 8 * * *";
export const DEFAULT_TOP = 5;
const MAX_TOP = 10;

export const DIGEST_SETTING_HINTS: Record<string, string> = {
  TRAILHOUND_DIGESTS:
    "several digests, separated by ';': CHANNEL=CRON[@TZ] [account=ID] [region=REGION] [quiet=line|silent] [top=N] [name=ID], e.g. \"C0SEC=0 8 * * *@Europe/Paris; C0OPS=30 7 * * 1-5 account=111122223333\"",
  TRAILHOUND_DIGEST_QUIET: "line (default: a day with nothing new gets one short line) or silent (no message at all)",
};

const CHANNEL = /^[CG][A-Z0-9]{2,}$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
const NAME = /^[\w.:/-]{1,60}$/;
const OPTION = /^([A-Za-z]+)=(.*)$/;

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const CRON_FIELDS: Record<string, { label: string; range: string; example: string }> = {
  second: { label: "second", range: "0-59", example: "0" },
  minute: { label: "minute", range: "0-59", example: "30" },
  hour: { label: "hour", range: "0-23", example: "8 or 8-18" },
  dayOfMonth: { label: "day of month", range: "1-31 or L (the last day)", example: "1 or 1,15" },
  month: { label: "month", range: "1-12 or jan-dec", example: "1 or jan,jul" },
  dayOfWeek: { label: "day of week", range: "0-7 (0 and 7 are Sunday) or sun-sat", example: "1-5 or mon-fri" },
};

/**
 * Why a cron expression is invalid (node-cron's own checks, then which field, its position and
 * what it accepts), or undefined when it is valid.
 */
export function cronProblem(expr: string): string | undefined {
  let r: ReturnType<typeof validateDetailed>;
  try {
    r = validateDetailed(expr);
  } catch (e) {
    return (e as Error).message;
  }
  if (r.valid) return undefined;
  const fields = expr.trim().split(/\s+/).length === 6 ? ["second", "minute", "hour", "dayOfMonth", "month", "dayOfWeek"] : ["minute", "hour", "dayOfMonth", "month", "dayOfWeek"];
  const order = `${fields.length} fields: ${fields.map((f) => CRON_FIELDS[f]!.label.replace(/ /g, "-")).join(" ")}`;
  const parts = r.errors.map((e) => {
    const f = CRON_FIELDS[e.field];
    if (!f) return `${e.message} (expected ${order}, e.g. "0 8 * * 1-5": 08:00 on weekdays)`;
    const pos = fields.indexOf(e.field) + 1;
    return `the ${f.label} field (number ${pos} of ${order}) is ${JSON.stringify(e.value)}: it takes ${f.range}, a range, a list or a step (*/2), e.g. ${f.example}`;
  });
  return parts.join("; ") || "invalid";
}

function defaultName(channel: string, f: DigestFilters): string {
  return [channel, f.account, f.region].filter(Boolean).join("/");
}

interface EntryInput {
  channel: string;
  cron: string;
  tz: string;
  options: Record<string, string>;
}

function checkEntry(e: EntryInput, quietDefault: QuietMode, problem: (msg: string) => void): DigestScheduleConfig | undefined {
  let ok = true;
  const bad = (msg: string) => {
    ok = false;
    problem(msg);
  };
  if (!CHANNEL.test(e.channel)) bad(`${JSON.stringify(e.channel)} must be a channel id (C... or G...), not a #name`);
  const cp = cronProblem(e.cron);
  if (cp) bad(`cron ${JSON.stringify(e.cron)} is not a valid cron expression: ${cp}`);
  if (!isTimeZone(e.tz)) bad(`time zone ${timeZoneProblem(e.tz)}`);
  const filters: DigestFilters = {};
  let quiet = quietDefault;
  let top = DEFAULT_TOP;
  let name: string | undefined;
  for (const [k, v] of Object.entries(e.options)) {
    switch (k) {
      case "account":
        if (ACCOUNT.test(v)) filters.account = v;
        else bad(`account=${v}: expected a 12-digit AWS account id`);
        break;
      case "region":
        if (REGION.test(v)) filters.region = v;
        else bad(`region=${v}: expected an AWS region such as eu-west-1`);
        break;
      case "quiet":
        if (v === "line" || v === "silent") quiet = v;
        else bad(`quiet=${v}: expected line or silent`);
        break;
      case "top":
        if (/^\d{1,2}$/.test(v) && Number(v) >= 1 && Number(v) <= MAX_TOP) top = Number(v);
        else bad(`top=${v}: expected a number of findings from 1 to ${MAX_TOP}`);
        break;
      case "name":
        if (NAME.test(v)) name = v;
        else bad(`name=${v}: expected up to 60 letters, digits or . : / - _`);
        break;
      default:
        bad(`unknown option ${k}= (expected account, region, quiet, top or name)`);
    }
  }
  if (!ok) return undefined;
  return { name: name ?? defaultName(e.channel, filters), channel: e.channel, cron: e.cron, tz: e.tz, filters, quiet, top };
}

/** `CHANNEL=CRON[@TZ] [k=v ...]` -> its parts, or what is wrong with its shape. */
function splitEntry(entry: string, tzDefault: string): EntryInput | { error: string } {
  const eq = entry.indexOf("=");
  if (eq < 0) return { error: "expected CHANNEL=CRON[@TZ] [option=value ...]" };
  const channel = entry.slice(0, eq).trim();
  const tokens = entry
    .slice(eq + 1)
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  // Options come last; cron fields never contain "=".
  let firstOption = tokens.length;
  while (firstOption > 0 && OPTION.test(tokens[firstOption - 1]!)) firstOption--;
  const options: Record<string, string> = {};
  for (const t of tokens.splice(firstOption)) {
    const m = OPTION.exec(t)!;
    const key = m[1]!.toLowerCase();
    if (key in options) return { error: `option ${key}= given twice` };
    options[key] = m[2]!;
  }
  if (tokens.some((t) => t.includes("="))) return { error: "options (k=v) must come after the cron expression and time zone" };
  const schedule = tokens.join(" ");
  if (schedule === "") return { error: "no cron expression after the channel" };
  // "@daily", "@daily@Europe/Paris", "0 8 * * *", "0 8 * * *@Europe/Paris", "0 8 * * * @ Europe/Paris"
  const m = /^(@[A-Za-z]+|[^@]+?)\s*(?:@\s*(\S+))?$/.exec(schedule);
  if (!m) return { error: `cannot read the schedule ${JSON.stringify(schedule)}: expected CRON or CRON@TZ` };
  return { channel, cron: m[1]!.trim(), tz: m[2] ?? tzDefault, options };
}

/**
 * The digest schedules the environment asks for, and every problem with them (never throws).
 * Empty values count as unset.
 */
export function parseDigestSchedules(env: Record<string, string | undefined>): { schedules: DigestScheduleConfig[]; problems: DigestConfigProblem[] } {
  const get = (k: string) => {
    const v = env[k]?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  const problems: DigestConfigProblem[] = [];
  const schedules: DigestScheduleConfig[] = [];
  const tzDefault = get("TRAILHOUND_TZ") ?? "UTC";
  const quietRaw = get("TRAILHOUND_DIGEST_QUIET");
  let quietDefault: QuietMode = "line";
  if (quietRaw !== undefined) {
    if (quietRaw === "line" || quietRaw === "silent") quietDefault = quietRaw;
    else problems.push({ setting: "TRAILHOUND_DIGEST_QUIET", message: `${JSON.stringify(quietRaw)}: expected line or silent` });
  }

  const channel = get("TRAILHOUND_DIGEST_CHANNEL");
  if (channel !== undefined) {
    const cron = get("TRAILHOUND_DIGEST_CRON") ?? DEFAULT_DIGEST_CRON;
    const one = checkEntry({ channel, cron, tz: tzDefault, options: {} }, quietDefault, (message) => {
      // Name the setting that holds the bad value.
      const setting = /^cron /.test(message) ? "TRAILHOUND_DIGEST_CRON" : /^time zone /.test(message) ? "TRAILHOUND_TZ" : "TRAILHOUND_DIGEST_CHANNEL";
      problems.push({ setting, message });
    });
    if (one) schedules.push(one);
  }

  const many = get("TRAILHOUND_DIGESTS");
  if (many !== undefined) {
    const entries = many
      .split(/[;\n]/)
      .map((s) => s.trim())
      .filter(Boolean);
    entries.forEach((entry, i) => {
      const where = `entry ${i + 1} (${JSON.stringify(entry.length > 60 ? entry.slice(0, 57) + "..." : entry)})`;
      const parts = splitEntry(entry, tzDefault);
      if ("error" in parts) {
        problems.push({ setting: "TRAILHOUND_DIGESTS", message: `${where}: ${parts.error}` });
        return;
      }
      const s = checkEntry(parts, quietDefault, (message) => problems.push({ setting: "TRAILHOUND_DIGESTS", message: `${where}: ${message}` }));
      if (s) schedules.push(s);
    });
  }

  // Alerts (alerts.ts): their settings are checked by the config schema.
  const alerts = alertSchedule(env);
  if (alerts) schedules.push(alerts);

  const seen = new Set<string>();
  for (const s of schedules) {
    if (seen.has(s.name)) {
      problems.push({
        setting: "TRAILHOUND_DIGESTS",
        message: `two digests are named ${s.name} (same channel and filters): give one a name=... option, or merge them`,
      });
    }
    seen.add(s.name);
  }
  return { schedules, problems };
}
