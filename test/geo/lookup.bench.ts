/**
 * Lookup speed of the offline resolver (not part of `vitest run`; no timed assertions anywhere).
 * Run: npx vitest bench --run test/geo/lookup.bench.ts
 * Workloads: hot (2 000 distinct addresses looked up again and again), skewed (20 000 distinct
 * addresses, a few very frequent, as in CloudTrail where most calls come from few addresses; the
 * cache is kept small, 5 000, so that misses happen), and cold (every lookup a new address spread
 * over the whole IPv4 space: worst case, decoder-cache misses too).
 */
import { bench, describe } from "vitest";
import { OfflineGeoResolver } from "../../src/geo/offline.js";
import { rng } from "../../src/util/rng.js";

const r = rng(7);
const randomIp = () => `${1 + Math.floor(r() * 222)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
const hot = Array.from({ length: 2000 }, randomIp);
const cold = Array.from({ length: 200_000 }, randomIp);
const geo = new OfflineGeoResolver().preload();
const coldGeo = new OfflineGeoResolver({ cacheSize: 16 }).preload();
const skewGeo = new OfflineGeoResolver({ cacheSize: 5000 }).preload();
const skewPool = Array.from({ length: 20_000 }, randomIp);
const skewed = Array.from({ length: 100_000 }, () => skewPool[Math.floor(skewPool.length * r() ** 3)]!);

describe("OfflineGeoResolver.lookup", () => {
  let i = 0;
  bench("10k lookups, 2 000 distinct addresses (cache hits)", () => {
    for (let k = 0; k < 10_000; k++) geo.lookup(hot[(i++ * 7919) % hot.length]!);
  });
  let s = 0;
  bench("10k lookups, 20 000 distinct addresses, skewed, cache of 5 000", () => {
    for (let k = 0; k < 10_000; k++) skewGeo.lookup(skewed[s++ % skewed.length]!);
  });
  let j = 0;
  bench(
    "10k lookups, all distinct (cache misses: mmdb + ASN binary search)",
    () => {
      for (let k = 0; k < 10_000; k++) coldGeo.lookup(cold[j++ % cold.length]!);
    },
    { time: 3000, warmupIterations: 20 },
  );
});
