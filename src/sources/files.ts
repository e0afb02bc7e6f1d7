import { constants as fsc, readdirSync, statSync, type Dirent, type Stats } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { constants as zc, createGunzip, gunzipSync } from "node:zlib";
import { createInterface } from "node:readline";
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { SkipReason } from "../events/types.js";
import { gunzipChunkSize, gzipTrailerSize, inflateCount } from "./gunzip-size.js";
import { ReadPool, scanThreadsFromEnv, type PoolTiming } from "./read-pool.js";
import { nativeWalk } from "../util/native-addon.js";
import { MAX_LINE_BYTES, maxFileBytesFromEnv, mib, OversizedError } from "./limits.js";
import { countingSink, type BytesReader, type EventSource, type ReadOptions, type RecordSink, type SourceResult } from "./types.js";

export class InputError extends Error {
  readonly code = "input";
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/** Per-file outcome, for messages that name the file and what is wrong. */
export interface FileNote {
  file: string;
  format: "s3-delivery" | "jsonl" | "lookup-events" | "array" | "single-record" | "digest" | "unknown";
  records: number;
  problem?: string;
  /** The file could not be read whole (vanished, truncated, cut at the size limit, a read error): the report is partial. */
  incomplete?: boolean;
}

/**
 * Where a file read's time went, for the benchmark (TRAILHOUND_REPORT_RSS prints the last one).
 * Times in ms: `start`/`end` from performance.now() (the process's start); `wait` the main thread
 * waiting for a file (read ahead by a worker or by this thread), `take` handing files' records to
 * the sink; `mainCpu` this thread's CPU during the read (`startCpu` before it); `pool` the read workers'.
 */
export interface ReadTiming {
  start: number;
  end: number;
  /** Listing the input files. */
  list: number;
  wait: number;
  /** Waiting for the first file (with workers: their start-up, and reading it). */
  firstWait: number;
  take: number;
  /** This thread's CPU taking records (the rest of `mainCpu`: listing, asking, receiving files). */
  takeCpu: number;
  mainCpu: number;
  /** This thread's CPU before the read (start-up). */
  startCpu: number;
  files: number;
  offThread: number;
  pool?: PoolTiming;
}

/** The last file read's timing (see ReadTiming). */
export let lastReadTiming: ReadTiming | undefined;

const threadCpuMs = (): number => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
};

/** Files larger than this (decompressed) that are JSON Lines are streamed line by line. */
const STREAM_THRESHOLD = 64 * 1024 * 1024;
const INPUT_NAME = /\.(json|jsonl|ndjson|json\.gz|jsonl\.gz|ndjson\.gz|gz)$/i;

/** A file to read, and its size when listed (a smaller file when read was truncated meanwhile). */
export interface ListedFile {
  path: string;
  size: number;
}

/** What the listing found: the files to read, and what it passed over (counted, named). */
export interface InputListing {
  files: ListedFile[];
  skipped: Array<{ path: string; reason: SkipReason; why: string }>;
}

function kindOf(st: Stats): string | undefined {
  if (st.isFIFO()) return "a named pipe (FIFO)";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  return undefined;
}

/** File system calls `listInputs` made since it last let the event loop run. */
let callsInARow = 0;

/**
 * `listInputs` lists with the synchronous calls (readdirSync, statSync), not the promise API,
 * whose round trips through libuv's thread pool (one stat after the other) cost more than the
 * calls: a listing of 1006 files took 68-81 ms of CPU that way, 39-41 ms this way, and a scan's
 * first records wait for it. Every 256 calls it lets the event loop run (for a bot serving
 * requests meanwhile, or a slow file system): await what this returns when it returns something.
 */
