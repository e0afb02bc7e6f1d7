/**
 * The buttons every finding carries (in scan results, threads, digests and Home): Acknowledge,
 * Suppress… (and its modal), Details. The button value is only the finding id: the finding, and
 * who may act on it, come from the store and the configuration.
 */
import type { AllMiddlewareArgs, App, BlockAction, ButtonAction, RespondFn, SlackViewMiddlewareArgs, ViewSubmitAction, webApi } from "@slack/bolt";
import type { SuppressInput } from "../../store/store.js";
import type { StoredFinding, Suppression } from "../../store/types.js";
import { isStoreError } from "../../store/errors.js";
import { allow } from "../access.js";
import type { Bot } from "../context.js";
import { findingDetailsMessage, findingDetailsModal } from "../views/details.js";
import { FINDING_ACTIONS, SCOPE_LABEL } from "../views/finding.js";
import { decodeMeta, parseSuppressSubmission, SUPPRESS_BLOCKS, SUPPRESS_CALLBACK, suppressModal, type SuppressMeta } from "../views/suppress.js";
import { code, esc, mention, slackDate, truncate } from "../views/text.js";
import { clickedIndex, clickSite, tell, updateFindingMessage, updateOtherPosts } from "./common.js";
import { publishHome } from "./home.js";
import { postTimeline } from "../timeline.js";

interface ButtonArgs {
  ack: () => Promise<void>;
  body: BlockAction;
  action: ButtonAction;
  client: webApi.WebClient;
  respond?: RespondFn;
}

const gone = (id: string) => `This finding (${code(id, 80)}) is not in the store any more; run the scan again.`;

/** After a finding changed: show it where it was clicked, and in its other posts (alert, digest). */
async function showChange(bot: Bot, a: ButtonArgs, id: string, confirmation: string): Promise<void> {
  const site = clickSite(a.body);
  let shown = false;
  if (site.kind === "view") {
    await publishHome(bot, a.client, a.body.user.id);
    shown = true;
  } else if (site.kind === "message" && site.channel && site.ts) {
    shown = await updateFindingMessage(bot, a.client, site.channel, site.ts, site.message);
  }
  await updateOtherPosts(bot, a.client, id, site);
  if (!shown) await tell(a, confirmation);
}

/** Log a listener failure and tell the user, instead of failing silently. */
async function guarded(bot: Bot, name: string, a: ButtonArgs, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    bot.log.error(`${name} failed`, { err, user: a.body.user.id });
    await tell(a, `:x: ${name} did not work: ${esc(err instanceof Error ? err.message : String(err))}`).catch(() => undefined);
  }
}

export async function onAcknowledge(bot: Bot, a: ButtonArgs): Promise<void> {
  await a.ack();
  await guarded(bot, "Acknowledge", a, async () => {
    const user = a.body.user.id;
    const id = a.action.value ?? "";
    const d = await allow(bot, user, "ack", `ack:${id}`);
    if (!d.allowed) return tell(a, `:no_entry: ${esc(d.reason)}`);
    const stored = await bot.store.getFinding(id);
    if (!stored) return tell(a, gone(id));
    // The store records the acknowledgement in the finding's history and in the audit log.
    let updated: StoredFinding;
    const at = bot.now();
    try {
      updated = await bot.store.acknowledge(id, user, at);
    } catch (err) {
      if (isStoreError(err, "not-found")) return tell(a, gone(id));
      throw err;
    }
    // Earlier decisions stand (the store keeps them and records this one in the history).
    if (updated.status === "suppressed") {
      const supp = updated.suppressedBy ? bot.store.getSuppression(updated.suppressedBy) : undefined;
      const by = supp ? ` by ${mention(supp.by)} until ${slackDate(supp.until)}: ${esc(truncate(supp.reason, 200))}` : "";
      return tell(a, `:mute: This finding is suppressed (${code(updated.suppressedBy ?? "?", 60)}${by}); the suppression stays. Your acknowledgement is noted in its history.`);
    }
    const first = updated.acknowledged;
    if (first && (first.by !== user || first.at !== new Date(at).toISOString())) {
      return tell(a, `:white_check_mark: Already acknowledged by ${mention(first.by)} ${slackDate(first.at)}; yours is added to its history.`);
    }
    await showChange(bot, a, id, `:white_check_mark: Acknowledged ${esc(truncate(updated.finding.title, 150))} · ${slackDate(bot.now())}`);
  });
}

export async function onSuppressClick(bot: Bot, a: ButtonArgs): Promise<void> {
  await a.ack();
  await guarded(bot, "Suppress", a, async () => {
    const user = a.body.user.id;
    const id = a.action.value ?? "";
    // Authorise before opening the modal (and again on submission: that one decides).
    const d = await allow(bot, user, "suppress", `suppress:${id}`);
    if (!d.allowed) return tell(a, `:no_entry: ${esc(d.reason)}`);
    const stored = await bot.store.getFinding(id);
    if (!stored) return tell(a, gone(id));
    const site = clickSite(a.body);
    const meta: SuppressMeta = { f: id };
    if (site.kind === "view") meta.h = 1;
    if (site.kind === "message" && site.channel && site.ts) {
      meta.c = site.channel;
      meta.t = site.ts;
      const i = clickedIndex(a.action);
      if (i !== undefined) meta.i = i;
      // Keep the message so that the submission can update it in place.
      if (!bot.messages.get(site.channel, site.ts) && site.message) bot.messages.set(site.channel, site.ts, site.message.text, site.message.blocks);
    }
    await a.client.views.open({ trigger_id: a.body.trigger_id, view: suppressModal(stored.finding, meta) });
  });
}

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

