/**
 * Digest runs end to end over the real scan (runLiveScan, incremental) and a local Slack Web API:
 * layout, dedup across runs, the ack / suppress / expiry lifecycle, catch-up after downtime.
 * Runs are driven by the cron task's execute() with an injected clock and sleeper.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FINDING_ACTIONS } from "../../src/slack/views/finding.js";
import { scanStoreFrom } from "../../src/app/store-port.js";
import type { Finding } from "../../src/scan/report-types.js";
import type { DigestRunResult, DigestScan } from "../../src/digest/scheduler.js";
import { TrailStore } from "../../src/store/store.js";
import { rootUser } from "../helpers/events.js";
import { makeFinding, makeReport } from "../slack/support/fixtures.js";
import { DigestSlackServer, FakeAws, FakeClock, INCIDENTS, makeScheduler, schedule, type Posted } from "./support.js";

const H = 3_600_000;
const DAY = 24 * H;
const D1 = Date.parse("2024-05-01T08:00:00Z");

function texts(p: Posted): string {
  return JSON.stringify(p.blocks);
}

function findingIdsIn(p: Posted): string[] {
  const ids: string[] = [];
  for (const b of p.blocks) {
    if (b.type !== "actions") continue;
    const details = (b.elements as Array<{ action_id: string; value: string }>).find((e) => e.action_id === FINDING_ACTIONS.details);
    if (details) ids.push(details.value);
  }
  return ids;
}

let slack: DigestSlackServer;
beforeEach(async () => {
  slack = await new DigestSlackServer().start();
});
afterEach(async () => {
  await slack.stop();
  expect(slack.invalid).toEqual([]);
  expect(slack.unexpected).toEqual([]);
});

describe("a digest run", () => {
  it("scans incrementally, posts a header with counts and window, the top findings with the bot's buttons, the rest in the thread", async () => {
    const store = TrailStore.memory();
    const aws = new FakeAws();
    aws.add(INCIDENTS.root(D1 - 2 * H), INCIDENTS.stopLogging(D1 - H), { eventName: "DeleteTrail", time: D1 - H + 60_000, requestParameters: { name: "main" } });
    const clock = new FakeClock(D1);
    const { scheduler, taskOptions } = makeScheduler({ store, slack, aws, clock, schedules: [schedule({ top: 2, tz: "Europe/Paris" })] });
    await scheduler.start();
    expect(taskOptions).toEqual([expect.objectContaining({ expr: "0 8 * * *", timezone: "Europe/Paris", noOverlap: false, name: "digest:C0SEC" })]);

    const r = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(r).toMatchObject({ status: "posted", delivery: "sent", trigger: "manual" });
    // One incremental read of the last 24 hours.
    expect(aws.reads).toEqual([{ start: D1 - DAY, end: D1, incremental: true }]);

    expect(slack.posted).toHaveLength(2);
    const [head, thread] = slack.posted as [Posted, Posted];
    expect(head.thread_ts).toBeUndefined();
    expect(head.text).toMatch(/4 new or worse findings \(1 critical, 3 high\)/);
    expect(texts(head)).toContain("4 new or worse findings");
    expect(texts(head)).toContain(`<!date^${(D1 - DAY) / 1000}^`);
    expect(texts(head)).toContain(`<!date^${D1 / 1000}^`);
    expect(texts(head)).toContain("2 more in the thread");
    // The bot's own buttons (same action ids) on each shown finding; the most severe first.
    expect(findingIdsIn(head)).toHaveLength(2);
    expect(store.getFinding(findingIdsIn(head)[0]!)?.severity).toBe("critical");
    for (const id of [FINDING_ACTIONS.ack, FINDING_ACTIONS.suppress, FINDING_ACTIONS.details]) expect(texts(head)).toContain(`"action_id":"${id}"`);
    expect(thread.thread_ts).toBe(head.ts);
    expect(findingIdsIn(thread)).toHaveLength(2);
    expect(head.metadata).toEqual({ event_type: "trailhound_digest", event_payload: { digest: r.digestId, part: 0 } });
    expect(thread.metadata?.event_payload).toEqual({ digest: r.digestId, part: 1 });
    // Paced: the thread reply waited for the channel's 1 message/s.
    expect(clock.sleeps).toEqual([1100]);

    const d = store.getDigest(r.digestId!)!;
    expect(d).toMatchObject({
      state: "sent",
      channel: "C0SEC",
      posted: [head.ts, thread.ts],
      window: { start: new Date(D1 - DAY).toISOString(), end: new Date(D1).toISOString() },
    });
    expect(d.parts).toBeUndefined();
    expect(Object.keys(d.severities!).sort()).toEqual([...findingIdsIn(head), ...findingIdsIn(thread)].sort());
    expect(store.getDigestRun("C0SEC")).toBe(new Date(D1).toISOString());
    expect(
      store
        .auditLog(5)
        .filter((a) => a.action === "digest")
        .map((a) => a.detail),
    ).toEqual([expect.stringMatching(/^sent to C0SEC: 2 message/), expect.stringMatching(/^written for C0SEC \(manual\): 2 message/)]);
    // Baselines and findings were persisted by the scan.
    expect(store.getBaselines().size).toBeGreaterThan(0);
    await scheduler.stop();
  });

  it("posts only what is new: a second run with no new data gives one quiet line (or nothing), a third only the new finding", async () => {
    const store = TrailStore.memory();
    const aws = new FakeAws();
    aws.add(INCIDENTS.root(D1 - 2 * H), INCIDENTS.stopLogging(D1 - H, "mallory"));
    const clock = new FakeClock(D1);
    const { scheduler } = makeScheduler({ store, slack, aws, clock, schedules: [schedule(), schedule({ name: "silent", channel: "C0QUIET", quiet: "silent" })] });
    await scheduler.start();
    const first = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(first.plan!.items.map((i) => i.change)).toEqual(["new", "new", "new"]);
    const firstIds = new Set(first.plan!.items.map((i) => i.finding.id));
    // Another channel is told separately (the findings are new to it, although already recorded).
    const firstSilent = (await scheduler.task("silent").execute()) as DigestRunResult;
    expect(firstSilent.plan!.items.map((i) => i.finding.id).sort()).toEqual([...firstIds].sort());
    expect(slack.posted.map((p) => p.channel)).toEqual(["C0SEC", "C0QUIET"]);

    // Day 2: nothing happened.
    clock.set("2024-05-02T08:00:00Z");
    const second = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(second.status).toBe("quiet");
    expect(aws.reads.at(-1)).toEqual({ start: D1, end: D1 + DAY, incremental: true });
    const quiet = slack.posted.at(-1)!;
    expect(slack.posted).toHaveLength(3);
    expect(quiet.blocks).toEqual([]);
    expect(quiet.text).toMatch(/nothing new or worse in CloudTrail from <!date\^\d+\^.*→ <!date\^\d+\^/);
    // The silent digest posts nothing on a quiet day but still records its run.
    const silent = (await scheduler.task("silent").execute()) as DigestRunResult;
    expect(silent.status).toBe("silent");
    expect(slack.posted).toHaveLength(3);
    expect(store.getDigestRun("silent")).toBe(new Date(D1 + DAY).toISOString());

    // Day 3: root signs in again (the same findings, same severity) and eve stops logging (new).
    clock.set("2024-05-03T08:00:00Z");
    aws.add(INCIDENTS.root(clock.t - 3 * H), INCIDENTS.stopLogging(clock.t - 2 * H, "eve"));
    const third = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(third.status).toBe("posted");
    expect(third.plan!.items).toHaveLength(1);
    expect(third.plan!.items[0]!.finding.identity.key).toBe("user:111111111111:eve");
    expect(firstIds.has(third.plan!.items[0]!.finding.id)).toBe(false);
    expect(third.plan!.stillOpen).toBe(2);
    const last = slack.posted.at(-1)!;
    expect(findingIdsIn(last)).toEqual([third.plan!.items[0]!.finding.id]);
    expect(texts(last)).toContain("2 still open, reported before");
    await scheduler.stop();
  });

  it("per-account digests: each channel gets its account's findings, although one scan moved the shared cursors", async () => {
    const store = TrailStore.memory();
    const aws = new FakeAws();
    const other = "222222222222";
    aws.add(INCIDENTS.root(D1 - 3 * H), { ...INCIDENTS.root(D1 - 2 * H), userIdentity: rootUser(other), recipientAccountId: other });
    const clock = new FakeClock(D1);
    const { scheduler } = makeScheduler({
      store,
      slack,
      aws,
      clock,
      schedules: [
        schedule({ name: "a", channel: "C0A", filters: { account: "111111111111" } }),
        schedule({ name: "b", channel: "C0B", cron: "0 9 * * *", filters: { account: other } }),
      ],
    });
    await scheduler.start();
    const a = (await scheduler.task("a").execute()) as DigestRunResult;
    clock.advance(H);
    const b = (await scheduler.task("b").execute()) as DigestRunResult;
    // b's scan read only the last hour (a read the rest), yet b reports account 2's findings.
    expect(aws.reads.at(-1)).toEqual({ start: D1 + H - DAY, end: D1 + H, incremental: true });
    expect(a.plan!.items.map((i) => i.finding.identity.accountId)).toEqual(["111111111111", "111111111111"]);
    expect(b.plan!.items.map((i) => i.finding.identity.accountId)).toEqual([other, other]);
    expect(slack.posted.map((p) => p.channel)).toEqual(["C0A", "C0B"]);
    expect(texts(slack.posted[1]!)).toContain(`account ${other}`);
    await scheduler.stop();
  });
});

/** A scan whose findings the test chooses, persisted exactly as runLiveScan persists them. */
function scriptedScan(store: TrailStore, clock: FakeClock): { scan: DigestScan; next: Finding[][] } {
  const next: Finding[][] = [];
  const scan: DigestScan = async (req) => {
    const report = makeReport(
      (next.shift() ?? []).map((f) => structuredClone(f)),
      {
        generatedAt: new Date(clock.now()).toISOString(),
        window: { start: new Date(req.start).toISOString(), end: new Date(req.end).toISOString() },
      },
    );
    await scanStoreFrom(store).saveScan(report, [], { by: req.by, target: req.target });
    return report;
  };
  return { scan, next };
}