function breather(): Promise<void> | undefined {
  if (++callsInARow < 256) return undefined;
  callsInARow = 0;
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * List files under the given paths (directories recursively), skipping digests and hidden files.
 * Never opens a file. Named pipes, sockets and devices are passed over (opening a FIFO would
 * hang the scan); symbolic links are followed, each directory read once (a link back to a
 * directory already read, a loop, is reported instead); broken links are reported.
 */
export async function listInputs(paths: readonly string[]): Promise<InputListing> {
  const out: InputListing = { files: [], skipped: [] };
  const dirs = new Set<string>(); // dev:inode of every directory read
  const special = (p: string, st: Stats): boolean => {
    const k = kindOf(st);
    if (k) out.skipped.push({ path: p, reason: "special-file", why: `${k}, not a regular file: not read` });
    return k !== undefined;
  };
  const walkDir = async (p: string, st: Stats, link: boolean): Promise<void> => {
    const id = `${st.dev}:${st.ino}`;
    if (dirs.has(id)) {
      out.skipped.push({ path: p, reason: "symlink-loop", why: `${link ? "a symbolic link to a directory" : "a directory"} already read (a loop or a second link): read once` });
      return;
    }
    dirs.add(id);
    let entries: Dirent[];
    try {
      await breather();
      entries = readdirSync(p, { withFileTypes: true });
    } catch (e) {
      out.skipped.push({ path: p, reason: "unreadable-file", why: `cannot list the directory: ${(e as Error).message}` });
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const child = join(p, e.name);
      const skipDir = e.name === "CloudTrail-Digest" || e.name === "CloudTrail-Insight";
      const named = INPUT_NAME.test(e.name) && !/CloudTrail-Digest/.test(e.name);
      if (e.isFile()) {
        if (!named) continue;
        try {
          const pause = breather();
          if (pause) await pause;
          out.files.push({ path: child, size: statSync(child).size });
        } catch (err) {
          out.skipped.push({ path: child, reason: "unreadable-file", why: `vanished or unreadable while listed: ${(err as Error).message}` });
        }
        continue;
      }
      if (e.isDirectory()) {
        if (skipDir) continue;
        try {
          await breather();
          await walkDir(child, statSync(child), false);
        } catch (err) {
          out.skipped.push({ path: child, reason: "unreadable-file", why: `vanished or unreadable while listed: ${(err as Error).message}` });
        }
        continue;
      }
      if (e.isSymbolicLink()) {
        let target: Stats;
        try {
          await breather();
          target = statSync(child);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          out.skipped.push({
            path: child,
            reason: code === "ELOOP" ? "symlink-loop" : "unreadable-file",
            why: `a broken symbolic link (${code ?? (err as Error).message}): not read`,
          });
          continue;
        }
        if (target.isDirectory()) {
          if (!skipDir) await walkDir(child, target, true);
        } else if (named) {
          if (target.isFile()) out.files.push({ path: child, size: target.size });
          else special(child, target);
        }
        continue;
      }
      // A named pipe, socket or device: never opened.
      if (named) {
        try {
          special(child, await stat(child));
        } catch {
          out.skipped.push({ path: child, reason: "special-file", why: "not a regular file: not read" });
        }
      }
    }
  };
  for (const p of paths) {
    let st: Stats;
    try {
      st = await stat(p);
    } catch {
      throw new InputError(`${p}: no such file or directory`);
    }
    if (st.isDirectory()) await walkDir(p, st, false);
    else if (st.isFile()) out.files.push({ path: p, size: st.size });
    else special(p, st);
  }
  return out;
}

/** The files `listInputs` would read, in order. */
export async function listInputFiles(paths: readonly string[]): Promise<string[]> {
  return (await listInputs(paths)).files.map((f) => f.path);
}

export interface FileSourceOptions {
  /** Largest decompressed size of a file read whole (default TRAILHOUND_MAX_FILE_MB, else 512 MiB). */
  maxBytes?: number;
  /** Longest JSON Lines line (default 16 MiB). */
  maxLineBytes?: number;
  /** Compressed files larger than this are opened by their head first, JSON Lines then streamed (default 8 MiB; tests lower it). */
  streamGzipAbove?: number;
  /**
   * Threads to read with, this one included: N-1 worker threads read, gunzip and walk files ahead
   * (default TRAILHOUND_SCAN_THREADS, else the machine's cores; 1: none). Same outcome with any.
   */
  threads?: number;
  /** Fault injection for tests: runs after the listing, before each file is opened. */
  beforeOpen?: (file: string) => void | Promise<void>;
  /** What the input `-` reads (default process.stdin). */
  stdin?: Readable;
}

/** The input path that means standard input, and the name its records and problems are filed under. */
export const STDIN_PATH = "-";
export const STDIN_NAME = "(stdin)";

function looksLikeRecord(o: unknown): boolean {
  return o !== null && typeof o === "object" && !Array.isArray(o) && "eventTime" in o && ("eventName" in o || "eventSource" in o);
}

/**
 * CloudTrail files on disk: S3 delivery files `{"Records":[...]}` (.json or .json.gz), JSON Lines
 * of records, `aws cloudtrail lookup-events` output `{"Events":[{"CloudTrailEvent":"..."}]}`, or a
 * JSON array of records. The format is detected per file.
 */
export class FileSource implements EventSource {
  readonly name: string;
  readonly notes: FileNote[] = [];
  /** Files of the last read that worker threads read, gunzipped and prepared (the rest: this thread). */
  offThreadFiles = 0;
  /** The sink's reader of S3 delivery files' bytes, for the read in progress. */
  private lane: BytesReader | undefined;
  private readonly maxBytes: number;
  private readonly maxLine: number;
  private readonly threads: number;

  constructor(
    private readonly paths: readonly string[],
    private readonly o: FileSourceOptions = {},
  ) {
    this.name = paths.join(", ");
    this.maxBytes = o.maxBytes ?? maxFileBytesFromEnv();
    this.maxLine = o.maxLineBytes ?? MAX_LINE_BYTES;
    this.threads = o.threads ?? scanThreadsFromEnv();
  }

  async read(sink: RecordSink, opts: ReadOptions = {}): Promise<SourceResult> {
    // `-` is standard input, read once after the files (a file named "-" is ./-).
    const stdin = this.paths.includes(STDIN_PATH);
    const cpu0 = threadCpuMs();
    const timing: ReadTiming = { start: performance.now(), end: 0, list: 0, wait: 0, firstWait: 0, take: 0, takeCpu: 0, mainCpu: -cpu0, startCpu: cpu0, files: 0, offThread: 0 };
    const counted = countingSink(sink);
    const counting = counted.sink;
    this.lane = counting.bytesReader?.(); // what it keeps lives as long as one read
    const big = Math.min(this.o.streamGzipAbove ?? BIG, BIG);
    // Read, gunzip and walk ahead in worker threads (TRAILHOUND_SCAN_THREADS); the records are
    // taken here, in this order, whatever the number of threads. The workers start before the
    // listing, so that their start-up overlaps it (when there may be several files to read).
    const threads = this.threads;
    const inputs = this.paths.filter((p) => p !== STDIN_PATH);
    const several =
      inputs.length > 1 ||
      (inputs.length === 1 &&
        (await stat(inputs[0]!).then(
          (st) => st.isDirectory(),
          () => false,
        )));
    let pool =
      threads > 1 && several
        ? new ReadPool(threads - 1, {
            maxBytes: this.maxBytes,
            big,
            ...(this.lane?.offThread !== undefined ? { prepare: this.lane.offThread, prepareData: this.lane.offThreadData } : {}),
          })
        : undefined;
    let listing: InputListing;
    try {
      listing = await listInputs(inputs);
    } catch (e) {
      this.lane?.release();
      await pool?.close();
      throw e;
    }
    timing.list = performance.now() - timing.start;
    if (pool && listing.files.length < 2) {
      await pool.close();
      pool = undefined;
    }
    // Newest first: CloudTrail names sort by time (YYYY/MM/DD/..._YYYYMMDDTHHmmZ_...), and reading the
    // newest files first lets the scanner fix the detection window early, so older records take the
    // cheap baseline-only path. Any order gives the same report.
    const files = listing.files.reverse();
    timing.files = files.length;
    for (const s of listing.skipped) {
      counting.skip(s.reason, s.path, 1, s.why);
      this.notes.push({ file: s.path, format: "unknown", records: 0, problem: s.why, ...(s.reason === "unreadable-file" ? { incomplete: true } : {}) });
    }
    let done = 0;
    const total = files.length + (stdin ? 1 : 0);
    const started = Date.now();
    const progress = () => {
      if (!opts.onProgress) return;
      const elapsed = Date.now() - started;
      const p = { source: "files", records: counted.records(), done, total, unit: "files" } as const;
      opts.onProgress(done < total ? { ...p, etaMs: (elapsed / done) * (total - done) } : p);
    };
    this.offThreadFiles = 0;
    const fetch = async (f: ListedFile): Promise<Fetched> => {
      if (this.o.beforeOpen) await this.o.beforeOpen(f.path);
      if (pool) {
        const got = await pool.read(f.path);
        // A file the workers leave to this thread is opened when its turn comes (many are asked ahead).
        return got.kind === "bytes" ? got : { kind: "later" };
      }
      return { kind: "raw", raw: await openRaw(f, big, this.maxBytes) };
    };
    // The next file is read while the current one is taken; with workers, as many as fit in their
    // rings (they wait for room: see read-worker.ts), here at most AHEAD files.
    const ahead = pool ? AHEAD : 1;
    const pending: Array<Promise<Fetched> | undefined> = [];
    let asked = 0;
    const askAhead = (i: number) => {
      for (; asked < files.length && asked <= i + ahead; asked++) pending[asked] = fetch(files[asked]!);
    };
    let stopped = files.length;
    try {
      for (let i = 0; i < files.length; i++) {
        if (opts.signal?.aborted) {
          stopped = i;
          break;
        }
        askAhead(i);
        const file = files[i]!;
        const t0 = performance.now();
        let got = await pending[i]!;
        if (got.kind === "later") got = { kind: "raw", raw: await openRaw(file, big, this.maxBytes) };
        const t1 = performance.now();
        const c1 = threadCpuMs();
        timing.wait += t1 - t0;
        if (i === 0) timing.firstWait = t1 - t0;
        pending[i] = undefined;
        let note: FileNote;
        if (got.kind === "bytes") {
          this.offThreadFiles++;
          const truncated = got.rawLength < file.size ? truncatedWhy(file.size, got.rawLength) : undefined;
          try {
            note = this.deliverBytes(file.path, got.bytes, truncated, counting, got.prepared);
          } finally {
            got.release(); // the worker may fill that memory again
          }
        } else {
          const raw = got.raw;
          try {
            note = await this.readOne(file, raw, counting);
          } finally {
            if (raw.kind === "big") await raw.handle.close().catch(() => undefined);
          }
        }
        this.notes.push(note);
        timing.take += performance.now() - t1;
        timing.takeCpu += threadCpuMs() - c1;
        done++;
        progress();
      }
      if (stdin && !opts.signal?.aborted) {
        this.notes.push(await this.readStdin(counting));
        done++;
        progress();
      }
    } finally {
      this.lane?.release();
      // Files opened ahead and not read (the scan stopped): close them.
      for (let i = stopped; i < asked; i++) void pending[i]?.then((r) => (r.kind === "raw" && r.raw.kind === "big" ? r.raw.handle.close() : undefined)).catch(() => undefined);
      await pool?.close();
      timing.end = performance.now();
      timing.mainCpu += threadCpuMs();
      timing.offThread = this.offThreadFiles;
      if (pool) timing.pool = pool.timing();
      lastReadTiming = timing;
    }
    const problems = this.notes.filter((n) => n.problem);
    const summary: SourceResult["summary"] = {
      kind: "file",
      name: `${files.length} file${files.length === 1 ? "" : "s"}${stdin ? " and standard input" : ""}`,
      records: counted.records(),
      skipped: counted.skipped(),
    };
    if (problems.length) summary.note = listProblems(problems);
    const partialReasons: string[] = [];
    if (opts.signal?.aborted) partialReasons.push(`stopped after ${done} of ${total} files`);
    const incomplete = this.notes.filter((n) => n.incomplete);
    if (incomplete.length) partialReasons.push(`${incomplete.length} input file${incomplete.length === 1 ? " was" : "s were"} not read whole: ${listProblems(incomplete)}`);
    return { summary, partialReasons };
  }

  private async readOne(f: ListedFile, raw: Raw, sink: RecordSink): Promise<FileNote> {
    const file = f.path;
    if (raw.kind === "error") {
      const code = (raw.err as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "vanished before it was read" : `cannot read: ${raw.err.message}`;
      sink.skip("unreadable-file", file, 1, why);
      return { file, format: "unknown", records: 0, problem: why, incomplete: true };
    }
    if (raw.kind === "special") {
      sink.skip("special-file", file, 1, raw.why);
      return { file, format: "unknown", records: 0, problem: raw.why };
    }
    let whole: Buffer;
    if (raw.kind === "big") {
      const head = raw.head;
      const gz = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
      // Large files of JSON Lines are streamed line by line (no limit on their total size).
      if (gz) {
        let text = "";
        try {
          // 4 KB of gzip inflate to at most about 4 MB (a bomb's head stays small).
          text = gunzipSync(head.subarray(0, 4096), { finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: 8 << 20 }).toString("utf8", 0, 4096);
        } catch {
          // not gzip after all, or more than the head decompresses to: read whole below
        }
        if (isJsonLinesHead(text)) return this.streamFile(f, raw.handle, true, sink);
      } else if (raw.size > STREAM_THRESHOLD && isJsonLinesHead(head.toString("utf8", 0, 4096))) return this.streamFile(f, raw.handle, false, sink);
      if (raw.size > this.maxBytes) return this.oversized(file, sink);
      try {
        const read = await readUpTo(raw.handle, this.maxBytes, raw.size);
        if (read === undefined) return this.oversized(file, sink);
        whole = read;
      } catch (e) {
        const why = `cannot read: ${(e as Error).message}`;
        sink.skip("unreadable-file", file, 1, why);
        return { file, format: "unknown", records: 0, problem: why, incomplete: true };
      }
    } else if (raw.buf === undefined) return this.oversized(file, sink);
    else whole = raw.buf;
    // Truncated between the listing and the read (a log rotation, a partial copy).
    const truncated = whole.length < f.size ? truncatedWhy(f.size, whole.length) : undefined;
    const gz = whole.length >= 2 && whole[0] === 0x1f && whole[1] === 0x8b;
    const corrupt = (e: unknown): FileNote => {
      const msg = (e as Error).message;
      sink.skip("corrupt-file", file, 1, msg);
      // Cut short (unexpected end of file): records are missing, the report is partial.
      const cut = truncated !== undefined || /unexpected end of file/.test(msg);
      const problem = truncated ? `${truncated}; corrupt gzip data (${msg})` : `corrupt gzip data (${msg})`;
      return { file, format: "unknown", records: 0, problem, ...(cut ? { incomplete: true } : {}) };
    };
    // The trailer says it inflates to more than the limit (a gzip bomb; the read worker leaves such
    // a file to this thread): it is inflated without keeping the output, to the limit, not into
    // memory. The trailer is only a claim (a file cut short ends with any bytes), so what zlib
    // says decides: over the limit, corrupt (the same message), or, rarely, whole and within it.
    const claimed = gz ? gzipTrailerSize(whole) : undefined;
    if (claimed !== undefined && claimed > this.maxBytes) {
      const count = await inflateCount(whole, this.maxBytes);
      if (count.kind === "over") return this.oversized(file, sink, `its gzip trailer says ${mib(claimed)}; inflated to the limit without keeping it`);
      if (count.kind === "error") return corrupt(count.error);
    }
    let bytes: Buffer;
    try {
      bytes = gz ? gunzipReused(whole, this.maxBytes) : whole;
    } catch (e) {
      if (e instanceof OversizedError) return this.oversized(file, sink);
      return corrupt(e);
    }
    return this.deliverBytes(file, bytes, truncated, sink);
  }

  /**
   * A file's (decompressed) bytes to the sink: S3 delivery files through the sink's reader (with
   * what a read worker prepared, if it did), anything else parsed here.
   */
  private deliverBytes(file: string, bytes: Buffer, truncated: string | undefined, sink: RecordSink, prepared?: unknown): FileNote {
    if (bytes.length > this.maxBytes) return this.oversized(file, sink);
    let note: FileNote | undefined;
    const lane = this.lane;
    if (lane) {
      // S3 delivery files: the sink reads what it needs from the bytes and parses only the rest.
      const n = prepared !== undefined && lane.deliverPrepared ? lane.deliverPrepared(bytes, prepared, file) : lane.deliver(bytes, file);
      if (n !== undefined) note = { file, format: "s3-delivery", records: n };
    }
    note ??= this.parseText(file, bytes.toString("utf8"), sink);
    if (truncated) {
      note.problem = note.problem ? `${truncated}; ${note.problem}` : truncated;
      note.incomplete = true;
    }
    return note;
  }

  /** A file over the size limit, skipped; `how`: how that was found, when not by inflating it whole. */
  private oversized(file: string, sink: RecordSink, how?: string): FileNote {
    const why = new OversizedError(this.maxBytes).message + (how ? ` (${how})` : "");
    sink.skip("oversized-file", file, 1, why);
    return { file, format: "unknown", records: 0, problem: why, incomplete: true };
  }

  private parseText(file: string, text: string, sink: RecordSink): FileNote {
    const trimmed = text.trimStart();
    if (trimmed.length === 0) return { file, format: "unknown", records: 0, problem: "empty file" };
    let doc: unknown;
    let whole = true;
    try {
      doc = JSON.parse(text);
    } catch {
      whole = false;
    }
    if (!whole) {
      if (trimmed[0] === "{" && trimmed.includes("\n")) return this.parseLines(file, text, sink);
      sink.skip("not-cloudtrail", file);
      return { file, format: "unknown", records: 0, problem: "not JSON (expected CloudTrail JSON, JSON Lines or lookup-events output)" };
    }
    if (Array.isArray(doc)) {
      for (const r of doc) sink.record(r, file);
      return { file, format: "array", records: doc.length };
    }
    if (doc !== null && typeof doc === "object") {
      const o = doc as Record<string, unknown>;
      if (Array.isArray(o.Records)) {
        const recs = o.Records as unknown[];
        for (let i = 0; i < recs.length; i++) sink.record(recs[i], file);
        return { file, format: "s3-delivery", records: recs.length };
      }
      if (Array.isArray(o.Events)) {
        let n = 0;
        for (const e of o.Events as unknown[]) {
          const s = e && typeof e === "object" ? (e as Record<string, unknown>).CloudTrailEvent : undefined;
          if (typeof s !== "string") {
            sink.skip("not-cloudtrail", file, 1, "Events[] entry without CloudTrailEvent");
            continue;
          }
          let rec: unknown;
          try {
            rec = JSON.parse(s);
          } catch {
            sink.skip("invalid-json", file, 1, "CloudTrailEvent is not valid JSON");
            continue;
          }
          // Outside the try: a sink that fails is not an invalid record.
          sink.record(rec, file);
          n++;
        }
        return { file, format: "lookup-events", records: n };
      }
      if (Array.isArray(o.logFiles)) return { file, format: "digest", records: 0 };
      if (looksLikeRecord(o)) {
        sink.record(o, file);
        return { file, format: "single-record", records: 1 };
      }
    }
    sink.skip("not-cloudtrail", file);
    return { file, format: "unknown", records: 0, problem: "valid JSON but not CloudTrail (no Records, Events or record fields)" };
  }

  private parseLines(file: string, text: string, sink: RecordSink): FileNote {
    let n = 0,
      bad = 0;
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf("\n", start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end).trim();
      start = end + 1;
      if (!line) continue;
      const r = this.line(file, line, sink);
      if (r) n++;
      else bad++;
    }
    const note: FileNote = { file, format: "jsonl", records: n };
    if (bad) note.problem = `${bad} malformed line${bad === 1 ? "" : "s"} skipped`;
    if (n === 0) note.problem = "no CloudTrail records in JSON Lines file";
    return note;
  }

  private line(file: string, line: string, sink: RecordSink): boolean {
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      sink.skip("invalid-json", file);
      return false;
    }
    // Accept lines that wrap a record the way some exporters do.
    if (o && typeof o === "object" && !looksLikeRecord(o)) {
      const w = o as Record<string, unknown>;
      if (typeof w.CloudTrailEvent === "string") {
        try {
          o = JSON.parse(w.CloudTrailEvent);
        } catch {
          sink.skip("invalid-json", file);
          return false;
        }
      }
    }
    sink.record(o, file);
    return true;
  }

  /**
   * Standard input, under the same rules as a file: JSON Lines (plain or gzip) longer than the
   * first 64 KiB are streamed line by line (each line capped), anything else is read whole up to
   * the size limit (compressed and decompressed), then detected and parsed like a file's bytes.
   */
  private async readStdin(sink: RecordSink): Promise<FileNote> {
    const file = STDIN_NAME;
    const input = this.o.stdin ?? process.stdin;
    const it = (input as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
    const next = async (): Promise<Buffer | undefined> => {
      const r = await it.next();
      return r.done ? undefined : typeof r.value === "string" ? Buffer.from(r.value) : r.value;
    };
    const chunks: Buffer[] = [];
    let size = 0;
    let ended = false;
    let lines: { rest: Readable; gz: boolean } | undefined;
    try {
      while (size < STDIN_HEAD) {
        const c = await next();
        if (!c) {
          ended = true;
          break;
        }
        chunks.push(c);
        size += c.length;
      }
      if (!ended) {
        const head = Buffer.concat(chunks);
        const gz = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
        let text = "";
        try {
          text = gz ? gunzipSync(head.subarray(0, 4096), { finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: 8 << 20 }).toString("utf8", 0, 4096) : head.toString("utf8", 0, 4096);
        } catch {
          // not gzip after all: read whole below
        }
        if (isJsonLinesHead(text)) {
          const rest = Readable.from(
            (async function* () {
              yield head;
              for (let c = await next(); c; c = await next()) yield c;
            })(),
            { objectMode: false },
          );
          lines = { rest, gz };
        }
        for (let c = lines ? undefined : await next(); c; c = await next()) {
          size += c.length;
          if (size > this.maxBytes) {
            input.destroy();
            return this.oversized(file, sink);
          }
          chunks.push(c);
        }
      }
    } catch (e) {
      const why = `cannot read: ${(e as Error).message}`;
      sink.skip("unreadable-file", file, 1, why);
      return { file, format: "unknown", records: 0, problem: why, incomplete: true };
    }
    // Streamed outside the try: a read that fails there is said by streamLines, and a sink that
    // fails is the scan's error, not an unreadable input.
    if (lines) return this.streamLines({ path: file, size: 0 }, lines.rest, lines.gz, sink, () => 0);
    if (size > this.maxBytes) return this.oversized(file, sink);
    return this.readOne({ path: file, size }, { kind: "whole", buf: Buffer.concat(chunks) }, sink);
  }

  private streamFile(f: ListedFile, handle: FileHandle, gz: boolean, sink: RecordSink): Promise<FileNote> {
    const src = handle.createReadStream({ start: 0, autoClose: false });
    return this.streamLines(f, src, gz, sink, () => src.bytesRead);
  }

  private async streamLines(f: ListedFile, src: Readable, gz: boolean, sink: RecordSink, bytesRead: () => number): Promise<FileNote> {
    const file = f.path;
    let n = 0,
      bad = 0;
    const cap = new LineCap(this.maxLine);
    const fail = (e: Error) => cap.destroy(e);
    src.on("error", fail);
    if (gz) {
      const gunzip = createGunzip();
      gunzip.on("error", fail);
      src.pipe(gunzip).pipe(cap);
    } else src.pipe(cap);
    const rl = createInterface({ input: cap, crlfDelay: Infinity });
    let sinkFailed: { e: unknown } | undefined;
    try {
      for await (const raw of rl) {
        const line = raw.trim();
        if (!line) continue;
        try {
          if (this.line(file, line, sink)) n++;
          else bad++;
        } catch (e) {
          sinkFailed = { e };
          throw e;
        }
      }
    } catch (e) {
      src.destroy();
      // The sink failed, not the stream: its error is the scan's, not a corrupt file.
      if (sinkFailed !== undefined && e === sinkFailed.e) throw e;
      if (e instanceof OversizedError) {
        const why = `a line longer than ${mib(e.limit)} after ${n} records: the rest of the file is not read`;
        sink.skip("oversized-file", file, 1, why);
        return { file, format: "jsonl", records: n, problem: why, incomplete: true };
      }
      sink.skip("corrupt-file", file, 1, (e as Error).message);
      return { file, format: "jsonl", records: n, problem: `stream failed after ${n} records: ${(e as Error).message}`, incomplete: true };
    }
    const note: FileNote = { file, format: "jsonl", records: n };
    if (bad) note.problem = `${bad} malformed line${bad === 1 ? "" : "s"} skipped`;
    if (bytesRead() < f.size) {
      const why = `truncated while the scan ran (${f.size} bytes when listed, ${bytesRead()} when read)`;
      note.problem = note.problem ? `${why}; ${note.problem}` : why;
      note.incomplete = true;
    }
    return note;
  }
}

/** Passes bytes through, failing (OversizedError) when a line grows beyond `max` bytes. */
class LineCap extends Transform {
  private run = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.overflows(chunk)) done(new OversizedError(this.max));
    else done(null, chunk);
  }

  /** Whether a line grows beyond `max` with this chunk (follows the length of the open line). */
  private overflows(chunk: Buffer): boolean {
    const nl = chunk.lastIndexOf(10);
    if (nl < 0) this.run += chunk.length;
    else {
      // The longest line inside the chunk (rarely matters: checked only when the chunk is big).
      if (chunk.length > this.max) {
        let prev = -1;
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
          if (i - prev - 1 + (prev < 0 ? this.run : 0) > this.max) return true;
          prev = i;
        }
      } else if (this.run + chunk.indexOf(10) > this.max) return true;
      this.run = chunk.length - nl - 1;
    }
    return this.run > this.max;
  }
}

