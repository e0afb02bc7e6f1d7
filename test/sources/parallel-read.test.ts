/**
 * A file scan read by worker threads (TRAILHOUND_SCAN_THREADS) gives exactly the one-thread scan's
 * report and stored baselines, byte for byte, whatever the order of its input files: real
 * CloudTrail files, generated ones of both bench profiles, and files the workers hand back to the
 * main thread (JSON Lines, a plain array, a large file, corrupt and non-CloudTrail files).
 *
 * The scan runs from the source transpiled once (test/helpers/transpile.ts), as in
 * worker-faults.test.ts: the read workers then start from JavaScript (from the TypeScript sources,
 * each loaded TypeScript and transpiled its modules again: 1-2 s of CPU a worker).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { generate } from "../../src/bench/generate.js";
import { scanThreadsFromEnv } from "../../src/sources/read-pool.js";
import { rng, shuffled } from "../../src/util/rng.js";
import { repo, transpileToTemp } from "../helpers/transpile.js";
import type { GeoResolver } from "../../src/geo/types.js";

type Modules = {
  files: typeof import("../../src/sources/files.js");
  scanner: typeof import("../../src/scan/scanner.js");
  baselines: typeof import("../../src/store/baselines.js");
  geo: typeof import("../../src/geo/default.js");
};
let build: string;
let m: Modules;

beforeAll(async () => {
  build = await transpileToTemp(
    ["src/scan/scanner.ts", "src/sources/files.ts", "src/sources/read-worker.ts", "src/ingest/walk-off-thread.ts", "src/store/baselines.ts", "src/geo/default.ts"],
    "trailhound-par-build-",
  );
  const load = (f: string) => import(pathToFileURL(join(build, f)).href);
  m = {
    files: await load("src/sources/files.js"),
    scanner: await load("src/scan/scanner.js"),
    baselines: await load("src/store/baselines.js"),
    geo: await load("src/geo/default.js"),
  };
}, 60_000);

afterAll(async () => {
  if (build) await rm(build, { recursive: true, force: true });
});

/** The report and the stored form of every baseline, as text. */
async function scan(files: string[], threads: number, now: number, geo?: GeoResolver, mods: Modules = m): Promise<{ report: string; baselines: string; offThread: number }> {
  const m = mods;
  // With a geo resolver: the default one (wrapped to count), made from an empty environment.
  const s = new m.scanner.Scanner({ now, ...(geo ? { geo, foldGeoEnv: {} } : {}) });
  // Files above 64 KB (compressed) are the main thread's (heads, streams): some of each here.
  const src = new m.files.FileSource(files, { threads, streamGzipAbove: 64 * 1024 });
  const res = await src.read(s);
  s.noteSource(res.summary, res.partialReasons);
  const out = s.finish();
  return {
    report: JSON.stringify(out.report),
    baselines: JSON.stringify(out.profiles.map((p) => m.baselines.encodeBaseline(p.key, p))),
    offThread: src.offThreadFiles,
  };
}

