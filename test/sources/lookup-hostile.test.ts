/**
 * Live reads always end: against the local LookupEvents fake (src/bench/lookup-fake-server.ts,
 * the real SDK client over HTTP), a region whose NextToken loops, one that is throttled for ever,
 * opt-in regions that are not enabled (UnrecognizedClientException, InvalidClientTokenId), and a
 * server that never answers under the scan's deadline. Healthy regions are read in full.
 */
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { afterEach, describe, expect, it } from "vitest";
import { startFakeLookupServer, type FakeLookupServer, type FakeLookupServerOptions } from "../../src/testing/lookup-fake-server.js";
import { LookupEventsSource, type LookupClientFactory, type LookupEventsSourceOptions } from "../../src/sources/lookup-events.js";
import { LimiterRegistry } from "../../src/sources/rate-limiter.js";
import { awsSource, parseDeadline } from "../../src/sources/aws-cli.js";
import { runScan } from "../../src/scan/run.js";
import type { RecordSink } from "../../src/sources/types.js";

const ACCOUNT = "123456789012";
// The fake serves the hour before now (LookupEvents keeps 90 days, checked against the real clock).
const NEWEST = Math.floor(Date.now() / 1000) * 1000 - 60_000;

let server: FakeLookupServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(faults: FakeLookupServerOptions["faults"], eventsPerRegion: number, o: Partial<LookupEventsSourceOptions>) {
  server = await startFakeLookupServer({ eventsPerRegion, accountId: ACCOUNT, newest: NEWEST, spanMs: 3_600_000, ...(faults ? { faults } : {}) });
  const url = server.url;
  const clientFactory: LookupClientFactory = (cfg) =>
    new CloudTrailClient({
      region: cfg.region,
      endpoint: url,
      credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" },
      maxAttempts: 1,
      // No request timeout of its own: the hanging region must be ended by the deadline.
    });
  return new LookupEventsSource({
    accountId: ACCOUNT,
    startTime: NEWEST - 3_600_000 - 1000,
    endTime: NEWEST + 1000,
    clientFactory,
    limiters: new LimiterRegistry({ intervalMs: 500 }),
    backoffBaseMs: 1,
    backoffMaxMs: 4,
    maxAttempts: 4,
    ...o,
  });
}

class Sink implements RecordSink {
  byRegion = new Map<string, number>();
  skips = 0;
  record(_raw: unknown, origin: string): void {
    const r = origin.slice(origin.lastIndexOf("/") + 1);
    this.byRegion.set(r, (this.byRegion.get(r) ?? 0) + 1);
  }
  skip(): void {
    this.skips++;
  }
}

describe("live reads always end (local LookupEvents fake)", () => {
  it("a looping NextToken ends its region as partial; throttling for ever ends its region as partial; disabled opt-in regions are skipped and named; the healthy region is read in full", async () => {
    const src = await setup({ "eu-west-1": "loop-token", "us-west-2": "throttle", "ap-east-1": "not-enabled", "me-south-1": "not-enabled-sts" }, 120, {
      regions: ["us-east-1", "eu-west-1", "us-west-2", "ap-east-1", "me-south-1"],
    });
    const sink = new Sink();
    const res = await src.read(sink);
    const by = Object.fromEntries(res.regions.map((r) => [r.region, r]));
    expect(by["us-east-1"]).toMatchObject({ status: "complete", events: 120 });
    expect(sink.byRegion.get("us-east-1")).toBe(120);
    expect(by["eu-west-1"]!.status).toBe("partial");
    expect(by["eu-west-1"]!.reason).toMatch(/NextToken it had already given \(a paging loop\) after 2 pages/);
    expect(by["us-west-2"]).toMatchObject({ status: "failed", throttles: 3, requests: 4 });
    expect(by["ap-east-1"]).toMatchObject({ status: "skipped" });
    expect(by["me-south-1"]).toMatchObject({ status: "skipped" });
    expect(res.skippedRegions.map((s) => `${s.region}: ${s.reason}`).sort()).toEqual([
      `ap-east-1: region ap-east-1 is not enabled in account ${ACCOUNT} (opt-in region; the security token is not recognised there)`,
      `me-south-1: region me-south-1 is not enabled in account ${ACCOUNT} (opt-in region; the security token is not recognised there)`,
    ]);
    const why = res.partialReasons.join("\n");
    expect(why).toMatch(/123456789012\/eu-west-1: LookupEvents gave a NextToken it had already given/);
    expect(why).toMatch(/123456789012\/us-west-2: LookupEvents in account 123456789012, region us-west-2 still failing after 4 attempts \(throttled/);
    expect(why).toMatch(/complete: 1 of 3 account\/regions \(123456789012\/us-east-1\)/);
  });

  it("throttling in every region is a partial report that says so, not an error", async () => {
    const src = await setup({ "us-east-1": "throttle", "eu-west-1": "throttle" }, 60, { regions: ["us-east-1", "eu-west-1"] });
    const { report } = await runScan({ now: NEWEST, sources: [src] });
    expect(report.partial).toBe(true);
    expect(report.stats.recordsRead).toBe(0);
    expect(report.partialReasons.join("\n")).toMatch(
      /us-east-1: LookupEvents in account 123456789012, region us-east-1 still failing after 4 attempts \(throttled: .*Rate exceeded/,
    );
    expect(report.partialReasons.join("\n")).toMatch(/eu-west-1: .*throttled/);
  });

  it("a server that never answers is ended by the scan's deadline, reported partial; the healthy region is read", async () => {
    const src = await setup({ "eu-west-1": "hang" }, 40, { regions: ["us-east-1", "eu-west-1"], budgetMs: 1500 });
    const sink = new Sink();
    const res = await src.read(sink);
    const by = Object.fromEntries(res.regions.map((r) => [r.region, r]));
    expect(by["us-east-1"]).toMatchObject({ status: "complete", events: 40 });
    expect(by["eu-west-1"]).toMatchObject({ status: "partial", events: 0 });
    expect(res.partialReasons.join("\n")).toMatch(/eu-west-1: time budget of 2 s spent; nothing read/);
  });
});

describe("the scan deadline setting", () => {
  it("parses durations and none; refuses anything else with the setting's name", () => {
    expect(parseDeadline("90m", "--deadline")).toBe(90 * 60_000);
    expect(parseDeadline("2h", "x")).toBe(7_200_000);
    expect(parseDeadline("none", "x")).toBeUndefined();
    expect(() => parseDeadline("soon", "TRAILHOUND_SCAN_DEADLINE")).toThrow(/TRAILHOUND_SCAN_DEADLINE="soon": expected a duration/);
  });

  it("every live read gets a deadline: 2h by default, the environment's, or --deadline", () => {
    const budget = (s: unknown) => (s as { o: LookupEventsSourceOptions }).o.budgetMs;
    const base = { start: 0, end: 1, filters: {} };
    expect(budget(awsSource({ ...base, env: {} }))).toBe(7_200_000);
    expect(budget(awsSource({ ...base, env: { TRAILHOUND_SCAN_DEADLINE: "30m" } }))).toBe(1_800_000);
    expect(budget(awsSource({ ...base, env: { TRAILHOUND_SCAN_DEADLINE: "30m" }, deadline: "none" }))).toBeUndefined();
  });
});
