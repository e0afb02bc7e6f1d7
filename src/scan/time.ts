import { DEFAULT_WINDOW_MS, floorBucket, type SinceSpec } from "../ingest/window.js";

/**
 * The window of a scan that reads a live source: relative times count back from `until`,
 * default now; default length 24 hours. The start is exact (incremental reads resume there).
 */
export function liveWindow(now: number, since?: SinceSpec, until?: number): { start: number; end: number } {
  const end = until ?? now;
  const start = since === undefined ? end - DEFAULT_WINDOW_MS : since.kind === "absolute" ? since.at : end - since.ms;
  return { start, end };
}

/** `liveWindow` with the start floored to the scanner's 10-minute buckets (the window it reports). */
export function detectionWindow(now: number, since?: SinceSpec, until?: number): { start: number; end: number } {
  const { start: raw, end } = liveWindow(now, since, until);
  return { start: floorBucket(raw), end };
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

export class TimeSpecError extends Error {
  readonly code = "usage";
}

/** `30m`, `24h`, `7d`, `2w` -> milliseconds; undefined when not a duration. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(s.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
}

/** An ISO 8601 time (date alone means midnight UTC) -> epoch ms. */
export function parseIsoTime(s: string): number | undefined {
  const t = s.trim();
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) return undefined;
  const withZone = /T|\s/.test(t) && !/(Z|[+-]\d{2}:?\d{2})$/.test(t) ? t + "Z" : t;
  const ms = Date.parse(withZone);
  return Number.isNaN(ms) ? undefined : ms;
}

/** `--since`: a duration (relative to --until or the newest event) or an ISO time. */
export function parseSince(s: string): SinceSpec {
  const d = parseDuration(s);
  if (d !== undefined) {
    if (d <= 0) throw new TimeSpecError(`--since ${s}: the duration must be positive`);
    return { kind: "relative", ms: d };
  }
  const t = parseIsoTime(s);
  if (t !== undefined) return { kind: "absolute", at: t };
  throw new TimeSpecError(`--since ${JSON.stringify(s)}: expected a duration such as 24h, 7d, 30m, or an ISO time such as 2024-05-01T00:00:00Z`);
}

export function parseUntil(s: string): number {
  const t = parseIsoTime(s);
  if (t === undefined) throw new TimeSpecError(`--until ${JSON.stringify(s)}: expected an ISO time such as 2024-05-02T00:00:00Z`);
  return t;
}
