import { readFile, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { emptyProfile, type Profile } from "../../src/baseline/profile.js";
import { BaselineTable, baselineTable, decodeBaseline, encodeBaseline, getBaselineFacts, getBaselines, prepBaselines, tableOf } from "../../src/store/baselines.js";
import { emptyStoreData } from "../../src/store/types.js";
import { TrailStore, storeFile } from "../../src/store/index.js";
import { DAY, T0, makeProfile, tempDirEach, storeKinds } from "./helpers.js";

const dir = tempDirEach();

const kinds = storeKinds(dir);

describe("baselines are held in their stored form", () => {
  it("an entry is the exact bytes written to the file, and decodes back to the profile", () => {
    const p = makeProfile("user:1:alice", T0, 30);
    const e = encodeBaseline(p.key, p);
    expect(e.bytes.toString().startsWith('"user:1:alice":{')).toBe(true);
    expect(JSON.parse(e.bytes.toString("utf8", e.valueAt))).toHaveProperty("packed");
    expect(e.facts.last).toBe(p.last);
    expect(decodeBaseline(e)).toEqual(p);
    const empty = emptyProfile("role:1:new", "AssumedRole");
    const ee = encodeBaseline(empty.key, empty);
    expect(ee.facts.last).toBe(-Infinity);
    expect(decodeBaseline(ee)).toEqual(empty);
  });

  it("the view behaves as a record of profiles: keys, reads, writes, deletes, JSON", () => {
    const t = BaselineTable.fromProfiles({ a: makeProfile("a"), b: makeProfile("b", T0 - DAY) });
    const v = t.view;
    expect(tableOf(v)).toBe(t);
    expect(Object.keys(v)).toEqual(["a", "b"]);
    expect(Object.hasOwn(v, "a")).toBe(true);
    expect("b" in v).toBe(true);
    expect(Object.hasOwn(v, "toString")).toBe(false);
    expect(v.toString).toBeUndefined();
    expect(v.b).toEqual(makeProfile("b", T0 - DAY));
    v.c = makeProfile("c");
    delete v.a;
    expect(Object.keys(v)).toEqual(["b", "c"]);
    expect(t.size).toBe(2);
    expect(JSON.parse(JSON.stringify(v))).toEqual(JSON.parse(JSON.stringify({ b: makeProfile("b", T0 - DAY), c: makeProfile("c") })));
    const bad = makeProfile("d");
    bad.events = NaN;
    expect(() => (v.d = bad)).toThrow(/d\.events is not a finite number/);
    expect(t.has("d")).toBe(false);
    let bytes = 0;
    for (const [, e] of t.entries()) bytes += e.bytes.length;
    expect(t.bytes).toBe(bytes);
  });

  it("decoded profiles are cached up to the cache size, and a replaced one is never served stale", () => {
    const t = BaselineTable.fromProfiles({ a: makeProfile("a"), b: makeProfile("b"), c: makeProfile("c") }, 2);
    const a = t.get("a")!;
    expect(t.get("a")).toBe(a);
    t.get("b");
    t.get("c"); // evicts a
    expect(t.get("a")).not.toBe(a);
    expect(t.get("a")).toEqual(a);
    t.set("a", encodeBaseline("a", makeProfile("a", T0, 12)));
    expect(Object.keys(t.get("a")!.dims.api)).toHaveLength(12);
  });

  for (const [kind, make] of kinds) {
    it(`the store keeps no reference to the profiles put (${kind})`, async () => {
      const s = await make();
      const p = makeProfile("user:1:alice", T0, 5);
      await s.putBaselines([p]);
      p.dims.api.MutatedAfterPut = [1, 0, T0, T0];
      p.events = 1;
      const got = s.getBaseline("user:1:alice")!;
      expect(got).not.toBe(p);
      expect(got).toEqual(makeProfile("user:1:alice", T0, 5));
      await s.close();
    });

    it(`update(fn) can change baselines in place, replace, delete or swap the whole record (${kind})`, async () => {
      const s = await make();
      await s.putBaselines([makeProfile("a"), makeProfile("b"), makeProfile("c")]);
      await s.update((d) => {
        d.baselines.a!.events = 999;
        d.baselines.a!.dims.api.Added = [1, 0, T0, T0];
        d.baselines.b = makeProfile("b", T0, 7);
        delete d.baselines.c;
      });
      expect(s.getBaseline("a")!.events).toBe(999);
      expect(s.getBaseline("a")!.dims.api.Added).toEqual([1, 0, T0, T0]);
      expect(Object.keys(s.getBaseline("b")!.dims.api)).toHaveLength(7);
      expect(s.getBaseline("c")).toBeUndefined();
      // A change that would not read back fails that update and keeps the stored profile.
      await expect(
        s.update((d) => {
          d.baselines.a!.events = NaN;
        }),
      ).rejects.toMatchObject({ code: "invalid" });
      expect(s.getBaseline("a")!.events).toBe(999);
      await s.update((d) => {
        d.baselines = { z: makeProfile("z") };
      });
      expect([...s.getBaselines().keys()]).toEqual(["z"]);
      await expect(
        s.update((d) => {
          d.baselines = { y: { ...makeProfile("y"), days: "no" as unknown as number[] } };
        }),
      ).rejects.toMatchObject({ code: "invalid" });
      expect([...s.getBaselines().keys()]).toEqual(["z"]);
      if (kind === "file") {
        await s.close();
        const r = await TrailStore.open(dir());
        expect([...r.getBaselines().keys()]).toEqual(["z"]);
        expect(r.getBaseline("z")).toEqual(makeProfile("z"));
        await r.close();
      } else {
        await s.close();
      }
    });
  }

  it("changes made in place by update(fn) reach the file", async () => {
    const s = await TrailStore.open(dir());
    await s.putBaselines([makeProfile("a"), makeProfile("b")]);
    await s.update((d) => {
      for (const k in d.baselines) d.baselines[k]!.userName = `renamed-${k}`;
    });
    await s.close();
    const r = await TrailStore.open(dir());
    expect(r.getBaseline("a")!.userName).toBe("renamed-a");
    expect(r.getBaseline("b")!.userName).toBe("renamed-b");
    await r.close();
  });

  it("an older file with plain (unpacked) baselines is read, and saved packed", async () => {
    const s = await TrailStore.open(dir());
    await s.putBaselines([makeProfile("a")]);
    await s.close();
    const raw = JSON.parse(await readFile(storeFile(dir()), "utf8"));
    raw.baselines.a = makeProfile("a");
    raw.baselines.e = { ...emptyProfile("e", "IAMUser"), first: null, last: null, trainedUntil: null };
    await writeFile(storeFile(dir()), JSON.stringify(raw, null, 2));
    const r = await TrailStore.open(dir());
    expect(r.getBaseline("a")).toEqual(makeProfile("a"));
    expect(r.getBaseline("e")).toEqual(emptyProfile("e", "IAMUser"));
    await r.setCursor("k", { newestTime: 1, newestIds: [], updatedAt: "t" });
    await r.close();
    const saved = JSON.parse(await readFile(storeFile(dir()), "utf8"));
    expect(saved.baselines.a.packed).toEqual(expect.any(String));
    expect(saved.baselines.a.dims).toBeUndefined();
  });

  it("every baseline problem of a damaged file is reported, with where it is", async () => {
    const s = await TrailStore.open(dir());
    await s.putBaselines(Array.from({ length: 8 }, (_, i) => makeProfile(`user:1:u${i}`)));
    await s.close();
    const raw = JSON.parse(await readFile(storeFile(dir()), "utf8"));
    for (let i = 0; i < 7; i++) raw.baselines[`user:1:u${i}`].events = "many";
    raw.findings = [];
    await writeFile(storeFile(dir()), JSON.stringify(raw));
    await expect(TrailStore.open(dir())).rejects.toMatchObject({
      code: "damaged",
      message: expect.stringMatching(/baselines\["user:1:u0"\]\.events: .*; \.\.\. and 3 more/),
    });
  });
});

describe("getBaselines decodes what it returns", () => {
  it("each call returns equal profiles; the in-memory twin converts initial plain profiles", async () => {
    const initial: Record<string, Profile> = { a: makeProfile("a"), n: emptyProfile("n", "IAMUser") };
    const s = TrailStore.memory({ baselines: initial });
    expect(tableOf(s.data.baselines)).toBeDefined();
    expect(Object.fromEntries(s.getBaselines())).toEqual(initial);
    expect(s.stats().counts.baselines).toBe(2);
  });
});

describe("the store's baseline operations on plain data", () => {
  it("baselineTable turns a plain baselines object into a table once; prepBaselines validates before any change", () => {
    const d = emptyStoreData();
    d.baselines = { a: makeProfile("a") };
    const t = baselineTable(d);
    expect(baselineTable(d)).toBe(t);
    expect(tableOf(d.baselines)).toBe(t);
    const bad = makeProfile("bad");
    bad.events = Number.NaN;
    expect(() => prepBaselines([makeProfile("b"), bad])).toThrow(/bad\.events/);
    expect([...t.keys()]).toEqual(["a"]);
  });

  it("prepBaselines encodes now (later changes to the profile do not reach the data) and replaces by key", () => {
    const d = emptyStoreData();
    const p = makeProfile("a", T0);
    const apply = prepBaselines([p, makeProfile("b", T0 - DAY)]);
    p.events = 1;
    apply(d);
    prepBaselines([makeProfile("b", T0)])(d);
    expect(getBaselines(d, ["a"]).get("a")!.events).toBe(123.45);
    expect([...getBaselines(d).keys()]).toEqual(["a", "b"]);
    expect(getBaselines(d, ["b", "missing"]).get("b")!.last).toBe(T0);
    expect([...getBaselines(d, ["missing"]).keys()]).toEqual([]);
  });

  it("getBaselineFacts gives the facts without decoding, in the order of getBaselines", () => {
    const d = emptyStoreData();
    prepBaselines([makeProfile("x", T0 - DAY), makeProfile("y", T0)])(d);
    const facts = getBaselineFacts(d);
    expect([...facts.keys()]).toEqual(["x", "y"]);
    expect(facts.get("y")).toMatchObject({ last: T0, trainedUntil: T0 });
    expect(Object.isFrozen(facts.get("x"))).toBe(true);
    expect([...getBaselineFacts(d, ["y", "nope"]).keys()]).toEqual(["y"]);
  });
});
