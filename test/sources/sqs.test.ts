/**
 * S3 event notifications through SQS (TRAILHOUND_SQS_QUEUE_URL): the parser (docs ORG.md section
 * 5: direct, SNS-wrapped, the test event, versions, URL-encoded keys), then the push loop end to
 * end: the real SQS client against a queue behind nock (AWS JSON protocol, MD5 of bodies checked
 * by the SDK), the trail bucket as a fake S3 port, the real digest scheduler posting alerts to a
 * local Slack. Duplicate and out-of-order notifications, messages deleted only after the files'
 * results are committed, and an alert posted once across a restart.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { GetObjectCommand, type ListObjectsV2Command } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { alertSchedule } from "../../src/digest/alerts.js";
import { liveDigestScan } from "../../src/digest/index.js";
import { createSqsPush } from "../../src/digest/push.js";
import { webClientSlack } from "../../src/digest/delivery.js";
import { DigestScheduler, type DigestRunResult } from "../../src/digest/scheduler.js";
import { silentLogger } from "../../src/log.js";
import { liveSourceFactory } from "../../src/sources/aws-cli.js";
import type { S3Port } from "../../src/sources/s3.js";
import { parseNotification } from "../../src/sources/sqs.js";
import { statusMessage } from "../../src/slack/views/status.js";
import { TrailStore } from "../../src/store/store.js";
import { loadConfig } from "../../src/config.js";
import { webApi } from "@slack/bolt";
import { createTask } from "node-cron";
import { rawRecord, iamUser } from "../helpers/events.js";
import { DigestSlackServer, FakeClock, INCIDENTS, quietBoltLogger } from "../digest/support.js";

const BUCKET = "org-trail-bucket";
const ORG = "o-ab12cd34ef";
const ACCT = "111111111111";
const QUEUE = `https://sqs.eu-west-1.amazonaws.com/${ACCT}/trailhound-new-files`;
const DIR = `AWSLogs/${ORG}/${ACCT}/CloudTrail/us-east-1/2026/12/06/`;
const fileKey = (hhmm: string, id: string) => `${DIR}${ACCT}_CloudTrail_us-east-1_20261206T${hhmm}Z_${id}.json.gz`;

function s3Record(key: string, o: { bucket?: string; eventName?: string; version?: string } = {}) {
  return {
    eventVersion: o.version ?? "2.1",
    eventSource: "aws:s3",
    awsRegion: "eu-west-2",
    eventTime: "2026-12-06T10:20:31.000Z",
    eventName: o.eventName ?? "ObjectCreated:Put",
    userIdentity: { principalId: "AIDAJDPLRKLG7UEXAMPLE" },
    s3: {
      s3SchemaVersion: "1.0",
      configurationId: "ct-new-files",
      bucket: { name: o.bucket ?? BUCKET, arn: `arn:aws:s3:::${o.bucket ?? BUCKET}` },
      // S3 sends keys form-URL-encoded.
      object: { key: encodeURIComponent(key).replace(/%2F/g, "/").replace(/%20/g, "+"), size: 9234, sequencer: "0062B9D834A809629F" },
    },
  };
}
const direct = (...keys: string[]) => JSON.stringify({ Records: keys.map((k) => s3Record(k)) });
const viaSns = (inner: string) => JSON.stringify({ Type: "Notification", MessageId: "sns-1", TopicArn: "arn:aws:sns:eu-west-1:111111111111:t", Message: inner });
const TEST_EVENT = JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Time: "2014-10-13T15:57:02.089Z", Bucket: BUCKET, RequestId: "5582815E1AEA5ADF", HostId: "8cLe" });

describe("parseNotification", () => {
  it("reads direct and SNS-wrapped notifications, drops the test event, decodes keys, refuses what it does not know", () => {
    const key = `${DIR}a b+c.json.gz`;
    expect(parseNotification(direct(key))).toEqual({ kind: "objects", objects: [{ bucket: BUCKET, key, sequencer: "0062B9D834A809629F" }] });
    expect(parseNotification(viaSns(direct(key)))).toEqual(parseNotification(direct(key)));
    expect(parseNotification(TEST_EVENT)).toEqual({ kind: "test" });
    expect(parseNotification(viaSns(TEST_EVENT))).toEqual({ kind: "test" });
    // Not a creation: nothing to read (the message can go).
    expect(parseNotification(JSON.stringify({ Records: [s3Record(key, { eventName: "ObjectRemoved:Delete" })] }))).toEqual({ kind: "objects", objects: [] });
    // Newer 2.x versions are read; 1.x and 3.x are not.
    expect(parseNotification(JSON.stringify({ Records: [s3Record(key, { version: "2.5" })] })).kind).toBe("objects");
    expect(parseNotification(JSON.stringify({ Records: [s3Record(key, { version: "3.0" })] }))).toMatchObject({ kind: "invalid", reason: /version/ });
    expect(parseNotification("hello")).toEqual({ kind: "invalid", reason: "not JSON" });
    expect(parseNotification("{}")).toMatchObject({ kind: "invalid", reason: /no Records/ });
    expect(parseNotification(JSON.stringify({ Type: "Notification", Message: 3 }))).toMatchObject({ kind: "invalid" });
    expect(parseNotification(JSON.stringify({ Records: [{ eventSource: "aws:sqs" }] }))).toMatchObject({ kind: "invalid" });
  });
});

/**
 * An SQS queue behind nock: ReceiveMessage (up to 10 visible messages, each then invisible for its
 * VisibilityTimeout on the queue's own clock, with a new receipt handle per receive),
 * ChangeMessageVisibilityBatch (refused for a stale handle or a message no longer in flight, as
 * SQS does) and DeleteMessageBatch (a stale handle is answered as a success and deletes nothing,
 * as SQS documents). `ops` logs each call with its handles.
 */
