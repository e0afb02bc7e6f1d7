import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { emptyProfile, type Profile } from "../../src/baseline/profile.js";
import { TrailStore, storeFile } from "../../src/store/index.js";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { PartData, deflatePart, packProfile, partJson, takePart, unpackProfile } from "../../src/store/pack.js";
import { storeSchemas } from "../../src/store/schema.js";
import { DAY, T0, makeProfile, tempDirEach } from "./helpers.js";

const dir = tempDirEach();

/** Random profiles with awkward numbers: ms times (not whole seconds), negative deltas, decimals. */
function randomProfile(seed: number): Profile {
  let s = seed;
  const r = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const p = makeProfile(`role:1:r${seed}`, T0 - Math.floor(r() * 1e9), 1 + Math.floor(r() * 40));
  p.first = p.last - Math.floor(r() * 90 * DAY);
  for (let i = 0; i < 30; i++) {
    const f = p.first + Math.floor((r() - 0.1) * 90 * DAY); // may precede p.first
    p.dims.session[`s-${i}-${r()}`] = [Math.round(r() * 1e4) / 100, r() < 0.5 ? 0 : Math.round(r() * 300) / 100, f, f + Math.floor(r() * 1e8)];
  }
  p.days = [19000, 19003, 19010, 18999]; // not even sorted
  p.hourly = [
    [476000, 1, 0],
    [476005, 2.5, 1],
    [475990, 3, 0],
  ];
  return p;
}

describe("packed profiles", () => {
  it("round-trip exactly, and are smaller", () => {
    for (let seed = 1; seed < 40; seed++) {
      const p = randomProfile(seed);
      const packed = packProfile(p)!;
      expect(packed).toBeDefined();
      const back = storeSchemas().ProfileSchema.parse(unpackProfile(JSON.parse(JSON.stringify(packed))));
      expect(back).toEqual(p);
      expect(JSON.stringify(packed).length).toBeLessThan(JSON.stringify(p).length);
      // The plain object form of the packed part reads back the same.
      expect(storeSchemas().ProfileSchema.parse(unpackProfile(JSON.parse(JSON.stringify(packProfile(p, false)))))).toEqual(p);
    }
    // With CloudTrail's whole-second times, much smaller.
    const typical = makeProfile("role:1:typical", T0, 100);
    for (const [k, st] of Object.entries(typical.dims.api)) typical.dims.api[k] = [st[0], st[1], st[2] - 86_400_000, st[3] - (st[3] % 1000)];
    expect(JSON.stringify(packProfile(typical, false)).length).toBeLessThan(JSON.stringify(typical).length * 0.75);
    expect(JSON.stringify(packProfile(typical)).length).toBeLessThan(JSON.stringify(typical).length * 0.6);
  });

  it("takePart then partJson write the packed part packProfile gives, byte for byte; one that cannot be packed leaves nothing", () => {
    const ps: Profile[] = [];
    for (let seed = 1; seed < 30; seed++) ps.push(randomProfile(seed));
    const odd = randomProfile(99);
    odd.dims.api["-0"] = [-0, 0.1 + 0.2, T0, T0 + 1000];
    // biome-ignore lint/suspicious/noProto: a value named __proto__ in a prototype-less record, on purpose (values are attacker-controlled)
    odd.dims.api["__proto__"] = [1, 0, T0, T0];
    odd.dims.api['\u2028 \ud800 "quoted"'] = [1e21, 5e-7, T0 - 1, T0 + 1];
    (odd.dims as Record<string, unknown>)["10"] = { "2": [1, 0, T0, T0], b: [2, 0, T0, T0] };
    (odd.dims as Record<string, unknown>).empty = undefined;
    Object.defineProperty(odd.dims, "__proto__", { value: { x: [1, 0, T0, T0] }, enumerable: true, writable: true, configurable: true });
    ps.push(odd, emptyProfile("user:1:empty", "IAMUser"));
    const bad = randomProfile(5);
    bad.dims.ip["198.51.100.1"] = [1, 0, T0 + 0.5, T0 + 0.5];
    const part = new PartData();
    const starts: Array<[number, number]> = [];
    for (const p of ps) {
      starts.push([part.n, part.text().length]);
      expect(takePart(p, part)).toBe(true);
      // A profile that cannot be packed, between two that can: nothing of it is kept.
      expect(takePart(bad, part)).toBe(false);
    }
    const text = part.text();
    let i = 0;
    let j = 0;
    ps.forEach((p, k) => {
      expect([i, j]).toEqual(starts[k]);
      const got = partJson(part.nums, i, text, j);
      expect(got.json, p.key).toBe(JSON.stringify(packProfile(p, false, true)!.packed));
      ({ i, j } = got);
    });
    expect([i, j]).toEqual([part.n, text.length]);
  });

  it("the packed part is deflated to the same bytes as zlib's defaults give, from a few bytes to past the 32 KB window", () => {
    let s = 7;
    const r = () => (s = (s * 16807) % 2147483647) / 2147483647;
    const words = Array.from({ length: 300 }, (_, i) => `Describe${i.toString(36)}${Math.floor(r() * 1e6)}`);
    for (const n of [0, 1, 5, 50, 200, 240, 250, 260, 300, 500, 700, 1000, 1800, 2000, 4000, 8000, 16000, 20000, 33000, 40000, 90000]) {
      let text = "";
      while (text.length < n) text += r() < 0.7 ? `"${words[Math.floor(r() * words.length)]}",${Math.floor(r() * 1e5)},` : String.fromCharCode(32 + Math.floor(r() * 90));
      text = text.slice(0, n);
      const ours = deflatePart(text);
      expect(ours.equals(deflateRawSync(text, { level: 3 })), `${n} bytes`).toBe(true);
      expect(inflateRawSync(ours).toString()).toBe(text);
    }
    // Whole profiles, small and large.
    for (let seed = 1; seed < 40; seed++) {
      const json = JSON.stringify({ t0: seed, dims: randomProfile(seed).dims });
      expect(deflatePart(json).equals(deflateRawSync(json, { level: 3 }))).toBe(true);
    }
  });

  it("an empty profile (infinite first/last) round-trips", () => {
    const p = emptyProfile("user:1:new", "IAMUser");
    const back = storeSchemas().ProfileSchema.parse(unpackProfile(JSON.parse(JSON.stringify(packProfile(p)))));
    expect(back).toEqual(p);
  });

  it("a profile with a non-integer time is not packed (stored as is)", () => {
    const p = makeProfile("user:1:x");
    p.dims.api.Odd = [1, 0, T0 + 0.5, T0 + 1];
    expect(packProfile(p)).toBeUndefined();
  });

  it("the store writes baselines packed and reads them back identical; a malformed packed part is reported", async () => {
    const profiles = Array.from({ length: 20 }, (_, i) => randomProfile(100 + i));
    const odd = makeProfile("user:1:odd");
    odd.dims.api.Odd = [1, 0, T0 + 0.5, T0 + 1];
    const s = await TrailStore.open(dir());
    await s.putBaselines([...profiles, odd]);
    await s.close();
    const raw = JSON.parse(await readFile(storeFile(dir()), "utf8"));
    const { inflateRawSync } = await import("node:zlib");
    const part = JSON.parse(inflateRawSync(Buffer.from(raw.baselines["role:1:r100"].packed, "base64")).toString());
    expect(part.t0).toBe(profiles[0]!.first);
    expect(raw.baselines["role:1:r100"].dims).toBeUndefined();
    expect(raw.baselines["role:1:r100"].last).toBe(profiles[0]!.last); // the fields people look for stay readable
    expect(raw.baselines["user:1:odd"].dims.api.Odd).toEqual([1, 0, T0 + 0.5, T0 + 1]);

    const r = await TrailStore.open(dir());
    for (const p of profiles) expect(r.getBaseline(p.key)).toEqual(p);
    expect(r.getBaseline("user:1:odd")).toEqual(odd);
    await r.close();

    // A malformed packed part (as an object), and a corrupted deflated one, are reported with where they are.
    const { writeFile } = await import("node:fs/promises");
    part.dims.api.pop();
    raw.baselines["role:1:r100"].packed = part;
    await writeFile(storeFile(dir()), JSON.stringify(raw));
    await expect(TrailStore.open(dir())).rejects.toMatchObject({ code: "damaged", message: /role:1:r100.*packed\.dims\.api/ });
    raw.baselines["role:1:r100"].packed = "AAAA" + String(raw.baselines["role:1:r101"].packed).slice(10);
    await writeFile(storeFile(dir()), JSON.stringify(raw));
    await expect(TrailStore.open(dir())).rejects.toMatchObject({ code: "damaged", message: /role:1:r100.*packed: cannot be inflated/ });
  });
});

