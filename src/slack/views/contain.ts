/**
 * Containment in Slack (src/respond): the confirmation modal with the exact IAM calls of every
 * action that fits, and the thread messages that follow a containment (proposed, approved,
 * executed with request ids, failed, undone) with Approve / Undo buttons. Pure builders.
 */
import type { types } from "@slack/bolt";
import type { ActionOption, Plan, Refusal } from "../../respond/actions.js";
import { ACTION_LABELS, type ContainAction } from "../../respond/actions.js";
import type { Finding } from "../../scan/report-types.js";
import type { ContainmentRecord } from "../../store/types.js";
import { findingText } from "./finding.js";
import { LIMITS, type Block } from "./limits.js";
import { code, esc, mention, mrkdwn, plain, safeJson, slackDate, truncate } from "./text.js";

export const CONTAIN_CALLBACK = "contain_modal";
export const CONTAIN_ACTIONS_IDS = { approve: "contain_approve", undo: "contain_undo", approveUndo: "contain_undo_approve" } as const;
export const CONTAIN_BLOCKS = {
  action: { block: "cnt_action", action: "cnt_action_sel" },
  mode: { block: "cnt_mode", action: "cnt_mode_sel" },
} as const;

/** Where the clicked finding is shown (kept in the modal's private_metadata). */
export interface ContainMeta {
  f: string;
  /** Channel and ts of the finding's message. */
  c?: string;
  t?: string;
  /** Thread of that message. */
  th?: string;
}

export function encodeContainMeta(m: ContainMeta): string {
  return JSON.stringify(m);
}

export function decodeContainMeta(s: string | undefined): ContainMeta | undefined {
  try {
    const v = JSON.parse(s ?? "") as Record<string, unknown>;
    if (typeof v.f !== "string") return undefined;
    const str = (x: unknown) => (typeof x === "string" && x.length <= 64 ? x : undefined);
    const out: ContainMeta = { f: v.f };
    const c = str(v.c);
    const t = str(v.t);
    const th = str(v.th);
    if (c) out.c = c;
    if (t) out.t = t;
    if (th) out.th = th;
    return out;
  } catch {
    return undefined;
  }
}

export function containLoadingModal(f: Finding, meta: ContainMeta): types.ModalView {
  return {
    type: "modal",
    callback_id: CONTAIN_CALLBACK,
    private_metadata: encodeContainMeta(meta),
    title: plain("Contain", LIMITS.viewTitle),
    close: plain("Cancel", LIMITS.viewTitle),
    blocks: [
      { type: "section", block_id: "cnt:f", text: mrkdwn(findingText(f, true)) },
      { type: "context", block_id: "cnt:wait", elements: [mrkdwn(":hourglass_flowing_sand: Preparing the plan (reading the finding's events to find the key used)…")] },
    ],
  };
}

/** The exact calls of a plan, as JSON in a code block (policy documents included). */
function callsBlock(plan: Plan): string {
  return "```" + truncate(plan.calls.map((c) => `${c.api} ${safeJson(c.input, 0)}`).join("\n"), 2400) + "```";
}

export function planText(plan: Plan): string {
  const lines = [
    `*${esc(ACTION_LABELS[plan.action])}* · account ${code(plan.account, 20)} · ${code(plan.resource, 300)}`,
    callsBlock(plan),
    `*Breaks:* ${esc(truncate(plan.breaks, 600))}`,
    `*Undo:* ${plan.undo ? "possible from the thread (Undo)" : "not possible with trailhound"}`,
  ];
  return truncate(lines.join("\n"), LIMITS.sectionText);
}

export interface ContainChoices {
  options: ActionOption[];
  refusals: Refusal[];
  plans: Array<{ action: ContainAction; plan?: Plan; error?: string }>;
  /** Two-person rule window in minutes. */
  approvalMinutes?: number;
}

