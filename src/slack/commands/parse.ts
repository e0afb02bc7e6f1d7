/**
 * `/cloudtrail …` text -> a command. Pure: no I/O, no clock (pass `now` to reject future times).
 *
 *   help
 *   scan user NAME [WINDOW]      scan ip IP [WINDOW]      scan role ARN|NAME [WINDOW]
 *   scan account [ID] [WINDOW]   scan [WINDOW]            (WINDOW: 30m, 24h, 7d, since ISO [until ISO])
 *   status   suppressions   unsuppress ID   baseline user NAME | baseline role NAME | baseline KEY
 *   audit [N]
 */
import { isIP } from "node:net";
import type { ScanTarget } from "../ports.js";

export type Command =
  | { kind: "help" }
  | { kind: "scan"; target: ScanTarget; since?: string; until?: string }
  | { kind: "status" }
  | { kind: "suppressions" }
  | { kind: "unsuppress"; id: string }
  | { kind: "baseline"; identity: { kind: "user" | "role" | "key"; value: string } }
  | { kind: "audit"; limit: number }
  | { kind: "invalid"; input: string; problem: string };

/** `audit` shows this many entries by default, at most AUDIT_MAX. */
export const AUDIT_DEFAULT = 20;
export const AUDIT_MAX = 200;

/** LookupEvents keeps 90 days. */
export const MAX_WINDOW_DAYS = 90;
export const DEFAULT_WINDOW = "24h";

const DURATION = /^(\d{1,5})(m|h|d)$/;
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
/** IAM user names and role-session names. */
const NAME = /^[\w+=,.@-]{1,128}$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const ROLE_ARN = /^arn:aws(-cn|-us-gov)?:(iam|sts)::\d{12}:(role|assumed-role)\/[\w+=,.@\-/]{1,512}$/;
const ACCOUNT = /^\d{12}$/;
const SUPPRESSION_ID = /^[\w-]{1,100}$/;
const IDENTITY_KEY = /^(user|role|root|service|federated|saml|web|unknown|[a-z-]+):[^\s]{1,300}$/;

