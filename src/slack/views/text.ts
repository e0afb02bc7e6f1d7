/**
 * Text helpers for Block Kit. Everything that comes from CloudTrail (user names, session names,
 * user agents, request parameters, error messages) is attacker-controlled: it only ever reaches
 * mrkdwn through `esc` or `code`, so that `<!channel>`, `<@U123>` or `<https://evil|console>`
 * show as text, and a backtick cannot close a code span.
 */
import type { types } from "@slack/bolt";

export type MrkdwnElement = types.MrkdwnElement;
export type PlainTextElement = types.PlainTextElement;

/** Bidi overrides/isolates and zero-width characters can make a name read as something else. */
const INVISIBLE = /[\u202A-\u202E\u2066-\u2069\u200B-\u200F\u2028\u2029\uFEFF]/g;
/** Other control characters (keep \n and \t). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F]/g;

/** Escape a value for mrkdwn: & < > as entities, invisible/bidi characters made visible. */
export function esc(value: unknown): string {
  const s = typeof value === "string" ? value : value === undefined || value === null ? "" : String(value);
  return s.replace(INVISIBLE, "\uFFFD").replace(CONTROL, "\uFFFD").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A backtick inside a code span would close it: show a look-alike instead. */
const BACKTICK = /`/g;
const MODIFIER_GRAVE = "\u02CB";

/** An inline code span holding an untrusted value (escaped, one line, no backticks). */
export function code(value: unknown, max = 200): string {
  let s = esc(value)
    .replace(BACKTICK, MODIFIER_GRAVE)
    .replace(/[\r\n\t]+/g, " ");
  s = truncate(s, max);
  return s.trim() === "" ? "`∅`" : "`" + s + "`";
}

/** A fenced code block holding untrusted text (escaped; no backtick can end the fence). */
export function codeBlock(value: unknown, max = 2900): string {
  const s = truncate(esc(value).replace(BACKTICK, MODIFIER_GRAVE), max - 6);
  return "```" + (s === "" ? " " : s) + "```";
}

/**
 * JSON for a code block: the value stays valid JSON with the same meaning, but `&`, `<`, `>` and
 * backticks are written as \u escapes, so no mrkdwn escaping is needed and a copy parses back.
 */
export function safeJson(value: unknown, indent = 1): string {
  return JSON.stringify(value, null, indent)
    .replace(/&/g, "\\u0026")
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(BACKTICK, "\\u0060")
    .replace(INVISIBLE, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/**
 * Cut to at most `max` UTF-16 units, ending with "…" when cut, never splitting a surrogate pair
 * or an `&amp;`-style entity produced by `esc`.
 */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  if (max <= 1) return "…".slice(0, max);
  let end = max - 1;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--; // high surrogate without its pair
  const amp = s.lastIndexOf("&", end - 1);
  if (amp >= 0 && amp > end - 6 && s.indexOf(";", amp) >= end) end = amp; // inside &amp; &lt; &gt;
  return s.slice(0, end) + "…";
}

/** A Slack mention for a trusted user id (from Slack or our own store); anything else is escaped text. */
export function mention(userId: string | undefined): string {
  if (userId && /^[UW][A-Z0-9]{2,40}$/.test(userId)) return `<@${userId}>`;
  return code(userId ?? "unknown");
}

/** A date Slack shows in the reader's time zone; `fallback` is shown by clients that cannot. */
export function slackDate(iso: string | number | Date, format = "{date_short_pretty} {time}"): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return esc(String(iso));
  const fallback = d
    .toISOString()
    .replace("T", " ")
    .replace(/:\d\d\.\d{3}Z$/, " UTC");
  return `<!date^${Math.floor(d.getTime() / 1000)}^${format}|${fallback}>`;
}

export function mrkdwn(text: string, max = 3000): MrkdwnElement {
  const t = truncate(text, max);
  return { type: "mrkdwn", text: t === "" ? " " : t, verbatim: true };
}

export function plain(text: string, max = 3000): PlainTextElement {
  const t = truncate(text.replace(INVISIBLE, "\uFFFD").replace(CONTROL, "\uFFFD"), max);
  return { type: "plain_text", text: t.trim() === "" ? "-" : t, emoji: true };
}

/**
 * The top-level `text` (notification and fallback). It is read as mrkdwn, so it takes escaped
 * pieces only; capped well under Slack's limit.
 */
export function fallbackText(text: string, max = 2900): string {
  const t = truncate(text, max);
  return t.trim() === "" ? "trailhound" : t;
}

/** "3 findings" / "1 finding". */
export function plural(n: number, word: string, pluralWord = word + "s"): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

/** A channel link for a trusted channel id; anything else as escaped text. */
export function channelRef(id: string | undefined): string {
  if (id && /^[CGD][A-Z0-9]{2,40}$/.test(id)) return `<#${id}>`;
  return code(id ?? "unknown");
}