describe("reading files in worker threads", () => {
  it("gives the one-thread report and baselines byte for byte, in any file order", { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "th-par-"));
    await generate({ dir: join(dir, "realistic"), events: 5000, identities: 120, days: 3, perFile: 250, seed: 7, profile: "realistic" });
    await generate({ dir: join(dir, "lean"), events: 2000, identities: 40, days: 3, perFile: 400, seed: 8 });
    cpSync("test/fixtures/invictus-aws", join(dir, "invictus"), { recursive: true });
    cpSync("test/fixtures/otrf", join(dir, "otrf"), { recursive: true });
    const odd = join(dir, "odd");
    mkdirSync(odd);
    const rec = (i: number) => ({
      eventVersion: "1.09",
      userIdentity: { type: "IAMUser", arn: "arn:aws:iam::111122223333:user/odd", accountId: "111122223333", userName: "odd" },
      eventTime: `2024-03-03T1${i % 10}:00:00Z`,
      eventSource: "ec2.amazonaws.com",
      eventName: i % 7 === 0 ? "RunInstances" : "DescribeInstances",
      awsRegion: "us-east-1",
      sourceIPAddress: `198.51.100.${i % 200}`,
      userAgent: i % 3 ? "aws-cli/2.13.5" : 'quote " inside',
      requestParameters: i % 7 === 0 ? { instanceType: "t3.micro" } : null,
      eventID: `odd-${i}`,
      recipientAccountId: "111122223333",
    });
    const many = Array.from({ length: 3000 }, (_, i) => rec(i));
    writeFileSync(join(odd, "plain.json"), JSON.stringify({ Records: many.slice(0, 50) }));
    writeFileSync(join(odd, "array.json.gz"), gzipSync(JSON.stringify(many.slice(50, 80))));
    writeFileSync(
      join(odd, "lines.jsonl.gz"),
      gzipSync(
        many
          .slice(80, 120)
          .map((r) => JSON.stringify(r))
          .join("\n"),
      ),
    );
    writeFileSync(join(odd, "not-cloudtrail.json"), JSON.stringify({ hello: "world" }));
    writeFileSync(join(odd, "corrupt.json.gz"), gzipSync(JSON.stringify({ Records: many.slice(120, 200) })).subarray(0, 300));
    writeFileSync(join(odd, "damaged.json"), `{"Records":[${JSON.stringify(rec(1))},{"eventTime":`);
    // Random bytes do not compress: a file above the 64 KB line, read by the main thread.
    const noise = Buffer.alloc(200_000);
    const r = rng(3);
    for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(r() * 256);
    writeFileSync(
      join(odd, "large.json.gz"),
      gzipSync(JSON.stringify({ Records: many.slice(200).map((x, i) => ({ ...x, noise: noise.toString("base64", i * 60, i * 60 + 60) })) })),
    );

    for (const set of [
      { name: "real files", files: await m.files.listInputFiles([join(dir, "invictus"), join(dir, "otrf"), odd]), now: Date.parse("2023-07-12T00:00:00Z") },
      { name: "generated files", files: await m.files.listInputFiles([join(dir, "realistic"), join(dir, "lean"), odd]), now: Date.parse("2024-03-05T00:00:00Z") },
    ]) {
      expect(set.files.length).toBeGreaterThan(25);
      for (const seed of [1, 2]) {
        const order = shuffled(set.files, seed);
        expect(order).not.toEqual(set.files);
        const alone = await scan(order, 1, set.now);
        expect(alone.offThread).toBe(0);
        expect((JSON.parse(alone.report) as { stats: { recordsRead: number } }).stats.recordsRead).toBeGreaterThan(1000);
        for (const threads of seed === 1 ? [2] : [3]) {
          const par = await scan(order, threads, set.now);
          // Most files were read, gunzipped and walked by the workers; some by the main thread.
          expect(par.offThread, `${set.name}, ${threads} threads`).toBeGreaterThan(set.files.length / 2);
          expect(par.offThread).toBeLessThan(set.files.length);
          expect(par.report, `${set.name}, order ${seed}, ${threads} threads`).toBe(alone.report);
          expect(par.baselines, `${set.name}, order ${seed}, ${threads} threads`).toBe(alone.baselines);
        }
      }
    }
  });

  it("with the default geo resolver the workers locate the addresses: the same report, and the main thread looks up only those of the files it read itself", {
    timeout: 120_000,
  }, async () => {
    // The workers locate by the native walk's intern ids: a build that loads the addon (when built).
    const native = existsSync(join(repo, "build/Release/record_walk.node"));
    const withAddon = await transpileToTemp(
      ["src/scan/scanner.ts", "src/sources/files.ts", "src/sources/read-worker.ts", "src/ingest/walk-off-thread.ts", "src/geo/default.ts"],
      "trailhound-par-geo-",
    );
    if (native) symlinkSync(join(repo, "build"), join(withAddon, "build"), "dir");
    const load = (f: string) => import(pathToFileURL(join(withAddon, f)).href);
    const mods: Modules = { files: await load("src/sources/files.js"), scanner: await load("src/scan/scanner.js"), baselines: m.baselines, geo: await load("src/geo/default.js") };
    const dir = mkdtempSync(join(tmpdir(), "th-par-geo-"));
    await generate({ dir: join(dir, "realistic"), events: 4000, identities: 100, days: 3, perFile: 200, seed: 11, profile: "realistic" });
    const files = shuffled(await mods.files.listInputFiles([join(dir, "realistic")]), 3);
    const now = Date.parse("2024-03-05T00:00:00Z");
    const real = await mods.geo.defaultGeoResolver({});
    const counting = () => {
      const asked = new Set<string>();
      const geo: GeoResolver & { asked: Set<string> } = { asked, lookup: (ip) => (asked.add(ip), real.lookup(ip)), describe: () => real.describe() };
      return geo;
    };
    const one = counting();
    const alone = await scan(files, 1, now, one, mods);
    const two = counting();
    const par = await scan(files, 2, now, two, mods);
    expect(par.offThread).toBeGreaterThan(files.length / 2);
    expect(alone.report).toContain('"asn"');
    expect(par.report).toBe(alone.report);
    expect(par.baselines).toBe(alone.baselines);
    // One thread: every public address is looked up here; two: those of the files the worker read, there.
    expect(one.asked.size).toBeGreaterThan(100);
    if (native) expect(two.asked.size).toBeLessThan(one.asked.size / 2);
    await rm(dir, { recursive: true, force: true });
    await rm(withAddon, { recursive: true, force: true });
  });

  it("TRAILHOUND_SCAN_THREADS: the machine's cores by default, a whole number from 1 to 64, else a clear error", () => {
    expect(scanThreadsFromEnv({})).toBeGreaterThanOrEqual(1);
    expect(scanThreadsFromEnv({ TRAILHOUND_SCAN_THREADS: "1" })).toBe(1);
    expect(scanThreadsFromEnv({ TRAILHOUND_SCAN_THREADS: " 3 " })).toBe(3);
    for (const bad of ["0", "1.5", "many", "65"]) expect(() => scanThreadsFromEnv({ TRAILHOUND_SCAN_THREADS: bad })).toThrow(/TRAILHOUND_SCAN_THREADS.*between 1 and 64/);
  });
});
