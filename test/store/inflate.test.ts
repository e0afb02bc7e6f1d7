import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { inflateBytes, inflateJson } from "../../src/store/inflate.js";
import { inflatePart } from "../../src/store/pack.js";

/** A packed part's base64, as the store holds it. */
function part(json: string): string {
  return deflateRawSync(Buffer.from(json), { level: 3 }).toString("base64");
}

function thrown(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

describe("inflating packed parts with one zlib engine (inflate.ts)", () => {
  it("gives inflatePart's bytes, for small and large parts, and after a damaged one", () => {
    const small = part('{"t0":1,"dims":{"api":["GetObject",1,0,0,0]},"hourly":[],"days":[]}');
    // Larger than the first output buffer (64 KB): the buffer grows.
    const large = part(JSON.stringify({ t0: 5, dims: { ua: Array.from({ length: 6000 }, (_, i) => [`agent/${i} ünï`, i, 0, i * 1.5, 2]).flat() } }));
    const good = Buffer.from(small, "base64");
    // Cut short, and bytes changed: inflatePart throws; so must these, with the same message.
    const damaged = [good.subarray(0, 12).toString("base64"), Buffer.from(good.map((b, i) => (i === 3 ? b ^ 0xff : b))).toString("base64")];
    expect(thrown(() => inflatePart(damaged[0]!))).toMatch(/unexpected end of file/);
    for (const b64 of [small, large, ...damaged, small, large]) {
      const want = thrown(() => inflatePart(b64));
      if (want !== undefined) {
        expect(thrown(() => inflateJson(b64))).toBe(want);
        expect(thrown(() => inflateBytes(b64))).toBe(want);
        continue;
      }
      expect(inflateJson(b64)).toBe(inflatePart(b64).toString("utf8"));
      const bytes = inflateBytes(b64);
      expect(bytes.equals(inflatePart(b64))).toBe(true);
      // A buffer of its own: the next call does not change it.
      const copy = Buffer.from(bytes);
      inflateBytes(small);
      expect(bytes.equals(copy)).toBe(true);
    }
    expect(inflateJson(large).length).toBeGreaterThan(64 * 1024);
  });
});
