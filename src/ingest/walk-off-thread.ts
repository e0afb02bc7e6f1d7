/**
 * The byte walk of an S3 delivery file, run in a file scan's read worker (the source loads this
 * module there: FastLane.offThread). It walks the bytes with this thread's walk (native, with this
 * thread's intern table, else JavaScript) and returns a copy of the index to transfer with the
 * bytes; FastLane.deliverPrepared takes the records from it on the main thread, decoding intern
 * ids with strings kept per worker thread. Null: not a document the walk accepts (the source
 * then reads the file the general way, as after `deliver`).
 *
 * With the default geo resolver (`setupOffThread` given its environment, FastLane.offThreadData),
 * the worker also locates the public source addresses it meets, once each (by intern id), and
 * sends their locations with the file (`places`): the main thread puts them in its cache
 * (Ingest.located) before it takes the file's records, and looks up none of them itself.
 */
import { threadId } from "node:worker_threads";
import { classifySourceIp } from "../events/normalize.js";
import type { GeoInfo, GeoResolver } from "../geo/types.js";
import { nativeWalk } from "./native-walk.js";
import { F_IP, fieldAt, indexRecords, STRIDE, type RecordIndex } from "./record-bytes.js";

/**
 * Locations of the public source addresses a file brings that this worker had not sent yet (in
 * this intern generation): `ips[i]` is at `table[at[i]]` (-1: the resolver knows nothing of it),
 * where `table` is this worker's table of answers, which `fresh` (its entries from index `base`
 * on) extends; `base` 0 starts the table afresh.
 */
export interface Places {
  ips: string[];
  /** The intern id of each address (this worker's table, the file's generation). */
  ids: Int32Array;
  at: Int32Array;
  base: number;
  fresh: GeoInfo[];
}

export interface WalkedFile {
  meta: Int32Array;
  count: number;
  /** Intern ids of the native table of thread `thread` at `generation` (else span hashes). */
  ids: boolean;
  thread: number;
  generation: number;
  places?: Places;
}

/** What the main thread gives this module (FastLane.offThreadData). */
export interface OffThreadData {
  /** The environment of the scan's default geo resolver (defaultGeoResolver): locate addresses here. */
  geoEnv?: Record<string, string>;
}

/** Answers sent before a table starts afresh (a long scan's worker keeps no more). */
const TABLE_MAX = 100_000;

/** Locates the addresses of the files this worker walks (see the top of this file). */
class Locator {
  /** Intern ids of the source addresses met in generation `generation` (1: sent, or not public). */
  private met = new Uint8Array(4096);
  private generation = -1;
  /** This worker's answers, by index, as sent. */
  private table = new Map<GeoInfo, number>();

  constructor(private readonly geo: GeoResolver) {}

  /** Look one public address up (its answer is not kept): the database's first pages are read. */
  warm(): void {
    this.geo.lookup("8.8.8.8");
  }

  /** The places of the addresses in `ix` not met before; undefined when none. */
  places(bytes: Uint8Array, ix: RecordIndex, generation: number): Places | undefined {
    if (generation !== this.generation) {
      this.generation = generation;
      this.met.fill(0);
    }
    const m = ix.meta;
    let met = this.met;
    let ips: string[] | undefined;
    let ids: number[] | undefined;
    let at: number[] | undefined;
    let fresh: GeoInfo[] | undefined;
    let base = this.table.size;
    let buf: Buffer | undefined;
    for (let r = 0, f = fieldAt(0, F_IP); r < ix.count; r++, f += STRIDE) {
      const s = m[f]!;
      if (s < 0) continue;
      const id = m[f + 2]!;
      if (id < met.length) {
        if (met[id] === 1) continue;
      } else {
        const more = new Uint8Array(Math.max(id + 1, met.length * 2));
        more.set(met);
        this.met = met = more;
      }
      met[id] = 1;
      buf ??= Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      // The string the main thread decodes for this id (FastLane.val), and what Ingest.placeOf asks of it.
      const ip = buf.toString("utf8", s, m[f + 1]!);
      if (classifySourceIp(ip) !== "public") continue;
      const info = this.geo.lookup(ip);
      let k = -1;
      if (info !== undefined) {
        const had = this.table.get(info);
        if (had !== undefined) k = had;
        else {
          if (this.table.size >= TABLE_MAX) {
            // Start afresh: what this file sends is all the main thread's new table holds.
            this.table.clear();
            ips = ids = at = fresh = undefined;
            base = 0;
            this.met.fill(0);
            met[id] = 1;
          }
          k = this.table.size;
          this.table.set(info, k);
          (fresh ??= []).push(info);
        }
      }
      (ips ??= []).push(ip);
      (ids ??= []).push(id);
      (at ??= []).push(k);
    }
    if (ips === undefined) return undefined;
    return { ips, ids: Int32Array.from(ids!), at: Int32Array.from(at!), base, fresh: fresh ?? [] };
  }
}

let locator: Locator | undefined;
/** Files this worker has walked: its first is sent without places (see prepareOffThread). */
let walked = 0;

/** Called once in the worker, before any file, with the main thread's FastLane.offThreadData. */
export async function setupOffThread(data: OffThreadData | undefined): Promise<void> {
  if (data?.geoEnv === undefined || !nativeWalk) return;
  try {
    const { defaultGeoResolver } = await import("../geo/default.js");
    // No cache of answers by address in the resolver: the Locator looks each address up once per intern generation.
    locator = new Locator(await defaultGeoResolver(data.geoEnv, { cacheSize: 0 }));
  } catch {
    // The main thread locates the addresses itself (and says what is wrong with the database).
  }
}

/** One lookup, while the worker waits for its next file: the resolver reads what every lookup needs. */
function warmLocator(): void {
  try {
    locator?.warm();
  } catch {
    locator = undefined;
  }
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
  let places: Places | undefined;
  // The first file goes without places, and the main thread locates its addresses as it would
  // without a worker: its first lookups (the database's pages read, this thread's code not yet
  // compiled) would hold the main thread's first records back (a small scan's first wait went
  // from ~35 to ~150 ms). The resolver is warmed once that file is sent.
  if (walked++ === 0) {
    if (locator !== undefined) setImmediate(warmLocator);
  } else if (locator !== undefined && ix.ids) {
    try {
      places = locator.places(bytes, ix, generation);
    } catch {
      // A database that cannot be read: the main thread locates (and reports) as without a worker.
      locator = undefined;
    }
  }
  const transfer: ArrayBuffer[] = places ? [places.at.buffer as ArrayBuffer, places.ids.buffer as ArrayBuffer] : [];
  if (shared) {
    shared(n).set(ix.meta.subarray(0, n));
    return { result: { count: ix.count, ids: ix.ids, thread: threadId, generation, ...(places ? { places } : {}) }, transfer };
  }
  const meta = ix.meta.slice(0, n);
  transfer.push(meta.buffer as ArrayBuffer);
  return { result: { meta, count: ix.count, ids: ix.ids, thread: threadId, generation, ...(places ? { places } : {}) }, transfer };
}