describe("the acknowledge / suppress / expiry lifecycle", () => {
  it("an acknowledged finding is not repeated until its severity rises; suppressed ones are counted; an expiry is announced once", async () => {
    const store = TrailStore.memory();
    const clock = new FakeClock(D1);
    const { scan, next } = scriptedScan(store, clock);
    const { scheduler } = makeScheduler({ store, slack, aws: new FakeAws(), clock, over: { scan } });
    await scheduler.start();
    const A = makeFinding(1, { severity: "high", identity: { key: "user:123456789012:ann", type: "IAMUser", userName: "ann", accountId: "123456789012" } });
    const B = makeFinding(2, { severity: "medium", identity: { key: "user:123456789012:bob", type: "IAMUser", userName: "bob", accountId: "123456789012" } });
    const C = makeFinding(3, { severity: "low", identity: { key: "user:123456789012:cat", type: "IAMUser", userName: "cat", accountId: "123456789012" } });
    const run = async () => (await scheduler.task("C0SEC").execute()) as DigestRunResult;

    next.push([A, B, C]);
    const day1 = await run();
    expect(day1.plan!.items.map((i) => [i.finding.id, i.change])).toEqual([
      [A.id, "new"],
      [B.id, "new"],
      [C.id, "new"],
    ]);

    // Someone acknowledges A; an admin suppresses bob (B) until day 3 noon.
    await store.acknowledge(A.id, "U0ALICE", D1 + 2 * H);
    const sup = await store.suppress({ scope: "identity", identityKey: B.identity.key, until: "2024-05-03T12:00:00Z", reason: "bob's migration", by: "U0ADMIN" }, D1 + 3 * H);

    clock.set("2024-05-02T08:00:00Z");
    next.push([A, B, C]);
    const day2 = await run();
    expect(day2.status).toBe("quiet");
    expect(day2.plan).toMatchObject({ items: [], acknowledged: 1, suppressed: 1, stillOpen: 1, expiries: [] });
    expect(slack.posted.at(-1)!.text).toMatch(/1 suppressed · 1 still open, reported before · 1 acknowledged, not repeated/);

    // Day 3, after the suppression ran out: A got worse (critical > acknowledged high), B is back.
    clock.set("2024-05-03T13:00:00Z");
    next.push([{ ...A, severity: "critical" }, B, C]);
    const day3 = await run();
    expect(day3.status).toBe("posted");
    expect(day3.plan!.items.map((i) => [i.finding.id, i.change, i.was])).toEqual([
      [A.id, "worse", "high"],
      [B.id, "reopened", "medium"],
    ]);
    expect(day3.plan!.expiries.map((e) => e.suppression.id)).toEqual([sup.id]);
    const posted = slack.posted.at(-1)!;
    expect(texts(posted)).toContain("1 suppression expired");
    expect(texts(posted)).toContain("bob's migration");
    expect(texts(posted)).toContain("*Worse*: was high");
    expect(texts(posted)).toContain("*Reopened*");
    expect(store.getSuppression(sup.id)?.expiryAnnounced).toBe(true);
    expect(store.getFinding(A.id)?.status).toBe("open");

    // Day 4: nothing new; the expiry is not announced again.
    clock.set("2024-05-04T08:00:00Z");
    next.push([{ ...A, severity: "critical" }, B, C]);
    const day4 = await run();
    expect(day4.status).toBe("quiet");
    expect(day4.plan!.expiries).toEqual([]);
    expect(day4.plan!.stillOpen).toBe(3);

    // Resolved, then seen again at the same severity: reported again as reopened.
    await store.resolve(C.id, "U0ALICE", Date.parse("2024-05-04T09:00:00Z"));
    clock.set("2024-05-05T08:00:00Z");
    next.push([C]);
    const day5 = await run();
    expect(day5.plan!.items.map((i) => [i.finding.id, i.change])).toEqual([[C.id, "reopened"]]);
    await scheduler.stop();
  });
});