function listProblems(notes: readonly FileNote[]): string {
  return (
    notes
      .slice(0, 5)
      .map((p) => `${p.file}: ${p.problem}`)
      .join("; ") + (notes.length > 5 ? `; and ${notes.length - 5} more` : "")
  );
}

/**
 * gunzip in one output buffer sized from the gzip trailer (ISIZE: the uncompressed size modulo
 * 2^32), instead of 16 KB chunks joined at the end: about a third less CPU on CloudTrail files.
 * The trailer is only a hint (a bogus or multi-member one just means more chunks), and is capped.
 * Output beyond `maxBytes` throws OversizedError (a gzip bomb stops there, memory bounded).
 */
export function gunzipSized(raw: Buffer, maxBytes = maxFileBytesFromEnv()): Buffer {
  const chunkSize = gunzipChunkSize(raw, maxBytes);
  try {
    return gunzipSync(raw, { chunkSize, maxOutputLength: maxBytes });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw new OversizedError(maxBytes);
    throw e;
  }
}

/** The output buffer `gunzipReused` inflates into, from file to file. */
let inflated: Buffer | undefined;
/** Files that inflate to more than this get a buffer of their own (a long-running bot keeps no large one). */
const REUSE_MAX = 64 << 20;

/**
 * `gunzipSized`, into one buffer reused from file to file when the native addon inflates (see
 * `gunzip` in native/record-walk.c: libdeflate, about 1.7x faster than zlib on CloudTrail files):
 * the same bytes, and the same errors (anything but one whole, valid gzip member of at most its
 * trailer's size goes to `gunzipSized`, i.e. zlib, which says what is wrong). The result is valid
 * until the next call: the caller reads it, or copies what it keeps, before reading another file.
 */
