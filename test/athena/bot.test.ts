/**
 * Athena as the bot's baseline source (TRAILHOUND_SOURCE=athena, issue 21), with DuckDB standing
 * in for Athena (the same Trino text, test/athena/duckdb.ts): settings checked at start, the
 * scheduled baseline refresh saved in the store with its horizon (and not run again before it is
 * due), held-back values kept out of refreshed baselines, slash-command scans whose filter goes
 * into the query's WHERE as escaped literals (hostile names included), and the recent window of
 * digests and alerts read from LookupEvents or S3.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AthenaBaselineRefresher, athenaBotSettings, keepFromStored, type AthenaBotSettings } from "../../src/athena/bot.js";
import type { QueryRunner } from "../../src/athena/client.js";
import { AthenaSource } from "../../src/athena/engine.js";
import { filterSql, windowEventsQuery } from "../../src/athena/sql.js";
import { createScanService, runLiveScan } from "../../src/app/scan-service.js";
import { DAY, HOUR, emptyProfile } from "../../src/baseline/profile.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { runScan } from "../../src/scan/run.js";
import { liveSourceFactory } from "../../src/sources/aws-cli.js";
import { FileSource } from "../../src/sources/files.js";
import { LookupEventsSource } from "../../src/sources/lookup-events.js";
import { S3Source } from "../../src/sources/s3.js";
import { TrailStore } from "../../src/store/store.js";
import { statusMessage } from "../../src/slack/views/status.js";
import nock from "nock";
import { DuckAthena, nockAthena, placeRecords, sharedRolesDataset, type PlacedRecord } from "./duckdb.js";

const HTTP = { SLACK_BOT_TOKEN: "xoxb-1-2-abc", SLACK_SIGNING_SECRET: "8f742231b10e8888abcd99yyyzzz85a5" };
const ENV = { TRAILHOUND_SOURCE: "athena", TRAILHOUND_ATHENA_REGION: "eu-west-1", TRAILHOUND_ATHENA_DATABASE: "security" };

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig({ ...HTTP, ...env });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => `${p.setting}: ${p.message}`).join("\n");
    throw e;
  }
  return "";
}

describe("settings, checked at start", () => {
  it("TRAILHOUND_SOURCE=athena is accepted with a region and a database, and defaults the rest", () => {
    expect(problemsOf(ENV)).toBe("");
    const s = athenaBotSettings(ENV).settings!;
    expect(s.recent).toEqual({ kind: "lookup" });
    expect(s.baselineDays).toBe(90);
    expect(s.refreshEveryMs).toBe(DAY);
    expect(athenaBotSettings({ ...ENV, TRAILHOUND_ATHENA_RECENT: "s3://org-trail/p", TRAILHOUND_ATHENA_BASELINE_EVERY: "12h" }).settings).toMatchObject({
      recent: { kind: "s3", url: "s3://org-trail/p" },
      refreshEveryMs: 12 * HOUR,
    });
  });

  it("every problem is listed with the setting's name, not a stack trace", () => {
    const out = problemsOf({
      TRAILHOUND_SOURCE: "athena",
      TRAILHOUND_ATHENA_TABLE: "logs; DROP TABLE x",
      TRAILHOUND_ATHENA_OUTPUT: "results-bucket/x",
      TRAILHOUND_ATHENA_RECENT: "athena",
      TRAILHOUND_ATHENA_BASELINE_DAYS: "900",
      TRAILHOUND_ATHENA_BASELINE_EVERY: "5m",
      TRAILHOUND_ATHENA_TABLE_FLAVOR: "hive",
    });
    for (const s of [
      "TRAILHOUND_ATHENA_REGION: missing",
      "TRAILHOUND_ATHENA_DATABASE: missing",
      "TRAILHOUND_ATHENA_TABLE: letters, digits and underscores only",
      "TRAILHOUND_ATHENA_OUTPUT:",
      'TRAILHOUND_ATHENA_RECENT: "athena": expected lookup or s3://bucket[/prefix]',
      "TRAILHOUND_ATHENA_BASELINE_DAYS: must be a whole number of days, 1-90",
      "TRAILHOUND_ATHENA_BASELINE_EVERY: must be a duration from 1h to 30d",
      "TRAILHOUND_ATHENA_TABLE_FLAVOR: must be trailhound or aws",
    ])
      expect(out).toContain(s);
  });

  it("the SQS push needs an s3:// recent source with Athena", () => {
    const q = { TRAILHOUND_SQS_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/111111111111/q", TRAILHOUND_ALERT_CHANNEL: "C0ALERT" };
    expect(problemsOf({ ...ENV, ...q })).toMatch(/TRAILHOUND_SQS_QUEUE_URL: needs TRAILHOUND_SOURCE=s3:\/\/bucket\[\/prefix\] \(or athena with TRAILHOUND_ATHENA_RECENT/);
    expect(problemsOf({ ...ENV, ...q, TRAILHOUND_ATHENA_RECENT: "s3://org-trail" })).toBe("");
  });
});

// ---------------------------------------------------------------------------------------------

const NOW = Date.parse("2024-05-25T12:00:00Z");
const ACCT = "111111111111";
/** Names people type after `/cloudtrail scan user`: quotes, backslashes, LIKE and regex characters. */
const HOSTILE = ["o'brien", "x' OR '1'='1", "back\\slash", "100%_sure", "a.*", 'dq"name', "semi;colon--"];

