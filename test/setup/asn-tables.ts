/**
 * Vitest global setup (once per run): the binary ASN tables, as `npm run build` writes them into
 * dist/geo, written for the sources into node_modules/.cache/trailhound/geo (defaultAsnTableDir
 * from src/), or kept when current. Without them each resolver that looked up an address parsed
 * the 21 MB of CSV (some 0.55 CPU-s). The CSV path stays covered: test/geo/offline.test.ts parses
 * the packaged CSV and checks its binary table against it, and reads a CSV whose table is stale.
 */
import { mkdirSync } from "node:fs";
import { writeAsnTables } from "../../src/geo/build-tables.js";
import { defaultAsnTableDir } from "../../src/geo/offline.js";

export default function setup(): void {
  mkdirSync(defaultAsnTableDir(), { recursive: true });
  writeAsnTables();
}
