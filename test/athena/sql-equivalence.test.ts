// @module-tag slow
/**
 * The SQL trailhound sends to Athena computes what the in-process core computes. The generated
 * Trino text runs unchanged on DuckDB (function-name macros only, src/athena/dialect.ts) over the
 * fixtures laid out like the Athena table, and its per-identity marginals are compared, row for
 * row, with the profiles `runScan` builds from the same files.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { baselineQuery } from "../../src/athena/sql.js";
import { profilesFromRows } from "../../src/athena/results.js";
import { DIMS, HOUR, DAY, type Dim, type Profile, type Stat } from "../../src/baseline/profile.js";
import { normalizeRecord, personKey } from "../../src/events/normalize.js";
import { runScan } from "../../src/scan/run.js";
import { FileSource } from "../../src/sources/files.js";
import { DuckAthena, INVICTUS, OTRF, invictusPlaced, multiDayDataset, otrfRecords, placeRecords, sharedRolesDataset, type PlacedRecord } from "./duckdb.js";

const NOW = Date.parse("2024-06-01T00:00:00Z");
const TABLE = { table: "cloudtrail_logs" };

interface Dataset {
  name: string;
  files: string[];
  placed: PlacedRecord[];
}

let tmp: string;
const datasets: Dataset[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "th-sql-eq-"));
  const inv = await invictusPlaced();
  datasets.push({ name: "invictus-aws", files: [INVICTUS], placed: inv });
  datasets.push({ name: "otrf", files: [OTRF], placed: placeRecords(await otrfRecords()) });
  datasets.push({ name: "invictus shifted over 21 days", ...(await multiDayDataset(inv, tmp)) });
  datasets.push({ name: "shared roles, people and secrets", ...(await sharedRolesDataset(tmp)) });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The parts of a profile the SQL computes (trainedUntil, arn, userName, accountId are the scan's). */
function comparable(p: Profile, skipDims: readonly Dim[] = []) {
  return {
    key: p.key,
    type: p.type,
    events: p.events,
    errors: p.errors,
    denied: p.denied,
    first: p.first,
    last: p.last,
    days: p.days,
    hours: p.hours,
    weekdays: p.weekdays,
    hourly: p.hourly,
    dims: Object.fromEntries(DIMS.filter((d) => !skipDims.includes(d)).map((d) => [d, Object.fromEntries(Object.entries(p.dims[d]).sort(([a], [b]) => (a < b ? -1 : 1)))])),
  };
}

/**
 * The ip and ua marginals per event, as docs/CLOUDTRAIL.md section 2 specifies: events whose
 * userIdentity has `invokedBy` (a service acting with the caller's credentials) stay out of them.
 * The SQL does exactly this. The scanner decides it once per identity, from the identity's first
 * principal (`IdentityAcc.principal.invokedBy`), so for identities with both kinds of events its
 * result depends on record order; for those identities the SQL is compared with this spec.
 */
function perEventNetDims(records: ReadonlyArray<Record<string, unknown>>) {
  const out = new Map<string, { ip: Record<string, Stat>; ua: Record<string, Stat>; via: boolean; direct: boolean }>();
  const bump = (rec: Record<string, Stat>, v: string, t: number, failed: boolean) => {
    const s = (rec[v] ??= [0, 0, Infinity, -Infinity]);
    s[0]++;
    if (failed) s[1]++;
    s[2] = Math.min(s[2], t);
    s[3] = Math.max(s[3], t);
  };
  for (const r of records) {
    const res = normalizeRecord(r);
    if (!res.ok) continue;
    const ev = res.event;
    const person = personKey(ev.principal);
    for (const key of person ? [ev.principal.key, person] : [ev.principal.key]) {
      let e = out.get(key);
      if (!e) out.set(key, (e = { ip: {}, ua: {}, via: false, direct: false }));
      if (ev.principal.invokedBy !== undefined) {
        e.via = true;
        continue;
      }
      e.direct = true;
      if (ev.ipKind === "public" || ev.ipKind === "private") bump(e.ip, ev.sourceIp, ev.time, ev.failed);
      bump(e.ua, ev.uaFamily, ev.time, ev.failed);
    }
  }
  return out;
}

