/**
 * The store's write lock is exclusive: a paused holder keeps it however old its lock file is, a
 * dead holder's lock is taken over by exactly one waiter at a time, a release never removes
 * another holder's lock, and a writer that lost its lock does not write. In-process tests of
 * acquireLock, then real processes (SIGSTOP, SIGKILL via TRAILHOUND_FAULT, racing writers)
 * acknowledging findings: every acknowledgement reported durable is in the store at the end.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireLock, processStartTime } from "../../src/store/lock.js";
import { TrailStore } from "../../src/store/store.js";
import { transpileToTemp } from "../helpers/transpile.js";

const here = path.dirname(fileURLToPath(import.meta.url));
let work: string;
let build: string | undefined;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "trailhound-lock-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (build) await rm(build, { recursive: true, force: true });
});

let n = 0;
const fresh = () => path.join(work, `l${n++}`);

/** A process that runs until killed. */
function sleeper(): ChildProcess {
  return spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
}

async function stateOf(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
}

async function until(cond: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

function lockOf(pid: number, start: string | undefined, token: string): string {
  return JSON.stringify({ pid, host: os.hostname(), ...(start ? { start } : {}), token, at: new Date().toISOString() });
}

const HOUR_AGO = new Date(Date.now() - 3_600_000);
const linux = process.platform === "linux";

describe("acquireLock", () => {
  it("never takes over a live holder's lock for its age, even a paused one; takes it once the holder is dead", async () => {
    const dir = await mkdtemp(path.join(work, "paused-"));
    const lock = path.join(dir, "x.lock");
    const holder = sleeper();
    await until(() => processStartTime(holder.pid!) !== undefined || !linux, "the holder to start");
    holder.kill("SIGSTOP");
    await writeFile(lock, lockOf(holder.pid!, processStartTime(holder.pid!), "holder"));
    await utimes(lock, HOUR_AGO, HOUR_AGO);
    await expect(acquireLock(lock, { timeoutMs: 300 })).rejects.toMatchObject({ code: "conflict", reason: "locked" });
    expect(JSON.parse(await readFile(lock, "utf8")).token).toBe("holder");
    const exited = new Promise((r) => holder.once("exit", r));
    holder.kill("SIGKILL");
    await exited;
    const release = await acquireLock(lock, { timeoutMs: 5_000 });
    expect(JSON.parse(await readFile(lock, "utf8")).token).toBe(release.token);
    await release();
    expect(await readdir(dir)).toEqual([]);
  });

  it.runIf(linux)("a pid that now belongs to another process (its start time differs) is a dead holder", async () => {
    const dir = await mkdtemp(path.join(work, "reused-"));
    const lock = path.join(dir, "x.lock");
    const other = sleeper();
    await until(() => processStartTime(other.pid!) !== undefined, "the process to start");
    await writeFile(lock, lockOf(other.pid!, "1", "old-holder"));
    const release = await acquireLock(lock, { timeoutMs: 5_000 });
    expect(JSON.parse(await readFile(lock, "utf8")).token).toBe(release.token);
    await release();
    other.kill("SIGKILL");
  });

  it("racing waiters take a dead holder's lock one at a time, and all of them get it", async () => {
    const dir = await mkdtemp(path.join(work, "race-"));
    const lock = path.join(dir, "x.lock");
    const gone = sleeper();
    const pid = gone.pid!;
    const start = processStartTime(pid);
    gone.kill("SIGKILL");
    await new Promise((r) => gone.once("exit", r));
    for (let round = 0; round < 5; round++) {
      await writeFile(lock, lockOf(pid, start, `dead-${round}`));
      let inside = 0;
      let most = 0;
      let entered = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          const release = await acquireLock(lock, { timeoutMs: 10_000 });
          inside++;
          entered++;
          most = Math.max(most, inside);
          await new Promise((r) => setImmediate(r));
          await new Promise((r) => setTimeout(r, 1));
          inside--;
          await release();
        }),
      );
      expect({ most, entered }).toEqual({ most: 1, entered: 8 });
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it("a release never removes another holder's lock, and check() tells a holder that lost it", async () => {
    const dir = await mkdtemp(path.join(work, "release-"));
    const lock = path.join(dir, "x.lock");
    const mine = await acquireLock(lock);
    await mine.check();
    // Someone removed it by hand and another process took the lock.
    await writeFile(lock, lockOf(process.pid, processStartTime(process.pid), "someone-else"));
    await expect(mine.check()).rejects.toMatchObject({ code: "conflict", reason: "locked" });
    await mine();
    expect(JSON.parse(await readFile(lock, "utf8")).token).toBe("someone-else");
  });

  it("a lock file that is not readable as one waits while young and is taken over once stale", async () => {
    const dir = await mkdtemp(path.join(work, "garbage-"));
    const lock = path.join(dir, "x.lock");
    await writeFile(lock, "");
    await expect(acquireLock(lock, { timeoutMs: 100, staleMs: 60_000 })).rejects.toMatchObject({ reason: "locked" });
    await utimes(lock, HOUR_AGO, HOUR_AGO);
    const release = await acquireLock(lock, { timeoutMs: 5_000 });
    await release();
  });

  it("a store whose lock was taken from it does not write, and leaves the new holder's lock alone", async () => {
    const dir = fresh();
    const s = await TrailStore.open(dir);
    await s.recordFindings([finding("f1")], T0);
    const file = path.join(dir, "trailhound.json");
    const lock = `${file}.lock`;
    const before = await readFile(file, "utf8");
    const { setFault } = await import("../../src/util/faults.js");
    // Right after this process takes the lock, another holder replaces it (as a wrong takeover would).
    setFault((point) => {
      if (point === "lock.acquired") writeFileSync(lock, lockOf(process.pid, processStartTime(process.pid), "thief"));
    });
    try {
      await expect(s.acknowledge("f1", "U1", T0)).rejects.toMatchObject({ code: "conflict", reason: "locked" });
    } finally {
      setFault(undefined);
    }
    expect(await readFile(file, "utf8")).toBe(before);
    expect(JSON.parse(await readFile(lock, "utf8")).token).toBe("thief");
    await rm(lock);
    await s.acknowledge("f1", "U1", T0);
    expect(JSON.parse(await readFile(file, "utf8")).findings.f1.acknowledged.by).toBe("U1");
    await s.close();
  });
});

const T0 = Date.UTC(2024, 5, 1);
function finding(id: string) {
  return {
    id,
    detector: "new-api",
    title: "First use",
    severity: "medium" as const,
    score: 50,
    identity: { key: "user:1:alice", type: "IAMUser" },
    sourceIp: "203.0.113.9",
    eventIds: ["e1"],
    firstSeen: new Date(T0).toISOString(),
    lastSeen: new Date(T0).toISOString(),
    count: 1,
    why: "lock test",
    attack: [],
    investigate: [],
    falsePositives: [],
    failed: false,
  } as unknown as import("../../src/scan/report-types.js").Finding;
}

interface Child {
  proc: ChildProcess;
  acked: string[];
  failed: string[];
  ready: Promise<void>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function child(dir: string, ids: string[], opts: { timeoutMs?: number; fault?: string } = {}): Child {
  const proc = spawn(
    process.execPath,
    [path.join(here, "lock-child.mjs"), pathToFileURL(path.join(build!, "src/store/index.js")).href, dir, String(opts.timeoutMs ?? 30_000), ...ids],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "", ...(opts.fault ? { TRAILHOUND_FAULT: opts.fault } : {}) },
    },
  );
  const acked: string[] = [];
  const failed: string[] = [];
  let err = "";
  let out = "";
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  proc.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    let i: number;
    while ((i = out.indexOf("\n")) >= 0) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      if (line === "READY") readyResolve();
      else if (line.startsWith("ACK ")) acked.push(line.slice(4));
      else if (line.startsWith("FAIL ")) failed.push(line.slice(5));
    }
  });
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on("close", (code, signal) => r({ code, signal })));
  return { proc, acked, failed, ready, done, stderr: () => err };
}

