/**
 * A local stand-in for CloudTrail LookupEvents, for the lookup benchmark: one HTTP server for
 * every region (the region is read from the SigV4 Authorization header's credential scope),
 * synthetic events newest first, 50 per page with NextToken bound to the request parameters,
 * and the API's rate limit enforced strictly: more than 2 accepted requests in any 1-second window
 * of one region is answered with HTTP 400 ThrottlingException. `faults` make a region misbehave
 * the way the tests of the live source need (a looping NextToken, throttling that never ends, an
 * opt-in region that is not enabled, a server that never answers).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

export interface FakeLookupServerOptions {
  /** Synthetic events served per region. */
  eventsPerRegion: number;
  /** Accepted requests per second per region (default 2). */
  ratePerSecond?: number;
  /** Delay before each answer, to mimic a network round trip (default 0). */
  latencyMs?: number;
  /** Time of the newest event (epoch ms; default now). */
  newest?: number;
  /** The events are spread evenly over this much history before `newest` (default 24 h). */
  spanMs?: number;
  accountId?: string;
  /** Per region, a way to misbehave (see RegionFault). */
  faults?: Record<string, RegionFault>;
}

/**
 * - "loop-token": every page carries the same NextToken (the first page's), for ever.
 * - "throttle": every request is answered ThrottlingException.
 * - "not-enabled": an opt-in region not enabled: UnrecognizedClientException, as CloudTrail says.
 * - "not-enabled-sts": the same answered as InvalidClientTokenId (403), as some endpoints say.
 * - "hang": the request is read and never answered.
 */
export type RegionFault = "loop-token" | "throttle" | "not-enabled" | "not-enabled-sts" | "hang";

export interface RegionServerStats {
  requests: number;
  accepted: number;
  throttled: number;
  invalidTokens: number;
  eventsServed: number;
  /** Smallest time between two accepted requests (ms). */
  minGapMs: number;
}

export interface FakeLookupServer {
  url: string;
  /** Per region; complete once `close()` resolved (live for the in-process server). */
  stats: Map<string, RegionServerStats>;
  close(): Promise<Map<string, RegionServerStats>>;
}

interface Body {
  StartTime?: number;
  EndTime?: number;
  MaxResults?: number;
  NextToken?: string;
  LookupAttributes?: Array<{ AttributeKey: string; AttributeValue: string }>;
}

const PAGE = 50;

export async function startFakeLookupServer(opts: FakeLookupServerOptions): Promise<FakeLookupServer> {
  const rate = opts.ratePerSecond ?? 2;
  const latency = opts.latencyMs ?? 0;
  const newest = Math.floor((opts.newest ?? Date.now()) / 1000) * 1000;
  const span = opts.spanMs ?? 86_400_000;
  const account = opts.accountId ?? "123456789012";
  const n = opts.eventsPerRegion;
  const stats = new Map<string, RegionServerStats>();
  const accepted = new Map<string, number[]>();

  // Second resolution, like CloudTrail; several events may share a second.
  const timeOf = (i: number): number => newest - Math.floor((i * span) / Math.max(1, n) / 1000) * 1000;

  const statsOf = (region: string): RegionServerStats => {
    let s = stats.get(region);
    if (!s) {
      s = { requests: 0, accepted: 0, throttled: 0, invalidTokens: 0, eventsServed: 0, minGapMs: Number.POSITIVE_INFINITY };
      stats.set(region, s);
    }
    return s;
  };

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    const write = (): void => {
      res.writeHead(status, {
        "content-type": "application/x-amz-json-1.1",
        "content-length": Buffer.byteLength(text),
        "x-amzn-requestid": `req-${Math.random().toString(36).slice(2)}`,
      });
      res.end(text);
    };
    if (latency > 0) setTimeout(write, latency);
    else write();
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string): void => {
    const arrived = performance.now();
    const region = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/cloudtrail\//.exec(req.headers.authorization ?? "")?.[1];
    if (req.method !== "POST" || req.headers["x-amz-target"] !== "CloudTrail_20131101.LookupEvents" || !region) {
      send(res, 400, { __type: "UnknownOperationException", message: "only LookupEvents is served here" });
      return;
    }
    const s = statsOf(region);
    s.requests++;
    const fault = opts.faults?.[region];
    if (fault === "hang") return; // never answered (the client's deadline must end it)
    if (fault === "not-enabled") {
      send(res, 400, { __type: "UnrecognizedClientException", message: "The security token included in the request is invalid." });
      return;
    }
    if (fault === "not-enabled-sts") {
      send(res, 403, { __type: "InvalidClientTokenId", message: "The security token included in the request is invalid." });
      return;
    }
    if (fault === "throttle") {
      s.throttled++;
      send(res, 400, { __type: "ThrottlingException", message: "Rate exceeded" });
      return;
    }

    // Strict 2 requests/s: at most `rate` accepted requests in any 1000 ms window.
    const times = accepted.get(region) ?? [];
    while (times.length > 0 && arrived - times[0]! >= 1000) times.shift();
    if (times.length >= rate) {
      s.throttled++;
      send(res, 400, { __type: "ThrottlingException", message: "Rate exceeded" });
      return;
    }
    if (times.length > 0) s.minGapMs = Math.min(s.minGapMs, arrived - times[times.length - 1]!);
    times.push(arrived);
    accepted.set(region, times);
    s.accepted++;

    let body: Body;
    try {
      body = raw ? (JSON.parse(raw) as Body) : {};
    } catch {
      send(res, 400, { __type: "SerializationException", message: "bad JSON" });
      return;
    }
    const start = body.StartTime !== undefined ? body.StartTime * 1000 : Number.NEGATIVE_INFINITY;
    const end = body.EndTime !== undefined ? body.EndTime * 1000 : Number.POSITIVE_INFINITY;
    const params = JSON.stringify([region, body.StartTime, body.EndTime, body.LookupAttributes ?? null]);
    let offset = 0;
    if (body.NextToken) {
      try {
        const tok = JSON.parse(Buffer.from(body.NextToken, "base64url").toString()) as { o: number; p: string };
        if (tok.p !== params) throw new Error("parameters changed");
        offset = tok.o;
      } catch {
        s.invalidTokens++;
        send(res, 400, { __type: "InvalidNextTokenException", message: "Invalid NextToken" });
        return;
      }
    } else {
      // First page: skip the events newer than EndTime (events are i = 0.. newest first).
      while (offset < n && timeOf(offset) > end) offset++;
    }
    const size = Math.min(PAGE, body.MaxResults ?? PAGE);
    const events: unknown[] = [];
    let i = offset;
    for (; i < n && events.length < size; i++) {
      const t = timeOf(i);
      if (t < start) break;
      if (t > end) continue;
      events.push(synthetic(region, account, i, t));
    }
    const more = i < n && timeOf(i) >= start;
    s.eventsServed += events.length;
    // A looping token: the first page's token again and again (the same page comes back).
    const o = fault === "loop-token" ? Math.min(size, n) : i;
    send(res, 200, {
      Events: events,
      ...(more || fault === "loop-token" ? { NextToken: Buffer.from(JSON.stringify({ o, p: params })).toString("base64url") } : {}),
    });
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(stats));
      }),
  };
}

