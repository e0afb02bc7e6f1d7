/**
 * The read pool's workers hand files over in a ring of memory they fill again (read-worker.ts):
 * memory is filled again only once the files in it are released (in order), so the bytes of
 * files not yet released stay as read, and a worker waits for room rather than grow the ring.
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ReadPool, type PoolRead } from "../../src/sources/read-pool.js";

type Bytes = Extract<PoolRead, { kind: "bytes" }>;
const bytes = (r: PoolRead): Bytes => {
  expect(r.kind).toBe("bytes");
  return r as Bytes;
};

/** Files of these texts in a new directory, every third one not compressed. */
function write(texts: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), "th-pool-"));
  return texts.map((t, i) => {
    const p = join(dir, `f${i}.json${i % 3 === 2 ? "" : ".gz"}`);
    writeFileSync(p, i % 3 === 2 ? t : gzipSync(t));
    return p;
  });
}

const doc = (i: number, records: number, pad: number) => JSON.stringify({ Records: Array.from({ length: records }, (_, j) => ({ n: i, j, pad: "x".repeat(pad) })) });

describe("read pool", () => {
  it("keeps each file's bytes until released, whatever the workers read meanwhile", { timeout: 60_000 }, async () => {
    // Growing sizes: later files take more of the ring than earlier ones.
    const texts = Array.from({ length: 12 }, (_, i) => doc(i, 50 * (i + 1), i * 7));
    const paths = write(texts);
    const pool = new ReadPool(2, { maxBytes: 1 << 26, big: 1 << 23 });
    try {
      // Six files asked at once, none released: each still holds its own text after all are read.
      const first = (await Promise.all(paths.slice(0, 6).map((p) => pool.read(p)))).map(bytes);
      for (let i = 0; i < 6; i++) expect(first[i]!.bytes.toString("utf8"), `file ${i}`).toBe(texts[i]);
      // Release three, read six more, check all held ones.
      for (const r of first.slice(0, 3)) r.release();
      const second = (await Promise.all(paths.slice(6).map((p) => pool.read(p)))).map(bytes);
      for (let i = 3; i < 6; i++) expect(first[i]!.bytes.toString("utf8"), `file ${i}, held`).toBe(texts[i]);
      for (let i = 0; i < 6; i++) expect(second[i]!.bytes.toString("utf8"), `file ${6 + i}`).toBe(texts[6 + i]);
      for (const r of [...first.slice(3), ...second]) r.release();
      // And again.
      const third = (await Promise.all(paths.map((p) => pool.read(p)))).map(bytes);
      for (let i = 0; i < 12; i++) expect(third[i]!.bytes.toString("utf8"), `file ${i}, again`).toBe(texts[i]);
    } finally {
      await pool.close();
    }
  });

  it("fills a small ring again and again as files are released, the held ones intact", { timeout: 60_000 }, async () => {
    // 40 files of ~20 KB (the first the largest: the ring is sized from it), all asked at once, in a
    // ring of a few of them: the worker waits for room.
    const texts = Array.from({ length: 40 }, (_, i) => doc(i, 330 - (i % 5) * 7, 30));
    const paths = write(texts);
    const pool = new ReadPool(1, { maxBytes: 1 << 26, big: 1 << 23, ring: 1 });
    try {
      const asked = paths.map((p) => pool.read(p));
      let held: Bytes | undefined;
      const rings = new Set<ArrayBufferLike>();
      for (let i = 0; i < texts.length; i++) {
        const r = bytes(await asked[i]!);
        rings.add(r.bytes.buffer);
        expect(r.bytes.toString("utf8"), `file ${i}`).toBe(texts[i]);
        if (held) expect(held.bytes.toString("utf8"), `file ${i - 1}, held while ${i} was read`).toBe(texts[i - 1]);
        held?.release();
        held = r;
      }
      held?.release();
      // One ring for all of them (it did not grow), though they are many times its size.
      expect(rings.size).toBe(1);
      const ring = [...rings][0]!;
      expect(texts.reduce((n, t) => n + t.length, 0)).toBeGreaterThan(5 * ring.byteLength);
    } finally {
      await pool.close();
    }
  });

  it("grows the ring for a large file, and keeps the files of the old one", { timeout: 60_000 }, async () => {
    const texts = [doc(0, 100, 10), doc(1, 100, 10), doc(2, 4000, 200), doc(3, 100, 10)];
    const paths = write(texts);
    const pool = new ReadPool(1, { maxBytes: 1 << 26, big: 1 << 23, ring: 1 });
    try {
      const got = (await Promise.all(paths.map((p) => pool.read(p)))).map(bytes);
      for (let i = 0; i < texts.length; i++) expect(got[i]!.bytes.toString("utf8"), `file ${i}`).toBe(texts[i]);
      expect(got[2]!.bytes.buffer).not.toBe(got[0]!.bytes.buffer);
      expect(got[3]!.bytes.buffer).toBe(got[2]!.bytes.buffer);
      for (const r of got) r.release();
    } finally {
      await pool.close();
    }
  });

  it("an answer that comes while the pool closes, after its ring is let go, sends the file back to the main thread", { timeout: 60_000 }, async () => {
    const texts = [doc(0, 20, 5)];
    const paths = write(texts);
    const pool = new ReadPool(1, { maxBytes: 1 << 26, big: 1 << 23 });
    // The pool's own state, as close() leaves it while it waits for the worker to end: the ring let
    // go of, a file still owed (the race is timing's in a real close: here it is made on purpose).
    type Inner = {
      slots: Array<{ worker: { emit(e: string, m: unknown): boolean }; ring?: SharedArrayBuffer; inFlight: number }>;
      waiting: Map<number, { slot: unknown; resolve: (r: PoolRead) => void }>;
    };
    const inner = pool as unknown as Inner;
    try {
      const got = bytes(await pool.read(paths[0]!));
      expect(got.bytes.toString("utf8")).toBe(texts[0]);
      got.release();
      const slot = inner.slots[0]!;
      expect(slot.ring).toBeInstanceOf(SharedArrayBuffer);
      delete slot.ring;
      slot.inFlight++;
      const late = new Promise<PoolRead>((resolve) => inner.waiting.set(1_000_000, { slot, resolve }));
      const times = { read: 0, gunzip: 0, prepare: 0, copy: 0, full: 0 };
      expect(() => slot.worker.emit("message", { kind: "shared", seq: 1_000_000, at: 0, length: 4, rawLength: 4, file: 1, prepared: null, times })).not.toThrow();
      expect(await late).toEqual({ kind: "main" });
    } finally {
      await pool.close();
    }
  });
});
