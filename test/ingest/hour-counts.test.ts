import { describe, expect, it } from "vitest";
import { HourCounts } from "../../src/ingest/hour-counts.js";
import { rng } from "../../src/util/rng.js";
import { IdentityAcc, MStat } from "../../src/ingest/accumulator.js";
import type { EventFacts } from "../../src/events/types.js";

/** The reference: two Maps, as the accumulator kept them before. */
function reference(adds: Array<[number, number, number]>): { calls: Map<number, number>; errors: Map<number, number> } {
  const calls = new Map<number, number>();
  const errors = new Map<number, number>();
  for (const [h, c, e] of adds) {
    calls.set(h, (calls.get(h) ?? 0) + c);
    if (e) errors.set(h, (errors.get(h) ?? 0) + e);
  }
  return { calls, errors };
}

const sorted = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);

describe("HourCounts", () => {
  it("is empty at first", () => {
    const h = new HourCounts();
    expect(h.size).toBe(0);
    expect(h.toMaps()).toEqual({ calls: new Map(), errors: new Map() });
  });

  it("sums hours given in any order (in order, backwards, shuffled, repeated) like two Maps", () => {
    const r = rng(7);
    const base = 475_000;
    const orders: Array<Array<[number, number, number]>> = [];
    const inOrder: Array<[number, number, number]> = [];
    for (let i = 0; i < 500; i++) inOrder.push([base + i, 1 + (i % 3), i % 7 === 0 ? 1 : 0]);
    orders.push(inOrder, [...inOrder].reverse());
    const shuffled: Array<[number, number, number]> = [];
    for (let i = 0; i < 3000; i++) shuffled.push([base + Math.floor(r() * 400), 1 + Math.floor(r() * 5), r() < 0.1 ? 2 : 0]);
    orders.push(shuffled);
    for (const adds of orders) {
      const h = new HourCounts();
      for (const [hour, c, e] of adds) h.add(hour, c, e);
      const want = reference(adds);
      const got = h.toMaps();
      expect(h.size).toBe(want.calls.size);
      expect([...got.calls]).toEqual(sorted(want.calls));
      expect([...got.errors]).toEqual(sorted(want.errors));
    }
  });

  it("keeps counts beyond 32 bits and hours outside them exact", () => {
    const h = new HourCounts();
    h.add(10, 4_000_000_000, 0);
    h.add(11, 1, 0);
    h.add(10, 500_000_000, 3); // over 2^32 in total
    h.add(-5, 2, 1); // before 1970
    h.add(2 ** 40, 1, 0);
    const { calls, errors } = h.toMaps();
    expect([...calls]).toEqual([
      [-5, 2],
      [10, 4_500_000_000],
      [11, 1],
      [2 ** 40, 1],
    ]);
    expect([...errors]).toEqual([
      [-5, 1],
      [10, 3],
    ]);
  });
});

/** The accumulator's read breadth before the window, as it was computed with a Map (the reference). */
class MapBreadth {
  max = 0;
  buckets = 0;
  private readonly reads = new Map<number, string | Set<string>>();
  private foldAt = 256;
  private last = 0;
  add(bucket: number, api: string): void {
    this.last = bucket;
    const cur = this.reads.get(bucket);
    if (cur === undefined) {
      this.reads.set(bucket, api);
      if (this.reads.size >= this.foldAt) {
        const at = this.last;
        const keys = [...this.reads.keys()].sort((a, b) => Math.abs(a - at) - Math.abs(b - at));
        for (const k of keys.slice(32)) {
          this.note(this.reads.get(k)!);
          this.reads.delete(k);
        }
        this.foldAt = Math.max(256, this.reads.size * 2);
      }
    } else if (typeof cur === "string") {
      if (cur !== api) this.reads.set(bucket, new Set([cur, api]));
    } else cur.add(api);
  }
  private note(v: string | Set<string>): void {
    const r = typeof v === "string" ? 1 : v.size;
    if (r > this.max) this.max = r;
    this.buckets++;
  }
  foldAll(): void {
    for (const v of this.reads.values()) this.note(v);
    this.reads.clear();
  }
}

describe("the accumulator's read buckets before the window", () => {
  it("give the same breadth as the Map they replaced, folds and re-opened buckets included", () => {
    const r = rng(11);
    const BUCKET = 600_000;
    const t0 = Date.UTC(2024, 0, 1);
    for (const mode of ["ordered", "jittered", "shuffled", "wide", "far"] as const) {
      const acc = new IdentityAcc({ key: "user:1:bob", type: "IAMUser" }, -Infinity);
      const ref = new MapBreadth();
      for (let i = 0; i < 4000; i++) {
        const b =
          mode === "ordered"
            ? Math.floor(i / 3)
            : mode === "jittered"
              ? Math.max(0, Math.floor(i / 3) + Math.floor(r() * 40) - 20)
              : mode === "shuffled"
                ? Math.floor(r() * 900)
                : mode === "wide"
                  ? Math.floor(i / 200)
                  : // "far": bucket indexes past 32 bits from the middle on (a year beyond 42,000).
                    2 ** 31 - 700 + Math.floor(i / 3) - Math.floor(t0 / BUCKET);
        // "wide": up to 40 distinct reads in one bucket (past the array's limit, into a Set).
        const api = mode === "wide" ? `ec2:Describe${Math.floor(r() * 40)}` : `ec2:Describe${Math.floor(r() * 4)}`;
        const name = api.slice(4);
        acc.add(facts(t0 + b * BUCKET + 1000, api, name), undefined, false, Infinity, undefined);
        ref.add(Math.floor((t0 + b * BUCKET + 1000) / BUCKET), api);
      }
      acc.foldAll();
      ref.foldAll();
      expect([acc.breadthMax, acc.breadthBuckets], mode).toEqual([ref.max, ref.buckets]);
    }
  });

  it("frees what the scan learned on release, keeping the totals", () => {
    const acc = new IdentityAcc({ key: "user:1:bob", type: "IAMUser" }, -Infinity);
    const t0 = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 100; i++) acc.add(facts(t0 + i * 3_600_000, "ec2:DescribeInstances", "DescribeInstances"), undefined, false, Infinity, undefined);
    expect(acc.hourlyCounts().length).toBe(300);
    expect(acc.days.length).toBe(5);
    acc.release();
    expect(acc.events).toBe(100);
    expect(acc.hourlyCounts().length).toBe(0);
    expect(acc.days.length).toBe(0);
    expect(() => acc.dim("api")).toThrow(/release/);
  });
});

