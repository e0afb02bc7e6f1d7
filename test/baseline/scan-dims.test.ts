import { describe, expect, it } from "vitest";
import { mergeProfile } from "../../src/baseline/merge.js";
import { DAY, DEFAULT_BASELINE_CONFIG, DIMS } from "../../src/baseline/profile.js";
import { BaselineView } from "../../src/baseline/view.js";
import { IdentityAcc } from "../../src/ingest/accumulator.js";
import { ev } from "../helpers/events.js";

// A view's profile whose dimensions are built when read (mergeProfile's lazyDims, for scans that
// keep no profiles) answers as the profile built whole: the same values, stats, counts and order.

const NOW = Date.parse("2024-06-01T00:00:00Z");
const cfg = { ...DEFAULT_BASELINE_CONFIG, caps: { ...DEFAULT_BASELINE_CONFIG.caps, region: 2 } };

describe("lazily built view dimensions", () => {
  it("answer known, stat, values, distinct, noveltyRate and size as the whole profile does, over and under the cap", () => {
    const regions = ["us-east-1", "eu-west-1", "__proto__", "ap-south-1"];
    const events = [];
    for (let d = 0; d < 12; d++)
      for (let k = 0; k < 6; k++) {
        const time = NOW - (12 - d) * DAY + k * 3_600_000;
        events.push(ev({ time, eventName: `Describe${(d + k) % 5}`, eventSource: "ec2.amazonaws.com", region: regions[(d * k) % 4]!, sourceIPAddress: `198.51.100.${d}` }));
      }
    const acc = new IdentityAcc(events[0]!.principal, -Infinity);
    for (const e of events) acc.add(e, undefined, e.time >= NOW - 2 * DAY, NOW - 2 * DAY, undefined);
    const winStart = NOW - 2 * DAY;
    acc.toWindow(winStart, NOW, () => undefined);
    const whole = new BaselineView(mergeProfile(undefined, acc, NOW, cfg), winStart, cfg);
    const lazy = () => new BaselineView(mergeProfile(undefined, acc, NOW, cfg, true), winStart, cfg);
    const asked = ["us-east-1", "__proto__", "constructor", "Describe1", "ec2:Describe1", "ec2", "198.51.100.3", "nothing"];
    for (const d of DIMS) {
      // A fresh lazy view per question: each answers before and without the others building anything.
      for (const v of asked) {
        expect(lazy().known(d, v), `${d} ${v}`).toBe(whole.known(d, v));
        expect(lazy().stat(d, v), `${d} ${v}`).toEqual(whole.stat(d, v));
      }
      expect(lazy().distinct(d), d).toBe(whole.distinct(d));
      expect(lazy().noveltyRate(d), d).toBe(whole.noveltyRate(d));
      expect(lazy().size(d), d).toBe(whole.size(d));
      expect(lazy().values(d), d).toEqual(whole.values(d));
    }
    expect(whole.size("region")).toBe(2); // capped
    expect(whole.distinct("ip")).toBeGreaterThan(5);
  });
});
