import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import nock from "nock";
import { afterEach, beforeAll, afterAll, describe, expect, it, vi } from "vitest";
import type { AwsCredentials, StsPort } from "../../src/sources/aws-accounts.js";
import {
  AwsSourceError,
  LOOKUP_RETENTION_MS,
  LookupEventsSource,
  MemoryCursorStore,
  lookupCursorKey,
  sdkLookupClientFactory,
  type LookupClientFactory,
  type LookupEventsSourceOptions,
} from "../../src/sources/lookup-events.js";
import { COMMERCIAL_REGIONS, isOptInRegion } from "../../src/sources/aws-regions.js";
import { LimiterRegistry, type Sleep } from "../../src/sources/rate-limiter.js";
import type { SourceProgress } from "../../src/sources/types.js";

// ---------------------------------------------------------------------------------------------
// Virtual time. A sleep resolves only while no HTTP request is in flight, earliest wake first, and
// moves the clock to its wake time: requests take no virtual time, so request timestamps taken in
// the nock reply functions are exactly the limiter's grant times.

class SimClock {
  t: number;
  private holds = 0;
  private seq = 0;
  private scheduled = false;
  private timers: Array<{ wake: number; seq: number; fire: () => void }> = [];
  constructor(start: number) {
    this.t = start;
  }
  now = (): number => this.t;
  sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = {
        wake: this.t + Math.max(0, ms),
        seq: this.seq++,
        fire: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.timers.push(timer);
      this.kick();
    });
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.kick();
    };
  }
  private kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.holds > 0 || this.timers.length === 0) return;
      this.timers.sort((a, b) => a.wake - b.wake || a.seq - b.seq);
      const next = this.timers.shift()!;
      this.t = Math.max(this.t, next.wake);
      next.fire();
      this.kick();
    });
  }
}

// ---------------------------------------------------------------------------------------------
// A fake LookupEvents behind nock: events per region, newest first, StartTime/EndTime, one lookup
// attribute, NextToken bound to the parameters, and a script of failures per region.

const ACCOUNT = "111122223333";
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const STATIC_CREDS = { accessKeyId: "AKIDTEST", secretAccessKey: "secret" };

interface FakeEvent {
  id: string;
  time: number;
  name: string;
  user: string;
  raw?: string;
}

type Reply = [number, unknown];
type PlanStep = "ok" | "invalid-token" | Reply;

interface SeenRequest {
  region: string;
  at: number;
  body: {
    StartTime?: number;
    EndTime?: number;
    MaxResults?: number;
    NextToken?: string;
    LookupAttributes?: Array<{ AttributeKey: string; AttributeValue: string }>;
  };
  status: number;
}

const THROTTLE: Reply = [400, { __type: "ThrottlingException", message: "Rate exceeded" }];

class FakeLookup {
  readonly events = new Map<string, FakeEvent[]>();
  readonly plans = new Map<string, PlanStep[]>();
  readonly requests: SeenRequest[] = [];
  constructor(private readonly clock: SimClock) {}

  region(region: string, events: FakeEvent[]): this {
    this.events.set(region, events);
    nock(`https://cloudtrail.${region}.amazonaws.com`)
      .persist()
      .post("/")
      .matchHeader("x-amz-target", "CloudTrail_20131101.LookupEvents")
      .matchHeader("content-type", "application/x-amz-json-1.1")
      .reply((_uri, body) => this.answer(region, typeof body === "string" ? JSON.parse(body) : (body as SeenRequest["body"])));
    return this;
  }

  plan(region: string, ...steps: PlanStep[]): this {
    this.plans.set(region, steps);
    return this;
  }

  of(region: string): SeenRequest[] {
    return this.requests.filter((r) => r.region === region);
  }

  private answer(region: string, body: SeenRequest["body"]): Reply {
    const step = this.plans.get(region)?.shift() ?? "ok";
    const reply = this.respond(region, body, step);
    this.requests.push({ region, at: this.clock.now(), body, status: reply[0] });
    return reply;
  }

