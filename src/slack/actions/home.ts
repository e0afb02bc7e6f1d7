/** The App Home tab: published on app_home_opened, refreshed after acts taken from it. */
import type { App, BlockAction, ButtonAction, webApi } from "@slack/bolt";
import { unsuppress } from "../commands/cloudtrail.js";
import { allow } from "../access.js";
import type { Bot } from "../context.js";
import { HOME_ACTIONS, homeView, refusedHomeView } from "../views/home.js";
import { stateOf } from "../views/finding.js";
import { containState, tell } from "./common.js";

export async function publishHome(bot: Bot, client: webApi.WebClient, userId: string): Promise<void> {
  // Findings and suppressions name identities and addresses: viewers only.
  const d = await allow(bot, userId, "view", "home");
  if (!d.allowed) {
    await client.views.publish({ user_id: userId, view: refusedHomeView(d.reason ?? "Not allowed.", bot.now()) });
    return;
  }
  const now = bot.now();
  // Contain… for responders only: Home is the user's own view (the click is checked again anyway).
  const responder = bot.respond ? (await bot.authz.check(userId, "contain")).allowed : false;
  const view = homeView({
    stateOf: (s) => ({ ...stateOf(s), ...(responder ? containState(bot, s.finding) : { ...containState(bot, s.finding), containable: false }) }),
    findings: bot.store.listFindings({ status: ["open", "acknowledged"] }),
    suppressions: bot.store.activeSuppressions(now),
    digestRuns: bot.store.digestRuns(),
    unsentDigests: bot.store.pendingDigests(),
    nextDigest: bot.digest?.nextRun() ?? null,
    ...(bot.digest?.channel ? { digestChannel: bot.digest.channel } : {}),
    ...(bot.digest?.cron ? { digestCron: bot.digest.cron } : {}),
    ...(bot.digest?.tz ? { digestTz: bot.digest.tz } : {}),
    now,
  });
  await client.views.publish({ user_id: userId, view });
}

export function registerHome(app: App, bot: Bot): void {
  app.event("app_home_opened", async ({ event, client }) => {
    if (event.tab !== "home") return;
    try {
      await publishHome(bot, client, event.user);
    } catch (err) {
      bot.log.error("could not publish the Home tab", { err, user: event.user });
    }
  });

  app.action<BlockAction<ButtonAction>>(HOME_ACTIONS.refresh, async ({ ack, body, client }) => {
    await ack();
    await publishHome(bot, client, body.user.id).catch((err: unknown) => bot.log.error("could not publish the Home tab", { err }));
  });

  app.action<BlockAction<ButtonAction>>(HOME_ACTIONS.unsuppress, async (a) => {
    await a.ack();
    try {
      const r = await unsuppress(bot, a.body.user.id, a.action.value ?? "");
      if (!r.ok) await tell(a, r.text);
      await publishHome(bot, a.client, a.body.user.id);
    } catch (err) {
      bot.log.error("unsuppress from Home failed", { err });
      await tell(a, ":x: Unsuppress did not work; see the bot logs.").catch(() => undefined);
    }
  });
}
