/**
 * Daily digests (issue 7): configuration (config.ts), what is new or worse (plan.ts), the
 * messages (messages.ts), exactly-once delivery (delivery.ts) and the scheduler (scheduler.ts).
 * `createDigestScheduler` wires the real pieces for `trailhound serve`.
 */
import { webApi } from "@slack/bolt";
import { defaultGeoResolver } from "../geo/default.js";
import type { GeoResolver } from "../geo/types.js";
import { toBoltLogger, type Log } from "../log.js";
import { runLiveScan, type LiveScanOptions, type SourceFactory } from "../app/scan-service.js";
import { liveSourceFactory } from "../sources/aws-cli.js";
import type { EventSource, SourceCoverage } from "../sources/types.js";
import type { TrailStore } from "../store/store.js";
import type { DigestScheduleConfig } from "./config.js";
import { webClientSlack } from "./delivery.js";
import { DigestScheduler, type DigestScan, type DigestSchedulerOptions } from "./scheduler.js";

export { parseDigestSchedules, type DigestScheduleConfig } from "./config.js";
export { DigestScheduler, type DigestRunResult, type DigestScan } from "./scheduler.js";
export { webClientSlack, type DigestSlack } from "./delivery.js";

/** The digest's scan: runLiveScan, incremental from the store's cursors; `observe` is told what the read covered. */
export function liveDigestScan(o: LiveScanOptions): DigestScan {
  return (req) => {
    const observe = req.observe;
    const sourceFactory: SourceFactory = observe ? async (x) => observed(await o.sourceFactory(x), observe) : o.sourceFactory;
    return runLiveScan(
      { ...o, sourceFactory },
      {
        filters: req.filters,
        since: new Date(req.start).toISOString(),
        until: new Date(req.end).toISOString(),
        incremental: true,
        by: req.by,
        target: req.target,
        signal: req.signal,
        ...(req.keys ? { keys: req.keys } : {}),
      },
    );
  };
}

/** The source, telling `observe` what each read covered. */
function observed(src: EventSource, observe: (c: SourceCoverage) => void): EventSource {
  return {
    name: src.name,
    async read(sink, opts) {
      const res = await src.read(sink, opts);
      if (res.coverage) observe(res.coverage);
      return res;
    },
  };
}

export interface DigestWiring {
  schedules: readonly DigestScheduleConfig[];
  botToken: string;
  /** Web API base URL (ends with "/"). */
  apiUrl?: string;
  store: TrailStore;
  log: Log;
  env: Record<string, string | undefined>;
  /** Default: LookupEvents over the accounts the environment names. */
  sourceFactory?: SourceFactory;
  /** Extra WebClient options (tests). */
  clientOptions?: webApi.WebClientOptions;
  /** Shared with the bot's scans (one resolver per process); default: opened here. */
  geo?: GeoResolver;
  /** Containment: Contain… on the findings posted (src/respond). */
  containState?: DigestSchedulerOptions["containState"];
}

/** The scheduler for `trailhound serve` (not started); undefined when no digest is configured. */
export async function createDigestScheduler(w: DigestWiring): Promise<DigestScheduler | undefined> {
  if (w.schedules.length === 0) return undefined;
  let geo: GeoResolver | undefined = w.geo;
  if (!geo) {
    try {
      geo = await defaultGeoResolver(w.env);
    } catch (err) {
      w.log.warn("digest scans run without geography (no GeoIP data)", { err });
    }
  }
  const client = new webApi.WebClient(w.botToken, {
    ...(w.apiUrl ? { slackApiUrl: w.apiUrl } : {}),
    logger: toBoltLogger(w.log.child({ src: "digest-web" })),
    ...w.clientOptions,
    // The digest paces and retries itself (Retry-After, backoff), with its own clock.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
  const live: LiveScanOptions = { store: w.store, sourceFactory: w.sourceFactory ?? liveSourceFactory(w.env) };
  if (geo) live.geo = geo;
  return new DigestScheduler({
    schedules: w.schedules,
    store: w.store,
    scan: liveDigestScan(live),
    slack: webClientSlack(client),
    log: w.log,
    ...(w.containState ? { containState: w.containState } : {}),
  });
}
