import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TrailStore } from "../../src/store/index.js";
import { makeProfile, tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

describe("warmBaselineFacts (serve runs it in the background after start)", () => {
  it("decodes every baseline's active days, yielding to the event loop between slices", async () => {
    const s0 = await TrailStore.open(dir);
    const profiles = Array.from({ length: 5 }, (_, i) => makeProfile(`user:1:u${i}`));
    await s0.putBaselines(profiles);
    await s0.close();
    // Reopened by the baselines' digest: the days are decoded on first use.
    const s = await TrailStore.open(dir);
    let ranBetween = false;
    setImmediate(() => {
      ranBetween = true;
    });
    const warming = s.warmBaselineFacts(2);
    const n = await warming;
    expect(n).toBe(5);
    expect(ranBetween).toBe(true);
    for (const p of profiles) expect(s.getBaselineFacts([p.key]).get(p.key)?.days).toEqual(p.days);
    await s.close();
  });
});