  private respond(region: string, body: SeenRequest["body"], step: PlanStep): Reply {
    if (Array.isArray(step)) return step;
    if (step === "invalid-token" && body.NextToken) {
      return [400, { __type: "InvalidNextTokenException", message: "Invalid NextToken" }];
    }
    const start = body.StartTime !== undefined ? Math.round(body.StartTime * 1000) : -Infinity;
    const end = body.EndTime !== undefined ? Math.round(body.EndTime * 1000) : Infinity;
    const attr = body.LookupAttributes?.[0];
    const params = JSON.stringify([body.StartTime, body.EndTime, attr]);
    let offset = 0;
    if (body.NextToken) {
      const tok = JSON.parse(Buffer.from(body.NextToken, "base64").toString()) as { o: number; p: string };
      if (tok.p !== params) return [400, { __type: "InvalidNextTokenException", message: "parameters changed" }];
      offset = tok.o;
    }
    const all = (this.events.get(region) ?? [])
      .filter((e) => e.time >= start && e.time <= end)
      .filter((e) => !attr || (attr.AttributeKey === "Username" ? e.user : e.name) === attr.AttributeValue)
      .sort((a, b) => b.time - a.time || (a.id < b.id ? -1 : 1));
    const size = Math.min(50, body.MaxResults ?? 50);
    const page = all.slice(offset, offset + size);
    const more = offset + size < all.length;
    return [
      200,
      {
        Events: page.map((e) => ({
          EventId: e.id,
          EventName: e.name,
          EventTime: e.time / 1000,
          EventSource: "iam.amazonaws.com",
          Username: e.user,
          CloudTrailEvent: e.raw ?? JSON.stringify(record(e, region)),
        })),
        ...(more ? { NextToken: Buffer.from(JSON.stringify({ o: offset + size, p: params })).toString("base64") } : {}),
      },
    ];
  }
}

function record(e: FakeEvent, region: string): Record<string, unknown> {
  return {
    eventVersion: "1.08",
    eventID: e.id,
    eventTime: new Date(e.time).toISOString(),
    eventName: e.name,
    eventSource: "iam.amazonaws.com",
    awsRegion: region,
    userIdentity: { type: "IAMUser", userName: e.user, accountId: ACCOUNT },
    sourceIPAddress: "203.0.113.7",
    recipientAccountId: ACCOUNT,
  };
}

