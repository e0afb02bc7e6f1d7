import { describe, it, expect } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "../../src/bench/generate.js";
import { runScan } from "../../src/scan/run.js";
import { FileSource } from "../../src/sources/files.js";
import { TrailStore } from "../../src/store/index.js";
import { scanStoreFrom } from "../../src/app/store-port.js";
import { DAY } from "../../src/baseline/profile.js";

// A rescan of files already folded into the stored baselines must not change what it learned:
// the accumulator skips events up to `trainedUntil`, and the stored counts must not decay again.
describe("a warm rescan of the same files", () => {
  it("gives the learning list and stored baselines of the first scan", { tags: ["slow"] }, async () => {
    const data = mkdtempSync(join(tmpdir(), "th-rescan-data-"));
    const days = 6;
    // Few events per identity: many identities sit near the learning threshold (50 events).
    await generate({ dir: data, events: 12_000, identities: 150, days, perFile: 500, seed: 7 });
    // The scan runs a day after the newest event: stored counts would decay by a day on each rescan.
    const now = Date.parse("2024-03-01T00:00:00Z") + (days + 1) * DAY;
    const store = await TrailStore.open(mkdtempSync(join(tmpdir(), "th-rescan-store-")));
    const scanStore = scanStoreFrom(store);
    const scan = async () => {
      const { report, profiles } = await runScan({
        now,
        sources: [new FileSource([data])],
        storedProfile: (k) => scanStore.getBaseline(k),
        storedTrainedUntil: (k) => scanStore.getBaselineTrainedUntil(k),
      });
      await scanStore.saveScan(report, profiles, { by: "test", target: "all" });
      return { report, stored: JSON.stringify([...store.getBaselines()].sort(([a], [b]) => a.localeCompare(b))) };
    };
    const first = await scan();
    const second = await scan();
    const third = await scan();
    expect(first.report.learning.length).toBeGreaterThan(0);
    expect(first.report.learning.length).toBeLessThan(first.report.identities.length);
    for (const again of [second, third]) {
      expect(again.report.learning).toEqual(first.report.learning);
      expect(again.report.identities).toEqual(first.report.identities);
      expect(again.stored).toBe(first.stored);
    }
  });
});
