/**
 * What an identity's activity timeline shows, as plain data (no drawing): the hourly calls and
 * errors of the recent past from its profile, the usual band for each hour, the detection window,
 * its findings and what was new in the window. The SVG (svg.ts), the alt text (alt.ts) and the
 * HTML report all draw from this one model, so that the picture and the words say the same.
 */
import { DAY, DEFAULT_BASELINE_CONFIG, HOUR, copyStats, type Dim, type Profile, type Stat } from "../baseline/profile.js";
import { SEVERITY_RANK, type Severity } from "../events/types.js";
import type { Finding } from "../scan/report-types.js";

export interface TimelineHour {
  /** Hour index: floor(ms / 3600000). */
  h: number;
  calls: number;
  errors: number;
}

export interface TimelineMarker {
  /** 1-based number shown on the chart and in the legend (most severe first). */
  n: number;
  id: string;
  severity: Severity;
  title: string;
  detector: string;
  /** ms */
  first: number;
  last: number;
  count: number;
  failed: boolean;
}

export interface TimelineNew {
  dim: "country" | "network" | "api" | "region" | "ip";
  label: string;
  /** Values first seen inside the window (most used first), all of them. */
  values: string[];
}

export interface Timeline {
  identity: { key: string; label: string; type: string; arn?: string };
  /** Chart range, ms, whole hours: [start, end). */
  start: number;
  end: number;
  window: { start: number; end: number };
  /** Every hour of the range, idle hours as 0. */
  hours: TimelineHour[];
  /**
   * The usual range of calls for each hour of the range, from the hours before the window at the
   * same hour of day (+-1 h): 10th and 90th percentiles. Empty when there is no history.
   */
  band: Array<{ h: number; lo: number; hi: number }>;
  /** Hours of history before the window that the band is made of (0: no band). */
  baselineHours: number;
  baselineDays: number;
  learning: boolean;
  markers: TimelineMarker[];
  newValues: TimelineNew[];
  totals: { calls: number; errors: number; windowCalls: number; windowErrors: number };
  peak?: TimelineHour;
  /** Things the picture cannot show in full, said in words (partial data, history gaps). */
  notes: string[];
}

export interface TimelineInput {
  profile: Profile | undefined;
  /** The identity's findings (any order); only those that overlap the chart range are marked. */
  findings: readonly Finding[];
  window: { start: number; end: number };
  /** Key, used when there is no profile. */
  key?: string;
  /** Days before the window end shown at most (default: the baseline's hourly history, 14). */
  days?: number;
  /** Notes to carry (e.g. the scan was partial). */
  notes?: string[];
}

const NEW_DIMS: Array<{ dim: TimelineNew["dim"]; profileDim: Dim; label: string }> = [
  { dim: "country", profileDim: "country", label: "Countries" },
  { dim: "network", profileDim: "network", label: "Networks" },
  { dim: "api", profileDim: "api", label: "APIs" },
  { dim: "region", profileDim: "region", label: "Regions" },
];

/** `p`-quantile (0..1) of sorted numbers, linear interpolation. */
function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = (sorted.length - 1) * p;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

/** A short human name for an identity key (`user:111122223333:alice` -> `alice`). */
export function identityLabel(key: string, p?: Pick<Profile, "userName" | "arn">): string {
  if (p?.userName) return p.userName;
  const parts = key.split(":");
  if (parts.length >= 3) return parts.slice(2).join(":");
  return key;
}

