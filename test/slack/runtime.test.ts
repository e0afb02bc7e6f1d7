import { describe, expect, it, vi } from "vitest";
import { silentLogger } from "../../src/log.js";
import { Authorizer } from "../../src/slack/auth.js";
import { MessageBook } from "../../src/slack/context.js";
import { ReplayGuard, signedKey } from "../../src/slack/replay.js";
import { TrailStore } from "../../src/store/store.js";
import { QueueFullError, ScanRunner, Throttle } from "../../src/slack/runner.js";
import { deferred } from "./support/fixtures.js";

describe("ReplayGuard", () => {
  it("accepts a signature once within the window, forgets it after", () => {
    let now = 1_700_000_000_000;
    const g = new ReplayGuard(() => now, undefined, undefined, 6 * 60_000);
    const ts = now / 1000;
    expect(g.isReplay("v0=a", ts)).toBe(false);
    expect(g.isReplay("v0=a", ts)).toBe(true);
    expect(g.isReplay("v0=b", ts)).toBe(false);
    now += 5 * 60_000;
    expect(g.isReplay("v0=a", ts)).toBe(true);
    now += 2 * 60_000;
    expect(g.isReplay("v0=a", ts)).toBe(false); // out of Bolt's window anyway: Bolt refuses it
    expect(g.size).toBe(1);
  });

  it("keeps future-dated signatures until they leave the window, and stays bounded", () => {
    let now = 1_000_000;
    const g = new ReplayGuard(() => now, undefined, undefined, 1000, 3);
    expect(g.isReplay("f", (now + 10_000) / 1000)).toBe(false);
    now += 5000;
    expect(g.isReplay("f", 0)).toBe(true);
    for (const s of ["1", "2", "3", "4"]) g.isReplay(s, now / 1000);
    expect(g.size).toBe(3);
  });

  it("keeps accepted keys in the store: a new guard (a restart) refuses them until they expire", async () => {
    let now = 1_700_000_000_000;
    const store = TrailStore.memory();
    const g = new ReplayGuard(() => now, store, silentLogger);
    const key = signedKey(now / 1000, "token=x&text=scan");
    expect(key).toBe(signedKey(now / 1000, Buffer.from("token=x&text=scan")));
    expect(key).not.toBe(signedKey(now / 1000 + 1, "token=x&text=scan"));
    expect(g.isReplay(key, now / 1000)).toBe(false);
    await store.flush();
    expect(store.replayKeys(now).map(([k]) => k)).toEqual([key]);
    const again = new ReplayGuard(() => now, store, silentLogger);
    expect(again.isReplay(key, now / 1000)).toBe(true);
    now += 7 * 60_000;
    expect(store.replayKeys(now)).toEqual([]);
    expect(new ReplayGuard(() => now, store, silentLogger).isReplay(key, now / 1000)).toBe(false);
    await store.close();
  });
});

describe("ScanRunner", () => {
  it("runs at most N at once, queues the rest, refuses past the queue", async () => {
    const r = new ScanRunner(1, 1);
    const gate = deferred();
    const order: string[] = [];
    const a = r.submit(async () => {
      order.push("a");
      await gate.promise;
    });
    const queued = vi.fn();
    const b = r.submit(async () => void order.push("b"), queued);
    await Promise.resolve();
    expect(r.load).toEqual({ running: 1, waiting: 1 });
    expect(queued).toHaveBeenCalledWith(1);
    expect(r.accepting).toBe(false);
    await expect(r.submit(async () => undefined)).rejects.toBeInstanceOf(QueueFullError);
    gate.resolve();
    await Promise.all([a, b]);
    expect(order).toEqual(["a", "b"]);
    expect(r.load).toEqual({ running: 0, waiting: 0 });
  });

  it("shutdown aborts running and waiting jobs, which still run to report, and waits for them", async () => {
    const r = new ScanRunner(1, 5);
    const seen: boolean[] = [];
    const job = (signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        seen.push(signal.aborted);
        if (signal.aborted) return resolve();
        signal.addEventListener("abort", () => setTimeout(resolve, 20), { once: true });
      });
    const p1 = r.submit(job);
    const p2 = r.submit(job);
    await Promise.resolve();
    await r.shutdown("bye");
    expect(seen).toEqual([false, true]);
    await Promise.all([p1, p2]);
    await expect(r.submit(job)).rejects.toThrow("shutting down");
  });
});

