/**
 * The native byte walk (native/record-walk.c, built by `npm ci` through node-gyp into
 * build/Release/record_walk.node): the same walk as record-bytes.ts, about four times faster.
 * Optional: when it is not built, or TRAILHOUND_NATIVE=0, the JavaScript walk is used, with the
 * same results (the tests compare the two).
 */
import { createRequire } from "node:module";

export interface NativeWalk {
  /** Records found; -1: not a document the walk accepts; -2: `meta` is too small. */
  walk(bytes: Uint8Array, meta: Int32Array): number;
}

function load(): { walk?: NativeWalk; why: string } {
  const flag = process.env.TRAILHOUND_NATIVE;
  if (flag === "0" || flag === "off" || flag === "false") return { why: `off (TRAILHOUND_NATIVE=${flag})` };
  try {
    // src/sources/ and dist/sources/ both sit two levels below the package root.
    const mod = createRequire(import.meta.url)("../../build/Release/record_walk.node") as Partial<NativeWalk>;
    if (typeof mod.walk !== "function") return { why: "build/Release/record_walk.node has no walk()" };
    return { walk: mod as NativeWalk, why: "native (build/Release/record_walk.node)" };
  } catch (e) {
    return { why: `not built (${(e as Error).message.split("\n")[0]}); run \`npm run build:native\`` };
  }
}

const loaded = load();
/** The native walk, if loaded. */
export const nativeWalk: NativeWalk | undefined = loaded.walk;
/** Which walk scans use, and why: for the benchmark and `--verbose`. */
export const walkKind: string = loaded.walk ? loaded.why : `JavaScript (native walk ${loaded.why})`;
