/**
 * `npm run bench:memory`: peak memory of `trailhound scan --no-store` depends on identities, not on
 * events. Generates (with src/bench/generate.ts, as `npm run bench` does) 1,000,000 and 3,000,000
 * events over the same 5,000 identities and 14 days, and 1,000,000 events over 20,000 identities,
 * then scans each with the real CLI in its own process, alternating over the rounds, and prints
 * the peak RSS of each, min/median/max, and the goals:
 *   - 3M events / 5,000 identities within 1.2x of 1M events / 5,000 identities;
 *   - 20,000 identities under 700 MB.
 * Flags: --profile lean|realistic (default lean; generate.ts), --rounds N (default 3),
 *        --dir DIR (default ./bench-data-memory: one folder per data set),
 *        --identities N (default 5,000), --many N (default 20,000), --days N (default 14),
 *        --events N (default 1,000,000: the small data sets; the large one has three times as many).
 * Peak RSS barely depends on the machine's load, unlike times; the load average is printed anyway.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { numArg, strArg } from "./cli-args.js";
import { BENCH_PROFILES, type BenchProfile, generate } from "./generate.js";

interface DataSet {
  name: string;
  events: number;
  identities: number;
  dir: string;
}

async function main(): Promise<void> {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const cli = join(here, "..", "cli.js");
  const profile = (strArg("profile") ?? "lean") as BenchProfile;
  if (!BENCH_PROFILES.includes(profile)) throw new Error(`--profile expects one of ${BENCH_PROFILES.join(", ")}, got ${profile}`);
  const rounds = Math.max(1, numArg("rounds", 3));
  const days = numArg("days", 14);
  const ids = numArg("identities", 5_000);
  const many = numArg("many", 20_000);
  const root = resolve(strArg("dir") ?? "bench-data-memory");
  const n = numArg("events", 1_000_000);
  const ev = (k: number) => `${(k / 1e6).toLocaleString()}M events`;
  const sets: DataSet[] = [
    { name: `${ev(n)}, ${ids.toLocaleString()} identities`, events: n, identities: ids, dir: "" },
    { name: `${ev(3 * n)}, ${ids.toLocaleString()} identities`, events: 3 * n, identities: ids, dir: "" },
    { name: `${ev(n)}, ${many.toLocaleString()} identities`, events: n, identities: many, dir: "" },
  ];
  for (const s of sets) {
    s.dir = join(root, `${profile === "lean" ? "" : `${profile}-`}e${s.events}-i${s.identities}-d${days}`);
    const t0 = Date.now();
    const g = await generate({ dir: s.dir, events: s.events, identities: s.identities, days, perFile: 1000, profile });
    console.log(
      `data: profile ${profile}, ${s.name}: ${g.files} gzipped files (${(g.bytes / 1e6).toFixed(1)} MB) under ${s.dir} [ready in ${((Date.now() - t0) / 1000).toFixed(1)} s]`,
    );
  }
  const outDir = mkdtempSync(join(tmpdir(), "trailhound-memory-bench-"));
  const rss: number[][] = sets.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const line: string[] = [];
    for (let i = 0; i < sets.length; i++) {
      const s = sets[i]!;
      const b = spawnSync(process.execPath, [cli, "scan", "--input", s.dir, "--no-store", "--format", "json", "--out", join(outDir, "report.json"), "--no-progress"], {
        encoding: "utf8",
        env: { ...process.env, TRAILHOUND_REPORT_RSS: "1" },
        maxBuffer: 1 << 24,
      });
      if (b.status !== 0) throw new Error(`scan of ${s.dir} failed (exit ${b.status}): ${b.stderr}`);
      const m = /maxRSS=(\d+)/.exec(b.stderr);
      if (!m) throw new Error("the scan did not report its peak RSS (TRAILHOUND_REPORT_RSS)");
      const mb = Number(m[1]) / 1024;
      rss[i]!.push(mb);
      // Where the peak was reached: during the ingest (before finish()) or in finish() (baselines, detectors, report).
      const ing = /ingestMaxRSS=(\d+) ingestRSS=(\d+)/.exec(b.stderr);
      const phase = ing
        ? ` (ingest peak ${(Number(ing[1]) / 1024).toFixed(0)} MB, RSS at finish() ${(Number(ing[2]) / 2 ** 20).toFixed(0)} MB: peak ${Number(m[1]) > Number(ing[1]) ? `in finish(), +${(mb - Number(ing[1]) / 1024).toFixed(0)} MB` : "in the ingest"})`
        : "";
      line.push(`${s.name} ${mb.toFixed(0)} MB${phase}`);
    }
    console.log(`round ${r + 1}/${rounds} (load average ${loadavg()[0]!.toFixed(1)}): ${line.join("; ")}`);
  }
  rmSync(outDir, { recursive: true, force: true });
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const median = (xs: number[]) => {
    const v = sorted(xs);
    return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const mmm = (xs: number[], d = 0) => `min ${Math.min(...xs).toFixed(d)}, median ${median(xs).toFixed(d)}, max ${Math.max(...xs).toFixed(d)}`;
  for (let i = 0; i < sets.length; i++) console.log(`peak RSS, ${sets[i]!.name}: ${mmm(rss[i]!)} MB`);
  // The ratio per round (the two scans of a round ran one after the other).
  const ratios = rss[0]!.map((a, k) => rss[1]![k]! / a);
  const ratio = median(ratios);
  const manyMb = Math.max(...rss[2]!);
  console.log(`ratio ${ev(3 * n)} / ${ev(n)} (same identities): ${mmm(ratios, 3)} (goal <= 1.2: ${ratio <= 1.2 ? "met" : "NOT met"})`);
  console.log(`${sets[2]!.name}: max ${manyMb.toFixed(0)} MB (goal < 700 MB: ${manyMb < 700 ? "met" : "NOT met"})`);
  if (!(ratio <= 1.2) || !(manyMb < 700)) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
