/**
 * The warm path (issue 17), the first part of `npm run bench:store`: a new day scanned against a
 * stored 30-day baseline, against the same scan without the store. Generates (src/bench/generate.ts,
 * profile `lean` or `realistic`) 31 days of S3-style files over 5,000 identities, scans the first
 * 30 days once into a store, then alternates over the rounds:
 *   (cold) `trailhound scan --input <day 31> --no-store`, and
 *   (warm) `trailhound scan --input <day 31> --store <a fresh copy of the 30-day store>`
 * (load the store, read the stored baselines of the identities the day touches, scan, save), each
 * the real CLI in its own process, and prints warm/cold per round (wall clock, CPU time of the
 * process, CPU time of its main thread) with min/median/max. Goal: warm within 1.2x of cold.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { STORE_FORMAT } from "../store/codec.js";
import { BENCH_PROFILES, generate, type BenchProfile } from "./generate.js";

export interface WarmOptions {
  /** Where the data and the 30-day store go (kept between runs: generated once). */
  dir: string;
  identities: number;
  /** Events over the 31 days. */
  events: number;
  rounds: number;
  /** Data profile (generate.ts); default `lean`. */
  profile?: BenchProfile;
}

interface Run {
  ms: number;
  /** CPU time of the whole process (every thread). */
  cpuMs: number;
  /** CPU time of its main thread: with a spare core, what the wall clock follows. */
  mainCpuMs: number;
  rssMb: number;
}

/**
 * Day folders (AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD) grouped by their date, in date
 * order (the realistic profile files each day under several accounts and regions).
 */
function dayFolders(root: string): string[][] {
  const byDay = new Map<string, string[]>();
  const walk = (d: string, depth: number, parts: string[]) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (!e.isDirectory()) continue;
      if (depth === 6) {
        const day = [...parts.slice(-2), e.name].join("-");
        let list = byDay.get(day);
        if (!list) byDay.set(day, (list = []));
        list.push(join(d, e.name));
      } else walk(join(d, e.name), depth + 1, [...parts, e.name]);
    }
  };
  walk(root, 1, []);
  return [...byDay.keys()].sort().map((k) => byDay.get(k)!);
}

function scan(cli: string, args: string[]): Run {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, "scan", ...args, "--format", "json", "--no-progress"], {
    encoding: "utf8",
    env: { ...process.env, TRAILHOUND_REPORT_RSS: "1" },
    maxBuffer: 1 << 26,
  });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`scan ${args.join(" ")} failed (exit ${r.status}): ${r.stderr}`);
  const m = /maxRSS=(\d+) cpuMs=(\d+)(?: mainCpuMs=(\d+))?/.exec(r.stderr);
  return { ms, cpuMs: m ? Number(m[2]) : NaN, mainCpuMs: m?.[3] ? Number(m[3]) : NaN, rssMb: m ? Number(m[1]) / 1024 : NaN };
}

function sizeOf(p: string): number {
  let n = 0;
  for (const e of readdirSync(p, { withFileTypes: true })) {
    const q = join(p, e.name);
    n += e.isDirectory() ? sizeOf(q) : statSync(q).size;
  }
  return n;
}

