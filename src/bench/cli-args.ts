/** Command-line flags and bench data files, shared by the benchmarks. */
import { readdirSync } from "node:fs";
import { join } from "node:path";

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