/** Slack sends `&amp; &lt; &gt;` escaped and auto-formats e-mails and links as `<mailto:x|x>`. */
export function unescapeSlackText(text: string): string {
  return text
    .replace(/<(?:mailto:|https?:\/\/)[^|>]*\|([^>]*)>/g, "$1")
    .replace(/<((?:mailto:|https?:\/\/)[^>]*)>/g, (_m, url: string) => url.replace(/^mailto:/, ""))
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

function durationMs(d: string): number | undefined {
  const m = DURATION.exec(d);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n * (m[2] === "m" ? 60_000 : m[2] === "h" ? 3_600_000 : 86_400_000);
}

interface Window {
  since?: string;
  until?: string;
}

/** Parse the window words after a scan target; returns a problem string when they do not parse. */
function parseWindow(words: string[], now?: number): Window | string {
  if (words.length === 0) return { since: DEFAULT_WINDOW };
  const w = words.map((x) => x.toLowerCase());
  if (w.length === 1 || (w.length === 2 && w[0] === "last")) {
    const d = w[w.length - 1]!;
    const ms = durationMs(d);
    if (ms === undefined) return `\`${d}\` is not a window: use 30m, 24h, 7d or since <ISO time>`;
    if (ms <= 0) return "the window must be longer than zero";
    if (ms > MAX_WINDOW_DAYS * 86_400_000) return `the window can be at most ${MAX_WINDOW_DAYS} days (CloudTrail LookupEvents keeps 90 days)`;
    return { since: d };
  }
  if (w[0] === "since" && (w.length === 2 || (w.length === 4 && w[2] === "until"))) {
    const since = words[1]!;
    const until = w.length === 4 ? words[3]! : undefined;
    for (const t of [since, until]) {
      if (t === undefined) continue;
      if (!ISO.test(t) || Number.isNaN(Date.parse(t))) return `\`${t}\` is not an ISO time like 2024-05-01 or 2024-05-01T09:00Z`;
      if (now !== undefined && Date.parse(t) > now + 60_000) return `\`${t}\` is in the future`;
    }
    if (until !== undefined && Date.parse(until) <= Date.parse(since)) return "`until` must come after `since`";
    if (now !== undefined && now - Date.parse(since) > MAX_WINDOW_DAYS * 86_400_000)
      return `\`since\` can be at most ${MAX_WINDOW_DAYS} days ago (CloudTrail LookupEvents keeps 90 days)`;
    return until === undefined ? { since } : { since, until };
  }
  return `\`${words.join(" ")}\` is not a window: use 30m, 24h, 7d or since <ISO time> [until <ISO time>]`;
}

function invalid(input: string, problem: string): Command {
  return { kind: "invalid", input, problem };
}

function parseScan(input: string, args: string[], now?: number): Command {
  const kind = args[0]?.toLowerCase();
  let target: ScanTarget;
  let rest: string[];
  switch (kind) {
    case "user": {
      const name = args[1];
      if (name === undefined) return invalid(input, "`scan user` needs a user name, e.g. `scan user alice 24h`");
      if (!NAME.test(name)) return invalid(input, "a user name has 1-128 letters, digits or `+=,.@_-`");
      target = { kind: "user", value: name };
      rest = args.slice(2);
      break;
    }
    case "ip": {
      const ip = args[1];
      if (ip === undefined) return invalid(input, "`scan ip` needs an address, e.g. `scan ip 203.0.113.7`");
      if (isIP(ip) === 0) return invalid(input, `\`${ip}\` is not an IPv4 or IPv6 address`);
      target = { kind: "ip", value: ip };
      rest = args.slice(2);
      break;
    }
    case "role": {
      const role = args[1];
      if (role === undefined) return invalid(input, "`scan role` needs a role ARN or name, e.g. `scan role arn:aws:iam::123456789012:role/Deploy`");
      if (!ROLE_ARN.test(role) && !ROLE_NAME.test(role)) return invalid(input, `\`${role}\` is not a role ARN or role name`);
      target = { kind: "role", value: role };
      rest = args.slice(2);
      break;
    }
    case "account": {
      const id = args[1];
      if (id !== undefined && ACCOUNT.test(id)) {
        target = { kind: "account", value: id };
        rest = args.slice(2);
      } else {
        target = { kind: "account" };
        rest = args.slice(1);
      }
      break;
    }
    default:
      // `scan`, `scan 24h`, `scan since …`: the whole account.
      if (kind === undefined || DURATION.test(kind) || kind === "since" || kind === "last") {
        target = { kind: "account" };
        rest = args;
        break;
      }
      return invalid(input, `\`scan ${args[0]}\`: scan what? Use \`scan user NAME\`, \`scan ip IP\`, \`scan role ARN\` or \`scan account [ID]\``);
  }
  const win = parseWindow(rest, now);
  if (typeof win === "string") return invalid(input, win);
  return { kind: "scan", target, ...win };
}

export function parseCommand(rawText: string, now?: number): Command {
  const input = unescapeSlackText(rawText ?? "").trim();
  const args = input.split(/\s+/).filter((a) => a.length > 0);
  const verb = args[0]?.toLowerCase();
  if (verb === undefined || verb === "help" || verb === "?") return { kind: "help" };
  switch (verb) {
    case "scan":
      return parseScan(input, args.slice(1), now);
    case "status":
      return args.length === 1 ? { kind: "status" } : invalid(input, "`status` takes no arguments");
    case "suppressions":
      return args.length === 1 ? { kind: "suppressions" } : invalid(input, "`suppressions` takes no arguments");
    case "unsuppress": {
      const id = args[1];
      if (id === undefined || args.length > 2) return invalid(input, "`unsuppress` needs one suppression id (see `/cloudtrail suppressions`)");
      if (!SUPPRESSION_ID.test(id)) return invalid(input, `\`${id}\` is not a suppression id`);
      return { kind: "unsuppress", id };
    }
    case "audit": {
      if (args.length === 1) return { kind: "audit", limit: AUDIT_DEFAULT };
      const n = args[1]!;
      if (args.length > 2 || !/^\d{1,4}$/.test(n) || Number(n) < 1 || Number(n) > AUDIT_MAX)
        return invalid(input, `\`audit\` takes a number of entries, 1-${AUDIT_MAX} (default ${AUDIT_DEFAULT})`);
      return { kind: "audit", limit: Number(n) };
    }
    case "baseline": {
      const k = args[1]?.toLowerCase();
      if ((k === "user" || k === "role") && args.length === 3) {
        const value = args[2]!;
        if (!NAME.test(value)) return invalid(input, `\`${value}\` is not a ${k} name`);
        return { kind: "baseline", identity: { kind: k, value } };
      }
      if (args.length === 2 && IDENTITY_KEY.test(args[1]!)) return { kind: "baseline", identity: { kind: "key", value: args[1]! } };
      return invalid(input, "`baseline` needs an identity, e.g. `baseline user alice` or `baseline role Deploy`");
    }
    default:
      return invalid(input, `\`${args[0]}\` is not a command`);
  }
}

/** How a scan target reads in messages ("user alice", "the whole account"). Not escaped. */
export function describeTarget(t: ScanTarget): string {
  if (t.kind === "account") return t.value ? `account ${t.value}` : "the whole account";
  return `${t.kind} ${t.value ?? ""}`.trim();
}

/** How a window reads ("the last 24h", "since 2024-05-01"). Not escaped. */
export function describeWindow(since?: string, until?: string): string {
  if (since === undefined) return `the last ${DEFAULT_WINDOW}`;
  if (DURATION.test(since)) return `the last ${since}`;
  return until ? `${since} to ${until}` : `since ${since}`;
}
