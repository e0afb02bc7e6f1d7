/**
 * The organisation-wide bot against local fakes (issue 21 figures):
 *
 *   npm run bench:org                                  # 100 accounts x 4 regions
 *   npm run bench:org -- --accounts 20 --files 6 --alerts 3 --lookup-accounts 20   # quick
 *
 * (c) An incremental run over an organisation trail in S3 (`--accounts` x 4 regions, `--files`
 *     delivery files each, on the real S3 client against a local S3) with nothing new: wall time,
 *     listings (each from its cursor's StartAfter, none from the start of a day) and downloads.
 * (a) Time from a file landing in the bucket (and its S3 notification in the local SQS queue) to
 *     the alert's chat.postMessage in the local Slack, through the real SQS client, the push loop,
 *     the digest scheduler's alert run and the store; and the polling alert run's time with one
 *     new file (a file waits for the next tick, at most TRAILHOUND_ALERT_EVERY, then that).
 * (b) LookupEvents: account x region units read per minute by an incremental run with nothing new
 *     (one LookupEvents call each) over `--lookup-accounts` x 4 regions, with the production
 *     pacing (2 requests/s per account and region) against an in-process client that answers
 *     after `--latency` ms; then with `--pages` (default 3) pages each, where the pacing shows: the
 *     smallest gap between two calls of one account+region is printed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { webApi } from "@slack/bolt";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { LookupEventsCommand, LookupEventsCommandOutput } from "@aws-sdk/client-cloudtrail";
import { createTask } from "node-cron";
import { runLiveScan } from "../app/scan-service.js";
import { alertSchedule } from "../digest/alerts.js";
import { webClientSlack } from "../digest/delivery.js";
import { liveDigestScan } from "../digest/index.js";
import { createSqsPush } from "../digest/push.js";
import { DigestScheduler } from "../digest/scheduler.js";
import { silentLogger } from "../log.js";
import { liveSourceFactory } from "../sources/aws-cli.js";
import { LookupEventsSource } from "../sources/lookup-events.js";
import { TrailStore } from "../store/store.js";
import { FakeS3Server, FakeSqsServer } from "../testing/aws-fake-servers.js";
import { FakeSlack } from "../testing/fake-slack.js";
import { numArg } from "./cli-args.js";

const BUCKET = "org-trail-bucket";
const ORG = "o-ab12cd34ef";
const REGIONS = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"];
const MIN = 60_000;

const acct = (i: number) => String(100000000000 + i);
const p2 = (n: number) => String(n).padStart(2, "0");
function keyOf(account: string, region: string, t: number, id: string): string {
  const d = new Date(t);
  const day = `${d.getUTCFullYear()}/${p2(d.getUTCMonth() + 1)}/${p2(d.getUTCDate())}`;
  const stamp = `${d.getUTCFullYear()}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}T${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}Z`;
  return `AWSLogs/${ORG}/${account}/CloudTrail/${region}/${day}/${account}_CloudTrail_${region}_${stamp}_${id.padEnd(16, "0").slice(0, 16)}.json.gz`;
}

let seq = 0;
function record(account: string, region: string, t: number, eventName: string, user: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  seq++;
  return {
    eventVersion: "1.09",
    eventID: `bench-${seq}`,
    eventTime: new Date(t).toISOString(),
    eventName,
    eventSource: eventName === "StopLogging" ? "cloudtrail.amazonaws.com" : "s3.amazonaws.com",
    awsRegion: region,
    userIdentity: {
      type: "IAMUser",
      principalId: `AIDA${account}`,
      arn: `arn:aws:iam::${account}:user/${user}`,
      accountId: account,
      userName: user,
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    },
    sourceIPAddress: "203.0.113.10",
    userAgent: "aws-cli/2.15.0 Python/3.11.6 Linux/6.5 exe/x86_64.ubuntu.22",
    requestParameters: null,
    responseElements: null,
    requestID: `req-${seq}`,
    eventType: "AwsApiCall",
    managementEvent: true,
    readOnly: eventName !== "StopLogging",
    recipientAccountId: account,
    eventCategory: "Management",
    ...extra,
  };
}
const file = (records: unknown[]) => gzipSync(JSON.stringify({ Records: records }));

function notification(key: string): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: "us-east-1",
        eventTime: new Date().toISOString(),
        eventName: "ObjectCreated:Put",
        s3: { s3SchemaVersion: "1.0", bucket: { name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` }, object: { key, size: 1000, sequencer: "0062B9D834A809629F" } },
      },
    ],
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
};
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function s3Figures(accounts: number, files: number, alerts: number): Promise<void> {
  const s3 = await new FakeS3Server(BUCKET).start();
  const sqs = await new FakeSqsServer().start();
  const slack = await new FakeSlack({ check: false }).start();
  const dir = mkdtempSync(join(tmpdir(), "th-bench-org-"));
  const now0 = Date.now();
  // Each account+region: `files` delivery files, 5 minutes apart, ending 10 minutes ago.
  for (let a = 0; a < accounts; a++)
    for (const region of REGIONS)
      for (let f = 0; f < files; f++) {
        const t = now0 - 10 * MIN - (files - 1 - f) * 5 * MIN;
        const account = acct(a);
        s3.put(
          keyOf(account, region, t, `f${a}x${f}${region.length}`),
          file([0, 1, 2, 3, 4].map((j) => record(account, region, t - 60_000 + j * 1000, "ListBuckets", `reader-${a % 7}`))),
        );
      }
  const env = { TRAILHOUND_SOURCE: `s3://${BUCKET}`, TRAILHOUND_ALERT_CHANNEL: "C0ALERT", TRAILHOUND_SQS_QUEUE_URL: sqs.queueUrl() };
  const s3Client = new S3Client({
    region: "us-east-1",
    endpoint: s3.url,
    forcePathStyle: true,
    credentials: { accessKeyId: "AKIDBENCH", secretAccessKey: "bench" },
    maxAttempts: 1,
  });
  const factory = liveSourceFactory(env, { s3Client });
  const store = await TrailStore.open(dir);
  console.log(`S3: ${accounts} accounts x ${REGIONS.length} regions, ${files} files each (${s3.objects.size} objects), store in ${dir}`);
  try {
    // (c) First read, then an incremental run with nothing new.
    let t = performance.now();
    const first = await runLiveScan({ store, sourceFactory: factory }, { filters: {}, since: "24h", incremental: true, by: "bench", target: "all" });
    console.log(`  first incremental run (reads everything): ${secs(performance.now() - t)}, ${first.stats.events} events, ${s3.stats.lists} listings, ${s3.stats.gets} downloads`);
    s3.resetStats();
    t = performance.now();
    const idle = await runLiveScan({ store, sourceFactory: factory }, { filters: {}, since: "24h", incremental: true, by: "bench", target: "all" });
    const idleMs = performance.now() - t;
    const st = { ...s3.stats };
    console.log(
      `(c) incremental run, nothing new: ${secs(idleMs)} (goal < 30 s); ${idle.stats.events} events; ${st.lists} listings: ${st.delimiterLists} account/region discovery (Delimiter "/"), ` +
        `${st.listsWithStartAfter} day listings from the cursor's StartAfter, ${st.listsFromPrefixStart} from the start of a day; ${st.gets} downloads`,
    );

    // (a) Push: a file lands and is announced; the alert is posted.
    const sqsClient = new SQSClient({ region: "us-east-1", endpoint: sqs.url, credentials: { accessKeyId: "AKIDBENCH", secretAccessKey: "bench" }, maxAttempts: 1 });
    const client = new webApi.WebClient("xoxb-bench", { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
    const scheduler = new DigestScheduler({
      schedules: [alertSchedule(env)!],
      store,
      scan: liveDigestScan({ store, sourceFactory: factory }),
      slack: webClientSlack(client),
      log: silentLogger,
      retryPendingMs: 0,
      scheduleTask: (expr, fn, opts) => createTask(expr, fn, opts),
    });
    await scheduler.start();
    const push = createSqsPush({ env, store, scheduler, log: silentLogger, client: sqsClient, waitTimeSeconds: 20 })!;
    push.start();
    const latencies: number[] = [];
    for (let i = 0; i < alerts; i++) {
      const account = acct(i % accounts);
      const tNow = Date.now();
      const user = `mallory-${i}`;
      const key = keyOf(account, "us-east-1", tNow, `push${i}`);
      const posts = slack.of("chat.postMessage").length;
      const t0 = performance.now();
      s3.put(key, file([record(account, "us-east-1", tNow - 2 * MIN, "StopLogging", user, { requestParameters: { name: `arn:aws:cloudtrail:us-east-1:${account}:trail/org` } })]));
      sqs.send(notification(key));
      await slack.waitFor(
        (calls) =>
          calls.filter((c) => c.method === "chat.postMessage").length > posts && calls.some((c) => c.method === "chat.postMessage" && JSON.stringify(c.args).includes(user)),
        120_000,
        `the alert for ${user}`,
      );
      latencies.push(performance.now() - t0);
    }
    await push.stop();
    console.log(
      `(a) file landing -> alert posted, pushed through SQS (${alerts} files): median ${secs(median(latencies))}, max ${secs(Math.max(...latencies))} ` +
        `[${latencies.map((x) => (x / 1000).toFixed(2)).join(", ")}] (goal < 60 s + the poll interval)`,
    );
    // Polling: one new file, found by the next alert run's listing.
    const account = acct(accounts - 1);
    const tNow = Date.now();
    s3.put(keyOf(account, "eu-west-1", tNow, "pollpollpoll"), file([record(account, "eu-west-1", tNow - 2 * MIN, "StopLogging", "mallory-poll")]));
    s3.resetStats();
    t = performance.now();
    const polled = await scheduler.run("alerts", "scheduled");
    const pollMs = performance.now() - t;
    const posted = slack.of("chat.postMessage").some((c) => JSON.stringify(c.args).includes("mallory-poll"));
    console.log(
      `    polling instead: the alert run that finds one new file takes ${secs(pollMs)} (${polled.status}, alert ${posted ? "posted" : "NOT posted"}; ${s3.stats.lists} listings, ${s3.stats.gets} download); ` +
        `landing -> post is then at most TRAILHOUND_ALERT_EVERY (default 5 min) + that`,
    );
    if (!posted) process.exitCode = 1;
    await scheduler.stop();
  } finally {
    await store.close();
    await s3.stop();
    await sqs.stop();
    await slack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function lookupFigures(accounts: number, latencyMs: number, pages: number): Promise<void> {
  const calls = new Map<string, number[]>();
  const arns = Array.from({ length: accounts }, (_, i) => `arn:aws:iam::${acct(i)}:role/TrailhoundRead`);
  const source = new LookupEventsSource({
    roleArns: arns,
    regions: REGIONS,
    startTime: Date.now() - 5 * MIN,
    endTime: Date.now(),
    stsFactory: () => ({
      getCallerIdentity: async () => ({ account: "999999999999" }),
      assumeRole: async () => {
        await new Promise((r) => setTimeout(r, latencyMs));
        return { accessKeyId: "ASIABENCH", secretAccessKey: "bench", sessionToken: "t", expiration: new Date(Date.now() + 3_600_000) };
      },
    }),
    clientFactory: (cfg) => ({
      async send(_cmd: LookupEventsCommand): Promise<LookupEventsCommandOutput> {
        const k = `${cfg.accountId ?? "?"}:${cfg.region}`;
        const l = calls.get(k) ?? [];
        l.push(performance.now());
        calls.set(k, l);
        await new Promise((r) => setTimeout(r, latencyMs));
        // `pages` pages per account+region (1: nothing new).
        return { Events: [], ...(l.length < pages ? { NextToken: `t${l.length}` } : {}), $metadata: {} };
      },
    }),
  });
  const t = performance.now();
  const res = await source.read({ record: () => undefined, skip: () => undefined });
  const ms = performance.now() - t;
  let minGap = Infinity;
  for (const l of calls.values()) for (let i = 1; i < l.length; i++) minGap = Math.min(minGap, l[i]! - l[i - 1]!);
  const units = accounts * REGIONS.length;
  console.log(
    `(b) LookupEvents, ${pages === 1 ? "nothing new" : `${pages} pages each`}: ${accounts} accounts x ${REGIONS.length} regions = ${units} account/regions in ${secs(ms)} ` +
      `-> ${Math.round((units / ms) * MIN).toLocaleString("en-US")} account/regions per minute (server latency ${latencyMs} ms, ${res.partialReasons.length ? "partial: " + res.partialReasons.join("; ") : "complete"}); ` +
      `${[...calls.values()].reduce((s, l) => s + l.length, 0)} LookupEvents calls, smallest gap within one account+region ${Number.isFinite(minGap) ? `${minGap.toFixed(0)} ms` : "n/a (one call each)"} (limit: 2 per second)`,
  );
}

async function main(): Promise<void> {
  const accounts = Math.max(1, Math.floor(numArg("accounts", 100)));
  const files = Math.max(1, Math.floor(numArg("files", 24)));
  const alerts = Math.max(1, Math.floor(numArg("alerts", 5)));
  const lookupAccounts = Math.max(1, Math.floor(numArg("lookup-accounts", 100)));
  const latency = numArg("latency", 100);
  await s3Figures(accounts, files, alerts);
  await lookupFigures(lookupAccounts, latency, 1);
  await lookupFigures(lookupAccounts, latency, Math.max(2, Math.floor(numArg("pages", 3))));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