function userEvent(name: string, i: number, at: number): Record<string, unknown> {
  return {
    eventVersion: "1.09",
    eventID: `u-${i}-${at}`,
    eventTime: new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z"),
    eventSource: "iam.amazonaws.com",
    eventName: i % 2 ? "ListUsers" : "GetUser",
    awsRegion: "us-east-1",
    sourceIPAddress: `203.0.113.${i + 1}`,
    userAgent: "aws-cli/2.15.0",
    recipientAccountId: ACCT,
    userIdentity: { type: "IAMUser", accountId: ACCT, userName: name, arn: `arn:aws:iam::${ACCT}:user/${name}`, principalId: `AIDA${i}` },
  };
}

let tmp: string;
let duck: DuckAthena;
let placed: PlacedRecord[];
let windowFile: string;
const runnerOf = (d: DuckAthena): QueryRunner => d;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "th-athena-bot-"));
  // History: the shared-roles data (days before NOW), plus every user a week and an hour back.
  const shared = await sharedRolesDataset(tmp);
  const users = ["alice", "bob", ...HOSTILE];
  const recent = users.flatMap((u, i) => [userEvent(u, i, NOW - 7 * DAY), userEvent(u, i, NOW - HOUR - i * 60_000)]);
  placed = [...shared.placed, ...placeRecords(recent)];
  windowFile = join(tmp, "window.jsonl");
  await writeFile(windowFile, [...shared.placed.map((p) => p.record), ...recent].map((r) => JSON.stringify(r)).join("\n") + "\n");
  duck = await DuckAthena.create(placed);
  // The bot's table is database.table.
  await duck.conn.run(`CREATE SCHEMA security`);
  await duck.conn.run(`CREATE TABLE security.cloudtrail_logs AS SELECT * FROM main.cloudtrail_logs`);
});
afterAll(async () => {
  duck.close();
  await rm(tmp, { recursive: true, force: true });
});

