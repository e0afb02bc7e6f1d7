/**
 * The fixed cost of a scan: `trailhound scan --input <files>` must not load what only other
 * commands and sources need (the AWS SDK, undici, zod, lowdb, Slack, DuckDB). They cost about half
 * a CPU-second and 100 MB at every start (issue 17); each is loaded where it is used instead.
 *
 *  - fast: the static import graph of src/cli.ts (value imports; `import type` and dynamic
 *    `import()` do not load at start) reaches none of those packages;
 *  - slow: the real CLI, transpiled, scans the fixture in a child process with a module hook that
 *    records every module loaded.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repo, transpileToTemp } from "./helpers/transpile.js";

/** Packages a scan of local files must not load. */
const HEAVY = /^(@aws-sdk\/|@smithy\/|undici$|zod$|lowdb$|@slack\/|@duckdb\/|node-cron$|croner$|@resvg\/|yaml$)/;

/** The packages reached from `entry` through static value imports (and the modules reached). */
function staticPackages(entry: string): { packages: Map<string, string>; modules: number } {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const queue = [path.join(repo, entry)];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const src = readFileSync(file, "utf8");
    // `import x from "m"`, `import { a } from "m"`, `export ... from "m"`, `import "m"`; not `import type`.
    for (const m of src.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^"';]*?\sfrom\s+)?"([^"]+)";?/gm)) {
      if (m[2]) continue;
      const spec = m[3]!;
      // `import { type A, type B } from "m"` loads nothing either.
      const named = /^\s*import\s*\{([^}]*)\}\s*from/.exec(m[0]);
      if (named && named[1]!.split(",").every((x) => x.trim() === "" || x.trim().startsWith("type "))) continue;
      if (spec.startsWith(".")) queue.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, ".ts")));
      else if (!spec.startsWith("node:")) {
        const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
        if (!packages.has(name)) packages.set(name, path.relative(repo, file));
      }
    }
  }
  return { packages, modules: seen.size };
}

describe("start-up of a scan of local files", () => {
  it("src/cli.ts imports none of the heavy packages at start (they load where they are used)", () => {
    const { packages, modules } = staticPackages("src/cli.ts");
    // The walk works: it reaches the scan's modules and their few packages.
    expect(modules).toBeGreaterThan(50);
    expect([...packages.keys()]).toContain("commander");
    const heavy = [...packages].filter(([name]) => HEAVY.test(name)).map(([name, from]) => `${name} (imported by ${from})`);
    expect(heavy).toEqual([]);
  });

  describe("the CLI in a child process", { tags: ["slow"] }, () => {
    let build: string | undefined;
    let work: string | undefined;
    afterAll(async () => {
      if (build) await rm(build, { recursive: true, force: true });
      if (work) await rm(work, { recursive: true, force: true });
    });

    it("loads no heavy package for `scan --input`, and does for a module that needs one", async () => {
      build = await transpileToTemp(["src/cli.ts"], "trailhound-startup-build-");
      work = await mkdtemp(path.join(os.tmpdir(), "trailhound-startup-"));
      const list = path.join(work, "loaded.txt");
      // Records the URL of every module loaded (import and require alike).
      const hook = [
        'import { registerHooks } from "node:module";',
        'import { appendFileSync } from "node:fs";',
        `registerHooks({ load(url, ctx, next) { appendFileSync(${JSON.stringify(list)}, url + "\\n"); return next(url, ctx); } });`,
      ].join("\n");
      const run = (args: string[]) =>
        spawnSync(process.execPath, ["--import", `data:text/javascript,${encodeURIComponent(hook)}`, ...args], {
          cwd: work,
          encoding: "utf8",
          env: { PATH: process.env.PATH ?? "", HOME: work!, NODE_NO_WARNINGS: "1", TRAILHOUND_NATIVE: "0" },
        });
      const out = path.join(work, "report.json");
      const fixture = path.join(repo, "test/fixtures/invictus-aws");
      const r = run([path.join(build, "src/cli.js"), "scan", "--input", fixture, "--no-store", "--format", "json", "--out", out, "--no-progress"]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(JSON.parse(await readFile(out, "utf8")).stats.recordsRead).toBeGreaterThan(0);
      const loaded = (await readFile(list, "utf8")).split("\n").filter(Boolean);
      const pkgs = new Set(loaded.map((u) => /\/node_modules\/((@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((p): p is string => p !== undefined));
      // The hook sees packages (the geo resolver's MaxMind reader is one a scan needs).
      expect(pkgs.has("maxmind")).toBe(true);
      expect([...pkgs].filter((p) => HEAVY.test(p))).toEqual([]);

      // The same hook sees the SDK when it is loaded (the check can fail).
      await rm(list, { force: true });
      const r2 = run(["-e", `import(${JSON.stringify(path.join(build, "node_modules/@aws-sdk/client-sts/dist-cjs/index.js"))})`]);
      expect(r2.status).toBe(0);
      expect(await readFile(list, "utf8")).toMatch(/node_modules\/@aws-sdk\/client-sts\//);
    });
  });
});
