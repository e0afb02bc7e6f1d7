/**
 * `npm run fuzz [-- --inputs N --seed S]`: fuzzes the native byte walk (native/record-walk.c).
 *
 * Builds native/fuzz/walk-harness.c (the walk without its Node-API glue) twice with gcc (or $CC)
 * and `-fsanitize=address,undefined -fno-sanitize-recover=all`: with the SSE2 string scan and
 * without it (-U__SSE2__). Feeds both, batch by batch, with the inputs of fuzz-corpus.ts (random
 * and mutated CloudTrail documents, seeded) and compares every result with the JavaScript walk
 * (record-bytes.ts, the oracle): acceptance, record count, record spans and flags, every field's
 * span and hash, the intern ids (one id per distinct value within a table generation) and the
 * eventTime seconds. Also checks that every accepted document is valid JSON.
 *
 * Fails (exit 1) on a sanitizer report, a crash, a hang of a batch (60 s), or a disagreement,
 * and writes the input that caused it to fuzz-failures/ (replay: the seed and index printed).
 * Exit 2: no C compiler with the sanitizers.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { F_ERRMSG, F_ID, F_RP, F_TIME, F_UI, STRIDE, fieldAt, indexRecordsJs, recordTime, type RecordIndex } from "../ingest/record-bytes.js";
import { numArg, strArg } from "./cli-args.js";
import { FuzzCorpus } from "./fuzz-corpus.js";

const NF = (STRIDE - 3) / 3;
const ROOT = new URL("../../", import.meta.url).pathname;

function build(out: string, extra: string[]): void {
  const cc = process.env.CC ?? "gcc";
  const args = [
    "-std=c11",
    "-O1",
    "-g",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
    "-Wno-unused-function",
    ...extra,
    "-o",
    out,
    join(ROOT, "native/fuzz/walk-harness.c"),
  ];
  const r = spawnSync(cc, args, { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    process.stderr.write(`fuzz: cannot build the sanitized harness with ${cc} ${args.join(" ")}\n${r.error?.message ?? r.stderr}\n`);
    process.exit(2);
  }
}

interface Failure {
  index: number;
  what: string;
}

/** Compare the harness's answers for `inputs` with the JavaScript walk. */
function compare(inputs: Buffer[], out: Buffer, first: number, ids: Map<string, number>, gen: { g: number }, seen: { accepted: number }): Failure | undefined {
  let p = 0;
  const i32 = () => {
    if (p + 4 > out.length) throw new Error("short output");
    const v = out.readInt32LE(p);
    p += 4;
    return v;
  };
  const metaOf = (n: number): Int32Array => {
    const m = new Int32Array(n * STRIDE);
    for (let k = 0; k < m.length; k++) m[k] = i32();
    return m;
  };
  for (let i = 0; i < inputs.length; i++) {
    const b = inputs[i]!;
    const fail = (what: string): Failure => ({ index: first + i, what });
    const js = indexRecordsJs(b);
    const jsMeta = js ? js.meta.slice(0, js.count * STRIDE) : undefined;
    const r0 = i32();
    const m0 = r0 > 0 ? metaOf(r0) : new Int32Array(0);
    const r1 = i32();
    const g = i32() >>> 0;
    const m1 = r1 > 0 ? metaOf(r1) : new Int32Array(0);
    if (g !== gen.g) {
      gen.g = g;
      ids.clear();
    }
    const want = js ? js.count : -1;
    if (r0 !== want) return fail(`native (hashes) gave ${r0}, JavaScript ${want}`);
    if (r1 !== want) return fail(`native (intern ids) gave ${r1}, JavaScript ${want}`);
    if (!js) continue;
    seen.accepted++;
    try {
      JSON.parse(b.toString("utf8"));
    } catch {
      return fail("the walk accepted a document JSON.parse rejects");
    }
    const jm = jsMeta!;
    const cIx: RecordIndex = { meta: m1, count: r1, ids: true };
    const jIx: RecordIndex = { meta: jm, count: js.count, ids: false };
    for (let r = 0; r < js.count; r++) {
      for (let k = 0; k < 3; k++) {
        const at = r * STRIDE + k;
        if (m0[at] !== jm[at] || m1[at] !== jm[at]) return fail(`record ${r} slot ${k}: native ${m0[at]}/${m1[at]}, JavaScript ${jm[at]}`);
      }
      for (let f = 0; f < NF; f++) {
        const at = fieldAt(r, f);
        const s = jm[at]!;
        if (m0[at] !== s || m1[at] !== s) return fail(`record ${r} field ${f} start: native ${m0[at]}/${m1[at]}, JavaScript ${s}`);
        if (s < 0) continue;
        if (m0[at + 1] !== jm[at + 1] || m1[at + 1] !== jm[at + 1]) return fail(`record ${r} field ${f} end: native ${m0[at + 1]}/${m1[at + 1]}, JavaScript ${jm[at + 1]}`);
        // The third slot: F_UI has none; F_RP's is 1/0 for an object/null only.
        if (f === F_UI || (f === F_RP && b[s] !== 0x7b && b[s] !== 0x6e)) continue;
        if (m0[at + 2] !== jm[at + 2]) return fail(`record ${r} field ${f} hash: native ${m0[at + 2]}, JavaScript ${jm[at + 2]}`);
        if (f === F_RP) {
          if (m1[at + 2] !== jm[at + 2]) return fail(`record ${r} requestParameters kind: native ${m1[at + 2]}, JavaScript ${jm[at + 2]}`);
        } else if (f === F_TIME) {
          const a = recordTime(b, cIx, r),
            t = recordTime(b, jIx, r);
          if (!Object.is(a, t)) return fail(`record ${r} eventTime: native ${a}, JavaScript ${t}`);
        } else if (f === F_ID) {
          if (m1[at + 2] !== 0) return fail(`record ${r} eventID slot ${m1[at + 2]}, expected 0`);
        } else if (f === F_ERRMSG) {
          if (m1[at + 2] !== -1) return fail(`record ${r} errorMessage slot ${m1[at + 2]}, expected -1`);
        } else {
          const v = b.toString("latin1", s, jm[at + 1]!);
          const id = m1[at + 2]!;
          const known = ids.get(v);
          if (id < 0) return fail(`record ${r} field ${f}: intern id ${id}`);
          if (known === undefined) ids.set(v, id);
          else if (known !== id) return fail(`record ${r} field ${f}: value ${JSON.stringify(v.slice(0, 40))} got id ${id}, before ${known}`);
        }
      }
    }
  }
  if (p !== out.length) return { index: first + inputs.length - 1, what: `${out.length - p} bytes of output left over` };
  return undefined;
}

