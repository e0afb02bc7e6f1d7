/**
 * The timeline image in Slack, through the real bot and the fake Slack: `/cloudtrail scan user`
 * and a finding's Details upload it into the thread (files.getUploadURLExternal, the bytes,
 * files.completeUploadExternal) with alt text in words; a refused upload is said in the thread
 * and the rest of the result is still posted.
 */
import { afterEach, expect, it } from "vitest";
import { emptyProfile, HOUR, type Profile } from "../../src/baseline/profile.js";
import type { TrailStore } from "../../src/store/store.js";
import { makeFinding, makeReport } from "../slack/support/fixtures.js";
import { buttonClick, CHANNEL, startTestBot, type TestBot } from "../slack/support/harness.js";

let t: TestBot | undefined;
afterEach(async () => {
  if (!t) return;
  const cur = t;
  t = undefined;
  await cur.stop();
  expect(cur.fake.unexpected).toEqual([]);
  expect(cur.fake.invalid).toEqual([]);
});

const WINDOW_END = Date.parse("2024-05-01T10:00:00Z");

/** alice0's profile: office hours for 10 days, a burst in the window. */
async function storeProfile(store: TrailStore, name = "alice0"): Promise<Profile> {
  const p = emptyProfile(`user:123456789012:${name}`, "IAMUser");
  p.userName = name;
  p.first = WINDOW_END - 10 * 24 * HOUR;
  p.last = WINDOW_END - HOUR;
  p.trainedUntil = p.last;
  for (let h = Math.floor(p.first / HOUR); h < Math.floor(WINDOW_END / HOUR); h++) if (h % 24 >= 9 && h % 24 < 17) p.hourly.push([h, 12, 1]);
  p.hourly.push([Math.floor(WINDOW_END / HOUR) - 2, 400, 90]);
  p.hourly.sort((a, b) => a[0] - b[0]);
  p.events = p.hourly.reduce((a, h) => a + h[1], 0);
  p.days = [...new Set(p.hourly.map((h) => Math.floor((h[0] * HOUR) / 86_400_000)))];
  await store.putBaselines([p]);
  return p;
}

async function resultOf(bot: TestBot): Promise<{ ts: string; text: string; blocks: unknown[] }> {
  const call = await bot.fake.waitFor(
    (calls) => [...calls].reverse().find((c) => c.method === "chat.update" && JSON.stringify(c.args.blocks ?? []).includes('"sum:h"')),
    10_000,
    "the result message",
  );
  return { ts: String(call.args.ts), text: String(call.args.text), blocks: call.args.blocks as unknown[] };
}

it("a user scan puts the timeline image in the thread, with alt text in words, before the rest", async () => {
  t = await startTestBot();
  await storeProfile(t.store);
  t.scans.report = makeReport(Array.from({ length: 8 }, (_, i) => makeFinding(i * 3 + 3, { identity: { key: "user:123456789012:alice0", type: "IAMUser", userName: "alice0" } })));
  await t.command("scan user alice0");
  const result = await resultOf(t);
  const file = await t.fake.waitFor(() => t!.fake.files[0], 10_000, "the uploaded timeline");
  expect(file).toMatchObject({ channel: CHANNEL, threadTs: result.ts, filename: "timeline.png", title: "Activity timeline of alice0" });
  expect(file.altText).toContain("Bar chart of hourly API calls by alice0 (user:123456789012:alice0)");
  expect(file.altText).toContain("Busiest hour May 1 08:00: 400 calls, 90 errors");
  expect(file.altText).toContain("8 findings");
  expect(file.altText!.length).toBeLessThanOrEqual(1000);
  expect(file.comment).toContain(file.altText!.slice(0, 60));
  const bytes = t.fake.uploads.get(file.id)!;
  expect(bytes.includes(Buffer.from("\x89PNG\r\n\x1a\n", "latin1"))).toBe(true);
  expect(bytes.length).toBeGreaterThan(10_000);
  // The other findings still follow in the thread, after the image.
  const rest = await t.fake.waitFor(
    (c) => {
      const posts = c.filter((x) => x.method === "chat.postMessage" && x.args.thread_ts === result.ts && Array.isArray(x.args.blocks));
      return posts.length > 0 ? posts : undefined;
    },
    10_000,
    "the thread",
  );
  expect(rest.length).toBeGreaterThan(0);
  const order = t.fake.calls.map((c) => c.method);
  expect(order.indexOf("files.completeUploadExternal")).toBeLessThan(order.lastIndexOf("chat.postMessage"));
}, 30_000);

