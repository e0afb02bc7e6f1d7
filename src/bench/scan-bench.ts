/**
 * `npm run bench`: generates >= 1,000,000 events in gzipped S3-style files, then measures in the
 * same run, each in its own child process, alternating within every round:
 *   (a) gunzip + JSON.parse alone (the practical ceiling of file ingestion on one core),
 *   (b) `trailhound scan --no-store` end to end (the real CLI: normalise, baseline, detect, report)
 *       with each thread count of --threads (TRAILHOUND_SCAN_THREADS; default 1 and the
 *       machine's cores), and
 *   (c) the peer: DuckDB's per-identity aggregation over the same files (read_json on the Records
 *       array, unnest, group by identity, counting events, services, APIs, addresses, user
 *       agents, regions, sessions, active hours and errors) with each thread count of --duckdb.
 * Prints every round, min/median/max of each wall clock and of the ratios, the one-core figure
 * ((b) with one thread against (a), per CPU-second; goal >= 0.85, issue 17) and (b)'s peak RSS (< 1 GB).
 * (b)'s CPU is also given for its main thread alone: with worker threads, a main-thread CPU near
 * the wall clock says the main thread is the critical path (the other threads wait on it).
 * Flags: --profile lean|realistic (default lean, see generate.ts), --events N (1,000,000),
 *        --identities N (5,000), --days N (14), --dir DIR (default ./bench-data/<profile>),
 *        --rounds N (3), --threads 1,2 (trailhound's), --duckdb 1,2 (DuckDB's; `none`: no peer),
 *        --no-ceiling (skip (a)).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSized } from "../sources/files.js";
import { walkKind } from "../ingest/native-walk.js";
import { benchFiles, numArg, reportOutside, strArg } from "./cli-args.js";
import { BENCH_PROFILES, generate, type BenchProfile } from "./generate.js";

/** Child mode (a): the ceiling. */
function parseOnly(dir: string): void {
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (const f of benchFiles(dir)) {
    // The same gunzip as the scan (one output buffer sized from the gzip trailer): the ceiling is
    // the fastest plain way to get the records, not a slower one.
    const doc = JSON.parse(gunzipSized(readFileSync(f)).toString("utf8")) as { Records: unknown[] };
    n += doc.Records.length;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const u = process.resourceUsage();
  process.stdout.write(JSON.stringify({ events: n, ms, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssKb: u.maxRSS }) + "\n");
}

/** Child mode (c): DuckDB's per-identity aggregation over the same files, with `threads` threads. */
async function duckdbOnly(dir: string, threads: number): Promise<void> {
  const t0 = process.hrtime.bigint();
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const db = await DuckDBInstance.create(":memory:", { threads: String(threads) });
  const con = await db.connect();
  // Only the fields the aggregation reads are typed (the rest of each record is parsed and skipped),
  // as the scan reads only a dozen fields of most records.
  const rec =
    "STRUCT(eventTime VARCHAR, eventSource VARCHAR, eventName VARCHAR, awsRegion VARCHAR, sourceIPAddress VARCHAR, userAgent VARCHAR, errorCode VARCHAR, " +
    "recipientAccountId VARCHAR, userIdentity STRUCT(type VARCHAR, arn VARCHAR, accountId VARCHAR, invokedBy VARCHAR, sessionContext STRUCT(sessionIssuer STRUCT(arn VARCHAR))))";
  const glob = join(dir, "**", "*.json.gz").replaceAll("'", "''");
  const sql = `
    WITH r AS (
      SELECT unnest(Records) AS r FROM read_json('${glob}', columns = {Records: '${rec}[]'}, format = 'auto', compression = 'gzip', maximum_object_size = 536870912)
    ), per AS (
      SELECT coalesce(r.userIdentity.sessionContext.sessionIssuer.arn, r.userIdentity.arn, r.userIdentity.invokedBy, r.userIdentity.type) AS who,
        count(*) AS events, count(DISTINCT r.eventSource) AS services, count(DISTINCT r.eventName) AS apis,
        count(DISTINCT r.sourceIPAddress) AS ips, count(DISTINCT r.userAgent) AS agents, count(DISTINCT r.awsRegion) AS regions,
        count(DISTINCT r.userIdentity.arn) AS sessions, count(DISTINCT substr(r.eventTime, 1, 13)) AS hours, count(r.errorCode) AS errors,
        min(r.eventTime) AS first, max(r.eventTime) AS last
      FROM r GROUP BY 1
    )
    SELECT count(*)::BIGINT AS identities, sum(events)::BIGINT AS events, sum(ips)::BIGINT AS ips FROM per`;
  const rows = (await (await con.run(sql)).getRowObjectsJS()) as Array<{ identities: bigint; events: bigint; ips: bigint }>;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const u = process.resourceUsage();
  const row = rows[0]!;
  process.stdout.write(
    JSON.stringify({ identities: Number(row.identities), events: Number(row.events), ms, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssKb: u.maxRSS }) + "\n",
  );
}

const median = (xs: number[]) => {
  const v = [...xs].sort((x, y) => x - y);
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};
/** `min / median / max` of a series. */
const spread = (xs: number[], f: (x: number) => string) => `${f(Math.min(...xs))} / ${f(median(xs))} / ${f(Math.max(...xs))}`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const list = (name: string, def: number[]): number[] => {
  const v = strArg(name);
  if (v === undefined) return def;
  if (v === "none") return [];
  const xs = v.split(",").map(Number);
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`--${name} expects thread counts such as 1,2 (or none), got ${v}`);
  return xs;
};