/** `n` events, newest `newest`, `stepMs` apart. */
function makeEvents(prefix: string, n: number, newest = NOW - 60_000, stepMs = 10_000, name = "GetUser", user = "alice"): FakeEvent[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${String(i).padStart(5, "0")}`, time: newest - i * stepMs, name, user }));
}

class Sink {
  records: Array<{ raw: unknown; origin: string }> = [];
  skips: Array<{ reason: string; origin: string; detail?: string }> = [];
  record(raw: unknown, origin: string): void {
    this.records.push({ raw, origin });
  }
  skip(reason: string, origin: string, _count?: number, detail?: string): void {
    this.skips.push({ reason, origin, ...(detail ? { detail } : {}) });
  }
  ids(): string[] {
    return this.records.map((r) => (r.raw as { eventID: string }).eventID);
  }
}

/** Options over the defaults; `accountId` or `regions` given as undefined leave the default out (STS finds the account; every region). */
type Over = Omit<Partial<LookupEventsSourceOptions>, "accountId" | "regions"> & {
  accountId?: LookupEventsSourceOptions["accountId"] | undefined;
  regions?: LookupEventsSourceOptions["regions"] | undefined;
};

function setup(extra: Over = {}) {
  const clock = new SimClock(NOW);
  const fake = new FakeLookup(clock);
  const limiters = new LimiterRegistry({ intervalMs: 500, clock, sleep: clock.sleep });
  const factoryCalls: Array<{ region: string; accountId: string; hasCredentials: boolean }> = [];
  const clientFactory: LookupClientFactory = (cfg) => {
    factoryCalls.push({ region: cfg.region, accountId: cfg.accountId, hasCredentials: Boolean(cfg.credentials) });
    const real = new CloudTrailClient({ region: cfg.region, credentials: cfg.credentials ?? STATIC_CREDS, maxAttempts: 1 });
    return {
      async send(cmd, opts) {
        const release = clock.hold();
        try {
          return await real.send(cmd, opts);
        } finally {
          release();
        }
      },
      destroy: () => real.destroy(),
    };
  };
  const base: LookupEventsSourceOptions = {
    accountId: ACCOUNT,
    regions: ["us-east-1"],
    startTime: NOW - 86_400_000,
    clock,
    sleep: clock.sleep,
    random: () => 0.5,
    limiters,
    clientFactory,
  };
  const make = (o: Over = {}) => {
    const { accountId, regions, ...rest } = { ...base, ...extra, ...o };
    return new LookupEventsSource({ ...rest, ...(accountId !== undefined ? { accountId } : {}), ...(regions !== undefined ? { regions } : {}) });
  };
  return { clock, fake, limiters, make, factoryCalls };
}

function gaps(reqs: SeenRequest[]): number[] {
  return reqs.slice(1).map((r, i) => r.at - reqs[i]!.at);
}

beforeAll(() => {
  nock.disableNetConnect();
});
afterAll(() => {
  nock.enableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  vi.unstubAllEnvs();
});

// ---------------------------------------------------------------------------------------------

describe("LookupEventsSource: paging", () => {
  it("reads every page (50 per page, NextToken) and hands each CloudTrailEvent to the sink", async () => {
    const { fake, make } = setup();
    const evs = makeEvents("e", 120);
    fake.region("us-east-1", evs);
    const sink = new Sink();
    const res = await make().read(sink);

    expect(sink.ids()).toEqual(evs.map((e) => e.id));
    expect(new Set(sink.records.map((r) => r.origin))).toEqual(new Set([`lookup-events:${ACCOUNT}/us-east-1`]));
    const reqs = fake.of("us-east-1");
    expect(reqs).toHaveLength(3);
    expect(reqs.every((r) => r.body.MaxResults === 50)).toBe(true);
    expect(reqs[0]!.body.NextToken).toBeUndefined();
    expect(reqs[1]!.body.NextToken).toBeDefined();
    expect(reqs[0]!.body.StartTime).toBe((NOW - 86_400_000) / 1000); // epoch seconds
    expect(reqs[0]!.body.EndTime).toBe(NOW / 1000);
    expect(res.partialReasons).toEqual([]);
    expect(res.summary).toMatchObject({ kind: "lookup-events", records: 120, skipped: 0 });
    expect(res.regions[0]).toMatchObject({ status: "complete", pages: 3, events: 120, requests: 3 });
    expect(gaps(reqs).every((g) => g >= 500)).toBe(true);
  });

  it("never cuts off: 1,000 events is 20 pages, all delivered", async () => {
    const { fake, make } = setup();
    fake.region("us-east-1", makeEvents("big", 1000, NOW - 1000, 1000));
    const sink = new Sink();
    const res = await make().read(sink);
    expect(sink.records).toHaveLength(1000);
    expect(new Set(sink.ids()).size).toBe(1000);
    expect(res.stats.pages).toBe(20);
  });

  it("reports invalid CloudTrailEvent JSON as a skip, not a record", async () => {
    const { fake, make } = setup();
    const evs = makeEvents("j", 3);
    evs[1]!.raw = "{not json";
    fake.region("us-east-1", evs);
    const sink = new Sink();
    const res = await make().read(sink);
    expect(sink.ids()).toEqual(["j-00000", "j-00002"]);
    expect(sink.skips).toEqual([expect.objectContaining({ reason: "invalid-json", origin: `lookup-events:${ACCOUNT}/us-east-1` })]);
    expect(res.summary.skipped).toBe(1);
  });
});

describe("LookupEventsSource: retries", () => {
  it("retries a throttled page with backoff, loses no page and never exceeds 2 requests/s", async () => {
    const { fake, make } = setup();
    const evs = makeEvents("t", 150);
    fake.region("us-east-1", evs).plan("us-east-1", "ok", THROTTLE, THROTTLE, "ok", THROTTLE);
    const sink = new Sink();
    const res = await make().read(sink);

    expect(sink.ids()).toEqual(evs.map((e) => e.id));
    const reqs = fake.of("us-east-1");
    expect(reqs.map((r) => r.status)).toEqual([200, 400, 400, 200, 400, 200]);
    // The retried request carries the same NextToken: the page is asked again, not skipped.
    expect(reqs[2]!.body.NextToken).toBe(reqs[1]!.body.NextToken);
    expect(reqs[3]!.body.NextToken).toBe(reqs[1]!.body.NextToken);
    expect(res.stats.throttles).toBe(3);
    // Exponential backoff with jitter (random = 0.5 -> 3/4 of the step): after the 1st throttle
    // 375 ms (hidden by the 500 ms spacing), after the 2nd 750 ms, then back to the pace.
    expect(gaps(reqs)).toEqual([500, 500, 750, 500, 500]);
    // 2 requests/s: no 1-second window holds more than 2 requests.
    for (const r of reqs) expect(reqs.filter((x) => x.at >= r.at && x.at < r.at + 1000).length).toBeLessThanOrEqual(2);
  });

  it("retries 5xx and network errors", async () => {
    const { fake, make } = setup();
    const evs = makeEvents("s", 80);
    fake.region("us-east-1", evs).plan("us-east-1", [500, "oops"], "ok", [503, {}]);
    const sink = new Sink();
    const res = await make().read(sink);
    expect(sink.ids()).toEqual(evs.map((e) => e.id));
    expect(res.stats.retries).toBe(2);
    expect(res.stats.throttles).toBe(0);
    expect(res.partialReasons).toEqual([]);
  });

  it("a socket error is retried", async () => {
    const { make } = setup();
    const err = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    const scope = nock("https://cloudtrail.us-east-1.amazonaws.com")
      .post("/")
      .replyWithError(err)
      .post("/")
      .reply(200, { Events: [{ EventId: "n1", EventTime: (NOW - 5000) / 1000, CloudTrailEvent: JSON.stringify({ eventID: "n1" }) }] });
    const sink = new Sink();
    const res = await make().read(sink);
    expect(sink.ids()).toEqual(["n1"]);
    expect(res.stats.retries).toBe(1);
    expect(scope.isDone()).toBe(true);
  });

  it("persistent errors end the region as partial, saying which time range was read", async () => {
    const { fake, make } = setup({ maxAttempts: 3 });
    const evs = makeEvents("p", 120);
    fake.region("us-east-1", evs).plan("us-east-1", "ok", [500, {}], [500, {}], [500, {}]);
    const sink = new Sink();
    const res = await make().read(sink);
    expect(sink.records).toHaveLength(50);
    expect(res.regions[0]).toMatchObject({ status: "partial", pages: 1, coveredFrom: evs[49]!.time });
    const why = res.partialReasons.join("\n");
    expect(why).toContain(`${ACCOUNT}/us-east-1`);
    expect(why).toContain("3 attempts");
    expect(why).toContain(`read ${new Date(evs[49]!.time).toISOString().replace(".000Z", "Z")}`);
    expect(why).toContain("not read");
    expect(fake.of("us-east-1")).toHaveLength(4);
  });

  it("an expired NextToken restarts the region from the oldest time delivered, without duplicates", async () => {
    const { fake, make } = setup();
    // Five events per second, so the page boundary (50) falls inside a second shared by two pages.
    const evs: FakeEvent[] = Array.from({ length: 143 }, (_, i) => ({
      id: `x-${String(i).padStart(4, "0")}`,
      time: NOW - 10_000 - Math.floor(i / 5) * 1000 - (i % 5 === 0 ? 0 : 0),
      name: "ListRoles",
      user: "bob",
    }));
    // Page 1 holds events 0..49, all within seconds 0..9; make the boundary second straddle pages.
    for (let i = 48; i < 53; i++) evs[i]!.time = evs[48]!.time;
    fake.region("us-east-1", evs).plan("us-east-1", "ok", "invalid-token");
    const sink = new Sink();
    const res = await make().read(sink);

    expect(sink.ids().sort()).toEqual(evs.map((e) => e.id).sort());
    expect(new Set(sink.ids()).size).toBe(sink.records.length);
    expect(res.regions[0]).toMatchObject({ status: "complete", restarts: 1 });
    const reqs = fake.of("us-east-1");
    expect(reqs[1]!.status).toBe(400);
    // Restarted without a token, EndTime one second after the oldest event already delivered.
    expect(reqs[2]!.body.NextToken).toBeUndefined();
    expect(reqs[2]!.body.EndTime).toBe((evs[49]!.time + 1000) / 1000);
    expect(res.stats.duplicates).toBeGreaterThan(0);
  });

  it("a NextToken rejected over and over makes the region partial instead of looping", async () => {
    const { fake, make } = setup({ maxRestarts: 2 });
    fake.region("us-east-1", makeEvents("r", 200)).plan("us-east-1", "ok", "invalid-token", "ok", "invalid-token", "ok", "invalid-token");
    const sink = new Sink();
    const res = await make().read(sink);
    expect(res.regions[0]!.status).toBe("partial");
    expect(res.partialReasons.join(" ")).toContain("NextToken");
    expect(new Set(sink.ids()).size).toBe(sink.records.length);
  });
});

describe("LookupEventsSource: errors a person can act on", () => {
  it("AccessDenied names the permission, the account and the region", async () => {
    const { make } = setup();
    nock("https://cloudtrail.us-east-1.amazonaws.com")
      .post("/")
      .reply(400, {
        __type: "AccessDeniedException",
        message: `User: arn:aws:iam::${ACCOUNT}:user/scanner is not authorized to perform: cloudtrail:LookupEvents`,
      });
    const err = await make()
      .read(new Sink())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsSourceError);
    expect((err as AwsSourceError).code).toBe("missing-permission");
    expect((err as Error).message).toContain("cloudtrail:LookupEvents");
    expect((err as Error).message).toContain(ACCOUNT);
    expect((err as Error).message).toContain("us-east-1");
  });

  it("AccessDenied in one region is a partial result when other regions could be read", async () => {
    const { fake, make } = setup({ regions: ["us-east-1", "eu-west-1"] });
    fake.region("us-east-1", makeEvents("ok", 10));
    nock("https://cloudtrail.eu-west-1.amazonaws.com").post("/").reply(400, { __type: "AccessDeniedException", message: "explicit deny in a service control policy" });
    const sink = new Sink();
    const res = await make().read(sink);
    expect(sink.records).toHaveLength(10);
    const failed = res.regions.find((r) => r.region === "eu-west-1")!;
    expect(failed.status).toBe("failed");
    expect(failed.error?.code).toBe("missing-permission");
    expect(res.partialReasons.join("\n")).toMatch(/cloudtrail:LookupEvents.*eu-west-1|eu-west-1.*cloudtrail:LookupEvents/);
  });

  it("expired credentials say how to refresh them", async () => {
    const { make } = setup({ profile: "secops" });
    nock("https://cloudtrail.us-east-1.amazonaws.com").post("/").reply(400, { __type: "ExpiredTokenException", message: "The security token included in the request is expired" });
    const err = await make()
      .read(new Sink())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsSourceError);
    expect((err as AwsSourceError).code).toBe("credentials");
    expect((err as Error).message).toContain("aws sso login --profile secops");
  });

  it("an unknown region name is refused before any request, with a suggestion", async () => {
    const { make, fake } = setup();
    const err = await make({ regions: ["us-east-1", "us-eest-1x"] })
      .read(new Sink())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsSourceError);
    expect((err as AwsSourceError).code).toBe("unknown-region");
    expect((err as Error).message).toContain('"us-eest-1x"');
    const err2 = await make({ regions: ["useast1"] })
      .read(new Sink())
      .catch((e: unknown) => e);
    expect((err2 as AwsSourceError).code).toBe("unknown-region");
    expect((err2 as Error).message).toContain('did you mean "us-east-1"');
    expect(fake.requests).toHaveLength(0);
  });

  it("an invalid time range is refused: start after end, NaN, or entirely older than 90 days", async () => {
    const { make } = setup();
    for (const o of [{ startTime: NOW - 1000, endTime: NOW - 2000 }, { startTime: Number.NaN }, { startTime: NOW - 200 * 86_400_000, endTime: NOW - 100 * 86_400_000 }]) {
      const err = await make(o)
        .read(new Sink())
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AwsSourceError);
      expect((err as AwsSourceError).code).toBe("invalid-time");
    }
  });

  it("a start older than 90 days is clamped to 90 days, with a note", async () => {
    const { fake, make } = setup();
    fake.region("us-east-1", makeEvents("c", 3));
    const res = await make({ startTime: NOW - 120 * 86_400_000 }).read(new Sink());
    expect(fake.of("us-east-1")[0]!.body.StartTime).toBe((NOW - LOOKUP_RETENTION_MS) / 1000);
    expect(res.notes.join(" ")).toContain("90 days");
    expect(res.summary.note).toContain("clamped");
    expect(res.partialReasons).toEqual([]);
  });

  it("skips opt-in regions that are not enabled and regions without DNS, and names them", async () => {
    const { fake, make } = setup({ regions: ["us-east-1", "af-south-1", "ap-east-2"] });
    fake.region("us-east-1", makeEvents("u", 5));
    nock("https://cloudtrail.af-south-1.amazonaws.com")
      .post("/")
      .reply(400, { __type: "UnrecognizedClientException", message: "The security token included in the request is invalid." });
    nock("https://cloudtrail.ap-east-2.amazonaws.com")
      .post("/")
      .replyWithError(Object.assign(new Error("getaddrinfo ENOTFOUND cloudtrail.ap-east-2.amazonaws.com"), { code: "ENOTFOUND" }));
    const sink = new Sink();
    const res = await make().read(sink);
    expect(sink.records).toHaveLength(5);
    expect(res.skippedRegions.map((s) => s.region).sort()).toEqual(["af-south-1", "ap-east-2"]);
    expect(res.skippedRegions.find((s) => s.region === "af-south-1")!.reason).toContain("not enabled");
    expect(res.partialReasons).toEqual([]);
    expect(res.summary.note).toContain("skipped regions");
  });

  it("with no region list reads every commercial region; not-enabled and SCP-denied ones are skipped", async () => {
    const { fake, make } = setup({ regions: undefined });
    for (const r of COMMERCIAL_REGIONS) {
      if (r === "us-east-1" || r === "eu-west-1") fake.region(r, makeEvents(r, 3));
      else if (isOptInRegion(r)) {
        nock(`https://cloudtrail.${r}.amazonaws.com`)
          .post("/")
          .reply(400, { __type: "UnrecognizedClientException", message: "The security token included in the request is invalid." });
      } else {
        nock(`https://cloudtrail.${r}.amazonaws.com`)
          .post("/")
          .reply(400, {
            __type: "AccessDeniedException",
            message: `User: arn:aws:iam::${ACCOUNT}:user/x is not authorized to perform: cloudtrail:LookupEvents with an explicit deny in a service control policy`,
          });
      }
    }
    const sink = new Sink();
    const res = await make().read(sink);
    expect(res.regions).toHaveLength(COMMERCIAL_REGIONS.length);
    expect(sink.records).toHaveLength(6);
    expect(res.skippedRegions).toHaveLength(COMMERCIAL_REGIONS.length - 2);
    expect(res.skippedRegions.find((s) => s.region === "eu-south-1")!.reason).toContain("not enabled");
    expect(res.skippedRegions.find((s) => s.region === "sa-east-1")!.reason).toContain("service control policy");
    expect(res.partialReasons).toEqual([]);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("an unrecognised token in a default region is a credentials error, not a skipped region", async () => {
    const { make } = setup({ regions: ["us-east-1", "eu-west-1"] });
    nock("https://cloudtrail.us-east-1.amazonaws.com")
      .post("/")
      .reply(400, { __type: "UnrecognizedClientException", message: "The security token included in the request is invalid." });
    nock("https://cloudtrail.eu-west-1.amazonaws.com")
      .post("/")
      .reply(400, { __type: "UnrecognizedClientException", message: "The security token included in the request is invalid." });
    const err = await make()
      .read(new Sink())
      .catch((e: unknown) => e);
    expect((err as AwsSourceError).code).toBe("credentials");
  });
});

