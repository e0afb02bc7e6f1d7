/**
 * The scan's worker threads failing on purpose (TRAILHOUND_FAULT, src/util/faults.ts), not by
 * timing luck. The fold worker (TRAILHOUND_FOLD_THREAD=1) that throws mid-batch, exits, is
 * terminated without a word, or fails in its finish, and the main thread failing while the worker
 * runs: the scan ends (the test's timeout bounds it) with an error naming what failed, the reading
 * stops early, and no worker thread is left running; the CLI says it in a line (no stack trace
 * without --verbose), exits 1 and writes nothing. A read worker (read-pool.ts) that throws or exits
 * hands its files back: the report is the one-thread one.
 *
 * The source is transpiled once (test/helpers/transpile.ts): the workers then start from
 * JavaScript, not by transpiling every module again as they do from the TypeScript sources, and
 * the CLI runs in a child process.
 */
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import type { Worker } from "node:worker_threads";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generate } from "../../src/bench/generate.js";
import type { ScanOptions, ScanResult } from "../../src/scan/scanner.js";
import { transpileToTemp } from "../helpers/transpile.js";

type Modules = {
  run: typeof import("../../src/scan/run.js");
  scanner: typeof import("../../src/scan/scanner.js");
  shard: typeof import("../../src/scan/fold-shard.js");
  files: typeof import("../../src/sources/files.js");
  faults: typeof import("../../src/util/faults.js");
};

const NOW = Date.parse("2024-03-05T00:00:00Z");
let build: string;
let m: Modules;
let dataDir: string;
/** For the CLI: 40,000 events (the worker starts with the first full message of 8,192 rows). */
let cliDir: string;
let files: string[];
/** The one-thread report (generatedAt aside). */
let alone: string;

beforeAll(async () => {
  build = await transpileToTemp(
    ["src/cli.ts", "src/scan/run.ts", "src/scan/fold-worker.ts", "src/sources/read-worker.ts", "src/ingest/walk-off-thread.ts"],
    "trailhound-faults-build-",
  );
  const load = (f: string) => import(pathToFileURL(join(build, f)).href);
  m = {
    run: await load("src/scan/run.js"),
    scanner: await load("src/scan/scanner.js"),
    shard: await load("src/scan/fold-shard.js"),
    files: await load("src/sources/files.js"),
    faults: await load("src/util/faults.js"),
  };
  dataDir = mkdtempSync(join(tmpdir(), "th-worker-faults-"));
  await generate({ dir: dataDir, events: 3000, identities: 40, days: 3, perFile: 250, seed: 5 });
  files = await m.files.listInputFiles([dataDir]);
  expect(files.length).toBe(12);
  alone = reportText(await scan({ foldThreads: 1 }).result);
}, 120_000);

afterAll(async () => {
  if (build) await rm(build, { recursive: true, force: true });
  for (const d of [dataDir, cliDir]) if (d) await rm(d, { recursive: true, force: true });
});

afterEach(() => {
  delete process.env.TRAILHOUND_FAULT;
  m?.faults.setFault(undefined);
});

function reportText(r: ScanResult): string {
  return JSON.stringify({ ...r.report, generatedAt: "" });
}

/**
 * A scan of the files (read by `threads` threads), folded in a worker when `foldThreads` is 2 (20
 * rows a message: 12 or more messages a file). `workerFault` goes to the worker threads (they take
 * the environment as they start); the main thread has none unless the test sets one.
 */
function scan(o: Partial<ScanOptions>, threads = 1, workerFault?: string) {
  if (workerFault) process.env.TRAILHOUND_FAULT = workerFault;
  const opts: ScanOptions = { now: NOW, foldBatch: 20, ...o };
  const scanner = new m.scanner.Scanner(opts);
  let done = 0;
  const source = new m.files.FileSource(files, { threads });
  const result = m.run.runScanWith(scanner, { ...opts, sources: [source], onProgress: (p) => (done = p.done) });
  return { scanner, filesRead: () => done, result };
}

