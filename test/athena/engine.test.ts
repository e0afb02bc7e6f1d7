// @module-tag slow
/**
 * The Athena engine end to end with DuckDB standing in for Athena: the same scan, read in process
 * from files or pushed down to SQL, gives the same report.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AthenaSource, detectionWindow, runAthenaScan } from "../../src/athena/engine.js";
import { recordFromRow } from "../../src/athena/results.js";
import { windowEventsQuery } from "../../src/athena/sql.js";
import type { QueryRunner, QueryStats, RunQueryOptions } from "../../src/athena/client.js";
import { DEFAULT_BASELINE_CONFIG, DAY, emptyProfile, type BaselineConfig, type Stat } from "../../src/baseline/profile.js";
import { runScan } from "../../src/scan/run.js";
import { normalizeRecord } from "../../src/events/normalize.js";
import { FileSource } from "../../src/sources/files.js";
import { TrailStore } from "../../src/store/store.js";
import type { RecordSink } from "../../src/sources/types.js";
import { DuckAthena, invictusPlaced, multiDayDataset, type PlacedRecord } from "./duckdb.js";

const NOW = Date.parse("2024-06-01T00:00:00Z");
const TABLE = { table: "cloudtrail_logs" };
/** No decay between the stored baseline and the window, so counts compare exactly. */
const CFG: BaselineConfig = { ...DEFAULT_BASELINE_CONFIG, halfLifeDays: 1e12 };

let tmp: string;
let files: string[];
let placed: PlacedRecord[];
let duck: DuckAthena;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "th-engine-"));
  ({ files, placed } = await multiDayDataset(await invictusPlaced(), tmp));
  duck = await DuckAthena.create(placed);
});
afterAll(async () => {
  duck.close();
  await rm(tmp, { recursive: true, force: true });
});

/** Counts to 6 decimals: the stored baseline is aged by a factor 1 - 1e-12 or so. */
const round = (rec: Record<string, Stat>) => Object.fromEntries(Object.entries(rec).map(([k, s]) => [k, [Math.round(s[0] * 1e6) / 1e6, Math.round(s[1] * 1e6) / 1e6, s[2], s[3]]]));