describe("LookupEventsSource: parallel regions and the shared budget", () => {
  it("reads regions in parallel, each paced at <= 2 requests/s", async () => {
    const regions = ["us-east-1", "eu-west-1", "ap-southeast-2"];
    const { fake, make, clock } = setup({ regions });
    for (const r of regions) fake.region(r, makeEvents(r, 140));
    const sink = new Sink();
    const t0 = clock.now();
    const res = await make().read(sink);
    expect(sink.records).toHaveLength(3 * 140);
    for (const r of regions) {
      const reqs = fake.of(r);
      expect(reqs).toHaveLength(3);
      expect(Math.min(...gaps(reqs))).toBeGreaterThanOrEqual(500);
      // All regions start at once: not one after another.
      expect(reqs[0]!.at).toBe(t0);
    }
    // 3 pages per region at 2/s, in parallel: 1 s of virtual time, not 4 s.
    expect(res.stats.elapsedMs).toBeLessThan(1500);
    expect(res.regions.every((r) => r.status === "complete")).toBe(true);
  });

  it("two scans of the same account+region at once share one limiter", async () => {
    const { fake, make } = setup();
    fake.region("us-east-1", makeEvents("s", 150));
    const [a, b] = [new Sink(), new Sink()];
    await Promise.all([make().read(a), make().read(b)]);
    expect(a.records).toHaveLength(150);
    expect(b.records).toHaveLength(150);
    const reqs = fake.of("us-east-1");
    expect(reqs).toHaveLength(6);
    expect(Math.min(...gaps(reqs))).toBeGreaterThanOrEqual(500);
  });

  it("reports progress with regions done/total and an estimate of the time left", async () => {
    const { fake, make } = setup({ regions: ["us-east-1", "eu-west-1"] });
    fake.region("us-east-1", makeEvents("a", 200, NOW - 1000, 60_000));
    fake.region("eu-west-1", makeEvents("b", 10));
    const seen: SourceProgress[] = [];
    await make().read(new Sink(), { onProgress: (p) => seen.push(p) });
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.every((p) => p.total === 2 && p.unit === "regions")).toBe(true);
    expect(seen.at(-1)).toMatchObject({ done: 2, records: 210 });
    const withEta = seen.filter((p) => p.etaMs !== undefined);
    expect(withEta.length).toBeGreaterThan(0);
    // After page 1 of 4 of the busy region, about 3 pages (1.5 s) are left.
    expect(withEta[0]!.etaMs!).toBeGreaterThan(500);
    expect(seen.at(-1)!.detail).toContain("pages");
  });

  it("stops at the time budget and says what was covered", async () => {
    const { fake, make } = setup({ budgetMs: 1200 });
    const evs = makeEvents("b", 300);
    fake.region("us-east-1", evs);
    const sink = new Sink();
    const res = await make().read(sink);
    expect(sink.records.length).toBe(150); // requests at 0, 500, 1000 ms
    expect(res.regions[0]!.status).toBe("partial");
    expect(res.partialReasons.join(" ")).toContain("time budget");
    expect(res.partialReasons.join(" ")).toContain(new Date(evs[149]!.time).toISOString().replace(".000Z", "Z"));
  });

  it("cancellation through the signal ends the read as partial", async () => {
    const { fake, make } = setup();
    fake.region("us-east-1", makeEvents("c", 300));
    const ac = new AbortController();
    const sink = new Sink();
    const p = make().read(
      {
        record: (raw, origin) => {
          sink.record(raw, origin);
          if (sink.records.length === 50) ac.abort();
        },
        skip: () => undefined,
      },
      { signal: ac.signal },
    );
    const res = await p;
    expect(sink.records).toHaveLength(50);
    expect(res.partialReasons.join(" ")).toContain("cancelled");
  });
});