describe("Throttle", () => {
  it("coalesces updates, one call at a time, ending with the latest; close drops pending", async () => {
    const sent: number[] = [];
    const gate = deferred();
    const t = new Throttle<number>(
      async (v) => {
        sent.push(v);
        if (v === 1) await gate.promise;
      },
      0,
      () => undefined,
    );
    t.push(1);
    await new Promise((r) => setTimeout(r, 5));
    t.push(2);
    t.push(3);
    gate.resolve();
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toEqual([1, 3]);
    t.push(4);
    await t.close();
    t.push(5);
    await new Promise((r) => setTimeout(r, 10));
    expect(sent).toEqual([1, 3]);
  });
});

describe("Authorizer", () => {
  const api = (groups: Record<string, string[]>, calls: string[]) => ({
    usergroups: {
      users: {
        list: async ({ usergroup }: { usergroup: string }) => {
          calls.push(usergroup);
          if (!groups[usergroup]) throw new Error("no_such_subteam");
          return { users: groups[usergroup] };
        },
      },
    },
    users: { info: async (_: { user: string }) => ({ user: { is_restricted: false } }) },
  });

  it("admins by user id or group membership (cached, fail closed); ack for anyone unless configured", async () => {
    let now = 0;
    const calls: string[] = [];
    const a = new Authorizer({
      admins: { users: ["U0A"], groups: ["S0BAD", "S0SEC"] },
      ackAnyone: true,
      api: api({ S0SEC: ["U0G"] }, calls),
      log: silentLogger,
      cacheMs: 1000,
      now: () => now,
    });
    expect(await a.check("U0A", "suppress")).toEqual({ allowed: true });
    expect(await a.check("U0G", "suppress")).toEqual({ allowed: true });
    expect((await a.check("U0X", "suppress")).allowed).toBe(false);
    expect((await a.check("U0X", "suppress")).reason).toContain("Only trailhound admins");
    // Acknowledging needs a viewer: without TRAILHOUND_VIEWERS, only admins.
    expect((await a.check("U0X", "ack")).allowed).toBe(false);
    expect(await a.check("U0A", "ack")).toEqual({ allowed: true });
    expect(calls.filter((c) => c === "S0SEC")).toHaveLength(1);
    now += 2000;
    await a.check("U0G", "suppress");
    expect(calls.filter((c) => c === "S0SEC")).toHaveLength(2);
    // The failing group is never cached as "no members": it is asked again, and denies meanwhile.
    expect(calls.filter((c) => c === "S0BAD").length).toBeGreaterThanOrEqual(3);

    const strict = new Authorizer({ admins: { users: ["U0A"], groups: [] }, ackAnyone: false, api: api({}, []), log: silentLogger });
    expect((await strict.check("U0X", "ack")).allowed).toBe(false);
    expect((await strict.check("U0A", "ack")).allowed).toBe(true);
    const viewers = new Authorizer({
      admins: { users: ["U0A"], groups: [] },
      viewers: { everyone: true, users: [], groups: [] },
      ackAnyone: true,
      api: api({}, []),
      log: silentLogger,
    });
    expect(await viewers.check("U0X", "ack")).toEqual({ allowed: true });
    const none = new Authorizer({ admins: { users: [], groups: [] }, ackAnyone: true, api: api({}, []), log: silentLogger });
    expect((await none.check("U0A", "suppress")).reason).toContain("none are configured");
  });
});

describe("MessageBook", () => {
  it("serialises work per message and keeps the newest blocks", async () => {
    const book = new MessageBook(2, 1000, () => 0);
    const order: number[] = [];
    const gate = deferred();
    const a = book.withLock("C", "1", async () => {
      await gate.promise;
      order.push(1);
    });
    const b = book.withLock("C", "1", async () => void order.push(2));
    const c = book.withLock("C", "2", async () => void order.push(3));
    await c;
    gate.resolve();
    await Promise.all([a, b]);
    expect(order).toEqual([3, 1, 2]);
    book.set("C", "1", "t", []);
    book.set("C", "2", "t", []);
    book.set("C", "3", "t", []);
    expect(book.get("C", "1")).toBeUndefined();
    expect(book.get("C", "3")).toEqual({ text: "t", blocks: [], at: 0 });
  });
});
