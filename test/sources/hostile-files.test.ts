/**
 * Files shaped by whoever can write to the log bucket or directory must not stop, blind or hang a
 * scan: a gzip bomb, a FIFO / socket / device named *.json, symbolic-link loops, files that vanish
 * or are truncated while the scan runs.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, symlink, truncate, unlink, writeFile, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import { FileSource, listInputFiles, STDIN_PATH } from "../../src/sources/files.js";
import { gzipTrailerSize, inflateCount } from "../../src/sources/gunzip-size.js";
import { bombMember } from "../helpers/gzip-bomb.js";
import type { RecordSink } from "../../src/sources/types.js";
import { runScan } from "../../src/scan/run.js";

const INVICTUS = "test/fixtures/invictus-aws";
const NOW = Date.parse("2023-07-10T14:00:00Z");
const RECORDS = 2900; // in the invictus sample

let dir: string;
let good: string[]; // the sample's files
let server: Server | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "th-hostile-"));
  good = await listInputFiles([INVICTUS]);
});
afterAll(async () => {
  server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A fresh directory holding copies of the sample's files. */
async function withGoodFiles(name: string): Promise<string> {
  const d = join(dir, name);
  await mkdir(d, { recursive: true });
  for (const f of good) await copyFile(f, join(d, f.slice(f.lastIndexOf("/") + 1)));
  return d;
}

/** `mib` MiB of zeros in about `mib` KB: gzip members of 1 MiB each, one after the other. */
function bomb(mib: number): Buffer {
  const member = gzipSync(Buffer.alloc(1 << 20));
  return Buffer.concat(new Array<Buffer>(mib).fill(member));
}

