// @module-tag slow
/**
 * The crash test: a child process loops writing acknowledgements to the store and is killed
 * with SIGKILL at random instants (also during open); after each kill the store must open,
 * complete, with every acknowledgement the child reported as durable.
 *
 * The child runs a copy of src/store transpiled at test start (test/helpers/transpile.ts: no
 * build step, no tsx), importing lowdb and zod from this repository's node_modules.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TrailStore, checkStore } from "../../src/store/index.js";
import { rng } from "../../src/util/rng.js";
import { transpileToTemp } from "../helpers/transpile.js";

const here = path.dirname(fileURLToPath(import.meta.url));
let build: string;
let work: string;

beforeAll(async () => {
  build = await transpileToTemp(["src/store/index.ts"], "trailhound-crash-build-");
  work = await mkdtemp(path.join(os.tmpdir(), "trailhound-crash-"));
});

afterAll(async () => {
  await rm(build, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

interface Run {
  acked: string[];
  sawReady: boolean;
  stderr: string;
  signal: NodeJS.Signals | null;
  code: number | null;
}

/**
 * `minAcks`: if the kill timer fires before the child reported that many acknowledgements (a
 * loaded machine starts children slowly), the kill waits for them instead (the 10 s guard still
 * holds), so a slow start cannot make the run vacuous.
 */
function runChild(dir: string, run: number, killAfterReadyMs: number | undefined, killAfterSpawnMs: number, minAcks = 0): Promise<Run> {
  const child = spawn(process.execPath, [path.join(here, "crash-child.mjs"), pathToFileURL(path.join(build, "src/store/index.js")).href, dir, String(run)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let stderr = "";
  let sawReady = false;
  let timer: NodeJS.Timeout | undefined;
  let acks = 0;
  let killWhenAcked = false;
  const kill = () => {
    if (acks < minAcks) killWhenAcked = true;
    else child.kill("SIGKILL");
  };
  if (killAfterReadyMs === undefined) timer = setTimeout(kill, killAfterSpawnMs);
  // Safety net: never hang.
  const guard = setTimeout(() => child.kill("SIGKILL"), 10_000);
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (d: string) => {
    out += d;
    acks = out
      .split("\n")
      .slice(0, -1)
      .filter((l) => l.startsWith("ACK ")).length;
    if (killWhenAcked && acks >= minAcks) child.kill("SIGKILL");
    if (!sawReady && out.includes("READY\n")) {
      sawReady = true;
      if (killAfterReadyMs !== undefined) timer = setTimeout(kill, killAfterReadyMs);
    }
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(guard);
      // Only complete lines count: a line cut by the kill was not reported.
      const acked = out
        .split("\n")
        .slice(0, -1)
        .filter((l) => l.startsWith("ACK "))
        .map((l) => l.slice(4));
      resolve({ acked, sawReady, stderr, signal, code });
    });
  });
}

describe("two processes on one store", () => {
  it("writing at the same time, then SIGKILLed: every acknowledgement either reported is kept", { timeout: 180_000 }, async () => {
    const dir = path.join(work, "shared");
    const acked = new Set<string>();
    for (let round = 0; round < 2; round++) {
      const runs = await Promise.all([runChild(dir, 1000 + round * 2, 1200, 0, 1), runChild(dir, 1001 + round * 2, 1300, 0, 1)]);
      for (const r of runs) {
        expect(r.signal, r.stderr).toBe("SIGKILL");
        for (const id of r.acked) acked.add(id);
      }
      const s = await TrailStore.open(dir);
      const lost = [...acked].filter((id) => s.getFinding(id)?.status !== "acknowledged");
      expect(lost, `round ${round}: acknowledgements reported durable but missing`).toEqual([]);
      // Both wrote: each one's acknowledgements are there.
      for (const r of runs) expect(r.acked.length).toBeGreaterThan(0);
      await s.close();
    }
    expect((await checkStore(dir)).ok).toBe(true);
  });
});

describe("crash safety", () => {
  it("SIGKILL at random instants never loses a durable acknowledgement nor leaves a broken store", { timeout: 180_000 }, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
    const rand = rng(seed);
    const dir = path.join(work, "store");
    const runs = 30;
    const acked = new Set<string>();
    let killedMidWrite = 0;
    for (let run = 0; run < runs; run++) {
      // Most runs are killed while writing; every 8th is killed at a random point from spawn (during open or before).
      const early = run % 8 === 7;
      const r = await runChild(dir, run, early ? undefined : 5 + Math.floor(rand() * 120), 20 + Math.floor(rand() * 250), early ? 0 : 1);
      expect(r.signal, `run ${run} (seed ${seed}) ended by itself: code ${r.code}, stderr: ${r.stderr}`).toBe("SIGKILL");
      if (!early) expect(r.sawReady, `run ${run} (seed ${seed}) never got ready: ${r.stderr}`).toBe(true);
      if (r.acked.length > 0) killedMidWrite++;
      for (const id of r.acked) acked.add(id);

      // After every kill: the store opens, complete, and holds every reported acknowledgement.
      const s = await TrailStore.open(dir);
      const lost = [...acked].filter((id) => s.getFinding(id)?.status !== "acknowledged");
      expect(lost, `run ${run} (seed ${seed}): acknowledgements reported durable but missing`).toEqual([]);
      expect(s.getBaselines().size).toBe(150);
      await s.close();
    }
    expect(killedMidWrite).toBeGreaterThanOrEqual(runs / 2);
    expect(acked.size).toBeGreaterThan(50);
    const check = await checkStore(dir);
    expect(check.ok, check.lines.join("\n")).toBe(true);
    expect((await readdir(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});