describe("LookupEventsSource: incremental cursors", () => {
  it("resumes from the cursor minus the overlap and drops what it already delivered", async () => {
    const { fake, make, clock } = setup();
    const store = new MemoryCursorStore();
    const first = makeEvents("f", 60, NOW - 1000, 1000); // newest NOW-1s, a minute of events
    fake.region("us-east-1", first);
    const sink1 = new Sink();
    await make({ cursorStore: store }).read(sink1);
    expect(sink1.records).toHaveLength(60);
    const cur = store.get(lookupCursorKey(ACCOUNT, "us-east-1"))!;
    expect(cur.newestTime).toBe(NOW - 1000);
    expect(cur.newestIds).toContain("f-00000");

    // Ten minutes later: 3 new events, and one that arrived late inside the overlap window.
    clock.t += 10 * 60_000;
    const fresh = makeEvents("n", 3, NOW + 9 * 60_000, 1000);
    const late: FakeEvent = { id: "late-1", time: NOW - 30_000, name: "GetUser", user: "alice" };
    fake.events.set("us-east-1", [...fresh, late, ...first]);
    const sink2 = new Sink();
    const res2 = await make({ cursorStore: store }).read(sink2);

    const req = fake.of("us-east-1").at(-1)!;
    expect(req.body.StartTime).toBe((NOW - 1000 - 5 * 60_000) / 1000);
    expect(sink2.ids().sort()).toEqual(["late-1", "n-00000", "n-00001", "n-00002"]);
    expect(res2.stats.duplicates).toBe(60);
    expect(store.get(lookupCursorKey(ACCOUNT, "us-east-1"))!.newestTime).toBe(NOW + 9 * 60_000);
  });

  it("moves the cursor only for regions that completed, so an interrupted region resumes", async () => {
    const { fake, make } = setup({ regions: ["us-east-1", "eu-west-1"], maxAttempts: 2 });
    const store = new MemoryCursorStore();
    fake.region("us-east-1", makeEvents("a", 10));
    fake.region("eu-west-1", makeEvents("b", 120)).plan("eu-west-1", "ok", [500, {}], [500, {}]);
    const res = await make({ cursorStore: store }).read(new Sink());
    expect(res.partialReasons.length).toBeGreaterThan(0);
    expect(store.get(lookupCursorKey(ACCOUNT, "us-east-1"))).toBeDefined();
    expect(store.get(lookupCursorKey(ACCOUNT, "eu-west-1"))).toBeUndefined();
  });

  it("with cursorCommit 'manual' nothing is written until commitCursors()", async () => {
    const { fake, make } = setup();
    const store = new MemoryCursorStore();
    fake.region("us-east-1", makeEvents("m", 5));
    const res = await make({ cursorStore: store, cursorCommit: "manual" }).read(new Sink());
    expect(store.cursors.size).toBe(0);
    expect(Object.keys(res.cursorUpdates)).toEqual([lookupCursorKey(ACCOUNT, "us-east-1")]);
    await res.commitCursors();
    expect(store.cursors.size).toBe(1);
  });
});

