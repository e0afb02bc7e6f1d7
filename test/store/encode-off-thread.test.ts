import type { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import type { Profile } from "../../src/baseline/profile.js";
import { decodeBaseline, encodeBaseline } from "../../src/store/baselines.js";
import { BaselineEncoder, OFF_THREAD_MIN, encodeBaselines } from "../../src/store/encode-off-thread.js";
import { isReleased } from "../../src/baseline/released.js";
import { DAY, T0, makeProfile } from "./helpers.js";

/** Profiles of varied sizes, a value named like Object.prototype's members, one that cannot be packed (a time in fractional ms). */
function profiles(n: number): Profile[] {
  const out: Profile[] = [];
  for (let i = 0; i < n; i++) {
    const p = makeProfile(`user:111122223333:u${i}`, T0 - (i % 50) * DAY, 1 + (i % 37));
    for (let k = 0; k < (i % 7) * 40; k++) p.dims.session[`s-${i}-${k}`] = [k + 0.5, k % 3, T0 - k * 1000, T0 - k * 500];
    if (i % 11 === 0) Object.defineProperty(p.dims.api, "__proto__", { value: [3, 0, T0 - DAY, T0], enumerable: true, writable: true, configurable: true });
    if (i === 5) p.dims.ip["198.51.100.1"] = [1, 0, T0 + 0.5, T0 + 0.5];
    if (i % 13 === 0) p.arn = `arn:aws:iam::111122223333:user/u${i}`;
    // Text that is not ASCII (two- and four-byte UTF-8), and a lone surrogate (not UTF-8 at all).
    if (i % 17 === 3) p.dims.ua[`caf\u00e9 \ud83d\ude00 ${i}`] = [2, 0, T0 - DAY, T0];
    if (i % 19 === 4) p.dims.ua[`x\udc00${i}`] = [1, 0, T0 - DAY, T0];
    out.push(p);
  }
  return out;
}

describe("encodeBaselines (deflating shared with a worker thread)", () => {
  it("gives the bytes, digests and facts of encodeBaseline, in order, with and without the worker", async () => {
    const ps = profiles(OFF_THREAD_MIN * 2 + 17);
    const want = ps.map((p) => encodeBaseline(p.key, p));
    for (const [threads, workerOnly] of [
      [1, false],
      [2, false],
      [2, true],
    ] as const) {
      const stats = { byWorker: -1 };
      const got = await encodeBaselines(ps, { threads, workerOnly, stats });
      if (threads === 1) expect(stats.byWorker).toBe(0);
      if (workerOnly) expect(stats.byWorker).toBe(ps.length - 1); // all but the one stored unpacked
      expect(got.map(([k]) => k)).toEqual(ps.map((p) => p.key));
      got.forEach(([, e], i) => {
        expect(e.bytes.equals(want[i]!.bytes)).toBe(true);
        expect(e.digest).toBe(want[i]!.digest);
        expect(e.valueAt).toBe(want[i]!.valueAt);
        expect(e.facts).toEqual(want[i]!.facts);
      });
      expect(decodeBaseline(got[5]![1]).dims.ip["198.51.100.1"]).toEqual([1, 0, T0 + 0.5, T0 + 0.5]);
      expect(Object.keys(decodeBaseline(got[11]![1]).dims.api)).toContain("__proto__");
    }
  });

  it("validates every profile before starting: an invalid one throws synchronously", () => {
    const ps = profiles(OFF_THREAD_MIN + 1);
    ps[OFF_THREAD_MIN]!.events = Number.NaN;
    expect(() => encodeBaselines(ps, { threads: 2 })).toThrow(/events is not a finite number/);
  });

  it("names a bad hourly row or active day (checked while packing)", () => {
    const bad: Array<[string, (p: Profile) => void, RegExp]> = [
      ["calls NaN", (p) => p.hourly.push([1_000_000, Number.NaN, 0]), /hourly is not a finite number/],
      ["a row of two", (p) => (p.hourly as unknown[]).push([1_000_000, 1]), /hourly has an entry that is not \[hour, calls, errors\]/],
      ["a day that is a string", (p) => (p.days as unknown[]).push("x"), /days is not a finite number/],
    ];
    for (const [what, spoil, message] of bad) {
      const ps = profiles(3);
      spoil(ps[2]!);
      expect(() => encodeBaselines(ps, { threads: 1 }), what).toThrow(message);
    }
  });

  it("encodes profiles added ahead as they were last added; changed ones added again, the others at finish", async () => {
    const ps = profiles(OFF_THREAD_MIN * 2 + 17);
    for (const [threads, workerOnly] of [
      [1, false],
      [2, false],
      [2, true],
    ] as const) {
      const copies = ps.map((p) => structuredClone(p));
      const stats = { byWorker: -1 };
      const enc = new BaselineEncoder({ threads, workerOnly, stats });
      // Every other profile added ahead; some of those changed and added again (values held back),
      // one changed and added with a value that does not validate (its error comes at finish).
      copies.forEach((p, i) => {
        if (i % 2 === 0) enc.add(p);
      });
      for (const i of [0, 64, 130, 300]) {
        copies[i]!.events += 1;
        copies[i]!.dims.api["held-back"] = [1, 0, T0, T0];
        enc.add(copies[i]!);
      }
      const want = copies.map((p) => encodeBaseline(p.key, p));
      const got = await enc.finish(copies);
      if (workerOnly) expect(stats.byWorker).toBeGreaterThanOrEqual(ps.length - 1);
      expect(got.map(([k]) => k)).toEqual(copies.map((p) => p.key));
      got.forEach(([, e], i) => {
        expect(e.bytes.equals(want[i]!.bytes), `profile ${i}`).toBe(true);
        expect(e.digest).toBe(want[i]!.digest);
        expect(e.facts).toEqual(want[i]!.facts);
      });
    }
  });

  it("a profile added ahead lets go of its dims and hourly rows, and gives them back equal when read (or changed)", async () => {
    const ps = profiles(OFF_THREAD_MIN + 40);
    for (const p of ps) p.hourly.push([480_000 + p.hourly.length, 3, 1], [480_100, 2.5, 0]);
    const want = ps.map((p) => structuredClone(p));
    const enc = new BaselineEncoder({ threads: 1 });
    for (const p of ps) enc.add(p);
    ps.forEach((p, i) => {
      // All but the profile stored unpacked (a fractional time), whose history stays as it is.
      expect(isReleased(p), `profile ${i}`).toBe(i !== 5);
      expect(Object.keys(p)).toEqual(Object.keys(want[i]!));
    });
    // In a sealed batch (0, 11: a value named __proto__) and still pending (the last ones).
    for (const i of [0, 11, 255, 256, OFF_THREAD_MIN + 39]) {
      expect(JSON.stringify(ps[i]), `profile ${i}`).toBe(JSON.stringify(want[i]));
      expect(isReleased(ps[i]!)).toBe(false);
      expect(Object.keys(ps[i]!.dims.api)).toEqual(Object.keys(want[i]!.dims.api));
    }
    // Changed after it was added (values held back), then added again: encoded as the unreleased copy changed the same way.
    for (const p of [ps[22]!, want[22]!]) {
      p.dims.api["held-back"] = [1, 0, T0, T0];
      p.hourly = p.hourly.slice(1);
    }
    enc.add(ps[22]!);
    const got = await enc.finish(ps);
    got.forEach(([, e], i) => {
      expect(e.bytes.equals(encodeBaseline(want[i]!.key, want[i]!).bytes), `profile ${i}`).toBe(true);
    });
    // Read once encoded (the packed parts let go of): restored from the entry.
    for (const i of [40, OFF_THREAD_MIN + 20]) {
      expect(isReleased(ps[i]!)).toBe(true);
      expect(JSON.stringify(ps[i]), `profile ${i}`).toBe(JSON.stringify(want[i]));
    }
  });

  it("a profile added ahead that does not validate throws at finish, synchronously", () => {
    const ps = profiles(OFF_THREAD_MIN + 1);
    const enc = new BaselineEncoder({ threads: 2 });
    ps[3]!.events = Number.NaN;
    for (const p of ps) enc.add(p);
    expect(() => enc.finish(ps)).toThrow(/events is not a finite number/);
  });

  it("a worker that exits, at once or after its first batch, leaves what it owes to the main thread: the same bytes", async () => {
    const ps = profiles(OFF_THREAD_MIN * 3 + 5);
    const want = ps.map((p) => encodeBaseline(p.key, p));
    for (const [what, onWorker] of [
      ["at once", (w: Worker) => void w.terminate()],
      ["after its first batch", (w: Worker) => w.once("message", () => void w.terminate())],
    ] as const) {
      const stats = { byWorker: -1 };
      const enc = new BaselineEncoder({ threads: 2, workerOnly: true, stats, onWorker });
      for (const p of ps) enc.add(p);
      const got = await enc.finish(ps);
      expect(stats.byWorker, what).toBeLessThan(ps.length - 1);
      got.forEach(([k, e], i) => {
        expect(k).toBe(ps[i]!.key);
        expect(e.bytes.equals(want[i]!.bytes), `${what}: profile ${i}`).toBe(true);
        expect(e.digest).toBe(want[i]!.digest);
      });
    }
  });

  it("abandon (a scan that will not be saved): its worker ends now, and later profiles are not taken", async () => {
    const ps = profiles(OFF_THREAD_MIN * 2);
    let worker: Worker | undefined;
    const enc = new BaselineEncoder({ threads: 2, onWorker: (w) => (worker = w) });
    for (const p of ps) enc.add(p);
    expect(worker).toBeDefined();
    const exited = new Promise<number>((resolve) => worker!.once("exit", resolve));
    enc.abandon();
    await exited;
    enc.add(ps[0]!); // ignored: no worker is started again
    expect(worker!.threadId).toBe(-1); // a thread that has ended
  });
});
