import { inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeBaseline, encodeBaseline, tableOf } from "../../src/store/baselines.js";
import { PACKED_FIELD, Prefetcher, packedSpan } from "../../src/store/prefetch.js";
import { PREFETCH_MIN } from "../../src/store/store.js";
import { DAY, T0, makeProfile, reopenedWith, tempDirEach } from "./helpers.js";

const dir = tempDirEach();

describe("stored profiles inflated ahead on a worker thread (prefetch.ts)", () => {
  it("decode to the same profiles as without, and only once asked for", async () => {
    const ps = Array.from({ length: PREFETCH_MIN + 20 }, (_, i) => makeProfile(`user:1:u${i}`, T0 - (i % 9) * DAY, 1 + (i % 23)));
    // Stored unpacked (a time in fractional milliseconds): nothing to inflate, decoded as usual.
    ps[3]!.dims.ip["198.51.100.9"] = [1, 0, T0 + 0.5, T0 + 0.5];
    const s = await reopenedWith(dir(), ps);
    const t = tableOf(s.data.baselines)!;
    const keys = ps.map((p) => p.key);
    for (const k of keys) s.prefetchBaseline(k);
    const pf = t.prefetcher!;
    expect(pf).toBeDefined();
    for (let waited = 0; pf.pending > 0 && waited < 15_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    expect(pf.pending).toBe(0);
    for (const k of keys) expect(s.readBaselineOnce(k)).toEqual(decodeBaseline(t.entry(k)!));
    expect(pf.taken).toBe(keys.length - 1);
    // Read again (a scan may decode a profile twice): still there, still the same.
    for (const k of keys) expect(s.readBaselineOnce(k)).toEqual(decodeBaseline(t.entry(k)!));
    expect(pf.taken).toBe(2 * (keys.length - 1));
    // A profile replaced meanwhile is decoded from its new entry.
    s.prefetchBaseline(keys[0]!);
    const changed = makeProfile(keys[0]!, T0, 2);
    await s.putBaselines([changed]);
    expect(s.readBaselineOnce(keys[0]!)).toEqual(changed);
    s.endPrefetch();
    expect(t.prefetcher).toBeUndefined();
    await s.close();
  });

  it("are taken without returning to the event loop (a scan may not, from its first record to its end)", async () => {
    const ps = Array.from({ length: PREFETCH_MIN + 300 }, (_, i) => makeProfile(`user:1:v${i}`, T0 - (i % 5) * DAY, 1 + (i % 17)));
    const s = await reopenedWith(dir(), ps);
    const t = tableOf(s.data.baselines)!;
    for (const p of ps) s.prefetchBaseline(p.key);
    const pf = t.prefetcher!;
    // Synchronously from here on: no timer, no promise, no I/O callback runs until the end.
    const sleep = new Int32Array(new SharedArrayBuffer(4));
    for (let waited = 0; pf.pending > 0 && waited < 15_000; waited += 5) {
      // A part asked for posts what is still queued (the partial last batch), then the replies are read.
      s.readBaselineOnce(ps[ps.length - 1]!.key);
      Atomics.wait(sleep, 0, 0, 5);
    }
    expect(pf.pending).toBe(0);
    const before = pf.taken;
    for (const p of ps) expect(s.readBaselineOnce(p.key)).toEqual(decodeBaseline(t.entry(p.key)!));
    expect(pf.taken - before).toBe(ps.length);
    s.endPrefetch();
    await s.close();
  });

  it("inflate parts as inflateRawSync does, large ones too, and leave a damaged part to the main thread", async () => {
    const big = makeProfile("user:1:big", T0, 3);
    // Enough values that the inflated part outgrows the worker's first output buffer (64 KB).
    for (let i = 0; i < 4000; i++) big.dims.ua[`agent/${i} (x${(i * 7919) % 10007})`] = [1 + (i % 5), i % 2, T0 - i * 1000, T0];
    const entries = [makeProfile("user:1:a", T0, 2), big, makeProfile("user:1:b", T0 - DAY, 5), makeProfile("user:1:c", T0, 1)].map((p) => encodeBaseline(p.key, p));
    // One part whose deflated bytes are cut short: it does not inflate.
    const [from, to] = packedSpan(entries[2]!)!;
    const text = entries[2]!.bytes.toString("latin1");
    const cut = `${text.slice(0, from + PACKED_FIELD.length)}${text.slice(from + PACKED_FIELD.length, to).slice(0, 40)}${text.slice(to)}`;
    const damaged = { bytes: Buffer.from(cut, "latin1"), valueAt: entries[2]!.valueAt };
    const list = [entries[0]!, entries[1]!, damaged, entries[3]!];
    const pf = new Prefetcher();
    try {
      for (const e of list) pf.add(e);
      for (let waited = 0; pf.pending > 0 && waited < 15_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      expect(pf.pending).toBe(0);
      for (const e of list) {
        const got = pf.peek(e);
        const [a, b] = packedSpan(e)!;
        let want: Buffer | undefined;
        try {
          want = inflateRawSync(Buffer.from(e.bytes.toString("latin1", a + PACKED_FIELD.length, b), "base64"));
        } catch {
          want = undefined;
        }
        if (want === undefined) expect(got).toBeUndefined();
        else expect(Buffer.compare(got!.buf.subarray(got!.start, got!.end), want)).toBe(0);
      }
      expect(pf.peek(entries[1]!)!.end - pf.peek(entries[1]!)!.start).toBeGreaterThan(64 * 1024);
    } finally {
      pf.close();
    }
  });
});
