/**
 * The environment, parsed once at the boundary: `loadConfig(env = process.env)` returns typed
 * settings or throws a ConfigError that lists every missing or malformed setting and how to get it.
 * Empty values count as unset (as in a `.env` file with `NAME=`).
 */
import { existsSync } from "node:fs";
import { z } from "zod";
import { notifySettings, type NotifySettings } from "./notify/index.js";
import { securityHubSettings, type SecurityHubSettings } from "./notify/securityhub-settings.js";
import { DIGEST_SETTING_HINTS, cronProblem, parseDigestSchedules, type DigestScheduleConfig } from "./digest/config.js";
import { knownSettings, timeZoneProblem, type ServeSetting } from "./env.js";
import { alertEveryProblem } from "./digest/alerts.js";
import { parseLiveSource } from "./sources/aws-cli.js";
import { externalIdProblem, roleTemplateProblem } from "./sources/org.js";
import { ATHENA_SETTING_HINTS, athenaBotSettings } from "./athena/bot-settings.js";

function liveSourceProblem(v: string | undefined): string | undefined {
  try {
    parseLiveSource(v);
    return undefined;
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).replace(/^TRAILHOUND_SOURCE="?[^:]*"?: /, "");
  }
}

/** How to obtain each setting; shown beside any problem with it. */
export const SETTING_HINTS: Record<string, string> = {
  SLACK_BOT_TOKEN: "the Bot User OAuth Token (xoxb-...): api.slack.com/apps -> your app -> OAuth & Permissions, after installing the app to the workspace",
  SLACK_APP_TOKEN:
    "an app-level token (xapp-...) for Socket Mode: api.slack.com/apps -> Basic Information -> App-Level Tokens -> Generate, scope connections:write; leave unset to use the HTTP receiver",
  SLACK_SIGNING_SECRET: "needed for the HTTP receiver (when SLACK_APP_TOKEN is not set): api.slack.com/apps -> Basic Information -> App Credentials -> Signing Secret",
  PORT: "TCP port 0-65535 for the HTTP receiver and /healthz (default 3000 in HTTP mode; in Socket Mode /healthz is served only when PORT is set)",
  SLACK_API_URL: "an http(s) URL of the Slack Web API, only to route through a proxy or a test server (default https://slack.com/api/)",
  TRAILHOUND_DATA_DIR: "a writable directory for the store (default ./data; /data in the Docker image)",
  TRAILHOUND_ADMINS: "comma-separated Slack user ids (U.../W...: profile -> ... -> Copy member ID) and user-group ids (S...: group page URL) allowed to suppress and unsuppress",
  TRAILHOUND_VIEWERS:
    "comma-separated Slack user ids (U.../W...) and user-group ids (S...) who may run scans and see findings, or * for every full member of the workspace (guests never); unset: admins only",
  TRAILHOUND_CHANNELS: "comma-separated channel ids (C.../G...) where scan results and details may be posted; elsewhere they go privately to whoever asked (default: any channel)",
  TRAILHOUND_MAX_SCANS_PER_USER: "how many scans one person may have running or waiting at once, 1-20 (default 2)",
  TRAILHOUND_ACK_ANYONE: "true or false (default true): whether anyone, not only admins, may acknowledge findings",
  TRAILHOUND_TEAM_ID: "the workspace id (T...) allowed to use the bot: in a browser, app.slack.com/client/T.../...; default: the token's own workspace (auth.test)",
  TRAILHOUND_RESPONDERS:
    "comma-separated Slack user ids (U.../W...) and user-group ids (S...) allowed to contain findings' identities and undo (docs/RESPOND.md); empty: containment is off",
  TRAILHOUND_RESPONDER_ROLE_ARNS: "comma-separated IAM role ARNs, one per account, assumed to contain (permissions in docs/RESPOND.md)",
  TRAILHOUND_PROTECTED_ARNS: "comma-separated IAM role or user ARNs never contained (e.g. the role the bot runs as); the scan and responder roles are protected already",
  TRAILHOUND_TWO_PERSON_MINUTES: "a whole number of minutes (1-1440) a second responder has to approve a containment in the thread; 0 or empty: no two-person rule",
  TRAILHOUND_WEBHOOK_URL: "an https URL that receives findings as signed JSON (X-Trailhound-Signature: sha256=HMAC of the body); needs TRAILHOUND_WEBHOOK_SECRET",
  TRAILHOUND_WEBHOOK_SECRET: "a random string of at least 16 characters shared with the webhook receiver (e.g. openssl rand -hex 32)",
  TRAILHOUND_WEBHOOK_SEVERITY: "the lowest severity sent to the webhook: critical, high, medium (default), low or info",
  TRAILHOUND_PAGERDUTY_ROUTING_KEY: "the 32-character integration key of a PagerDuty service's Events API v2 integration",
  TRAILHOUND_PAGERDUTY_SEVERITY: "the lowest severity that pages: critical, high (default), medium, low or info",
  TRAILHOUND_SECURITYHUB:
    "on or off (default off): the bot imports the findings of its scans into AWS Security Hub, and updates them when they are acknowledged, resolved or suppressed",
  TRAILHOUND_SECURITYHUB_REGION: "the AWS region whose Security Hub receives the findings (default: each finding's own region)",
  TRAILHOUND_SECURITYHUB_ROLE_ARNS:
    "comma-separated IAM role ARNs, one per account, assumed to import that account's findings (securityhub:BatchImportFindings); default: the credential chain, for its own account only",
  TRAILHOUND_SECURITYHUB_SEVERITY: "the lowest severity exported to Security Hub: critical, high, medium, low (default) or info",
  TRAILHOUND_REGIONS: "comma-separated AWS regions to read, e.g. us-east-1,eu-west-1",
  AWS_PROFILE: "a profile name from ~/.aws/config (default: the standard AWS credential chain)",
  TRAILHOUND_ROLE_ARNS: "comma-separated IAM role ARNs to assume per account, e.g. arn:aws:iam::123456789012:role/TrailhoundRead",
  TRAILHOUND_SOURCE:
    "where the bot's scans, digests and alerts read: lookup (LookupEvents, the default, fine for a few accounts), s3://bucket[/prefix] (an organization or account trail's bucket) or athena (baselines aggregated in Athena, the recent window from TRAILHOUND_ATHENA_RECENT; needs TRAILHOUND_ATHENA_REGION and TRAILHOUND_ATHENA_DATABASE)",
  ...ATHENA_SETTING_HINTS,
  TRAILHOUND_S3_REGION: "the region of the trail's S3 bucket (default AWS_REGION; redirects are followed)",
  TRAILHOUND_SQS_QUEUE_URL:
    "the URL of an SQS queue that receives the trail bucket's S3 event notifications (s3:ObjectCreated:*), e.g. https://sqs.eu-west-1.amazonaws.com/111111111111/trailhound-new-files: new files start an alert run as they land (needs TRAILHOUND_SOURCE=s3://... and TRAILHOUND_ALERT_CHANNEL; see docs/SCALE.md)",
  TRAILHOUND_ROLE_TEMPLATE:
    "read every active account of the AWS organisation through this role, e.g. arn:aws:iam::{account}:role/TrailhoundRead (needs organizations:ListAccounts; see docs/SCALE.md)",
  TRAILHOUND_EXTERNAL_ID: "the ExternalId the member roles' trust policies require (2-1224 characters of letters, digits and +=,.@:/-_)",
  TRAILHOUND_ACCOUNTS: "comma-separated 12-digit account ids: only these accounts are read (with a role template or an S3 source)",
  TRAILHOUND_EXCLUDE_ACCOUNTS: "comma-separated 12-digit account ids never read (with a role template or an s3:// source)",
  TRAILHOUND_ALERT_CHANNEL: "a channel id (C.../G...) where findings at or above TRAILHOUND_ALERT_SEVERITY are posted within minutes; invite the bot there",
  TRAILHOUND_ALERT_EVERY: "how often the alert scan runs: 1m to 60m in minutes dividing an hour (1m, 2m, 5m, 10m, 15m, 30m, 60m), or 1h (default 5m)",
  TRAILHOUND_ALERT_SEVERITY: "the lowest severity alerted at once: critical, high, medium or low (default high)",
  TRAILHOUND_DIGEST_CHANNEL: "the channel id (C.../G...) for the daily digest: channel name -> View channel details -> bottom; invite the bot there",
  TRAILHOUND_DIGEST_CRON: "a cron expression for the digest (default '0 8 * * *': 08:00 every day), see crontab.guru",
  TRAILHOUND_TZ: "an IANA time zone for the digest schedule and times, e.g. Europe/Paris (default UTC)",
  // Several digests and quiet days (src/digest/config.ts).
  ...DIGEST_SETTING_HINTS,
  TRAILHOUND_GEOIP_CITY_DB: "path to a GeoIP/DB-IP City .mmdb file (default: the bundled DB-IP Lite data)",
  TRAILHOUND_GEOIP_ASN_DB: "path to an ASN .mmdb file (default: the bundled ASN data)",
  TRAILHOUND_LOG_LEVEL: "debug, info, warn or error (default info)",
  TRAILHOUND_SCAN_DEADLINE:
    "a duration such as 30m, 2h or 1d, or none (default 2h): a live (LookupEvents) read stops after this long and the report is partial, saying what it covered",
  TRAILHOUND_MAX_FILE_MB: "megabytes, 1-2048 (default 512): the largest a log file or S3 object may decompress to; larger ones (a gzip bomb) are not read and the report says so",
};