describe("baselines kept as the bytes of the file read (no re-encoding at open)", () => {
  it("the first save after open is byte-identical to a fresh encoding, with awkward keys and unpacked profiles", async () => {
    const { StoreSerializer } = await import("../../src/store/codec.js");
    const odd = makeProfile('user:1:"quoted"\\back,é{[');
    odd.dims.api.Odd = [1, 0, T0 + 0.5, T0 + 1];
    const profiles = [...Array.from({ length: 10 }, (_, i) => randomProfile(200 + i)), emptyProfile("role:1:empty}", "AssumedRole"), odd];
    const s = await TrailStore.open(dir());
    await s.putBaselines(profiles);
    await s.close();

    const r = await TrailStore.open(dir());
    await r.setCursor("k", { newestTime: 1, newestIds: [], updatedAt: "t" });
    const written = await readFile(storeFile(dir()));
    // A fresh encoding of what the store holds, from plain decoded profiles (not its stored bytes).
    const plain = { ...r.data, baselines: Object.fromEntries(r.getBaselines()) };
    expect(Object.keys(plain.baselines)).toHaveLength(profiles.length);
    expect(Buffer.compare(written, new StoreSerializer().serialize(plain as never))).toBe(0);
    await r.close();
    const again = await TrailStore.open(dir());
    for (const p of profiles) expect(again.getBaseline(p.key)).toEqual(p);
    await again.close();
  });

  it("a pretty-printed (hand-edited) store still saves and reloads correctly", async () => {
    const s = await TrailStore.open(dir());
    await s.putBaselines([randomProfile(1), randomProfile(2)]);
    await s.close();
    const { writeFile } = await import("node:fs/promises");
    await writeFile(storeFile(dir()), JSON.stringify(JSON.parse(await readFile(storeFile(dir()), "utf8")), null, 2));
    const r = await TrailStore.open(dir());
    await r.setCursor("k", { newestTime: 1, newestIds: [], updatedAt: "t" });
    await r.close();
    const again = await TrailStore.open(dir());
    expect(again.getBaseline(randomProfile(2).key)).toEqual(randomProfile(2));
    await again.close();
  });
});
