/**
 * unusual-hour: a person (or an identity that names no person) active at an hour of day it has
 * never worked at, judged against the person first (lib/hours.ts says how the hour pattern is
 * read from the baseline and when an hour is "never seen").
 *
 * An hour alone is weak evidence: people work late, incidents happen at night, and an attacker
 * is caught by what they do more than by when. So this finding is low at most, and only when the
 * subject has never worked within an hour of it (7 or more active days of history; identities
 * that work at nearly all hours, rare hours and hours spent in another time zone are not
 * judged). Its weight is as a factor: other findings of medium or higher about the same person's
 * (or identity's) activity that lies wholly in such hours are raised (`raiseForHours`, applied by
 * the scan to every detector's drafts).
 */
import { hourRanges, offHours, type OffHours } from "./lib/hours.js";
import { forPerson, personNoun, subjectsOf, type Subject } from "./lib/people.js";
import { identityNoun, isAwsManaged, plural } from "./lib/novelty.js";
import type { DetectorContext, FindingDraft, IdentityWindow, WindowDetector } from "./types.js";
import { SEVERITY_RANK } from "../events/types.js";
import { SEVERITY_SCORE } from "./types.js";

/** Off-hour events below this many are not a session of work (a phone app's refresh). */
const MIN_EVENTS = 3;
/**
 * A finding raised by the hours: medium becomes high (score at least HIGH_SCORE), and the score is
 * combined as 1 - (1 - s)(1 - HOUR_WEIGHT), kept below critical.
 */
const HOUR_WEIGHT = 0.3;
const HIGH_SCORE = 65;
const MAX_RAISED = 90;

export const unusualHour: WindowDetector = {
  id: "unusual-hour",
  kind: "window",
  title: "Activity at an hour this person never works",
  description:
    "The person (on a shared role, their own baseline) or identity acted at an hour of day it has never been active at, within an hour, " +
    "in its history (distinct days in the last 14 days, share of older activity). Low on its own; it raises other findings of medium or " +
    "higher about the same activity.",
  severity: "low",
  cites: "The window's events in the hours the person (or identity) never worked at (up to 20), never those in its usual hours.",
  attack: ["T1078.004"],
  investigate: [
    "Ask the person whether they worked at that time (an incident, a deadline, travel they did not mention).",
    "Look at the other findings of the same session: a new network, new APIs or a burst at that hour weigh much more.",
    "Check the source addresses and user agents of the cited events against the person's usual ones.",
  ],
  falsePositives: ["An incident or a release at night.", "Travel or a move to another time zone.", "A new working pattern (a new team, on-call duty)."],
  detect(win: IdentityWindow, ctx: DetectorContext): FindingDraft[] {
    if (isAwsManaged(win.principal)) return [];
    const out: FindingDraft[] = [];
    for (const s of subjectsOf(win, ctx)) {
      if (s.learning) continue;
      const off = subjectOffHours(s);
      if (!off || off.n < MIN_EVENTS) continue;
      out.push(forPerson(draftFor(s, off, win.principal), s, win.principal));
    }
    return out;
  },
};

/** Each subject's off hours, once (this detector and the hours factor of every other ask). */
const offHoursBySubject = new WeakMap<Subject, OffHours | null>();

/** A subject's off-hour activity (its own events only: a role's residual excludes the judged people's). */
export function subjectOffHours(s: Subject): OffHours | undefined {
  const known = offHoursBySubject.get(s);
  if (known !== undefined) return known ?? undefined;
  const off = offHoursOf(s);
  offHoursBySubject.set(s, off ?? null);
  return off;
}

function offHoursOf(s: Subject): OffHours | undefined {
  if (s.person) return offHours(s.baseline, s.win);
  let mine: Set<string> | undefined;
  return offHours(s.baseline, s.win, (id) => {
    const ss = s.win.idSessions?.get(id);
    return ss === undefined || (mine ??= new Set(s.win.sessions)).has(ss);
  });
}

function describe(off: OffHours): string {
  const p = off.pattern;
  const at = off.hours.map((h) => `${String(h).padStart(2, "0")}:00`).join(", ");
  return (
    `at ${at} UTC, an hour it had never worked within an hour of: active on ${plural(p.recentDays, "day")} of the last 14 ` +
    `(none within an hour of it) and usually ${hourRanges(p.usualHours)}`
  );
}

function draftFor(s: Subject, off: OffHours, role: IdentityWindow["principal"]): FindingDraft {
  const noun = personNoun(s, identityNoun(role));
  return {
    severity: "low",
    score: SEVERITY_SCORE.low,
    title: `${s.person ? s.person.name : noun.replace(/^(this|the) /, "")} active at an unusual hour`,
    why: `${plural(off.n, "call")} by ${noun} ${describe(off)}. An hour alone is weak evidence (low); it raises this activity's other findings.`,
    fingerprint: ["off-hours"],
    eventIds: off.ids,
    firstSeen: off.first,
    lastSeen: off.last,
    count: off.n,
    evidence: { hoursUtc: off.hours, usualHoursUtc: off.pattern.usualHours, recentActiveDays: off.pattern.recentDays },
  };
}

/**
 * The hour as a factor: drafts of medium or high (never critical, never below medium) about a
 * subject's activity that lies wholly in its off hours (first and last seen) are raised one step at
 * most: medium to high, and the score to 1 - (1 - s)(1 - 0.3) (at least 65, at most 90), with the
 * reason in their why. `offOf` says whose hours judge a draft (the person's or the role's rest).
 */
export function raiseForHours(drafts: readonly FindingDraft[], offOf: (d: FindingDraft) => OffHours | undefined): FindingDraft[] {
  return drafts.map((d) => {
    if (SEVERITY_RANK[d.severity] < SEVERITY_RANK.medium || d.severity === "critical") return d;
    const off = offOf(d);
    if (!off) return d;
    if (!off.hourIndexes.has(Math.floor(d.firstSeen / 3_600_000)) || !off.hourIndexes.has(Math.floor(d.lastSeen / 3_600_000))) return d;
    const s = d.score ?? SEVERITY_SCORE[d.severity];
    const raised = Math.min(MAX_RAISED, Math.max(HIGH_SCORE, Math.round(100 * (1 - (1 - s / 100) * (1 - HOUR_WEIGHT)))));
    if (raised <= s) return d;
    return {
      ...d,
      score: raised,
      severity: "high",
      why: `${d.why} Raised: ${describe(off)} (unusual-hour).`,
      evidence: { ...d.evidence, offHoursUtc: off.hours },
    };
  });
}

export default unusualHour;

/**
 * Whose hours judge a draft of this window: the person it names (a judged person on a shared
 * role: the draft's `person`, or the person of the event for event detectors), else the identity's
 * sessions that name no judged person. Computed on first use.
 */
export function offHoursJudge(win: IdentityWindow, ctx: DetectorContext): (d: FindingDraft, person?: string) => OffHours | undefined {
  let byPerson: Map<string | undefined, OffHours | undefined> | undefined;
  return (d, person) => {
    if (!byPerson) {
      byPerson = new Map();
      if (!isAwsManaged(win.principal)) for (const s of subjectsOf(win, ctx)) if (!s.learning) byPerson.set(s.person?.name, subjectOffHours(s));
    }
    const name = d.person?.name ?? person;
    return name !== undefined && byPerson.has(name) ? byPerson.get(name) : byPerson.get(undefined);
  };
}
