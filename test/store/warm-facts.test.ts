import { describe, expect, it } from "vitest";
import { makeProfile, reopenedWith, tempDirEach } from "./helpers.js";

const dir = tempDirEach();

describe("warmBaselineFacts (serve runs it in the background after start)", () => {
  it("decodes every baseline's active days, yielding to the event loop between slices", async () => {
    const profiles = Array.from({ length: 5 }, (_, i) => makeProfile(`user:1:u${i}`));
    // Reopened by the baselines' digest: the days are decoded on first use.
    const s = await reopenedWith(dir(), profiles);
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
