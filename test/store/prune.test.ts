/**
 * Bounded growth: what `prune` drops with the default limits (90 days; findings not seen in 365;
 * audit files older than 365), `trailhound store prune`, the bot's settings and its daily schedule.
 */
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli.js";
import { PRUNE_DEFAULTS, TrailStore, pruneSettingsFromEnv, startPruneSchedule } from "../../src/store/index.js";
import { DAY, makeFinding, makeProfile, tempDir } from "./helpers.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanups.splice(0)) await c();
});

async function dir(): Promise<string> {
  const t = await tempDir("trailhound-prune-");
  cleanups.push(t.cleanup);
  return t.dir;
}

const iso = (t: number) => new Date(t).toISOString();

/** A store a long-running bot would have after 400 days: something of every kind, old and recent. */
async function agedStore(d: string, now: number): Promise<TrailStore> {
  const s = await TrailStore.open(d);
  await s.putBaselines([makeProfile("recent", now - 5 * DAY), makeProfile("gone", now - 200 * DAY)]);
  const seen = (id: string, daysAgo: number) => makeFinding({ id, firstSeen: iso(now - daysAgo * DAY), lastSeen: iso(now - daysAgo * DAY) });
  await s.recordFindings(
    [seen("resolved-old", 100), seen("resolved-new", 10), seen("acked-100", 100), seen("acked-400", 400), seen("open-400", 400), seen("open-100", 100)],
    now - 400 * DAY,
  );
  await s.resolve("resolved-old", "U", now - 99 * DAY);
  await s.resolve("resolved-new", "U", now - 9 * DAY);
  await s.acknowledge("acked-100", "U", now - 99 * DAY);
  await s.acknowledge("acked-400", "U", now - 399 * DAY);
  const removed = await s.suppress({ scope: "detector", detector: "x", until: now + 10 * DAY, reason: "r", by: "U" }, now - 120 * DAY);
  await s.unsuppress(removed.id, "U", now - 100 * DAY);
  await s.suppress({ scope: "detector", detector: "y", until: now + 10 * DAY, reason: "r", by: "U" }, now - 120 * DAY);
  const scan = (daysAgo: number) => ({
    at: iso(now - daysAgo * DAY),
    by: "t",
    target: "all",
    window: { start: iso(now - daysAgo * DAY - DAY), end: iso(now - daysAgo * DAY) },
    events: 1,
    findings: 0,
    partial: false,
  });
  await s.addScan(scan(100));
  await s.addScan(scan(1));
  await writeFile(path.join(d, `audit-${iso(now - 400 * DAY).slice(0, 10)}.jsonl`), "{}\n");
  await writeFile(path.join(d, `audit-${iso(now - 10 * DAY).slice(0, 10)}.jsonl`), "{}\n");
  return s;
}

describe("prune", () => {
  it("drops what is past the limits and keeps the rest", async () => {
    const d = await dir();
    const now = Date.UTC(2025, 0, 15, 12);
    const s = await agedStore(d, now);
    expect(PRUNE_DEFAULTS).toEqual({ olderThanDays: 90, findingsDays: 365, auditDays: 365 });
    const res = await s.prune({ olderThanDays: 90 }, now);
    expect(res).toEqual({ baselines: 1, findings: 3, suppressions: 1, scans: 1, auditFiles: 1 });
    expect([...s.getBaselines().keys()]).toEqual(["recent"]);
    expect(
      s
        .listFindings()
        .map((f) => f.id)
        .sort(),
    ).toEqual(["acked-100", "open-100", "resolved-new"]);
    expect(s.data.suppressions.map((x) => x.detector)).toEqual(["y"]);
    expect(s.scans().map((x) => x.at)).toEqual([iso(now - DAY)]);
    expect((await readdir(d)).filter((f) => f.startsWith("audit-"))).toEqual([`audit-${iso(now - 10 * DAY).slice(0, 10)}.jsonl`]);
    expect(s.auditLog(1)[0]).toMatchObject({ action: "prune", detail: "1 baselines, 3 findings, 1 ended suppressions, 1 scan records" });
    // Pruning again finds nothing more.
    expect(await s.prune({ olderThanDays: 90 }, now)).toEqual({ baselines: 0, findings: 0, suppressions: 0, scans: 0, auditFiles: 0 });
    await expect(s.prune({ olderThanDays: 90, auditDays: 0 }, now)).rejects.toMatchObject({ code: "invalid" });
    await s.close();
  });

  it("`trailhound store prune` prunes with the default limits and says what it dropped", async () => {
    const d = await dir();
    const s = await agedStore(d, Date.now());
    await s.close();
    let out = "";
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
    let code: number;
    try {
      code = await main(["node", "trailhound", "store", "prune", "--store", d]);
    } finally {
      spy.mockRestore();
      process.exitCode = undefined;
    }
    expect(code).toBe(0);
    expect(out).toMatch(/Pruned .*: 1 baseline\(s\) not seen in 90 days, 3 finding\(s\) .*1 suppression\(s\) .*1 scan record\(s\) .*1 audit file\(s\) older than 365 days/);
    const again = await TrailStore.open(d);
    expect(again.listFindings()).toHaveLength(3);
    await again.close();
  });
});

describe("the bot's pruning", () => {
  it("reads its limits from the environment, off disables it, a bad value is a clear error", () => {
    expect(pruneSettingsFromEnv({})).toEqual({ olderThanDays: 90, findingsDays: 365, auditDays: 365, everyMs: DAY });
    expect(pruneSettingsFromEnv({ TRAILHOUND_PRUNE_DAYS: "30", TRAILHOUND_PRUNE_AUDIT_DAYS: "off" })).toMatchObject({ olderThanDays: 30, auditDays: 36_500 });
    expect(pruneSettingsFromEnv({ TRAILHOUND_PRUNE_DAYS: "off" })).toBeUndefined();
    expect(() => pruneSettingsFromEnv({ TRAILHOUND_PRUNE_DAYS: "soon" })).toThrow(
      expect.objectContaining({ code: "config", message: expect.stringMatching(/TRAILHOUND_PRUNE_DAYS=soon/) }),
    );
  });

  it("prunes a minute after start and then every day; a failure is logged and the schedule goes on", async () => {
    vi.useFakeTimers();
    const calls: number[] = [];
    let fail = true;
    const store = {
      prune: vi.fn(async (o: { olderThanDays: number }) => {
        calls.push(o.olderThanDays);
        if (fail) {
          fail = false;
          throw new Error("disk full");
        }
        return { baselines: 0, findings: 0, suppressions: 0, scans: 0, auditFiles: 0 };
      }),
    };
    const log = { info: vi.fn(), warn: vi.fn() };
    const sched = startPruneSchedule(store, { olderThanDays: 90, findingsDays: 365, auditDays: 365, everyMs: DAY }, log);
    await vi.advanceTimersByTimeAsync(59_000);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual([90]);
    expect(log.warn).toHaveBeenCalledWith(expect.stringMatching(/pruning the store failed/), expect.anything());
    await vi.advanceTimersByTimeAsync(DAY);
    expect(calls).toEqual([90, 90]);
    expect(log.info).toHaveBeenCalledWith("store pruned", expect.objectContaining({ findings: 0 }));
    sched.stop();
    await vi.advanceTimersByTimeAsync(3 * DAY);
    expect(calls).toHaveLength(2);
  });
});
