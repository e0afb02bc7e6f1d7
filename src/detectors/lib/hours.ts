/**
 * Hour of day, judged against the person first (issue 16): is this an hour the subject (a person
 * on a shared role, or the identity itself) works at?
 *
 * History, from what the baseline keeps (src/baseline/profile.ts):
 *  - `hourly`: calls per hour of the last 14 days. From it, the distinct days the subject was
 *    active in each UTC hour of day (before the window). Days are counted, not calls: one
 *    busy night (an incident, or an attack) is one day, not hundreds of calls.
 *  - `hours`: decayed calls per UTC hour of day over the whole horizon (90 days), which includes
 *    the last 14 days and the window itself; the older part is `hours` minus the (decayed) hourly
 *    rows, so the window never vouches for itself. Its share per hour says whether the subject
 *    worked at that time of day weeks ago (a responder on call once a fortnight).
 *  - Hours inside the span of values held back for an open finding of medium or higher (src/baseline/held.ts)
 *    do not count: an attacker flagged at 03:00 yesterday has not made 03:00 usual.
 *
 * An hour h is usual when, within an hour of it (h-1..h+1, circular), the subject was active on 2
 * or more distinct recent days or it holds 2% or more of the older activity. It is never seen when
 * neither recent days nor 0.5% of older activity fall there. Judged only with 7 or more active days
 * of history, and never for identities that work at nearly all hours (20 or more usual hours: CI,
 * applications). In between (rare hours) nothing is said: people sometimes work late.
 *
 * Time zones: the pattern is in UTC, the subject's own. Activity from a country new to the subject,
 * or first seen within the last 14 days (and not on the first day of its history), is travel in
 * another time zone: its hours are not judged (the country is new-source-network's finding).
 */
import { DAY, HOUR, decayFactor } from "../../baseline/profile.js";
import type { BaselineView } from "../../baseline/view.js";
import type { IdentityWindow } from "../types.js";

/** Active days of history needed before hours are judged. */
export const HOUR_MIN_ACTIVE_DAYS = 7;
/** Older activity (decayed calls) needed before its shares are read. */
const OLD_MIN_EVENTS = 20;
const USUAL_DAYS = 2;
const USUAL_SHARE = 0.02;
const NEVER_SHARE = 0.005;
const ALL_HOURS = 20;
const TRAVEL_DAYS = 14;
/** The window's buckets are 10 minutes (src/ingest/accumulator.ts). */
const BUCKET = 10 * 60_000;

export type HourKind = "usual" | "rare" | "never";

export interface HourPattern {
  /** Per UTC hour of day. */
  kind: HourKind[];
  /** Distinct recent days active within an hour of each hour of day. */
  daysNear: number[];
  /** Share of older activity within an hour of each hour of day (0 without enough older activity). */
  oldNear: number[];
  /** Distinct days in the recent (hourly) history, before the window. */
  recentDays: number;
  /** Usual hours (for the text). */
  usualHours: number[];
}

/** The subject's hour pattern, or undefined when it cannot be judged (too little history, all hours). */
export function hourPattern(b: BaselineView): HourPattern | undefined {
  // Asked by unusual-hour and again by the scanner (the hour as a factor) for the same view.
  if (PATTERNS.has(b)) return PATTERNS.get(b);
  const pattern = computePattern(b);
  PATTERNS.set(b, pattern);
  return pattern;
}

/** Patterns by view (a view and its profile do not change while its identity is judged). */
const PATTERNS = new WeakMap<BaselineView, HourPattern | undefined>();

function computePattern(b: BaselineView): HourPattern | undefined {
  const p = b.profile;
  if (!p || b.learning || b.activeDays < HOUR_MIN_ACTIVE_DAYS) return undefined;
  const held: Array<[number, number]> = [];
  for (const h of p.held ?? []) for (const [, , st] of h.values) held.push([st[2], st[3]]);
  // The distinct days active in each hour of day, as a bit per day from the first one (the recent
  // rows span hourlyDays, 14 by default): a union of three hours is an OR, its size a popcount.
  // Rows over more than 31 days (another configuration) are counted with sets, as the same union.
  // The rows before the window (BaselineView.hourly), read in place: indexed loops, no tuple
  // destructured per row (the finish runs this for every identity, without TurboFan: scan/tiering.ts).
  const all = p.hourly;
  const wHour = Math.floor(b.windowStart / HOUR);
  let minDay = Infinity;
  let maxDay = -Infinity;
  for (let i = 0; i < all.length; i++) {
    const hi = all[i]![0];
    if (!(hi < wHour)) continue;
    const d = Math.floor((hi * HOUR) / DAY);
    if (d < minDay) minDay = d;
    if (d > maxDay) maxDay = d;
  }
  const bits = new Array<number>(24).fill(0);
  let sets: Array<Set<number>> | undefined;
  if (maxDay - minDay >= 31) sets = Array.from({ length: 24 }, () => new Set<number>());
  for (let i = 0; i < all.length; i++) {
    const hi = all[i]![0];
    if (!(hi < wHour)) continue;
    const t = hi * HOUR;
    if (held.length > 0 && heldAt(held, t)) continue;
    const d = Math.floor(t / DAY);
    if (sets) sets[hi % 24]!.add(d);
    else bits[hi % 24]! |= 1 << (d - minDay);
  }
  let recentDays: number;
  // Distinct recent days active within an hour of each hour of day.
  const near = (h: number): number => {
    if (!sets) return popcount(bits[(h + 23) % 24]! | bits[h]! | bits[(h + 1) % 24]!);
    const u = new Set<number>();
    for (const k of [(h + 23) % 24, h, (h + 1) % 24]) for (const d of sets[k]!) u.add(d);
    return u.size;
  };
  if (sets) {
    const all = new Set<number>();
    for (const s of sets) for (const d of s) all.add(d);
    recentDays = all.size;
  } else recentDays = popcount(bits.reduce((a, x) => a | x, 0));
  const daysNear: number[] = [];
  let usualByDays = 0;
  for (let h = 0; h < 24; h++) {
    const u = near(h);
    daysNear.push(u);
    if (u >= USUAL_DAYS) usualByDays++;
  }
  // Usual on recent days alone at nearly all hours: all hours (the older activity's shares only add
  // usual hours), without decaying every recent row (a Math.pow each) for them. Busy identities
  // (most rows) end here.
  if (usualByDays >= ALL_HOURS) return undefined;
  // Older activity: the decayed hours of day minus the recent rows (decayed the same way).
  const old = p.hours.slice();
  for (let i = 0; i < all.length; i++) {
    const row = all[i]!;
    const hi = row[0];
    old[hi % 24]! -= row[1] * decayFactor(p.trainedUntil - hi * HOUR, b.cfg);
  }
  for (let h = 0; h < 24; h++) old[h] = Math.max(0, old[h]!);
  const oldTotal = old.reduce((a, x) => a + x, 0);
  const kind: HourKind[] = [];
  const oldNear: number[] = [];
  for (let h = 0; h < 24; h++) {
    const u = daysNear[h]!;
    // Summed in the order (h - 1, h, h + 1), from 0.
    const share = oldTotal >= OLD_MIN_EVENTS ? (0 + old[(h + 23) % 24]! + old[h]! + old[(h + 1) % 24]!) / oldTotal : 0;
    oldNear.push(share);
    kind.push(u >= USUAL_DAYS || share >= USUAL_SHARE ? "usual" : u === 0 && share < NEVER_SHARE ? "never" : "rare");
  }
  const usualHours = kind.flatMap((k, h) => (k === "usual" ? [h] : []));
  if (usualHours.length >= ALL_HOURS) return undefined;
  return { kind, daysNear, oldNear, recentDays, usualHours };
}

