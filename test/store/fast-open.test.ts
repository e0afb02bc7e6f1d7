/**
 * Opening a store file without parsing its baselines (fast-open.ts): the entries are found in the
 * file's bytes and checked against the digest; anything unusual is left to the full decode.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { emptyProfile } from "../../src/baseline/profile.js";
import { baselinesDigest, decodeBaseline, scanTrainedUntil, tableOf } from "../../src/store/baselines.js";
import { decodeStore } from "../../src/store/codec.js";
import { openFast } from "../../src/store/fast-open.js";
import { checkStore } from "../../src/store/maintenance.js";
import { TrailStore, storeFile } from "../../src/store/index.js";
import { STORE_SCHEMA_VERSION } from "../../src/store/types.js";
import { DAY, T0, makeFinding, makeProfile, tempDirEach } from "./helpers.js";

const dir = tempDirEach();

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Keys and values with quotes, backslashes, braces, brackets, non-ASCII, and the packed field's own name. */
async function oddStore(): Promise<Buffer> {
  const s = await TrailStore.open(dir());
  const keys = ['user:1:a"b', "user:1:back\\slash\\", "user:1:{brace}[bracket]", "user:1:ünï☃", 'user:1:,"packed":"x', 'role:1:R/s\\"q'];
  const ps = keys.map((k, i) => {
    const p = makeProfile(k, T0 - i * DAY, 2 + i);
    p.userName = `name "${i}" \\ },"packed":"`;
    p.dims.ua['ua "quoted" {x}'] = [1, 0, T0 - DAY, T0];
    return p;
  });
  // Not packable (a time in fractional milliseconds): stored as plain JSON.
  const plain = makeProfile("user:1:plain", T0);
  plain.dims.ip["198.51.100.9"] = [1, 0, T0 + 0.25, T0 + 0.25];
  ps.push(plain, emptyProfile("role:1:Empty", "AssumedRole"));
  await s.putBaselines(ps);
  await s.recordFindings([makeFinding({ id: "f1" })], T0);
  await s.close();
  return readFile(storeFile(dir()));
}