it("a refused upload is said in the thread, in words, and the rest is posted", async () => {
  t = await startTestBot();
  await storeProfile(t.store);
  t.fake.handlers.set("files.getUploadURLExternal", () => ({ ok: false, error: "missing_scope", needed: "files:write" }));
  t.scans.report = makeReport(Array.from({ length: 8 }, (_, i) => makeFinding(i + 1)));
  await t.command("scan user alice0");
  const result = await resultOf(t);
  const notice = await t.fake.waitFor(
    (c) => c.find((x) => x.method === "chat.postMessage" && x.args.thread_ts === result.ts && String(x.args.text).includes("No timeline image")),
    10_000,
    "the refusal notice",
  );
  expect(String(notice.args.text)).toContain("Slack refused the upload (missing_scope: the app lacks the files:write scope");
  expect(String(notice.args.text)).toContain("In words: Bar chart of hourly API calls by alice0");
  expect(t.fake.files).toEqual([]);
  // The remaining findings and the JSON report are still posted in the thread.
  await t.fake.waitFor(
    (c) => c.find((x) => x.method === "chat.postMessage" && x.args.thread_ts === result.ts && String(x.args.text).startsWith("JSON report")),
    10_000,
    "the JSON report",
  );
  expect(t.fake.calls.filter((x) => x.method === "chat.postMessage" && x.args.thread_ts === result.ts && Array.isArray(x.args.blocks)).length).toBeGreaterThan(0);
}, 30_000);

it("the bytes refused at the upload URL are said too", async () => {
  t = await startTestBot();
  await storeProfile(t.store);
  t.fake.handlers.set("upload", () => ({ status: 500, ok: false }));
  await t.command("scan user alice0");
  const result = await resultOf(t);
  const notice = await t.fake.waitFor(
    (c) => c.find((x) => x.method === "chat.postMessage" && x.args.thread_ts === result.ts && String(x.args.text).includes("No timeline image")),
    10_000,
    "the refusal notice",
  );
  expect(String(notice.args.text)).toContain("Slack refused the upload");
  expect(t.fake.of("files.completeUploadExternal")).toEqual([]);
}, 30_000);

it("Details of a finding adds the identity's timeline to the thread; hostile names stay text", async () => {
  t = await startTestBot();
  const hostile = "<!channel> <script>x</script> & *bold*";
  await storeProfile(t.store, hostile);
  const key = `user:123456789012:${hostile}`;
  t.scans.report = makeReport([makeFinding(1, { identity: { key, type: "IAMUser", userName: hostile }, title: `First CreateAccessKey by ${hostile}` })]);
  t.scans.report.identities = [{ ...t.scans.report.identities[0]!, key, userName: hostile }];
  await t.command("scan account");
  const msg = await resultOf(t);
  expect(t.fake.files).toEqual([]); // an account scan has no single identity to draw
  await t.interaction(buttonClick(t.fake, { actionId: "finding_details", value: "f0001", blockId: "fnd:0:a", message: msg }));
  const file = await t.fake.waitFor(() => t!.fake.files[0], 10_000, "the timeline of the Details");
  expect(file.threadTs).toBe(msg.ts);
  expect(file.altText).toContain(`by ${hostile}`);
  expect(file.comment).not.toContain("<!channel>");
  expect(file.comment).toContain("&lt;!channel&gt; &lt;script&gt;x&lt;/script&gt; &amp;");
  expect(file.comment).toContain("1 finding: 1 high");
}, 30_000);

it("no profile, no image and no noise", async () => {
  t = await startTestBot();
  await t.command("scan user alice0");
  await resultOf(t);
  await new Promise((r) => setTimeout(r, 300));
  expect(t.fake.of("files.getUploadURLExternal")).toEqual([]);
  expect(t.fake.calls.some((c) => String(c.args.text ?? "").includes("No timeline image"))).toBe(false);
}, 30_000);
