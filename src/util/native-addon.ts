/**
 * Loads the native addon (native/record-walk.c, built by `npm ci` through node-gyp into
 * build/Release/record_walk.node): the byte walk the ingest uses (see src/ingest/native-walk.ts)
 * and the gunzip into a reused buffer the file source uses. Here, beneath both layers, so the
 * sources need not import the ingest. Optional: when it is not built, or TRAILHOUND_NATIVE=0,
 * `nativeWalk` is undefined and callers use their JavaScript paths, with the same results.
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
   * For tests (absent from an addon built before them): how this thread's intern table spreads its
   * values, read from its slots (the walk counts nothing): values, slots, the probes their lookups
   * take beyond the first (summed, and the most for one), and the table's seed.
   */
  internStats?(): { entries: number; slots: number; displacement: number; longest: number; seed: bigint };
  /** For tests: the intern table's hash of `bytes` under `seed`. */
  internHash?(bytes: Uint8Array, seed: bigint): number;
  /**
   * Inflate the one gzip member `src` is into `dst` (with libdeflate, vendored in native/libdeflate):
   * the length written, or -1 when `src` is not exactly one whole, valid member, has a header CRC,
   * or inflates to more than `dst` holds (absent where not built). Never writes past `dst`.
   */
  gunzip?(src: Uint8Array, dst: Uint8Array): number;
  /** The interface version (WALK_ABI in the C file) and the index's entries per record. */
  abi: number;
  stride: number;
}

/** The native interface this code expects: a build/Release left from another version is not used. */
export const WALK_ABI = 7;

function load(): { walk?: NativeWalk; why: string } {
  const flag = process.env.TRAILHOUND_NATIVE;
  if (flag === "0" || flag === "off" || flag === "false") return { why: `off (TRAILHOUND_NATIVE=${flag})` };
  try {
    // src/util/ and dist/util/ both sit two levels below the package root.
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