describe("LookupEventsSource: pushdown", () => {
  it("pushes `user` down as Username", async () => {
    const { fake, make } = setup();
    fake.region("us-east-1", [...makeEvents("a", 3, NOW - 1000, 1000, "GetUser", "alice"), ...makeEvents("b", 3, NOW - 500, 1000, "GetUser", "bob")]);
    const sink = new Sink();
    const seen: SourceProgress[] = [];
    await make({ user: "bob" }).read(sink, { onProgress: (p) => seen.push(p) });
    expect(fake.of("us-east-1")[0]!.body.LookupAttributes).toEqual([{ AttributeKey: "Username", AttributeValue: "bob" }]);
    // The progress message says what is read, and the filter pushed down.
    expect(seen.at(-1)!.reading).toBe("LookupEvents Username=bob in 1 account");
    expect(sink.ids()).toEqual(["b-00000", "b-00001", "b-00002"]);
  });

  it("pushes `eventName` down as EventName", async () => {
    const { fake, make } = setup();
    fake.region("us-east-1", [...makeEvents("a", 3, NOW - 1000, 1000, "GetUser"), ...makeEvents("c", 2, NOW - 500, 1000, "CreateAccessKey")]);
    const sink = new Sink();
    await make({ eventName: "CreateAccessKey" }).read(sink);
    expect(fake.of("us-east-1")[0]!.body.LookupAttributes).toEqual([{ AttributeKey: "EventName", AttributeValue: "CreateAccessKey" }]);
    expect(sink.ids()).toEqual(["c-00000", "c-00001"]);
  });

  it("with both, pushes down the user and filters the event name client-side; cursors untouched", async () => {
    const { fake, make } = setup();
    const store = new MemoryCursorStore();
    fake.region("us-east-1", [
      ...makeEvents("a", 3, NOW - 1000, 1000, "GetUser", "bob"),
      ...makeEvents("c", 2, NOW - 500, 1000, "CreateAccessKey", "bob"),
      ...makeEvents("d", 2, NOW - 700, 1000, "CreateAccessKey", "alice"),
    ]);
    const sink = new Sink();
    const res = await make({ user: "bob", eventName: "CreateAccessKey", cursorStore: store }).read(sink);
    expect(fake.of("us-east-1")[0]!.body.LookupAttributes).toEqual([{ AttributeKey: "Username", AttributeValue: "bob" }]);
    expect(sink.ids().sort()).toEqual(["c-00000", "c-00001"]);
    expect(res.stats.filteredOut).toBe(3);
    expect(store.cursors.size).toBe(0);
    expect(res.notes.join(" ")).toContain("client-side");
  });
});

