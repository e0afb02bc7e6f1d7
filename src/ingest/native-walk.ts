/**
 * The native byte walk (native/record-walk.c, built by `npm ci` through node-gyp into
 * build/Release/record_walk.node): the same walk as record-bytes.ts, about four times faster.
 * Optional: when it is not built, or TRAILHOUND_NATIVE=0, the JavaScript walk is used, with the
 * same results (the tests compare the two).
 */
import { createRequire } from "node:module";

export interface NativeWalk {
  /**
   * Records found; -1: not a document the walk accepts; -2: `meta` is too small. With `intern`
   * (the default) string fields carry an intern id instead of a hash (see internedString).
   */
  walk(bytes: Uint8Array, meta: Int32Array, intern?: boolean): number;
  /** Changes whenever intern ids given before no longer hold. */
  generation(): number;
  /** Free the intern table. */
  reset(): void;
  /**
   * Inflate the one gzip member `src` is into `dst`: the length written, or -1 when `src` is not
   * exactly one whole member, or inflates to more than `dst` holds (absent where not built).
   */
  gunzip?(src: Uint8Array, dst: Uint8Array): number;
  /** The interface version (WALK_ABI in the C file) and the index's entries per record. */
  abi: number;
  stride: number;
}

/** The native interface this code expects: a build/Release left from another version is not used. */
export const WALK_ABI = 4;

function load(): { walk?: NativeWalk; why: string } {
  const flag = process.env.TRAILHOUND_NATIVE;
  if (flag === "0" || flag === "off" || flag === "false") return { why: `off (TRAILHOUND_NATIVE=${flag})` };
  try {
    // src/ingest/ and dist/ingest/ both sit two levels below the package root.
    const mod = createRequire(import.meta.url)("../../build/Release/record_walk.node") as Partial<NativeWalk>;
    if (mod.abi !== WALK_ABI || typeof mod.walk !== "function")
      return { why: `build/Release/record_walk.node is from another version (interface ${String(mod.abi)}, expected ${WALK_ABI}; rebuild it: npm run build:native)` };
    return { walk: mod as NativeWalk, why: "native (build/Release/record_walk.node)" };
  } catch (e) {
    return { why: `not built (${(e as Error).message.split("\n")[0]}); run \`npm run build:native\`` };
  }
}

const loaded = load();
/** The native walk, if loaded. */
export const nativeWalk: NativeWalk | undefined = loaded.walk;
/** Which walk scans use, and why (the benchmark prints it). */
export const walkKind: string = loaded.walk ? loaded.why : `JavaScript (native walk ${loaded.why})`;

/**
 * Decoded strings by intern id of one native intern table (one per thread), for the table's
 * current generation: each id decoded once, the same string object ever after.
 */
export class InternedStrings {
  private strs: Array<string | undefined> = [];
  private generation = -1;

  /** The table is at generation `g`: drop the strings of an earlier one. */
  sync(g: number): void {
    if (g !== this.generation) {
      this.generation = g;
      this.strs = [];
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
    this.strs = [];
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
