/**
 * The baselines' digest (baselines.ts: baselinesDigest, codec.ts): a store file carries the
 * digest of its baselines, and a load whose baselines match it keeps them as they are, without
 * decoding or validating each again. Anything else (an older file without the digest, a file
 * changed by hand, a damaged one) is checked in full as before: a damaged store is refused, never
 * used; a valid one changed outside trailhound is read, and its next save writes a new digest.
 */
import { readFile, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { emptyProfile } from "../../src/baseline/profile.js";
import { decodeBaseline, tableOf } from "../../src/store/baselines.js";
import { BASELINES_DIGEST, decodeStore } from "../../src/store/codec.js";
import { checkStore } from "../../src/store/maintenance.js";
import { storeSchemas } from "../../src/store/schema.js";
import { TrailStore, storeFile } from "../../src/store/index.js";
import { T0, DAY, makeProfile, tempDirEach } from "./helpers.js";

const dir = tempDirEach();

async function storeWith(n: number): Promise<Buffer> {
  const s = await TrailStore.open(dir());
  const ps = Array.from({ length: n }, (_, i) => makeProfile(`user:1:u${i}`, T0 - i * DAY, 1 + (i % 7)));
  ps.push(emptyProfile("role:1:Empty", "AssumedRole"));
  await s.putBaselines(ps);
  await s.close();
  return readFile(storeFile(dir()));
}

describe("the baselines' digest", () => {
  it("is written with the baselines; a load that matches it keeps them undecoded, and they read back the same", async () => {
    const bytes = await storeWith(20);
    const raw = JSON.parse(bytes.toString());
    expect(raw[BASELINES_DIGEST]).toMatch(/^sha256:[A-Za-z0-9+/]{43}=$/);
    const fast = decodeStore(bytes, "f");
    const full = decodeStore(bytes, "f", undefined, { full: true });
    expect(fast.baselinesChecked).toBe("digest");
    expect(full.baselinesChecked).toBe("full");
    const a = tableOf(fast.data.baselines)!;
    const b = tableOf(full.data.baselines)!;
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [k, e] of a.entries()) {
      const f = b.entry(k)!;
      expect(e.bytes.equals(f.bytes)).toBe(true);
      expect(e.digest).toBe(f.digest);
      // Facts taken from the readable fields (days decoded on demand) equal those of the decoded profile.
      expect({ ...e.facts }).toStrictEqual({ ...f.facts });
      expect(decodeBaseline(e)).toEqual(decodeBaseline(f));
    }
    // The data parts (what a previous version reads: it drops the unknown digest field) are the same.
    expect(JSON.stringify(fast.data)).toBe(JSON.stringify(full.data));
  });

  it("opening and saving without a change writes the same bytes; a change rewrites only its own baseline", async () => {
    const before = await storeWith(12);
    const s = await TrailStore.open(dir());
    await s.setCursor("k", { newestTime: 1, newestIds: [], updatedAt: "t" });
    await s.setCursor("k", { newestTime: 1, newestIds: [], updatedAt: "t" });
    const changed = makeProfile("user:1:u3", T0 + DAY, 9);
    await s.putBaselines([changed]);
    await s.close();
    const after = await readFile(storeFile(dir()));
    const ra = JSON.parse(before.toString());
    const rb = JSON.parse(after.toString());
    for (const k of Object.keys(ra.baselines)) {
      if (k === "user:1:u3") expect(rb.baselines[k]).not.toEqual(ra.baselines[k]);
      else expect(JSON.stringify(rb.baselines[k])).toBe(JSON.stringify(ra.baselines[k]));
    }
    expect(rb[BASELINES_DIGEST]).not.toBe(ra[BASELINES_DIGEST]);
    expect(decodeStore(after, "f").baselinesChecked).toBe("digest");
    // No change at all: byte for byte.
    const r = await TrailStore.open(dir());
    await r.update(() => undefined);
    await r.close();
    expect((await readFile(storeFile(dir()))).equals(after)).toBe(true);
  });

  it("a file without the digest (as older versions write) is checked in full, read, and gets the digest on its next save", async () => {
    const bytes = await storeWith(5);
    const raw = JSON.parse(bytes.toString());
    delete raw[BASELINES_DIGEST];
    await writeFile(storeFile(dir()), JSON.stringify(raw));
    expect(decodeStore(Buffer.from(JSON.stringify(raw)), "f").baselinesChecked).toBe("full");
    // What a previous version validates the rest of the file with accepts a file that has the digest.
    expect(storeSchemas().StoreDataSchema.safeParse({ ...JSON.parse(bytes.toString()), baselines: {} }).success).toBe(true);
    const s = await TrailStore.open(dir());
    expect(s.getBaseline("user:1:u2")).toEqual(makeProfile("user:1:u2", T0 - 2 * DAY, 3));
    await s.setCursor("k", { newestTime: 1, newestIds: [], updatedAt: "t" });
    await s.close();
    const saved = await readFile(storeFile(dir()));
    expect(JSON.parse(saved.toString())[BASELINES_DIGEST]).toBe(JSON.parse(bytes.toString())[BASELINES_DIGEST]);
    expect(decodeStore(saved, "f").baselinesChecked).toBe("digest");
  });

  it("a baseline changed by hand no longer matches: checked in full, the valid change is read, and store check says so", async () => {
    const bytes = await storeWith(5);
    const raw = JSON.parse(bytes.toString());
    raw.baselines["user:1:u1"].userName = "edited";
    raw.baselines["user:1:u1"].events = 7;
    await writeFile(storeFile(dir()), JSON.stringify(raw));
    const chk = await checkStore(dir());
    expect(chk.ok).toBe(true);
    expect(chk.notes.join("\n")).toMatch(/no digest that matches them/);
    const s = await TrailStore.open(dir());
    expect(s.getBaselineFacts(["user:1:u1"]).get("user:1:u1")).toMatchObject({ userName: "edited", events: 7 });
    expect(s.getBaseline("user:1:u1")).toMatchObject({ userName: "edited", events: 7 });
    await s.close();
  });

  it("a damaged baseline is refused with the file's name and the recovery commands, whatever the digest says", async () => {
    const bytes = await storeWith(5);
    for (const keepDigest of [true, false]) {
      const raw = JSON.parse(bytes.toString());
      const e = raw.baselines["user:1:u2"];
      e.packed = `${e.packed.slice(0, 12)}AAAA${e.packed.slice(16)}`; // bytes flipped inside the deflated part
      if (!keepDigest) delete raw[BASELINES_DIGEST];
      const text = JSON.stringify(raw);
      await writeFile(storeFile(dir()), text);
      await expect(TrailStore.open(dir())).rejects.toMatchObject({
        code: "damaged",
        message: expect.stringMatching(/trailhound\.json is damaged: .*baselines\["user:1:u2"\]: packed: cannot be inflated.*store restore/s),
      });
      // Never overwritten.
      expect(await readFile(storeFile(dir()), "utf8")).toBe(text);
      const chk = await checkStore(dir());
      expect(chk.ok).toBe(false);
    }
  });

  it("a digest that matches nothing (the digest itself damaged) only costs a full check", async () => {
    const bytes = await storeWith(3);
    const raw = JSON.parse(bytes.toString());
    raw[BASELINES_DIGEST] = "sha256:AAAA";
    const dec = decodeStore(Buffer.from(JSON.stringify(raw)), "f");
    expect(dec.baselinesChecked).toBe("full");
    expect(tableOf(dec.data.baselines)!.size).toBe(4);
  });
});
