/**
 * Occurrences of a cron expression in a time zone, from any instant (node-cron's own `getNextRun`
 * only counts from the real clock; the digest needs "from the last run" and an injected clock).
 *
 * node-cron 4's task holds a TimeMatcher whose `getNextMatch(from)` walks the calendar day by
 * day in the zone (the same code that fires the task). It is not exported, so it is reached
 * through the task; should a later node-cron move it, a slower walk over `task.match()` (minute
 * by minute, a bounded horizon) gives the same answers for minute-level expressions.
 */
import type { ScheduledTask } from "node-cron";

interface Matcher {
  getNextMatch(from: Date): Date;
}

const FALLBACK_HORIZON_MIN = 8 * 24 * 60;

/** The first occurrence strictly after `from`, or null when none is found. */
export function nextOccurrence(task: Pick<ScheduledTask, "match">, from: number): Date | null {
  const tm = (task as unknown as { timeMatcher?: Partial<Matcher> }).timeMatcher;
  if (tm && typeof tm.getNextMatch === "function") {
    try {
      return tm.getNextMatch(new Date(from));
    } catch {
      return null;
    }
  }
  let t = Math.floor(from / 60_000) * 60_000 + 60_000;
  for (let i = 0; i < FALLBACK_HORIZON_MIN; i++, t += 60_000) if (task.match(new Date(t))) return new Date(t);
  return null;
}
