/**
 * `npm run build`'s last step (`node dist/geo/build-tables.js`): parses the packaged ASN CSVs once
 * and writes them in binary form beside the compiled resolver (dist/geo/asn-ipv4-num.bin,
 * asn-ipv6.bin), which every scan then maps in a few milliseconds instead of parsing 21 MB of CSV
 * (src/geo/asn-table.ts). Generated, never committed; a table already current is left as it is.
 * Without the binary files (tests run from src/, or the data package was updated since the build)
 * the resolver parses the CSV, with the same answers.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { AsnTableV4, AsnTableV6 } from "./asn-table.js";
import { asnSourceKey, asnTableFile, defaultAsnTableDir, PACKAGED_GEO_FILES } from "./offline.js";

/** Writes (or keeps, when current) the binary table of each packaged ASN CSV into `outDir`; returns what it did per file. */
export function writeAsnTables(outDir: string = defaultAsnTableDir(), asnDir?: string): string[] {
  const dir = asnDir ?? dirname(createRequire(import.meta.url).resolve(`${PACKAGED_GEO_FILES.asn.package}/package.json`));
  const done: string[] = [];
  for (const [name, kind] of [
    [PACKAGED_GEO_FILES.asn.ipv4, AsnTableV4],
    [PACKAGED_GEO_FILES.asn.ipv6, AsnTableV6],
  ] as const) {
    const csv = join(dir, name);
    const out = asnTableFile(outDir, name);
    const source = asnSourceKey(csv);
    if (existsSync(out) && kind.fromBinary(readFileSync(out), source)) {
      done.push(`${out}: current`);
      continue;
    }
    const bytes = kind.fromCsv(readFileSync(csv, "latin1")).toBinary(source);
    // Written aside, then renamed: a reader never sees half a table.
    // (Named by the process: two test runs may write the same table at once.)
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, out);
    done.push(`${out}: written (${(bytes.length / 1e6).toFixed(1)} MB)`);
  }
  return done;
}

if (process.argv[1] !== undefined && /build-tables\.(js|ts)$/.test(process.argv[1])) {
  try {
    // Quiet when nothing changed (benchmarks run the build first).
    for (const line of writeAsnTables()) if (!line.endsWith(": current")) process.stdout.write(`build-tables: ${line}\n`);
  } catch (e) {
    // Not fatal: scans then parse the CSV at start (slower, same answers).
    process.stderr.write(`build-tables: the binary ASN tables were not written (${(e as Error).message}); scans will parse the CSV\n`);
  }
}