describe("runAthenaScan == runScan over the same data", () => {
  it("same window, identities, counts, findings and baselines", async () => {
    const inProcess = await runScan({ now: NOW, baseline: CFG, sources: [new FileSource(files)], since: { kind: "relative", ms: DAY } });
    const until = Date.parse(inProcess.report.window.end);
    const queries: QueryStats[] = [];
    const athena = await runAthenaScan({
      now: NOW,
      baseline: CFG,
      since: { kind: "relative", ms: DAY },
      until,
      athena: { runner: duck, table: TABLE },
      onQuery: (q) => queries.push(q),
    });
    const a = athena.report;
    const b = inProcess.report;
    expect(a.window).toEqual(b.window);
    expect(a.stats.events).toBe(b.stats.events);
    expect(a.stats.events).toBeGreaterThan(1000);
    const ids = (r: typeof a) => r.identities.map((i) => ({ key: i.key, events: i.events, errors: i.errors, learning: i.learning })).sort((x, y) => (x.key < y.key ? -1 : 1));
    expect(ids(a)).toEqual(ids(b));
    expect(ids(a).some((i) => !i.learning)).toBe(true);
    // Athena's baseline SQL computes neither person baselines nor the secret/parameter `target`
    // dimension: findings judged by them (a person's own novelty, bulk secret reads judged by
    // distinct targets) are the in-process scan's only; every other finding is the same.
    const byTargets = (f: (typeof a)["findings"][number]) =>
      f.detector === "bulk-sensitive-actions" && ["secrets", "parameters"].includes(String((f.evidence as { category?: string } | undefined)?.category));
    const findings = (r: typeof a) =>
      r.findings
        .filter((f) => !f.identity.person && !byTargets(f))
        .map((f) => `${f.id} ${f.detector} ${f.identity.key} ${f.count}`)
        .sort();
    expect(findings(a)).toEqual(findings(b));
    expect(findings(a).length).toBeGreaterThan(0);
    // Baselines to persist: same dims and counts (the Athena side is baseline + window).
    const pa = new Map(athena.profiles.map((p) => [p.key, p]));
    // The scanner decides "a service acted with these credentials" once per identity, from its
    // first record (see sql-equivalence.test.ts); Athena per event. Their ip/ua may differ.
    const via = new Map<string, Set<boolean>>();
    for (const p of placed) {
      const r = normalizeRecord(p.record);
      if (r.ok) via.set(r.event.principal.key, (via.get(r.event.principal.key) ?? new Set()).add(r.event.principal.invokedBy !== undefined));
    }
    // Only identities active in the window get a profile back (the store keeps the others).
    const active = new Set(b.identities.map((i) => i.key));
    expect([...pa.keys()].filter((k) => !k.startsWith("person:")).sort()).toEqual([...active].sort());
    expect(inProcess.profiles.length).toBeGreaterThan(active.size);
    for (const p of inProcess.profiles) {
      if (!active.has(p.key)) continue;
      const q = pa.get(p.key)!;
      const dims = via.get(p.key)!.size > 1 ? (["api", "service", "region", "errorCode"] as const) : (["api", "service", "region", "ip", "ua", "errorCode"] as const);
      for (const d of dims) expect(round(q.dims[d]), `${p.key} ${d}`).toEqual(round(p.dims[d]));
      expect(q.days, p.key).toEqual(p.days);
      expect(q.hourly, p.key).toEqual(p.hourly);
      expect(q.events, p.key).toBeCloseTo(p.events, 6);
    }
    // Only the window's records travelled; the baseline came back as marginals.
    expect(a.stats.recordsRead).toBe(a.stats.events);
    expect(b.stats.recordsRead).toBeGreaterThan(3 * a.stats.recordsRead);
    expect(queries.map((q) => q.label).sort()).toEqual(["baseline", "window events"]);
    expect(athena.queries).toHaveLength(2);
    expect(a.sources[0]).toMatchObject({ kind: "athena", name: "athena cloudtrail_logs", records: a.stats.recordsRead });
    expect(a.sources[0]!.note).toMatch(/baseline: 0 B scanned, \$0\.0000.*window events: .*total \$0\.0001/);
  });

  it("without the baseline query, identities are learning and the store's profiles are used", async () => {
    const win = detectionWindow(
      NOW,
      { kind: "relative", ms: DAY },
      Date.parse(
        placed
          .map((p) => String(p.record.eventTime))
          .sort()
          .at(-1)!,
      ),
    );
    const storeHits: string[] = [];
    const r = await runAthenaScan({
      now: NOW,
      since: { kind: "absolute", at: win.start },
      until: win.end,
      athena: { runner: duck, table: TABLE },
      fetchBaseline: false,
      storedProfile: (k) => {
        storeHits.push(k);
        return undefined;
      },
    });
    expect(r.queries.map((q) => q.label)).toEqual(["window events"]);
    expect(r.report.identities.every((i) => i.learning)).toBe(true);
    expect(storeHits.length).toBeGreaterThan(3);
  });
});