describe("LookupEventsSource: accounts", () => {
  function fakeSts(opts: { deny?: string[] } = {}) {
    const calls: string[] = [];
    const sts: StsPort = {
      async getCallerIdentity() {
        calls.push("whoami");
        return { account: ACCOUNT };
      },
      async assumeRole(roleArn): Promise<AwsCredentials> {
        calls.push(roleArn);
        if (opts.deny?.includes(roleArn)) {
          throw Object.assign(new Error(`not authorized to perform: sts:AssumeRole on ${roleArn}`), {
            name: "AccessDenied",
            $metadata: { httpStatusCode: 403 },
          });
        }
        return { accessKeyId: `ASIA${roleArn.slice(13, 25)}`, secretAccessKey: "s", sessionToken: "t", expiration: new Date(NOW + 3_600_000) };
      },
    };
    return { sts, calls };
  }

  it("assumes a role per account and reads each with its own limiter", async () => {
    const { fake, make, factoryCalls, limiters } = setup();
    const { sts, calls } = fakeSts({ deny: ["arn:aws:iam::999999999999:role/Audit"] });
    fake.region("us-east-1", makeEvents("r", 60));
    const sink = new Sink();
    const res = await make({
      accountId: undefined,
      roleArns: ["arn:aws:iam::444455556666:role/Audit", "arn:aws:iam::777788889999:role/Audit", "arn:aws:iam::999999999999:role/Audit"],
      stsFactory: () => sts,
    }).read(sink);
    expect(calls).toHaveLength(3);
    expect(factoryCalls.map((c) => c.accountId).sort()).toEqual(["444455556666", "777788889999"]);
    expect(factoryCalls.every((c) => c.hasCredentials)).toBe(true);
    expect(new Set(sink.records.map((r) => r.origin))).toEqual(new Set(["lookup-events:444455556666/us-east-1", "lookup-events:777788889999/us-east-1"]));
    expect(limiters.keys().sort()).toEqual(["444455556666/us-east-1", "777788889999/us-east-1"]);
    expect(res.partialReasons.join(" ")).toContain("sts:AssumeRole");
    expect(res.partialReasons.join(" ")).toContain("999999999999");
  });

  it("refuses a malformed role ARN", async () => {
    const { make } = setup();
    const { sts } = fakeSts();
    const err = await make({ roleArns: ["arn:aws:iam::12:user/x"], stsFactory: () => sts })
      .read(new Sink())
      .catch((e: unknown) => e);
    expect((err as AwsSourceError).code).toBe("invalid-argument");
  });

  it("finds the caller's account with STS when not given", async () => {
    const { fake, make } = setup();
    const { sts, calls } = fakeSts();
    fake.region("us-east-1", makeEvents("w", 2));
    const sink = new Sink();
    await make({ accountId: undefined, stsFactory: () => sts }).read(sink);
    expect(calls).toEqual(["whoami"]);
    expect(sink.records[0]!.origin).toBe(`lookup-events:${ACCOUNT}/us-east-1`);
  });
});

describe("sdkLookupClientFactory (the production client)", () => {
  it("uses the default credential chain, one attempt per call (retries are the source's)", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIDENV");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "secret");
    vi.stubEnv("AWS_PROFILE", "");
    const clock = new SimClock(NOW);
    const auths: string[] = [];
    const attempts: string[] = [];
    nock("https://cloudtrail.eu-central-1.amazonaws.com")
      .post("/")
      .reply(function () {
        auths.push(String(this.req.headers["authorization"]));
        attempts.push(String(this.req.headers["amz-sdk-request"]));
        return [500, {}];
      })
      .post("/")
      .reply(200, { Events: [] });
    const res = await new LookupEventsSource({
      accountId: ACCOUNT,
      regions: ["eu-central-1"],
      clock,
      sleep: clock.sleep,
      limiters: new LimiterRegistry({ intervalMs: 500, clock, sleep: clock.sleep }),
      clientFactory: sdkLookupClientFactory,
    }).read(new Sink());
    expect(auths[0]).toContain("Credential=AKIDENV/");
    expect(attempts[0]).toContain("max=1");
    expect(res.regions[0]).toMatchObject({ status: "complete", retries: 1 });
  });
});
