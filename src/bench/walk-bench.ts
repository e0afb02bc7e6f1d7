/**
 * `npm run bench:walk`: the byte walk alone, JavaScript against native, on the files of
 * `npm run bench` (generated if missing). Gunzips `--files N` of them (default 300) into memory,
 * then walks them alternately with each walk, `--rounds N` times (default 5), and prints
 * nanoseconds per byte and the median of each. Checks first that both walks index every file
 * identically.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSized } from "../sources/files.js";
import { nativeWalk, walkKind } from "../ingest/native-walk.js";
import { indexRecords, indexRecordsJs, STRIDE } from "../ingest/record-bytes.js";
import { benchFiles, numArg, strArg } from "./cli-args.js";
import { generate } from "./generate.js";

async function main(): Promise<void> {
  const dir = resolve(strArg("dir") ?? join("bench-data", "lean"));
  await generate({ dir, events: 1_000_000, identities: 5_000, days: 14, perFile: 1000 });
  const docs = benchFiles(dir)
    .slice(0, numArg("files", 300))
    .map((f) => gunzipSized(readFileSync(f)));
  const bytes = docs.reduce((n, d) => n + d.length, 0);
  console.log(`${docs.length} files, ${(bytes / 1e6).toFixed(0)} MB uncompressed; native walk: ${walkKind}`);
  if (!nativeWalk) {
    console.log("nothing to compare: the native walk is not loaded");
    process.exitCode = 1;
    return;
  }
  for (const d of docs) {
    const js = indexRecordsJs(d)!;
    const jsMeta = js.meta.slice(0, js.count * STRIDE);
    const nat = indexRecords(d, { hashes: true })!;
    if (nat.count !== js.count || nat.meta.subarray(0, nat.count * STRIDE).some((v, i) => v !== jsMeta[i])) throw new Error("the walks disagree");
  }
  const time = (walk: (d: Buffer) => unknown): number => {
    const t0 = process.hrtime.bigint();
    for (const d of docs) walk(d);
    return Number(process.hrtime.bigint() - t0) / bytes;
  };
  const rounds = numArg("rounds", 5);
  const js: number[] = [];
  const nat: number[] = [];
  const interned: number[] = [];
  for (let r = 0; r < rounds; r++) {
    js.push(time(indexRecordsJs));
    nat.push(time((d) => indexRecords(d, { hashes: true })));
    interned.push(time((d) => indexRecords(d)));
    console.log(`round ${r + 1}/${rounds}: JavaScript ${js[r]!.toFixed(2)} ns/byte, native ${nat[r]!.toFixed(2)}, native with interning and times ${interned[r]!.toFixed(2)}`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  console.log(
    `median: JavaScript ${median(js).toFixed(2)} ns/byte, native ${median(nat).toFixed(2)} (${(median(js) / median(nat)).toFixed(1)}x), ` +
      `native with interning and times ${median(interned).toFixed(2)}`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