function facts(time: number, api: string, eventName: string): EventFacts {
  return {
    id: `e-${time}`,
    time,
    api,
    eventName,
    region: "eu-west-1",
    sourceIp: "10.0.0.1",
    ipKind: "private",
    uaFamily: "aws-cli/2",
    failed: false,
    denied: false,
    requestParameters: null,
    principal: {},
  };
}

describe("a value's window counts (MStat slots, failures kept apart)", () => {
  it("count every event, failure and denial inside the final window, through a moving window and out-of-order records", () => {
    const r = rng(5);
    const BUCKET = 600_000;
    const t0 = Date.UTC(2024, 0, 1);
    const acc = new IdentityAcc({ key: "user:1:bob", type: "IAMUser" }, -Infinity);
    const evs: Array<{ t: number; failed: boolean; denied: boolean }> = [];
    let newest = t0;
    for (let i = 0; i < 3000; i++) {
      // Mostly forwards, some records up to an hour late.
      const t = t0 + i * 60_000 - (r() < 0.2 ? Math.floor(r() * 3_600_000) : 0);
      const failed = r() < 0.1;
      const denied = failed && r() < 0.5;
      newest = Math.max(newest, t);
      const wmin = Math.floor((newest - 86_400_000 / 4) / BUCKET) * BUCKET;
      const f = { ...facts(t, "ec2:DescribeInstances", "DescribeInstances"), failed, denied, errorCode: failed ? "AccessDenied" : undefined };
      acc.add(f, undefined, t >= wmin, wmin, undefined);
      if (t >= wmin) evs.push({ t, failed, denied });
    }
    const wStart = Math.floor((newest - 86_400_000 / 4) / BUCKET) * BUCKET;
    const w = acc.toWindow(wStart, newest, () => undefined);
    const inside = evs.filter((e) => e.t >= Math.floor(e.t / BUCKET) * BUCKET && Math.floor(e.t / BUCKET) * BUCKET >= wStart);
    const api = w.apis.get("ec2:DescribeInstances")!;
    expect(api.n).toBe(inside.length);
    expect(api.err).toBe(inside.filter((e) => e.failed).length);
    expect(api.denied).toBe(inside.filter((e) => e.denied).length);
    expect(w.errorCodes.get("AccessDenied")!.n).toBe(inside.filter((e) => e.failed).length);
    expect(api.err).toBeGreaterThan(0);
  });
});

describe("a value's window slots (bucket index and count packed in one number)", () => {
  it("keep counts past the packed limit exact (a second slot for the bucket), before 1970 too, and through absorb", () => {
    const BUCKET = 600_000;
    const add = (s: MStat, bucket: number, n: number) => (s as unknown as { count(b: number, n: number, e: number, d: number, w: number): void }).count(bucket, n, 0, 0, -Infinity);
    const s = new MStat();
    const b = Math.floor(Date.UTC(2024, 0, 1) / BUCKET);
    add(s, b, 10_000_000);
    add(s, b, 10_000_000); // 20M: past 2^24 in one bucket
    add(s, b + 1, 3);
    add(s, -7, 2); // before 1970
    expect(s.windowStat(b * BUCKET)).toMatchObject({ n: 20_000_003, first: b * BUCKET, last: (b + 1) * BUCKET });
    expect(s.windowStat(-7 * BUCKET)!.n).toBe(20_000_005);
    const sum = new MStat();
    sum.absorb(s);
    sum.absorb(s);
    expect(sum.windowStat(b * BUCKET)!.n).toBe(40_000_006);
    expect(sum.windowStat((b + 1) * BUCKET)!.n).toBe(6);
  });
});

describe("the window's buckets (counts in 32-bit columns)", () => {
  it("keep a bucket's count exact past 2^31 (the columns widen to doubles)", () => {
    const acc = new IdentityAcc({ key: "user:1:bob", type: "IAMUser" }, -Infinity);
    const t0 = Date.UTC(2024, 0, 1);
    acc.add(facts(t0, "ec2:DescribeInstances", "DescribeInstances"), undefined, true, t0 - 86_400_000, undefined);
    // As if 2^31 - 1 events had been counted in the bucket (white box: its count column).
    const win = (acc as unknown as { win: { c: Int32Array } }).win;
    expect(win.c).toBeInstanceOf(Int32Array);
    win.c[1] = 2 ** 31 - 1;
    acc.add({ ...facts(t0 + 1000, "ec2:DescribeInstances", "DescribeInstances"), id: "second" }, undefined, true, t0 - 86_400_000, undefined);
    expect(win.c).toBeInstanceOf(Float64Array);
    const w = acc.toWindow(t0 - 86_400_000, t0 + 1000, () => undefined);
    expect(w.buckets.map((b) => [b.start, b.n, b.ids])).toEqual([[t0, 2 ** 31, [`e-${t0}`, "second"]]]);
  });
});
