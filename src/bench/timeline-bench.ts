/**
 * How long one timeline takes to draw: the scenario's identity (two weeks of office hours and a
 * night burst, 8 findings) scanned once, then N rounds of model + SVG + PNG (resvg, bundled font)
 * in this process. Prints each phase's median and p95 per round, and the CPU time of a round (all
 * threads: resvg renders on libuv's pool); the first round (which loads the resvg addon) apart.
 *
 *   npm run build && node dist/bench/timeline-bench.js [--rounds 30]
 */
import { performance } from "node:perf_hooks";
import { cpus, loadavg } from "node:os";
import { runScan } from "../scan/run.js";
import type { EventSource } from "../sources/types.js";
import { timelineAltText } from "../timeline/alt.js";
import { svgToPng } from "../timeline/png.js";
import { timelineFromReport } from "../timeline/source.js";
import { timelineSvg } from "../timeline/svg.js";
import { VERSION } from "../version.js";
import { numArg } from "./cli-args.js";
import { timelineScenario } from "./timeline-scenario.js";

const rounds = numArg("rounds", 30);

async function main(): Promise<void> {
  const records = timelineScenario();
  const source: EventSource = {
    name: "scenario",
    async read(sink) {
      for (const r of records) sink.record(r, "scenario");
      return { summary: { kind: "memory", name: "scenario", records: records.length, skipped: 0 }, partialReasons: [] };
    },
  };
  const { report, profiles } = await runScan({ now: Date.now(), filters: {}, version: VERSION, sources: [source] });
  const key = "user:111122223333:alice";
  const profile = profiles.find((p) => p.key === key);
  const phases = { model: [] as number[], svg: [] as number[], png: [] as number[], total: [] as number[], "cpu (all threads)": [] as number[] };
  let first = 0;
  let bytes = 0;
  for (let i = 0; i <= rounds; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const t = timelineFromReport(report, profile, key);
    timelineAltText(t);
    const t1 = performance.now();
    const svg = timelineSvg(t);
    const t2 = performance.now();
    const png = await svgToPng(svg);
    const t3 = performance.now();
    const cpu = process.cpuUsage(c0);
    bytes = png.length;
    if (i === 0) {
      first = t3 - t0;
      continue;
    }
    phases.model.push(t1 - t0);
    phases.svg.push(t2 - t1);
    phases.png.push(t3 - t2);
    phases.total.push(t3 - t0);
    phases["cpu (all threads)"].push((cpu.user + cpu.system) / 1000);
  }
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  console.log(`timeline of ${key}: ${report.findings.filter((f) => f.identity.key === key).length} findings, PNG ${bytes} bytes`);
  console.log(`first round (loads resvg and the font): ${first.toFixed(1)} ms`);
  console.log(
    `load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")} on ${cpus().length} cores (wall times stretch under load; CPU time less so)`,
  );
  for (const [k, xs] of Object.entries(phases)) console.log(`${k.padEnd(6)} median ${q(xs, 0.5).toFixed(1)} ms, p95 ${q(xs, 0.95).toFixed(1)} ms (${xs.length} rounds)`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
