/**
 * Never learn from an attack. A finding of medium or higher names the baseline values it is about
 * (`FindingDraft.holds`: the new network, country, API, region...). While it is open, those values
 * stay out of the identity's stored baseline: they are kept aside in the profile's `held` list
 * instead of `dims`, so the next scan still finds them new (the same attacker's server on day two
 * is still a new network). When the finding is acknowledged as expected or suppressed, the next
 * scan folds them into `dims` as ordinary history.
 *
 * Held back are values first seen in the scan's window (a value the baseline already knew was
 * learned before the finding and stays). Rates and volumes (hourly counts, read breadth) are not
 * held back. Bounded: at most MAX_HELD findings per identity and MAX_VALUES values each; beyond
 * that the oldest held finding is dropped, and its values stay unknown until seen again.
 */
import { SEVERITY_RANK } from "../events/types.js";
import { copyStats, statOf, type Dim, type HeldBack, type Profile, type Stat } from "./profile.js";

export const MAX_HELD = 20;
export const MAX_VALUES = 20;
/** Days kept per held value (the days it was seen on while held). */
export const MAX_HELD_DAYS = 30;

/** The distinct days (epoch days) the window saw a value on, where the scan knows them (countries). */
export type SeenDays = (dim: Dim, value: string) => readonly number[] | undefined;

function unionDays(a: readonly number[] | undefined, b: readonly number[] | undefined): number[] | undefined {
  if (!a && !b) return undefined;
  return [...new Set([...(a ?? []), ...(b ?? [])])].sort((x, y) => x - y).slice(-MAX_HELD_DAYS);
}

/**
 * The distinct days a held value was seen on before `before` (epoch ms): its recorded days, or for
 * values held by an older build (no days), the days of its first and last sighting.
 */
export function heldDaysOf(p: Profile | undefined, dim: Dim, value: string, before: number): Set<number> {
  const out = new Set<number>();
  for (const h of p?.held ?? [])
    for (const [d, v, st, days] of h.values) {
      if (d !== dim || v !== value) continue;
      for (const day of days ?? [Math.floor(st[2] / 86_400_000), Math.floor(st[3] / 86_400_000)]) if (day * 86_400_000 < before) out.add(day);
    }
  return out;
}

/** A stored finding's status (absent: never stored, i.e. open). */
export type FindingStatusOf = (id: string) => string | undefined;

function released(status: string | undefined): boolean {
  return status === "acknowledged" || status === "suppressed";
}

/**
 * The stored profile with the held values of findings since acknowledged or suppressed folded
 * into `dims` (the others still held). Returns the same object when nothing changes.
 */
export function releaseHeld(p: Profile | undefined, statusOf: FindingStatusOf | undefined): Profile | undefined {
  if (!p?.held || p.held.length === 0 || !statusOf) return p;
  const keep: HeldBack[] = [];
  const free: HeldBack[] = [];
  for (const h of p.held) (released(statusOf(h.finding)) ? free : keep).push(h);
  if (free.length === 0) return p;
  const dims = { ...p.dims } as Profile["dims"];
  for (const h of free) {
    for (const [dim, value, s] of h.values) {
      const rec = (dims[dim] = copyStats(dims[dim]));
      const cur = statOf(rec, value);
      rec[value] = cur ? [cur[0] + s[0], cur[1] + s[1], Math.min(cur[2], s[2]), Math.max(cur[3], s[3])] : [...s];
    }
  }
  const out: Profile = { ...p, dims };
  if (keep.length > 0) out.held = keep;
  else delete out.held;
  return out;
}

export interface HoldRequest {
  finding: string;
  severity: string;
  values: ReadonlyArray<[Dim, string]>;
}

/**
 * Move the values of open findings of medium or higher out of `p.dims` into `p.held` (values
 * first seen at or after `windowStart` only). Mutates and returns `p`.
 */
export function holdBack(p: Profile, requests: readonly HoldRequest[], windowStart: number, now: number, statusOf: FindingStatusOf | undefined, seenDays?: SeenDays): Profile {
  for (const r of requests) {
    if (SEVERITY_RANK[r.severity as keyof typeof SEVERITY_RANK] < SEVERITY_RANK.medium) continue;
    if (statusOf && released(statusOf(r.finding))) continue;
    const taken: HeldBack["values"] = [];
    for (const [dim, value] of r.values.slice(0, MAX_VALUES)) {
      const s = statOf(p.dims[dim], value);
      if (!s || s[2] < windowStart) continue;
      const days = unionDays(seenDays?.(dim, value), undefined);
      taken.push(days ? [dim, value, s, days] : [dim, value, s]);
      delete p.dims[dim][value];
    }
    if (taken.length === 0) continue;
    const held = (p.held ??= []);
    const cur = held.find((h) => h.finding === r.finding);
    if (!cur) held.push({ finding: r.finding, since: now, values: taken });
    else {
      for (const [dim, value, s, days] of taken) {
        const i = cur.values.findIndex(([d, v]) => d === dim && v === value);
        const prev = i >= 0 ? cur.values[i] : undefined;
        const old = prev?.[2];
        const merged: Stat = old ? [old[0] + s[0], old[1] + s[1], Math.min(old[2], s[2]), Math.max(old[3], s[3])] : s;
        const allDays = unionDays(prev?.[3], days);
        const entry: HeldBack["values"][number] = allDays ? [dim, value, merged, allDays] : [dim, value, merged];
        if (i >= 0) cur.values[i] = entry;
        else if (cur.values.length < MAX_VALUES) cur.values.push(entry);
      }
    }
    if (held.length > MAX_HELD) held.splice(0, held.length - MAX_HELD);
  }
  return p;
}

/** A sentence for a finding's `why` when the identity's baseline excludes held-back values. */
export function heldNote(p: Pick<Profile, "held"> | undefined): string {
  if (!p?.held || p.held.length === 0) return "";
  // Values come from records (attacker-controlled): quoted like the detectors' `q()`.
  const quote = (v: string) => "`" + v.replace(/[`\r\n]/g, " ").slice(0, 60) + "`";
  const values = p.held.flatMap((h) => h.values.map(([d, v]) => `${d} ${quote(v)}`));
  const since = new Date(Math.min(...p.held.map((h) => h.since))).toISOString().slice(0, 10);
  return (
    ` This baseline excludes ${values.length} value${values.length === 1 ? "" : "s"} held back since ${since} because ${p.held.length === 1 ? "an open finding is" : `${p.held.length} open findings are`} about them ` +
    `(${values.slice(0, 5).join(", ")}${values.length > 5 ? ", …" : ""}): they are learned only once the finding is acknowledged or suppressed.`
  );
}
