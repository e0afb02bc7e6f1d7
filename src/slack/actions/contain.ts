/**
 * Contain… (src/respond from Slack): the button opens a modal at once, the plans of every action
 * that fits replace it (the key used is read from the finding's events), the submission proposes
 * (and, without the two-person rule, executes) the chosen one; progress goes to the finding's
 * thread with Approve / Undo, and the finding's message shows "Contained by @x". Only
 * TRAILHOUND_RESPONDERS may contain, approve or undo (checked on every click and submission, from
 * the configuration, never from what the payload carries); what may be done to which identity is
 * decided by the Responder.
 */
import type { AllMiddlewareArgs, App, BlockAction, ButtonAction, SlackViewMiddlewareArgs, ViewSubmitAction, webApi } from "@slack/bolt";
import { CONTAIN_ACTIONS, RespondError, type ContainAction, type Plan } from "../../respond/actions.js";
import type { ContainmentRecord } from "../../store/types.js";
import { allow } from "../access.js";
import type { Bot } from "../context.js";
import {
  CONTAIN_ACTIONS_IDS,
  CONTAIN_BLOCKS,
  CONTAIN_CALLBACK,
  containLoadingModal,
  containmentMessage,
  containModal,
  decodeContainMeta,
  parseContainSubmission,
  type ContainMeta,
} from "../views/contain.js";
import { FINDING_ACTIONS } from "../views/finding.js";
import { code, esc } from "../views/text.js";
import { clickSite, tell, updateFindingMessage, updateOtherPosts } from "./common.js";
import { publishHome } from "./home.js";

interface ButtonArgs {
  ack: () => Promise<void>;
  body: BlockAction;
  action: ButtonAction;
  client: webApi.WebClient;
  respond?: import("@slack/bolt").RespondFn;
}

/** Plans shown in a modal, by view id: the submission executes what was shown (10 minutes at most). */
const PLAN_TTL_MS = 10 * 60_000;

export class ContainFlows {
  readonly #plans = new Map<string, { at: number; plans: Map<ContainAction, Plan> }>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Thread message of each containment (channel, ts), to edit it as it progresses. */
  readonly #threadMsg = new Map<string, { channel: string; ts: string }>();

  constructor(private readonly bot: Bot) {}

  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  #remember(viewId: string, plans: Map<ContainAction, Plan>): void {
    const now = this.bot.now();
    for (const [k, v] of this.#plans) if (now - v.at > PLAN_TTL_MS) this.#plans.delete(k);
    this.#plans.set(viewId, { at: now, plans });
  }

