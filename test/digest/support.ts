/**
 * Test support for the digest: a local Slack Web API with scripted failures (HTTP status,
 * Retry-After, platform errors) that keeps the messages it accepted (with their metadata, for
 * conversations.history / conversations.replies), a fake clock and sleeper, an AWS stand-in
 * that delivers the records of the asked window, and a scheduler builder.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createTask } from "node-cron";
import { webApi } from "@slack/bolt";
import { silentLogger, type Log } from "../../src/log.js";
import type { DigestScheduleConfig } from "../../src/digest/config.js";
import { webClientSlack } from "../../src/digest/delivery.js";
import { liveDigestScan } from "../../src/digest/index.js";
import { DigestScheduler, type DigestSchedulerOptions, type DigestStore } from "../../src/digest/scheduler.js";
import type { SourceFactory } from "../../src/app/scan-service.js";
import type { EventSource, SourceCoverage } from "../../src/sources/types.js";
import { blockKitProblems } from "../../src/slack/views/limits.js";
import type { TrailStore } from "../../src/store/store.js";
import { iamUser, rawRecord, rootUser, type RecordInput } from "../helpers/events.js";

export interface Posted {
  channel: string;
  ts: string;
  text: string;
  blocks: Array<Record<string, unknown>>;
  thread_ts?: string;
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
}

export type Reply = { status: number; headers?: Record<string, string>; body?: Record<string, unknown> } | { error: string };

/**
 * The Web API methods the digest calls. `script(method, ...replies)` makes the next calls answer
 * those replies in order; `postThenFail` accepts the next post (it is in the channel) and then
 * answers 500, as when the response is lost.
 */
export class DigestSlackServer {
  readonly posted: Posted[] = [];
  readonly calls: Array<{ method: string; args: Record<string, string> }> = [];
  readonly invalid: string[] = [];
  readonly unexpected: string[] = [];
  /** Answer conversations.* with missing_scope. */
  historyScope = true;
  /** Clock for message ts (Slack's ts are times). */
  now: () => number = () => 1_700_000_000_000;
  private readonly scripts = new Map<string, Reply[]>();
  private server!: Server;
  private seq = 1;
  url = "";

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, headers, body }) => {
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  script(method: string, ...replies: Reply[]): void {
    this.scripts.set(method, [...(this.scripts.get(method) ?? []), ...replies]);
  }

  /** Posts per method. */
  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  /** Messages whose metadata names this digest, by part. */
  partsOf(digestId: string): Map<number, Posted[]> {
    const out = new Map<number, Posted[]>();
    for (const p of this.posted) {
      if (p.metadata?.event_payload.digest !== digestId) continue;
      const n = Number(p.metadata.event_payload.part);
      out.set(n, [...(out.get(n) ?? []), p]);
    }
    return out;
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; headers?: Record<string, string>; body: Record<string, unknown> }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const method = (req.url ?? "").replace(/^\/api\//, "").split("?")[0]!;
    const args = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
    this.calls.push({ method, args });
    const scripted = this.scripts.get(method)?.shift();
    if (scripted && "status" in scripted && scripted.status !== 200)
      return { status: scripted.status, ...(scripted.headers ? { headers: scripted.headers } : {}), body: scripted.body ?? { ok: false } };
    if (scripted && "error" in scripted && scripted.error !== "post-then-500") return { status: 200, body: { ok: false, error: scripted.error } };
    switch (method) {
      case "chat.postMessage": {
        const blocks = args.blocks ? (JSON.parse(args.blocks) as Array<Record<string, unknown>>) : [];
        for (const p of blockKitProblems({ blocks, text: args.text }, "message")) this.invalid.push(p);
        if (!args.channel || !args.text) this.invalid.push("postMessage without channel or text");
        const ts = `${Math.floor(this.now() / 1000)}.${String(this.seq++).padStart(6, "0")}`;
        const p: Posted = { channel: args.channel!, ts, text: args.text!, blocks, ...(args.thread_ts ? { thread_ts: args.thread_ts } : {}) };
        if (args.metadata) p.metadata = JSON.parse(args.metadata) as NonNullable<Posted["metadata"]>;
        this.posted.push(p);
        if (scripted && "error" in scripted) return { status: 500, body: { ok: false } };
        return { status: 200, body: { ok: true, channel: args.channel, ts } };
      }
      case "conversations.history":
      case "conversations.replies": {
        if (!this.historyScope) return { status: 200, body: { ok: false, error: "missing_scope", needed: "channels:history" } };
        const inThread = method === "conversations.replies";
        const msgs = this.posted
          .filter((p) => p.channel === args.channel && (inThread ? p.thread_ts === args.ts || p.ts === args.ts : !p.thread_ts))
          .filter((p) => !args.oldest || Number(p.ts) >= Number(args.oldest))
          .map((p) => ({ type: "message", ts: p.ts, text: p.text, ...(args.include_all_metadata === "true" && p.metadata ? { metadata: p.metadata } : {}) }));
        return { status: 200, body: { ok: true, messages: inThread ? msgs : msgs.reverse(), has_more: false } };
      }
      default:
        this.unexpected.push(method);
        return { status: 404, body: { ok: false, error: "unknown_method" } };
    }
  }
}

