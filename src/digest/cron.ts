/**
 * Occurrences of a cron expression in a time zone, from any instant (node-cron's own `getNextRun`
 * only counts from the real clock; the digest needs "from the last run" and an injected clock).
 *
 * node-cron fires the digests; the next occurrence comes from croner's public `nextRun(from)`
 * (a cron library made for this: no horizon, so a monthly or yearly schedule has a next run).
 * The two agree on what matches: croner is asked for AND semantics when both day fields are
 * restricted (`domAndDow`, as node-cron's matcher does) and for 5- or 6-field expressions only;
 * `test/digest/cron.test.ts` checks every croner occurrence against node-cron's `match`.
 */
import { Cron } from "croner";

/** The first occurrence of `expr` in `tz` strictly after `from`, or null when there is none. */
export function nextOccurrence(expr: string, tz: string, from: number): Date | null {
  try {
    return cronOf(expr, tz).nextRun(new Date(from));
  } catch {
    return null;
  }
}

/** The next `n` occurrences strictly after `from`. */
export function nextOccurrences(expr: string, tz: string, from: number, n: number): Date[] {
  return cronOf(expr, tz).nextRuns(n, new Date(from));
}

function cronOf(expr: string, tz: string): Cron {
  // No callback: croner only computes, it schedules nothing.
  return new Cron(expr, { timezone: tz, domAndDow: true, mode: "5-or-6-parts" });
}
