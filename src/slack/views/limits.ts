/**
 * Slack's Block Kit limits (exceeding one gives `invalid_blocks`), and a checker that lists every
 * violation in a payload. Builders are written to stay inside the limits by construction; tests
 * run the checker over adversarial input.
 */
import type { types } from "@slack/bolt";

export type Block = types.KnownBlock;

export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  buttonText: 75,
  buttonValue: 2000,
  id: 255,
  actionsElements: 25,
  optionText: 75,
  optionValue: 150,
  inputLabel: 2000,
  viewTitle: 24,
  privateMetadata: 3000,
  /** Top-level `text`: Slack allows 40k but truncates display long before; we keep it short. */
  fallbackText: 3000,
} as const;

export type Surface = "message" | "modal" | "home";

interface TextLike {
  type?: string;
  text?: unknown;
}

/** Every limit violation in a payload (empty = valid as far as these limits go). */
export function blockKitProblems(payload: { blocks: unknown[]; text?: string | undefined }, surface: Surface): string[] {
  const out: string[] = [];
  const maxBlocks = surface === "message" ? LIMITS.messageBlocks : LIMITS.viewBlocks;
  if (payload.blocks.length > maxBlocks) out.push(`${payload.blocks.length} blocks > ${maxBlocks}`);
  if (surface === "message") {
    if (typeof payload.text !== "string" || payload.text.trim() === "") out.push("no top-level text fallback");
    else if (payload.text.length > LIMITS.fallbackText) out.push(`text fallback ${payload.text.length} > ${LIMITS.fallbackText}`);
  }
  const blockIds = new Set<string>();
  const checkText = (where: string, t: TextLike | undefined, max: number, required = true) => {
    if (t === undefined) {
      if (required) out.push(`${where}: missing text`);
      return;
    }
    if (typeof t.text !== "string") return void out.push(`${where}: text is not a string`);
    if (t.text.length === 0) out.push(`${where}: empty text`);
    if (t.text.length > max) out.push(`${where}: ${t.text.length} chars > ${max}`);
  };
  const checkElement = (where: string, el: Record<string, unknown>, actionIds: Set<string>) => {
    const aid = el.action_id;
    if (typeof aid === "string") {
      if (aid.length > LIMITS.id) out.push(`${where}: action_id ${aid.length} > ${LIMITS.id}`);
      if (actionIds.has(aid)) out.push(`${where}: duplicate action_id ${aid}`);
      actionIds.add(aid);
    }
    if (el.type === "button") {
      checkText(`${where} button`, el.text as TextLike, LIMITS.buttonText);
      if (typeof el.value === "string" && el.value.length > LIMITS.buttonValue) out.push(`${where}: button value ${el.value.length} > ${LIMITS.buttonValue}`);
    }
    const options = (el.options as Array<{ text: TextLike; value: string }> | undefined) ?? [];
    for (const o of options) {
      checkText(`${where} option`, o.text, LIMITS.optionText);
      if (o.value.length > LIMITS.optionValue) out.push(`${where}: option value > ${LIMITS.optionValue}`);
    }
  };
  payload.blocks.forEach((raw, i) => {
    const b = raw as Record<string, unknown>;
    const where = `block ${i} (${String(b.type)})`;
    const bid = b.block_id;
    if (typeof bid === "string") {
      if (bid.length > LIMITS.id) out.push(`${where}: block_id ${bid.length} > ${LIMITS.id}`);
      if (blockIds.has(bid)) out.push(`${where}: duplicate block_id ${bid}`);
      blockIds.add(bid);
    }
    const actionIds = new Set<string>();
    switch (b.type) {
      case "section": {
        const fields = b.fields as TextLike[] | undefined;
        checkText(where, b.text as TextLike | undefined, LIMITS.sectionText, fields === undefined);
        if (fields) {
          if (fields.length > LIMITS.sectionFields) out.push(`${where}: ${fields.length} fields > ${LIMITS.sectionFields}`);
          for (const [j, f] of fields.entries()) checkText(`${where} field ${j}`, f, LIMITS.fieldText);
        }
        if (b.accessory) checkElement(where, b.accessory as Record<string, unknown>, actionIds);
        break;
      }
      case "header":
        checkText(where, b.text as TextLike, LIMITS.headerText);
        break;
      case "context": {
        const els = (b.elements as TextLike[]) ?? [];
        if (els.length === 0 || els.length > LIMITS.contextElements) out.push(`${where}: ${els.length} elements`);
        for (const [j, e] of els.entries()) checkText(`${where} element ${j}`, e, LIMITS.sectionText);
        break;
      }
      case "actions": {
        const els = (b.elements as Array<Record<string, unknown>>) ?? [];
        if (els.length === 0 || els.length > LIMITS.actionsElements) out.push(`${where}: ${els.length} elements`);
        for (const [j, e] of els.entries()) checkElement(`${where} element ${j}`, e, actionIds);
        break;
      }
      case "input":
        if (surface === "message") out.push(`${where}: input blocks only in views`);
        checkText(where, b.label as TextLike, LIMITS.inputLabel);
        checkElement(where, b.element as Record<string, unknown>, actionIds);
        break;
      case "divider":
        break;
      default:
        break;
    }
  });
  return out;
}

/** Problems with a modal or Home view: blocks plus title, buttons and private_metadata. */
export function viewProblems(view: types.View): string[] {
  const out = blockKitProblems({ blocks: view.blocks as unknown[] }, view.type === "home" ? "home" : "modal");
  if (view.type === "modal") {
    const m = view as types.ModalView;
    for (const [k, t] of [
      ["title", m.title],
      ["submit", m.submit],
      ["close", m.close],
    ] as const) {
      if (t && (t.text.length === 0 || t.text.length > LIMITS.viewTitle)) out.push(`${k}: ${t.text.length} chars (1-${LIMITS.viewTitle})`);
    }
  }
  if (view.private_metadata !== undefined && view.private_metadata.length > LIMITS.privateMetadata)
    out.push(`private_metadata ${view.private_metadata.length} > ${LIMITS.privateMetadata}`);
  return out;
}

/** A message as the builders produce it: blocks plus the plain `text` fallback (always set). */
export interface SlackMessage {
  text: string;
  blocks: Block[];
}
