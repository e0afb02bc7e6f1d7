import { describe, it, expect } from "vitest";
import { FastLane } from "../../src/ingest/fast-lane.js";
import type { Ingest } from "../../src/ingest/ingest.js";
import { nativeWalk } from "../../src/ingest/native-walk.js";
import { F_IP, fieldAt, indexRecords } from "../../src/ingest/record-bytes.js";
import { StaticGeoResolver, type GeoInfo } from "../../src/geo/types.js";
import type { Places } from "../../src/ingest/walk-off-thread.js";
import { ingest, parsedIngest, summary as dimSummary, T0 } from "./helpers.js";

/**
 * A file of `n` records of one user, one call and one user agent (the values of `v`): walked
 * alone after a reset, each of these values gets the same intern id whatever `v` is.
 */
function doc(v: number, n: number, hour: number): Buffer {
  const user = `user${v}`;
  const records = Array.from({ length: n }, (_, k) => ({
    eventVersion: "1.09",
    userIdentity: { type: "IAMUser", arn: `arn:aws:iam::111122223333:user/${user}`, accountId: "111122223333", userName: user },
    eventTime: new Date(T0 + hour * 3_600_000 + k * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    eventSource: `svc${v}.amazonaws.com`,
    eventName: `Call${v}`,
    awsRegion: `region-${v}`,
    sourceIPAddress: `203.0.113.${v}`,
    userAgent: `agent-${v}/1.0`,
    eventID: `id-${v}-${hour}-${k}`,
    recipientAccountId: "111122223333",
  }));
  return Buffer.from(JSON.stringify({ Records: records }));
}

/** Per identity: events, and the values (with counts) of its API, user-agent and region dimensions. */
const summary = (ing: Ingest) => dimSummary(ing, ["api", "ua", "region"]);

/** The same records, parsed one by one (the full path). */
const parsed = (files: Buffer[]) => summary(parsedIngest(files));

describe("the fast lane's caches by intern id", () => {
  // Hours 1-19 train only; 21+ are in the window.
  const files = [doc(1, 5, 1), doc(2, 5, 2), doc(1, 5, 3), doc(2, 5, 21), doc(1, 5, 22), doc(2, 5, 4)];

  it("follow the intern table when it starts afresh (the same ids for other values)", (ctx) => {
    if (!nativeWalk) return ctx.skip();
    const ing = ingest();
    const lane = new FastLane(ing);
    for (const b of files) {
      nativeWalk.reset(); // each file alone in a fresh table: user1's and user2's values share ids
      expect(lane.deliver(b, "f")).toBe(5);
    }
    lane.release();
    expect(ing.fastLane).toBeGreaterThan(15); // most records took the lane (first sights are parsed)
    expect(summary(ing)).toEqual(parsed(files));
  });

  it("are kept per read worker: each worker's table has its own ids", (ctx) => {
    if (!nativeWalk) return ctx.skip();
    // What two read workers would hand over: each walked its files in its own table (at the
    // same generation number), where user1's values (worker 7) and user2's (worker 8) have the same ids.
    const walked = files.map((b) => {
      nativeWalk!.reset();
      const ix = indexRecords(b)!;
      return { meta: ix.meta.slice(), count: ix.count, ids: true, generation: 1 };
    });
    const ing = ingest();
    const lane = new FastLane(ing);
    files.forEach((b, i) => {
      const thread = (JSON.parse(b.toString("utf8")) as { Records: Array<{ eventName: string }> }).Records[0]!.eventName === "Call1" ? 7 : 8;
      expect(lane.deliverPrepared(b, { ...walked[i]!, thread }, "f")).toBe(5);
    });
    lane.release();
    expect(ing.fastLane).toBeGreaterThan(15);
    expect(summary(ing)).toEqual(parsed(files));
  });
});

describe("source address places (RecordFields.place)", () => {
  // Two users on two public addresses; walked alone after a reset, both addresses get the same intern id.
  const at = (v: number) => `8.8.${v}.1`;
  const withIp = (v: number, n: number, hour: number) => Buffer.from(doc(v, n, hour).toString("utf8").replaceAll(`203.0.113.${v}`, at(v)));
  const files = [withIp(1, 5, 1), withIp(2, 5, 2), withIp(1, 5, 3), withIp(2, 5, 21), withIp(1, 5, 22), withIp(2, 5, 4)];
  const table: Record<string, GeoInfo> = { [at(1)]: { country: "US", asn: 64501 }, [at(2)]: { country: "FR", asn: 64502 } };
  const counting = () => {
    const asked: string[] = [];
    return { asked, lookup: (ip: string) => (asked.push(ip), table[ip]), describe: () => "test" };
  };
  const dims = ["ip", "network", "country"] as const;

  it("follow the intern table when it starts afresh: each address keeps its own location", (ctx) => {
    if (!nativeWalk) return ctx.skip();
    const geo = counting();
    const ing = ingest(geo);
    const lane = new FastLane(ing);
    for (const b of files) {
      nativeWalk.reset();
      expect(lane.deliver(b, "f")).toBe(5);
    }
    lane.release();
    const want = dimSummary(parsedIngest(files, new StaticGeoResolver(table)), dims);
    expect(Object.keys((want["user:111122223333:user2"] as { country: object }).country)).toEqual(["FR"]);
    expect(dimSummary(ing, dims)).toEqual(want);
    // Looked up once per address (Ingest.geoOf's cache), not once per record.
    expect(geo.asked.sort()).toEqual([at(1), at(2)]);
  });

  it("a read worker's locations are taken, not looked up; left aside once one was not given in order", (ctx) => {
    if (!nativeWalk) return ctx.skip();
    const walked = files.map((b, i) => {
      nativeWalk!.reset();
      const ix = indexRecords(b)!;
      return { meta: ix.meta.slice(), count: ix.count, ids: true, generation: i + 1, id: ix.meta[fieldAt(0, F_IP) + 2]! };
    });
    const want = dimSummary(parsedIngest(files, new StaticGeoResolver(table)), dims);
    for (const skip of [false, true]) {
      const geo = counting();
      const ing = ingest(geo);
      const lane = new FastLane(ing);
      // One worker (thread 7): its table of answers grows as it meets addresses; walked alone,
      // each file is a generation of its own there, and its address is sent again.
      const sent: GeoInfo[] = [];
      files.forEach((b, i) => {
        const w = walked[i]!;
        const ip = (JSON.parse(b.toString("utf8")) as { Records: Array<{ sourceIPAddress: string }> }).Records[0]!.sourceIPAddress;
        const info = table[ip]!;
        const base = sent.length;
        const fresh = sent.includes(info) ? [] : [info];
        sent.push(...fresh);
        const places: Places = { ips: [ip], ids: Int32Array.of(w.id), at: Int32Array.of(sent.indexOf(info)), base, fresh };
        // With `skip`, the second file's places never reach the lane (as for a file not taken).
        const { id: _, ...file } = w;
        expect(lane.deliverPrepared(b, { ...file, thread: 7, ...(skip && i === 1 ? {} : { places }) }, "f")).toBe(5);
      });
      lane.release();
      expect(dimSummary(ing, dims)).toEqual(want);
      // Given in order, nothing is looked up here; else the addresses from the second file on are.
      expect(geo.asked).toEqual(skip ? [at(2)] : []);
    }
  });
});

describe("services on the fast lane", () => {
  /**
   * Records of services (type AWSService, or no type, with an invokedBy; some with an ARN), of
   * users acting through a service (invokedBy beside their ARN) and of the users alone, in training
   * and in the window: the lane keeps services apart by invokedBy, as the principal cache does.
   */
  function services(hour: number): Buffer {
    const kinds = [
      { type: "AWSService", invokedBy: "ecs.amazonaws.com" },
      { invokedBy: "ecs.amazonaws.com" },
      { type: "AWSService", invokedBy: "lambda.amazonaws.com", arn: "arn:aws:iam::111122223333:role/fn" },
      { type: "AWSService", invokedBy: "cloudformation.amazonaws.com" },
      { type: "IAMUser", arn: "arn:aws:iam::111122223333:user/alice", userName: "alice", invokedBy: "cloudformation.amazonaws.com" },
      { type: "IAMUser", arn: "arn:aws:iam::111122223333:user/alice", userName: "alice" },
    ];
    const records = Array.from({ length: 24 }, (_, k) => ({
      eventVersion: "1.09",
      userIdentity: kinds[k % kinds.length],
      eventTime: new Date(T0 + hour * 3_600_000 + k * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
      eventSource: "sts.amazonaws.com",
      eventName: `Call${k % 4}`,
      awsRegion: "us-east-1",
      sourceIPAddress: k % 2 ? "ecs.amazonaws.com" : `203.0.113.${k}`,
      userAgent: "agent/1.0",
      eventID: `svc-${hour}-${k}`,
      recipientAccountId: k % 3 ? "111122223333" : "444455556666",
    }));
    return Buffer.from(JSON.stringify({ Records: records }));
  }

  it("take their records as the full path does", () => {
    const files = [services(1), services(2), services(21), services(3)];
    const ing = ingest();
    const lane = new FastLane(ing);
    for (const b of files) expect(lane.deliver(b, "f")).toBe(24);
    lane.release();
    // Every record (a first sight parses its userIdentity alone).
    expect(ing.fastLane).toBe(96);
    expect(Object.keys(summary(ing)).sort()).toEqual([
      "service:cloudformation.amazonaws.com",
      "service:ecs.amazonaws.com",
      "service:lambda.amazonaws.com",
      "user:111122223333:alice",
    ]);
    expect(summary(ing)).toEqual(parsed(files));
  });
});