/** The scan fails with an error of `type` saying `expected`; no worker left running; with `early`, fewer files read than listed. */
async function fails(s: ReturnType<typeof scan>, expected: RegExp, early = true, type: new (...a: never[]) => Error = m.shard.FoldWorkerError): Promise<Error> {
  const e = await s.result.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  expect(e, "the scan should have failed").toBeInstanceOf(type);
  expect(e!.message).toMatch(expected);
  expect(s.scanner.foldWorkerRunning).toBe(false);
  if (early) expect(s.filesRead()).toBeLessThan(files.length);
  return e!;
}

describe("the fold worker failing", () => {
  it("throws mid-batch: the scan stops, naming the worker's error (its stack kept for --verbose)", async () => {
    m.faults.setFault(undefined); // the main thread's points: none
    const e = await fails(scan({ foldThreads: 2 }, 1, "fold.batch@3:throw"), /fold worker thread .* failed: InjectedFault: injected fault at fold\.batch$/);
    expect(e.stack).toMatch(/in the worker: InjectedFault: injected fault at fold\.batch\n\s+at /);
    expect((e as { code?: string }).code).toBe("worker-failed");
  });

  it("exits mid-scan: the scan stops, saying it exited", async () => {
    m.faults.setFault(undefined);
    await fails(scan({ foldThreads: 2 }, 1, "fold.batch@3:exit"), /failed: it exited \(code 70\) before the scan was finished/);
  });

  it("is terminated mid-scan without a word (as out of memory): the main thread stops waiting for it, the scan stops", async () => {
    let s: ReturnType<typeof scan> | undefined;
    let sent = 0;
    // At the 3rd batch sent the worker is ended from outside (no code of its own runs). The main
    // thread goes on in the same file, past the backlog it waits at, and must not wait for ever.
    m.faults.setFault((point) => {
      if (point === "fold.sent" && ++sent === 3) void (s!.scanner as unknown as { folds: { worker: Worker } }).folds.worker.terminate();
    });
    // Its exit is seen between files, or at the end; 2 rows a message (125 a file): were the main
    // thread to wait foldStallMs for each, the test would time out.
    s = scan({ foldThreads: 2, foldStallMs: 200, foldBatch: 2 });
    await fails(s, /failed: it exited \(code \d+\) before the scan was finished/, false);
    expect(sent).toBeGreaterThan(3);
  });

  it("fails in its finish: the scan fails, naming the error", async () => {
    m.faults.setFault(undefined);
    const s = scan({ foldThreads: 2 }, 1, "fold.finish:throw");
    await fails(s, /failed: InjectedFault: injected fault at fold\.finish$/, false);
    expect(s.filesRead()).toBe(files.length); // it failed at the end: everything was read
  });

  it("the main thread fails while the worker runs: its own error, and the worker is ended", async () => {
    m.faults.setFault("fold.sent@4:eacces");
    const e = await fails(scan({ foldThreads: 2 }), /EACCES: permission denied/, true, m.faults.InjectedFault);
    expect(e).not.toBeInstanceOf(m.shard.FoldWorkerError);
  });
});

describe("the fold worker started by the end of the read", () => {
  it("by the records held back before the window (their rows fill the first batch): the one-thread report, not an error and a worker left running", async () => {
    // About 1,000 rows in the window (fewer than a batch), about 2,000 before it, held back until
    // the end: their rows start the worker as the scan is finished.
    const s = scan({ foldThreads: 2, foldBatch: 1500, deferBatch: 100_000 });
    const r = await s.result;
    expect(s.scanner.ingest.foldsInWorker).toBe(true);
    expect(reportText(r)).toBe(alone);
  });
});

