/**
 * The byte walk of an S3 delivery file, run in a file scan's read worker (the source loads this
 * module there: FastLane.offThread). It walks the bytes with this thread's walk (native, with this
 * thread's intern table, else JavaScript) and returns a copy of the index to transfer with the
 * bytes; FastLane.deliverPrepared takes the records from it on the main thread, decoding intern
 * ids with strings kept per worker thread. Null: not a document the walk accepts (the source
 * then reads the file the general way, as after `deliver`).
 */
import { threadId } from "node:worker_threads";
import { nativeWalk } from "./native-walk.js";
import { indexRecords, STRIDE } from "./record-bytes.js";

export interface WalkedFile {
  meta: Int32Array;
  count: number;
  /** Intern ids of the native table of thread `thread` at `generation` (else span hashes). */
  ids: boolean;
  thread: number;
  generation: number;
}

/**
 * With `shared` (memory shared with the main thread, see read-worker.ts), the index is copied
 * there and left out of the result (the main thread puts that memory in `meta`); else a copy of
 * it is transferred.
 */
export function prepareOffThread(bytes: Uint8Array, shared?: (n: number) => Int32Array): { result: WalkedFile | Omit<WalkedFile, "meta"> | null; transfer: ArrayBuffer[] } {
  const ix = indexRecords(bytes);
  if (!ix) return { result: null, transfer: [] };
  const n = ix.count * STRIDE;
  const generation = ix.ids ? nativeWalk!.generation() : 0;
  if (shared) {
    shared(n).set(ix.meta.subarray(0, n));
    return { result: { count: ix.count, ids: ix.ids, thread: threadId, generation }, transfer: [] };
  }
  const meta = ix.meta.slice(0, n);
  return { result: { meta, count: ix.count, ids: ix.ids, thread: threadId, generation }, transfer: [meta.buffer as ArrayBuffer] };
}
