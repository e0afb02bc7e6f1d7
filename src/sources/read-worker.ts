/**
 * A file scan's read worker (see read-pool.ts): opens a listed file, reads it whole, gunzips it
 * and runs the sink's off-thread preparation on the bytes (the byte walk), then hands the bytes
 * and the outcome back to the main thread without copying them (transferred). Anything out of the
 * ordinary (not a regular file, large, unreadable, corrupt or oversized gzip, an error) is
 * answered `main`: the main thread then reads that file itself, the one-thread way, so every
 * message and count stays what the one-thread scan gives. One file at a time, in the order asked.
 */
import { constants as fsc } from "node:fs";
import { open } from "node:fs/promises";
import { parentPort, workerData } from "node:worker_threads";
import { gunzipSync } from "node:zlib";
import { gunzipChunkSize } from "./gunzip-size.js";

/** What the pool asks. */
export interface ReadJob {
  seq: number;
  path: string;
}

/** What the worker answers. */
export type ReadReply = { seq: number; kind: "main" } | { seq: number; kind: "bytes"; buffer: ArrayBuffer; offset: number; length: number; rawLength: number; prepared: unknown };

export interface ReadWorkerData {
  maxBytes: number;
  /** Files larger than this (on disk) are left to the main thread (it streams or heads them). */
  big: number;
  /** The sink's module for work on the bytes (BytesReader.offThread), if any. */
  prepare?: string;
}

type Prepare = (bytes: Uint8Array) => { result: unknown; transfer: ArrayBuffer[] };

const init = workerData as ReadWorkerData;
const port = parentPort!;
let prepare: Prepare | undefined;
const ready: Promise<void> = init.prepare
  ? import(init.prepare).then((m: { prepareOffThread: Prepare }) => {
      prepare = m.prepareOffThread;
    })
  : Promise.resolve();

async function read(job: ReadJob): Promise<{ reply: ReadReply; transfer: ArrayBuffer[] }> {
  const main = { reply: { seq: job.seq, kind: "main" } as ReadReply, transfer: [] };
  let whole: Buffer;
  try {
    // Non-blocking open, then a regular-file check, as the main thread's own read does.
    const h = await open(job.path, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
    try {
      const st = await h.stat();
      if (!st.isFile() || st.size > init.big) return main;
      whole = await h.readFile();
    } finally {
      await h.close().catch(() => undefined);
    }
  } catch {
    return main;
  }
  let bytes: Buffer = whole;
  if (whole.length >= 2 && whole[0] === 0x1f && whole[1] === 0x8b) {
    try {
      bytes = gunzipSync(whole, { chunkSize: gunzipChunkSize(whole, init.maxBytes), maxOutputLength: init.maxBytes });
    } catch {
      return main; // corrupt, cut or oversized: the main thread says which
    }
  }
  if (bytes.length > init.maxBytes) return main;
  const p = prepare?.(bytes);
  // The bytes are moved, not copied, when they own (nearly) all of their memory; small or pooled
  // buffers are copied (a pooled one cannot be moved).
  let buffer = bytes.buffer as ArrayBuffer;
  let offset = bytes.byteOffset;
  if (bytes.length < 65536 || buffer.byteLength - bytes.length > 1 << 20) {
    buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    offset = 0;
  }
  return {
    reply: { seq: job.seq, kind: "bytes", buffer, offset, length: bytes.length, rawLength: whole.length, prepared: p?.result },
    transfer: [buffer, ...(p?.transfer ?? [])],
  };
}

// One file at a time, in the order asked.
let chain: Promise<void> = ready.catch((e: unknown) => {
  // The preparation could not load: every file goes back to the main thread.
  prepare = undefined;
  port.postMessage({ loadError: String((e as Error)?.message ?? e) });
});
port.on("message", (job: ReadJob) => {
  chain = chain.then(async () => {
    let out: { reply: ReadReply; transfer: ArrayBuffer[] };
    try {
      out = await read(job);
    } catch {
      out = { reply: { seq: job.seq, kind: "main" }, transfer: [] };
    }
    port.postMessage(out.reply, out.transfer);
  });
});
