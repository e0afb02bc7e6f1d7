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

export function prepareOffThread(bytes: Uint8Array): { result: WalkedFile | null; transfer: ArrayBuffer[] } {
  const ix = indexRecords(bytes);
  if (!ix) return { result: null, transfer: [] };
  const meta = ix.meta.slice(0, ix.count * STRIDE);
  return {
    result: { meta, count: ix.count, ids: ix.ids, thread: threadId, generation: ix.ids ? nativeWalk!.generation() : 0 },
    transfer: [meta.buffer as ArrayBuffer],
  };
}