function frame(inputs: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const b of inputs) {
    const h = Buffer.alloc(4);
    h.writeUInt32LE(b.length);
    parts.push(h, b);
  }
  return Buffer.concat(parts);
}

/** The input the harness was on when it stopped: the first whose answers are incomplete. */
function stoppedAt(inputs: Buffer[], out: Buffer): number {
  let p = 0;
  for (let i = 0; i < inputs.length; i++) {
    for (let mode = 0; mode < 2; mode++) {
      if (p + 4 > out.length) return i;
      const r = out.readInt32LE(p);
      p += 4 + (mode === 1 ? 4 : 0) + (r > 0 ? r * STRIDE * 4 : 0);
      if (p > out.length) return i;
    }
  }
  return inputs.length - 1;
}

function main(): void {
  const total = numArg("inputs", 100_000);
  const seed = numArg("seed", 1);
  const batch = Math.max(1, numArg("batch", 10_000));
  const failDir = strArg("out") ?? join(ROOT, "fuzz-failures");
  const binDir = join(ROOT, "build", "fuzz");
  mkdirSync(binDir, { recursive: true });
  const harnesses = [
    { name: "sse2", bin: join(binDir, "walk-harness-sse2"), extra: [] as string[] },
    { name: "scalar", bin: join(binDir, "walk-harness-scalar"), extra: ["-U__SSE2__"] },
  ];
  for (const h of harnesses) build(h.bin, h.extra);
  const corpus = new FuzzCorpus(seed);
  const state = harnesses.map(() => ({ ids: new Map<string, number>(), gen: { g: -1 } }));
  const seen = { accepted: 0 };
  const t0 = performance.now();
  let done = 0,
    accepted = 0,
    bytes = 0;
  for (let first = 0, n = 0; first < total; first += batch, n++) {
    const inputs: Buffer[] = [];
    for (let i = 0; i < Math.min(batch, total - first); i++) inputs.push(corpus.next());
    const which = n % harnesses.length;
    const h = harnesses[which]!;
    const res: SpawnSyncReturns<Buffer> = spawnSync(h.bin, [], {
      input: frame(inputs),
      maxBuffer: 1 << 30,
      timeout: 60_000,
      env: { ...process.env, ASAN_OPTIONS: "detect_leaks=1:halt_on_error=1", UBSAN_OPTIONS: "print_stacktrace=1:halt_on_error=1" },
    });
    const stderr = res.stderr?.toString("utf8") ?? "";
    let failure: Failure | undefined;
    if (res.error || res.status !== 0 || res.signal || stderr.trim() !== "") {
      const at = stoppedAt(inputs, res.stdout ?? Buffer.alloc(0));
      const why = res.error?.message ?? (res.signal ? `killed by ${res.signal}` : `exit ${res.status}`);
      failure = { index: first + at, what: `the ${h.name} harness failed (${why})\n${stderr.slice(0, 20_000)}` };
    } else {
      try {
        // A new harness process: a new intern table.
        state[which]!.ids.clear();
        state[which]!.gen.g = -1;
        failure = compare(inputs, res.stdout, first, state[which]!.ids, state[which]!.gen, seen);
      } catch (e) {
        failure = { index: first, what: `unreadable harness output: ${(e as Error).message}` };
      }
    }
    if (failure) {
      mkdirSync(failDir, { recursive: true });
      const file = join(failDir, `seed${seed}-input${failure.index}.json`);
      writeFileSync(file, inputs[failure.index - first]!);
      process.stderr.write(`fuzz: FAILED at input ${failure.index} (seed ${seed}, ${h.name} harness): ${failure.what}\nfuzz: the input is in ${file}\n`);
      process.exit(1);
    }
    for (const b of inputs) {
      bytes += b.length;
    }
    done += inputs.length;
    accepted = seen.accepted;
    if (n % 25 === 0 || done === total) {
      const s = (performance.now() - t0) / 1000;
      process.stdout.write(
        `fuzz: ${done} of ${total} inputs (${accepted} accepted documents, ${(bytes / 1e6).toFixed(1)} MB), ${s.toFixed(0)} s, ${Math.round(done / s)} inputs/s\n`,
      );
    }
  }
  const s = (performance.now() - t0) / 1000;
  process.stdout.write(
    `fuzz: OK: ${done} inputs (seed ${seed}; ${accepted} accepted by the walk, the rest rejected), ASan+UBSan, SSE2 and scalar builds, no crash, no sanitizer report, no disagreement with the JavaScript walk, in ${s.toFixed(1)} s\n`,
  );
}

main();
