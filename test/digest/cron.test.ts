/**
 * Next occurrences of digest schedules (croner's public API), monthly and yearly ones included,
 * and their agreement with node-cron's matcher, which fires the digests.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTask } from "node-cron";
import { nextOccurrence, nextOccurrences } from "../../src/digest/cron.js";
import { TrailStore } from "../../src/store/store.js";
import { DigestSlackServer, FakeAws, FakeClock, makeScheduler, schedule } from "./support.js";

const iso = (d: Date | null) => d?.toISOString() ?? null;

describe("nextOccurrence", () => {
  it("finds a monthly schedule's next run weeks ahead, in its time zone", () => {
    const from = Date.parse("2026-03-02T12:00:00Z");
    expect(iso(nextOccurrence("0 8 1 * *", "Europe/Paris", from))).toBe("2026-04-01T06:00:00.000Z"); // CEST
    expect(nextOccurrences("0 8 1 * *", "Europe/Paris", from, 3).map(iso)).toEqual(["2026-04-01T06:00:00.000Z", "2026-05-01T06:00:00.000Z", "2026-06-01T06:00:00.000Z"]);
    // The last day of each month.
    expect(nextOccurrences("0 8 L * *", "UTC", Date.parse("2026-01-31T09:00:00Z"), 2).map(iso)).toEqual(["2026-02-28T08:00:00.000Z", "2026-03-31T08:00:00.000Z"]);
  });

  it("finds a yearly schedule's next run, and a 29 February one years ahead", () => {
    expect(iso(nextOccurrence("0 9 1 1 *", "America/New_York", Date.parse("2026-01-01T15:00:00Z")))).toBe("2027-01-01T14:00:00.000Z");
    expect(iso(nextOccurrence("0 0 29 2 *", "UTC", Date.parse("2026-12-06T00:00:00Z")))).toBe("2028-02-29T00:00:00.000Z");
  });

  it("is strictly after `from`, and both day fields must match when both are restricted (as node-cron fires)", () => {
    expect(iso(nextOccurrence("0 8 * * *", "UTC", Date.parse("2026-05-01T08:00:00Z")))).toBe("2026-05-02T08:00:00.000Z");
    // Friday the 13th, not "every 13th and every Friday".
    expect(nextOccurrences("0 8 13 * 5", "UTC", Date.parse("2026-01-01T00:00:00Z"), 2).map(iso)).toEqual(["2026-02-13T08:00:00.000Z", "2026-03-13T08:00:00.000Z"]);
    expect(nextOccurrence("not a cron", "UTC", 0)).toBeNull();
  });

  it("every occurrence is an instant node-cron's matcher fires on, and none is skipped (minute by minute)", { tags: ["slow"] }, () => {
    const from = Date.parse("2026-03-26T00:00:00Z");
    const to = Date.parse("2026-04-04T00:00:00Z"); // across Europe's spring DST change
    const cases: Array<[string, string]> = [
      ["0 8 * * *", "Europe/Paris"],
      ["30 7 * * 1-5", "America/New_York"],
      ["15 */6 * * *", "Asia/Kolkata"],
      ["0 8 1 * *", "UTC"],
      ["0 8 1-7 * 3", "UTC"], // the first Wednesday of the month
      ["0 12 * * sun", "Australia/Sydney"],
    ];
    for (const [expr, tz] of cases) {
      const task = createTask(expr, () => undefined, { timezone: tz });
      const matched: string[] = [];
      for (let t = from + 60_000; t <= to; t += 60_000) if (task.match(new Date(t))) matched.push(new Date(t).toISOString());
      const ours: string[] = [];
      for (let d = nextOccurrence(expr, tz, from); d && d.getTime() <= to; d = nextOccurrence(expr, tz, d.getTime())) ours.push(d.toISOString());
      expect([expr, tz, ours]).toEqual([expr, tz, matched]);
      expect(matched.length).toBeGreaterThan(0);
    }
  });
});

describe("the scheduler with a monthly schedule", () => {
  let slack: DigestSlackServer;
  beforeAll(async () => {
    slack = await new DigestSlackServer().start();
  });
  afterAll(async () => {
    await slack.stop();
  });

  it("shows its next run a month ahead, and catches up a month missed while down", async () => {
    const monthly = schedule({ cron: "0 8 1 * *", tz: "UTC" });
    const store = TrailStore.memory();
    const aws = new FakeAws();
    const clock = new FakeClock(Date.parse("2026-05-01T09:00:00Z"));
    const first = makeScheduler({ store, slack, aws, clock, schedules: [monthly] });
    await first.scheduler.start();
    expect(iso(first.scheduler.nextRun())).toBe("2026-06-01T08:00:00.000Z");
    await first.scheduler.task("C0SEC").execute();
    await first.scheduler.stop();
    const posted = slack.posted.length;

    // Down until 3 June: the 1 June digest was missed.
    clock.set("2026-06-03T10:00:00Z");
    const second = makeScheduler({ store, slack, aws, clock, schedules: [monthly] });
    await second.scheduler.start();
    expect(slack.posted.length).toBe(posted + 1);
    expect(iso(second.scheduler.nextRun())).toBe("2026-07-01T08:00:00.000Z");
    await second.scheduler.stop();
  });
});