describe("a read worker failing", () => {
  it("throws at its 2nd file: the main thread reads that file, the one-thread report", async () => {
    m.faults.setFault(undefined);
    const r = await scan({ foldThreads: 1 }, 2, "read.file@2:throw").result;
    expect(m.files.lastReadTiming?.offThread).toBe(files.length - 1);
    expect(reportText(r)).toBe(alone);
  });

  it("exits at its 2nd file (the fold worker on): the main thread reads the files it owed, the one-thread report", async () => {
    m.faults.setFault(undefined);
    const s = scan({ foldThreads: 2 }, 2, "read.file@2:exit");
    expect(reportText(await s.result)).toBe(alone);
    expect(m.files.lastReadTiming?.offThread).toBe(1);
    expect(s.scanner.ingest.foldsInWorker).toBe(true);
  });
});

// Child processes of the CLI, some 10 (5 s each on a loaded machine): `npm run test:slow`.
describe("the CLI, fold worker on (2 scan threads, --no-store)", { tags: ["slow"] }, () => {
  beforeAll(async () => {
    cliDir = mkdtempSync(join(tmpdir(), "th-worker-faults-cli-"));
    await generate({ dir: cliDir, events: 40_000, identities: 200, days: 3, perFile: 2000, seed: 6 });
  }, 60_000);

  interface Run {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    home: string;
    out: string;
  }

  /** `trailhound scan` of the files (`input`: cliDir) in a child process, killed if it runs past 60 s (a hang fails the test, it does not stall it). */
  function cli(fault: string, ...args: string[]): Promise<Run> {
    return cliOf([cliDir], { TRAILHOUND_FAULT: fault }, ...args);
  }

  /** The same of `inputs`, with `env` over the fold worker's settings. */
  function cliOf(inputs: string[], env: Record<string, string>, ...args: string[]): Promise<Run> {
    const home = mkdtempSync(join(tmpdir(), "th-worker-faults-home-"));
    const out = join(home, "report.json");
    const child = spawn(
      process.execPath,
      [join(build, "src/cli.js"), "scan", ...inputs.flatMap((i) => ["--input", i]), "--no-store", "--no-geo", "--format", "json", "--no-progress", "--out", out, ...args],
      {
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 60_000,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: home,
          TRAILHOUND_FOLD_THREAD: "1",
          TRAILHOUND_SCAN_THREADS: "2",
          NODE_NO_WARNINGS: "1",
          ...env,
        },
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, home, out })));
  }

  const report = (r: Run): Record<string, unknown> => ({ ...(JSON.parse(readFileSync(r.out, "utf8")) as Record<string, unknown>), generatedAt: "" });

  /** Ended by itself with exit 1, saying `what` without a stack trace; no report, nothing in HOME (no store). */
  function failedPlainly(r: Run, what: RegExp): void {
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(what);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).toMatch(/no report was written.*--verbose shows the stack trace/s);
    expect(r.stdout).toBe("");
    expect(readdirSync(r.home)).toEqual([]);
  }

  it("a worker that throws mid-batch, exits, or fails in its finish: one plain message, exit 1, nothing written", async () => {
    const runs = await Promise.all([cli("fold.batch@3:throw"), cli("fold.batch@2:exit"), cli("fold.finish:throw")]);
    failedPlainly(runs[0]!, /^trailhound: the scan's fold worker thread \(TRAILHOUND_FOLD_THREAD=1\) failed: InjectedFault: injected fault at fold\.batch\n/);
    failedPlainly(runs[1]!, /failed: it exited \(code 70\) before the scan was finished\n/);
    failedPlainly(runs[2]!, /failed: InjectedFault: injected fault at fold\.finish\n/);
  });

  it("with --verbose, the worker's stack trace; without a fault, the report", async () => {
    const [verbose, clean] = await Promise.all([cli("fold.batch@3:throw", "--verbose"), cli("none.such")]);
    expect(verbose.code, verbose.stderr).toBe(1);
    expect(verbose.stderr).toMatch(/in the worker: InjectedFault: injected fault at fold\.batch\n\s+at /);
    expect(clean.code, clean.stderr).toBe(0);
    expect(existsSync(clean.out)).toBe(true);
    expect(readdirSync(clean.home)).toEqual(["report.json"]);
  });

  it("the main thread failing while the worker runs: ends, exit 1, nothing written", async () => {
    const r = await cli("fold.sent@3:eacces");
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/EACCES: permission denied, open \(injected at fold\.sent\)/);
    expect(readdirSync(r.home)).toEqual([]);
  });

  it("a read worker that exits at the first of two files: the main thread reads both, the report as without (not exit 0 and no report)", async () => {
    // Both files are owed by the one read worker and nothing else holds the process: its exit must
    // be heard (an unref'd worker's is not), else the process ends there.
    const two = mkdtempSync(join(tmpdir(), "th-worker-faults-two-"));
    try {
      const some = (await m.files.listInputFiles([cliDir])).slice(0, 2);
      for (const [i, f] of some.entries()) copyFileSync(f, join(two, `${i}-${basename(f)}`));
      const [exited, clean] = await Promise.all([cliOf([two], { TRAILHOUND_FAULT: "read.file@1:exit" }), cliOf([two], {})]);
      for (const r of [exited, clean]) {
        expect(r.code, r.stderr).toBe(0);
        expect(existsSync(r.out), r.stderr).toBe(true);
      }
      expect(report(exited)).toEqual(report(clean));
      expect((report(clean).stats as { recordsRead: number }).recordsRead).toBe(4000);
    } finally {
      await rm(two, { recursive: true, force: true });
    }
  });

  it("hostile inputs (a FIFO, a link to /dev/zero, a gzip bomb, malformed and nested JSON, records far in the future or dated late): the one-thread report", async () => {
    const bad = mkdtempSync(join(tmpdir(), "th-worker-faults-hostile-"));
    try {
      execFileSync("mkfifo", [join(bad, "fifo.json")]);
      symlinkSync("/dev/zero", join(bad, "zero.json"));
      writeFileSync(join(bad, "bomb.json.gz"), gzipSync(Buffer.alloc(40 << 20, 0x20), { level: 1 }));
      writeFileSync(join(bad, "deep.json"), `{"Records":[${"[".repeat(100_000)}${"]".repeat(100_000)}]}`);
      writeFileSync(join(bad, "lines.jsonl"), `{"eventVersion":"1.09"\nnot json\n${"{".repeat(10_000)}\n`);
      const rec = (eventID: string, eventTime: string) => ({
        eventVersion: "1.09",
        userIdentity: { type: "IAMUser", principalId: "AIDAX", arn: "arn:aws:iam::111122223333:user/mallory", accountId: "111122223333", userName: "mallory" },
        eventSource: "iam.amazonaws.com",
        eventName: "CreateAccessKey",
        awsRegion: "us-east-1",
        sourceIPAddress: "198.51.100.7",
        eventID,
        eventTime,
      });
      // The late one moves the window past the generated records: all of them are held back (before
      // the window) until the end, when their rows start the worker.
      writeFileSync(join(bad, "odd.json"), JSON.stringify({ Records: [rec("future", "2031-01-01T00:00:00Z"), rec("bad", "yesterday"), rec("late", "2024-03-09T00:00:00Z")] }));
      const limit = { TRAILHOUND_MAX_FILE_MB: "16" };
      const [folded, one] = await Promise.all([cliOf([cliDir, bad], limit), cliOf([cliDir, bad], { ...limit, TRAILHOUND_FOLD_THREAD: "0", TRAILHOUND_SCAN_THREADS: "1" })]);
      for (const r of [folded, one]) {
        expect(r.signal, r.stderr).toBeNull();
        expect(r.code, r.stderr).toBe(0);
      }
      expect(report(folded)).toEqual(report(one));
      const stats = report(one).stats as { recordsRead: number; baselineEvents: number; skipped: Record<string, number> };
      expect(stats.baselineEvents).toBe(40_000);
      expect(stats.skipped).toMatchObject({ "special-file": 2, "oversized-file": 1, "future-eventTime": 1, "bad-eventTime": 1, "not-an-object": 1 });
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });
});