class FakeQueue {
  readonly messages: Array<{ id: string; body: string; handle: string; visibleAt: number; receives: number; deleted: boolean }> = [];
  readonly deleted: string[] = [];
  readonly ops: Array<{ op: "receive" | "change" | "delete"; handles: string[]; timeout?: number }> = [];
  /** The queue's clock (ms). */
  now = 0;
  #n = 0;
  send(body: string): string {
    const id = `m-${++this.#n}`;
    this.messages.push({ id, body, handle: "", visibleAt: 0, receives: 0, deleted: false });
    return id;
  }
  /** The visibility timeout ran out: undeleted messages come back. */
  expireVisibility(): void {
    for (const m of this.messages) if (!m.deleted) m.visibleAt = this.now;
  }
  /** One message's visibility ran out (the reader stalled past it). */
  expire(id: string): void {
    this.messages.find((m) => m.id === id)!.visibleAt = this.now;
  }
  advance(ms: number): void {
    this.now += ms;
  }
  pending(): string[] {
    return this.messages.filter((m) => !m.deleted).map((m) => m.id);
  }
  /** Ids a receive would return now, without receiving. */
  visible(): string[] {
    return this.messages.filter((m) => !m.deleted && m.visibleAt <= this.now).map((m) => m.id);
  }
  install(): void {
    nock("https://sqs.eu-west-1.amazonaws.com")
      .persist()
      .post("/")
      .reply(function (_uri, body) {
        const target = String(this.req.headers["x-amz-target"]);
        const input = (typeof body === "string" ? JSON.parse(body) : body) as Record<string, unknown>;
        return queue.handle(target, input);
      });
    const queue = this;
  }
  handle(target: string, input: Record<string, unknown>): [number, string, Record<string, string>] {
    const json = { "content-type": "application/x-amz-json-1.0" };
    if (input.QueueUrl !== QUEUE) return [400, JSON.stringify({ __type: "com.amazonaws.sqs#QueueDoesNotExist", message: "no queue" }), json];
    if (target === "AmazonSQS.ReceiveMessage") {
      const max = Number(input.MaxNumberOfMessages ?? 1);
      const out = this.messages.filter((m) => m.visibleAt <= this.now && !m.deleted).slice(0, max);
      for (const m of out) {
        m.visibleAt = this.now + Number(input.VisibilityTimeout ?? 30) * 1000;
        m.receives++;
        m.handle = `rh-${m.id}-${m.receives}`;
      }
      this.ops.push({ op: "receive", handles: out.map((m) => m.handle) });
      const Messages = out.map((m) => ({
        MessageId: m.id,
        ReceiptHandle: m.handle,
        MD5OfBody: createHash("md5").update(m.body).digest("hex"),
        Body: m.body,
        Attributes: { ApproximateReceiveCount: String(m.receives) },
      }));
      return [200, JSON.stringify(Messages.length ? { Messages } : {}), json];
    }
    if (target === "AmazonSQS.ChangeMessageVisibilityBatch") {
      const entries = input.Entries as Array<{ Id: string; ReceiptHandle: string; VisibilityTimeout: number }>;
      this.ops.push({ op: "change", handles: entries.map((e) => e.ReceiptHandle), timeout: entries[0]!.VisibilityTimeout });
      const Successful = [];
      const Failed = [];
      for (const e of entries) {
        const m = this.messages.find((x) => x.handle === e.ReceiptHandle);
        if (!m || m.deleted) Failed.push({ Id: e.Id, SenderFault: true, Code: "ReceiptHandleIsInvalid", Message: "The receipt handle has expired." });
        else if (m.visibleAt <= this.now)
          Failed.push({ Id: e.Id, SenderFault: true, Code: "MessageNotInflight", Message: "Message does not exist or is not available for visibility timeout change." });
        else {
          m.visibleAt = this.now + e.VisibilityTimeout * 1000;
          Successful.push({ Id: e.Id });
        }
      }
      return [200, JSON.stringify({ Successful, Failed }), json];
    }
    if (target === "AmazonSQS.DeleteMessageBatch") {
      const entries = input.Entries as Array<{ Id: string; ReceiptHandle: string }>;
      this.ops.push({ op: "delete", handles: entries.map((e) => e.ReceiptHandle) });
      const Successful = [];
      for (const e of entries) {
        const m = this.messages.find((x) => x.handle === e.ReceiptHandle);
        if (m && !m.deleted) {
          m.deleted = true;
          this.deleted.push(m.id);
        }
        Successful.push({ Id: e.Id });
      }
      return [200, JSON.stringify({ Successful, Failed: [] }), json];
    }
    return [400, JSON.stringify({ __type: "com.amazonaws.sqs#UnsupportedOperation", message: target }), json];
  }
}

