/**
 * `npm run bench`: generates >= 1,000,000 realistic events in gzipped S3-style files, then measures
 * in the same run, each in its own child process on one core:
 *   (a) gunzip + JSON.parse alone (the practical ceiling of file ingestion), and
 *   (b) `trailhound scan` end to end (the real CLI: normalise, baseline, detect, report).
 * Prints both events/s, the ratio (goal >= 0.70) and the peak RSS of (b) (goal < 1 GB).
 * Flags: --events N (default 1,000,000), --identities N (default 5,000), --days N (default 14),
 *        --dir DIR (default ./bench-data), --rounds N (default 3: (a) and (b) alternate, medians are
 *        reported, so drift in the machine's speed touches both alike).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSized } from "../sources/files.js";
import { walkKind } from "../ingest/native-walk.js";
import { benchFiles, numArg, strArg } from "./cli-args.js";
import { generate } from "./generate.js";

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

async function main(): Promise<void> {
  const here = fileURLToPath(new URL(".", import.meta.url));
  if (process.argv[2] === "--child-parse") return parseOnly(process.argv[3]!);

  const events = numArg("events", 1_000_000);
  const identities = numArg("identities", 5_000);
  const days = numArg("days", 14);
  const dir = resolve(strArg("dir") ?? "bench-data");
  const t0 = Date.now();
  const g = await generate({ dir, events, identities, days, perFile: 1000 });
  console.log(`data: ${g.events.toLocaleString()} events in ${g.files} gzipped files (${(g.bytes / 1e6).toFixed(1)} MB) under ${dir}` + ` [ready in ${((Date.now() - t0) / 1000).toFixed(1)} s]`);

  // The report goes outside the input folder: inside it, the next scan would read it as a
  // (non-CloudTrail) input file. A report left there by an older bench is removed for that reason.
  rmSync(join(dir, "report.json"), { force: true });
  const outDir = mkdtempSync(join(tmpdir(), "trailhound-bench-"));
  const reportPath = join(outDir, "report.json");

  const rounds = Math.max(1, numArg("rounds", 3));
  const cli = join(here, "..", "cli.js");
  type Round = { rateA: number; cpuRateA: number; rssA: number; rateB: number; cpuRateB: number; rssMb: number; records: number; findings: number; inWindow: number; msB: number };
  const results: Round[] = [];
  // (a) and (b) alternate, so that drift in the machine's speed touches both alike.
  for (let r = 0; r < rounds; r++) {
    // (a) gunzip + JSON.parse alone.
    const a = spawnSync(process.execPath, [join(here, "scan-bench.js"), "--child-parse", dir], { encoding: "utf8", maxBuffer: 1 << 20 });
    if (a.status !== 0) throw new Error("parse-only child failed: " + a.stderr);
    const pa = JSON.parse(a.stdout) as { events: number; ms: number; cpuMs: number; maxRssKb: number };

    // (b) the real CLI, end to end (no store so runs are comparable; geo on).
    const tb = process.hrtime.bigint();
    const b = spawnSync(process.execPath, [cli, "scan", "--input", dir, "--no-store", "--format", "json", "--out", reportPath, "--no-progress"], {
      encoding: "utf8",
      env: { ...process.env, TRAILHOUND_REPORT_RSS: "1" },
      maxBuffer: 1 << 24,
    });
    const msB = Number(process.hrtime.bigint() - tb) / 1e6;
    if (b.status !== 0) throw new Error(`scan failed (exit ${b.status}): ${b.stderr}`);
    const rss = /maxRSS=(\d+) cpuMs=(\d+)/.exec(b.stderr);
    const report = JSON.parse(readFileSync(reportPath, "utf8")) as { stats: { recordsRead: number; events: number }; findings: unknown[] };
    const records = report.stats.recordsRead;
    const round: Round = {
      rateA: pa.events / (pa.ms / 1000),
      cpuRateA: pa.events / (pa.cpuMs / 1000),
      rssA: pa.maxRssKb / 1024,
      rateB: records / (msB / 1000),
      cpuRateB: rss ? records / (Number(rss[2]) / 1000) : NaN,
      rssMb: rss ? Number(rss[1]) / 1024 : NaN,
      records,
      findings: report.findings.length,
      inWindow: report.stats.events,
      msB,
    };
    results.push(round);
    console.log(
      `round ${r + 1}/${rounds}: (a) ${Math.round(round.rateA).toLocaleString()} events/s, ${Math.round(round.cpuRateA).toLocaleString()} per CPU-second; ` +
        `(b) ${Math.round(round.rateB).toLocaleString()} events/s, ${Math.round(round.cpuRateB).toLocaleString()} per CPU-second; ` +
        `ratio ${(round.rateB / round.rateA).toFixed(3)} wall, ${(round.cpuRateB / round.cpuRateA).toFixed(3)} per CPU-second`,
    );
  }
  const median = (xs: number[]) => {
    const v = [...xs].sort((x, y) => x - y);
    return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const last = results[results.length - 1]!;
  const ratio = median(results.map((x) => x.rateB / x.rateA));
  const cpuRatio = median(results.map((x) => x.cpuRateB / x.cpuRateA));
  const rssMb = Math.max(...results.map((x) => x.rssMb));
  console.log(`(a) gunzip + JSON.parse alone:   median ${Math.round(median(results.map((x) => x.rateA))).toLocaleString()} events/s (peak RSS ${Math.max(...results.map((x) => x.rssA)).toFixed(0)} MB)`);
  console.log(
    `(b) trailhound scan end to end:  median ${Math.round(median(results.map((x) => x.rateB))).toLocaleString()} events/s (${last.records.toLocaleString()} records incl. process start, ` +
      `peak RSS ${rssMb.toFixed(0)} MB, ${last.findings} findings, ${last.inWindow.toLocaleString()} events in window)`,
  );
  console.log(`ratio (b)/(a), wall clock: median ${ratio.toFixed(3)} of ${rounds} rounds`);
  console.log(
    `ratio (b)/(a), per CPU-second: median ${cpuRatio.toFixed(3)} of ${rounds} rounds (${Math.round(median(results.map((x) => x.cpuRateB))).toLocaleString()} vs ` +
      `${Math.round(median(results.map((x) => x.cpuRateA))).toLocaleString()} events per CPU-second; goal >= 0.70)`,
  );
  console.log(`peak RSS (b): ${rssMb.toFixed(0)} MB (goal < 1024 MB)`);
  console.log(`(the per-CPU-second ratio is the one-core figure; wall clock also counts time waiting for the CPU when the machine is busy)`);
  console.log(`input size on disk: ${(dirSize(dir) / 1e6).toFixed(1)} MB`);
  console.log(`byte walk used by (b): ${walkKind}`);
  rmSync(outDir, { recursive: true, force: true });
  if (cpuRatio < 0.7 || !(rssMb < 1024)) process.exitCode = 1;
}

function dirSize(d: string): number {
  let s = 0;
  for (const f of benchFiles(d)) s += statSync(f).size;
  return s;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
