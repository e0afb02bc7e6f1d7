/**
 * The digest with the real bot (Bolt over HTTP, the bot's fake Slack): the bot's own handlers act
 * on digest messages (Acknowledge updates the digest in place), and the Home tab shows the last
 * digest and the next run from the scheduler.
 */
import { afterEach, describe, expect, it } from "vitest";
import { webApi } from "@slack/bolt";
import { webClientSlack } from "../../src/digest/delivery.js";
import { DigestScheduler, type DigestRunResult, type DigestScan } from "../../src/digest/scheduler.js";
import { scanStoreFrom } from "../../src/app/store-port.js";
import type { DigestSchedule } from "../../src/slack/ports.js";
import { createTask } from "node-cron";
import { buttonClick, homeOpened, startTestBot, USER, type TestBot } from "../slack/support/harness.js";
import { makeFinding, makeReport } from "../slack/support/fixtures.js";
import { FakeClock, quietBoltLogger, schedule } from "./support.js";
import { alertSchedule } from "../../src/digest/alerts.js";

let t: TestBot | undefined;
let scheduler: DigestScheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  await t?.stop();
  expect(t?.fake.invalid ?? []).toEqual([]);
  t = undefined;
  scheduler = undefined;
});

describe("digest messages in the bot", () => {
  it("the bot's Acknowledge works on a digest message, and the Home tab shows the last and the next digest", async () => {
    // The Home tab asks the scheduler, which needs the bot's store: delegate until it exists.
    const home: DigestSchedule = {
      nextRun: () => scheduler?.nextRun() ?? null,
      get channel() {
        return scheduler?.channel;
      },
      get cron() {
        return scheduler?.cron;
      },
      get tz() {
        return scheduler?.tz;
      },
    };
    t = await startTestBot({ deps: { digest: home } });
    const bot = t;
    const clock = new FakeClock(Date.parse("2024-05-01T08:00:00Z"));
    const scan: DigestScan = async (req) => {
      const report = makeReport([makeFinding(1, { severity: "critical" }), makeFinding(2)], { generatedAt: new Date(clock.now()).toISOString() });
      await scanStoreFrom(bot.store).saveScan(report, [], { by: req.by, target: req.target });
      return report;
    };
    const client = new webApi.WebClient("xoxb-test-token", { slackApiUrl: bot.fake.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logger: quietBoltLogger });
    scheduler = new DigestScheduler({
      schedules: [schedule({ tz: "Europe/Paris" })],
      store: bot.store,
      scan,
      slack: webClientSlack(client),
      now: clock.now,
      sleep: clock.sleep,
      retryPendingMs: 0,
      scheduleTask: (expr, fn, opts) => createTask(expr, fn, opts),
    });
    await scheduler.start();
    const r = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(r).toMatchObject({ status: "posted", delivery: "sent" });

    const post = bot.fake.of("chat.postMessage").at(-1)!;
    expect(post.args.channel).toBe("C0SEC");
    const ts = bot.store.getDigest(r.digestId!)!.posted[0]!;
    const msg = { ts, text: String(post.args.text), blocks: post.args.blocks as unknown[] };
    const click = buttonClick(bot.fake, { actionId: "finding_ack", value: "f0001", blockId: "fnd:0:a", message: msg, channel: "C0SEC" });
    expect((await bot.interaction(click)).status).toBe(200);
    const upd = await bot.fake.waitFor(
      (calls) => calls.find((c) => c.method === "chat.update" && c.args.ts === ts && JSON.stringify(c.args.blocks).includes("Acknowledged by")),
      5000,
      "the digest message updated",
    );
    const blocks = JSON.stringify(upd.args.blocks);
    expect(blocks).toContain(`Acknowledged by <@${USER}>`);
    // The digest's own blocks stay; the second finding keeps its Acknowledge button.
    expect(blocks).toContain('"block_id":"dg:l:0"');
    expect(blocks).toContain('"block_id":"dg:sum"');
    expect((upd.args.blocks as Array<{ block_id?: string; elements?: Array<{ action_id?: string }> }>).find((b) => b.block_id === "fnd:1:a")?.elements?.[0]?.action_id).toBe(
      "finding_ack",
    );
    expect(bot.store.getFinding("f0001")?.status).toBe("acknowledged");

    const body = homeOpened("Ev02");
    expect((await bot.post(body, { contentType: "application/json" })).status).toBe(200);
    const pub = await bot.fake.waitFor((c) => c.find((x) => x.method === "views.publish"), 5000, "views.publish");
    const view = JSON.stringify(pub.args.view);
    expect(view).toContain("Last digest (`C0SEC`)");
    // Next: 08:00 in Paris on May 2 = 06:00 UTC.
    expect(view).toContain(`Next digest: <!date^${Date.parse("2024-05-02T06:00:00Z") / 1000}^`);
    expect(view).toContain("<#C0SEC>");
  });

  it("acknowledging a finding in the alert or in the morning digest updates both messages", async () => {
    t = await startTestBot();
    const bot = t;
    const clock = new FakeClock(Date.parse("2024-05-01T03:10:00Z"));
    const scan: DigestScan = async (req) => {
      const report = makeReport([makeFinding(1, { severity: "critical" }), makeFinding(2, { severity: "high" })], { generatedAt: new Date(clock.now()).toISOString() });
      await scanStoreFrom(bot.store).saveScan(report, [], { by: req.by, target: req.target });
      return report;
    };
    const client = new webApi.WebClient("xoxb-test-token", { slackApiUrl: bot.fake.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logger: quietBoltLogger });
    scheduler = new DigestScheduler({
      schedules: [schedule({ name: "C0SEC", channel: "C0SEC" }), alertSchedule({ TRAILHOUND_ALERT_CHANNEL: "C0ALERT" })!],
      store: bot.store,
      scan,
      slack: webClientSlack(client),
      now: clock.now,
      sleep: clock.sleep,
      retryPendingMs: 0,
      scheduleTask: (expr, fn, opts) => createTask(expr, fn, opts),
    });
    await scheduler.start();
    const alert = (await scheduler.task("alerts").execute()) as DigestRunResult;
    expect(alert).toMatchObject({ status: "posted", delivery: "sent" });
    clock.advance(5 * 3_600_000);
    const digest = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(digest).toMatchObject({ status: "posted", delivery: "sent" });
    const alertTs = bot.store.getDigest(alert.digestId!)!.posted[0]!;
    const digestTs = bot.store.getDigest(digest.digestId!)!.posted[0]!;
    const current = (channel: string, ts: string) => {
      const m = bot.fake.messages.get(`${channel}:${ts}`)!;
      return { ts, text: m.text, blocks: m.blocks! };
    };
    expect(JSON.stringify(current("C0SEC", digestTs).blocks)).toContain("*Alerted* at 03:10 UTC");
    const ackOf = (blocks: unknown[], id: string) => {
      const list = blocks as Array<{ block_id?: string; elements?: Array<{ value?: string }> }>;
      const a = list.find((b) => b.block_id?.endsWith(":a") && b.elements?.some((e) => e.value === id))!;
      return { blockId: a.block_id!, index: a.block_id!.split(":")[1]! };
    };
    const acknowledgedIn = (blocks: unknown[], id: string) => {
      const { index } = ackOf(blocks, id);
      return JSON.stringify((blocks as Array<{ block_id?: string }>).filter((b) => b.block_id?.startsWith(`fnd:${index}:`))).includes(`Acknowledged by <@${USER}>`);
    };
    const updates = () => bot.fake.of("chat.update").length;

    // In the digest: the digest is updated, and so is the alert (its blocks read back from Slack).
    const d1 = current("C0SEC", digestTs);
    const before = updates();
    const click1 = buttonClick(bot.fake, { actionId: "finding_ack", value: "f0001", blockId: ackOf(d1.blocks, "f0001").blockId, message: d1, channel: "C0SEC" });
    expect((await bot.interaction(click1)).status).toBe(200);
    await bot.fake.waitFor((calls) => calls.filter((c) => c.method === "chat.update").length >= before + 2, 5000, "both messages updated");
    expect(acknowledgedIn(current("C0SEC", digestTs).blocks, "f0001")).toBe(true);
    expect(acknowledgedIn(current("C0ALERT", alertTs).blocks, "f0001")).toBe(true);
    expect(acknowledgedIn(current("C0ALERT", alertTs).blocks, "f0002")).toBe(false);
    expect(bot.fake.of("conversations.history").some((c) => c.args.channel === "C0ALERT" && c.args.latest === alertTs)).toBe(true);

    // In the alert: the alert is updated, and so is the digest; each keeps the other's earlier acknowledgement.
    const a2 = current("C0ALERT", alertTs);
    const before2 = updates();
    const click2 = buttonClick(bot.fake, { actionId: "finding_ack", value: "f0002", blockId: ackOf(a2.blocks, "f0002").blockId, message: a2, channel: "C0ALERT" });
    expect((await bot.interaction(click2)).status).toBe(200);
    await bot.fake.waitFor((calls) => calls.filter((c) => c.method === "chat.update").length >= before2 + 2, 5000, "both messages updated");
    for (const [channel, ts] of [
      ["C0SEC", digestTs],
      ["C0ALERT", alertTs],
    ] as const) {
      expect(acknowledgedIn(current(channel, ts).blocks, "f0001")).toBe(true);
      expect(acknowledgedIn(current(channel, ts).blocks, "f0002")).toBe(true);
    }
    expect(JSON.stringify(current("C0SEC", digestTs).blocks)).toContain('"block_id":"dg:sum"');
    expect(bot.fake.unexpected).toEqual([]);
  });
});
