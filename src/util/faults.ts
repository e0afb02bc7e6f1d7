/**
 * Injectable faults, for tests of what survives a crash, a full disk, a paused process or a worker
 * thread that fails.
 *
 * The store's write path calls `fault("<point>")` at each step (`store.tmp-written`, `store.renamed`,
 * `lock.acquired`, `scan.cursor-staged`, ...), the scan's worker threads at theirs (below). Nothing
 * happens unless a fault is configured, by the environment (for child processes) or by `setFault`
 * (in-process tests):
 *
 *   TRAILHOUND_FAULT=<point|*>[@<n>][:<action>]     n-th time the point is reached (default 1st)
 *   TRAILHOUND_FAULT_TRACE=<file>                    append every point reached, one a line
 *
 * Actions: `kill` (SIGKILL this process, the default), `stop` (SIGSTOP: a paused process),
 * `throw` (an Error), `enospc` (an ENOSPC error, as a full disk gives), `eacces`, `exit`
 * (process.exit(70): in a worker thread, the thread alone ends, as one that dies does).
 *
 * Worker threads take the environment as it was when they started, and count their own points
 * (`setFault` in the main thread does not reach them): the scan's fold worker reaches `fold.batch`
 * (each batch of rows, before folding it) and `fold.finish`; its read workers `read.file` (each
 * file they are asked for); the main thread `fold.sent` (after each batch sent to the fold worker).
 * `*` counts every point, so `*@7` fires at the 7th point reached, whatever it is: a test can
 * trace a run once, then kill a run at each of its points in turn.
 */
import { appendFileSync } from "node:fs";

export type FaultAction = "kill" | "stop" | "throw" | "enospc" | "eacces" | "exit";

export interface FaultSpec {
  point: string;
  /** Fire the n-th time (1-based) the point is reached. */
  nth: number;
  action: FaultAction;
}

const ACTIONS: readonly FaultAction[] = ["kill", "stop", "throw", "enospc", "eacces", "exit"];

export function parseFault(spec: string): FaultSpec {
  const m = /^([A-Za-z0-9_.*-]+)(?:@(\d+))?(?::([a-z]+))?$/.exec(spec.trim());
  if (!m || (m[3] !== undefined && !(ACTIONS as readonly string[]).includes(m[3]))) {
    throw new Error(`TRAILHOUND_FAULT=${spec}: expected <point>[@<n>][:${ACTIONS.join("|")}]`);
  }
  return { point: m[1]!, nth: m[2] ? Math.max(1, Number(m[2])) : 1, action: (m[3] as FaultAction | undefined) ?? "kill" };
}

let configured: { spec: FaultSpec | undefined; trace: string | undefined; hook?: (point: string) => void } | undefined;
let hits = 0;

function config(): { spec: FaultSpec | undefined; trace: string | undefined; hook?: (point: string) => void } {
  if (!configured) {
    const env = process.env.TRAILHOUND_FAULT;
    configured = { spec: env ? parseFault(env) : undefined, trace: process.env.TRAILHOUND_FAULT_TRACE || undefined };
  }
  return configured;
}

/** In-process tests: inject a fault (or none; or a function called at every point), and reset the count. */
export function setFault(spec: string | FaultSpec | ((point: string) => void) | undefined, trace?: string): void {
  configured = typeof spec === "function" ? { spec: undefined, trace, hook: spec } : { spec: typeof spec === "string" ? parseFault(spec) : spec, trace };
  hits = 0;
}

/** An error a fault throws. */
export class InjectedFault extends Error {
  override readonly name = "InjectedFault";
  constructor(
    readonly point: string,
    message = `injected fault at ${point}`,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** A step of a write: fires the configured fault when this is its point. Cheap when none is configured. */
export function fault(point: string): void {
  const c = config();
  if (!c.spec && !c.trace && !c.hook) return;
  c.hook?.(point);
  if (c.trace) appendFileSync(c.trace, point + "\n");
  const s = c.spec;
  if (!s || (s.point !== "*" && s.point !== point)) return;
  if (++hits !== s.nth) return;
  switch (s.action) {
    case "kill":
      process.kill(process.pid, "SIGKILL");
      break;
    case "stop":
      process.kill(process.pid, "SIGSTOP");
      break;
    case "throw":
      throw new InjectedFault(point);
    case "enospc":
      throw new InjectedFault(point, `ENOSPC: no space left on device, write (injected at ${point})`, "ENOSPC");
    case "eacces":
      throw new InjectedFault(point, `EACCES: permission denied, open (injected at ${point})`, "EACCES");
    case "exit":
      process.exit(70);
  }
}