/** The trail bucket: GetObject only (a pushed read never lists); `failGet` makes a key unreadable. */
function fakeBucket() {
  const objects = new Map<string, Buffer>();
  const landed = new Map<string, Date>();
  const gets: string[] = [];
  const lists: string[] = [];
  let failGet: string | undefined;
  /** The fault hook that makes a run slow: GetObject of this key waits until released. */
  let held: { key: string; entered: () => void; gate: Promise<void> } | undefined;
  const port = {
    async send(cmd: ListObjectsV2Command | GetObjectCommand) {
      if (cmd instanceof GetObjectCommand) {
        const key = cmd.input.Key!;
        gets.push(key);
        if (held?.key === key) {
          held.entered();
          await held.gate;
        }
        if (key === failGet) throw Object.assign(new Error("We encountered an internal error. Please try again."), { name: "InternalError", $metadata: { httpStatusCode: 500 } });
        const body = objects.get(key);
        if (!body) throw Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey", $metadata: { httpStatusCode: 404 } });
        return { Body: Readable.from([body]), ContentLength: body.length, LastModified: landed.get(key) ?? new Date("2026-12-06T10:25:00Z"), $metadata: {} };
      }
      const { Prefix = "", StartAfter } = cmd.input;
      lists.push(Prefix);
      const keys = [...objects.keys()].sort().filter((k) => k.startsWith(Prefix) && (!StartAfter || k > StartAfter));
      if (cmd.input.Delimiter) {
        const d = cmd.input.Delimiter;
        const prefixes = [...new Set(keys.filter((k) => k.indexOf(d, Prefix.length) >= 0).map((k) => k.slice(0, k.indexOf(d, Prefix.length) + 1)))];
        return { CommonPrefixes: prefixes.map((p) => ({ Prefix: p })), Contents: [], $metadata: {} };
      }
      return { Contents: keys.map((k) => ({ Key: k, Size: objects.get(k)!.length })), $metadata: {} };
    },
  } as unknown as S3Port;
  return {
    port,
    objects,
    gets,
    lists,
    put: (key: string, records: unknown[], landedAt?: number) => {
      if (landedAt !== undefined) landed.set(key, new Date(landedAt));
      objects.set(key, gzipSync(JSON.stringify({ Records: records })));
    },
    failOn: (k: string | undefined) => {
      failGet = k;
    },
    /** GetObject of `key` blocks until `release()`; `entered` resolves when it is called. */
    hold(key: string) {
      let entered!: () => void;
      let release!: () => void;
      const enteredP = new Promise<void>((r) => (entered = r));
      held = { key, entered, gate: new Promise<void>((r) => (release = r)) };
      return { entered: enteredP, release };
    },
  };
}