const sorted = (o: Record<string, Stat>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

describe("baseline SQL == in-process core (DuckDB over the fixtures)", () => {
  const mixedSeen: string[] = [];
  const profileKeys: string[] = [];
  const targets: string[] = [];
  for (const which of [0, 1, 2, 3]) {
    it(`per-identity marginals match runScan's profiles: dataset ${which}`, async () => {
      const ds = datasets[which]!;
      const { report, profiles } = await runScan({ now: NOW, sources: [new FileSource(ds.files)] });
      expect(report.stats.skippedTotal).toBe(0);
      const end = Date.parse(report.window.end);
      const duck = await DuckAthena.create(ds.placed);
      try {
        const sql = baselineQuery({
          table: TABLE,
          from: 0,
          to: end + 1,
          hourlyFrom: Math.floor((end - 14 * DAY) / HOUR) * HOUR,
        });
        const rows = await duck.all(sql);
        const fromSql = profilesFromRows(rows, { trainedUntil: end });
        // Identities' baselines and, on shared roles, the persons' (person:...), with every dimension.
        const core = new Map(profiles.map((p) => [p.key, p]));
        for (const p of profiles) {
          profileKeys.push(p.key);
          targets.push(...Object.keys(p.dims.target).map((t) => `${p.key} ${t}`));
        }
        expect([...fromSql.keys()].sort()).toEqual([...core.keys()].sort());
        expect(core.size).toBeGreaterThan(2);
        const spec = perEventNetDims(ds.placed.map((p) => p.record));
        for (const [key, p] of core) {
          const q = fromSql.get(key)!;
          const net = spec.get(key)!;
          const mixed = net.via && net.direct;
          if (mixed) {
            mixedSeen.push(key);
            expect(comparable(q, ["ip", "ua"]), key).toEqual(comparable(p, ["ip", "ua"]));
            expect(sorted(q.dims.ip), key).toEqual(sorted(net.ip));
            expect(sorted(q.dims.ua), key).toEqual(sorted(net.ua));
          } else expect(comparable(q), key).toEqual(comparable(p));
        }
      } finally {
        duck.close();
      }
    });
  }

  it("the fixtures contain identities with and without invokedBy (the per-event rule is exercised)", () => {
    expect(mixedSeen).toContain("user:123837392027:bert-jan");
  });

  it("the shared-roles data has people's baselines and targets of every shape (so the comparison above covers them)", () => {
    const people = profileKeys.filter((k) => k.startsWith("person:"));
    expect(people).toEqual(
      expect.arrayContaining([
        "person:210987654321:AWSReservedSSO_AdministratorAccess_0123456789abcdef:nina",
        "person:210987654321:AWSReservedSSO_AdministratorAccess_0123456789abcdef:omar@example.com",
        "person:210987654321:Deployer:jane.doe",
        "person:210987654321:Deployer:carl@example.com",
        "person:210987654321:pat.kim:pat.kim",
      ]),
    );
    // Machine sessions and service roles name nobody.
    expect(people.some((k) => /i-0123|GitHubActions|botocore|app-task|ci-bot|xxxx/.test(k))).toBe(false);
    const byTarget = new Set(targets.map((t) => t.slice(t.indexOf(" ") + 1)));
    for (const t of [
      "secret:prod/db/password",
      "secret:prod/api-key",
      "secret:short",
      "secret:a-list",
      "secret:one",
      "secret:three",
      "secret:denied/secret",
      "parameter:/app/db/url",
      "parameter:/app/b",
      "parameter:/app/c:label",
      "parameter:/app/single",
      "parameter-path:/app/",
    ])
      expect(byTarget, t).toContain(t);
    expect(targets.some((t) => t.startsWith("person:"))).toBe(true);
  });

  it("read breadth per 10-minute bucket matches the core's", async () => {
    // The persisted breadth mixes history (buckets with reads) and the window's buckets; scan with
    // the window after the data, so that everything is history, as in a stored baseline.
    const ds = datasets[2]!;
    const last = Math.max(...ds.placed.map((p) => Date.parse(String(p.record.eventTime))));
    const { profiles } = await runScan({ now: NOW, sources: [new FileSource(ds.files)], since: { kind: "absolute", at: last + HOUR }, until: last + 2 * HOUR });
    const duck = await DuckAthena.create(ds.placed);
    try {
      const sql = profilesFromRows(await duck.all(baselineQuery({ table: TABLE, from: 0, to: last + 1, hourlyFrom: last })), { trainedUntil: last });
      let compared = 0;
      for (const p of profiles) {
        expect(sql.get(p.key)!.breadth, p.key).toEqual(p.breadth);
        if (p.breadth[0] > 1) compared++;
      }
      expect(compared).toBeGreaterThan(3);
    } finally {
      duck.close();
    }
  });

  it("the multi-day data exercises what a one-hour sample cannot", async () => {
    const ds = datasets[2]!;
    const { profiles } = await runScan({ now: NOW, sources: [new FileSource(ds.files)] });
    const busiest = profiles.reduce((a, b) => (a.events > b.events ? a : b));
    expect(busiest.days.length).toBe(7);
    expect(busiest.weekdays.filter((n) => n > 0).length).toBeGreaterThan(3);
    // Hourly history keeps the last 14 days only: fewer hours than days * active hours.
    const hours = new Set(busiest.hourly.map((h) => Math.floor(h[0] / 24)));
    expect(hours.size).toBeLessThan(7);
    expect(busiest.breadth[1]).toBeGreaterThan(10);
  });

  it("only identities active in the detection window come back when asked", async () => {
    const ds = datasets[2]!;
    const { report } = await runScan({ now: NOW, sources: [new FileSource(ds.files)], since: { kind: "relative", ms: DAY } });
    const end = Date.parse(report.window.end);
    const start = Date.parse(report.window.start);
    const duck = await DuckAthena.create(ds.placed);
    try {
      const all = profilesFromRows(await duck.all(baselineQuery({ table: TABLE, from: 0, to: start, hourlyFrom: start - 14 * DAY })), { trainedUntil: start - 1 });
      const active = profilesFromRows(await duck.all(baselineQuery({ table: TABLE, from: 0, to: start, hourlyFrom: start - 14 * DAY, onlyActiveIn: { from: start, to: end } })), {
        trainedUntil: start - 1,
      });
      const windowKeys = report.identities.map((i) => i.key).sort();
      expect([...active.keys()].sort()).toEqual(windowKeys.filter((k) => all.has(k)));
      expect(active.size).toBeLessThan(all.size);
      for (const [k, p] of active) expect(p).toEqual(all.get(k));
      // Nothing at or after the window start is in the baseline.
      for (const p of all.values()) expect(p.last).toBeLessThan(start);
    } finally {
      duck.close();
    }
  });
});
