import { describe, it, expect } from "vitest";
import { DEFAULT_BASELINE_CONFIG, emptyProfile, type Stat } from "../../src/baseline/profile.js";
import { BaselineView } from "../../src/baseline/view.js";
import { packProfile, unpackProfile } from "../../src/store/pack.js";
import { decodeBaseline, encodeBaseline } from "../../src/store/baselines.js";

const NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty"];

describe("values named like Object.prototype's members", () => {
  it("are not known to a baseline that never saw them (no inherited member read)", () => {
    const v = new BaselineView(emptyProfile("k", "IAMUser"), 1_000, DEFAULT_BASELINE_CONFIG);
    for (const n of NAMES) {
      expect(v.known("session", n)).toBe(false);
      expect(v.stat("ua", n)).toBeUndefined();
    }
  });

  it("round-trip through pack/unpack and an unpacked stored form, with the JSON of a plain object", () => {
    const p = emptyProfile("k", "IAMUser");
    p.first = 1_000;
    p.last = 5_000;
    p.trainedUntil = 5_000;
    NAMES.forEach((n, i) => {
      p.dims.session[n] = [i + 1, 0, 1_000, 5_000] as Stat;
    });
    expect(Object.keys(p.dims.session)).toEqual(NAMES);
    // The same bytes as a plain object holding these own keys would give.
    const plain = JSON.parse(`{${NAMES.map((n, i) => `"${n}":[${i + 1},0,1000,5000]`).join(",")}}`) as unknown;
    expect(JSON.stringify(p.dims.session)).toBe(JSON.stringify(plain));
    const back = unpackProfile(JSON.parse(JSON.stringify(packProfile(p)))) as { dims: Record<string, Record<string, Stat>> };
    expect(Object.keys(back.dims.session!)).toEqual(NAMES);
    expect(Object.getPrototypeOf(back.dims.session)).toBeNull();
    // A profile stored unpacked (a non-integer time): its dims are made prototype-less on decode.
    p.dims.session.x = [1, 0, 1_000.5, 5_000];
    const e = encodeBaseline("k", p);
    expect(e.bytes.toString()).not.toContain('"packed"');
    const d = decodeBaseline(e);
    expect(Object.getPrototypeOf(d.dims.session)).toBeNull();
    expect(d.dims.session[NAMES[0]!]).toEqual([1, 0, 1_000, 5_000]);
    expect(Object.keys(d.dims.session)).toEqual([...NAMES, "x"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