export function containModal(f: Finding, meta: ContainMeta, ch: ContainChoices): types.ModalView {
  const blocks: Block[] = [{ type: "section", block_id: "cnt:f", text: mrkdwn(findingText(f, true)) }];
  const ready = ch.plans.filter((p) => p.plan);
  ch.plans.forEach((p, i) => {
    if (p.plan) blocks.push({ type: "section", block_id: `cnt:p${i}`, text: mrkdwn(planText(p.plan)) });
    else
      blocks.push({
        type: "context",
        block_id: `cnt:e${i}`,
        elements: [mrkdwn(`:warning: *${esc(ACTION_LABELS[p.action])}*: ${esc(truncate(p.error ?? "cannot be planned", 600))}`)],
      });
  });
  ch.refusals.slice(0, 5).forEach((r, i) => {
    blocks.push({
      type: "context",
      block_id: `cnt:r${i}`,
      elements: [mrkdwn(`:no_entry: ${r.action ? `*${esc(ACTION_LABELS[r.action])}*: ` : ""}${esc(truncate(r.reason, 600))}`)],
    });
  });
  if (ready.length === 0) {
    blocks.push({ type: "section", block_id: "cnt:none", text: mrkdwn("Nothing can be contained for this finding.") });
    return {
      type: "modal",
      callback_id: CONTAIN_CALLBACK,
      private_metadata: encodeContainMeta(meta),
      title: plain("Contain", LIMITS.viewTitle),
      close: plain("Close", LIMITS.viewTitle),
      blocks,
    };
  }
  const options = ready.map((p) => ({
    value: p.action,
    text: plain(ACTION_LABELS[p.action], LIMITS.optionText),
    description: plain(truncate(p.plan!.summary, 70), LIMITS.optionText),
  }));
  blocks.push({
    type: "input",
    block_id: CONTAIN_BLOCKS.action.block,
    label: plain("Action"),
    element: { type: "radio_buttons", action_id: CONTAIN_BLOCKS.action.action, options, ...(options.length === 1 ? { initial_option: options[0]! } : {}) },
  });
  blocks.push({
    type: "input",
    block_id: CONTAIN_BLOCKS.mode.block,
    optional: true,
    label: plain("Mode"),
    element: {
      type: "checkboxes",
      action_id: CONTAIN_BLOCKS.mode.action,
      options: [{ value: "dry-run", text: plain("Dry run: record and audit the calls, make none") }],
    },
  });
  blocks.push({
    type: "context",
    block_id: "cnt:who",
    elements: [
      mrkdwn(
        ch.approvalMinutes
          ? `Two-person rule: another responder must approve in the thread within ${ch.approvalMinutes} minute${ch.approvalMinutes === 1 ? "" : "s"}; nothing is called before.`
          : "The calls are made as soon as you confirm. Every step is audited with its AWS request id.",
      ),
    ],
  });
  return {
    type: "modal",
    callback_id: CONTAIN_CALLBACK,
    private_metadata: encodeContainMeta(meta),
    title: plain("Contain", LIMITS.viewTitle),
    submit: plain(ch.approvalMinutes ? "Propose" : "Contain", LIMITS.viewTitle),
    close: plain("Cancel", LIMITS.viewTitle),
    blocks,
  };
}

type StateValues = Record<string, Record<string, { selected_option?: { value?: string } | null; selected_options?: Array<{ value?: string }> | null }>>;

export function parseContainSubmission(values: StateValues): { action?: string; dryRun: boolean } {
  const B = CONTAIN_BLOCKS;
  const action = values[B.action.block]?.[B.action.action]?.selected_option?.value;
  const dryRun = (values[B.mode.block]?.[B.mode.action]?.selected_options ?? []).some((o) => o.value === "dry-run");
  return { ...(action ? { action } : {}), dryRun };
}

function stepLines(rec: ContainmentRecord): string {
  return rec.steps
    .filter((s) => s.step !== "proposed")
    .map(
      (s) =>
        `• ${esc(s.step)}${s.api ? ` ${code(s.api, 60)}` : ""}${s.requestId ? ` request ${code(s.requestId, 80)}` : ""}${s.error ? `: ${esc(truncate(s.error, 300))}` : ""} · ${mention(s.by)} · ${slackDate(s.at)}`,
    )
    .join("\n");
}

