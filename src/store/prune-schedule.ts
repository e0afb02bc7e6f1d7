/**
 * Bounded growth for a long-running store: the bot prunes it once a day (and a minute after
 * start) with the limits of TRAILHOUND_PRUNE_DAYS, _FINDINGS_DAYS and _AUDIT_DAYS; the same as
 * `trailhound store prune` does by hand. See TrailStore.prune for what each limit drops.
 */
import type { Log } from "../log.js";
import { PRUNE_DEFAULTS, type PruneResult, type TrailStore } from "./store.js";

export interface PruneSettings {
  olderThanDays: number;
  findingsDays: number;
  auditDays: number;
  /** Between two runs. */
  everyMs: number;
}

const DAY_MS = 86_400_000;

function days(env: Record<string, string | undefined>, name: string, dflt: number): number | "off" {
  const v = env[name]?.trim();
  if (v === undefined || v === "") return dflt;
  if (v === "off" || v === "0") return "off";
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 36_500) {
    throw Object.assign(new Error(`${name}=${v}: expected a whole number of days (1-36500), or off`), { code: "config" });
  }
  return n;
}

/** The bot's pruning limits; undefined when TRAILHOUND_PRUNE_DAYS=off. Throws (code "config") on a bad value. */
export function pruneSettingsFromEnv(env: Record<string, string | undefined>): PruneSettings | undefined {
  const older = days(env, "TRAILHOUND_PRUNE_DAYS", PRUNE_DEFAULTS.olderThanDays);
  const findings = days(env, "TRAILHOUND_PRUNE_FINDINGS_DAYS", PRUNE_DEFAULTS.findingsDays);
  const audit = days(env, "TRAILHOUND_PRUNE_AUDIT_DAYS", PRUNE_DEFAULTS.auditDays);
  if (older === "off") return undefined;
  return {
    olderThanDays: older,
    // "off" for findings or audit: keep them as long as any store may (100 years).
    findingsDays: findings === "off" ? 36_500 : Math.max(findings, older),
    auditDays: audit === "off" ? 36_500 : audit,
    everyMs: DAY_MS,
  };
}

export interface PruneSchedule {
  /** One pruning now (what the timer runs). */
  runNow(): Promise<PruneResult | undefined>;
  stop(): void;
}

/** Prune `firstAfterMs` from now, then every `settings.everyMs`; failures are logged, never thrown. */
export function startPruneSchedule(
  store: Pick<TrailStore, "prune">,
  settings: PruneSettings,
  log: Pick<Log, "info" | "warn">,
  opts: { firstAfterMs?: number; now?: () => number } = {},
): PruneSchedule {
  const now = opts.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const runNow = async (): Promise<PruneResult | undefined> => {
    try {
      const res = await store.prune({ olderThanDays: settings.olderThanDays, findingsDays: settings.findingsDays, auditDays: settings.auditDays }, now());
      log.info("store pruned", { ...res, limits: { days: settings.olderThanDays, findingsDays: settings.findingsDays, auditDays: settings.auditDays } });
      return res;
    } catch (err) {
      log.warn("pruning the store failed; the next attempt is in a day", { err });
      return undefined;
    }
  };
  const schedule = (ms: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void runNow().finally(() => schedule(settings.everyMs));
    }, ms);
    timer.unref();
  };
  schedule(opts.firstAfterMs ?? 60_000);
  return {
    runNow,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
