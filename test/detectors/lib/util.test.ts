import { describe, expect, test } from "vitest";
import { get, thousands } from "../../../src/detectors/lib/util.js";

describe("thousands", () => {
  test("writes what toLocaleString('en-US') writes for non-negative integers", () => {
    const xs = [0, 7, 12, 999, 1000, 1001, 12_345, 100_000, 999_999, 1_000_000, 1_234_567, 98_765_432_109];
    for (let i = 1; i < 16; i++) xs.push(10 ** i - 1, 10 ** i, 3 * 10 ** i + 7);
    for (const n of xs) expect(thousands(n)).toBe(n.toLocaleString("en-US"));
    expect(thousands(1_234_567)).toBe("1,234,567");
  });
});

describe("get", () => {
  test("finds a key in any case, as lowering every key and comparing would", () => {
    const o = { BucketName: 1, instancesSet: 2, "\u212Aey": 3, "\u0130d": 4, maxcount: 5 };
    const slow = (key: string) => {
      if (key in o) return o[key as keyof typeof o];
      for (const k of Object.keys(o)) if (k.toLowerCase() === key.toLowerCase()) return o[k as keyof typeof o];
      return undefined;
    };
    // The Kelvin sign lowers to an ASCII k; U+0130 lowers to two code units ("i" and a combining dot).
    for (const key of ["bucketName", "BUCKETNAME", "instancesset", "key", "KEY", "id", "i\u0307d", "maxCount", "missing", "\u0130D"]) expect(get(o, key)).toBe(slow(key));
    expect(get(o, "key")).toBe(3);
    expect(get(o, "i\u0307d")).toBe(4);
  });
});