let dirs: string[] = [];
beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1"); // the local Slack
});
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  nock.cleanAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

describe("SQS push", () => {
  it("reads each notified file once, in delivery order, deletes messages only after the results are saved, and alerts once across a restart", async () => {
    const slack = await new DigestSlackServer().start();
    const queue = new FakeQueue();
    queue.install();
    const bucket = fakeBucket();
    const clock = new FakeClock(Date.parse("2026-12-06T10:30:00Z"));
    const dir = mkdtempSync(path.join(tmpdir(), "th-sqs-"));
    dirs.push(dir);
    const env = { TRAILHOUND_SOURCE: `s3://${BUCKET}`, TRAILHOUND_SQS_QUEUE_URL: QUEUE, TRAILHOUND_ALERT_CHANNEL: "C0ALERT" };
    const sqs = new SQSClient({ region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" }, maxAttempts: 1 });
    const slackClient = new webApi.WebClient("xoxb-test", { slackApiUrl: slack.url, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logger: quietBoltLogger });
    const start = async () => {
      const store = await TrailStore.open(dir);
      const scheduler = new DigestScheduler({
        schedules: [alertSchedule(env)!],
        store,
        scan: liveDigestScan({ store, sourceFactory: liveSourceFactory(env, { s3Client: bucket.port }), now: clock.now }),
        slack: webClientSlack(slackClient),
        log: silentLogger,
        now: clock.now,
        sleep: clock.sleep,
        retryPendingMs: 0,
        scheduleTask: (expr, fn, opts) => createTask(expr, fn, opts),
      });
      await scheduler.start();
      const push = createSqsPush({ env, store, scheduler, log: silentLogger, client: sqs, waitTimeSeconds: 0 })!;
      return { store, scheduler, push };
    };

    // Two files: root signing in without MFA (alerted), and ordinary calls.
    const older = fileKey("1020", "nTGkKkyO0OcwEIvv");
    const newer = fileKey("1025", "Mu0KsOhtH1ar15ZZ");
    bucket.put(older, [rawRecord(INCIDENTS.root(Date.parse("2026-12-06T10:16:00Z")))]);
    bucket.put(newer, [rawRecord({ eventName: "ListBuckets", userIdentity: iamUser("bob"), time: Date.parse("2026-12-06T10:21:00Z") })]);
    queue.send(TEST_EVENT);
    queue.send(viaSns(direct(newer))); // out of order: the newer file is announced first
    queue.send(direct(older));
    queue.send(direct(older)); // a duplicate notification
    queue.send(direct(`AWSLogs/${ORG}/${ACCT}/CloudTrail-Digest/us-east-1/2026/12/06/${ACCT}_CloudTrail-Digest_us-east-1_main_us-east-1_20261206T1020Z.json.gz`));
    const garbage = queue.send("not a notification");

    let run = await start();
    const r1 = await run.push.round();
    expect(r1).toEqual({ received: 6, files: 2, read: 2, deleted: 5, kept: 1, tests: 1, extended: 0, expired: 0 });
    expect(bucket.gets).toEqual([older, newer]); // each once, oldest delivery first
    expect(bucket.lists).toEqual([]); // a pushed read lists nothing
    expect(queue.pending()).toEqual([garbage]); // the unparseable one is left for the dead-letter queue
    const alerts = slack.posted.filter((p) => p.channel === "C0ALERT");
    expect(alerts).toHaveLength(1);
    expect(JSON.stringify(alerts[0]!.blocks)).toMatch(/root/i);
    await run.scheduler.stop();
    await run.store.close();

    // Restart; S3 delivers the notification of the older file again: recognised as read, deleted, no alert.
    clock.advance(60_000);
    run = await start();
    queue.send(direct(older));
    queue.expireVisibility();
    const r2 = await run.push.round();
    expect(r2).toMatchObject({ received: 2, files: 1, read: 0, deleted: 1, kept: 1 });
    expect(bucket.gets).toHaveLength(2);
    expect(slack.posted.filter((p) => p.channel === "C0ALERT")).toHaveLength(1);
    expect(queue.messages.find((m) => m.id === garbage)!.receives).toBe(2);

    // The alert schedule's polling goes on beside the push: it lists, reads nothing pushed again,
    // and finds a file whose notification never came; its event is older than the last run (a
    // file is delivered minutes after its events) and is alerted all the same.
    const unannounced = fileKey("1032", "Ev3UnAnnounced00");
    bucket.put(unannounced, [rawRecord(INCIDENTS.stopLogging(Date.parse("2026-12-06T10:28:00Z"), "eve"))]);
    clock.advance(4 * 60_000);
    const polled = (await run.scheduler.run("alerts", "scheduled")) as DigestRunResult;
    expect(polled.status).toBe("posted");
    expect(bucket.gets).toEqual([older, newer, unannounced]);
    expect(bucket.lists.length).toBeGreaterThan(0);
    expect(JSON.stringify(slack.posted.filter((p) => p.channel === "C0ALERT")[1]!.blocks)).toContain("eve");

    // A file that cannot be read yet: its message stays until the file is read and saved.
    const third = fileKey("1033", "Zq1VcKp0x9Yb7Tt2");
    bucket.put(third, [rawRecord(INCIDENTS.stopLogging(Date.parse("2026-12-06T10:30:00Z")))]);
    bucket.failOn(third);
    const m3 = queue.send(direct(third));
    clock.advance(60_000);
    const r3 = await run.push.round();
    expect(r3).toMatchObject({ files: 1, read: 1, deleted: 0 });
    expect(queue.pending()).toContain(m3);
    bucket.failOn(undefined);
    queue.expireVisibility();
    clock.advance(60_000);
    const r4 = await run.push.round();
    expect(r4).toMatchObject({ files: 1, read: 1, deleted: 1 });
    expect(queue.pending()).toEqual([garbage]);
    expect(bucket.gets.filter((k) => k === third)).toHaveLength(2);
    const after = slack.posted.filter((p) => p.channel === "C0ALERT");
    expect(after).toHaveLength(3);
    expect(JSON.stringify(after[2]!.blocks)).toContain("mallory");

    await run.scheduler.stop();
    await run.store.close();
    await slack.stop();
    expect(slack.unexpected).toEqual([]);
  });

  it("keeps a slow run's messages invisible until it commits, stops extending before the delete, and counts a message whose handle expired once", async () => {
    const slack = await new DigestSlackServer().start();
    const queue = new FakeQueue();
    queue.install();
    const bucket = fakeBucket();
    const clock = new FakeClock(Date.parse("2026-12-06T10:30:00Z"));
    const dir = mkdtempSync(path.join(tmpdir(), "th-sqs-"));
    dirs.push(dir);
    const env = { TRAILHOUND_SOURCE: `s3://${BUCKET}`, TRAILHOUND_SQS_QUEUE_URL: QUEUE, TRAILHOUND_ALERT_CHANNEL: "C0ALERT" };
    const sqs = new SQSClient({ region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" }, maxAttempts: 1 });
    const slackClient = new webApi.WebClient("xoxb-test", { slackApiUrl: slack.url, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logger: quietBoltLogger });
    const store = await TrailStore.open(dir);
    const scanned: number[] = [];
    const liveScan = liveDigestScan({ store, sourceFactory: liveSourceFactory(env, { s3Client: bucket.port }), now: clock.now });
    const scheduler = new DigestScheduler({
      schedules: [alertSchedule(env)!],
      store,
      scan: async (req) => {
        const rep = await liveScan(req);
        scanned.push(rep.stats.events);
        return rep;
      },
      slack: webClientSlack(slackClient),
      log: silentLogger,
      now: clock.now,
      sleep: clock.sleep,
      retryPendingMs: 0,
      scheduleTask: (expr, fn, opts) => createTask(expr, fn, opts),
    });
    await scheduler.start();
    // The heartbeat is the test's: it beats when the test says, never by a timer.
    let beat: (() => Promise<void>) | undefined;
    let every = 0;
    let stops = 0;
    const push = createSqsPush({
      env,
      store,
      scheduler,
      log: silentLogger,
      client: sqs,
      waitTimeSeconds: 0,
      visibilityTimeoutSeconds: 60,
      heartbeat: (b, ms) => {
        beat = b;
        every = ms;
        return () => {
          beat = undefined;
          stops++;
        };
      },
    })!;

    const slow = fileKey("1020", "nTGkKkyO0OcwEIvv");
    const other = fileKey("1021", "Mu0KsOhtH1ar15ZZ");
    // They landed 3 and 2 s before the clock's now (10:30:00), when the run posts.
    bucket.put(slow, [rawRecord(INCIDENTS.root(Date.parse("2026-12-06T10:16:00Z")))], Date.parse("2026-12-06T10:29:57Z"));
    bucket.put(other, [rawRecord({ eventName: "ListBuckets", userIdentity: iamUser("bob"), time: Date.parse("2026-12-06T10:17:00Z") })], Date.parse("2026-12-06T10:29:58Z"));
    const mSlow = queue.send(direct(slow));
    const mOther = queue.send(direct(other));
    const hold = bucket.hold(slow);

    const round = push.round();
    await hold.entered; // the run is reading, and stays there until released
    expect(queue.ops[0]).toEqual({ op: "receive", handles: [`rh-${mSlow}-1`, `rh-${mOther}-1`] });
    expect(every).toBe(20_000); // a third of the 60 s visibility
    // 50 s in, a beat sets both back to 60 s; 100 s in (past the 60 s asked at receive) neither is visible.
    queue.advance(50_000);
    await beat!();
    expect(queue.ops.at(-1)).toEqual({ op: "change", handles: [`rh-${mSlow}-1`, `rh-${mOther}-1`], timeout: 60 });
    queue.advance(50_000);
    expect(queue.visible()).toEqual([]);

    // The process stalls past one message's timeout and another consumer (a second replica during
    // a deploy) receives it: its old handle is refused at the next beat and no longer extended.
    queue.expire(mOther);
    expect(queue.handle("AmazonSQS.ReceiveMessage", { QueueUrl: QUEUE, MaxNumberOfMessages: 10, VisibilityTimeout: 30 })[0]).toBe(200);
    await beat!();
    expect(queue.ops.at(-1)).toMatchObject({ op: "change", handles: [`rh-${mSlow}-1`, `rh-${mOther}-1`] });
    await beat!();
    expect(queue.ops.at(-1)).toEqual({ op: "change", handles: [`rh-${mSlow}-1`], timeout: 60 });

    hold.release();
    const r = await round;
    expect(r).toMatchObject({ received: 2, files: 2, read: 2, extended: 4, expired: 1 });
    expect(stops).toBe(1);
    expect(beat).toBeUndefined();
    // No extension once the run committed: the last call is the delete, after the last change.
    const lastChange = queue.ops.map((o) => o.op).lastIndexOf("change");
    const del = queue.ops.findIndex((o) => o.op === "delete");
    expect(del).toBeGreaterThan(lastChange);
    expect(queue.ops.slice(del)).toEqual([{ op: "delete", handles: [`rh-${mSlow}-1`, `rh-${mOther}-1`] }]);
    expect(queue.pending()).toEqual([mOther]); // its old handle deleted nothing
    expect(slack.posted.filter((p) => p.channel === "C0ALERT")).toHaveLength(1);
    expect(scanned).toEqual([2]);
    // The alert's latency from the root file's landing in the bucket to its post, as /cloudtrail status shows it.
    const figures = scheduler.figures()[0]!;
    expect(figures.landingToPost.length).toBeGreaterThan(0); // one per finding posted
    expect(new Set(figures.landingToPost)).toEqual(new Set([3_000]));
    expect(figures.last).toMatchObject({ trigger: "push", status: "posted", accountRegions: 1, files: 2 });
    expect(JSON.stringify(statusMessage({ stats: store.stats(clock.now()), scans: [], learning: [], runs: scheduler.figures() }).blocks)).toContain(
      `*Alert latency (file landing in the bucket -> post)*: median 3.0 s · max 3.0 s over ${figures.landingToPost.length} alerted finding`,
    );

    // The other consumer lets it go; it comes back here: its file is committed, so it is deleted
    // unread, no run, no second alert: the file's event counted once.
    queue.advance(31_000);
    const back = await push.round();
    expect(back).toMatchObject({ received: 1, files: 1, read: 0, deleted: 1, expired: 0 });
    expect(queue.pending()).toEqual([]);
    expect(bucket.gets.filter((k) => k === other)).toHaveLength(1);
    expect(scanned).toEqual([2]);
    expect(slack.posted.filter((p) => p.channel === "C0ALERT")).toHaveLength(1);

    // A notification that comes after the listing moved on: the polling read the file, and later
    // files moved the cursor more than its 15-minute overlap past it, so the cursor no longer names
    // it; it is still recognised as read (below the listing's floor), and deleted unread.
    const listed = fileKey("1031", "L1st3dByP0ll1ng0");
    bucket.put(listed, [rawRecord({ eventName: "ListBuckets", userIdentity: iamUser("carol"), time: Date.parse("2026-12-06T10:30:00Z") })]);
    clock.advance(2 * 60_000);
    expect((await scheduler.run("alerts", "scheduled")).status).toBe("silent");
    const later = fileKey("1052", "Z9LaterF1le00000");
    bucket.put(later, [rawRecord({ eventName: "ListBuckets", userIdentity: iamUser("carol"), time: Date.parse("2026-12-06T10:51:00Z") })]);
    clock.advance(20 * 60_000);
    await scheduler.run("alerts", "scheduled");
    const cursor = store.getCursor(`s3://${BUCKET}/AWSLogs/${ORG}/${ACCT}/CloudTrail/us-east-1/`)!;
    expect(cursor.lastKey).toBe(later);
    expect(cursor.readKeys ?? []).not.toContain(listed.slice(listed.indexOf("2026/")));
    const runs = scanned.length;
    const late = queue.send(direct(listed));
    const lateRound = await push.round();
    expect(lateRound).toMatchObject({ received: 1, files: 1, read: 0, deleted: 1 });
    expect(queue.pending()).not.toContain(late);
    expect(bucket.gets.filter((k) => k === listed)).toHaveLength(1);
    expect(scanned).toHaveLength(runs);

    await scheduler.stop();
    await store.close();
    await slack.stop();
    expect(slack.unexpected).toEqual([]);
  });

  it("is refused at start without an s3:// source or an alert channel, and with a malformed queue URL", () => {
    const base = { SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: "8f742231b10e8888abcd99yyyzzz85a5" };
    expect(() => loadConfig({ ...base, TRAILHOUND_SQS_QUEUE_URL: QUEUE, TRAILHOUND_ALERT_CHANNEL: "C0ALERT" })).toThrow(
      /TRAILHOUND_SQS_QUEUE_URL.*needs TRAILHOUND_SOURCE=s3:\/\//s,
    );
    expect(() => loadConfig({ ...base, TRAILHOUND_SQS_QUEUE_URL: QUEUE, TRAILHOUND_SOURCE: `s3://${BUCKET}` })).toThrow(/needs TRAILHOUND_ALERT_CHANNEL/);
    expect(() => loadConfig({ ...base, TRAILHOUND_SQS_QUEUE_URL: "trailhound-new-files", TRAILHOUND_SOURCE: `s3://${BUCKET}`, TRAILHOUND_ALERT_CHANNEL: "C0ALERT" })).toThrow(
      /must be the queue's URL/,
    );
    expect(() => loadConfig({ ...base, TRAILHOUND_SQS_QUEUE_URL: QUEUE, TRAILHOUND_SOURCE: `s3://${BUCKET}`, TRAILHOUND_ALERT_CHANNEL: "C0ALERT" })).not.toThrow();
  });
});
