import { describe, expect, it } from "vitest";
import { IdSessions } from "../../src/ingest/accumulator.js";

describe("IdSessions", () => {
  it("reads as a Map given the same pairs in the same order would (a repeated id keeps its place, takes its last session)", () => {
    const pairs: Array<[string, string]> = [
      ["e1", "s1"],
      ["e2", "s2"],
      ["e1", "s3"],
      ["e4", "s1"],
    ];
    const lazy = new IdSessions();
    const map = new Map<string, string>();
    for (const [id, s] of pairs) {
      lazy.set(id, s);
      map.set(id, s);
    }
    expect(lazy.size).toBe(3);
    expect([...lazy]).toEqual([...map]);
    expect(lazy.get("e1")).toBe("s3");
    expect(lazy.has("e3")).toBe(false);
    // A pair noted after the map was made goes into it.
    lazy.set("e5", "s2");
    map.set("e5", "s2");
    expect([...lazy.keys()]).toEqual([...map.keys()]);
    expect([...lazy.values()]).toEqual([...map.values()]);
    const seen: string[] = [];
    lazy.forEach((s, id) => {
      seen.push(`${id}=${s}`);
    });
    expect(seen).toEqual(["e1=s3", "e2=s2", "e4=s1", "e5=s2"]);
  });

  it("is empty until a pair is noted", () => {
    const lazy = new IdSessions();
    expect(lazy.size).toBe(0);
    expect(lazy.get("x")).toBeUndefined();
  });
});
