import { describe, it, expect, vi } from "vitest";
import { TrailStore } from "../../src/store/store.js";
import { createScanService, filtersOf } from "../../src/app/scan-service.js";
import { FileSource } from "../../src/sources/files.js";
import { scanStoreFrom } from "../../src/app/store-port.js";
import { runScan } from "../../src/scan/run.js";
import { BaselineEncoder } from "../../src/store/encode-off-thread.js";
import { VERSION } from "../../src/version.js";

describe("the scan service behind the bot", () => {
  it("scans, persists baselines, findings and the scan record before resolving, and reports progress", async () => {
    const store = TrailStore.memory();
    const progress: string[] = [];
    const seen: Array<{ start: number; end: number }> = [];
    const svc = createScanService({
      store,
      now: () => Date.parse("2023-07-10T13:00:00Z"),
      sourceFactory: (o) => {
        seen.push({ start: o.start, end: o.end });
        return new FileSource(["test/fixtures/invictus-aws"]);
      },
    });
    const report = await svc.scan({ target: { kind: "account" }, since: "2h", requestedBy: "U1" }, (p) => progress.push(p.message));
    expect(seen).toEqual([{ start: Date.parse("2023-07-10T11:00:00Z"), end: Date.parse("2023-07-10T13:00:00Z") }]);
    expect(report.stats.events).toBe(2900);
    expect(report.findings.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatch(/2,900 events read, 55\/55 files/);
    for (const f of report.findings) expect(store.getFinding(f.id)?.finding.id).toBe(f.id);
    expect(store.getBaselines().size).toBeGreaterThan(10);
    expect(store.scans()[0]).toMatchObject({ by: "U1", target: "account", events: 2900 });
  });

  it("hides suppressed findings and counts them", async () => {
    const store = TrailStore.memory();
    const mk = () => createScanService({ store, now: () => Date.parse("2023-07-10T13:00:00Z"), sourceFactory: () => new FileSource(["test/fixtures/invictus-aws"]) });
    const first = await mk().scan({ target: { kind: "account" }, since: "2h", requestedBy: "U1" }, () => {});
    const f = first.findings[0]!;
    await store.suppress({ scope: "detector", detector: f.detector, until: "2030-01-01T00:00:00Z", reason: "test", by: "U1" }, Date.parse("2023-07-10T13:00:00Z"));
    const again = await mk().scan({ target: { kind: "account" }, since: "2h", requestedBy: "U1" }, () => {});
    expect(again.findings.some((x) => x.detector === f.detector)).toBe(false);
    expect(again.suppressed.count).toBe(first.findings.filter((x) => x.detector === f.detector).length);
  });

  it("looks stored baselines up once each: trainedUntil first (not decoded), the profile at the end", async () => {
    const store = TrailStore.memory();
    const mk = () => createScanService({ store, now: () => Date.parse("2023-07-10T13:00:00Z"), sourceFactory: () => new FileSource(["test/fixtures/invictus-aws"]) });
    const first = await mk().scan({ target: { kind: "account" }, since: "2h", requestedBy: "U1" }, () => {});
    const trainedUntil = vi.spyOn(store, "getBaselineTrainedUntil");
    const profile = vi.spyOn(store, "readBaselineOnce");
    const again = await mk().scan({ target: { kind: "account" }, since: "2h", requestedBy: "U1" }, () => {});
    expect(again.stats.events).toBe(first.stats.events);
    const asked = trainedUntil.mock.calls.map((c) => c[0]);
    const decoded = profile.mock.calls.map((c) => c[0]);
    expect(asked.length).toBeGreaterThan(10);
    expect(new Set(asked).size).toBe(asked.length);
    expect(new Set(decoded).size).toBe(decoded.length);
    expect(new Set(decoded)).toEqual(new Set(asked));
    for (const k of asked) expect(store.getBaselineTrainedUntil(k)).toBe(store.getBaseline(k)?.trainedUntil);
  });

  it("encodes each profile as the scan settles it; the store then holds what a save of the same scan without that holds", async () => {
    const now = Date.parse("2023-07-10T13:00:00Z");
    const add = vi.spyOn(BaselineEncoder.prototype, "add");
    const live = TrailStore.memory();
    const svc = createScanService({ store: live, now: () => now, sourceFactory: () => new FileSource(["test/fixtures/invictus-aws"]) });
    await svc.scan({ target: { kind: "account" }, since: "2h", requestedBy: "U1" }, () => {});
    expect(add.mock.calls.length).toBeGreaterThan(10);
    add.mockRestore();
    // The same scan, its profiles encoded only at the save.
    const plain = TrailStore.memory();
    const { report, profiles } = await runScan({
      now,
      since: { kind: "absolute", at: now - 2 * 3_600_000 },
      until: now,
      filters: {},
      version: VERSION,
      sources: [new FileSource(["test/fixtures/invictus-aws"])],
    });
    await scanStoreFrom(plain).saveScan(report, profiles, { by: "U1", target: "account" });
    const stored = (s: TrailStore) => [...s.getBaselines().keys()].sort().map((k) => [k, s.readBaselineOnce(k)]);
    expect(stored(live).length).toBe(profiles.length);
    expect(JSON.stringify(stored(live))).toBe(JSON.stringify(stored(plain)));
  });

  it("a scan stopped before its save drops what it encoded ahead", async () => {
    const abandon = vi.spyOn(BaselineEncoder.prototype, "abandon");
    const stop = new AbortController();
    const svc = createScanService({
      store: TrailStore.memory(),
      now: () => Date.parse("2023-07-10T13:00:00Z"),
      sourceFactory: () => new FileSource(["test/fixtures/invictus-aws"]),
    });
    const scan = svc.scan({ target: { kind: "account" }, since: "2h", requestedBy: "U1" }, () => stop.abort(), stop.signal);
    await expect(scan).rejects.toThrow(/aborted/);
    expect(abandon).toHaveBeenCalledTimes(1);
    abandon.mockRestore();
  });

  it("maps slash-command targets to filters", () => {
    expect(filtersOf({ target: { kind: "user", value: "alice" }, requestedBy: "U" })).toEqual({ user: "alice" });
    expect(filtersOf({ target: { kind: "role", value: "arn:aws:iam::1:role/R" }, requestedBy: "U" })).toEqual({ user: "arn:aws:iam::1:role/R" });
    expect(filtersOf({ target: { kind: "ip", value: "1.2.3.4" }, requestedBy: "U" })).toEqual({ ip: "1.2.3.4" });
    expect(filtersOf({ target: { kind: "account" }, requestedBy: "U" })).toEqual({});
  });
});
