/**
 * The native byte walk (native/record-walk.c, built by `npm ci` through node-gyp into
 * build/Release/record_walk.node): the same walk as record-bytes.ts, about four times faster.
 * Optional: when it is not built, or TRAILHOUND_NATIVE=0, the JavaScript walk is used, with the
 * same results (the tests compare the two).
 */
import { nativeWalk } from "../util/native-addon.js";

export { nativeWalk, walkKind, WALK_ABI, type NativeWalk } from "../util/native-addon.js";

/**
 * Decoded strings by intern id of one native intern table (one per thread), for the table's
 * current generation: each id decoded once, the same string object ever after.
 */
export class InternedStrings {
  /** The strings decoded so far, by intern id (read directly by FastLane.val; written by `get`). */
  readonly strs: Array<string | undefined> = [];
  private generation = -1;

  /** The table is at generation `g`: drop the strings of an earlier one. */
  sync(g: number): void {
    if (g !== this.generation) {
      this.generation = g;
      // Emptied in place: a new empty array has another elements kind, and the optimised code
      // reading it (FastLane.offer) was thrown away and compiled again at every generation. Its
      // length is kept: the next generation's ids run about as far, and an array emptied to length
      // 0 grew again by copying (see TableCache.renew in fast-lane.ts).
      this.strs.fill(undefined);
    }
  }

  /** The string of intern id `id`, whose bytes are [s, e) of `b` (the field as this walk found it). */
  get(id: number, b: Buffer, s: number, e: number): string {
    const v = this.strs[id];
    if (v !== undefined) return v;
    const strs = this.strs;
    while (strs.length < id) strs.push(undefined); // ids are dense: keep the array packed
    return (strs[id] = b.toString("utf8", s, e));
  }

  clear(): void {
    this.strs.length = 0;
  }
}

/** The strings of this thread's own table. */
export const ownInterned = new InternedStrings();

/** Drop the decoded strings if the native table started afresh (call after each walk). */
export function syncInterned(): void {
  ownInterned.sync(nativeWalk!.generation());
}

/**
 * The string of intern id `id` of this thread's table, whose bytes are [s, e) of `b` (the field as
 * this walk found it): decoded the first time, the same string object ever after.
 */
export function internedString(id: number, b: Buffer, s: number, e: number): string {
  return ownInterned.get(id, b, s, e);
}

/** Free the intern table and its strings (at the end of a read: a long-running bot keeps none). */
export function releaseInterned(): void {
  nativeWalk?.reset();
  ownInterned.clear();
}