describe("slash-command scans: the filter in the WHERE", () => {
  it("every user value is an escaped literal; hostile names match only their own events", async () => {
    for (const name of ["alice", ...HOSTILE]) {
      const sql = windowEventsQuery({ table: { database: "security", table: "cloudtrail_logs" }, from: NOW - DAY, to: NOW, filters: { user: name } });
      // The value appears only inside string literals ('' for each quote).
      expect(sql).toContain(`'${name.replace(/'/g, "''")}'`);
      const rows = await duck.all(sql);
      const names = new Set(rows.map((r) => String(JSON.parse(r.useridentity!).username)));
      expect([...names], name).toEqual([name]);
      expect(rows.length, name).toBe(1);
    }
  });

  it("filterSql conditions: strpos and = only, never LIKE or a regex on user input", () => {
    const sql = filterSql({ user: "100%_sure", account: "1' OR 1=1", ip: "1.2.3.4", region: "eu-west-1", eventName: "Get'Secret" }).join(" AND ");
    expect(sql).not.toMatch(/LIKE|regexp/i);
    expect(sql).toContain("'1'' OR 1=1'");
    expect(sql).toContain("'Get''Secret'");
  });

  it("/cloudtrail scan user X through the scan service: Athena reads only X's window, the report equals the in-process scan's, the progress names the filter", async () => {
    const env = { ...ENV };
    for (const name of ["alice", "x' OR '1'='1"]) {
      const before = duck.queries.length;
      const store = TrailStore.memory();
      const svc = createScanService({ store, sourceFactory: liveSourceFactory(env, { athenaRunner: runnerOf(duck) }), now: () => NOW });
      const progress: string[] = [];
      const report = await svc.scan({ target: { kind: "user", value: name }, since: "24h", requestedBy: "U1" }, (p) => progress.push(p.message));
      const q = duck.queries.slice(before);
      expect(q.map((x) => x.label)).toEqual(["window events"]);
      expect(q[0]!.sql).toContain(`FROM "security"."cloudtrail_logs"`);
      expect(progress.at(-1)).toContain(`Reading Athena security.cloudtrail_logs WHERE user = ${name}, 2024/05/24 to 2024/05/25`);
      const local = await runScan({ now: NOW, since: { kind: "relative", ms: DAY }, filters: { user: name }, sources: [new FileSource([windowFile])] });
      expect(report.stats.events).toBe(1);
      expect(report.stats.events).toBe(local.report.stats.events);
      expect(report.identities.map((i) => i.key)).toEqual(local.report.identities.map((i) => i.key));
    }
  });

  it("account and region filters limit the partitions read, as the S3 source's folders", () => {
    const src = liveSourceFactory(ENV, { athenaRunner: runnerOf(duck) });
    return Promise.resolve(
      src({
        start: NOW - DAY,
        end: NOW,
        filters: { account: ACCT, region: "eu-west-1" },
        incremental: false,
        store: { cursors: () => ({ get: () => undefined, set: () => undefined }) },
      }),
    ).then((s) => {
      expect(s).toBeInstanceOf(AthenaSource);
      const sql = (s as AthenaSource).sql().window;
      expect(sql).toContain(`account IN ('${ACCT}')`);
      expect(sql).toContain(`region IN ('eu-west-1')`);
      expect((s as AthenaSource).sql().baseline).toBeUndefined();
    });
  });
});

describe("digests and alerts: the recent window from LookupEvents or S3", () => {
  const store = { cursors: () => ({ get: () => undefined, set: () => undefined }) };
  it("incremental reads and pushed keys never query Athena", async () => {
    const lookup = liveSourceFactory(ENV, { athenaRunner: runnerOf(duck) });
    expect(await lookup({ start: NOW - HOUR, end: NOW, filters: {}, incremental: true, store })).toBeInstanceOf(LookupEventsSource);
    const s3 = liveSourceFactory({ ...ENV, TRAILHOUND_ATHENA_RECENT: "s3://org-trail/p" }, { athenaRunner: runnerOf(duck) });
    const inc = await s3({ start: NOW - HOUR, end: NOW, filters: {}, incremental: true, store });
    expect(inc).toBeInstanceOf(S3Source);
    expect(inc.name).toContain("s3://org-trail/p");
    expect(
      await s3({ start: NOW - HOUR, end: NOW, filters: {}, incremental: true, store, keys: ["AWSLogs/111111111111/CloudTrail/us-east-1/2024/05/25/x.json.gz"] }),
    ).toBeInstanceOf(S3Source);
    await expect(Promise.resolve().then(() => lookup({ start: 0, end: 1, filters: {}, incremental: true, store, keys: ["k"] }))).rejects.toThrow(/TRAILHOUND_ATHENA_RECENT/);
  });
});

// ---------------------------------------------------------------------------------------------

function settings(over: Partial<AthenaBotSettings> = {}): AthenaBotSettings {
  return { ...athenaBotSettings(ENV).settings!, ...over };
}

function fakeTimer() {
  const timers: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  return {
    timers,
    set: (fn: () => void, ms: number) => {
      const t = { fn, ms, cleared: false };
      timers.push(t);
      return { clear: () => void (t.cleared = true) };
    },
  };
}

