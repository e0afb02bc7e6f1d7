/**
 * Alerts within minutes (src/digest/alerts.ts): an alert run posts only findings at or above the
 * alert severity, nothing when there is nothing new, never the same finding twice (across
 * restarts too), and the morning digest shows what was alerted as "alerted", not as new.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { alertCron, alertEveryMinutes, alertEveryProblem, alertSchedule } from "../../src/digest/alerts.js";
import { parseDigestSchedules } from "../../src/digest/config.js";
import { alertLatency } from "../../src/digest/latency.js";
import { statusMessage } from "../../src/slack/views/status.js";
import type { DigestRunResult } from "../../src/digest/scheduler.js";
import { containState } from "../../src/slack/actions/common.js";
import { TrailStore } from "../../src/store/store.js";
import { DigestSlackServer, FakeAws, FakeClock, INCIDENTS, makeScheduler, recordingLog, schedule } from "./support.js";

const H = 3_600_000;
const D1 = Date.parse("2024-05-01T03:10:00Z");

describe("alert settings", () => {
  it("turn an interval into an evenly spaced cron expression and refuse the others", () => {
    expect(alertEveryMinutes("5m")).toBe(5);
    expect(alertEveryMinutes("1h")).toBe(60);
    expect(alertEveryMinutes("7m")).toBeUndefined();
    expect(alertEveryProblem("7m")).toMatch(/divides an hour/);
    expect(alertCron(1)).toBe("* * * * *");
    expect(alertCron(5)).toBe("*/5 * * * *");
    expect(alertCron(60)).toBe("0 * * * *");
  });
  it("add an alert schedule beside the digests, severity high and every 5 minutes by default", () => {
    const { schedules, problems } = parseDigestSchedules({ TRAILHOUND_DIGEST_CHANNEL: "C0SEC", TRAILHOUND_ALERT_CHANNEL: "C0ALERT" });
    expect(problems).toEqual([]);
    expect(schedules.map((s) => s.name)).toEqual(["C0SEC", "alerts"]);
    expect(alertSchedule({ TRAILHOUND_ALERT_CHANNEL: "C0ALERT", TRAILHOUND_ALERT_SEVERITY: "critical", TRAILHOUND_ALERT_EVERY: "1m" })).toMatchObject({
      channel: "C0ALERT",
      cron: "* * * * *",
      minSeverity: "critical",
      quiet: "silent",
      kind: "alert",
    });
    expect(alertSchedule({})).toBeUndefined();
  });
});

