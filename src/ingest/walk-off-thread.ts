/**
 * The byte walk of an S3 delivery file, run in a file scan's read worker (the source loads this
 * module there: FastLane.offThread). It walks the bytes with this thread's walk (native, with this
 * thread's intern table, else JavaScript) and returns a copy of the index to transfer with the
 * bytes; FastLane.deliverPrepared takes the records from it on the main thread, decoding intern
 * ids with strings kept per worker thread. Null: not a document the walk accepts (the source
 * then reads the file the general way, as after `deliver`).
 *
 * With intern ids, it also writes a row per record after the index (see ROW): what the main
 * thread's taking reads of the record, in one place, with what can be said of it without the
 * scan's state (whether the fast lane may read it at all, its time, and numbers for its principal
 * and its call), so that the main thread, the scan's critical path, does less per record.
 */
import { threadId } from "node:worker_threads";
import { nativeWalk } from "./native-walk.js";
import {
  COMPLEX,
  F_ERRCODE,
  F_ID,
  F_IP,
  F_NAME,
  F_RECIPIENT,
  F_REGION,
  F_SOURCE,
  F_TIME,
  F_UA,
  F_UI,
  F_UI_ARN,
  F_UI_INVOKEDBY,
  F_UI_TYPE,
  fieldAt,
  indexRecords,
  recordFlags,
  recordTime,
  STRIDE,
  type RecordIndex,
} from "./record-bytes.js";

export interface WalkedFile {
  meta: Int32Array;
  count: number;
  /** Intern ids of the native table of thread `thread` at `generation` (else span hashes). */
  ids: boolean;
  thread: number;
  generation: number;
  /** A row per record (ROW ints each) follows the index in `meta` (only with intern ids). */
  rows: boolean;
}

/** Ints per row. */
export const ROW = 12;
/** Row slots: flags (ROW_LANE), eventTime in seconds (unsigned), who and call numbers, then intern ids (-1: absent). */
export const R_LANE_FLAGS = 0,
  R_SECS = 1,
  /** The principal's number: one per (userIdentity type, arn, invokedBy) of the table's generation. */
  R_WHO = 2,
  /** The call's number: one per (eventSource, eventName) of the table's generation. */
  R_CALL = 3,
  R_REGION = 4,
  R_IP = 5,
  R_UA = 6,
  R_ERRCODE = 7,
  R_RECIPIENT = 8,
  R_TYPE = 9,
  R_ARN = 10,
  R_INVOKEDBY = 11;
/**
 * The record passes the fast lane's record checks (FastLane.offer): not COMPLEX, eventTime and
 * userIdentity present, eventSource, eventName and eventID present and not empty, eventTime in
 * CloudTrail's form, between 1970 and 2106 (seconds fit the row). Others take the lane's general
 * way (offer), which says the rest.
 */
export const ROW_LANE = 1;

/** Intern ids are below 2^17 (native/record-walk.c MAX_ENTRIES): id + 1 is one of ID_SPAN values. */
const ID_SPAN = (1 << 17) + 1;

/** The who and call numbers, for the intern table's generation `generation`. */
let generation = -1;
const whos = new Map<number, number>();
const calls = new Map<number, number>();

/** At most this many who (and call) numbers per generation; past it, records get none (-1: the main thread reads their fields). */
const MAX_NUMBERS = 1 << 18;

function numberOf(map: Map<number, number>, key: number): number {
  let n = map.get(key);
  if (n === undefined) {
    if (map.size >= MAX_NUMBERS) return -1;
    map.set(key, (n = map.size));
  }
  return n;
}

/** Write the rows of the `ix.count` records of `ix` (intern ids) into `out` from `at`. */
function writeRows(b: Uint8Array, ix: RecordIndex, g: number, out: Int32Array, at: number): void {
  if (g !== generation) {
    generation = g;
    whos.clear();
    calls.clear();
  }
  const m = ix.meta;
  const n = ix.count;
  for (let r = 0, o = at; r < n; r++, o += ROW) {
    const t = fieldAt(r, F_TIME),
      src = fieldAt(r, F_SOURCE),
      name = fieldAt(r, F_NAME),
      id = fieldAt(r, F_ID);
    const type = fieldAt(r, F_UI_TYPE),
      arn = fieldAt(r, F_UI_ARN),
      inv = fieldAt(r, F_UI_INVOKEDBY);
    let flags = 0;
    let secs = 0;
    if (
      (recordFlags(ix, r) & COMPLEX) === 0 &&
      m[t]! >= 0 &&
      m[fieldAt(r, F_UI)]! >= 0 &&
      m[src]! >= 0 &&
      m[src + 1] !== m[src] &&
      m[name]! >= 0 &&
      m[name + 1] !== m[name] &&
      m[id]! >= 0 &&
      m[id + 1] !== m[id]
    ) {
      const time = recordTime(b, ix, r);
      if (time >= 0 && time < 2 ** 32 * 1000) {
        flags = ROW_LANE;
        secs = time / 1000;
      }
    }
    out[o + R_LANE_FLAGS] = flags;
    out[o + R_SECS] = secs | 0;
    const typeId = m[type]! >= 0 ? m[type + 2]! : -1,
      arnId = m[arn]! >= 0 ? m[arn + 2]! : -1,
      invId = m[inv]! >= 0 ? m[inv + 2]! : -1;
    out[o + R_WHO] = flags === 0 ? -1 : numberOf(whos, ((typeId + 1) * ID_SPAN + invId + 1) * ID_SPAN + arnId + 1);
    out[o + R_CALL] = flags === 0 ? -1 : numberOf(calls, m[src + 2]! * ID_SPAN + m[name + 2]!);
    out[o + R_REGION] = idAt(m, fieldAt(r, F_REGION));
    out[o + R_IP] = idAt(m, fieldAt(r, F_IP));
    out[o + R_UA] = idAt(m, fieldAt(r, F_UA));
    out[o + R_ERRCODE] = idAt(m, fieldAt(r, F_ERRCODE));
    out[o + R_RECIPIENT] = idAt(m, fieldAt(r, F_RECIPIENT));
    out[o + R_TYPE] = typeId;
    out[o + R_ARN] = arnId;
    out[o + R_INVOKEDBY] = invId;
  }
}

function idAt(m: Int32Array, at: number): number {
  return m[at]! >= 0 ? m[at + 2]! : -1;
}

/**
 * With `shared` (memory shared with the main thread, see read-worker.ts), the index (and the rows)
 * are copied there and left out of the result (the main thread puts that memory in `meta`); else a
 * copy of them is transferred.
 */
export function prepareOffThread(bytes: Uint8Array, shared?: (n: number) => Int32Array): { result: WalkedFile | Omit<WalkedFile, "meta"> | null; transfer: ArrayBuffer[] } {
  const ix = indexRecords(bytes);
  if (!ix) return { result: null, transfer: [] };
  const n = ix.count * STRIDE;
  const g = ix.ids ? nativeWalk!.generation() : 0;
  const rows = ix.ids;
  const total = rows ? n + ix.count * ROW : n;
  const out = shared ? shared(total) : new Int32Array(total);
  out.set(ix.meta.subarray(0, n));
  if (rows) writeRows(bytes, ix, g, out, n);
  const result = { count: ix.count, ids: ix.ids, thread: threadId, generation: g, rows };
  if (shared) return { result, transfer: [] };
  return { result: { meta: out, ...result }, transfer: [out.buffer as ArrayBuffer] };
}
