/** Command-line flags and bench data files, shared by the benchmarks. */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";

/** `--name N`: a non-negative number, `def` when absent. */
export function numArg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} expects a number, got ${process.argv[i + 1]}`);
  return v;
}

/** `--name VALUE`, undefined when absent. */
export function strArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The gzipped S3-style files under `dir` (recursively), in name order. */
export function benchFiles(dir: string): string[] {
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

/**
 * Where a bench's scans write their report: a fresh folder under the system's temporary folder,
 * never inside an input folder (there the next scan would read it as a non-CloudTrail input
 * file). A `report.json` left in an input folder by an older bench is removed for that reason.
 * Throws if the temporary folder itself lies inside an input.
 */
export function reportOutside(inputs: readonly string[], prefix = "trailhound-bench-"): { file: string; remove(): void } {
  for (const dir of inputs) rmSync(join(dir, "report.json"), { force: true });
  const outDir = mkdtempSync(join(tmpdir(), prefix));
  const inside = inputs.find((dir) => {
    const rel = relative(resolve(dir), outDir);
    return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
  });
  if (inside !== undefined) {
    rmSync(outDir, { recursive: true, force: true });
    throw new Error(`the bench's report folder ${outDir} would be inside its input ${inside}: set TMPDIR elsewhere`);
  }
  return { file: join(outDir, "report.json"), remove: () => rmSync(outDir, { recursive: true, force: true }) };
}