/** The thread message of a containment, in its current state, with Approve / Undo when they apply. */
export function containmentMessage(rec: ContainmentRecord, now: number): { text: string; blocks: Block[] } {
  const label = ACTION_LABELS[rec.action as ContainAction] ?? rec.action;
  let head: string;
  switch (rec.state) {
    case "awaiting-approval":
      head = `:raised_hand: ${mention(rec.proposedBy)} proposes: *${esc(label)}* (${esc(rec.summary)}). Another responder must approve by ${slackDate(rec.approvalDeadline ?? now)}; nothing is called before.`;
      break;
    case "executing":
      head = `:hourglass_flowing_sand: Containing: *${esc(label)}*…`;
      break;
    case "executed":
      head = `:lock: Contained by ${mention(rec.proposedBy)}${rec.approvedBy && rec.approvedBy !== rec.proposedBy ? ` (approved by ${mention(rec.approvedBy)})` : ""} · ${slackDate(rec.executedAt ?? now)}: ${esc(rec.summary)}`;
      break;
    case "failed":
      head = `:x: Containment failed: *${esc(label)}* (${esc(rec.summary)}). Nothing after the failed call was made.`;
      break;
    case "dry-run":
      head = `:test_tube: Dry run by ${mention(rec.proposedBy)}: *${esc(label)}*. These calls were recorded and audited, none was made.`;
      break;
    case "expired":
      head = `:hourglass: Nobody approved *${esc(label)}* in time: nothing was done.`;
      break;
    case "undone":
      head = `:unlock: Undone by ${mention(rec.undone?.by)} · ${slackDate(rec.undone?.at ?? now)}: ${esc(rec.summary)}`;
      break;
  }
  const blocks: Block[] = [
    { type: "section", block_id: "cnt:head", text: mrkdwn(truncate(head, LIMITS.sectionText)) },
    {
      type: "section",
      block_id: "cnt:calls",
      text: mrkdwn(
        truncate(
          `Account ${code(rec.account, 20)} · ${code(rec.resource, 300)} · ${code(rec.id, 40)}\n` +
            "```" +
            truncate(rec.calls.map((c) => `${c.api} ${safeJson(c.input, 0)}`).join("\n") || "(no call needed)", 2000) +
            "```",
          LIMITS.sectionText,
        ),
      ),
    },
  ];
  if (rec.state === "executed" && rec.undoRequest) {
    blocks.splice(1, 0, {
      type: "section",
      block_id: "cnt:undoreq",
      text: mrkdwn(
        `:raised_hand: ${mention(rec.undoRequest.by)} asks to undo it. Another responder must approve by ${slackDate(rec.undoRequest.deadline)}; nothing is called before.`,
      ),
    });
  }
  const steps = stepLines(rec);
  if (steps) blocks.push({ type: "context", block_id: "cnt:steps", elements: [mrkdwn(truncate(steps, LIMITS.sectionText))] });
  const buttons: types.Button[] = [];
  if (rec.state === "awaiting-approval") buttons.push({ type: "button", action_id: CONTAIN_ACTIONS_IDS.approve, text: plain("Approve", 75), value: rec.id, style: "danger" });
  if (rec.state === "executed" && rec.undo?.length && rec.undoRequest) {
    buttons.push({
      type: "button",
      action_id: CONTAIN_ACTIONS_IDS.approveUndo,
      text: plain("Approve undo", 75),
      value: rec.id,
      confirm: {
        title: plain("Approve the undo?", 100),
        text: plain(truncate(`These calls will be made: ${rec.undo.map((c) => `${c.api} ${JSON.stringify(c.input)}`).join("; ")}`, 300), 300),
        confirm: plain("Approve", 30),
        deny: plain("Cancel", 30),
      },
    });
  } else if (rec.state === "executed" && rec.undo?.length) {
    buttons.push({
      type: "button",
      action_id: CONTAIN_ACTIONS_IDS.undo,
      text: plain("Undo", 75),
      value: rec.id,
      confirm: {
        title: plain("Undo the containment?", 100),
        text: plain(truncate(`These calls will be made: ${rec.undo.map((c) => `${c.api} ${JSON.stringify(c.input)}`).join("; ")}`, 300), 300),
        confirm: plain("Undo", 30),
        deny: plain("Cancel", 30),
      },
    });
  }
  if (buttons.length) blocks.push({ type: "actions", block_id: "cnt:act", elements: buttons });
  const text = truncate(`trailhound containment ${rec.id}: ${rec.state}${rec.undoRequest ? ", undo awaiting approval" : ""} (${rec.summary})`, 2900);
  return { text, blocks };
}
