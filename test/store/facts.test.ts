/**
 * The facts kept beside each stored baseline (baselines.ts: BaselineFacts) answer
 * getBaselineFacts / getBaselineTrainedUntil without decoding, and always equal the same fields
 * of the decoded profile: after put, load, prune, update(fn), and for older (unpacked) files.
 */
import { readFile, writeFile } from "node:fs/promises";
import { describe, expect, it, vi } from "vitest";
import { DEFAULT_BASELINE_CONFIG, emptyProfile, type BaselineConfig, type Profile } from "../../src/baseline/profile.js";
import { BaselineView, learningAt } from "../../src/baseline/view.js";
import { BaselineTable, decodeBaseline, encodeBaseline } from "../../src/store/baselines.js";
import { TrailStore, storeFile, type BaselineFacts } from "../../src/store/index.js";
import { rng } from "../../src/util/rng.js";
import { DAY, T0, makeProfile, tempDirEach, storeKinds } from "./helpers.js";

const dir = tempDirEach();

const kinds = storeKinds(dir);

/** The fields of a decoded profile that BaselineFacts holds. */
function expectedFacts(p: Profile): BaselineFacts {
  return {
    key: p.key,
    first: p.first,
    last: p.last,
    trainedUntil: p.trainedUntil,
    events: p.events,
    days: p.days,
    ...(p.arn !== undefined ? { arn: p.arn } : {}),
    ...(p.userName !== undefined ? { userName: p.userName } : {}),
  };
}

/** Facts and trainedUntil agree with the decoded profiles, key for key and in the same order. */
function expectAgree(s: TrailStore): void {
  const decoded = s.getBaselines();
  const facts = s.getBaselineFacts();
  expect([...facts.keys()]).toEqual([...decoded.keys()]);
  for (const [k, p] of decoded) {
    expect(facts.get(k), k).toStrictEqual(expectedFacts(p));
    expect(Object.is(s.getBaselineTrainedUntil(k), p.trainedUntil), k).toBe(true);
  }
}

/** A profile with random history: first seen up to 60 days before T0, some active days, events. */
function randomProfile(r: () => number, i: number): Profile {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const role = r() < 0.5;
  const name = `${role ? "Deploy" : "alice"}-${i}`;
  const p = makeProfile(`${role ? "role" : "user"}:1:${name}`, T0 - int(0, 5) * DAY, int(1, 30));
  const history = int(1, 60);
  p.first = T0 - history * DAY + int(0, 3600) * 1000;
  const days = new Set<number>();
  const active = int(1, history);
  while (days.size < active) days.add(Math.floor(T0 / DAY) - int(0, history - 1));
  p.days = [...days].sort((a, b) => a - b);
  p.events = r() < 0.3 ? int(0, 60) : r() * 5000;
  if (r() < 0.8) p.userName = name;
  if (r() < 0.7) p.arn = `arn:aws:iam::1:${role ? "role" : "user"}/${name}`;
  return p;
}

/** Profiles of every shape: random histories, small, empty, not packable, with a -0. */
function variety(): Profile[] {
  const r = rng(11);
  const out: Profile[] = [];
  for (let i = 0; i < 30; i++) out.push(randomProfile(r, i));
  out.push(makeProfile("user:1:alice", T0, 7));
  out.push(emptyProfile("role:1:Empty", "AssumedRole"));
  const odd = makeProfile("user:1:odd"); // a non-integer time: stored unpacked
  odd.dims.api.Odd = [1, 0, T0 + 0.5, T0 + 1];
  odd.days = [odd.days[1]!, odd.days[0]!]; // unsorted: counted as they are
  out.push(odd);
  const zero = makeProfile("user:1:zero");
  zero.events = -0;
  out.push(zero);
  return out;
}

