/**
 * `trailhound serve` wires the digests: parsed from the environment, started with the bot (a
 * missed digest is caught up at start, over the store's real file), shown on the Home tab, and
 * stopped before the store closes.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { FakeSlack } from "../../src/testing/fake-slack.js";
import { serve } from "../../src/main.js";
import { TrailStore } from "../../src/store/store.js";
import { FakeAws, INCIDENTS } from "./support.js";

let dir: string;
let fake: FakeSlack;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "th-serve-"));
  fake = await new FakeSlack().start();
});
afterEach(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

it("serve schedules the configured digests, catches up a missed one at start, and stops them before closing the store", async () => {
  const now = Date.now();
  const before = await TrailStore.open(dir);
  await before.setDigestRun("C0SEC", now - 2 * 86_400_000);
  await before.close();
  const aws = new FakeAws();
  aws.add(INCIDENTS.root(now - 3_600_000));

  const sigterm = process.listeners("SIGTERM").length;
  const sigint = process.listeners("SIGINT").length;
  const bot = await serve(
    {
      SLACK_BOT_TOKEN: "xoxb-test-token",
      SLACK_SIGNING_SECRET: "8f742231b10e8888abcd99yyyzzz85a5",
      PORT: "0",
      SLACK_API_URL: fake.apiUrl,
      TRAILHOUND_TEAM_ID: "T0TEST",
      TRAILHOUND_DATA_DIR: dir,
      TRAILHOUND_DIGESTS: "C0SEC=0 8 * * *@Europe/Paris",
      TRAILHOUND_LOG_LEVEL: "error",
    },
    { digestSources: aws.factory },
  );
  try {
    const post = await fake.waitFor((c) => c.find((x) => x.method === "chat.postMessage" && x.args.channel === "C0SEC"), 20_000, "the catch-up digest");
    expect(JSON.stringify(post.args.blocks)).toContain("catch-up");
    expect(aws.reads).toEqual([{ start: now - 2 * 86_400_000, end: expect.any(Number), incremental: true }]);
    expect(bot.bot.digest?.nextRun()?.getTime()).toBeGreaterThan(now);
    expect(bot.bot.digest?.channel).toBe("C0SEC");
  } finally {
    await bot.stop();
    for (const l of process.listeners("SIGTERM").slice(sigterm)) process.removeListener("SIGTERM", l);
    for (const l of process.listeners("SIGINT").slice(sigint)) process.removeListener("SIGINT", l);
  }
  // Closed cleanly: the file reopens, with the digest sent and the run recorded.
  const after = await TrailStore.open(dir);
  expect(after.digests().map((d) => d.state)).toEqual(["sent"]);
  expect(Date.parse(after.getDigestRun("C0SEC")!)).toBeGreaterThanOrEqual(now);
  await after.close();
  expect(fake.invalid).toEqual([]);
}, 30_000);

it("serve: with responders, the digest's first post already carries Contain… on a containable finding", async () => {
  const now = Date.now();
  const before = await TrailStore.open(dir);
  await before.setDigestRun("C0SEC", now - 2 * 86_400_000);
  await before.close();
  const aws = new FakeAws();
  aws.add(INCIDENTS.stopLogging(now - 3_600_000));
  const sigterm = process.listeners("SIGTERM").length;
  const sigint = process.listeners("SIGINT").length;
  const bot = await serve(
    {
      SLACK_BOT_TOKEN: "xoxb-test-token",
      SLACK_SIGNING_SECRET: "8f742231b10e8888abcd99yyyzzz85a5",
      PORT: "0",
      SLACK_API_URL: fake.apiUrl,
      TRAILHOUND_TEAM_ID: "T0TEST",
      TRAILHOUND_DATA_DIR: dir,
      TRAILHOUND_DIGESTS: "C0SEC=0 8 * * *",
      TRAILHOUND_RESPONDERS: "U0RESP1",
      TRAILHOUND_LOG_LEVEL: "error",
    },
    { digestSources: aws.factory },
  );
  try {
    const post = await fake.waitFor((c) => c.find((x) => x.method === "chat.postMessage" && x.args.channel === "C0SEC"), 20_000, "the catch-up digest");
    const contain = (post.args.blocks as Array<{ elements?: Array<{ action_id?: string; value?: string }> }>)
      .flatMap((b) => b.elements ?? [])
      .filter((e) => e.action_id === "finding_contain");
    expect(contain).toHaveLength(1);
    expect(bot.bot.store.getFinding(contain[0]!.value!)?.finding.identity.userName).toBe("mallory");
  } finally {
    await bot.stop();
    for (const l of process.listeners("SIGTERM").slice(sigterm)) process.removeListener("SIGTERM", l);
    for (const l of process.listeners("SIGINT").slice(sigint)) process.removeListener("SIGINT", l);
  }
}, 30_000);

it("serve with TRAILHOUND_SECURITYHUB=on imports the findings its scans record into Security Hub", async () => {
  const now = Date.now();
  const before = await TrailStore.open(dir);
  await before.setDigestRun("C0SEC", now - 2 * 86_400_000);
  await before.close();
  const aws = new FakeAws();
  aws.add(INCIDENTS.stopLogging(now - 3_600_000));
  const imported: Array<{ account: string; region: string; ids: string[] }> = [];
  const securityHub = async (account: string, region: string) => ({
    async batchImport(findings: Array<{ Id?: string | undefined }>) {
      imported.push({ account, region, ids: findings.map((f) => f.Id ?? "") });
      return { successCount: findings.length, failedCount: 0, failed: [] };
    },
  });
  const sigterm = process.listeners("SIGTERM").length;
  const sigint = process.listeners("SIGINT").length;
  const bot = await serve(
    {
      SLACK_BOT_TOKEN: "xoxb-test-token",
      SLACK_SIGNING_SECRET: "8f742231b10e8888abcd99yyyzzz85a5",
      PORT: "0",
      SLACK_API_URL: fake.apiUrl,
      TRAILHOUND_TEAM_ID: "T0TEST",
      TRAILHOUND_DATA_DIR: dir,
      TRAILHOUND_DIGESTS: "C0SEC=0 8 * * *",
      TRAILHOUND_SECURITYHUB: "on",
      TRAILHOUND_SECURITYHUB_REGION: "eu-west-2",
      TRAILHOUND_LOG_LEVEL: "error",
    },
    { digestSources: aws.factory, securityHub },
  );
  try {
    await fake.waitFor((c) => c.find((x) => x.method === "chat.postMessage" && x.args.channel === "C0SEC"), 20_000, "the catch-up digest");
    const deadline = Date.now() + 10_000;
    while (imported.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const mallory = bot.bot.store.listFindings().find((s) => s.finding.identity.userName === "mallory")!;
    expect(imported.flatMap((i) => i.ids)).toContain(`trailhound/111111111111/${mallory.id}`);
    expect(imported[0]).toMatchObject({ account: "111111111111", region: "eu-west-2" });
  } finally {
    await bot.stop();
    for (const l of process.listeners("SIGTERM").slice(sigterm)) process.removeListener("SIGTERM", l);
    for (const l of process.listeners("SIGINT").slice(sigint)) process.removeListener("SIGINT", l);
  }
}, 30_000);
