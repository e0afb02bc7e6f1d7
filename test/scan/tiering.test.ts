import { describe, expect, it } from "vitest";
import { lightTiering } from "../../src/scan/tiering.js";

describe("lightTiering", () => {
  it("returns what the function returns, nested too", () => {
    expect(lightTiering(() => lightTiering(() => 41) + 1)).toBe(42);
  });

  it("passes the function's error on, and runs again after it", () => {
    expect(() =>
      lightTiering(() => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(lightTiering(() => "again")).toBe("again");
  });
});