export async function warmPath(o: WarmOptions): Promise<{ wall: number; cpu: number }> {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const cli = join(here, "..", "cli.js");
  const profile = o.profile ?? "lean";
  if (!BENCH_PROFILES.includes(profile)) throw new Error(`profile: expected one of ${BENCH_PROFILES.join(", ")}, got ${profile}`);
  // The lean profile keeps the folder names it always had (data generated before is reused).
  const prefix = profile === "lean" ? "" : `${profile}-`;
  const dataDir = resolve(o.dir, `${prefix}data-e${o.events}-i${o.identities}`);
  const t0 = Date.now();
  const g = await generate({ dir: dataDir, events: o.events, identities: o.identities, days: 31, perFile: 1000, profile });
  const days = dayFolders(join(dataDir, "AWSLogs"));
  if (days.length < 32) throw new Error(`expected 32 days of folders under ${dataDir}, found ${days.length}`);
  // A file is filed under the day its span ends: the last day's folders hold the 31st day's last files only.
  const history = days.slice(0, days.length - 2).flat();
  const today = days.slice(days.length - 2).flat();
  console.log(
    `warm path (profile ${profile}): ${g.events.toLocaleString()} events over ${o.identities.toLocaleString()} identities and 31 days (${g.files} files) ` +
      `under ${dataDir} [ready in ${((Date.now() - t0) / 1000).toFixed(1)} s]`,
  );
  // The 30-day store, built once (its folder is removed when the data changes with the options).
  const baseStore = join(o.dir, `${prefix}store-e${o.events}-i${o.identities}`);
  // Rebuilt when the store's format changed since: every round copies it, and a store in an older
  // format would be converted (checked in full) on every warm round, which no daily scan does.
  const stamp = `built by the warm-path bench; store format ${STORE_FORMAT}\n`;
  let built = false;
  try {
    built = readFileSync(join(baseStore, "done"), "utf8") === stamp;
  } catch {
    built = false;
  }
  if (!built) {
    rmSync(baseStore, { recursive: true, force: true });
    const t = Date.now();
    const out = join(tmpdir(), `trailhound-warm-${process.pid}.json`);
    // Trained over the 30 days (the window: the 30th day).
    scan(cli, ["--input", ...history, "--store", baseStore, "--out", out]);
    rmSync(out, { force: true });
    writeFileSync(join(baseStore, "done"), stamp);
    console.log(`30-day store built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  console.log(`stored baseline: ${(sizeOf(baseStore) / 1e6).toFixed(1)} MB on disk (with backups)`);
  const todayFiles = today.reduce((n, d) => n + readdirSync(d).length, 0);
  console.log(`the new day: ${todayFiles} files in ${today.length} folders (${today[0]} ...)`);

  const work = mkdtempSync(join(tmpdir(), "trailhound-warm-bench-"));
  const cold: Run[] = [];
  const warm: Run[] = [];
  try {
    for (let r = 0; r < o.rounds; r++) {
      // The order alternates too, so that neither side always runs first.
      const order = r % 2 === 0 ? ["cold", "warm"] : ["warm", "cold"];
      for (const side of order) {
        if (side === "cold") cold.push(scan(cli, ["--input", ...today, "--no-store", "--out", join(work, "cold.json")]));
        else {
          const store = join(work, `store-${r}`);
          cpSync(baseStore, store, { recursive: true });
          rmSync(join(store, "done"), { force: true });
          warm.push(scan(cli, ["--input", ...today, "--store", store, "--out", join(work, "warm.json")]));
          rmSync(store, { recursive: true, force: true });
        }
      }
      const c = cold[r]!,
        w = warm[r]!;
      console.log(
        `round ${r + 1}/${o.rounds} (load average ${loadavg()[0]!.toFixed(1)}): cold ${c.ms.toFixed(0)} ms (CPU ${c.cpuMs} ms, main thread ${c.mainCpuMs} ms), ` +
          `warm ${w.ms.toFixed(0)} ms (CPU ${w.cpuMs} ms, main thread ${w.mainCpuMs} ms); warm/cold ${(w.ms / c.ms).toFixed(3)} wall, ` +
          `${(w.cpuMs / c.cpuMs).toFixed(3)} CPU, ${(w.mainCpuMs / c.mainCpuMs).toFixed(3)} main-thread CPU`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const median = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const mmm = (xs: number[]) => `min ${Math.min(...xs).toFixed(3)}, median ${median(xs).toFixed(3)}, max ${Math.max(...xs).toFixed(3)}`;
  const wall = cold.map((c, i) => warm[i]!.ms / c.ms);
  const cpu = cold.map((c, i) => warm[i]!.cpuMs / c.cpuMs);
  const main = cold.map((c, i) => warm[i]!.mainCpuMs / c.mainCpuMs);
  console.log(`warm/cold, wall clock: ${mmm(wall)} of ${o.rounds} rounds (goal <= 1.2: ${median(wall) <= 1.2 ? "met" : "NOT met"})`);
  console.log(`warm/cold, CPU time:   ${mmm(cpu)}`);
  // Under load the wall clock says little; the main thread's CPU time is what it follows on an otherwise idle machine.
  console.log(`warm/cold, main-thread CPU time: ${mmm(main)}`);
  console.log(`peak RSS: cold ${Math.max(...cold.map((c) => c.rssMb)).toFixed(0)} MB, warm ${Math.max(...warm.map((c) => c.rssMb)).toFixed(0)} MB`);
  return { wall: median(wall), cpu: median(cpu) };
}
