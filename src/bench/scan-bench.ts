/**
 * `npm run bench`: generates >= 1,000,000 realistic events in gzipped S3-style files, then measures
 * in the same run, each in its own child process on one core:
 *   (a) gunzip + JSON.parse alone (the practical ceiling of file ingestion), and
 *   (b) `trailhound scan` end to end (the real CLI: normalise, baseline, detect, report).
 * Prints both events/s, the ratio (goal >= 0.70) and the peak RSS of (b) (goal < 1 GB).
 * Flags: --events N (default 1,000,000), --identities N (default 5,000), --days N (default 14),
 *        --dir DIR (default ./bench-data).
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { generate } from "./generate.js";

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
function argStr(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : def;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(".json.gz")) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Child mode (a): the ceiling. */
function parseOnly(dir: string): void {
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (const f of listFiles(dir)) {
    const doc = JSON.parse(gunzipSync(readFileSync(f)).toString("utf8")) as { Records: unknown[] };
    n += doc.Records.length;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const u = process.resourceUsage();
  process.stdout.write(JSON.stringify({ events: n, ms, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssKb: u.maxRSS }) + "\n");
}

async function main(): Promise<void> {
  const here = fileURLToPath(new URL(".", import.meta.url));
  if (process.argv[2] === "--child-parse") return parseOnly(process.argv[3]!);

  const events = arg("--events", 1_000_000);
  const identities = arg("--identities", 5_000);
  const days = arg("--days", 14);
  const dir = resolve(argStr("--dir", "bench-data"));
  const t0 = Date.now();
  const g = await generate({ dir, events, identities, days, perFile: 1000 });
  console.log(`data: ${g.events.toLocaleString()} events in ${g.files} gzipped files (${(g.bytes / 1e6).toFixed(1)} MB) under ${dir}` + ` [ready in ${((Date.now() - t0) / 1000).toFixed(1)} s]`);

  // (a) gunzip + JSON.parse alone.
  const a = spawnSync(process.execPath, [join(here, "scan-bench.js"), "--child-parse", dir], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (a.status !== 0) throw new Error("parse-only child failed: " + a.stderr);
  const pa = JSON.parse(a.stdout) as { events: number; ms: number; cpuMs: number; maxRssKb: number };
  const rateA = pa.events / (pa.ms / 1000);
  const cpuRateA = pa.events / (pa.cpuMs / 1000);

  // (b) the real CLI, end to end (no store so runs are comparable; geo on).
  const cli = join(here, "..", "cli.js");
  const tb = process.hrtime.bigint();
  const b = spawnSync(process.execPath, [cli, "scan", "--input", dir, "--no-store", "--format", "json", "--out", join(dir, "report.json"), "--no-progress"], {
    encoding: "utf8",
    env: { ...process.env, TRAILHOUND_REPORT_RSS: "1" },
    maxBuffer: 1 << 24,
  });
  const msB = Number(process.hrtime.bigint() - tb) / 1e6;
  if (b.status !== 0) throw new Error(`scan failed (exit ${b.status}): ${b.stderr}`);
  const rss = /maxRSS=(\d+) cpuMs=(\d+)/.exec(b.stderr);
  const rssMb = rss ? Number(rss[1]) / 1024 : NaN;
  const cpuMsB = rss ? Number(rss[2]) : NaN;
  const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as { stats: { recordsRead: number; events: number }; findings: unknown[] };
  const rateB = report.stats.recordsRead / (msB / 1000);
  const cpuRateB = report.stats.recordsRead / (cpuMsB / 1000);
  const ratio = rateB / rateA;
  const cpuRatio = cpuRateB / cpuRateA;

  console.log(`(a) gunzip + JSON.parse alone:   ${Math.round(rateA).toLocaleString()} events/s (${pa.events.toLocaleString()} events in ${(pa.ms / 1000).toFixed(2)} s, peak RSS ${(pa.maxRssKb / 1024).toFixed(0)} MB)`);
  console.log(`(b) trailhound scan end to end:  ${Math.round(rateB).toLocaleString()} events/s (${report.stats.recordsRead.toLocaleString()} records in ${(msB / 1000).toFixed(2)} s incl. process start, peak RSS ${rssMb.toFixed(0)} MB, ${report.findings.length} findings, ${report.stats.events.toLocaleString()} events in window)`);
  console.log(`ratio (b)/(a), wall clock: ${ratio.toFixed(3)}`);
  console.log(
    `ratio (b)/(a), per CPU-second: ${cpuRatio.toFixed(3)} (${Math.round(cpuRateB).toLocaleString()} vs ${Math.round(cpuRateA).toLocaleString()} events per CPU-second; goal >= 0.70)`,
  );
  console.log(`peak RSS (b): ${rssMb.toFixed(0)} MB (goal < 1024 MB)`);
  console.log(`(the per-CPU-second ratio is the one-core figure; wall clock also counts time waiting for the CPU when the machine is busy)`);
  console.log(`input size on disk: ${(dirSize(dir) / 1e6).toFixed(1)} MB`);
  if (cpuRatio < 0.7 || !(rssMb < 1024)) process.exitCode = 1;
}

function dirSize(d: string): number {
  let s = 0;
  for (const f of listFiles(d)) s += statSync(f).size;
  return s;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
