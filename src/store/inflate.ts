/**
 * Inflating stored packed parts on the main thread with one zlib engine (issue 17, the warm path).
 * `inflateRawSync` makes a zlib stream (a Transform, its handle and state) per call, which costs
 * about as much as inflating a small part: a warm day inflates ~4,400 of them. Here one InflateRaw
 * engine's handle is reset and written to for each part, as inflateRawSync's processChunkSync
 * does, into a reused output buffer. Anything unusual (an error, which closes the engine: a new one
 * is made next time; input left over; a handle not as expected) is left to `inflatePart`
 * (pack.ts), so the bytes returned, or the error thrown, are those of inflateRawSync.
 */
import { type InflateRaw, constants, createInflateRaw } from "node:zlib";
import { inflatePart } from "./pack.js";

interface EngineHandle {
  reset(): void;
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
}

/** InflateRaw's internals as processChunkSync uses them (node:zlib). */
interface EngineInternals {
  _handle: EngineHandle | null;
  _writeState: Uint32Array;
}

let engine: (InflateRaw & EngineInternals) | undefined;
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/** The part's bytes inflated, in a buffer that the next call reuses (copy what is kept); undefined: use inflatePart. */
function inflateInto(z: Uint8Array): Buffer | undefined {
  try {
    if (engine === undefined) {
      engine = createInflateRaw() as InflateRaw & EngineInternals;
      engine.on("error", () => {});
    }
    const h = engine._handle;
    const state = engine._writeState;
    if (!h || typeof h.writeSync !== "function" || typeof h.reset !== "function" || !(state instanceof Uint32Array)) return undefined;
    for (;;) {
      h.reset();
      h.writeSync(constants.Z_FINISH, z, 0, z.length, scratch, 0, scratch.length);
      if (!engine._handle) {
        engine = undefined;
        return undefined;
      }
      // No room left: maybe not all of the output; again with more room.
      if (state[0] === 0) {
        scratch = Buffer.allocUnsafeSlow(scratch.length * 2);
        continue;
      }
      return state[1] === 0 ? scratch.subarray(0, scratch.length - state[0]!) : undefined;
    }
  } catch {
    engine = undefined;
    return undefined;
  }
}

/** `inflatePart(b64).toString("utf8")`: the packed part's JSON. */
export function inflateJson(b64: string): string {
  const z = Buffer.from(b64, "base64");
  const out = inflateInto(z);
  return out ? out.toString("utf8") : inflatePart(b64).toString("utf8");
}

/** `inflatePart(b64)`, in a new buffer. */
export function inflateBytes(b64: string): Buffer {
  const out = inflateInto(Buffer.from(b64, "base64"));
  return out ? Buffer.from(out) : inflatePart(b64);
}
