import { describe, expect, it } from "vitest";
import { indexLike, listOf } from "../../src/baseline/dim-list.js";
import { dimEachFirst, dimSize, dimStat, mergeProfile, type Observed } from "../../src/baseline/merge.js";
import { DAY, DEFAULT_BASELINE_CONFIG, DIMS, emptyProfile, handOver, statRecord, type Dim, type Profile, type Stat } from "../../src/baseline/profile.js";
import { encodeBaseline } from "../../src/store/baselines.js";
import { PartData, packProfile, partJson, takePart, unpackFields, unpackedFields } from "../../src/store/pack.js";
import { rng } from "../../src/util/rng.js";
import { BaselineView } from "../../src/baseline/view.js";

// Stored dimensions kept as lists (dim-list.ts) must give exactly what their records give: the
// same merged profile (values in the same order, the same numbers), the same encoded bytes, and
// the same answers to the view's questions.

const NOW = Date.parse("2024-06-01T00:00:00Z");
// Small caps: merges that go past them are common here.
const cfg = { ...DEFAULT_BASELINE_CONFIG, caps: { ...DEFAULT_BASELINE_CONFIG.caps, session: 6, errorCode: 4, target: 8, assumedRole: 5, instanceType: 3 } };

/** A value of dimension `d`: from a small pool (so that the scan meets stored ones), odd ones now and then. */
function drawValue(r: () => number, d: Dim, odd: boolean): string {
  const k = Math.floor(r() * 14);
  if (odd && r() < 0.1) return ["__proto__", "constructor", "42", "7x", "toString", "0", "007", "4294967295", "4294967294", "123456789012-12"][Math.floor(r() * 10)]!;
  return `${d}-${k}`;
}

function storedProfile(seed: number, odd: boolean): Profile {
  const r = rng(seed);
  const p = emptyProfile(`user:1111:u${seed}`, "IAMUser");
  p.first = NOW - 120 * DAY;
  p.last = NOW - 3 * DAY;
  p.trainedUntil = NOW - 3 * DAY;
  p.events = 100;
  p.days = [Math.floor((NOW - 100 * DAY) / DAY), Math.floor((NOW - 3 * DAY) / DAY)];
  for (const d of DIMS) {
    const rec = statRecord();
    const n = Math.floor(r() * (cfg.caps[d] + 1));
    for (let i = 0; i < n; i++) {
      const first = NOW - Math.floor(r() * 110) * DAY - Math.floor(r() * 1000) * 1000;
      const last = Math.min(NOW - 3 * DAY, first + Math.floor(r() * 50) * DAY);
      rec[drawValue(r, d, odd)] = [Math.round(r() * 50) + (r() < 0.5 ? 0.5 : 0), Math.floor(r() * 3), first, last];
    }
    p.dims[d] = rec;
  }
  return p;
}

function observedFor(seed: number, odd: boolean, key: string): Observed {
  const r = rng(seed * 7 + 1);
  const vals = new Map<Dim, Map<string, [number, number, number, number]>>();
  for (const d of DIMS) {
    const m = new Map<string, [number, number, number, number]>();
    const n = Math.floor(r() * 9);
    for (let i = 0; i < n; i++) {
      const first = NOW - 2 * DAY + Math.floor(r() * 1000) * 1000;
      m.set(drawValue(r, d, odd), [1 + Math.floor(r() * 20), Math.floor(r() * 2), first, first + Math.floor(r() * 3600) * 1000]);
    }
    vals.set(d, m);
  }
  return {
    principal: { key, type: "IAMUser", accountId: "1111" },
    first: NOW - 2 * DAY,
    last: NOW - DAY,
    events: 20,
    errors: 1,
    denied: 0,
    hours: new Array<number>(24).fill(1),
    weekdays: new Array<number>(7).fill(2),
    breadthMax: 1,
    breadthBuckets: 2,
    days: [Math.floor((NOW - 2 * DAY) / DAY)],
    hourlyCounts: () => [Math.floor((NOW - DAY) / 3_600_000), 20, 1],
    eachValue: (d, fn) => vals.get(d)!.forEach((s, k) => void fn(k, s[0], s[1], s[2], s[3])),
  };
}

/** The stored profile decoded from its packed part, with lists (listed) or records. */
function decoded(p: Profile, listed: boolean, handed = true): Profile {
  const packed = packProfile(p, false)!;
  const part = JSON.parse(JSON.stringify(packed.packed)) as unknown;
  const out = unpackFields(JSON.parse(JSON.stringify(unpackedFields(p))) as Record<string, unknown>, part, true, listed) as unknown as Profile;
  // Handed over: mergeProfile changes it in place (its dims object re-used); else it makes new ones.
  return handed ? handOver(out) : out;
}

/** takePart's numbers and text, then the part's JSON (the encoder's path). */
function taken(p: Profile): { nums: number[]; text: string; json: string } {
  const into = new PartData();
  expect(takePart(p, into)).toBe(true);
  return { nums: [...into.nums.subarray(0, into.n)], text: into.text(), json: partJson(into.nums, 0, into.text(), 0).json };
}

