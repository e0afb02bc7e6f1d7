/** Helpers shared by the finding actions (and usable by the digest: same buttons, same updates). */
import type { BlockAction, ButtonAction, RespondFn, webApi } from "@slack/bolt";
import { containOptions } from "../../respond/actions.js";
import type { Finding } from "../../scan/report-types.js";
import type { StoredFinding } from "../../store/types.js";
import type { Bot } from "../context.js";
import { findingBlocks, findingIndexOf, findingPrefix, replaceFindingBlocks, stateOf, type FindingState } from "../views/finding.js";
import type { Block } from "../views/limits.js";
import { mrkdwn, plain } from "../views/text.js";

export async function stateFor(bot: Bot, stored: StoredFinding): Promise<FindingState> {
  const supp = await bot.store.matchSuppression(stored.finding, bot.now());
  return { ...stateOf(stored, supp), ...containState(bot, stored.finding) };
}

/** Whether Contain… applies (containment on, some action fits) and the latest containment that did something. */
export function containState(
  bot: { respond?: Pick<NonNullable<Bot["respond"]>, "guard"> | undefined; store: Pick<Bot["store"], "containmentsFor"> },
  f: Finding,
): Pick<FindingState, "containable" | "contained"> {
  if (!bot.respond) return {};
  const out: Pick<FindingState, "containable" | "contained"> = {};
  if (containOptions(f, bot.respond.guard).options.length > 0) out.containable = true;
  const last = bot.store
    .containmentsFor(f.id)
    .filter((r) => r.state === "executed" || r.state === "undone")
    .at(-1);
  if (last) out.contained = { by: last.proposedBy, at: last.executedAt ?? last.proposedAt, summary: last.summary, ...(last.undone ? { undone: last.undone } : {}) };
  return out;
}

/** Finding id carried by the actions block of finding `index`, if any. */
function idOfFinding(blocks: Block[], index: number): string | undefined {
  const a = blocks.find((b) => b.block_id === `${findingPrefix(index)}a`);
  if (a?.type !== "actions") return undefined;
  for (const el of a.elements) if (el.type === "button" && typeof el.value === "string") return el.value;
  return undefined;
}

/**
 * Re-render every finding of a message from the store (its current status, acknowledgement and
 * matching suppression). Blocks that are not findings are kept as they are.
 */
export async function refreshFindings(bot: Bot, blocks: Block[]): Promise<Block[]> {
  const indexes = [...new Set(blocks.map((b) => findingIndexOf(b.block_id)).filter((i): i is number => i !== undefined))];
  let out = blocks;
  for (const i of indexes) {
    const id = idOfFinding(out, i);
    if (id === undefined) continue;
    const stored = await bot.store.getFinding(id);
    if (!stored) continue;
    const compact = !out.some((b) => b.block_id === `${findingPrefix(i)}c`);
    out = replaceFindingBlocks(out, i, findingBlocks(stored.finding, i, await stateFor(bot, stored), { compact }));
  }
  return out;
}

/**
 * Update a message that shows findings, in place: start from the newest blocks we know for it
 * (our own last edit, else the payload's), re-render its findings from the store, chat.update.
 * Returns false when there is nothing to start from.
 */
export async function updateFindingMessage(bot: Bot, client: webApi.WebClient, channel: string, ts: string, fromPayload?: { text: string; blocks: Block[] }): Promise<boolean> {
  return bot.messages.withLock(channel, ts, async () => {
    const base = bot.messages.get(channel, ts) ?? fromPayload;
    if (!base) return false;
    const blocks = await refreshFindings(bot, base.blocks);
    await client.chat.update({ channel, ts, text: base.text, blocks });
    bot.messages.set(channel, ts, base.text, blocks);
    return true;
  });
}

/** A message a digest or an alert posted a finding in. */
export interface FindingPost {
  channel: string;
  ts: string;
  /** The digest's first message, when this one is in its thread. */
  threadTs?: string;
}

/** At most this many other posts of one finding are updated per click (newest first). */
export const MAX_OTHER_POSTS = 10;

/** Every post of a finding by a digest or an alert (from the store's digest records), newest first. */
export function findingPosts(bot: Pick<Bot, "store">, id: string): FindingPost[] {
  const out: FindingPost[] = [];
  for (const d of bot.store.digests()) {
    const part = d.findingParts?.[id];
    const ts = part === undefined ? undefined : d.posted[part];
    if (part === undefined || ts === undefined) continue;
    const head = d.posted[0];
    out.push({ channel: d.channel, ts, ...(part > 0 && head !== undefined ? { threadTs: head } : {}) });
  }
  return out.reverse();
}

