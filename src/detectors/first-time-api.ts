/**
 * first-time-api: an identity calls an API it has never called before, in a service it already
 * uses (a new service is `first-time-service`'s finding, with its APIs listed there).
 *
 * Score = 100 x weight(API) x (f + (1 - f) x exp(-r)), where r is the identity's smoothed rate of
 * new APIs per active day (lib/novelty.ts) and f = 0.25 for APIs that change identities, keys,
 * logging or sharing (so that even a CI role that always tries new APIs gets a low finding for its
 * first CreateAccessKey), 0 otherwise. A first Describe* by a busy CI role scores about 1 and is
 * dropped; a first iam:CreateAccessKey by a role that never changes scores about 99 (high).
 * Nothing is raised while the identity is still learning.
 */
import { forPerson, personNoun, subjectsOf, type Subject } from "./lib/people.js";
import type { DetectorContext, FindingDraft, IdentityWindow, WindowDetector } from "./types.js";
import { fmtNum } from "./lib/stats.js";
import { API_WEIGHT, apiClass, finishNovelty, identityNoun, isAwsManaged, severityOf, smoothedRate, surprise } from "./lib/novelty.js";

/** More than this many new APIs in one window are listed in the top finding's evidence instead. */
const MAX_FINDINGS = 10;

export const firstTimeApi: WindowDetector = {
  id: "first-time-api",
  kind: "window",
  title: "First call to an API by this identity",
  description:
    "The identity called an API it had not called before in its history, in a service it already uses. " +
    "Graded by how often the identity meets new APIs (a CI role that often tries new APIs scores lower) and by what the API can do " +
    "(identity, keys, logging, sharing and organisation changes above other writes, writes above reads).",
  severity: "medium",
  cites: "The window's calls of the new API (up to 5, earliest first).",
  attack: ["T1098", "T1078.004"],
  investigate: [
    "Was this change planned? Look for a deployment, a ticket or a pull request that introduces the API.",
    "Read the request parameters of the listed events: which resource, which user or key, which policy?",
    "Check where the call came from (source IP, user agent) against the identity's usual networks and tools.",
    "If the identity is a role, find who assumed it (sts:AssumeRole events with the session name).",
  ],
  falsePositives: [
    "New features or infrastructure rolled out by the team that owns the identity.",
    "A person doing a task they rarely do (yearly key rotation, a one-off migration).",
    "Console pages that call APIs in the background the first time a page is opened.",
  ],
  detect(win: IdentityWindow, ctx: DetectorContext): FindingDraft[] {
    if (isAwsManaged(win.principal)) return [];
    const out: FindingDraft[] = [];
    for (const s of subjectsOf(win, ctx)) for (const d of judge(s, win.principal)) out.push(forPerson(d, s, win.principal));
    return out;
  },
};

function judge(subject: Subject, rolePrincipal: IdentityWindow["principal"]): FindingDraft[] {
  const win = subject.win;
  if (subject.learning) return [];
  const b = subject.baseline;
  // Asked only when something is new (most identities meet nothing new in a window).
  let rates: { rawRate: number; rate: number; s: number; summary: string } | undefined;
  const history = () => {
    if (!rates) {
      const rate = smoothedRate(b, "api");
      rates = { rawRate: b.noveltyRate("api"), rate, s: surprise(rate), summary: b.summary() };
    }
    return rates;
  };
  const noun = personNoun(subject, identityNoun(rolePrincipal));
  const scored: Array<{ score: number; draft: FindingDraft }> = [];
  for (const [api, st] of win.apis) {
    if (b.known("api", api)) continue;
    const colon = api.indexOf(":");
    const service = colon > 0 ? api.slice(0, colon) : api;
    if (!b.known("service", service)) continue;
    const { rawRate, rate, s, summary } = history();
    const cls = apiClass(api);
    const w = API_WEIGHT[cls];
    const floor = w >= 0.6 ? 0.25 : 0;
    const failedOnly = st.n > 0 && st.err >= st.n;
    let score = 100 * w * (floor + (1 - floor) * s);
    if (failedOnly) score *= 0.8;
    const routineForRole = subject.role?.known("api", api) === true;
    if (routineForRole) score *= 0.35;
    const severity = severityOf(score);
    if (!severity) continue;
    const calls = `${st.n} call${st.n === 1 ? "" : "s"}${st.denied ? `, ${st.denied} denied` : st.err ? `, ${st.err} failed` : ""}`;
    const why =
      `first call to ${api} by ${noun} in ${summary}; ` +
      `it meets a new API on about ${fmtNum(100 * (1 - Math.exp(-rate)))}% of active days (novelty rate ${fmtNum(rawRate)} new APIs/day). ` +
      `${cls} API, ${calls} in this window.` +
      (routineForRole ? " Other people on this role call it (lowered)." : "");
    const draft: FindingDraft = {
      severity,
      score: Math.round(score),
      title: `First ${api} by ${noun.replace(/^(this|the) /, "")}`,
      why,
      fingerprint: [api],
      holds: [["api", api]],
      eventIds: st.ids.slice(),
      firstSeen: st.first,
      lastSeen: st.last,
      count: st.n,
      evidence: {
        api,
        apiClass: cls,
        calls: st.n,
        errors: st.err,
        denied: st.denied,
        noveltyRate: Number(rawRate.toFixed(3)),
        pNewApiPerDay: Number((1 - Math.exp(-rate)).toFixed(3)),
        knownApis: b.distinct("api"),
        knownServices: b.distinct("service"),
        historyDays: Math.round(b.historyDays),
      },
    };
    if (failedOnly) draft.failed = true;
    scored.push({ score, draft });
  }
  return finishNovelty(
    win,
    scored,
    MAX_FINDINGS,
    (rest) => `${rest.length} more APIs were called for the first time in this window (${rest.slice(0, 10).join(", ")}${rest.length > 10 ? ", ..." : ""}).`,
    "moreNewApis",
  );
}

export default firstTimeApi;