describe("stored dimensions kept as lists", () => {
  it("decode to the same records, and answer the view as the records do", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const p = storedProfile(seed, seed % 3 === 0);
      const asLists = decoded(p, true);
      const asRecs = decoded(p, false);
      for (const d of DIMS) {
        expect(listOf(asLists.dims, d)).toBeDefined();
        expect(dimSize(asLists.dims, d)).toBe(Object.keys(asRecs.dims[d]).length);
        const firsts: Array<[string, number]> = [];
        dimEachFirst(asLists.dims, d, (v, f) => firsts.push([v, f]));
        expect(firsts).toEqual(Object.keys(asRecs.dims[d]).map((k) => [k, asRecs.dims[d][k]![2]]));
        for (const v of [...Object.keys(asRecs.dims[d]), `${d}-99`, "__proto__", "constructor"]) {
          expect(dimStat(asLists.dims, d, v)).toEqual(dimStat(asRecs.dims, d, v));
        }
        // The view's known values, most used first (ties in the record's order), without making the record.
        for (const ws of [NOW - 60 * DAY, NOW]) {
          expect(new BaselineView(asLists, ws, cfg).values(d)).toEqual(new BaselineView(asRecs, ws, cfg).values(d));
        }
        expect(listOf(asLists.dims, d)).toBeDefined();
      }
      expect(taken(asLists)).toEqual(taken(asRecs));
      // Read as records (the lists made into records then), in the same order.
      expect(JSON.stringify(asLists)).toBe(JSON.stringify(asRecs));
      for (const d of DIMS) expect(Object.keys(asLists.dims[d])).toEqual(Object.keys(asRecs.dims[d]));
      expect(listOf(asLists.dims, "target")).toBeUndefined();
    }
  });

  it("merge into the same profile and the same stored bytes as records, past the caps, with odd values", () => {
    let listsKept = 0;
    for (let seed = 1; seed <= 80; seed++) {
      const odd = seed % 2 === 0;
      const p = storedProfile(seed, odd);
      const obs = observedFor(seed, odd, p.key);
      const fromRecs = mergeProfile(decoded(p, false), obs, NOW, cfg);
      const fromLists = mergeProfile(decoded(p, true), obs, NOW, cfg);
      const notHanded = decoded(p, true, false);
      const fromShared = mergeProfile(notHanded, obs, NOW, cfg);
      for (const d of DIMS) if (listOf(fromLists.dims, d)) listsKept++;
      expect(fromShared.dims).not.toBe(notHanded.dims);
      expect(taken(fromShared)).toEqual(taken(fromRecs));
      // The profile it was merged from is as it was.
      expect(JSON.stringify(notHanded)).toBe(JSON.stringify(decoded(p, false)));
      // The encoder's path first (it reads the lists), then the records.
      expect(taken(fromLists)).toEqual(taken(fromRecs));
      expect(encodeBaseline(p.key, fromLists).bytes.equals(encodeBaseline(p.key, fromRecs).bytes)).toBe(true);
      expect(JSON.stringify(fromLists)).toBe(JSON.stringify(fromRecs));
      for (const d of DIMS) {
        const a = fromLists.dims[d];
        const b = fromRecs.dims[d];
        expect(Object.keys(a)).toEqual(Object.keys(b));
        for (const k of Object.keys(b)) expect(a[k]!.map((x: number) => (Object.is(x, -0) ? "-0" : x))).toEqual(b[k]!.map((x: number) => (Object.is(x, -0) ? "-0" : x)));
      }
    }
    // Most merged dimensions stayed lists (a value like "42" makes one a record).
    expect(listsKept).toBeGreaterThan(80 * DIMS.length * 0.6);
  });

  it("tell array indexes from other values", () => {
    for (const v of ["0", "7", "42", "4294967294", "1709478475"]) expect(indexLike(v)).toBe(true);
    for (const v of ["", "x", "007", "00", "4294967295", "12345678901", "123456789012-12", "7x", "-1", "1.5", "1e3"]) expect(indexLike(v)).toBe(false);
    // As V8 orders a record's keys: indexes first.
    const rec = statRecord();
    for (const v of ["x", "4294967295", "42", "007", "7"]) rec[v] = [1, 0, 0, 0];
    expect(Object.keys(rec)).toEqual(["7", "42", "x", "4294967295", "007"]);
  });

  it("a listed dimension assigned or read is a record from then on", () => {
    const p = decoded(storedProfile(5, false), true);
    const rec: Record<string, Stat> = statRecord();
    rec.x = [1, 0, NOW - DAY, NOW - DAY];
    p.dims.session = rec;
    expect(p.dims.session).toBe(rec);
    expect(listOf(p.dims, "session")).toBeUndefined();
    const t = p.dims.target;
    expect(p.dims.target).toBe(t);
    expect(listOf(p.dims, "target")).toBeUndefined();
    // A copy of the dims (spread) holds records only.
    const copy = { ...p.dims };
    expect(listOf(copy, "errorCode")).toBeUndefined();
    expect(Object.keys(copy)).toEqual([...DIMS]);
  });
});
