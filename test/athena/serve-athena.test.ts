// @module-tag slow
/**
 * `trailhound serve` with TRAILHOUND_SOURCE=athena (issue 21): the baselines are aggregated in
 * Athena (DuckDB standing in) at start when the store has none, saved with their horizon, shown by
 * the bot's status; after a restart that is not due, Athena is not queried again.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { serve } from "../../src/main.js";
import { TrailStore } from "../../src/store/store.js";
import { FakeSlack } from "../../src/testing/fake-slack.js";
import { DuckAthena, placeRecords } from "./duckdb.js";

const DAY = 86_400_000;
let dir: string;
let fake: FakeSlack;
let duck: DuckAthena;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "th-serve-athena-"));
  fake = await new FakeSlack().start();
  const now = Date.now();
  const records = [40, 20, 5, 1].map((days, i) => ({
    eventVersion: "1.09",
    eventID: `hist-${i}`,
    eventTime: new Date(now - days * DAY).toISOString().replace(/\.\d{3}Z$/, "Z"),
    eventSource: "iam.amazonaws.com",
    eventName: "ListUsers",
    awsRegion: "us-east-1",
    sourceIPAddress: "203.0.113.9",
    userAgent: "aws-cli/2.15.0",
    recipientAccountId: "111111111111",
    userIdentity: { type: "IAMUser", accountId: "111111111111", userName: "carol", arn: "arn:aws:iam::111111111111:user/carol" },
  }));
  duck = await DuckAthena.create(placeRecords(records));
  await duck.conn.run("CREATE SCHEMA security");
  await duck.conn.run("CREATE TABLE security.cloudtrail_logs AS SELECT * FROM main.cloudtrail_logs");
});
afterAll(async () => {
  duck.close();
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

const ENV = {
  SLACK_BOT_TOKEN: "xoxb-test-token",
  SLACK_SIGNING_SECRET: "8f742231b10e8888abcd99yyyzzz85a5",
  PORT: "0",
  TRAILHOUND_TEAM_ID: "T0TEST",
  TRAILHOUND_LOG_LEVEL: "error",
  TRAILHOUND_SOURCE: "athena",
  TRAILHOUND_ATHENA_REGION: "eu-west-1",
  TRAILHOUND_ATHENA_DATABASE: "security",
  TRAILHOUND_ATHENA_BASELINE_DAYS: "30",
};

async function running<T>(fn: (bot: Awaited<ReturnType<typeof serve>>) => Promise<T>): Promise<T> {
  const sigterm = process.listeners("SIGTERM").length;
  const sigint = process.listeners("SIGINT").length;
  const bot = await serve({ ...ENV, SLACK_API_URL: fake.apiUrl, TRAILHOUND_DATA_DIR: dir }, { athenaRunner: duck });
  try {
    return await fn(bot);
  } finally {
    await bot.stop();
    for (const l of process.listeners("SIGTERM").slice(sigterm)) process.removeListener("SIGTERM", l);
    for (const l of process.listeners("SIGINT").slice(sigint)) process.removeListener("SIGINT", l);
  }
}

it("aggregates at start when the store has no Athena baselines, saves them with the horizon, and not again after a restart", async () => {
  const t0 = Date.now();
  await running(async (bot) => {
    const deadline = Date.now() + 20_000;
    while (bot.bot.athena!.status().horizon === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const st = bot.bot.athena!.status();
    expect(st.horizon).toBeGreaterThanOrEqual(t0);
    expect(st.days).toBe(30);
    // 30 days: the 40-day-old event is outside.
    expect(bot.bot.store.getBaseline("user:111111111111:carol")).toMatchObject({ events: 3 });
    expect(duck.queries.map((q) => q.label)).toEqual(["baseline refresh"]);
  });
  // Restart: the stored horizon is fresh (due in a day), so Athena is not queried.
  await running(async (bot) => {
    await new Promise((r) => setTimeout(r, 300));
    expect(bot.bot.athena!.status()).toMatchObject({ running: false, nextAt: expect.any(Number) as number });
    expect(bot.bot.athena!.status().nextAt!).toBeGreaterThan(Date.now() + DAY - 60_000);
  });
  expect(duck.queries.map((q) => q.label)).toEqual(["baseline refresh"]);
  const store = await TrailStore.open(dir);
  expect(store.getCursor("athena:baseline")!.newestTime).toBeGreaterThanOrEqual(t0);
  expect(store.scans(1)[0]!.target).toBe("athena baselines (30 days)");
  await store.close();
}, 60_000);
