/**
 * Exactly-once delivery: Retry-After, 5xx backoff then pending, a response lost after Slack
 * accepted the post, a crash between the post and its record (restart over the same store file),
 * a crash right after the digest was written, and a channel the bot is not in.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DigestRunResult, DigestScan } from "../../src/digest/scheduler.js";
import type { Finding } from "../../src/scan/report-types.js";
import { scanStoreFrom } from "../../src/app/store-port.js";
import { TrailStore } from "../../src/store/store.js";
import { makeFinding, makeReport } from "../slack/support/fixtures.js";
import { DigestSlackServer, FakeAws, FakeClock, makeScheduler, recordingLog } from "./support.js";

const D1 = Date.parse("2024-05-01T08:00:00Z");

function scriptedScan(store: TrailStore, clock: FakeClock, findings: Finding[]): DigestScan {
  return async (req) => {
    const report = makeReport(
      findings.map((f) => structuredClone(f)),
      {
        generatedAt: new Date(clock.now()).toISOString(),
        window: { start: new Date(req.start).toISOString(), end: new Date(req.end).toISOString() },
      },
    );
    await scanStoreFrom(store).saveScan(report, [], { by: req.by, target: req.target });
    return report;
  };
}

/** The store, except that the n-th markDigestPart "crashes" (throws before anything is written). */
function crashOnMark(store: TrailStore, n: number): TrailStore {
  let calls = 0;
  return new Proxy(store, {
    get(t, k) {
      if (k === "markDigestPart") {
        return async (id: string, ts: string) => {
          if (++calls === n) throw new Error("killed between the post and its record");
          return t.markDigestPart(id, ts);
        };
      }
      const v = Reflect.get(t, k, t) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

function failOn<K extends keyof TrailStore>(store: TrailStore, method: K): TrailStore {
  return new Proxy(store, {
    get(t, k) {
      if (k === method) return async () => Promise.reject(new Error(`killed in ${String(method)}`));
      const v = Reflect.get(t, k, t) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

const many = (n: number) => Array.from({ length: n }, (_, i) => makeFinding(i + 1));

let slack: DigestSlackServer;
let dir: string;
beforeEach(async () => {
  slack = await new DigestSlackServer().start();
  dir = await mkdtemp(path.join(tmpdir(), "th-digest-"));
});
afterEach(async () => {
  await slack.stop();
  await rm(dir, { recursive: true, force: true });
  expect(slack.invalid).toEqual([]);
  expect(slack.unexpected).toEqual([]);
});

/** Every part of the digest exactly once in Slack, in order, the thread under part 0. */
function expectOnce(digestId: string, parts: number): void {
  const byPart = slack.partsOf(digestId);
  expect([...byPart.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: parts }, (_, i) => i));
  for (const [, msgs] of byPart) expect(msgs).toHaveLength(1);
  const head = byPart.get(0)![0]!;
  for (let i = 1; i < parts; i++) expect(byPart.get(i)![0]!.thread_ts).toBe(head.ts);
}

describe("digest delivery", () => {
  it("a 429 is retried after its Retry-After", async () => {
    const store = TrailStore.memory();
    const clock = new FakeClock(D1);
    slack.script("chat.postMessage", { status: 429, headers: { "retry-after": "7" }, body: { ok: false, error: "ratelimited" } });
    const { scheduler } = makeScheduler({ store, slack, aws: new FakeAws(), clock, over: { scan: scriptedScan(store, clock, many(2)) } });
    await scheduler.start();
    const r = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(r.delivery).toBe("sent");
    expect(clock.sleeps).toEqual([7000]);
    expect(slack.count("chat.postMessage")).toBe(2);
    expectOnce(r.digestId!, 1);
    await scheduler.stop();
  });

  it("5xx is retried with backoff, then the digest is left pending; the next attempt sends only the missing parts", async () => {
    const store = TrailStore.memory();
    const clock = new FakeClock(D1);
    const log = recordingLog();
    // Part 0 goes out; part 1 meets five 503s.
    slack.script("chat.postMessage", { status: 200 }, ...Array.from({ length: 5 }, () => ({ status: 503, body: { ok: false } })));
    const { scheduler } = makeScheduler({ store, slack, aws: new FakeAws(), clock, log, over: { scan: scriptedScan(store, clock, many(30)) } });
    await scheduler.start();
    const r = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(r.delivery).toBe("pending");
    expect(clock.sleeps).toEqual([1100, 2000, 4000, 8000, 16000]);
    const d = store.getDigest(r.digestId!)!;
    expect(d.state).toBe("pending");
    expect(d.posted).toHaveLength(1);
    expect(d.parts).toHaveLength(4);
    expect(store.pendingDigests().map((x) => x.id)).toEqual([r.digestId]);
    expect(log.lines.some((l) => l.level === "warn" && l.msg.startsWith("digest left pending"))).toBe(true);

    // Slack is back: the next start sends parts 1..3 once each.
    const again = makeScheduler({ store, slack, aws: new FakeAws(), clock });
    await again.scheduler.start();
    expect(store.getDigest(r.digestId!)?.state).toBe("sent");
    expectOnce(r.digestId!, 4);
    await scheduler.stop();
    await again.scheduler.stop();
  });

  it("a post that reached Slack although the answer was an error is found by its metadata, not posted twice", async () => {
    const store = TrailStore.memory();
    const clock = new FakeClock(D1);
    slack.script("chat.postMessage", { status: 200 }, { error: "post-then-500" });
    const { scheduler } = makeScheduler({ store, slack, aws: new FakeAws(), clock, over: { scan: scriptedScan(store, clock, many(20)) } });
    await scheduler.start();
    const r = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(r.delivery).toBe("sent");
    expect(slack.count("conversations.replies")).toBe(1);
    expectOnce(r.digestId!, 3);
    await scheduler.stop();
  });

  it("the first message accepted behind a 500 is found in the channel's history (posted after the digest was written)", async () => {
    const store = TrailStore.memory();
    const clock = new FakeClock(D1);
    slack.now = clock.now;
    // Someone else's message before the digest, then ours accepted although the answer is a 500.
    slack.posted.push({ channel: "C0SEC", ts: `${D1 / 1000 - 3600}.000001`, text: "earlier", blocks: [] });
    slack.script("chat.postMessage", { error: "post-then-500" });
    const { scheduler } = makeScheduler({ store, slack, aws: new FakeAws(), clock, over: { scan: scriptedScan(store, clock, many(2)) } });
    await scheduler.start();
    const r = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(r.delivery).toBe("sent");
    const lookup = slack.calls.find((c) => c.method === "conversations.history")!;
    expect(lookup.args).toMatchObject({ channel: "C0SEC", include_all_metadata: "true", oldest: ((D1 - 300_000) / 1000).toFixed(6) });
    expectOnce(r.digestId!, 1);
    expect(slack.count("chat.postMessage")).toBe(1);
    await scheduler.stop();
  });

  it("a crash between posting part 2 and recording it: the restart finds part 2 in the thread and posts only parts 3 and 4", async () => {
    const clock = new FakeClock(D1);
    const store = await TrailStore.open(dir);
    const { scheduler } = makeScheduler({ store: crashOnMark(store, 2), slack, aws: new FakeAws(), clock, over: { scan: scriptedScan(store, clock, many(30)) } });
    await scheduler.start();
    const r = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(r.delivery).toBe("pending");
    expect(slack.posted).toHaveLength(2);
    await scheduler.stop();
    await store.close();

    // Restart over the same file, 5 minutes later.
    clock.advance(300_000);
    const reopened = await TrailStore.open(dir);
    const pending = reopened.pendingDigests();
    expect(pending.map((d) => [d.id, d.posted.length, d.parts?.length])).toEqual([[r.digestId, 1, 4]]);
    const after = makeScheduler({ store: reopened, slack, aws: new FakeAws(), clock });
    await after.scheduler.start();
    expectOnce(r.digestId!, 4);
    expect(slack.posted).toHaveLength(4);
    const sent = reopened.getDigest(r.digestId!)!;
    expect(sent.state).toBe("sent");
    expect(sent.posted).toEqual([0, 1, 2, 3].map((i) => slack.partsOf(r.digestId!).get(i)![0]!.ts));
    expect(sent.parts).toBeUndefined();
    await after.scheduler.stop();
    await reopened.close();
  });

  it("without the history scopes the restart cannot look, resends the unrecorded part and says so", async () => {
    const clock = new FakeClock(D1);
    const store = TrailStore.memory();
    const { scheduler } = makeScheduler({ store: crashOnMark(store, 2), slack, aws: new FakeAws(), clock, over: { scan: scriptedScan(store, clock, many(30)) } });
    await scheduler.start();
    const r = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    await scheduler.stop();
    slack.historyScope = false;
    const log = recordingLog();
    const after = makeScheduler({ store, slack, aws: new FakeAws(), clock, log });
    await after.scheduler.start();
    const byPart = slack.partsOf(r.digestId!);
    expect([0, 1, 2, 3].map((i) => byPart.get(i)?.length)).toEqual([1, 2, 1, 1]);
    expect(store.getDigest(r.digestId!)?.state).toBe("sent");
    expect(log.lines.find((l) => l.level === "warn" && /channels:history/.test(l.msg))).toBeDefined();
    await after.scheduler.stop();
  });

  it("a crash right after the digest was written: the restart records the run, sends the digest, and does not scan or post again", async () => {
    const clock = new FakeClock(D1);
    const store = TrailStore.memory();
    const aws = new FakeAws();
    const scans: number[] = [];
    const scan = scriptedScan(store, clock, many(3));
    const counting: DigestScan = (req) => {
      scans.push(req.end);
      return scan(req);
    };
    const { scheduler } = makeScheduler({ store: failOn(store, "setDigestRun"), slack, aws, clock, over: { scan: counting } });
    await scheduler.start();
    const r = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(r.status).toBe("skipped");
    expect(slack.posted).toHaveLength(0);
    expect(store.pendingDigests()).toHaveLength(1);
    expect(store.getDigestRun("C0SEC")).toBeUndefined();
    await scheduler.stop();

    clock.advance(600_000);
    const after = makeScheduler({ store, slack, aws, clock, over: { scan: counting } });
    await after.scheduler.start();
    expect(store.getDigestRun("C0SEC")).toBe(new Date(D1).toISOString());
    expect(scans).toEqual([D1]);
    expect(slack.posted).toHaveLength(1);
    expect(store.pendingDigests()).toEqual([]);
    await after.scheduler.stop();
  });

  it("a channel the bot is not in: the digest is marked failed with Slack's error, and sent first once the bot is invited", async () => {
    const clock = new FakeClock(D1);
    const store = TrailStore.memory();
    slack.script("chat.postMessage", { error: "not_in_channel" });
    const { scheduler } = makeScheduler({ store, slack, aws: new FakeAws(), clock, over: { scan: scriptedScan(store, clock, many(2)) } });
    await scheduler.start();
    const r = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(r.delivery).toBe("failed");
    expect(store.getDigest(r.digestId!)).toMatchObject({ state: "failed", error: "not_in_channel" });
    expect(clock.sleeps).toEqual([]);

    clock.set("2024-05-02T08:00:00Z");
    const next = (await scheduler.task("C0SEC").execute()) as DigestRunResult;
    expect(store.getDigest(r.digestId!)?.state).toBe("sent");
    expect(slack.posted.map((p) => p.metadata?.event_payload.digest)).toEqual([r.digestId, next.digestId]);
    await scheduler.stop();
  });

  it("stop() interrupts a long Retry-After wait and leaves the digest pending", async () => {
    const store = TrailStore.memory();
    const clock = new FakeClock(D1);
    slack.script("chat.postMessage", { status: 429, headers: { "retry-after": "120" }, body: { ok: false } });
    let release!: () => void;
    const waiting = new Promise<void>((r) => (release = r));
    const { scheduler } = makeScheduler({
      store,
      slack,
      aws: new FakeAws(),
      clock,
      over: {
        scan: scriptedScan(store, clock, many(1)),
        // A real wait that only the abort signal ends.
        sleep: (_ms, signal) =>
          new Promise<void>((resolve) => {
            release();
            signal?.addEventListener("abort", () => resolve(), { once: true });
          }),
      },
    });
    await scheduler.start();
    const run = scheduler.task("C0SEC").execute() as Promise<DigestRunResult>;
    await waiting;
    await scheduler.stop();
    expect((await run).delivery).toBe("pending");
    expect(slack.posted).toHaveLength(0);
    expect(store.pendingDigests()).toHaveLength(1);
  });
});