export function gunzipReused(raw: Buffer, maxBytes = maxFileBytesFromEnv()): Buffer {
  const native = nativeWalk?.gunzip;
  if (native && raw.length >= 18) {
    // ISIZE: the inflated length modulo 2^32 (zlib checks it, with the CRC, at the member's end).
    const isize = raw.readUInt32LE(raw.length - 4);
    if (isize > 0 && isize <= maxBytes && isize <= REUSE_MAX) {
      if (inflated === undefined || inflated.length < isize) inflated = Buffer.allocUnsafeSlow(Math.min(REUSE_MAX, Math.max(isize, 2 * (inflated?.length ?? 0), 1 << 20)));
      const out = inflated.subarray(0, isize);
      if (native(raw, out) === isize) return out;
    }
  }
  return gunzipSized(raw, maxBytes);
}

function truncatedWhy(listed: number, read: number): string {
  return `truncated while the scan ran (${listed} bytes when listed, ${read} when read)`;
}

/** A listed file as fetched ahead: opened here (Raw), or read, gunzipped and prepared by a read worker. */
type Fetched = { kind: "raw"; raw: Raw } | { kind: "later" } | { kind: "bytes"; bytes: Buffer; rawLength: number; prepared: unknown; release: () => void };

/** Files asked of the read workers ahead of the one taken (their rings bound the memory: see read-worker.ts). */
const AHEAD = 64;

