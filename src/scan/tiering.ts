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
  userSet ??= userFlag(TIERING_FLAG);
  return userSet;
}

/** Whether the process was started with a V8 flag matching `re` (command line or NODE_OPTIONS; `_` read as `-`). */
function userFlag(re: RegExp): boolean {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].some((a) => re.test(a.replaceAll("_", "-")));
}

/**
 * During a scan, V8 may let the old generation grow to twice what its last full collection left
 * alive, not the up to four times it allows a program whose collections are fast: a scan's old
 * generation fills with garbage that lived through two scavenges (regrown arrays, batches of
 * records), and after its last full collection early in the reading, a long scan's peak was
 * mostly that garbage (lean 3M events: 66 MB alive after the last one at 3 s, 196 MB used at the
 * end, ~130 MB alive). Only the collections' timing changes, not what is computed. Left alone
 * when the process was started with its own growth flag; V8's own choice again after the scan.
 * Returns the function that restores it.
 */
export function scanHeapGrowth(): () => void {
  userGrowth ??= userFlag(/^--heap-growing-percent([=]|$)/);
  if (userGrowth) return () => {};
  if (scans++ === 0) setFlagsFromString(`--heap-growing-percent=${SCAN_HEAP_GROWING_PERCENT}`);
  return () => {
    if (--scans === 0) setFlagsFromString("--heap-growing-percent=0");
  };
}

/** Old generation growth allowed during a scan, in percent of what the last full collection left. */
const SCAN_HEAP_GROWING_PERCENT = 100;
let scans = 0;
let userGrowth: boolean | undefined;