export async function onSuppressSubmit(bot: Bot, { ack, body, view, client }: SubmitArgs): Promise<void> {
  const user = body.user.id;
  const meta = decodeMeta(view.private_metadata);
  const d = await allow(bot, user, "suppress", `suppress:${meta?.f ?? "?"}`);
  if (!d.allowed) {
    await ack({ response_action: "errors", errors: { [SUPPRESS_BLOCKS.scope.block]: d.reason ?? "Not allowed." } });
    return;
  }
  const stored = meta ? await bot.store.getFinding(meta.f) : undefined;
  if (!meta || !stored) {
    await ack({ response_action: "errors", errors: { [SUPPRESS_BLOCKS.scope.block]: "This finding is not in the store any more." } });
    return;
  }
  const now = bot.now();
  const choice = parseSuppressSubmission(view.state.values, stored.finding, now);
  if (!choice.ok) {
    await ack({ response_action: "errors", errors: choice.errors });
    return;
  }
  const f = stored.finding;
  const scoped: Pick<SuppressInput, "identityKey" | "detector" | "sourceIp"> =
    choice.scope === "identity-detector"
      ? { identityKey: f.identity.key, detector: f.detector }
      : choice.scope === "identity"
        ? { identityKey: f.identity.key }
        : choice.scope === "ip"
          ? { sourceIp: f.sourceIp! }
          : { detector: f.detector };
  let supp: Suppression;
  try {
    // Audited by the store (who, scope, until, reason).
    supp = await bot.store.suppress({ scope: choice.scope, ...scoped, until: choice.until, reason: choice.reason, by: user }, now);
  } catch (err) {
    bot.log.error("suppress failed", { err, user });
    await ack({ response_action: "errors", errors: { [SUPPRESS_BLOCKS.reason.block]: `Could not save the suppression: ${err instanceof Error ? err.message : String(err)}` } });
    return;
  }
  await ack();
  try {
    if (meta.h) await publishHome(bot, client, user);
    if (meta.c && meta.t) {
      const updated = await updateFindingMessage(bot, client, meta.c, meta.t);
      if (!updated) {
        await client.chat.postMessage({
          channel: meta.c,
          thread_ts: meta.t,
          text: `:mute: ${mention(user)} suppressed ${SCOPE_LABEL[choice.scope]} (${code(supp.id, 60)}) until ${slackDate(choice.until)}: ${esc(choice.reason)}`,
        });
      }
    }
  } catch (err) {
    bot.log.warn("suppressed, but could not update the message", { err, id: supp.id });
  }
  await updateOtherPosts(bot, client, meta.f, { channel: meta.c, ts: meta.t });
}

export async function onDetails(bot: Bot, a: ButtonArgs): Promise<void> {
  await a.ack();
  await guarded(bot, "Details", a, async () => {
    const id = a.action.value ?? "";
    const d = await allow(bot, a.body.user.id, "view", `details:${id}`);
    if (!d.allowed) return tell(a, `:no_entry: ${esc(d.reason)}`);
    const stored = await bot.store.getFinding(id);
    if (!stored) return tell(a, gone(id));
    const site = clickSite(a.body);
    if (site.kind === "view") {
      await a.client.views.open({ trigger_id: a.body.trigger_id, view: findingDetailsModal(stored) });
      return;
    }
    const msg = findingDetailsMessage(stored);
    // In the thread only where results may be posted (TRAILHOUND_CHANNELS); else privately.
    if (site.kind === "message" && site.channel && bot.authz.mayPostIn(site.channel)) {
      try {
        await a.client.chat.postMessage({ channel: site.channel, ...(site.threadTs ? { thread_ts: site.threadTs } : {}), text: msg.text, blocks: msg.blocks });
        const f = stored.finding;
        await postTimeline(bot, a.client, { channel: site.channel, threadTs: site.threadTs ?? "", key: f.identity.key, at: Date.parse(f.lastSeen) });
        return;
      } catch (err) {
        bot.log.info("cannot post details in the thread; answering privately", { err: err instanceof Error ? err.message : String(err) });
      }
    }
    if (a.respond) await a.respond({ response_type: "ephemeral", replace_original: false, text: msg.text, blocks: msg.blocks });
  });
}

export function registerFindingActions(app: App, bot: Bot): void {
  app.action<BlockAction<ButtonAction>>(FINDING_ACTIONS.ack, (a) => onAcknowledge(bot, a));
  app.action<BlockAction<ButtonAction>>(FINDING_ACTIONS.suppress, (a) => onSuppressClick(bot, a));
  app.action<BlockAction<ButtonAction>>(FINDING_ACTIONS.details, (a) => onDetails(bot, a));
  app.view<ViewSubmitAction>(SUPPRESS_CALLBACK, (a) => onSuppressSubmit(bot, a));
}