/** A listed file, opened: whole, or (large) its head and the open handle; or why not. */
type Raw =
  | { kind: "whole"; buf: Buffer | undefined }
  | { kind: "big"; handle: FileHandle; size: number; head: Buffer }
  | { kind: "special"; why: string }
  | { kind: "error"; err: Error };

/** Standard input longer than this is streamed when its head is JSON Lines. */
const STDIN_HEAD = 64 * 1024;

/** Files larger than this are opened and their head read first (JSON Lines are streamed). */
const BIG = STREAM_THRESHOLD / 8;

/**
 * Open without blocking (a FIFO put in a file's place after the listing would otherwise hang the
 * open), then check that it is a regular file before reading anything.
 */
async function openRaw(f: ListedFile, big: number, maxBytes: number): Promise<Raw> {
  let h: FileHandle;
  try {
    h = await open(f.path, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
  } catch (e) {
    return { kind: "error", err: e as Error };
  }
  let keep = false;
  try {
    const st = await h.stat();
    if (!st.isFile()) return { kind: "special", why: `${kindOf(st) ?? "not a regular file"}, not a regular file: not read` };
    if (st.size > Math.min(big, BIG)) {
      const head = Buffer.alloc(64 * 1024);
      const { bytesRead } = await h.read(head, 0, head.length, 0);
      keep = true;
      return { kind: "big", handle: h, size: st.size, head: head.subarray(0, bytesRead) };
    }
    return { kind: "whole", buf: await readUpTo(h, maxBytes, st.size) };
  } catch (e) {
    return { kind: "error", err: e as Error };
  } finally {
    if (!keep) await h.close().catch(() => undefined);
  }
}

/**
 * The file read to its end (past the size it had, if it grew), or undefined when it gives more
 * than `max` bytes: a file whose size says little but whose reads do not end (a link to
 * /proc/self/pagemap: 256 GiB from a size of 0, read until memory ran out) stops there.
 */
async function readUpTo(h: FileHandle, max: number, size: number): Promise<Buffer | undefined> {
  let buf = Buffer.allocUnsafeSlow(Math.min(max + 1, Math.max(size + 1, 64 * 1024)));
  let off = 0;
  for (;;) {
    if (off === buf.length) {
      if (off > max) return undefined;
      const more = Buffer.allocUnsafeSlow(Math.min(max + 1, buf.length * 2));
      buf.copy(more, 0, 0, off);
      buf = more;
    }
    const { bytesRead } = await h.read(buf, off, buf.length - off, off);
    if (bytesRead === 0) return buf.subarray(0, off);
    off += bytesRead;
  }
}

function isJsonLinesHead(head: string): boolean {
  const lines = head.split("\n");
  if (lines.length < 2) return false;
  try {
    const o = JSON.parse(lines[0]!);
    return o !== null && typeof o === "object" && !Array.isArray(o) && !("Records" in o);
  } catch {
    return false;
  }
}