/** A message's text and blocks, read back from Slack (the digest's channel: channels:history / groups:history). */
async function fetchMessage(client: webApi.WebClient, p: FindingPost): Promise<{ text: string; blocks: Block[] } | undefined> {
  const q = { channel: p.channel, latest: p.ts, oldest: p.ts, inclusive: true };
  // Replies may start with the thread's parent whatever the range: room for it and the message.
  const r = p.threadTs ? await client.conversations.replies({ ...q, ts: p.threadTs, limit: 2 }) : await client.conversations.history({ ...q, limit: 1 });
  const m = (r.messages ?? []).find((x) => x.ts === p.ts) as { text?: string; blocks?: Block[] } | undefined;
  return m?.blocks?.length ? { text: m.text ?? "trailhound", blocks: m.blocks } : undefined;
}

/**
 * After a finding changed (acknowledged, suppressed, contained): update every other message a
 * digest or an alert posted it in, so that the alert and the morning digest agree whichever was
 * clicked. The blocks come from our last edit, else from Slack. Failures are logged, not thrown.
 */
export async function updateOtherPosts(bot: Bot, client: webApi.WebClient, id: string, except?: { channel?: string | undefined; ts?: string | undefined }): Promise<number> {
  let posts: FindingPost[];
  try {
    posts = findingPosts(bot, id).filter((p) => !(p.channel === except?.channel && p.ts === except?.ts));
  } catch (err) {
    bot.log.warn("could not look up the other posts of the finding", { id, err: err instanceof Error ? err.message : String(err) });
    return 0;
  }
  let updated = 0;
  for (const p of posts.slice(0, MAX_OTHER_POSTS)) {
    try {
      const base = bot.messages.get(p.channel, p.ts) ?? (await fetchMessage(client, p));
      if (!base) {
        bot.log.info("another post of the finding was not found in Slack; not updated", { id, channel: p.channel, ts: p.ts });
        continue;
      }
      if (await updateFindingMessage(bot, client, p.channel, p.ts, base)) updated++;
    } catch (err) {
      bot.log.warn("could not update another post of the finding", { id, channel: p.channel, ts: p.ts, err: err instanceof Error ? err.message : String(err) });
    }
  }
  return updated;
}

/** Where a button was clicked. */
export interface ClickSite {
  kind: "message" | "ephemeral" | "view";
  channel?: string;
  ts?: string;
  /** The thread the message belongs to (for Details replies). */
  threadTs?: string;
  viewId?: string;
  message?: { text: string; blocks: Block[] };
}

export function clickSite(body: BlockAction): ClickSite {
  const c = body.container as { type?: string; is_ephemeral?: boolean; channel_id?: string; message_ts?: string; view_id?: string } | undefined;
  if (c?.type === "view") return { kind: "view", ...(c.view_id ? { viewId: c.view_id } : {}) };
  const channel = body.channel?.id ?? c?.channel_id;
  const msg = body.message as { ts?: string; thread_ts?: string; text?: string; blocks?: Block[] } | undefined;
  if (c?.is_ephemeral || !msg) return { kind: "ephemeral", ...(channel ? { channel } : {}) };
  const ts = msg.ts ?? c?.message_ts;
  return {
    kind: "message",
    ...(channel ? { channel } : {}),
    ...(ts ? { ts } : {}),
    threadTs: msg.thread_ts ?? ts ?? "",
    message: { text: msg.text ?? "trailhound", blocks: msg.blocks ?? [] },
  };
}

/** The finding index of the clicked button (from its block id). */
export function clickedIndex(action: ButtonAction): number | undefined {
  return findingIndexOf(action.block_id);
}

/**
 * Tell the clicking user something privately: ephemeral via response_url for messages, a small
 * modal from Home (no response_url there), or an ephemeral post as a last resort.
 */
export async function tell(args: { body: BlockAction; respond?: RespondFn; client: webApi.WebClient }, text: string): Promise<void> {
  const { body, respond, client } = args;
  if (body.container?.type !== "view" && respond && body.response_url) {
    await respond({ response_type: "ephemeral", replace_original: false, text });
    return;
  }
  if (body.trigger_id) {
    await client.views.open({
      trigger_id: body.trigger_id,
      view: { type: "modal", title: plain("trailhound", 24), close: plain("OK", 24), blocks: [{ type: "section", text: mrkdwn(text) }] },
    });
    return;
  }
  if (body.channel?.id) await client.chat.postEphemeral({ channel: body.channel.id, user: body.user.id, text });
}