describe("a gzip bomb beside good files", () => {
  it("the generated bomb is one valid gzip member of its size", () => {
    const b = bombMember(3);
    expect(b.length).toBeLessThan(8 << 10);
    const out = gunzipSync(b);
    expect(out.length).toBe(3 << 20);
    expect(out.every((x) => x === 0)).toBe(true);
  });

  // The trailer (ISIZE) says 64 MiB, over the 8 MiB limit: the file is inflated without keeping the
  // output (before: into memory up to the limit, 512 MiB by default; 870 MB peak RSS with one thread).
  for (const threads of [1, 2]) {
    it(`whose trailer says it is over the limit is checked without keeping what it inflates to, and named (${threads} thread${threads > 1 ? "s" : ""})`, async () => {
      const d = await withGoodFiles(`bomb-trailer-${threads}`);
      const name = "111122223333_CloudTrail_us-east-1_20230710T1300Z_bomb.json.gz";
      await writeFile(join(d, name), bombMember(64));
      const src = new FileSource([d], { maxBytes: 8 << 20, threads });
      const { report } = await runScan({ now: NOW, sources: [src] });
      expect(report.stats.recordsRead).toBe(RECORDS);
      expect(report.stats.skipped).toEqual({ "oversized-file": 1 });
      expect(report.partial).toBe(true);
      const why = "larger than the 8 MiB limit once decompressed (TRAILHOUND_MAX_FILE_MB); not read (its gzip trailer says 64 MiB; inflated to the limit without keeping it)";
      expect(report.partialReasons).toContain(`1 input file was not read whole: ${join(d, name)}: ${why}`);
      expect(src.notes.filter((n) => n.problem)).toEqual([{ file: join(d, name), format: "unknown", records: 0, problem: why, incomplete: true }]);
    });
  }

  it("the check inflates to the limit and no further, one chunk at a time, and says what zlib says", async () => {
    const b = bombMember(64);
    expect(gzipTrailerSize(b)).toBe(64 << 20);
    const over = await inflateCount(b, 8 << 20);
    expect(over.kind).toBe("over");
    expect(over.bytes).toBeGreaterThan(8 << 20);
    expect(over.bytes).toBeLessThanOrEqual((8 << 20) + (1 << 20)); // at most one chunk past the limit
    expect(await inflateCount(bombMember(2), 8 << 20)).toEqual({ kind: "ends", bytes: 2 << 20 });
    const cut = await inflateCount(b.subarray(0, b.length >> 1), 512 << 20);
    expect(cut.kind === "error" && cut.error.message).toBe("unexpected end of file");
  });

  it("a log file cut short whose last bytes claim more than the limit is a corrupt file, not an oversized one", async () => {
    const d = join(dir, "cut-claims");
    await mkdir(d);
    const b = await readFile(good[0]!);
    // The check inflates it (its "trailer" is any 4 bytes of the deflate stream), and zlib says it is cut.
    let end = b.length >> 1;
    while (gzipTrailerSize(b.subarray(0, end))! <= 8 << 20) end--;
    await writeFile(join(d, "cut.json.gz"), b.subarray(0, end));
    const src = new FileSource([d], { maxBytes: 8 << 20, threads: 1 });
    const { report } = await runScan({ now: NOW, sources: [src] });
    expect(report.stats.skipped).toEqual({ "corrupt-file": 1 });
    expect(src.notes[0]).toMatchObject({ problem: "corrupt gzip data (unexpected end of file)", incomplete: true });
  });

  it("whose trailer lies (says 1 KiB) is still cut at the limit while inflating", async () => {
    const d = join(dir, "bomb-liar");
    await mkdir(d);
    await writeFile(join(d, "liar.json.gz"), bombMember(64, 1024));
    const src = new FileSource([d], { maxBytes: 8 << 20, threads: 1 });
    const { report } = await runScan({ now: NOW, sources: [src] });
    expect(report.stats.skipped).toEqual({ "oversized-file": 1 });
    expect(src.notes[0]!.problem).toBe("larger than the 8 MiB limit once decompressed (TRAILHOUND_MAX_FILE_MB); not read");
  });

  it("is cut at the size limit, counted and named; the good files are scanned; memory stays bounded", async () => {
    const d = await withGoodFiles("bomb");
    const b = bomb(1024); // 1 GiB of zeros in about 1 MB
    expect(b.length).toBeLessThan(1.2e6);
    await writeFile(join(d, "111122223333_CloudTrail_us-east-1_20230710T1300Z_bomb.json.gz"), b);
    const before = process.resourceUsage().maxRSS; // KB, the peak so far
    const src = new FileSource([d], { maxBytes: 16 << 20 });
    const { report } = await runScan({ now: NOW, sources: [src] });
    const grew = (process.resourceUsage().maxRSS - before) * 1024;
    expect(grew).toBeLessThan(256 << 20); // inflating the bomb whole would take 1 GiB
    expect(report.stats.recordsRead).toBe(RECORDS);
    expect(report.stats.skipped).toEqual({ "oversized-file": 1 });
    expect(report.partial).toBe(true);
    expect(report.partialReasons.join("\n")).toMatch(/1 input file was not read whole: .*_bomb\.json\.gz: larger than the 16 MiB limit once decompressed/);
    expect(report.sources[0]!.note).toMatch(/_bomb\.json\.gz: larger than the 16 MiB limit/);
  });

  it("a bomb inside JSON Lines (read line by line) is cut at the line limit, after the lines before it", async () => {
    const recs = (JSON.parse(gunzipSync(await readFile(good[0]!)).toString()) as { Records: unknown[] }).Records;
    const lines = Buffer.from(recs.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const f = join(dir, "lines-bomb.jsonl.gz");
    await writeFile(f, Buffer.concat([gzipSync(lines), bomb(64)]));
    const src = new FileSource([f], { maxLineBytes: 1 << 20, streamGzipAbove: 1024 });
    const { report } = await runScan({ now: NOW, sources: [src] });
    expect(report.stats.recordsRead).toBe(recs.length);
    expect(report.stats.skipped).toEqual({ "oversized-file": 1 });
    expect(report.partialReasons.join("\n")).toMatch(new RegExp(`lines-bomb\\.jsonl\\.gz: a line longer than 1 MiB after ${recs.length} records`));
  });
});

describe("special files named like logs", () => {
  it("a FIFO, a socket and a device are skipped and counted, never opened (a FIFO open would hang)", async () => {
    const d = await withGoodFiles("special");
    execFileSync("mkfifo", [join(d, "111122223333_CloudTrail_us-east-1_20230710T1300Z_fifo.json")]);
    server = createServer();
    await new Promise<void>((resolve) => server!.listen(join(d, "socket.json"), resolve));
    await symlink("/dev/zero", join(d, "zero.json.gz"));
    const src = new FileSource([d]);
    const { report } = await runScan({ now: NOW, sources: [src] });
    expect(report.stats.recordsRead).toBe(RECORDS);
    expect(report.stats.skipped).toEqual({ "special-file": 3 });
    const notes = src.notes.filter((n) => n.problem).map((n) => `${n.file.slice(d.length + 1)}: ${n.problem}`);
    expect(notes.sort()).toEqual([
      "111122223333_CloudTrail_us-east-1_20230710T1300Z_fifo.json: a named pipe (FIFO), not a regular file: not read",
      "socket.json: a socket, not a regular file: not read",
      "zero.json.gz: a character device, not a regular file: not read",
    ]);
    expect(report.partial).toBe(false); // nothing a scan could have read is missing
  });

  it("a FIFO given by name, or put in a listed file's place before it is opened, is not read either", async () => {
    const d = join(dir, "swap");
    await mkdir(d);
    const f = join(d, "a.json");
    await writeFile(f, "{}");
    execFileSync("mkfifo", [join(d, "direct.json")]);
    const direct = await runScan({ now: NOW, sources: [new FileSource([join(d, "direct.json")])] });
    expect(direct.report.stats.skipped).toEqual({ "special-file": 1 });
    const src = new FileSource([f], {
      beforeOpen: async (p) => {
        await unlink(p);
        execFileSync("mkfifo", [p]);
      },
    });
    const { report } = await runScan({ now: NOW, sources: [src] });
    expect(report.stats.skipped).toEqual({ "special-file": 1 });
    expect(src.notes[0]!.problem).toMatch(/named pipe/);
  });

  it("a FIFO put in a listed file's place is not read by a read worker either (2 threads)", async () => {
    const d = await withGoodFiles("swap-worker");
    const victim = join(d, good[3]!.slice(good[3]!.lastIndexOf("/") + 1));
    const n = (JSON.parse(gunzipSync(await readFile(victim)).toString()) as { Records: unknown[] }).Records.length;
    const src = new FileSource([d], {
      threads: 2,
      beforeOpen: async (p) => {
        if (p !== victim) return;
        await unlink(p);
        execFileSync("mkfifo", [p]);
      },
    });
    const { report } = await runScan({ now: NOW, sources: [src] });
    expect(src.offThreadFiles).toBeGreaterThan(0); // the worker read the others
    expect(report.stats.recordsRead).toBe(RECORDS - n);
    expect(report.stats.skipped).toEqual({ "special-file": 1 });
    expect(src.notes.filter((x) => x.problem)).toEqual([{ file: victim, format: "unknown", records: 0, problem: "a named pipe (FIFO), not a regular file: not read" }]);
  });
});

describe("symbolic links", () => {
  it("a linked directory is followed once; a loop is reported, not followed for ever; a broken link is named", async () => {
    const root = join(dir, "links");
    const logs = await withGoodFiles("links-target");
    await mkdir(join(root, "sub"), { recursive: true });
    await symlink(logs, join(root, "trail")); // followed: the records are read
    await symlink(root, join(root, "sub", "up")); // a loop back to the root
    await symlink(logs, join(root, "sub", "again")); // the same directory a second time
    await symlink(join(root, "missing.json"), join(root, "broken.json"));
    const src = new FileSource([root]);
    const { report } = await runScan({ now: NOW, sources: [src] });
    expect(report.stats.recordsRead).toBe(RECORDS); // read once, not twice
    expect(report.stats.duplicates).toBe(0);
    expect(report.stats.skipped).toEqual({ "symlink-loop": 2, "unreadable-file": 1 });
    const notes = src.notes.filter((n) => n.problem).map((n) => `${n.file.slice(root.length + 1)}: ${n.problem}`);
    expect(notes.sort()).toEqual([
      "broken.json: a broken symbolic link (ENOENT): not read",
      "sub/up: a symbolic link to a directory already read (a loop or a second link): read once",
      // Entries are read in name order: sub/again reached the directory first.
      "trail: a symbolic link to a directory already read (a loop or a second link): read once",
    ]);
    // A broken link may be a file that should be there: the report says the data may be incomplete.
    expect(report.partialReasons.join("\n")).toMatch(/broken\.json: a broken symbolic link/);
  });

  it("a link to itself is reported", async () => {
    const d = join(dir, "self");
    await mkdir(d);
    await symlink(join(d, "me.json"), join(d, "me.json"));
    const { report } = await runScan({ now: NOW, sources: [new FileSource([d])] });
    expect(report.stats.skipped).toEqual({ "symlink-loop": 1 });
  });
});

describe("files that change while the scan runs", () => {
  it("a file that vanishes after the listing makes the report partial, naming it; the rest is read", async () => {
    const d = await withGoodFiles("vanish");
    const victim = join(d, good[3]!.slice(good[3]!.lastIndexOf("/") + 1));
    const n = (JSON.parse(gunzipSync(await readFile(victim)).toString()) as { Records: unknown[] }).Records.length;
    const src = new FileSource([d], { beforeOpen: async (p) => (p === victim ? unlink(p) : undefined) });
    const { report } = await runScan({ now: NOW, sources: [src] });
    expect(report.stats.recordsRead).toBe(RECORDS - n);
    expect(report.stats.skipped).toEqual({ "unreadable-file": 1 });
    expect(report.partial).toBe(true);
    expect(report.partialReasons).toContain(`1 input file was not read whole: ${victim}: vanished before it was read`);
  });

  it("a file truncated after the listing makes the report partial, with what was read", async () => {
    const d = join(dir, "trunc");
    await mkdir(d);
    const recs = (JSON.parse(gunzipSync(await readFile(good[0]!)).toString()) as { Records: unknown[] }).Records;
    const lines = join(d, "a.jsonl");
    await writeFile(lines, recs.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const gz = join(d, "b.json.gz");
    await writeFile(gz, gzipSync(JSON.stringify({ Records: recs.map((r, i) => ({ ...(r as object), eventID: `b-${i}` })) })));
    const firstLine = JSON.stringify(recs[0]).length + 1;
    const src = new FileSource([d], {
      beforeOpen: async (p) => truncate(p, p === lines ? firstLine + 10 : 100),
    });
    const { report } = await runScan({ now: NOW, sources: [src] });
    expect(report.stats.recordsRead).toBe(1); // the first line survived
    expect(report.partial).toBe(true);
    const why = report.partialReasons.join("\n");
    expect(why).toMatch(/2 input files were not read whole/);
    expect(why).toMatch(/a\.jsonl: truncated while the scan ran \(\d+ bytes when listed, \d+ when read\)/);
    expect(why).toMatch(/b\.json\.gz: truncated while the scan ran \(\d+ bytes when listed, 100 when read\); corrupt gzip data/);
  });
});

// /proc/self/pagemap: a regular file whose size says 0 and whose reads give 8 bytes per page of the
// reader's address space (some 256 GiB); before, the scan read it until memory ran out.
describe.runIf(existsSync("/proc/self/pagemap"))("a link to a file whose reads do not end", () => {
  for (const threads of [1, 2]) {
    it(`is read no further than the size limit (${threads} thread${threads > 1 ? "s" : ""}): the good files are scanned, the report is partial and names it`, async () => {
      const d = await withGoodFiles(`endless-${threads}`);
      await symlink("/proc/self/pagemap", join(d, "111122223333_CloudTrail_us-east-1_20230710T1300Z_endless.json"));
      const { report } = await runScan({ now: NOW, sources: [new FileSource([d], { maxBytes: 4 << 20, threads })] });
      expect(report.stats.recordsRead).toBe(RECORDS);
      expect(report.partial).toBe(true);
      expect(report.partialReasons.join("\n")).toMatch(/_endless\.json: (larger than the 4 MiB limit|cannot read)/);
    });
  }
});

describe("a sink that fails (a bug, an injected fault) while a file is read", () => {
  /** Takes `ok` records, then throws; what it was told to skip is kept. */
  function failingSink(ok: number): { sink: RecordSink; skipped: string[] } {
    const skipped: string[] = [];
    let n = 0;
    return {
      skipped,
      sink: {
        record() {
          if (++n > ok) throw new Error("the sink failed");
        },
        skip(reason) {
          skipped.push(reason);
        },
      },
    };
  }
  const rec = (i: number) => ({ eventVersion: "1.09", eventTime: "2023-07-10T13:00:00Z", eventName: "GetObject", eventID: `e${i}`, userIdentity: { type: "IAMUser" } });

  it("in a lookup-events file: the read fails with its error, not records counted as invalid JSON", async () => {
    const f = join(dir, "lookup-events.json");
    await writeFile(f, JSON.stringify({ Events: [0, 1, 2].map((i) => ({ CloudTrailEvent: JSON.stringify(rec(i)) })) }));
    const { sink, skipped } = failingSink(1);
    await expect(new FileSource([f], { threads: 1 }).read(sink)).rejects.toThrow(/the sink failed/);
    expect(skipped).toEqual([]);
  });

  it("in JSON Lines read line by line: the read fails with its error, not a corrupt file", async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => JSON.stringify(rec(i))).join("\n") + "\n";
    expect(lines.length).toBeGreaterThan(64 * 1024); // standard input past its head is streamed
    const { sink, skipped } = failingSink(1500);
    await expect(new FileSource([STDIN_PATH], { threads: 1, stdin: Readable.from([Buffer.from(lines)]) }).read(sink)).rejects.toThrow(/the sink failed/);
    expect(skipped).toEqual([]);
  });
});