describe("opening a store without parsing its baselines", () => {
  it("finds every entry, with the bytes, digests, facts and profiles of the full decode", async () => {
    const bytes = await oddStore();
    expect(openFast(bytes, STORE_SCHEMA_VERSION, utf8)).toBeDefined();
    const fast = decodeStore(bytes, "f");
    const full = decodeStore(bytes, "f", undefined, { full: true });
    expect(fast.baselinesChecked).toBe("digest");
    const a = tableOf(fast.data.baselines)!;
    const b = tableOf(full.data.baselines)!;
    expect([...a.keys()]).toEqual([...b.keys()]);
    expect(a.size).toBe(8);
    for (const [k, e] of a.entries()) {
      const f = b.entry(k)!;
      expect(e.bytes.equals(f.bytes)).toBe(true);
      expect(e.valueAt).toBe(f.valueAt);
      expect(e.digest).toBe(f.digest);
      expect(a.trainedUntil(k)).toBe(f.facts.trainedUntil);
      expect({ ...e.facts }).toStrictEqual({ ...f.facts });
      expect(decodeBaseline(e)).toEqual(decodeBaseline(f));
    }
    expect(JSON.stringify(fast.data)).toBe(JSON.stringify(full.data));
  });

  it("leaves to the full decode a file not written as this build writes it, or whose baselines do not match", async () => {
    const bytes = await oddStore();
    const text = bytes.toString();
    const variants = {
      pretty: JSON.stringify(JSON.parse(text), null, 1),
      otherVersion: text.replace(`{"schemaVersion":${STORE_SCHEMA_VERSION},`, `{"schemaVersion":${STORE_SCHEMA_VERSION - 1},`),
      // One character of a packed part changed: the digest no longer matches.
      changed: text.replace(/"packed":"([A-Za-z0-9+/])/, (_m, c: string) => `"packed":"${c === "A" ? "B" : "A"}`),
      // A second "baselines" further on is the one JSON.parse would keep.
      twice: `${text.slice(0, -1)},"baselines":{}}`,
      truncated: text.slice(0, Math.floor(text.length / 3)),
      empty: "",
    };
    for (const [name, v] of Object.entries(variants)) {
      expect(openFast(Buffer.from(v), STORE_SCHEMA_VERSION, utf8), name).toBeUndefined();
    }
    // The full decode then says what is wrong: a damaged packed part, a truncated file; a second (empty) "baselines" wins.
    expect(() => decodeStore(Buffer.from(variants.changed), "f")).toThrow(/damaged: .*packed: cannot be inflated/);
    expect(() => decodeStore(Buffer.from(variants.truncated), "f")).toThrow(/damaged/);
    expect(tableOf(decodeStore(Buffer.from(variants.twice), "f").data.baselines)!.size).toBe(0);
    expect(decodeStore(Buffer.from(variants.pretty), "f").baselinesChecked).toBe("digest");
  });
});

describe("an entry's trainedUntil read from its bytes (scanTrainedUntil)", () => {
  /** What parsing the readable fields gives (readTime in baselines.ts), beside what the scan of their bytes gives. */
  function scan(fields: string): number | undefined {
    const b = Buffer.from(`"k":${fields},"packed":"AAAA"}`);
    return scanTrainedUntil(b, 4, b.indexOf(',"packed":"'));
  }
  function both(fields: string): [number | undefined, number] {
    const t = (JSON.parse(`${fields}}`) as { trainedUntil?: unknown }).trainedUntil;
    return [scan(fields), typeof t === "number" ? (t === 0 ? 0 : t) : -Infinity];
  }

  it("reads the number (or null) of the top-level field as JSON.parse does", () => {
    for (const v of ["1711841171000", "null", "-0", "0", "1.5e3", "-12.25", "123456789012345678901234"]) {
      const [scanned, parsed] = both(`{"v":1,"key":"a{[]}:,","first":1,"last":2,"trainedUntil":${v},"events":3`);
      expect(scanned, v).toBe(parsed);
    }
    // The last field before the packed part, the first field.
    expect(both(`{"v":1,"trainedUntil":42`)[0]).toBe(42);
    expect(both(`{"trainedUntil":43,"v":1`)[0]).toBe(43);
  });

  it("leaves to the parse what it cannot be sure of", () => {
    for (const fields of [
      // Only inside a nested object, or after one: not certainly the top-level field.
      `{"v":1,"held":[{"trainedUntil":5}],"trainedUntil":7`,
      `{"v":1,"x":{"a":1,"trainedUntil":5}`,
      // Twice (JSON.parse keeps the last), or possibly spelled with escapes.
      `{"v":1,"trainedUntil":5,"trainedUntil":6`,
      `{"v":1,"trainedUntil":5,"train\\u0065dUntil":6`,
      // An escape before it.
      `{"v":1,"key":"a\\"b","trainedUntil":5`,
      // Absent, not a number, or not as this build writes it.
      `{"v":1,"events":3`,
      `{"v":1,"trainedUntil":"5"`,
      `{"v":1,"trainedUntil": 5`,
      `{"v":1,"trainedUntil":05`,
      `{"v":1,"trainedUntil":1${"0".repeat(40)}`,
    ]) {
      expect(scan(fields), fields).toBeUndefined();
    }
  });
});

/**
 * A file changed outside trailhound and given the digest of its new baselines (trailhound never
 * writes one): the open trusts the digest, so what is wrong in an entry shows when that entry is
 * read, as a StoreError "damaged" naming the baseline; `store check` (every baseline decoded and
 * validated) finds it, and nothing is written over the file.
 */
describe("a file made to match its own digest", () => {
  async function craft(change: (entry: string) => string): Promise<string> {
    const s = await TrailStore.open(dir());
    await s.putBaselines([makeProfile("user:1:u1", T0, 3), makeProfile("user:1:u2", T0 - DAY, 4), makeProfile("user:1:u3", T0, 2)]);
    await s.close();
    const bytes = await readFile(storeFile(dir()));
    const table = tableOf(decodeStore(bytes, "f").data.baselines)!;
    const entries = [...table.entries()].map(([k, e]) => (k === "user:1:u2" ? change(e.bytes.toString()) : e.bytes.toString()));
    const text = bytes.toString();
    const rest = text.slice(text.indexOf(',"findings":'));
    const digest = baselinesDigest(entries.map((e) => ({ digest: createHash("sha256").update(e).digest("base64") })));
    const crafted = `{"schemaVersion":${STORE_SCHEMA_VERSION},"baselines":{${entries.join(",")}}${rest.replace(/"baselinesDigest":"[^"]*"/, `"baselinesDigest":${JSON.stringify(digest)}`)}`;
    await writeFile(storeFile(dir()), crafted);
    return crafted;
  }

  const cases: Array<[string, (entry: string) => string, RegExp]> = [
    // Bytes flipped inside the deflated part.
    ["its packed part", (e) => e.replace(/"packed":"(.{12})..../, '"packed":"$1AAAA'), /stored baseline of user:1:u2 is damaged: packed: cannot be inflated.*store check/s],
    // A readable field that is not JSON (a leading zero).
    ["its readable fields", (e) => e.replace(/"events":(\d+)/, '"events":0$1'), /stored baseline of user:1:u2 is damaged: its fields are not valid JSON.*store check/s],
  ];
  for (const [what, change, message] of cases) {
    it(`opens, and says the baseline is damaged when it is read (${what})`, async () => {
      const crafted = await craft(change);
      const s = await TrailStore.open(dir());
      // The other baselines read as usual.
      expect(s.getBaseline("user:1:u1")).toEqual(makeProfile("user:1:u1", T0, 3));
      expect(s.getBaselineTrainedUntil("user:1:u3")).toBe(makeProfile("user:1:u3", T0, 2).trainedUntil);
      const read = () => {
        s.getBaselineTrainedUntil("user:1:u2");
        return s.readBaselineOnce("user:1:u2");
      };
      expect(read).toThrow(expect.objectContaining({ code: "damaged", message: expect.stringMatching(message) }));
      await s.close();
      expect(await readFile(storeFile(dir()), "utf8")).toBe(crafted);
      const chk = await checkStore(dir());
      expect(chk.ok).toBe(false);
      // The check decodes the whole file: a packed part that does not inflate is named, a field that is not JSON makes the file not JSON.
      expect(chk.problems.join("\n")).toMatch(/damaged: .*(user:1:u2.*cannot be inflated|not valid JSON)/s);
    });
  }
});
