import { setFlagsFromString } from "node:v8";

/**
 * The finish of a scan (profiles, detectors, the report) runs each of its functions once per
 * identity, for well under a second: V8's optimising compiler (TurboFan) compiles its hot
 * functions on background threads, and those compiles cost more CPU than the optimised code saves
 * before the finish ends (lean 1M, one thread: ~0.2 CPU-s of background compilation during the
 * finish, ~0.24 on realistic; the main thread's CPU unchanged, Maglev code serves as well there).
 * `lightTiering` runs `fn` with TurboFan off (Maglev and the baseline tiers stay on; code already
 * optimised stays), and turns it back on after, for the reading of the next scan in a long-running
 * process. Results are the same either way: only which compiler runs changes.
 *
 * Left alone when the process was started with its own tiering flags (node --no-turbofan,
 * --max-opt, --jitless, ... on the command line or in NODE_OPTIONS): never turned on where the
 * user turned it off. Nested calls keep it off until the outermost one ends.
 */
export function lightTiering<T>(fn: () => T): T {
  if (userTiering()) return fn();
  if (depth++ === 0) setFlagsFromString("--no-turbofan");
  try {
    return fn();
  } finally {
    if (--depth === 0) setFlagsFromString("--turbofan");
  }
}

let depth = 0;
let userSet: boolean | undefined;

const TIERING_FLAG = /^--(no-)?(turbofan|opt|max-opt|jitless|maglev|sparkplug|always-turbofan|always-opt|always-sparkplug)([=_-]|$)/;

function userTiering(): boolean {
  userSet ??= [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].some((a) => TIERING_FLAG.test(a.replaceAll("_", "-")));
  return userSet;
}
