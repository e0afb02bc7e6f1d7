/**
 * LookupEvents speed benchmark: how close does the source get to the API's own ceiling?
 *
 *   npm run bench:lookup                       # 20,000 events x 4 regions (~200 s)
 *   npm run bench:lookup -- --events 2000      # quick run
 *   options: --events N (per region), --regions K (1-8), --latency MS (server answer delay),
 *            --slot MS (client spacing instead of the production 505 ms: e.g. 400 to watch
 *            throttling being absorbed without losing a page)
 *
 * A local server (lookup-fake-server.ts) answers like LookupEvents for every region, 50 events per
 * page, and throttles any region that gets more than 2 requests within 1 s. The real SDK client
 * is pointed at it, the source runs with its production pacing (the process-wide limiters), and
 * every event id is checked on arrival: lost and duplicated events are counted.
 */
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { LookupEventsSource, type LookupClientFactory } from "../sources/lookup-events.js";
import { LOOKUP_EVENTS_INTERVAL_MS, LimiterRegistry, lookupEventsLimiters } from "../sources/rate-limiter.js";
import { startFakeLookupServerThread } from "../testing/lookup-fake-server.js";
import { numArg } from "./cli-args.js";

const ALL_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1", "us-west-2", "eu-central-1", "ap-northeast-1", "ca-central-1"];

async function main(): Promise<void> {
  const eventsPerRegion = Math.floor(numArg("events", 20_000));
  const regionCount = Math.min(ALL_REGIONS.length, Math.max(1, Math.floor(numArg("regions", 4))));
  const latencyMs = numArg("latency", 30);
  const slotMs = numArg("slot", LOOKUP_EVENTS_INTERVAL_MS);
  const limiters = slotMs === LOOKUP_EVENTS_INTERVAL_MS ? lookupEventsLimiters : new LimiterRegistry({ intervalMs: slotMs });
  const regions = ALL_REGIONS.slice(0, regionCount);
  const account = "123456789012";

  const spanMs = 86_400_000;
  const newest = Date.now();
  const server = await startFakeLookupServerThread({ eventsPerRegion, latencyMs, accountId: account, newest, spanMs });
  const clientFactory: LookupClientFactory = (cfg) =>
    new CloudTrailClient({
      region: cfg.region,
      endpoint: server.url,
      credentials: { accessKeyId: "AKIDBENCH", secretAccessKey: "bench-secret" },
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
    });

  const seen = new Map<string, Set<string>>(regions.map((r) => [r, new Set<string>()]));
  let duplicates = 0;
  let delivered = 0;
  let skipped = 0;
  const sink = {
    record(raw: unknown, origin: string): void {
      const region = origin.slice(origin.lastIndexOf("/") + 1);
      const id = (raw as { eventID?: string }).eventID ?? "";
      const set = seen.get(region)!;
      if (set.has(id)) duplicates++;
      else set.add(id);
      delivered++;
    },
    skip(): void {
      skipped++;
    },
  };

  const pagesPerRegion = Math.ceil(eventsPerRegion / 50);
  const idealS = (Math.max(1, pagesPerRegion) - 1) * 0.5;
  console.log(
    `lookup bench: ${eventsPerRegion} events x ${regionCount} regions (${pagesPerRegion} pages each), server latency ${latencyMs} ms, ` +
      `client slot ${slotMs} ms; ideal at 2 req/s: ${idealS.toFixed(1)} s`,
  );

  let lastPrint = 0;
  const t0 = performance.now();
  const source = new LookupEventsSource({
    accountId: account,
    regions,
    clientFactory,
    limiters,
    startTime: newest - spanMs - 60_000,
  });
  const result = await source.read(sink, {
    onProgress: (p) => {
      const now = performance.now();
      if (now - lastPrint < 10_000) return;
      lastPrint = now;
      const eta = p.etaMs !== undefined ? `, eta ${(p.etaMs / 1000).toFixed(0)} s` : "";
      process.stderr.write(`  ${((now - t0) / 1000).toFixed(0)} s: ${p.records} events, ${p.done}/${p.total} regions${eta}\n`);
    },
  });
  const elapsedS = (performance.now() - t0) / 1000;
  const serverStats = await server.close();

  const expected = eventsPerRegion * regionCount;
  let unique = 0;
  for (const s of seen.values()) unique += s.size;
  const lost = expected - unique;
  const rate = delivered / elapsedS;
  const ceiling = 100 * regionCount;
  let serverThrottles = 0;
  let minGap = Number.POSITIVE_INFINITY;
  for (const s of serverStats.values()) {
    serverThrottles += s.throttled;
    minGap = Math.min(minGap, s.minGapMs);
  }

  console.log(`elapsed            ${elapsedS.toFixed(1)} s`);
  console.log(`events delivered   ${delivered} (${unique} unique of ${expected} expected)`);
  console.log(`events/s           ${rate.toFixed(1)}`);
  console.log(`ceiling            ${ceiling} events/s (100 per region: 2 requests/s x 50 events)`);
  console.log(`ratio              ${((100 * rate) / ceiling).toFixed(1)} % of the ceiling`);
  console.log(`requests / pages   ${result.stats.requests} / ${result.stats.pages}`);
  console.log(`throttles          ${result.stats.throttles} seen by the client, ${serverThrottles} sent by the server`);
  console.log(`min request gap    ${minGap.toFixed(1)} ms (server side, per region)`);
  console.log(`events lost        ${lost}`);
  console.log(`duplicates         ${duplicates}, skipped ${skipped}`);
  console.log(`partial            ${result.partialReasons.length ? result.partialReasons.join(" | ") : "no"}`);
  if (lost !== 0 || duplicates !== 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
