/**
 * A failed save never throws the work away: a full disk (injected ENOSPC), a directory that
 * refuses writes (injected EACCES: tests run as root, which chmod does not stop) and a store file
 * removed while the scan runs. The CLI prints the report all the same, says what failed, what was
 * kept and what to do, exits 2, prints no stack trace (unless TRAILHOUND_LOG_LEVEL=debug), and the
 * store on disk is the one from before the scan (nothing half-saved).
 */
import { unlinkSync } from "node:fs";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli.js";
import { InjectedFault, setFault } from "../../src/util/faults.js";

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "th-savefail-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
afterEach(() => setFault(undefined));

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stderr = "";
  let stdout = "";
  const e = vi.spyOn(process.stderr, "write").mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  const o = vi.spyOn(process.stdout, "write").mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  process.exitCode = undefined;
  try {
    return { code: await main(["node", "trailhound", ...args]), stdout, stderr };
  } finally {
    e.mockRestore();
    o.mockRestore();
    process.exitCode = undefined;
  }
}

let n = 0;
/** The store one scan of the sample leaves, made once (the first test to ask), copied for each test. */
let oneScan: Promise<string> | undefined;
/** A store with one scan in it, and the bytes of its file. */
async function storeWithOneScan(): Promise<{ dir: string; before: string }> {
  oneScan ??= (async () => {
    const made = join(work, "one-scan");
    const first = await run("scan", "--input", "test/fixtures/invictus-aws", "--store", made, "--format", "json", "--no-geo");
    expect(first.code, first.stderr).toBe(0);
    return made;
  })();
  const dir = join(work, `s${n++}`);
  await cp(await oneScan, dir, { recursive: true });
  return { dir, before: await readFile(join(dir, "trailhound.json"), "utf8") };
}

/** Fail the scan's commit (not the rolling backup that may run first) with `f`. */
function failCommit(f: (point: string) => void): void {
  let committing = false;
  setFault((point) => {
    if (point === "scan.before-commit") committing = true;
    if (committing) f(point);
  });
}

describe("a scan whose results cannot be saved", () => {
  const cases: Array<{ name: string; inject: (dir: string) => void; says: RegExp; fix: RegExp }> = [
    {
      name: "full disk (ENOSPC)",
      inject: () =>
        failCommit((p) => {
          if (p === "write.tmp-written") throw new InjectedFault(p, "ENOSPC: no space left on device, write", "ENOSPC");
        }),
      says: /ENOSPC: no space left on device/,
      fix: /free some space on the disk that holds/,
    },
    {
      name: "a directory that refuses writes (EACCES)",
      inject: () =>
        failCommit((p) => {
          if (p === "write.start") throw new InjectedFault(p, "EACCES: permission denied, open", "EACCES");
        }),
      says: /EACCES: permission denied/,
      fix: /make .* writable by this user/,
    },
    {
      name: "the store file removed while the scan ran",
      inject: (dir) =>
        failCommit((p) => {
          if (p === "scan.before-commit") unlinkSync(join(dir, "trailhound.json"));
        }),
      says: /disappeared while trailhound was running/,
      fix: /store restore --store .* latest/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: the report is printed, the message says what failed, what was kept and what to do, exit 2`, async () => {
      const { dir, before } = await storeWithOneScan();
      c.inject(dir);
      const r = await run("scan", "--input", "test/fixtures/invictus-aws", "--store", dir, "--format", "json", "--no-geo");
      setFault(undefined);
      expect(r.code).toBe(2);
      const report = JSON.parse(r.stdout) as { stats: { events: number }; findings: unknown[] };
      expect(report.stats.events).toBeGreaterThan(0);
      expect(r.stderr).toMatch(/saving the scan's results to the store failed/);
      expect(r.stderr).toMatch(c.says);
      expect(r.stderr).toMatch(/The report is printed above\. Nothing of this scan was saved to the store \(\d+ baseline\(s\), \d+ finding\(s\), the scan record\)/);
      expect(r.stderr).toMatch(c.fix);
      expect(r.stderr).not.toMatch(/next (successful )?(write|save)/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      // Nothing half-saved: the store file is the one from before (or still gone).
      const now = await readFile(join(dir, "trailhound.json"), "utf8").catch(() => undefined);
      if (c.name.startsWith("the store file removed")) expect(now).toBeUndefined();
      else expect(now).toBe(before);
    });
  }

  it("with --out, says where the report went; at debug level, prints the stack trace", async () => {
    const { dir } = await storeWithOneScan();
    const out = join(dir, "report.json");
    failCommit((p) => {
      if (p === "write.tmp-written") throw new InjectedFault(p, "ENOSPC: no space left on device, write", "ENOSPC");
    });
    process.env.TRAILHOUND_LOG_LEVEL = "debug";
    try {
      const r = await run("scan", "--input", "test/fixtures/invictus-aws", "--store", dir, "--format", "json", "--no-geo", "--out", out);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`The report was written to ${out}.`);
      expect(r.stderr).toMatch(/\n\s+at /);
      expect((JSON.parse(await readFile(out, "utf8")) as { stats: { events: number } }).stats.events).toBeGreaterThan(0);
    } finally {
      delete process.env.TRAILHOUND_LOG_LEVEL;
    }
  });

  it("the store's own message never promises a later save to a process that is about to exit", async () => {
    const { TrailStore } = await import("../../src/store/store.js");
    const dir = join(work, `own${n++}`);
    const s = await TrailStore.open(dir);
    setFault("write.tmp-written:enospc");
    const err = (await s
      .addScan({ at: "2024-01-01T00:00:00.000Z", by: "t", target: "all", window: { start: "a", end: "b" }, events: 1, findings: 0, partial: false })
      .catch((e: unknown) => e)) as Error;
    setFault(undefined);
    expect(err.message).toMatch(/not on disk/);
    expect(err.message).toMatch(/lost if trailhound stops before then/);
    await s.close();
    // The retry on close saved it.
    expect(JSON.parse(await readFile(join(dir, "trailhound.json"), "utf8")).scans).toHaveLength(1);
  });
});