  #planned(viewId: string, action: ContainAction): Plan | undefined {
    const hit = this.#plans.get(viewId);
    if (!hit || this.bot.now() - hit.at > PLAN_TTL_MS) return undefined;
    return hit.plans.get(action);
  }

  async onClick(a: ButtonArgs): Promise<void> {
    await a.ack();
    const bot = this.bot;
    const user = a.body.user.id;
    const id = a.action.value ?? "";
    try {
      const d = await allow(bot, user, "contain", `contain:${id}`);
      if (!d.allowed) return tell(a, `:no_entry: ${esc(d.reason)}`);
      const r = bot.respond;
      if (!r) return tell(a, ":no_entry: Containment is off (TRAILHOUND_RESPONDERS is empty).");
      const stored = bot.store.getFinding(id);
      if (!stored) return tell(a, `This finding (${code(id, 80)}) is not in the store any more; run the scan again.`);
      const site = clickSite(a.body);
      const meta: ContainMeta = { f: id };
      if (site.kind === "message" && site.channel && site.ts) {
        meta.c = site.channel;
        meta.t = site.ts;
        if (site.threadTs) meta.th = site.threadTs;
        if (!bot.messages.get(site.channel, site.ts) && site.message) bot.messages.set(site.channel, site.ts, site.message.text, site.message.blocks);
      }
      // Open at once (the trigger id lasts 3 s), then fill in the plans.
      const opened = await a.client.views.open({ trigger_id: a.body.trigger_id, view: containLoadingModal(stored.finding, meta) });
      const viewId = opened.view?.id;
      const { options, refusals } = r.responder.options(id);
      // Someone tried to contain an identity that may not be: audited, as every step is.
      if (refusals.length)
        await r.responder.refused(
          id,
          user,
          refusals.map((x) => `${x.action ? `${x.action}: ` : ""}${x.reason}`),
        );
      const plans = await Promise.all(
        options.map(async (o) => {
          try {
            return { action: o.action, plan: await r.responder.plan(id, o.action) };
          } catch (e) {
            return { action: o.action, error: e instanceof Error ? e.message : String(e) };
          }
        }),
      );
      if (viewId) this.#remember(viewId, new Map(plans.filter((p) => p.plan).map((p) => [p.action, p.plan!])));
      const view = containModal(stored.finding, meta, { options, refusals, plans, ...(r.approvalMinutes ? { approvalMinutes: r.approvalMinutes } : {}) });
      if (viewId) await a.client.views.update({ view_id: viewId, view });
    } catch (err) {
      bot.log.error("Contain failed", { err, user });
      await tell(a, `:x: Contain did not work: ${esc(err instanceof Error ? err.message : String(err))}`).catch(() => undefined);
    }
  }

  async onSubmit({ ack, body, view, client }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs): Promise<void> {
    const bot = this.bot;
    const user = body.user.id;
    const meta = decodeContainMeta(view.private_metadata);
    const d = await allow(bot, user, "contain", `contain:${meta?.f ?? "?"}`);
    if (!d.allowed) {
      await ack({ response_action: "errors", errors: { [CONTAIN_BLOCKS.action.block]: d.reason ?? "Not allowed." } });
      return;
    }
    const r = bot.respond;
    const choice = parseContainSubmission(view.state.values as never);
    if (!r || !meta || !choice.action || !(CONTAIN_ACTIONS as readonly string[]).includes(choice.action)) {
      await ack({ response_action: "errors", errors: { [CONTAIN_BLOCKS.action.block]: "Choose an action." } });
      return;
    }
    const action = choice.action as ContainAction;
    // The plan that was shown, else planned again (the bot restarted): never from the payload.
    let plan = this.#planned(view.id, action);
    if (!plan) {
      try {
        plan = await r.responder.plan(meta.f, action, { by: user });
      } catch (e) {
        await ack({ response_action: "errors", errors: { [CONTAIN_BLOCKS.action.block]: e instanceof Error ? e.message : String(e) } });
        return;
      }
    }
    await ack();
    this.#plans.delete(view.id);
    let rec: ContainmentRecord;
    try {
      rec = await r.responder.propose(plan, user, { dryRun: choice.dryRun, ...(meta.c && meta.t ? { slack: { team: bot.teamId, channel: meta.c, ts: meta.t } } : {}) });
    } catch (err) {
      bot.log.error("containment failed", { err, user, finding: meta.f });
      await this.#tellUser(client, user, meta, `:x: The containment did not start: ${esc(err instanceof Error ? err.message : String(err))}`);
      return;
    }
    await this.#progress(client, rec, meta, user);
    if (rec.state === "awaiting-approval" && rec.approvalDeadline) this.#expireLater(rec, rec.approvalDeadline);
  }

  async onApprove(a: ButtonArgs): Promise<void> {
    await a.ack();
    await this.#onRecordClick(a, "approve");
  }

  async onUndo(a: ButtonArgs): Promise<void> {
    await a.ack();
    await this.#onRecordClick(a, "undo");
  }

  /** Two-person rule: a second responder approves an undo in the thread. */
  async onApproveUndo(a: ButtonArgs): Promise<void> {
    await a.ack();
    await this.#onRecordClick(a, "approve-undo");
  }

  async #onRecordClick(a: ButtonArgs, what: "approve" | "undo" | "approve-undo"): Promise<void> {
    const bot = this.bot;
    const user = a.body.user.id;
    const id = a.action.value ?? "";
    try {
      const d = await allow(bot, user, "contain", `contain-${what}:${id}`);
      if (!d.allowed) return tell(a, `:no_entry: ${esc(d.reason)}`);
      const r = bot.respond;
      const cur = bot.store.getContainment(id);
      if (!r || !cur) return tell(a, `No containment ${code(id, 40)}.`);
      if (cur.slack?.team && cur.slack.team !== bot.teamId) return tell(a, ":no_entry: This containment belongs to another workspace.");
      const site = clickSite(a.body);
      if (site.kind === "message" && site.channel && site.ts) this.#threadMsg.set(id, { channel: site.channel, ts: site.ts });
      let rec: ContainmentRecord;
      try {
        rec = what === "approve" ? await r.responder.approve(id, user) : what === "undo" ? await r.responder.undo(id, user) : await r.responder.approveUndo(id, user);
      } catch (e) {
        if (e instanceof RespondError) {
          const latest = bot.store.getContainment(id);
          if (latest) await this.#progress(a.client, latest, metaOf(latest), user);
          return tell(a, `:no_entry: ${esc(e.message)}`);
        }
        throw e;
      }
      await this.#progress(a.client, rec, metaOf(rec), user);
      if (rec.state === "executed" && rec.undoRequest) this.#expireLater(rec, rec.undoRequest.deadline);
    } catch (err) {
      bot.log.error(`containment ${what} failed`, { err, user });
      await tell(
        a,
        `:x: ${what === "approve" ? "Approve" : what === "undo" ? "Undo" : "Approve undo"} did not work: ${esc(err instanceof Error ? err.message : String(err))}`,
      ).catch(() => undefined);
    }
  }

  /** Show the record in the thread (one message per containment, edited as it goes) and refresh the finding's message. */
  async #progress(client: webApi.WebClient, rec: ContainmentRecord, meta: ContainMeta, user: string): Promise<void> {
    const bot = this.bot;
    bot.respond?.onChange?.(rec);
    const msg = containmentMessage(rec, bot.now());
    try {
      const known = this.#threadMsg.get(rec.id);
      if (known) await client.chat.update({ channel: known.channel, ts: known.ts, text: msg.text, blocks: msg.blocks });
      else if (meta.c && meta.t) {
        const posted = await client.chat.postMessage({ channel: meta.c, thread_ts: meta.th || meta.t, text: msg.text, blocks: msg.blocks });
        if (posted.ts) this.#threadMsg.set(rec.id, { channel: meta.c, ts: posted.ts });
      } else {
        // From Home (no message to thread under): privately, and the Home tab shows the new state.
        const posted = await client.chat.postMessage({ channel: user, text: msg.text, blocks: msg.blocks });
        if (posted.ts && posted.channel) this.#threadMsg.set(rec.id, { channel: posted.channel, ts: posted.ts });
        await publishHome(bot, client, user);
      }
      if (meta.c && meta.t) await updateFindingMessage(bot, client, meta.c, meta.t);
    } catch (err) {
      bot.log.warn("containment recorded, but its progress could not be shown", { err, id: rec.id });
    }
    await updateOtherPosts(bot, client, rec.findingId, { channel: meta.c, ts: meta.t });
  }

  async #tellUser(client: webApi.WebClient, user: string, meta: ContainMeta, text: string): Promise<void> {
    try {
      if (meta.c) await client.chat.postEphemeral({ channel: meta.c, user, text });
      else await client.chat.postMessage({ channel: user, text });
    } catch (err) {
      this.bot.log.warn("could not tell the user", { err });
    }
  }

  #expireLater(rec: ContainmentRecord, deadline: string): void {
    const r = this.bot.respond;
    if (!r) return;
    const wait = Math.max(0, Date.parse(deadline) - this.bot.now()) + 1000;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      void r.responder
        .expire(rec.id)
        .then(async (expired) => {
          if (expired) await this.#progress(this.bot.client, expired, metaOf(expired), expired.proposedBy);
        })
        .catch((err: unknown) => this.bot.log.warn("could not expire a containment proposal", { err, id: rec.id }));
    }, wait);
    t.unref?.();
    this.#timers.add(t);
  }
}

function metaOf(rec: ContainmentRecord): ContainMeta {
  return { f: rec.findingId, ...(rec.slack ? { c: rec.slack.channel, t: rec.slack.ts } : {}) };
}

export function registerContainActions(app: App, bot: Bot): ContainFlows {
  const flows = new ContainFlows(bot);
  app.action<BlockAction<ButtonAction>>(FINDING_ACTIONS.contain, (a) => flows.onClick(a));
  app.action<BlockAction<ButtonAction>>(CONTAIN_ACTIONS_IDS.approve, (a) => flows.onApprove(a));
  app.action<BlockAction<ButtonAction>>(CONTAIN_ACTIONS_IDS.undo, (a) => flows.onUndo(a));
  app.action<BlockAction<ButtonAction>>(CONTAIN_ACTIONS_IDS.approveUndo, (a) => flows.onApproveUndo(a));
  app.view<ViewSubmitAction>(CONTAIN_CALLBACK, (a) => flows.onSubmit(a));
  return flows;
}
