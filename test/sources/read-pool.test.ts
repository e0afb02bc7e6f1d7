/**
 * The read pool's workers hand files over in slots of memory they fill again (read-worker.ts): a
 * slot is given again only once released, so the bytes of files not yet released stay as read.
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ReadPool, type PoolRead } from "../../src/sources/read-pool.js";

describe("read pool", () => {
  it("keeps each file's bytes until released, whatever the workers read meanwhile", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "th-pool-"));
    // Growing sizes: later files need bigger slots than earlier ones.
    const texts = Array.from({ length: 12 }, (_, i) => JSON.stringify({ Records: Array.from({ length: 50 * (i + 1) }, (_, j) => ({ n: i, j, pad: "x".repeat(i * 7) })) }));
    const paths = texts.map((t, i) => {
      const p = join(dir, `f${i}.json${i % 3 === 2 ? "" : ".gz"}`);
      writeFileSync(p, i % 3 === 2 ? t : gzipSync(t));
      return p;
    });
    const pool = new ReadPool(2, { maxBytes: 1 << 26, big: 1 << 23 });
    try {
      const bytes = (r: PoolRead) => {
        expect(r.kind).toBe("bytes");
        return r.kind === "bytes" ? r : undefined!;
      };
      // Six files asked at once, none released: each still holds its own text after all are read.
      const first = (await Promise.all(paths.slice(0, 6).map((p) => pool.read(p)))).map(bytes);
      for (let i = 0; i < 6; i++) expect(first[i]!.bytes.toString("utf8"), `file ${i}`).toBe(texts[i]);
      // Release three, read six more (reusing and growing the released slots), check all held ones.
      for (const r of first.slice(0, 3)) r.release();
      const second = (await Promise.all(paths.slice(6).map((p) => pool.read(p)))).map(bytes);
      for (let i = 3; i < 6; i++) expect(first[i]!.bytes.toString("utf8"), `file ${i}, held`).toBe(texts[i]);
      for (let i = 0; i < 6; i++) expect(second[i]!.bytes.toString("utf8"), `file ${6 + i}`).toBe(texts[6 + i]);
      for (const r of [...first.slice(3), ...second]) r.release();
      // And again, from the reused slots.
      const third = (await Promise.all(paths.map((p) => pool.read(p)))).map(bytes);
      for (let i = 0; i < 12; i++) expect(third[i]!.bytes.toString("utf8"), `file ${i}, again`).toBe(texts[i]);
    } finally {
      await pool.close();
    }
  });
});
