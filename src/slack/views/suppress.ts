/**
 * The Suppress… modal and the pure parsing of its submission. The modal carries the finding id
 * and where the clicked message lives in `private_metadata`; scope values (identity, detector,
 * IP) are taken from the stored finding at submission, never from the modal.
 */
import type { types } from "@slack/bolt";
import type { Finding } from "../../scan/report-types.js";
import type { SuppressionScope } from "../../store/types.js";
import { findingText, identityLabel } from "./finding.js";
import { LIMITS } from "./limits.js";
import { mrkdwn, plain, truncate } from "./text.js";

export const SUPPRESS_CALLBACK = "suppress_modal";
export const SUPPRESS_BLOCKS = {
  scope: { block: "scope", action: "scope_sel" },
  duration: { block: "duration", action: "duration_sel" },
  until: { block: "until", action: "until_date" },
  reason: { block: "reason", action: "reason_in" },
} as const;

export const REASON_MAX = 500;
const DAY = 86_400_000;
/** A suppression may last at most this long; they are meant to expire. */
export const MAX_SUPPRESSION_DAYS = 366;

export const DURATIONS: Record<string, { label: string; ms?: number }> = {
  "1h": { label: "1 hour", ms: 3_600_000 },
  "1d": { label: "1 day", ms: DAY },
  "7d": { label: "7 days", ms: 7 * DAY },
  "30d": { label: "30 days", ms: 30 * DAY },
  date: { label: "Until the date below" },
};

/** Where the clicked finding was shown, so that the message can be updated after submission. */
export interface SuppressMeta {
  /** Finding id. */
  f: string;
  /** Channel and message ts (message buttons), finding index in that message. */
  c?: string;
  t?: string;
  i?: number;
  /** Opened from the Home tab. */
  h?: 1;
}

export function encodeMeta(m: SuppressMeta): string {
  const s = JSON.stringify(m);
  return s.length <= LIMITS.privateMetadata ? s : JSON.stringify({ f: m.f.slice(0, 2900) });
}

export function decodeMeta(s: string | undefined): SuppressMeta | undefined {
  try {
    const v = JSON.parse(s ?? "") as Partial<SuppressMeta>;
    if (typeof v.f !== "string" || v.f === "") return undefined;
    return {
      f: v.f,
      ...(typeof v.c === "string" ? { c: v.c } : {}),
      ...(typeof v.t === "string" ? { t: v.t } : {}),
      ...(typeof v.i === "number" && Number.isInteger(v.i) && v.i >= 0 ? { i: v.i } : {}),
      ...(v.h === 1 ? { h: 1 as const } : {}),
    };
  } catch {
    return undefined;
  }
}

function option(value: string, text: string, description?: string): types.PlainTextOption {
  return {
    value,
    text: plain(text, LIMITS.optionText),
    ...(description ? { description: plain(description, LIMITS.optionText) } : {}),
  };
}

export function scopeOptions(f: Finding): types.PlainTextOption[] {
  const who = identityLabel(f);
  const opts = [option("identity-detector", "This identity and detector", `${who} · ${f.detector}`), option("identity", "This identity", `${who}, every detector`)];
  if (f.sourceIp) opts.push(option("ip", "This source IP", `${f.sourceIp}, every identity`));
  opts.push(option("detector", "This detector everywhere", `${f.detector}, every identity`));
  return opts;
}

export function suppressModal(f: Finding, meta: SuppressMeta): types.ModalView {
  const scopes = scopeOptions(f);
  const durations = Object.entries(DURATIONS).map(([v, d]) => option(v, d.label));
  return {
    type: "modal",
    callback_id: SUPPRESS_CALLBACK,
    private_metadata: encodeMeta(meta),
    title: plain("Suppress finding", LIMITS.viewTitle),
    submit: plain("Suppress", LIMITS.viewTitle),
    close: plain("Cancel", LIMITS.viewTitle),
    blocks: [
      { type: "section", block_id: "sup:f", text: mrkdwn(findingText(f, true)) },
      {
        type: "input",
        block_id: SUPPRESS_BLOCKS.scope.block,
        label: plain("Hide findings from"),
        element: { type: "static_select", action_id: SUPPRESS_BLOCKS.scope.action, options: scopes, initial_option: scopes[0]! },
      },
      {
        type: "input",
        block_id: SUPPRESS_BLOCKS.duration.block,
        label: plain("For"),
        element: { type: "static_select", action_id: SUPPRESS_BLOCKS.duration.action, options: durations, initial_option: durations[1]! },
      },
      {
        type: "input",
        block_id: SUPPRESS_BLOCKS.until.block,
        optional: true,
        label: plain('Date (when "Until the date below")'),
        hint: plain("The suppression ends at the end of that day (UTC). At most a year ahead."),
        element: { type: "datepicker", action_id: SUPPRESS_BLOCKS.until.action },
      },
      {
        type: "input",
        block_id: SUPPRESS_BLOCKS.reason.block,
        label: plain("Reason"),
        hint: plain("Required. Shown beside the suppression and written to the audit log."),
        element: { type: "plain_text_input", action_id: SUPPRESS_BLOCKS.reason.action, multiline: true, max_length: REASON_MAX },
      },
    ],
  };
}

type StateValues = Record<string, Record<string, { selected_option?: { value?: string } | null; selected_date?: string | null; value?: string | null }>>;

export type SuppressChoice = { ok: true; scope: SuppressionScope; until: string; reason: string } | { ok: false; errors: Record<string, string> };

const SCOPES: readonly SuppressionScope[] = ["identity-detector", "identity", "ip", "detector"];

/** Validate a submission against the stored finding; errors are keyed by input block id. */
export function parseSuppressSubmission(values: StateValues, f: Finding, now: number): SuppressChoice {
  const B = SUPPRESS_BLOCKS;
  const errors: Record<string, string> = {};
  const scope = values[B.scope.block]?.[B.scope.action]?.selected_option?.value;
  const duration = values[B.duration.block]?.[B.duration.action]?.selected_option?.value;
  const date = values[B.until.block]?.[B.until.action]?.selected_date ?? undefined;
  const reason = (values[B.reason.block]?.[B.reason.action]?.value ?? "").trim();

  if (!scope || !SCOPES.includes(scope as SuppressionScope)) errors[B.scope.block] = "Choose what to suppress.";
  else if (scope === "ip" && !f.sourceIp) errors[B.scope.block] = "This finding has no source IP.";

  let until: number | undefined;
  const d = duration ? DURATIONS[duration] : undefined;
  if (d?.ms !== undefined) until = now + d.ms;
  else if (duration === "date" || (!duration && date)) {
    if (!date || !/^\d{4}-\d{2}-\d{2}$/.test(date)) errors[B.until.block] = "Pick the date the suppression ends.";
    else {
      until = Date.parse(`${date}T23:59:59.999Z`);
      if (!Number.isFinite(until) || until <= now) errors[B.until.block] = "Pick a date in the future.";
      else if (until - now > MAX_SUPPRESSION_DAYS * DAY) errors[B.until.block] = "At most a year ahead: suppressions are meant to expire.";
    }
  } else errors[B.duration.block] = "Choose how long.";

  if (reason === "") errors[B.reason.block] = "Give a reason: it is shown beside the suppression and audited.";
  else if (reason.length > REASON_MAX) errors[B.reason.block] = `At most ${REASON_MAX} characters.`;

  if (Object.keys(errors).length > 0 || until === undefined) return { ok: false, errors };
  return { ok: true, scope: scope as SuppressionScope, until: new Date(until).toISOString(), reason: truncate(reason, REASON_MAX) };
}