describe("an alert run", () => {
  let slack: DigestSlackServer;
  beforeEach(async () => {
    slack = await new DigestSlackServer().start();
  });
  afterEach(async () => {
    await slack.stop();
    expect(slack.unexpected).toEqual([]);
  });

  it("posts only what is at or above its severity, once, and the digest shows it as alerted", async () => {
    const store = TrailStore.memory();
    const aws = new FakeAws();
    aws.add(INCIDENTS.stopLogging(D1 - 5 * 60_000));
    const clock = new FakeClock(D1);
    const alerts = alertSchedule({ TRAILHOUND_ALERT_CHANNEL: "C0ALERT", TRAILHOUND_ALERT_SEVERITY: "critical" })!;
    const digest = schedule({ name: "C0SEC", channel: "C0SEC" });
    const h = makeScheduler({ store, slack, aws, clock, schedules: [digest, alerts] });
    await h.scheduler.start();

    // StopLogging is high: below this alert channel's "critical", so nothing is posted.
    const quiet = (await h.scheduler.task("alerts").execute()) as DigestRunResult;
    expect(quiet.status).toBe("silent");
    expect(slack.posted).toHaveLength(0);

    // Root signs in without MFA: critical, posted at once, with the usual buttons.
    clock.advance(5 * 60_000);
    aws.add(INCIDENTS.root(clock.now() - 60_000));
    const r = (await h.scheduler.task("alerts").execute()) as DigestRunResult;
    expect(r.status).toBe("posted");
    expect(slack.posted).toHaveLength(1);
    const alert = slack.posted[0]!;
    expect(alert.channel).toBe("C0ALERT");
    expect(JSON.stringify(alert.blocks)).toContain("CloudTrail alert");
    expect(JSON.stringify(alert.blocks)).toMatch(/root/i);
    expect(JSON.stringify(alert.blocks)).not.toContain("StopLogging");

    // The latency from the root event (a minute before the run) to the post, as /cloudtrail status shows it.
    const lat = alertLatency(store.digests(), (id) => store.getFinding(id));
    expect(lat).toMatchObject({ alerts: 1 });
    expect(lat!.medianMs).toBeGreaterThanOrEqual(60_000);
    expect(lat!.medianMs).toBeLessThan(5 * 60_000);
    expect(JSON.stringify(statusMessage({ stats: store.stats(clock.now()), scans: [], learning: [], alertLatency: lat! }).blocks)).toMatch(
      /Alert latency \(event -> post\)\*\\nmedian 1 min/,
    );

    // Nothing new: the next run says nothing.
    clock.advance(5 * 60_000);
    expect(((await h.scheduler.task("alerts").execute()) as DigestRunResult).status).toBe("silent");
    await h.scheduler.stop();

    // A restart does not alert again.
    const h2 = makeScheduler({ store, slack, aws, clock, schedules: [digest, alerts] });
    await h2.scheduler.start();
    clock.advance(5 * 60_000);
    expect(((await h2.scheduler.task("alerts").execute()) as DigestRunResult).status).toBe("silent");
    expect(slack.posted).toHaveLength(1);

    // The morning digest: the root finding was alerted, StopLogging is new.
    clock.advance(5 * H);
    const d = (await h2.scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(d.status).toBe("posted");
    const text = JSON.stringify(slack.posted.filter((p) => p.channel === "C0SEC").map((p) => p.blocks));
    expect(text).toMatch(/Alerted\* at 03:1\d UTC/);
    expect(text).toContain(":new: *New*");
    await h2.scheduler.stop();
  });

  it("never overlaps: a tick while the run is still going is skipped and reported, a run past its next tick is reported, and status shows both", async () => {
    const store = TrailStore.memory();
    const aws = new FakeAws();
    aws.coverage = { accountRegions: 400 };
    aws.add(INCIDENTS.root(D1 - 60_000));
    const clock = new FakeClock(D1);
    const log = recordingLog();
    const alerts = alertSchedule({ TRAILHOUND_ALERT_CHANNEL: "C0ALERT" })!;
    const h = makeScheduler({ store, slack, aws, clock, log, schedules: [alerts] });
    await h.scheduler.start();
    expect(h.taskOptions[0]).toMatchObject({ expr: "*/5 * * * *", noOverlap: false });

    const hold = aws.hold(); // the fault hook: this run's read waits
    const first = h.scheduler.task("alerts").execute() as Promise<DigestRunResult>;
    await hold.entered;
    // Six minutes later the next tick comes: the run is still reading, so the tick is skipped, and said so.
    clock.advance(6 * 60_000);
    const second = (await h.scheduler.task("alerts").execute()) as DigestRunResult;
    expect(second).toMatchObject({ status: "skipped", error: "the previous run is still going" });
    expect(aws.reads).toHaveLength(1);
    const skippedLine = log.lines.find((l) => l.msg.startsWith("the previous run is still going"));
    expect(skippedLine).toMatchObject({ level: "warn", fields: { digest: "alerts", forMs: 6 * 60_000, skippedTicks: 1 } });
    expect(h.scheduler.figures()[0]).toMatchObject({ running: { since: D1 }, skippedTicks: 1, slowRuns: 0 });

    hold.release();
    expect((await first).status).toBe("posted");
    expect(aws.reads).toHaveLength(1); // never doubled
    expect(slack.posted).toHaveLength(1);
    const fig = h.scheduler.figures()[0]!;
    expect(fig.running).toBeUndefined();
    expect(fig).toMatchObject({ skippedTicks: 1, slowRuns: 1, last: { startedAt: D1, ms: 6 * 60_000, status: "posted", accountRegions: 400 } });
    expect(log.lines.some((l) => l.level === "warn" && l.msg.startsWith("a run took longer than its schedule's interval"))).toBe(true);
    const text = JSON.stringify(statusMessage({ stats: store.stats(clock.now()), scans: [], learning: [], runs: h.scheduler.figures() }).blocks);
    expect(text).toContain("Scheduled runs since start");
    expect(text).toContain("400 account/regions (67 a minute)");
    expect(text).toContain(":warning: 1 tick skipped, the previous run still going");
    expect(text).toContain(":warning: 1 run longer than the interval");

    // The next tick runs normally.
    clock.advance(60_000);
    expect(((await h.scheduler.task("alerts").execute()) as DigestRunResult).status).toBe("silent");
    expect(aws.reads).toHaveLength(2);
    await h.scheduler.stop();
  });

  it("alerts and digests carry Contain… on findings whose identity can be contained (root cannot), at the first post", async () => {
    const store = TrailStore.memory();
    const aws = new FakeAws();
    aws.add(INCIDENTS.stopLogging(D1 - 5 * 60_000));
    aws.add(INCIDENTS.root(D1 - 4 * 60_000));
    const clock = new FakeClock(D1);
    const alerts = alertSchedule({ TRAILHOUND_ALERT_CHANNEL: "C0ALERT", TRAILHOUND_ALERT_SEVERITY: "high" })!;
    const digest = schedule({ name: "C0SEC", channel: "C0SEC" });
    const guard = { protectedArns: [] };
    const h = makeScheduler({ store, slack, aws, clock, schedules: [digest, alerts], over: { containState: (f) => containState({ respond: { guard }, store }, f) } });
    await h.scheduler.start();
    expect(((await h.scheduler.task("alerts").execute()) as DigestRunResult).status).toBe("posted");
    clock.advance(5 * H);
    expect(((await h.scheduler.task("C0SEC").execute()) as DigestRunResult).status).toBe("posted");
    await h.scheduler.stop();
    for (const channel of ["C0ALERT", "C0SEC"]) {
      const blocks = slack.posted
        .filter((p) => p.channel === channel)
        .flatMap((p) => p.blocks as Array<{ type: string; block_id?: string; elements?: Array<{ action_id?: string; value?: string }> }>);
      const actions = blocks.filter((b) => b.type === "actions" && b.block_id?.startsWith("fnd:"));
      expect(actions.length).toBeGreaterThanOrEqual(2);
      const users = new Set<string>();
      for (const a of actions) {
        const id = a.elements!.find((e) => e.action_id === "finding_ack")!.value!;
        const who = store.getFinding(id)!.finding.identity;
        users.add(who.type);
        // Root: no Contain…; the IAM user mallory: Contain… from the first post.
        expect(a.elements!.some((e) => e.action_id === "finding_contain")).toBe(who.type === "IAMUser");
      }
      expect([...users].sort()).toEqual(["IAMUser", "Root"]);
    }
    // Without containment (no responders): no Contain… at all.
    const bare = TrailStore.memory();
    const aws2 = new FakeAws();
    aws2.add(INCIDENTS.stopLogging(D1 - 5 * 60_000));
    const slack2 = slack.posted.length;
    const h2 = makeScheduler({ store: bare, slack, aws: aws2, clock: new FakeClock(D1), schedules: [alerts] });
    await h2.scheduler.start();
    await h2.scheduler.task("alerts").execute();
    await h2.scheduler.stop();
    expect(slack.posted.length).toBeGreaterThan(slack2);
    expect(JSON.stringify(slack.posted.slice(slack2).map((p) => p.blocks))).not.toContain("finding_contain");
  });
});
