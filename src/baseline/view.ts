import { listOf } from "./dim-list.js";
import { dimEachFirst, dimFirst, dimSize, dimStat } from "./merge.js";
import { DAY, HOUR, type BaselineConfig, type Dim, type Profile, type Stat } from "./profile.js";

/** What "still learning" depends on: these fields of a profile (or of the store's BaselineFacts). */
export interface LearningFacts {
  readonly first: number;
  readonly events: number;
  readonly days: readonly number[];
}

/** Active days, days of history and events of a profile before `windowStart` (BaselineView's figures). */
function historyBefore(p: LearningFacts | undefined, windowStart: number, windowEvents: number): { activeDays: number; historyDays: number; events: number } {
  if (!p || !Number.isFinite(p.first) || p.first >= windowStart) return { activeDays: 0, historyDays: 0, events: 0 };
  const wDay = Math.floor(windowStart / DAY);
  let activeDays = 0;
  for (const d of p.days) if (d < wDay) activeDays++;
  return { activeDays, historyDays: (windowStart - p.first) / DAY, events: Math.max(0, p.events - windowEvents) };
}

function isLearning(h: { activeDays: number; historyDays: number; events: number }, cfg: BaselineConfig): boolean {
  return h.activeDays < cfg.learningMinDays || h.historyDays < cfg.learningMinDays || h.events < cfg.learningMinEvents;
}

/**
 * `new BaselineView(p, windowStart, cfg).learning` from the few fields it depends on: for callers
 * that have a stored baseline's facts rather than the decoded profile (/cloudtrail status).
 */
export function learningAt(p: LearningFacts | undefined, windowStart: number, cfg: BaselineConfig): boolean {
  return isLearning(historyBefore(p, windowStart, 0), cfg);
}

/**
 * What detectors see of an identity's history: the profile as it stood before the detection
 * window started. Values first seen at or after `windowStart` are not "known", so rescanning the
 * same data (whose window is already folded into the stored profile) gives the same findings.
 */
export class BaselineView {
  readonly activeDays: number;
  readonly historyDays: number;
  readonly learning: boolean;
  /** Events in the baseline (decayed; window events excluded). */
  readonly events: number;

  constructor(
    readonly profile: Profile | undefined,
    readonly windowStart: number,
    readonly cfg: BaselineConfig,
    windowEvents = 0,
  ) {
    const h = historyBefore(profile, windowStart, windowEvents);
    this.activeDays = h.activeDays;
    this.historyDays = h.historyDays;
    this.events = h.events;
    this.learning = isLearning(h, cfg);
  }

  /** The value was seen before the window. */
  known(dim: Dim, value: string): boolean {
    const first = dimFirst(this.profile?.dims, dim, value);
    return first !== undefined && first < this.windowStart;
  }

  stat(dim: Dim, value: string): Stat | undefined {
    const s = dimStat(this.profile?.dims, dim, value);
    return s !== undefined && s[2] < this.windowStart ? s : undefined;
  }

  /** Known values of a dimension, most used first. */
  values(dim: Dim): Array<[string, Stat]> {
    const p = this.profile;
    if (!p) return [];
    const ws = this.windowStart;
    // A dimension a store's decode keeps as a list (dim-list.ts): read from it, its record not
    // made (the same values in the same order: a list holds no array index).
    const list = listOf(p.dims, dim);
    if (list !== undefined) {
      const out: Array<[string, Stat]> = [];
      const v = list.values;
      const s = list.stats;
      for (let i = 0, o = 0; i < v.length; i++, o += 4) if (s[o + 2]! < ws) out.push([v[i]!, [s[o]!, s[o + 1]!, s[o + 2]!, s[o + 3]!]]);
      return out.sort((a, b) => b[1][0] - a[1][0]);
    }
    const rec = p.dims[dim];
    if (!rec) return [];
    return Object.entries(rec)
      .filter(([, s]) => s[2] < ws)
      .sort((a, b) => b[1][0] - a[1][0]);
  }

  /** How many values the profile holds in a dimension, known before the window or not (at most its cap). */
  size(dim: Dim): number {
    return this.profile ? dimSize(this.profile.dims, dim) : 0;
  }

  /** `fn` for each value the profile holds in a dimension (known before the window or not), with when it was first seen: for counting (order unspecified). */
  eachFirstSeen(dim: Dim, fn: (value: string, first: number) => void): void {
    dimEachFirst(this.profile?.dims, dim, fn);
  }

  /** Number of distinct known values of a dimension. */
  distinct(dim: Dim): number {
    const ws = this.windowStart;
    let n = 0;
    dimEachFirst(this.profile?.dims, dim, (_, first) => {
      if (first < ws) n++;
    });
    return n;
  }

  /**
   * How often this identity meets something new in `dim`: values first seen after its first
   * active day, per active day. A CI role that tries new APIs daily has a high rate; a person with
   * a fixed routine has a rate near 0. P(new value on a day) ~ 1 - exp(-rate).
   */
  noveltyRate(dim: Dim): number {
    const p = this.profile;
    if (!p || this.activeDays < 2) return 0;
    const firstDayEnd = (Math.floor(p.first / DAY) + 1) * DAY;
    const ws = this.windowStart;
    let fresh = 0;
    dimEachFirst(p.dims, dim, (_, first) => {
      if (first >= firstDayEnd && first < ws) fresh++;
    });
    return fresh / Math.max(1, this.activeDays - 1);
  }

  /** Hourly [hourIndex, calls, errors] before the window (active hours only, recent days). */
  hourly(): Array<[number, number, number]> {
    const wHour = Math.floor(this.windowStart / HOUR);
    return (this.profile?.hourly ?? []).filter((h) => h[0] < wHour);
  }

  /** Number of hours covered by `hourly()` (active or not), for rates that count idle hours as 0. */
  hourlySpan(): number {
    const p = this.profile;
    if (!p || !Number.isFinite(p.first)) return 0;
    const start = Math.max(p.first, this.windowStart - this.cfg.hourlyDays * DAY);
    return Math.max(0, Math.floor((this.windowStart - start) / HOUR));
  }

  /** Share of activity in a UTC hour of day, 0..1. */
  hourShare(hour: number): number {
    const hs = this.profile?.hours;
    if (!hs) return 0;
    const total = hs.reduce((a, b) => a + b, 0);
    return total > 0 ? hs[hour]! / total : 0;
  }

  /** One sentence of what is normal, with numbers, for a finding's `why`. */
  summary(): string {
    if (!this.profile || this.historyDays <= 0) return "no history before this window";
    const d = Math.max(1, Math.round(this.historyDays));
    const n = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
    const from = this.distinct("network") ? n(this.distinct("network"), "network", "networks") : n(this.distinct("ip"), "source IP", "source IPs");
    return (
      `${n(d, "day", "days")} of history (${this.activeDays} active); it normally calls ${n(this.distinct("api"), "API", "APIs")} in ` +
      `${n(this.distinct("service"), "service", "services")} from ${from} in ${n(this.distinct("region"), "region", "regions")}`
    );
  }
}