/**
 * The same server on its own thread, so that its arrival times are not delayed by the client's
 * event loop (JSON parsing of pages in the same process would make requests look bunched up).
 */
export async function startFakeLookupServerThread(opts: FakeLookupServerOptions): Promise<FakeLookupServer> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { fakeLookupServer: opts } });
  const url = await new Promise<string>((resolve, reject) => {
    worker.once("error", reject);
    worker.once("message", (m: { type: string; url: string }) => resolve(m.url));
  });
  const stats = new Map<string, RegionServerStats>();
  return {
    url,
    stats,
    close: () =>
      new Promise((resolve, reject) => {
        worker.once("message", (m: { type: string; stats: Array<[string, RegionServerStats]> }) => {
          for (const [k, v] of m.stats) stats.set(k, v);
          void worker.terminate().then(() => resolve(stats), reject);
        });
        worker.postMessage({ type: "close" });
      }),
  };
}

if (!isMainThread && parentPort && (workerData as { fakeLookupServer?: FakeLookupServerOptions } | null)?.fakeLookupServer) {
  const port = parentPort;
  const server = await startFakeLookupServer((workerData as { fakeLookupServer: FakeLookupServerOptions }).fakeLookupServer);
  port.on("message", (m: { type: string }) => {
    if (m.type !== "close") return;
    void server.close().then((stats) => port.postMessage({ type: "stats", stats: [...stats] }));
  });
  port.postMessage({ type: "ready", url: server.url });
}

const NAMES = ["DescribeInstances", "GetObject", "AssumeRole", "ListBuckets", "GetCallerIdentity", "DescribeVolumes", "CreateTags"];
const USERS = ["alice", "bob", "ci-deploy", "terraform"];

function synthetic(region: string, account: string, i: number, t: number): Record<string, unknown> {
  const id = `${region}-${String(i).padStart(8, "0")}`;
  const name = NAMES[i % NAMES.length]!;
  const user = USERS[i % USERS.length]!;
  const record = {
    eventVersion: "1.09",
    userIdentity: {
      type: "IAMUser",
      principalId: "AIDAEXAMPLE" + (i % USERS.length),
      arn: `arn:aws:iam::${account}:user/${user}`,
      accountId: account,
      accessKeyId: "AKIAEXAMPLE" + (i % USERS.length),
      userName: user,
    },
    eventTime: new Date(t).toISOString().replace(".000Z", "Z"),
    eventSource: "ec2.amazonaws.com",
    eventName: name,
    awsRegion: region,
    sourceIPAddress: `198.51.100.${i % 250}`,
    userAgent: "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
    requestParameters: { maxResults: 1000 },
    responseElements: null,
    requestID: `r-${i}`,
    eventID: id,
    readOnly: true,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: "Management",
  };
  return {
    EventId: id,
    EventName: name,
    ReadOnly: "true",
    AccessKeyId: record.userIdentity.accessKeyId,
    EventTime: t / 1000,
    EventSource: "ec2.amazonaws.com",
    Username: user,
    Resources: [],
    CloudTrailEvent: JSON.stringify(record),
  };
}
