/**
 * One dimension of a stored baseline read without decoding the rest (baselines.ts: decodeDim,
 * TrailStore.readBaselineDim): what the scan asks of identities it has not settled yet (the
 * regions an account knew). It must equal the decoded profile's dimension, or give the whole
 * profile where it cannot (values held back for findings, profiles stored unpacked), and a scan
 * that uses it must report and save exactly what one that decodes every profile does.
 */
import { describe, expect, it } from "vitest";
import { DIMS, type Profile } from "../../src/baseline/profile.js";
import { Scanner, type ScanOptions } from "../../src/scan/scanner.js";
import { BaselineTable, decodeBaseline, decodeDim, encodeBaseline, tableOf } from "../../src/store/baselines.js";
import { TrailStore } from "../../src/store/index.js";
import { DAY, HOUR, T0, makeProfile, reopenedWith, tempDirEach } from "./helpers.js";
import { rec } from "../scan/records.js";

function variety(): Profile[] {
  const out: Profile[] = [];
  for (let i = 0; i < 6; i++) {
    const p = makeProfile(`user:1111:u${i}`, T0, 3 + i);
    p.accountId = "1111";
    for (let r = 0; r < i; r++) p.dims.region[`region-${r}`] = [r + 0.25, r / 3, T0 - (r + 2) * DAY, T0 - r * HOUR];
    // Values an attacker chose: quotes, brackets and a dimension's name with the key's punctuation.
    p.dims.region['we"ird],"region":[x'] = [1, 0, T0 - DAY, T0];
    p.dims.api['"region":["nope",1,0,0,0]'] = [3, 0, T0 - DAY, T0];
    const proto = "__proto__";
    p.dims.region[proto] = [2, 1, T0 - 3 * DAY, T0 - DAY];
    out.push(p);
  }
  const noAccount = makeProfile("user:1111:noaccount");
  out.push(noAccount);
  const held = makeProfile("user:1111:held");
  held.held = [{ finding: "F1", since: T0, values: [["region", "eu-west-3", [1, 0, T0, T0]]] }];
  out.push(held);
  const odd = makeProfile("user:1111:odd"); // a non-integer time: stored unpacked
  odd.dims.region["x"] = [1, 0, T0 + 0.5, T0 + 1];
  out.push(odd);
  return out;
}

const dir = tempDirEach();

describe("decodeDim", () => {
  it("equals the decoded profile's dimension (same values, same order)", () => {
    for (const p of variety()) {
      const e = encodeBaseline(p.key, p);
      const whole = decodeBaseline(e);
      for (const d of DIMS) {
        const one = decodeDim(e, d);
        if (p.held || p.key.endsWith(":odd")) {
          expect(one, p.key).toBeUndefined();
          continue;
        }
        expect(one, `${p.key} ${d}`).toBeDefined();
        expect(one!.trainedUntil).toBe(whole.trainedUntil);
        expect(one!.accountId).toBe(whole.accountId);
        expect(Object.keys(one!.dims[d]!)).toEqual(Object.keys(whole.dims[d]));
        expect(one!.dims[d]).toEqual(whole.dims[d]);
        expect(Object.getPrototypeOf(one!.dims[d])).toBeNull();
      }
    }
  });

  it("a profile read after one of its dimensions is decoded from the part inflated then, to the same profile", async () => {
    const s = await reopenedWith(dir(), variety());
    const t = tableOf(s.data.baselines)!;
    for (const p of variety()) {
      const e = t.entry(p.key)!;
      const one = s.readBaselineDim(p.key, "region");
      expect(one).toBeDefined();
      expect(s.readBaselineOnce(p.key)).toEqual(decodeBaseline(e));
      // Asked again: inflated again, the same.
      s.readBaselineDim(p.key, "region");
      s.readBaselineDim(p.key, "ip");
      expect(s.readBaselineOnce(p.key)).toEqual(decodeBaseline(e));
    }
    await s.close();
  });

  it("the table answers with the whole profile where one dimension cannot be read alone, and nothing for an unknown key", () => {
    const t = new BaselineTable();
    for (const p of variety()) t.set(p.key, encodeBaseline(p.key, p));
    expect(t.dim("user:1111:nobody", "region")).toBeUndefined();
    const held = t.dim("user:1111:held", "region");
    expect(held && "v" in held).toBe(true);
    expect(held).toEqual(decodeBaseline(t.entry("user:1111:held")!));
    const light = t.dim("user:1111:u3", "region");
    expect(light && "v" in light).toBe(false);
  });
});

describe("a scan reading the stored regions alone", () => {
  it("reports and saves exactly what a scan decoding each stored profile does", async () => {
    const S = Date.parse("2024-05-01T00:00:00Z");
    const history: unknown[] = [];
    const users = ["alice", "bob", "carol", "dave", "erin"];
    const regions = ["us-east-1", "eu-west-1", "eu-west-3", "ap-south-1"];
    for (let d = 0; d < 20; d++)
      users.forEach((u, i) => {
        for (let k = 0; k < 4; k++) history.push(rec({ t: S + d * DAY + (9 + k) * HOUR, user: u, region: regions[(i + d + k) % (i + 1)]!, name: `Describe${k}` }));
      });
    const day = [
      rec({ t: S + 21 * DAY + 10 * HOUR, user: "alice", region: "eu-west-3" }),
      rec({ t: S + 21 * DAY + 11 * HOUR, user: "bob", region: "sa-east-1" }),
      rec({ t: S + 21 * DAY + 12 * HOUR, user: "erin", region: "ap-south-1" }),
      rec({ t: S + 21 * DAY + 3 * HOUR, user: "carol", region: "me-south-1", name: "CreateUser" }),
    ];
    const run = (recs: unknown[], opts: Partial<ScanOptions>) => {
      const s = new Scanner({ now: S + 22 * DAY, ...opts });
      for (const r of recs) s.record(r, "test");
      return s.finish();
    };
    const store = TrailStore.memory();
    await store.putBaselines(run(history, {}).profiles);
    const decoded: string[] = [];
    const viaProfile = run(day, {
      storedProfile: (k) => {
        decoded.push(k);
        return store.readBaselineOnce(k);
      },
      storedTrainedUntil: (k) => store.getBaselineTrainedUntil(k),
    });
    const alone: string[] = [];
    const decodedAlone: string[] = [];
    const viaDim = run(day, {
      storedProfile: (k) => {
        decodedAlone.push(k);
        return store.readBaselineOnce(k);
      },
      storedTrainedUntil: (k) => store.getBaselineTrainedUntil(k),
      storedDim: (k, d) => {
        alone.push(`${k} ${d}`);
        return store.readBaselineDim(k, d);
      },
    });
    expect(JSON.stringify(viaDim.report)).toBe(JSON.stringify(viaProfile.report));
    expect(JSON.stringify(viaDim.profiles)).toBe(JSON.stringify(viaProfile.profiles));
    // The regions were asked (new-region detectors), and each profile decoded once, when settled.
    expect(alone.length).toBeGreaterThan(0);
    expect(new Set(decodedAlone).size).toBe(decodedAlone.length);
  });
});