describe("storedTrainedUntil (the store's, for ScanOptions)", () => {
  it("gives the same scan as storedProfile alone: Athena's baselines answer for the identities it has", async () => {
    const since = { kind: "relative" as const, ms: DAY };
    const prior = await runScan({ now: NOW, baseline: CFG, sources: [new FileSource(files)], since });
    const until = Date.parse(prior.report.window.end);
    // The store's profiles are trained up to the window's end: a store trainedUntil used for an
    // identity Athena has a baseline for would hide the window's events.
    const store = TrailStore.memory();
    await store.putBaselines(prior.profiles);
    const asked: string[] = [];
    for (const fetchBaseline of [true, false]) {
      const o = { now: NOW, baseline: CFG, since, until, athena: { runner: duck, table: TABLE }, fetchBaseline, storedProfile: (k: string) => store.getBaseline(k) };
      const a = await runAthenaScan(o);
      const b = await runAthenaScan({
        ...o,
        storedTrainedUntil: (k) => {
          asked.push(k);
          return store.getBaselineTrainedUntil(k);
        },
      });
      expect(b.report).toEqual(a.report);
      expect(b.profiles).toEqual(a.profiles);
      expect(a.report.stats.events).toBeGreaterThan(1000);
    }
    expect(asked.length).toBeGreaterThan(3);
  });

  it("AthenaSource.storedTrainedUntil is the trainedUntil of the profile storedProfile serves", async () => {
    const runner: QueryRunner = {
      async run(_sql: string, o: RunQueryOptions) {
        if (o.label === "baseline")
          await o.onRows?.([
            { ident: "user:1:a", dim: "total", value: null, n: "5", err: "0", den: "0", first_ms: "1", last_ms: "2", p_type: "IAMUser", breadth_max: "0", breadth_buckets: "0" },
          ]);
        return { label: o.label, queryId: o.label, dataScannedBytes: 1, rows: 1 };
      },
    };
    const src = new AthenaSource(runner, { table: TABLE, window: { start: 10, end: 20 } });
    const stored = { ...emptyProfile("user:1:a", "IAMUser"), trainedUntil: 999 };
    const other = { ...emptyProfile("user:1:b", "IAMUser"), trainedUntil: 777 };
    const fromStore = new Map([
      ["user:1:a", stored],
      ["user:1:b", other],
    ]);
    const profile = src.storedProfile((k) => fromStore.get(k));
    const trainedUntil = src.storedTrainedUntil((k) => fromStore.get(k)?.trainedUntil);
    const agree = () => {
      for (const k of ["user:1:a", "user:1:b", "user:1:none"]) expect(trainedUntil(k), k).toBe(profile(k)?.trainedUntil);
    };
    agree();
    expect(trainedUntil("user:1:a")).toBe(999); // the baseline is not loaded yet: the store's
    await src.read({ record() {}, skip() {} });
    agree();
    expect(trainedUntil("user:1:a")).not.toBe(999); // Athena's own
    expect(trainedUntil("user:1:b")).toBe(777);
  });
});

describe("window rows back to CloudTrail records", () => {
  it("normalise to the same events as the delivered records (every fixture record)", async () => {
    const rows = await duck.all(windowEventsQuery({ table: TABLE, from: 0, to: 4e12 }));
    expect(rows).toHaveLength(placed.length);
    const byId = new Map(placed.map((p) => [String(p.record.eventID), p.record]));
    let withResources = 0,
      withRequest = 0;
    for (const row of rows) {
      const rebuilt = recordFromRow(row);
      const original = byId.get(String(rebuilt.eventID))!;
      const a = normalizeRecord(rebuilt);
      const b = normalizeRecord(original);
      expect(a.ok && b.ok).toBe(true);
      if (!a.ok || !b.ok) continue;
      expect(a.event, String(rebuilt.eventID)).toEqual(b.event);
      if (b.event.resources?.length) withResources++;
      if (b.event.requestParameters) withRequest++;
      expect(rebuilt.userIdentity).toEqual(original.userIdentity);
    }
    expect(withResources).toBeGreaterThan(100);
    expect(withRequest).toBeGreaterThan(100);
  });
});