export function buildTimeline(input: TimelineInput): Timeline {
  const { profile: p, window } = input;
  const days = input.days ?? DEFAULT_BASELINE_CONFIG.hourlyDays;
  const endHour = Math.ceil(window.end / HOUR);
  const wStartHour = Math.floor(window.start / HOUR);
  // Two weeks back, or from the day of the identity's first event when it is younger (never after
  // the window start): a new identity's day is not a sliver at the end of 14 empty days.
  const firstDayHour = p && Number.isFinite(p.first) ? Math.floor(p.first / DAY) * 24 : wStartHour;
  const startHour = Math.max(endHour - days * 24, Math.min(wStartHour, firstDayHour));

  const byHour = new Map<number, [number, number]>();
  for (const [h, c, e] of p?.hourly ?? []) byHour.set(h, [c, e]);
  const hours: TimelineHour[] = [];
  const totals = { calls: 0, errors: 0, windowCalls: 0, windowErrors: 0 };
  let peak: TimelineHour | undefined;
  for (let h = startHour; h < endHour; h++) {
    const [calls, errors] = byHour.get(h) ?? [0, 0];
    const row = { h, calls, errors: Math.min(errors, calls) };
    hours.push(row);
    totals.calls += calls;
    totals.errors += row.errors;
    if (h >= wStartHour) {
      totals.windowCalls += calls;
      totals.windowErrors += row.errors;
    }
    if (calls > 0 && (!peak || calls > peak.calls)) peak = row;
  }

  // History before the window: from the profile's first event (or the chart start) to the window.
  const firstHour = p && Number.isFinite(p.first) ? Math.floor(p.first / HOUR) : wStartHour;
  const histStart = Math.max(startHour, firstHour);
  const baselineHours = Math.max(0, wStartHour - histStart);
  const band: Timeline["band"] = [];
  if (baselineHours >= 24) {
    // For each hour of day, the values of the comparable history hours (same hour +-1, idle = 0).
    const perHod: number[][] = Array.from({ length: 24 }, () => []);
    for (let h = histStart; h < wStartHour; h++) {
      const v = byHour.get(h)?.[0] ?? 0;
      const hod = ((h % 24) + 24) % 24;
      for (const d of [-1, 0, 1]) perHod[(hod + d + 24) % 24]!.push(v);
    }
    const lohi = perHod.map((vals) => {
      const s = vals.sort((a, b) => a - b);
      return { lo: quantile(s, 0.1), hi: quantile(s, 0.9) };
    });
    for (let h = startHour; h < endHour; h++) band.push({ h, ...lohi[((h % 24) + 24) % 24]! });
  }

  const learning =
    !p ||
    baselineHours < DEFAULT_BASELINE_CONFIG.learningMinDays * 24 ||
    (p.days ?? []).filter((d) => d < Math.floor(window.start / DAY)).length < DEFAULT_BASELINE_CONFIG.learningMinDays;

  const rangeStart = startHour * HOUR;
  const rangeEnd = endHour * HOUR;
  const markers: TimelineMarker[] = input.findings
    .map((f) => ({ f, first: Date.parse(f.firstSeen), last: Date.parse(f.lastSeen) }))
    .filter(({ first, last }) => Number.isFinite(first) && Number.isFinite(last) && last >= rangeStart && first < rangeEnd)
    .sort((a, b) => SEVERITY_RANK[b.f.severity] - SEVERITY_RANK[a.f.severity] || b.f.score - a.f.score || a.first - b.first || a.f.id.localeCompare(b.f.id))
    .map(({ f, first, last }, i) => ({
      n: i + 1,
      id: f.id,
      severity: f.severity,
      title: f.title,
      detector: f.detector,
      first,
      last,
      count: f.count,
      failed: f.failed,
    }));

  const newValues: TimelineNew[] = [];
  if (p && Number.isFinite(p.first) && p.first < window.start) {
    for (const d of NEW_DIMS) {
      // Values held back from the baseline by an open finding (never learnt from an attack) are new too.
      const rec: Record<string, Stat> = copyStats(p.dims[d.profileDim]);
      for (const h of p.held ?? []) for (const [dim, v, st] of h.values) if (dim === d.profileDim && !Object.hasOwn(rec, v)) rec[v] = st;
      const values = Object.entries(rec)
        .filter(([, s]) => s[2] >= window.start && s[2] < window.end)
        .sort((a, b) => b[1][0] - a[1][0] || a[0].localeCompare(b[0]))
        .map(([k]) => k);
      if (values.length) newValues.push({ dim: d.dim, label: d.label, values });
    }
  }

  const notes = [...(input.notes ?? [])];
  if (!p) notes.push("no stored profile for this identity: no hourly history to show");
  else if (baselineHours < 24) notes.push("less than a day of history before the window: no usual band yet");
  const key = p?.key ?? input.key ?? "unknown";
  const identity: Timeline["identity"] = { key, label: identityLabel(key, p), type: p?.type ?? key.split(":")[0] ?? "unknown" };
  if (p?.arn) identity.arn = p.arn;
  const t: Timeline = {
    identity,
    start: rangeStart,
    end: rangeEnd,
    window: { start: window.start, end: window.end },
    hours,
    band,
    baselineHours: band.length ? baselineHours : 0,
    baselineDays: band.length ? Math.round((baselineHours / 24) * 10) / 10 : 0,
    learning,
    markers,
    newValues,
    totals,
    notes,
  };
  if (peak) t.peak = peak;
  return t;
}