/** Whether an hour starting at `t` overlaps a held span [first, last] (hours touching held values do not count). */
function heldAt(held: ReadonlyArray<readonly [number, number]>, t: number): boolean {
  for (let i = 0; i < held.length; i++) {
    const h = held[i]!;
    if (t + HOUR > h[0] && t <= h[1]) return true;
  }
  return false;
}

/** Bits set in a 32-bit number. */
function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}

export interface OffHours {
  pattern: HourPattern;
  /** UTC hours of day of the window, never seen in the subject's history, with its activity there. */
  hours: number[];
  /** Events in those hours (bucket counts), their first and last time, and up to 20 ids. */
  n: number;
  first: number;
  last: number;
  ids: string[];
  /** Hour indexes (floor(ms / HOUR)) of the off-hour activity. */
  hourIndexes: Set<number>;
}

/**
 * The window's activity in hours the subject has never worked at, or undefined. `ownsId` keeps the
 * events of the subject only (a role's sessions that name no person); `win.geo` gives the places.
 */
export function offHours(b: BaselineView, win: IdentityWindow, ownsId: (id: string) => boolean = () => true): OffHours | undefined {
  const pattern = hourPattern(b);
  // No hour never seen: nothing to count (most subjects).
  if (!pattern?.kind.includes("never")) return undefined;
  // Hours spent in a new or recently first seen country: another time zone (found once a bucket
  // falls in an hour never seen).
  let travelHours: Set<number> | undefined;
  const travel = (): Set<number> => {
    const out = new Set<number>();
    for (const g of win.geo) {
      const cc = g.geo?.country;
      if (!cc || !ownsId(g.eventId)) continue;
      const st = b.stat("country", cc);
      // New, or first seen lately and not where the history began.
      const since = b.profile?.first ?? -Infinity;
      if (!st || (st[2] >= b.windowStart - TRAVEL_DAYS * DAY && st[2] > since + DAY)) out.add(Math.floor(g.time / HOUR));
    }
    return out;
  };
  let n = 0;
  let first = Infinity;
  let last = -Infinity;
  const ids: string[] = [];
  const hours = new Set<number>();
  const hourIndexes = new Set<number>();
  for (const bk of win.buckets) {
    const hi = Math.floor(bk.start / HOUR);
    if (pattern.kind[hi % 24] !== "never" || (travelHours ??= travel()).has(hi)) continue;
    const mine = bk.ids.filter(ownsId);
    if (mine.length === 0) continue;
    // A bucket whose listed ids are all the subject's counts whole; otherwise only its listed ids.
    n += mine.length === bk.ids.length ? bk.n : mine.length;
    first = Math.min(first, bk.start);
    last = Math.max(last, Math.min(bk.start + BUCKET - 1, win.last));
    hours.add(hi % 24);
    hourIndexes.add(hi);
    for (const id of mine) if (ids.length < 20) ids.push(id);
  }
  if (n === 0) return undefined;
  return { pattern, hours: [...hours].sort((a, b) => a - b), n, first, last, ids, hourIndexes };
}

/** "08-17 UTC" style ranges of usual hours. */
export function hourRanges(hours: readonly number[]): string {
  if (hours.length === 0) return "no usual hours";
  const set = new Set(hours);
  const out: string[] = [];
  for (let h = 0; h < 24; h++) {
    if (!set.has(h) || set.has((h + 23) % 24)) continue;
    let e = h;
    while (set.has((e + 1) % 24) && (e + 1) % 24 !== h) e = (e + 1) % 24;
    out.push(e === h ? pad(h) : `${pad(h)}-${pad(e)}`);
  }
  if (out.length === 0) return "all hours";
  return `${out.join(", ")} UTC`;
}

const pad = (h: number) => String(h).padStart(2, "0") + ":00";