describe("AthenaSource", () => {
  const noSink: RecordSink = { record() {}, skip() {} };

  it("holds the window's rows until the baseline is loaded", async () => {
    const order: string[] = [];
    let releaseBaseline!: () => void;
    const gate = new Promise<void>((r) => (releaseBaseline = r));
    const runner: QueryRunner = {
      async run(_sql: string, o: RunQueryOptions) {
        if (o.label === "baseline") {
          await gate;
          await o.onRows?.([
            { ident: "user:1:a", dim: "total", value: null, n: "5", err: "0", den: "0", first_ms: "1", last_ms: "2", p_type: "IAMUser", breadth_max: "0", breadth_buckets: "0" },
          ]);
          order.push("baseline loaded");
        } else {
          const p = o.onRows?.([{ eventid: "x", eventtime: "2024-01-01T00:00:00Z" }]);
          order.push("window page delivered");
          setTimeout(releaseBaseline, 20);
          await p;
          order.push("window page consumed");
        }
        return { label: o.label, queryId: o.label, dataScannedBytes: 1, rows: 1 };
      },
    };
    const src = new AthenaSource(runner, { table: TABLE, window: { start: 0, end: 10 } });
    const lookup = src.storedProfile();
    const sink: RecordSink = {
      record: () => {
        order.push(`record (profile ${lookup("user:1:a") ? "known" : "unknown"})`);
      },
      skip() {},
    };
    await src.read(sink);
    expect(order).toEqual(["window page delivered", "baseline loaded", "record (profile known)", "window page consumed"]);
  });

  it("a failed baseline query fails the read with its own error and stops the window query", async () => {
    let windowSignal: AbortSignal | undefined;
    const runner: QueryRunner = {
      async run(_sql, o) {
        if (o.label === "baseline") {
          await new Promise((r) => setTimeout(r, 10));
          throw new Error("TABLE_NOT_FOUND: cloudtrail_logs");
        }
        windowSignal = o.signal;
        await new Promise<void>((_resolve, reject) => o.signal!.addEventListener("abort", () => reject(new Error("aborted"))));
        return { label: o.label, queryId: "w", dataScannedBytes: 0, rows: 0 };
      },
    };
    const src = new AthenaSource(runner, { table: TABLE, window: { start: 0, end: 10 } });
    await expect(src.read(noSink)).rejects.toThrow(/TABLE_NOT_FOUND/);
    expect(windowSignal?.aborted).toBe(true);
  });

  it("an aborted scan aborts the queries", async () => {
    const signals: AbortSignal[] = [];
    const runner: QueryRunner = {
      run(_sql, o) {
        signals.push(o.signal!);
        return new Promise((_, reject) => o.signal!.addEventListener("abort", () => reject(Object.assign(new Error("stopped"), { name: "AbortError" }))));
      },
    };
    const ctrl = new AbortController();
    const src = new AthenaSource(runner, { table: TABLE, window: { start: 0, end: 10 } });
    const p = src.read(noSink, { signal: ctrl.signal });
    setTimeout(() => ctrl.abort(), 10);
    await expect(p).rejects.toThrow(/stopped/);
    expect(signals).toHaveLength(2);
    expect(signals.every((s) => s.aborted)).toBe(true);
  });

  it("baseline SQL covers the days before the window for the window's identities; geo asks for more IPs", () => {
    const start = Date.parse("2024-05-10T06:00:00Z");
    const src = new AthenaSource(duck, { table: TABLE, window: { start, end: start + DAY }, baselineDays: 30 });
    const sql = src.sql();
    expect(sql.baseline).toContain(`"timestamp" BETWEEN '2024/04/10' AND '2024/05/11'`);
    expect(sql.baseline).toContain(`ident IN (SELECT ident FROM w3 UNION SELECT person_key FROM w3 WHERE person_key IS NOT NULL)`);
    expect(sql.baseline).toContain(`WHEN 'ip' THEN 100`);
    expect(sql.window).toContain(`"timestamp" BETWEEN '2024/05/10' AND '2024/05/12'`);
    const geo = new AthenaSource(duck, { table: TABLE, window: { start, end: start + DAY }, geo: { lookup: () => undefined, describe: () => "" } });
    expect(geo.sql().baseline).toContain(`WHEN 'ip' THEN 1000`);
  });
});
