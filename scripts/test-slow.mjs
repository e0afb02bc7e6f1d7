#!/usr/bin/env node
// `npm run test:slow`: the tests tagged slow, run from the files that declare the tag only.
// `vitest run --tagsFilter=slow` alone imports every test file (and runs its setup) just to skip
// most of them; this passes vitest the files that mention the tag (`// @module-tag slow`, or
// `tags: [..."slow"...]` on a test or describe), and the same filter. Extra arguments go to vitest.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const SLOW = /@module-tag\s+slow\b|tags:\s*\[[^\]]*["'`]slow["'`]/;
const files = [];
const walk = (dir) => {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith(".test.ts") && SLOW.test(readFileSync(p, "utf8"))) files.push(p.slice(root.length + 1));
  }
};
walk(join(root, "test"));
files.sort();
if (files.length === 0) {
  console.error("test-slow: no test file declares the slow tag");
  process.exit(1);
}
console.log(`test-slow: ${files.length} files with slow tests`);
const r = spawnSync("npx", ["vitest", "run", "--tagsFilter=slow", ...process.argv.slice(2), ...files], { cwd: root, stdio: "inherit" });
process.exit(r.status ?? 1);