describe("the baseline refresh", () => {
  it("aggregates once, saves the baselines with the horizon and a scan record; not again before it is due", async () => {
    const store = TrailStore.memory();
    let now = NOW;
    const before = duck.queries.length;
    const r = new AthenaBaselineRefresher({ store, runner: runnerOf(duck), settings: settings(), now: () => now });
    expect(r.dueAt()).toBe(NOW);
    const st = await r.refresh();
    const q = duck.queries.slice(before);
    expect(q.map((x) => x.label)).toEqual(["baseline refresh"]);
    expect(q[0]!.sql).toContain(`"timestamp" BETWEEN '2024/02/25' AND '2024/05/26'`);
    expect(st.horizon).toBe(NOW);
    expect(store.getCursor("athena:baseline")).toMatchObject({ newestTime: NOW });
    expect(store.scans(1)[0]).toMatchObject({ by: "trailhound", target: "athena baselines (90 days)", findings: 0 });
    // Identities, people on shared roles, and the targets they read.
    const alice = store.getBaseline(`user:${ACCT}:alice`)!;
    expect(alice.events).toBe(2);
    expect(alice.trainedUntil).toBe(NOW - 1);
    const nina = store.getBaseline("person:210987654321:AWSReservedSSO_AdministratorAccess_0123456789abcdef:nina")!;
    expect(nina.events).toBeGreaterThan(10);
    expect(Object.keys(nina.dims.target).length).toBeGreaterThan(3);
    expect(st.last).toMatchObject({ identities: expect.any(Number) as number });
    expect(st.last!.identities).toBeGreaterThan(15);
    // Not due: start() schedules it for the horizon + every, and queries nothing now.
    const timer = fakeTimer();
    now = NOW + HOUR;
    const again = new AthenaBaselineRefresher({ store, runner: runnerOf(duck), settings: settings(), now: () => now, setTimer: timer.set });
    again.start();
    expect(timer.timers.map((t) => t.ms)).toEqual([DAY - HOUR]);
    expect(duck.queries.length).toBe(before + 1);
    expect(again.status()).toMatchObject({ horizon: NOW, running: false, nextAt: NOW + DAY });
  });

  it("a scan after the refresh builds on the stored Athena baselines: only events after the horizon are added", async () => {
    const store = TrailStore.memory();
    await new AthenaBaselineRefresher({ store, runner: runnerOf(duck), settings: settings(), now: () => NOW - 2 * HOUR }).refresh();
    // alice's event of a week ago is in Athena's aggregation; the one an hour ago is after the horizon.
    expect(store.getBaseline(`user:${ACCT}:alice`)).toMatchObject({ events: 1, first: NOW - 7 * DAY });
    const report = await runLiveScan(
      { store, sourceFactory: liveSourceFactory(ENV, { athenaRunner: runnerOf(duck) }), now: () => NOW },
      { filters: { user: "alice" }, since: "24h", by: "U1", target: "user alice" },
    );
    expect(report.stats.events).toBe(1);
    const after = store.getBaseline(`user:${ACCT}:alice`)!;
    expect(after).toMatchObject({ first: NOW - 7 * DAY, trainedUntil: NOW - HOUR });
    expect(after.events).toBeCloseTo(2, 2); // the stored count decays a little (two hours)
  });

  it("values held back for an open finding stay held back after a refresh (never learn from an attack)", () => {
    const athena = emptyProfile("user:1:eve", "IAMUser");
    athena.dims.network = { AS64500: [5, 0, 1, 2], AS64501: [9, 0, 1, 2] };
    const stored = emptyProfile("user:1:eve", "IAMUser");
    stored.arn = "arn:aws:iam::1:user/eve";
    stored.held = [
      {
        finding: "f1",
        since: 1,
        values: [
          ["network", "AS64500", [1, 0, 1, 1]],
          ["country", "KP", [1, 0, 1, 1]],
        ],
      },
    ];
    const out = keepFromStored(athena, stored);
    expect(out.dims.network).toEqual({ AS64501: [9, 0, 1, 2] });
    expect(out.held).toEqual([
      {
        finding: "f1",
        since: 1,
        values: [
          ["network", "AS64500", [5, 0, 1, 2]],
          ["country", "KP", [1, 0, 1, 1]],
        ],
      },
    ]);
    expect(out.arn).toBe("arn:aws:iam::1:user/eve");
  });

  it("a failed refresh keeps the stored baselines, says why in status, and is retried within the hour", async () => {
    const store = TrailStore.memory();
    const failing: QueryRunner = { run: () => Promise.reject(new Error("Athena StartQueryExecution was denied: AccessDenied")) };
    const timer = fakeTimer();
    const r = new AthenaBaselineRefresher({ store, runner: failing, settings: settings(), now: () => NOW, setTimer: timer.set });
    r.start();
    expect(timer.timers.map((t) => t.ms)).toEqual([0]);
    timer.timers[0]!.fn();
    await new Promise((res) => setTimeout(res, 0));
    await new Promise((res) => setTimeout(res, 0));
    expect(timer.timers.map((t) => t.ms)).toEqual([0, HOUR]);
    expect(r.status().lastError).toMatch(/denied/);
    expect(store.getCursor("athena:baseline")).toBeUndefined();
    const msg = JSON.stringify(statusMessage({ stats: store.stats(NOW), scans: [], learning: [], athena: r.status() }).blocks);
    expect(msg).toContain("Athena baselines");
    expect(msg).toContain("none yet");
    expect(msg).toContain("last refresh failed");
    await r.stop();
  });

  it("status shows the horizon, the schedule and the last refresh", async () => {
    const store = TrailStore.memory();
    const r = new AthenaBaselineRefresher({ store, runner: runnerOf(duck), settings: settings({ baselineDays: 30, refreshEveryMs: 12 * HOUR }), now: () => NOW });
    await r.refresh();
    const text = JSON.stringify(statusMessage({ stats: store.stats(NOW), scans: store.scans(5), learning: [], athena: r.status() }).blocks);
    expect(text).toContain("30 days up to");
    expect(text).toContain("aggregated again every 12 hours");
    expect(text).toMatch(/last: \d+ identities, [\d,]+ events, \$0\.\d{4}/);
  });
});