describe("several processes writing decisions", () => {
  beforeAll(async () => {
    build = await transpileToTemp(["src/store/index.ts"], "trailhound-lock-build-");
  }, 120_000);

  async function seeded(ids: string[]): Promise<string> {
    const dir = fresh();
    const s = await TrailStore.open(dir);
    await s.recordFindings(ids.map(finding), T0);
    await s.close();
    return dir;
  }

  async function ackedInStore(dir: string): Promise<Set<string>> {
    const data = JSON.parse(await readFile(path.join(dir, "trailhound.json"), "utf8")) as { findings: Record<string, { acknowledged?: unknown }> };
    return new Set(
      Object.entries(data.findings)
        .filter(([, f]) => f.acknowledged)
        .map(([id]) => id),
    );
  }

  it.runIf(linux)(
    "a paused holder keeps the lock (waiters fail cleanly, nothing lost); a dead one is taken over by racing writers",
    async () => {
      const ids = Array.from({ length: 40 }, (_, i) => `f${i}`);
      const dir = await seeded(ids);
      const lock = path.join(dir, "trailhound.json.lock");
      const confirmed: string[] = [];

      // 1. A writer stops (SIGSTOP) holding the lock; its lock file is made an hour old.
      const paused = child(dir, ["f0"], { fault: "lock.acquired:stop" });
      await until(async () => (await stateOf(paused.proc.pid!)) === "T", "the writer to stop");
      await utimes(lock, HOUR_AGO, HOUR_AGO);
      // Two writers wait for it and give up: they never take it over, nor write.
      const waiters = [child(dir, ["f1", "f2"], { timeoutMs: 400 }), child(dir, ["f3", "f4"], { timeoutMs: 400 })];
      await Promise.all(waiters.map((w) => w.done));
      for (const w of waiters) {
        expect(w.acked, w.stderr()).toEqual([]);
        expect(w.failed.every((f) => f.endsWith("conflict/locked"))).toBe(true);
        expect(w.failed).toHaveLength(2);
      }
      expect(JSON.parse(await readFile(lock, "utf8")).pid).toBe(paused.proc.pid);
      paused.proc.kill("SIGCONT");
      expect((await paused.done).code).toBe(0);
      expect(paused.acked).toEqual(["f0"]);
      confirmed.push(...paused.acked);

      // 2. A writer is SIGKILLed holding the lock.
      const dead = child(dir, ["f5"], { fault: "lock.acquired:kill" });
      expect((await dead.done).signal).toBe("SIGKILL");
      expect(dead.acked).toEqual([]);
      expect(JSON.parse(await readFile(lock, "utf8")).pid).toBe(dead.proc.pid);

      // 3. Five writers race for the dead holder's lock, then keep writing at the same time.
      const racers = [0, 1, 2, 3, 4].map((k) => child(dir, ids.slice(6 + k * 6, 12 + k * 6)));
      const ends = await Promise.all(racers.map((r) => r.done));
      for (const [k, r] of racers.entries()) {
        expect(ends[k]!.code, r.stderr()).toBe(0);
        expect(r.failed).toEqual([]);
        confirmed.push(...r.acked);
      }
      expect(confirmed).toHaveLength(1 + 30);
      const stored = await ackedInStore(dir);
      const lost = confirmed.filter((id) => !stored.has(id));
      expect(lost).toEqual([]);
      // Nothing that was refused or never confirmed is there either.
      expect([...stored].sort()).toEqual([...confirmed].sort());
      expect((await readdir(dir)).filter((f) => f.includes(".lock"))).toEqual([]);
      process.stderr.write(`lock test: ${confirmed.length} decisions confirmed under a paused holder, a dead holder and 5 racing writers; lost ${lost.length}\n`);
    },
    120_000,
  );
});