/** A child process the bench runs, to its end: its wall clock (ms) and output; throws if it fails. */
export type RunChild = (args: string[], env: NodeJS.ProcessEnv) => { ms: number; stdout: string; stderr: string };

const runChild: RunChild = (args, env) => {
  const t = process.hrtime.bigint();
  const c = spawnSync(process.execPath, args, { encoding: "utf8", env, maxBuffer: 1 << 24 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (c.status !== 0) throw new Error(`${args.slice(0, 2).join(" ")} failed (exit ${c.status}): ${c.stderr}`);
  return { ms, stdout: c.stdout, stderr: c.stderr };
};

async function main(): Promise<void> {
  if (process.argv[2] === "--child-parse") return parseOnly(process.argv[3]!);
  if (process.argv[2] === "--child-duckdb") return duckdbOnly(process.argv[3]!, Number(process.argv[4]));
  if (!(await scanBench())) process.exitCode = 1;
}

/**
 * The bench (flags from process.argv, see the top): generates the data, runs the rounds through
 * `child` (a test runs none: test/bench/report-outside.test.ts checks where the report goes) and
 * prints the figures; false when a goal it checks is missed (one-core figure < 0.7, peak RSS >= 1 GB).
 */
export async function scanBench(child: RunChild = runChild): Promise<boolean> {
  const here = fileURLToPath(new URL(".", import.meta.url));

  const profile = (strArg("profile") ?? "lean") as BenchProfile;
  if (!BENCH_PROFILES.includes(profile)) throw new Error(`--profile expects one of ${BENCH_PROFILES.join(", ")}, got ${profile}`);
  const events = numArg("events", 1_000_000);
  const identities = numArg("identities", 5_000);
  const days = numArg("days", 14);
  const dir = resolve(strArg("dir") ?? join("bench-data", profile));
  const cores = availableParallelism();
  const threads = [...new Set(list("threads", [1, cores]))];
  const duck = [...new Set(list("duckdb", [1, 2]))];
  const t0 = Date.now();
  const g = await generate({ dir, events, identities, days, perFile: 1000, profile });
  console.log(
    `data: profile ${profile}, ${g.events.toLocaleString()} events in ${g.files} gzipped files (${(g.bytes / 1e6).toFixed(1)} MB) under ${dir}` +
      ` [ready in ${((Date.now() - t0) / 1000).toFixed(1)} s]`,
  );
  console.log(
    `machine: ${cores} cores (${cpus()[0]?.model ?? "?"}), load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")} at the start`,
  );

  // The report goes outside the input folder: inside it, the next scan would read it as a
  // (non-CloudTrail) input file. A report left there by an older bench is removed for that reason.
  const report = reportOutside([dir]);
  const reportPath = report.file;

  const rounds = Math.max(1, numArg("rounds", 3));
  const ceiling = !process.argv.includes("--no-ceiling");
  const cli = join(here, "..", "cli.js");
  interface Run {
    ms: number;
    cpuMs: number;
    rssMb: number;
  }
  interface Scan extends Run {
    /** CPU of the main thread alone (the rest: read workers, V8's background threads). */
    mainCpuMs: number;
    records: number;
    findings: number;
    inWindow: number;
    nonCloudTrail: number;
    /** The CLI's phases (TRAILHOUND_REPORT_RSS: startupMs, readMs, waitMs, takeMs, finishMs, readMainCpuMs, workerCpuMs, ...). */
    phases: Record<string, number>;
  }
  const parse: Array<Run & { events: number }> = [];
  const scans = new Map<number, Scan[]>(threads.map((n) => [n, []]));
  const ducks = new Map<number, Array<Run & { identities: number; events: number }>>(duck.map((n) => [n, []]));
  // Everything alternates within a round, so drift in the machine's speed (and other work on it)
  // touches each alike; every wall clock is the child process's, start-up included.
  for (let r = 0; r < rounds; r++) {
    const line: string[] = [];
    // (a) gunzip + JSON.parse alone (--no-ceiling: not measured).
    if (ceiling) {
      const a = child([join(here, "scan-bench.js"), "--child-parse", dir], process.env);
      const pa = JSON.parse(a.stdout) as { events: number; ms: number; cpuMs: number; maxRssKb: number };
      parse.push({ ms: a.ms, cpuMs: pa.cpuMs, rssMb: pa.maxRssKb / 1024, events: pa.events });
      line.push(`(a) ${secs(a.ms)}`);
    }
    // (b) the real CLI, end to end (no store so runs are comparable; geo on).
    for (const n of threads) {
      const b = child([cli, "scan", "--input", dir, "--no-store", "--format", "json", "--out", reportPath, "--no-progress"], {
        ...process.env,
        TRAILHOUND_REPORT_RSS: "1",
        TRAILHOUND_SCAN_THREADS: String(n),
      });
      const rss = /maxRSS=(\d+) cpuMs=(\d+)/.exec(b.stderr);
      const main = /mainCpuMs=(\d+)/.exec(b.stderr);
      const phases: Record<string, number> = {};
      for (const m of (/maxRSS=.*/.exec(b.stderr)?.[0] ?? "").matchAll(/(\w+)=(-?\d+)/g)) phases[m[1]!] = Number(m[2]);
      const report = JSON.parse(readFileSync(reportPath, "utf8")) as { stats: { recordsRead: number; events: number; skipped?: Record<string, number> }; findings: unknown[] };
      scans.get(n)!.push({
        ms: b.ms,
        cpuMs: rss ? Number(rss[2]) : NaN,
        mainCpuMs: main ? Number(main[1]) : NaN,
        rssMb: rss ? Number(rss[1]) / 1024 : NaN,
        records: report.stats.recordsRead,
        findings: report.findings.length,
        inWindow: report.stats.events,
        nonCloudTrail: report.stats.skipped?.["not-cloudtrail"] ?? 0,
        phases,
      });
      line.push(`(b) ${n} thread${n === 1 ? "" : "s"} ${secs(b.ms)}`);
    }
    // (c) the peer.
    for (const n of duck) {
      const c = child([join(here, "scan-bench.js"), "--child-duckdb", dir, String(n)], process.env);
      const pc = JSON.parse(c.stdout) as { identities: number; events: number; cpuMs: number; maxRssKb: number };
      ducks.get(n)!.push({ ms: c.ms, cpuMs: pc.cpuMs, rssMb: pc.maxRssKb / 1024, identities: pc.identities, events: pc.events });
      line.push(`(c) DuckDB ${n} thread${n === 1 ? "" : "s"} ${secs(c.ms)}`);
    }
    console.log(`round ${r + 1}/${rounds}: ${line.join(", ")}`);
  }

  const n1 = threads[0]!;
  const base = scans.get(n1)!;
  const last = base[base.length - 1]!;
  const perCpu = (xs: Array<{ cpuMs: number }>, events: number) => xs.map((x) => events / (x.cpuMs / 1000));
  const ev = parse[0]?.events ?? NaN;
  console.log(`wall clock, min / median / max of ${rounds} rounds (each a whole process, start-up included):`);
  if (ceiling)
    console.log(
      `  (a) gunzip + JSON.parse alone:      ${spread(
        parse.map((x) => x.ms),
        secs,
      )}; ${spread(perCpu(parse, ev), (x) => Math.round(x).toLocaleString())} events per CPU-second; peak RSS ${Math.max(...parse.map((x) => x.rssMb)).toFixed(0)} MB`,
    );
  for (const n of threads) {
    const xs = scans.get(n)!;
    console.log(
      `  (b) trailhound scan, ${n} thread${n === 1 ? ": " : "s:"}      ${spread(
        xs.map((x) => x.ms),
        secs,
      )}; CPU ${spread(
        xs.map((x) => x.cpuMs),
        secs,
      )} (main thread ${spread(
        xs.map((x) => x.mainCpuMs),
        secs,
      )}); ` + `peak RSS ${Math.max(...xs.map((x) => x.rssMb)).toFixed(0)} MB`,
    );
  }
  // Where (b)'s wall clock went (medians, the CLI's TRAILHOUND_REPORT_RSS line): start-up until the
  // files are read; the read, split into the main thread waiting for files and taking their
  // records; the finish (profiles, detectors, the report). With workers: their CPU and wall clock
  // reading, gunzipping and walking.
  for (const n of threads) {
    const xs = scans.get(n)!;
    const ph = (k: string) => median(xs.map((x) => x.phases[k] ?? NaN));
    const s2 = (k: string) => secs(ph(k));
    let line =
      `      phases, ${n} thread${n === 1 ? ": " : "s:"} start-up ${s2("startupMs")} (main thread CPU ${s2("startupCpuMs")}), read ${s2("readMs")} (listing ${s2("listMs")}, waiting ${s2("waitMs")} of which ${s2("firstWaitMs")} for the first file, taking ${s2("takeMs")}; ` +
      `CPU ${s2("readMainCpuMs")}, of which taking ${s2("takeCpuMs")}), finish ${s2("finishMs")} (CPU ${s2("finishCpuMs")})`;
    if (!Number.isNaN(ph("workers")))
      line += `; ${ph("workers")} read worker${ph("workers") === 1 ? "" : "s"}: CPU ${s2("workerCpuMs")}, reading ${s2("wReadMs")}, gunzip ${s2("wGunzipMs")}, walk ${s2("wPrepareMs")}`;
    console.log(line);
  }
  for (const n of duck) {
    const xs = ducks.get(n)!;
    console.log(
      `  (c) DuckDB per identity, ${n} thread${n === 1 ? ": " : "s:"} ${spread(
        xs.map((x) => x.ms),
        secs,
      )}; CPU ${spread(
        xs.map((x) => x.cpuMs),
        secs,
      )}; ` + `peak RSS ${Math.max(...xs.map((x) => x.rssMb)).toFixed(0)} MB; ${xs[0]!.identities.toLocaleString()} identities, ${xs[0]!.events.toLocaleString()} events`,
    );
  }
  console.log(`ratios, min / median / max over the rounds (above 1: trailhound is faster):`);
  const r3 = (x: number) => x.toFixed(3);
  for (const n of threads) {
    const xs = scans.get(n)!;
    for (const d of duck) {
      const ys = ducks.get(d)!;
      console.log(
        `  DuckDB ${d} thread${d === 1 ? "" : "s"} / trailhound ${n} thread${n === 1 ? "" : "s"}, wall clock: ${spread(
          xs.map((x, i) => ys[i]!.ms / x.ms),
          r3,
        )}`,
      );
    }
    if (n !== n1)
      console.log(
        `  trailhound 1 thread / ${n} threads, wall clock: ${spread(
          xs.map((x, i) => base[i]!.ms / x.ms),
          r3,
        )}`,
      );
  }
  const cpuRatios = !ceiling ? [] : base.map((x, i) => (ev / (parse[i]!.cpuMs / 1000) > 0 ? x.records / (x.cpuMs / 1000) / (ev / (parse[i]!.cpuMs / 1000)) : NaN));
  const cpuRatio = ceiling ? median(cpuRatios) : NaN;
  if (ceiling) {
    console.log(`  (b) ${n1} thread${n1 === 1 ? "" : "s"} / (a), per CPU-second (the one-core figure with 1 thread; goal >= 0.85): ${spread(cpuRatios, r3)}`);
    console.log(
      `  (b) ${n1} thread${n1 === 1 ? "" : "s"} / (a), wall clock: ${spread(
        base.map((x, i) => (parse[i]!.ms / x.ms) * (x.records / parse[i]!.events)),
        r3,
      )}`,
    );
  }
  const rssMb = Math.max(...base.map((x) => x.rssMb));
  console.log(
    `(b): ${last.records.toLocaleString()} records, ${last.findings} findings, ${last.inWindow.toLocaleString()} events in window, ` +
      `${last.nonCloudTrail} non-CloudTrail files; peak RSS ${rssMb.toFixed(0)} MB (goal < 1024 MB)`,
  );
  console.log(
    `input size on disk: ${(dirSize(dir) / 1e6).toFixed(1)} MB; byte walk used by (b): ${walkKind}; load average at the end ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  report.remove();
  return !((ceiling && n1 === 1 && cpuRatio < 0.7) || !(rssMb < 1024));
}

function dirSize(d: string): number {
  let s = 0;
  for (const f of benchFiles(d)) s += statSync(f).size;
  return s;
}

// Run when it is the program (node dist/bench/scan-bench.js), not when a test imports it.
if (process.argv[1] !== undefined && /scan-bench\.(js|ts)$/.test(process.argv[1]))
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
