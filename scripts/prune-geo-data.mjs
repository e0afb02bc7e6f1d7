#!/usr/bin/env node
// Deletes the bundled geo packages' data files that trailhound never reads (the Docker image runs
// it after `npm run build`): the list of files read is PACKAGED_GEO_FILES in src/geo/offline.ts.
// Licence and README files stay. Prints what it removed and the bytes saved.
import { readdirSync, statSync, unlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { PACKAGED_GEO_FILES } from "../dist/geo/offline.js";

const require = createRequire(import.meta.url);
let saved = 0;
for (const { package: pkg, ...files } of Object.values(PACKAGED_GEO_FILES)) {
  const dir = dirname(require.resolve(`${pkg}/package.json`));
  const keep = new Set(Object.values(files));
  for (const f of keep) statSync(join(dir, f)); // fails the build if a file read is missing
  for (const name of readdirSync(dir)) {
    if (!/\.(csv|mmdb)$/.test(name) || keep.has(name)) continue;
    const p = join(dir, name);
    saved += statSync(p).size;
    unlinkSync(p);
    console.log(`prune-geo-data: removed ${pkg}/${name} (not read by trailhound)`);
  }
}
console.log(`prune-geo-data: ${(saved / 1e6).toFixed(1)} MB removed`);