describe("baseline facts", () => {
  it("an entry's facts equal the decoded profile's fields (encode, and kept from a file)", () => {
    for (const p of variety()) {
      const e = encodeBaseline(p.key, p);
      expect(e.facts).toStrictEqual(expectedFacts(decodeBaseline(e)));
      expect(Object.isFrozen(e.facts) && Object.isFrozen(e.facts.days)).toBe(true);
      expect(e.facts.days).not.toBe(p.days); // no reference to the caller's profile
    }
    // -0 reads back as 0 from the file: so do the facts.
    const zero = encodeBaseline("user:1:zero", variety().at(-1)!);
    expect(Object.is(zero.facts.events, 0)).toBe(true);
  });

  for (const [kind, make] of kinds) {
    it(`after put, update(fn) and prune, facts agree with the decoded profiles (${kind})`, async () => {
      const s = await make();
      expect(s.getBaselineFacts().size).toBe(0);
      expect(s.getBaselineTrainedUntil("nobody")).toBeUndefined();
      await s.putBaselines(variety());
      expectAgree(s);
      expect(s.getBaselineTrainedUntil("role:1:Empty")).toBe(-Infinity);
      expect(s.getBaselineTrainedUntil("toString")).toBeUndefined();
      expect(s.getBaselineFacts().get("toString")).toBeUndefined();

      // Replaced by a later put.
      const newer = makeProfile("user:1:alice", T0 + 3 * DAY, 2);
      newer.userName = "alice";
      newer.arn = "arn:aws:iam::1:user/alice";
      await s.putBaselines([newer]);
      expect(s.getBaselineFacts().get("user:1:alice")).toMatchObject({ last: T0 + 3 * DAY, trainedUntil: T0 + 3 * DAY, userName: "alice" });
      expect(s.getBaselineTrainedUntil("user:1:alice")).toBe(T0 + 3 * DAY);
      expectAgree(s);

      // Changed in place, replaced, deleted through update(fn).
      await s.update((d) => {
        d.baselines["user:1:odd"]!.trainedUntil = T0 + 7;
        d.baselines["user:1:odd"]!.events = 5;
        d.baselines["user:1:odd"]!.days.push(Math.floor(T0 / DAY) + 1);
        d.baselines["user:1:zero"] = { ...makeProfile("user:1:zero"), userName: "z" };
        delete d.baselines["role:1:Empty"];
      });
      expect(s.getBaselineFacts().get("user:1:odd")).toMatchObject({ trainedUntil: T0 + 7, events: 5 });
      expect(s.getBaselineFacts().get("user:1:odd")!.days).toHaveLength(3);
      expect(s.getBaselineFacts().get("user:1:zero")!.userName).toBe("z");
      expect(s.getBaselineFacts().has("role:1:Empty")).toBe(false);
      expect(s.getBaselineTrainedUntil("role:1:Empty")).toBeUndefined();
      expectAgree(s);

      // A change that does not read back keeps the previous stored profile, and its facts.
      const before = s.getBaselineFacts().get("user:1:odd");
      await expect(
        s.update((d) => {
          d.baselines["user:1:odd"]!.trainedUntil = NaN;
        }),
      ).rejects.toMatchObject({ code: "invalid" });
      expect(s.getBaselineFacts().get("user:1:odd")).toBe(before);
      expectAgree(s);

      // Pruned by last seen.
      const old = makeProfile("user:1:old", T0 - 40 * DAY);
      await s.putBaselines([old]);
      const res = await s.prune({ olderThanDays: 30 }, T0);
      expect(res.baselines).toBeGreaterThan(0);
      expect(s.getBaselineFacts().has("user:1:old")).toBe(false);
      expect(s.getBaselineTrainedUntil("user:1:old")).toBeUndefined();
      expectAgree(s);

      // The whole record swapped.
      await s.update((d) => {
        d.baselines = { z: makeProfile("z") };
      });
      expect([...s.getBaselineFacts().keys()]).toEqual(["z"]);
      expectAgree(s);
      await s.close();
    });
  }

  it("after load from disk (packed, older plain and null-time baselines), facts agree, and come without decoding", async () => {
    const s = await TrailStore.open(dir());
    await s.putBaselines(variety());
    await s.close();
    // An older file: some baselines plain, an empty one with null times.
    const raw = JSON.parse(await readFile(storeFile(dir()), "utf8"));
    raw.baselines["user:1:plain"] = { ...makeProfile("user:1:plain", T0 - DAY), userName: "plain" };
    raw.baselines["role:1:nulls"] = { ...emptyProfile("role:1:nulls", "AssumedRole"), first: null, last: null, trainedUntil: null };
    await writeFile(storeFile(dir()), JSON.stringify(raw));

    const r = await TrailStore.open(dir());
    // No profile is decoded to answer (decoding is inflate + JSON.parse of the entry).
    const parse = vi.spyOn(JSON, "parse");
    try {
      const facts = r.getBaselineFacts();
      for (const k of facts.keys()) r.getBaselineTrainedUntil(k);
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
    expect(r.getBaselineFacts().get("role:1:nulls")).toMatchObject({ first: Infinity, last: -Infinity, trainedUntil: -Infinity });
    expect(r.getBaselineTrainedUntil("role:1:nulls")).toBe(-Infinity);
    expect(r.getBaselineFacts().get("user:1:plain")!.userName).toBe("plain");
    expectAgree(r);
    for (const p of variety()) expect(r.getBaselineFacts().get(p.key)).toStrictEqual(expectedFacts(decodeBaseline(encodeBaseline(p.key, p))));
    // Saved again (the plain one packed now) and read back: the same facts.
    const all = new Map(r.getBaselineFacts());
    await r.setCursor("k", { newestTime: 1, newestIds: [], updatedAt: "t" });
    await r.close();
    const again = await TrailStore.open(dir());
    expect(again.getBaselineFacts()).toStrictEqual(all);
    expectAgree(again);
    await again.close();
  });

  it("getBaselineFacts(keys) returns those that exist, in the order asked (as getBaselines)", async () => {
    const s = TrailStore.memory({ baselines: { a: makeProfile("a"), b: makeProfile("b"), c: makeProfile("c") } });
    expect([...s.getBaselineFacts(["c", "zzz", "a"]).keys()]).toEqual([...s.getBaselines(["c", "zzz", "a"]).keys()]);
    expect([...s.getBaselineFacts(["c", "zzz", "a"]).keys()]).toEqual(["c", "a"]);
    expectAgree(s);
  });

  it("a profile stored under another key: facts carry the profile's key, as the decoded profile does", () => {
    const t = BaselineTable.fromProfiles({ other: makeProfile("user:1:real") });
    expect(t.facts("other")!.key).toBe("user:1:real");
    expect(t.facts("other")).toStrictEqual(expectedFacts(t.get("other")!));
  });
});

describe("learningAt (what /cloudtrail status lists) equals BaselineView.learning", () => {
  it("for realistic, small, empty and odd profiles, at many times, under two configurations", () => {
    const cfgs: BaselineConfig[] = [DEFAULT_BASELINE_CONFIG, { ...DEFAULT_BASELINE_CONFIG, learningMinDays: 10, learningMinEvents: 2000 }];
    const profiles = variety();
    const young = makeProfile("user:1:young", T0, 3); // 10 days of history, 2 active days
    young.first = T0 - 2 * DAY;
    profiles.push(young);
    let learning = 0,
      learned = 0;
    for (const p of profiles) {
      const facts = encodeBaseline(p.key, p).facts;
      for (const now of [T0 - 100 * DAY, p.first, p.first + 1, T0 - DAY, T0, T0 + 1, T0 + DAY + 1, T0 + 60 * DAY]) {
        for (const cfg of cfgs) {
          const want = new BaselineView(p, now, cfg).learning;
          expect(learningAt(facts, now, cfg), `${p.key} at ${now}`).toBe(want);
          if (want) learning++;
          else learned++;
        }
      }
    }
    expect(learningAt(undefined, T0, DEFAULT_BASELINE_CONFIG)).toBe(new BaselineView(undefined, T0, DEFAULT_BASELINE_CONFIG).learning);
    // Both outcomes are exercised.
    expect(learning).toBeGreaterThan(20);
    expect(learned).toBeGreaterThan(20);
  });
});
