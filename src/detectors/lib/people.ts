/**
 * One baseline per person on shared roles. A role used by many people (an IAM Identity Center
 * permission set, a SAML/OIDC federated role, any role whose session names are people) keeps its
 * own baseline and, beside it, one per person (Principal.person: the session's sourceIdentity or
 * a person-like session name). Novelty detectors judge what each person did against that
 * person's baseline first ("nina normally works from the US and DE"), with the role's baseline
 * as context: a value new to the person but routine for the role (the office VPN others use, an
 * API the team calls) weighs less. Sessions that name no person (CI, services), and people whose
 * own baseline is still learning, are judged against the role's baseline as before.
 *
 * `subjectsOf` splits a role's window that way: one subject per judged person (their own
 * window) and one for the rest (the role's window without the judged people's events).
 */
import type { BaselineView } from "../../baseline/view.js";
import type { Principal } from "../../events/types.js";
import type { DetectorContext, FindingDraft, IdentityWindow, PersonSlice, WinStat } from "../types.js";

export interface Subject {
  win: IdentityWindow;
  baseline: BaselineView;
  learning: boolean;
  /** A person judged against their own baseline; `role` is then the role's baseline. */
  person?: PersonSlice;
  role?: BaselineView;
}

/**
 * The last split made, with what it was made of (several detectors ask for the same one, for one
 * window after another). One entry, not a WeakMap keyed by window: a WeakMap's values (subjects,
 * baselines) outlived each identity's detection until a full collection, +100 MB of peak RSS at the
 * end of a lean 1M scan (bench-data-memory e1000000-i5000-d14: 480 -> 375 MB without it).
 */
let lastSplit: { win: IdentityWindow; people: DetectorContext["people"]; baseline: BaselineView; learning: boolean; subjects: readonly Subject[] } | undefined;

/**
 * The role's window split into its judged people and the rest (see the file comment). Made once
 * per window and context (the novelty detectors and the hours all ask): the same subjects, which
 * callers only read.
 */
export function subjectsOf(win: IdentityWindow, ctx: DetectorContext): readonly Subject[] {
  const last = lastSplit;
  if (last && last.win === win && last.people === ctx.people && last.baseline === ctx.baseline && last.learning === ctx.learning) return last.subjects;
  const subjects = split(win, ctx);
  lastSplit = { win, people: ctx.people, baseline: ctx.baseline, learning: ctx.learning, subjects };
  return subjects;
}

function split(win: IdentityWindow, ctx: DetectorContext): Subject[] {
  const judged = (ctx.people ?? []).filter((p) => !p.learning);
  if (judged.length === 0) return [{ win, baseline: ctx.baseline, learning: ctx.learning }];
  const out: Subject[] = judged.map((p) => ({ win: p.window, baseline: p.baseline, learning: false, person: p, role: ctx.baseline }));
  const rest = residual(win, judged);
  if (rest.events > 0) out.push({ win: rest, baseline: ctx.baseline, learning: ctx.learning });
  return out;
}

/**
 * The window without the judged people's events: counts minus theirs, ids and places of other
 * sessions only. A value whose listed ids (the earliest five) are all the people's is left out:
 * it cannot be cited (a limit of the window's bounded ids).
 */
function residual(win: IdentityWindow, people: readonly PersonSlice[]): IdentityWindow {
  const sessions = new Set<string>();
  for (const p of people) for (const s of p.window.sessions) sessions.add(s);
  const theirs = (id: string) => {
    const s = win.idSessions?.get(id);
    return s !== undefined && sessions.has(s);
  };
  const minus = (m: Map<string, WinStat>, pick: (w: IdentityWindow) => Map<string, WinStat>): Map<string, WinStat> => {
    // The people's counts of each value, summed over their own values (not each of the role's
    // values looked up in every person's window: a role of many people has many values too).
    // Counts are whole numbers: the order they are taken in does not change the result.
    let counts: ReadonlyMap<string, { n: number; err: number; denied: number }>;
    if (people.length === 1) counts = pick(people[0]!.window);
    else {
      const sums = new Map<string, { n: number; err: number; denied: number }>();
      for (const p of people)
        for (const [k, o] of pick(p.window)) {
          const c = sums.get(k);
          if (c) {
            c.n += o.n;
            c.err += o.err;
            c.denied += o.denied;
          } else sums.set(k, { n: o.n, err: o.err, denied: o.denied });
        }
      counts = sums;
    }
    const out = new Map<string, WinStat>();
    for (const [k, st] of m) {
      let n = st.n,
        err = st.err,
        denied = st.denied;
      const c = counts.get(k);
      if (c) {
        n -= c.n;
        err -= c.err;
        denied -= c.denied;
      }
      if (n <= 0) continue;
      const ids = st.ids.filter((id) => !theirs(id));
      if (ids.length === 0) continue;
      out.set(k, { n, err: Math.max(0, err), denied: Math.max(0, denied), first: st.first, last: st.last, ids });
    }
    return out;
  };
  let events = win.events;
  let mfa = win.mfaEvents ?? 0;
  for (const p of people) {
    events -= p.window.events;
    mfa -= p.window.mfaEvents ?? 0;
  }
  return {
    ...win,
    sessions: win.sessions.filter((s) => !sessions.has(s)),
    events: Math.max(0, events),
    apis: minus(win.apis, (w) => w.apis),
    services: minus(win.services, (w) => w.services),
    regions: minus(win.regions, (w) => w.regions),
    ips: minus(win.ips, (w) => w.ips),
    networks: minus(win.networks, (w) => w.networks),
    countries: minus(win.countries, (w) => w.countries),
    uas: minus(win.uas, (w) => w.uas),
    errorCodes: minus(win.errorCodes, (w) => w.errorCodes),
    geo: win.geo.filter((g) => g.session === undefined || !sessions.has(g.session)),
    mfaEvents: Math.max(0, mfa),
  };
}

/**
 * A draft about a person: shown as the role's session that did the cited events (the most
 * frequent one), named by the person; a distinct finding per person (fingerprint); the values it
 * holds back are held from the person's baseline too.
 */
export function forPerson(d: FindingDraft, s: Subject, role: Principal): FindingDraft {
  const p = s.person;
  if (!p) return d;
  const counts = new Map<string, number>();
  for (const id of d.eventIds) {
    const ss = p.window.idSessions?.get(id);
    if (ss !== undefined) counts.set(ss, (counts.get(ss) ?? 0) + 1);
  }
  let best = p.window.principal.sessionName;
  let bestN = 0;
  for (const [ss, n] of counts) if (n > bestN || (n === bestN && best !== undefined && ss < best)) [best, bestN] = [ss, n];
  const principal: Principal = { ...role };
  if (best !== undefined) principal.sessionName = best;
  return { ...d, fingerprint: [...d.fingerprint, "person", p.name], principal, person: { name: p.name, key: p.key } };
}

/** "nina@example.com (a person on this role)" for a finding's text. */
export function personNoun(s: Subject, noun: string): string {
  return s.person ? `${s.person.name} on ${noun}` : noun;
}
