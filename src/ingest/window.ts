import { BUCKET_MS } from "./accumulator.js";

/** The detection window's default length. */
export const DEFAULT_WINDOW_MS = 24 * 3_600_000;

/** Where the detection window starts: a fixed time, or a length counted back from its end. */
export type SinceSpec = { kind: "absolute"; at: number } | { kind: "relative"; ms: number };

/** `t` floored to the 10-minute buckets the window starts on. */
export function floorBucket(t: number): number {
  return t - (((t % BUCKET_MS) + BUCKET_MS) % BUCKET_MS);
}
