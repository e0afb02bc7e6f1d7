/**
 * Alerts within minutes: TRAILHOUND_ALERT_CHANNEL, TRAILHOUND_ALERT_EVERY (default 5m) and
 * TRAILHOUND_ALERT_SEVERITY (default high).
 *
 * An alert run is a digest run with three differences, so that it shares everything the digests
 * have (the store's cursors, the findings and their decisions, the exactly-once delivery, the
 * ledger of what each channel was told, the buttons):
 *   - it runs every few minutes (a cron expression made from the interval), one run at a time
 *     with the digests (a run that is still going when the next tick comes is reported, and the
 *     tick is skipped: runs are never doubled);
 *   - it posts only findings at or above the alert severity that are new or worse for the alert
 *     channel, and nothing at all when there is none (quiet=silent);
 *   - a digest that later meets a finding the alert channel was already told about shows it as
 *     "alerted at 03:12" instead of "new" (plan.ts).
 */
import type { Severity } from "../events/types.js";

/** A DigestScheduleConfig (config.ts, which imports this file) of kind "alert". */
export interface AlertScheduleConfig {
  name: string;
  channel: string;
  cron: string;
  tz: string;
  filters: Record<string, never>;
  quiet: "silent";
  top: number;
  minSeverity: Severity;
  kind: "alert";
}

export const ALERT_SCHEDULE_NAME = "alerts";
export const DEFAULT_ALERT_EVERY = "5m";
export const DEFAULT_ALERT_SEVERITY: Severity = "high";

/** Minutes that divide an hour: the ticks of `*\/N` are then evenly spaced. */
const EVERY_MINUTES = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60];

/** `5m` -> 5; `1h` -> 60; undefined when not allowed. */
export function alertEveryMinutes(v: string): number | undefined {
  const m = /^(\d{1,3})\s*(m|min|h)$/i.exec(v.trim());
  if (!m) return undefined;
  const minutes = Number(m[1]) * (m[2]!.toLowerCase() === "h" ? 60 : 1);
  return EVERY_MINUTES.includes(minutes) ? minutes : undefined;
}

export function alertEveryProblem(v: string): string | undefined {
  if (alertEveryMinutes(v) !== undefined) return undefined;
  return `${JSON.stringify(v)}: expected a number of minutes that divides an hour (${EVERY_MINUTES.map((n) => `${n}m`).join(", ")}) or 1h`;
}

export function alertCron(minutes: number): string {
  return minutes >= 60 ? "0 * * * *" : minutes === 1 ? "* * * * *" : `*/${minutes} * * * *`;
}

/** The alert schedule from the (validated) environment, or undefined when alerts are off. */
export function alertSchedule(env: Record<string, string | undefined>): AlertScheduleConfig | undefined {
  const channel = env.TRAILHOUND_ALERT_CHANNEL?.trim();
  if (!channel) return undefined;
  const minutes = alertEveryMinutes(env.TRAILHOUND_ALERT_EVERY?.trim() || DEFAULT_ALERT_EVERY) ?? 5;
  const sev = (env.TRAILHOUND_ALERT_SEVERITY?.trim() || DEFAULT_ALERT_SEVERITY) as Severity;
  return {
    name: ALERT_SCHEDULE_NAME,
    channel,
    cron: alertCron(minutes),
    tz: "UTC",
    filters: {},
    quiet: "silent",
    top: 10,
    minSeverity: sev,
    kind: "alert",
  };
}