export class FakeClock {
  readonly sleeps: number[] = [];
  constructor(public t: number) {}
  now = (): number => this.t;
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.t += ms;
  };
  advance(ms: number): void {
    this.t += ms;
  }
  set(iso: string): void {
    this.t = Date.parse(iso);
  }
}

/** CloudTrail as the digest's scans see it: records are "delivered" when added; a scan gets its window. */
export class FakeAws {
  records: Array<Record<string, unknown>> = [];
  readonly reads: Array<{ start: number; end: number; incremental: boolean }> = [];
  fail: Error | undefined;
  /** What each read says it covered (SourceResult.coverage). */
  coverage: SourceCoverage | undefined;
  #gate: { entered: () => void; gate: Promise<void> } | undefined;

  /** The fault hook that makes a run slow: the next read waits until `release()`; `entered` resolves when it starts. */
  hold(): { entered: Promise<void>; release: () => void } {
    let entered!: () => void;
    let release!: () => void;
    const p = new Promise<void>((r) => (entered = r));
    this.#gate = { entered, gate: new Promise<void>((r) => (release = r)) };
    return { entered: p, release };
  }

  add(...inputs: RecordInput[]): void {
    for (const i of inputs) this.records.push(rawRecord(i));
  }

  factory: SourceFactory = (o) => {
    this.reads.push({ start: o.start, end: o.end, incremental: o.incremental });
    const fail = this.fail;
    const recs = this.records.filter((r) => {
      const t = Date.parse(String(r.eventTime));
      return t >= o.start && t <= o.end;
    });
    const gate = this.#gate;
    this.#gate = undefined;
    const coverage = this.coverage;
    const src: EventSource = {
      name: "fake-aws",
      async read(sink) {
        if (gate) {
          gate.entered();
          await gate.gate;
        }
        if (fail) throw fail;
        for (const r of recs) sink.record(r, "fake-aws");
        return { summary: { kind: "memory", name: "fake-aws", records: recs.length, skipped: 0 }, partialReasons: [], ...(coverage ? { coverage } : {}) };
      },
    };
    return src;
  };
}

/** Records that the catalogue detectors report at cold start. */
export const INCIDENTS = {
  root: (time: number, ip = "198.51.100.7"): RecordInput => ({
    eventName: "ConsoleLogin",
    eventType: "AwsConsoleSignIn",
    userIdentity: rootUser(),
    time,
    sourceIPAddress: ip,
    responseElements: { ConsoleLogin: "Success" },
    additionalEventData: { MFAUsed: "No" },
  }),
  stopLogging: (time: number, user = "mallory"): RecordInput => ({
    eventName: "StopLogging",
    userIdentity: iamUser(user),
    time,
    requestParameters: { name: "arn:aws:cloudtrail:us-east-1:111111111111:trail/main" },
  }),
};

export function schedule(over: Partial<DigestScheduleConfig> = {}): DigestScheduleConfig {
  return { name: "C0SEC", channel: "C0SEC", cron: "0 8 * * *", tz: "UTC", filters: {}, quiet: "line", top: 5, ...over };
}

export interface Harness {
  scheduler: DigestScheduler;
  taskOptions: Array<Record<string, unknown>>;
}

/** A scheduler over the fake Slack and AWS, with cron tasks that are not started (runs via execute()). */
export function makeScheduler(o: {
  store: DigestStore & Pick<TrailStore, "getBaseline" | "putBaselines" | "recordFindings" | "addScan" | "cursors">;
  slack: DigestSlackServer;
  aws: FakeAws;
  clock: FakeClock;
  schedules?: DigestScheduleConfig[];
  log?: Log;
  over?: Partial<DigestSchedulerOptions>;
}): Harness {
  const client = new webApi.WebClient("xoxb-test", { slackApiUrl: o.slack.url, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logger: quietBoltLogger });
  const taskOptions: Array<Record<string, unknown>> = [];
  const scheduler = new DigestScheduler({
    schedules: o.schedules ?? [schedule()],
    store: o.store,
    scan: liveDigestScan({ store: o.store as TrailStore, sourceFactory: o.aws.factory, now: o.clock.now }),
    slack: webClientSlack(client),
    log: o.log ?? silentLogger,
    now: o.clock.now,
    sleep: o.clock.sleep,
    retryPendingMs: 0,
    scheduleTask: (expr, fn, opts) => {
      taskOptions.push({ expr, ...opts });
      return createTask(expr, fn, opts);
    },
    ...o.over,
  });
  return { scheduler, taskOptions };
}

const noop = () => undefined;
export const quietBoltLogger = { debug: noop, info: noop, warn: noop, error: noop, setLevel: noop, getLevel: () => "error" as never, setName: noop };

/** A Log that keeps its lines. */
export function recordingLog(): Log & { lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
  const make = (): Log => ({
    level: "debug",
    debug: (msg, fields) => void lines.push({ level: "debug", msg, ...(fields ? { fields } : {}) }),
    info: (msg, fields) => void lines.push({ level: "info", msg, ...(fields ? { fields } : {}) }),
    warn: (msg, fields) => void lines.push({ level: "warn", msg, ...(fields ? { fields } : {}) }),
    error: (msg, fields) => void lines.push({ level: "error", msg, ...(fields ? { fields } : {}) }),
    child: () => make(),
  });
  return Object.assign(make(), { lines });
}