describe("catch-up after downtime", () => {
  it("sends the missed digest once on start, covering the whole gap; a restart before the next time sends nothing", async () => {
    const store = TrailStore.memory();
    const aws = new FakeAws();
    aws.add(INCIDENTS.root(D1 - H));
    const clock = new FakeClock(D1);
    const first = makeScheduler({ store, slack, aws, clock });
    await first.scheduler.start();
    // First start ever: nothing was missed.
    expect(aws.reads).toEqual([]);
    await first.scheduler.task("C0SEC").execute();
    await first.scheduler.stop();
    expect(slack.posted).toHaveLength(1);

    // Down from day 1 08:00 to day 3 09:30: two scheduled times missed, activity on both days.
    aws.add(INCIDENTS.stopLogging(D1 + 10 * H, "mallory"), INCIDENTS.stopLogging(D1 + DAY + 10 * H, "eve"));
    clock.set("2024-05-03T09:30:00Z");
    const second = makeScheduler({ store, slack, aws, clock });
    await second.scheduler.start();
    expect(aws.reads.slice(1)).toEqual([{ start: D1, end: clock.t, incremental: true }]);
    expect(slack.posted).toHaveLength(2);
    const catchUp = slack.posted[1]!;
    expect(texts(catchUp)).toContain("catch-up");
    expect(
      findingIdsIn(catchUp)
        .map((id) => store.getFinding(id)?.finding.identity.userName)
        .sort(),
    ).toEqual(["eve", "mallory"]);
    expect(store.getDigestRun("C0SEC")).toBe(new Date(clock.t).toISOString());
    // Today's 08:00 tick, had it queued behind the catch-up, finds its slot covered.
    const tick = await second.scheduler.run("C0SEC", "scheduled", Date.parse("2024-05-03T08:00:00Z"));
    expect(tick).toMatchObject({ status: "skipped", error: "already covered" });
    expect(slack.posted).toHaveLength(2);
    await second.scheduler.stop();

    clock.set("2024-05-03T10:00:00Z");
    const third = makeScheduler({ store, slack, aws, clock });
    await third.scheduler.start();
    expect(slack.posted).toHaveLength(2);
    expect(aws.reads).toHaveLength(2);
    await third.scheduler.stop();
  });

  it("the next run honours the digest's time zone (the Home tab's 'next digest')", async () => {
    const clock = new FakeClock(Date.parse("2024-05-01T07:00:00Z"));
    const { scheduler } = makeScheduler({
      store: TrailStore.memory(),
      slack,
      aws: new FakeAws(),
      clock,
      schedules: [schedule({ tz: "Europe/Paris" }), schedule({ name: "ny", channel: "C0NY", tz: "America/New_York" })],
    });
    expect(scheduler.nextRun()).toBeNull();
    await scheduler.start();
    // 08:00 in Paris (UTC+2) already passed at 07:00 UTC; 08:00 in New York is 12:00 UTC.
    expect(scheduler.nextRun()?.toISOString()).toBe("2024-05-01T12:00:00.000Z");
    expect(scheduler.channel).toBe("C0NY");
    clock.set("2024-05-01T13:00:00Z");
    expect(scheduler.nextRun()?.toISOString()).toBe("2024-05-02T06:00:00.000Z");
    expect([scheduler.channel, scheduler.cron, scheduler.tz]).toEqual(["C0SEC", "0 8 * * *", "Europe/Paris"]);
    await scheduler.stop();
  });
});
