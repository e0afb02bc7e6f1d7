import { describe, expect, it } from "vitest";
import { LimiterRegistry, RateLimiter, realSleep, type Sleep } from "../../src/sources/rate-limiter.js";

/** Virtual time: a sleep resolves when it is the earliest pending one, and moves the clock there. */
function virtualTime(start = 1_000_000) {
  let t = start;
  const timers: Array<{ wake: number; seq: number; resolve: () => void }> = [];
  let seq = 0;
  let scheduled = false;
  const pump = (): void => {
    scheduled = false;
    if (timers.length === 0) return;
    timers.sort((a, b) => a.wake - b.wake || a.seq - b.seq);
    const next = timers.shift()!;
    t = Math.max(t, next.wake);
    next.resolve();
    kick();
  };
  const kick = (): void => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(pump);
    }
  };
  const sleep: Sleep = (ms) =>
    new Promise<void>((resolve) => {
      timers.push({ wake: t + Math.max(0, ms), seq: seq++, resolve });
      kick();
    });
  return { clock: { now: () => t }, sleep, advance: (ms: number) => (t += ms) };
}

describe("RateLimiter", () => {
  it("spaces grants at least intervalMs apart, first come first served", async () => {
    const vt = virtualTime();
    const l = new RateLimiter({ intervalMs: 500, clock: vt.clock, sleep: vt.sleep });
    const grants: Array<{ who: number; at: number }> = [];
    await Promise.all(
      [0, 1, 2, 3, 4].map(async (who) => {
        await l.acquire();
        grants.push({ who, at: vt.clock.now() });
      }),
    );
    expect(grants.map((g) => g.who)).toEqual([0, 1, 2, 3, 4]);
    const t0 = grants[0]!.at;
    expect(grants.map((g) => g.at - t0)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(l.stats.grants).toBe(5);
  });

  it("measures spacing from the actual grant, so a late caller does not get two quick slots", async () => {
    const vt = virtualTime();
    const l = new RateLimiter({ intervalMs: 500, clock: vt.clock, sleep: vt.sleep });
    await l.acquire();
    vt.advance(700); // caller was slow: the next slot is free at once
    await l.acquire();
    const second = vt.clock.now();
    await l.acquire();
    expect(vt.clock.now() - second).toBe(500);
  });

  it("defer() holds back every user of the limiter", async () => {
    const vt = virtualTime();
    const l = new RateLimiter({ intervalMs: 500, clock: vt.clock, sleep: vt.sleep });
    await l.acquire();
    const t0 = vt.clock.now();
    l.defer(3000);
    await l.acquire();
    expect(vt.clock.now() - t0).toBe(3000);
    expect(l.stats.deferrals).toBe(1);
  });

  it("markSent() spaces the next grant from when the request really left", async () => {
    const vt = virtualTime();
    const l = new RateLimiter({ intervalMs: 500, clock: vt.clock, sleep: vt.sleep });
    await l.acquire();
    const granted = vt.clock.now();
    vt.advance(40); // SDK set-up and signing took 40 ms
    l.markSent();
    await l.acquire();
    expect(vt.clock.now() - granted).toBe(540);
    l.markSent(vt.clock.now() - 1000); // never earlier
    const t = vt.clock.now();
    await l.acquire();
    expect(vt.clock.now() - t).toBe(500);
  });

  it("an aborted waiter leaves the queue and the others keep their order", async () => {
    const vt = virtualTime();
    const l = new RateLimiter({ intervalMs: 500, clock: vt.clock, sleep: vt.sleep });
    await l.acquire();
    const ac = new AbortController();
    const order: string[] = [];
    const a = l.acquire(ac.signal).then(
      () => order.push("a"),
      () => order.push("a-aborted"),
    );
    const b = l.acquire().then(() => order.push("b"));
    ac.abort();
    await Promise.all([a, b]);
    expect(order).toEqual(["a-aborted", "b"]);
    expect(l.stats.grants).toBe(2);
  });

  it("rejects a non-positive interval", () => {
    expect(() => new RateLimiter({ intervalMs: 0 })).toThrow(RangeError);
  });

  it("works with the real clock: three grants span at least two intervals", async () => {
    const l = new RateLimiter({ intervalMs: 20 });
    // Only a lower bound: a busy machine can delay resumption, never make grants closer.
    const start = performance.now();
    for (let i = 0; i < 3; i++) await l.acquire();
    expect(performance.now() - start).toBeGreaterThanOrEqual(40);
  });

  it("realSleep rejects on abort", async () => {
    const ac = new AbortController();
    const p = realSleep(10_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toBeDefined();
  });
});

describe("LimiterRegistry", () => {
  it("returns one shared limiter per key and separate ones for other keys", async () => {
    const vt = virtualTime();
    const reg = new LimiterRegistry({ intervalMs: 500, clock: vt.clock, sleep: vt.sleep });
    expect(reg.get("1/us-east-1")).toBe(reg.get("1/us-east-1"));
    expect(reg.get("1/us-east-1")).not.toBe(reg.get("1/eu-west-1"));
    const t0 = vt.clock.now();
    // Two "scans" on the same key share the budget; another region is not slowed by them.
    const same: number[] = [];
    const other: number[] = [];
    await Promise.all([
      (async () => {
        for (let i = 0; i < 2; i++) {
          await reg.get("1/us-east-1").acquire();
          same.push(vt.clock.now() - t0);
        }
      })(),
      (async () => {
        for (let i = 0; i < 2; i++) {
          await reg.get("1/us-east-1").acquire();
          same.push(vt.clock.now() - t0);
        }
      })(),
      (async () => {
        await reg.get("1/eu-west-1").acquire();
        other.push(vt.clock.now() - t0);
      })(),
    ]);
    expect(same.sort((a, b) => a - b)).toEqual([0, 500, 1000, 1500]);
    expect(other).toEqual([0]);
    expect(reg.keys().sort()).toEqual(["1/eu-west-1", "1/us-east-1"]);
  });
});
