/**
 * The import graph of src/: the core (events, sources' records, ingest, baseline, detectors,
 * scan) never imports the outer layers (slack, digest, store, app), and no module imports itself
 * back through others (type-only imports count: they are design arrows too).
 */
import { describe, it, expect } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve("src");
const CORE = ["scan", "ingest", "baseline", "detectors", "events"];
const OUTER = ["slack", "digest", "store", "app"];

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** The relative imports of a source file (static, re-exports and dynamic), as src-relative paths. */
function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^import\s*["']([^"']+)["']/gm;
  for (const m of text.matchAll(re)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec?.startsWith(".")) continue;
    out.push(relative(SRC, resolve(dirname(file), spec.replace(/\.js$/, ".ts"))));
  }
  return out;
}

function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of tsFiles(SRC)) g.set(relative(SRC, f), importsOf(f, readFileSync(f, "utf8")));
  return g;
}

/** Every cycle's files (strongly connected components of more than one file, or a self-import). */
function cycles(g: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(),
    low = new Map<string, number>(),
    on = new Set<string>(),
    stack: string[] = [],
    out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || (g.get(v) ?? []).includes(v)) out.push(c.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}

const top = (p: string) => p.split("/")[0]!;

describe("the import graph of src/", () => {
  const g = graph();

  it("reads the imports it checks", () => {
    expect(g.get("scan/scanner.ts")).toContain("ingest/ingest.ts");
    // The store's domain modules are in the graph (all of src/store counts as the outer layer "store").
    expect(g.get("store/store.ts")).toEqual(expect.arrayContaining(["store/findings.ts", "store/suppressions.ts", "store/write-queue.ts", "store/cursors-scans.ts"]));
    expect(importsOf(join(SRC, "x/a.ts"), 'import type { A } from "../y/b.js";\nexport { c } from "./c.js";\nconst d = await import("./d.js");')).toEqual([
      "y/b.ts",
      "x/c.ts",
      "x/d.ts",
    ]);
    expect(
      cycles(
        new Map([
          ["a", ["b"]],
          ["b", ["a"]],
          ["c", ["a"]],
        ]),
      ),
    ).toEqual([["a", "b"]]);
  });

  it("has no import from scan, ingest, baseline, detectors or events into slack, digest, store or app", () => {
    const bad: string[] = [];
    for (const [f, deps] of g) if (CORE.includes(top(f))) for (const d of deps) if (OUTER.includes(top(d))) bad.push(`${f} -> ${d}`);
    expect(bad).toEqual([]);
  });

  it("keeps the store beneath the layers that use it: no import from store into slack, digest, app, notify or respond", () => {
    const bad: string[] = [];
    for (const [f, deps] of g) if (top(f) === "store") for (const d of deps) if (["slack", "digest", "app", "notify", "respond"].includes(top(d))) bad.push(`${f} -> ${d}`);
    expect(bad).toEqual([]);
  });

  it("keeps the sources behind their port: no import from sources into ingest, scan or the outer layers", () => {
    const bad: string[] = [];
    for (const [f, deps] of g) if (top(f) === "sources") for (const d of deps) if (["ingest", "scan", ...OUTER].includes(top(d))) bad.push(`${f} -> ${d}`);
    expect(bad).toEqual([]);
  });

  it("keeps the test doubles (src/testing) out of the product: only benchmarks and tests use them", () => {
    const bad: string[] = [];
    for (const [f, deps] of g) if (!["testing", "bench"].includes(top(f))) for (const d of deps) if (top(d) === "testing") bad.push(`${f} -> ${d}`);
    expect(bad).toEqual([]);
  });

  it("has no cycles", () => {
    expect(cycles(g)).toEqual([]);
  });
});
