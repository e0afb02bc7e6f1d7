import { describe, expect, test } from "vitest";
import { thousands } from "../../../src/detectors/lib/util.js";

describe("thousands", () => {
  test("writes what toLocaleString('en-US') writes for non-negative integers", () => {
    const xs = [0, 7, 12, 999, 1000, 1001, 12_345, 100_000, 999_999, 1_000_000, 1_234_567, 98_765_432_109];
    for (let i = 1; i < 16; i++) xs.push(10 ** i - 1, 10 ** i, 3 * 10 ** i + 7);
    for (const n of xs) expect(thousands(n)).toBe(n.toLocaleString("en-US"));
    expect(thousands(1_234_567)).toBe("1,234,567");
  });
});