export interface ConfigProblem {
  setting: string;
  message: string;
  hint: string;
}

export class ConfigError extends Error {
  /** "config": the CLI prints the message and exits with the usage code. */
  readonly code = "config";
  constructor(readonly problems: ConfigProblem[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p.setting}: ${p.message}\n      how to set it: ${p.hint}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

const list = (s: string | undefined) =>
  (s ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0);

const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;
const SLACK_GROUP = /^S[A-Z0-9]{2,}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
const ROLE_ARN = /^arn:aws(-cn|-us-gov)?:iam::\d{12}:role\/[\w+=,.@\-/]{1,512}$/;

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const optStr = z.string().optional();

// Keyed exactly by SERVE_SETTINGS (src/env.ts): \`satisfies\` refuses a missing or an extra key.
const EnvSchema = z.object({
  SLACK_BOT_TOKEN: z.string({ error: "missing" }).regex(/^xoxb-[\w-]+$/, "must be a bot token starting with xoxb-"),
  SLACK_APP_TOKEN: optStr.refine((v) => v === undefined || /^xapp-[\w-]+$/.test(v), "must be an app-level token starting with xapp-"),
  SLACK_SIGNING_SECRET: optStr.refine((v) => v === undefined || /^[A-Za-z0-9]{16,}$/.test(v), "must be the alphanumeric signing secret"),
  PORT: optStr.refine((v) => v === undefined || (/^\d{1,5}$/.test(v) && Number(v) <= 65535), "must be a port number 0-65535"),
  SLACK_API_URL: optStr.refine((v) => v === undefined || /^https?:\/\/[^\s]+$/.test(v), "must be an http(s) URL"),
  TRAILHOUND_DATA_DIR: optStr,
  TRAILHOUND_ADMINS: optStr.refine(
    (v) => list(v).every((id) => SLACK_USER.test(id) || SLACK_GROUP.test(id)),
    "every entry must be a Slack user id (U.../W...) or user-group id (S...)",
  ),
  TRAILHOUND_VIEWERS: optStr.refine(
    (v) => list(v).every((id) => id === "*" || SLACK_USER.test(id) || SLACK_GROUP.test(id)),
    "every entry must be a Slack user id (U.../W...), a user-group id (S...) or *",
  ),
  TRAILHOUND_RESPONDERS: optStr.refine(
    (v) => list(v).every((id) => SLACK_USER.test(id) || SLACK_GROUP.test(id)),
    "every entry must be a Slack user id (U.../W...) or user-group id (S...)",
  ),
  TRAILHOUND_RESPONDER_ROLE_ARNS: optStr.refine((v) => list(v).every((a) => ROLE_ARN.test(a)), "every entry must be an IAM role ARN"),
  TRAILHOUND_PROTECTED_ARNS: optStr.refine(
    (v) => list(v).every((a) => /^arn:aws(-cn|-us-gov)?:(iam|sts)::\d{12}:(role|user|assumed-role)\/[\w+=,.@\-/]{1,512}$/.test(a)),
    "every entry must be an IAM role or user ARN",
  ),
  TRAILHOUND_TWO_PERSON_MINUTES: optStr.refine((v) => v === undefined || (/^\d{1,4}$/.test(v) && Number(v) <= 1440), "must be a whole number of minutes, 0-1440"),
  TRAILHOUND_WEBHOOK_URL: optStr.refine((v) => v === undefined || /^https?:\/\/[^\s]+$/.test(v), "must be an http(s) URL"),
  TRAILHOUND_WEBHOOK_SECRET: optStr.refine((v) => v === undefined || v.length >= 16, "must be at least 16 characters"),
  TRAILHOUND_WEBHOOK_SEVERITY: optStr.refine((v) => v === undefined || /^(critical|high|medium|low|info)$/.test(v), "must be critical, high, medium, low or info"),
  TRAILHOUND_PAGERDUTY_ROUTING_KEY: optStr.refine((v) => v === undefined || /^[A-Za-z0-9]{32}$/.test(v), "must be the 32-character integration key"),
  TRAILHOUND_PAGERDUTY_SEVERITY: optStr.refine((v) => v === undefined || /^(critical|high|medium|low|info)$/.test(v), "must be critical, high, medium, low or info"),
  TRAILHOUND_SECURITYHUB: optStr.refine((v) => v === undefined || /^(on|off|true|false|1|0|yes|no)$/i.test(v), "must be on or off"),
  TRAILHOUND_SECURITYHUB_REGION: optStr.refine((v) => v === undefined || REGION.test(v), "must be an AWS region like eu-west-1"),
  TRAILHOUND_SECURITYHUB_ROLE_ARNS: optStr.refine((v) => list(v).every((a) => ROLE_ARN.test(a)), "every entry must be an IAM role ARN"),
  TRAILHOUND_SECURITYHUB_SEVERITY: optStr.refine((v) => v === undefined || /^(critical|high|medium|low|info)$/.test(v), "must be critical, high, medium, low or info"),
  TRAILHOUND_CHANNELS: optStr.refine((v) => list(v).every((c) => /^[CG][A-Z0-9]{2,}$/.test(c)), "every entry must be a channel id (C... or G...), not a #name"),
  TRAILHOUND_MAX_SCANS_PER_USER: optStr.refine((v) => v === undefined || (/^\d{1,2}$/.test(v) && Number(v) >= 1 && Number(v) <= 20), "must be a whole number 1-20"),
  TRAILHOUND_ACK_ANYONE: optStr.refine((v) => v === undefined || /^(true|false|1|0|yes|no)$/i.test(v), "must be true or false"),
  TRAILHOUND_TEAM_ID: optStr.refine((v) => v === undefined || /^T[A-Z0-9]{2,}$/.test(v), "must be a workspace id starting with T"),
  TRAILHOUND_REGIONS: optStr.refine((v) => list(v).every((r) => REGION.test(r)), "every entry must be an AWS region like us-east-1"),
  AWS_PROFILE: optStr,
  TRAILHOUND_ROLE_ARNS: optStr.refine((v) => list(v).every((a) => ROLE_ARN.test(a)), "every entry must be an IAM role ARN"),
  TRAILHOUND_SOURCE: optStr.superRefine((v, ctx) => {
    const p = liveSourceProblem(v);
    if (p) ctx.addIssue({ code: "custom", message: p });
  }),
  // Checked together by athenaBotSettings (below) when TRAILHOUND_SOURCE=athena; the CLI reads them too.
  TRAILHOUND_ATHENA_REGION: optStr,
  TRAILHOUND_ATHENA_DATABASE: optStr,
  TRAILHOUND_ATHENA_TABLE: optStr,
  TRAILHOUND_ATHENA_WORKGROUP: optStr,
  TRAILHOUND_ATHENA_OUTPUT: optStr,
  TRAILHOUND_ATHENA_TABLE_FLAVOR: optStr,
  TRAILHOUND_ATHENA_RECENT: optStr,
  TRAILHOUND_ATHENA_BASELINE_DAYS: optStr,
  TRAILHOUND_ATHENA_BASELINE_EVERY: optStr,
  TRAILHOUND_S3_REGION: optStr.refine((v) => v === undefined || REGION.test(v), "must be an AWS region like us-east-1"),
  TRAILHOUND_SQS_QUEUE_URL: optStr.refine(
    (v) => v === undefined || /^https?:\/\/[^/\s]+\/\d{12}\/[A-Za-z0-9_-]{1,80}$/.test(v),
    "must be the queue's URL, e.g. https://sqs.eu-west-1.amazonaws.com/111111111111/trailhound-new-files",
  ),
  TRAILHOUND_ROLE_TEMPLATE: optStr.superRefine((v, ctx) => {
    const p = v === undefined ? undefined : roleTemplateProblem(v);
    if (p) ctx.addIssue({ code: "custom", message: p });
  }),
  TRAILHOUND_EXTERNAL_ID: optStr.superRefine((v, ctx) => {
    const p = v === undefined ? undefined : externalIdProblem(v);
    if (p) ctx.addIssue({ code: "custom", message: p });
  }),
  TRAILHOUND_ACCOUNTS: optStr.refine((v) => list(v).every((a) => /^\d{12}$/.test(a)), "every entry must be a 12-digit account id"),
  TRAILHOUND_EXCLUDE_ACCOUNTS: optStr.refine((v) => list(v).every((a) => /^\d{12}$/.test(a)), "every entry must be a 12-digit account id"),
  TRAILHOUND_ALERT_CHANNEL: optStr.refine((v) => v === undefined || /^[CG][A-Z0-9]{2,}$/.test(v), "must be a channel id (C... or G...), not a #name"),
  TRAILHOUND_ALERT_EVERY: optStr.superRefine((v, ctx) => {
    const p = v === undefined ? undefined : alertEveryProblem(v);
    if (p) ctx.addIssue({ code: "custom", message: p });
  }),
  TRAILHOUND_ALERT_SEVERITY: optStr.refine((v) => v === undefined || /^(critical|high|medium|low)$/.test(v), "must be critical, high, medium or low"),
  TRAILHOUND_DIGEST_CHANNEL: optStr.refine((v) => v === undefined || /^[CG][A-Z0-9]{2,}$/.test(v), "must be a channel id (C... or G...), not a #name"),
  TRAILHOUND_DIGEST_CRON: optStr.superRefine((v, ctx) => {
    const p = v === undefined ? undefined : cronProblem(v);
    if (p) ctx.addIssue({ code: "custom", message: `is not a valid cron expression: ${p}` });
  }),
  TRAILHOUND_TZ: optStr.superRefine((v, ctx) => {
    if (v !== undefined && !isTimeZone(v)) ctx.addIssue({ code: "custom", message: timeZoneProblem(v) });
  }),
  // Checked by parseDigestSchedules (below), entry by entry.
  TRAILHOUND_DIGESTS: optStr,
  TRAILHOUND_DIGEST_QUIET: optStr,
  TRAILHOUND_GEOIP_CITY_DB: optStr.refine((v) => v === undefined || existsSync(v), "file not found"),
  TRAILHOUND_GEOIP_ASN_DB: optStr.refine((v) => v === undefined || existsSync(v), "file not found"),
  TRAILHOUND_LOG_LEVEL: optStr.refine((v) => v === undefined || /^(debug|info|warn|error)$/.test(v), "must be debug, info, warn or error"),
  TRAILHOUND_SCAN_DEADLINE: optStr.refine((v) => v === undefined || /^(none|off|0|\d+(\.\d+)?\s*[smhd])$/i.test(v.trim()), "must be a duration such as 30m, 2h or 1d, or none"),
  TRAILHOUND_MAX_FILE_MB: optStr.refine((v) => v === undefined || (Number(v) > 0 && Number(v) <= 2048), "must be a number of megabytes between 1 and 2048"),
} satisfies Record<ServeSetting, z.ZodType>);

/** Every environment variable trailhound reads (src/env.ts: serve's settings and the others). */
export { knownSettings };

/** The schema's settings, in its order (a test compares them with SERVE_SETTINGS). */
export function schemaSettings(): string[] {
  return Object.keys(EnvSchema.shape);
}

export interface Config {
  slack: {
    botToken: string;
    /** Set: Socket Mode. */
    appToken?: string;
    signingSecret?: string;
    mode: "socket" | "http";
    /** HTTP receiver port (default 3000), or the /healthz port in Socket Mode (none when unset). */
    port?: number;
    /** Web API base URL ending with "/", when moved. */
    apiUrl?: string;
    /** The only workspace allowed; unset: the token's own (from auth.test at start). */
    teamId?: string;
  };
  dataDir: string;
  admins: { users: string[]; groups: string[] };
  /** TRAILHOUND_VIEWERS; undefined when unset (admins only). */
  viewers?: { everyone: boolean; users: string[]; groups: string[] };
  /** TRAILHOUND_CHANNELS; undefined when unset (any channel). */
  channels?: string[];
  maxScansPerUser: number;
  ackAnyone: boolean;
  /** Outbound notifications (src/notify): webhook and PagerDuty. */
  notify: NotifySettings;
  /** AWS Security Hub export (src/notify/securityhub.ts). */
  securityHub: SecurityHubSettings;
  /** Containment (src/respond): who may, with which roles, and the two-person rule. */
  respond: {
    responders: { users: string[]; groups: string[] };
    roleArns: string[];
    protectedArns: string[];
    /** Two-person rule window; absent: off. */
    approvalMinutes?: number;
  };
  aws: { regions: string[]; profile?: string; roleArns: string[] };
  digest: { channel?: string; cron: string; tz: string };
  /** Every digest to run: TRAILHOUND_DIGEST_CHANNEL's and TRAILHOUND_DIGESTS' entries (src/digest/config.ts). */
  digests: DigestScheduleConfig[];
  geoip: { cityDb?: string; asnDb?: string };
  logLevel: "debug" | "info" | "warn" | "error";
}

export function loadConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const v = env[key]?.trim();
    input[key] = v === undefined || v === "" ? undefined : v;
  }
  const parsed = EnvSchema.safeParse(input);
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const issue of parsed.success ? [] : parsed.error.issues) {
    const setting = String(issue.path[0] ?? "environment");
    if (seen.has(setting)) continue;
    seen.add(setting);
    const message = input[setting] === undefined && !issue.message.startsWith("missing") ? "missing" : issue.message;
    problems.push({ setting, message, hint: SETTING_HINTS[setting] ?? "" });
  }
  // Digest schedules: every entry checked (cron with node-cron, zone with Intl); a setting zod
  // already reported is not reported twice.
  const digestSchedules = parseDigestSchedules(input);
  const reported = new Set(seen);
  for (const p of digestSchedules.problems) {
    if (reported.has(p.setting)) continue;
    problems.push({ setting: p.setting, message: p.message, hint: SETTING_HINTS[p.setting] ?? "" });
  }
  // Across settings (checked even when others are malformed, so that every problem is listed).
  if (input.SLACK_APP_TOKEN === undefined && input.SLACK_SIGNING_SECRET === undefined) {
    problems.push({
      setting: "SLACK_SIGNING_SECRET",
      message: "missing: without SLACK_APP_TOKEN (Socket Mode) the HTTP receiver needs the signing secret",
      hint: SETTING_HINTS.SLACK_SIGNING_SECRET!,
    });
  }
  if ((input.TRAILHOUND_WEBHOOK_URL === undefined) !== (input.TRAILHOUND_WEBHOOK_SECRET === undefined)) {
    const missing = input.TRAILHOUND_WEBHOOK_URL === undefined ? "TRAILHOUND_WEBHOOK_URL" : "TRAILHOUND_WEBHOOK_SECRET";
    problems.push({ setting: missing, message: "missing: the webhook needs both its URL and its secret (deliveries are signed)", hint: SETTING_HINTS[missing]! });
  }
  // Athena as the baseline source: its settings, all checked at start.
  if (input.TRAILHOUND_SOURCE === "athena") {
    for (const p of athenaBotSettings(input).problems) {
      if (reported.has(p.setting)) continue;
      reported.add(p.setting);
      problems.push({ setting: p.setting, message: p.message, hint: SETTING_HINTS[p.setting] ?? "" });
    }
  }
  const s3Recent = input.TRAILHOUND_SOURCE?.startsWith("s3://") || (input.TRAILHOUND_SOURCE === "athena" && input.TRAILHOUND_ATHENA_RECENT?.startsWith("s3://"));
  if (input.TRAILHOUND_SQS_QUEUE_URL !== undefined && !reported.has("TRAILHOUND_SQS_QUEUE_URL")) {
    const missing = !s3Recent
      ? "TRAILHOUND_SOURCE=s3://bucket[/prefix] (or athena with TRAILHOUND_ATHENA_RECENT=s3://bucket[/prefix])"
      : input.TRAILHOUND_ALERT_CHANNEL === undefined
        ? "TRAILHOUND_ALERT_CHANNEL"
        : undefined;
    if (missing)
      problems.push({
        setting: "TRAILHOUND_SQS_QUEUE_URL",
        message: `needs ${missing}: notified files are read from the trail's bucket and start alert runs`,
        hint: SETTING_HINTS.TRAILHOUND_SQS_QUEUE_URL!,
      });
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const admins = list(e.TRAILHOUND_ADMINS);
  const socket = e.SLACK_APP_TOKEN !== undefined;
  const apiUrl = e.SLACK_API_URL === undefined ? undefined : e.SLACK_API_URL.endsWith("/") ? e.SLACK_API_URL : e.SLACK_API_URL + "/";
  return {
    slack: {
      botToken: e.SLACK_BOT_TOKEN,
      ...(e.SLACK_APP_TOKEN !== undefined ? { appToken: e.SLACK_APP_TOKEN } : {}),
      ...(e.SLACK_SIGNING_SECRET !== undefined ? { signingSecret: e.SLACK_SIGNING_SECRET } : {}),
      mode: socket ? "socket" : "http",
      ...(e.PORT !== undefined ? { port: Number(e.PORT) } : socket ? {} : { port: 3000 }),
      ...(apiUrl !== undefined ? { apiUrl } : {}),
      ...(e.TRAILHOUND_TEAM_ID !== undefined ? { teamId: e.TRAILHOUND_TEAM_ID } : {}),
    },
    dataDir: e.TRAILHOUND_DATA_DIR ?? "./data",
    admins: { users: admins.filter((a) => SLACK_USER.test(a)), groups: admins.filter((a) => SLACK_GROUP.test(a)) },
    ...(e.TRAILHOUND_VIEWERS !== undefined
      ? {
          viewers: {
            everyone: list(e.TRAILHOUND_VIEWERS).includes("*"),
            users: list(e.TRAILHOUND_VIEWERS).filter((a) => SLACK_USER.test(a)),
            groups: list(e.TRAILHOUND_VIEWERS).filter((a) => SLACK_GROUP.test(a)),
          },
        }
      : {}),
    ...(e.TRAILHOUND_CHANNELS !== undefined ? { channels: list(e.TRAILHOUND_CHANNELS) } : {}),
    notify: notifySettings(e),
    securityHub: securityHubSettings(e),
    respond: {
      responders: {
        users: list(e.TRAILHOUND_RESPONDERS).filter((a) => SLACK_USER.test(a)),
        groups: list(e.TRAILHOUND_RESPONDERS).filter((a) => SLACK_GROUP.test(a)),
      },
      roleArns: list(e.TRAILHOUND_RESPONDER_ROLE_ARNS),
      protectedArns: list(e.TRAILHOUND_PROTECTED_ARNS),
      ...(Number(e.TRAILHOUND_TWO_PERSON_MINUTES ?? "0") > 0 ? { approvalMinutes: Number(e.TRAILHOUND_TWO_PERSON_MINUTES) } : {}),
    },
    maxScansPerUser: e.TRAILHOUND_MAX_SCANS_PER_USER === undefined ? 2 : Number(e.TRAILHOUND_MAX_SCANS_PER_USER),
    ackAnyone: e.TRAILHOUND_ACK_ANYONE === undefined ? true : /^(true|1|yes)$/i.test(e.TRAILHOUND_ACK_ANYONE),
    aws: {
      regions: list(e.TRAILHOUND_REGIONS),
      ...(e.AWS_PROFILE !== undefined ? { profile: e.AWS_PROFILE } : {}),
      roleArns: list(e.TRAILHOUND_ROLE_ARNS),
    },
    digest: {
      ...(e.TRAILHOUND_DIGEST_CHANNEL !== undefined ? { channel: e.TRAILHOUND_DIGEST_CHANNEL } : {}),
      cron: e.TRAILHOUND_DIGEST_CRON ?? "0 8 * * *",
      tz: e.TRAILHOUND_TZ ?? "UTC",
    },
    digests: digestSchedules.schedules,
    geoip: {
      ...(e.TRAILHOUND_GEOIP_CITY_DB !== undefined ? { cityDb: e.TRAILHOUND_GEOIP_CITY_DB } : {}),
      ...(e.TRAILHOUND_GEOIP_ASN_DB !== undefined ? { asnDb: e.TRAILHOUND_GEOIP_ASN_DB } : {}),
    },
    logLevel: (e.TRAILHOUND_LOG_LEVEL as Config["logLevel"] | undefined) ?? "info",
  };
}