describe("through the SDK (one attempt) against a local fake Athena", () => {
  const keep = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  beforeAll(() => {
    nock.disableNetConnect();
    process.env.AWS_ACCESS_KEY_ID = "AKIDEXAMPLE";
    process.env.AWS_SECRET_ACCESS_KEY = "secret";
  });
  afterAll(() => {
    nock.cleanAll();
    nock.enableNetConnect();
    if (keep.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    else process.env.AWS_ACCESS_KEY_ID = keep.id;
    if (keep.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    else process.env.AWS_SECRET_ACCESS_KEY = keep.secret;
  });

  it("the bot's settings reach StartQueryExecution; a hostile name stays a literal; the report is the in-process scan's", async () => {
    const fakeAthena = nockAthena(duck, "eu-west-1");
    const env = { ...ENV, TRAILHOUND_ATHENA_WORKGROUP: "secops", TRAILHOUND_ATHENA_OUTPUT: "s3://athena-results/trailhound/" };
    const svc = createScanService({ store: TrailStore.memory(), sourceFactory: liveSourceFactory(env), now: () => NOW });
    const name = "o'brien";
    const report = await svc.scan({ target: { kind: "user", value: name }, since: "24h", requestedBy: "U1" }, () => undefined);
    fakeAthena.done();
    expect(fakeAthena.starts).toHaveLength(1);
    expect(fakeAthena.starts[0]).toMatchObject({
      WorkGroup: "secops",
      QueryExecutionContext: { Database: "security" },
      ResultConfiguration: { OutputLocation: "s3://athena-results/trailhound/" },
    });
    expect(String(fakeAthena.starts[0]!.QueryString)).toContain(`strpos(useridentity.username, 'o''brien') > 0`);
    const local = await runScan({ now: NOW, since: { kind: "relative", ms: DAY }, filters: { user: name }, sources: [new FileSource([windowFile])] });
    expect(report.stats.events).toBe(1);
    expect(report.identities.map((i) => i.key)).toEqual(local.report.identities.map((i) => i.key));
    expect(report.sources.map((s) => s.note ?? "").join(" ")).toMatch(/window events: 11\.\d MB scanned/);
  });
});
