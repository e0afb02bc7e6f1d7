/**
 * first-time-service: an identity uses an AWS service it has never used before. One finding per
 * new service, listing the new APIs called in it (fingerprint = the service), rather than one
 * finding per API.
 *
 * Score = 100 x w x (f + (1 - f) x exp(-r)) with r the identity's smoothed rate of new *services*
 * per active day, w the weight of the most powerful API called in the service (lib/novelty.ts),
 * plus 0.05 per extra API (up to 0.2: exploring a service broadly is more than one stray call),
 * and f = 0.25 when w >= 0.6. Nothing is raised while the identity is still learning. A sweep over
 * many new services gives the 5 highest-scored findings, the others listed in the top one (the
 * sweep itself is enumeration-burst's and error-rate-spike's finding).
 */
import { forPerson, personNoun, subjectsOf, type Subject } from "./lib/people.js";
import type { DetectorContext, FindingDraft, IdentityWindow, WindowDetector, WinStat } from "./types.js";
import { fmtNum } from "./lib/stats.js";
import { API_WEIGHT, apiClass, finishNovelty, identityNoun, isAwsManaged, severityOf, smoothedRate, surprise } from "./lib/novelty.js";

const LISTED = 10;
/** More new services than this in one window (a sweep) are listed in the top finding instead. */
const MAX_FINDINGS = 5;

export const firstTimeService: WindowDetector = {
  id: "first-time-service",
  kind: "window",
  title: "First use of an AWS service by this identity",
  description:
    "The identity called a service it had never used in its history. One finding per new service lists the APIs called in it. " +
    "Graded by how often the identity starts using new services and by what the APIs called can do.",
  severity: "medium",
  cites: "The window's calls of the new service's APIs (up to 20).",
  attack: ["T1078.004", "T1526"],
  investigate: [
    "Is the service part of a planned change (new application, new infrastructure module)?",
    "Look at the listed APIs: reads only (exploration) or changes (keys, policies, logging, sharing)?",
    "Check the source IP and user agent of the events against the identity's usual networks and tools.",
    "For a role, find who assumed it in the window (sts:AssumeRole with its session name).",
  ],
  falsePositives: [
    "A team adopting a new service, or a new Terraform/CloudFormation module applied by a CI role.",
    "AWS console pages that call another service's APIs in the background.",
    "Service renames or new event sources introduced by AWS.",
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
      const rate = smoothedRate(b, "service");
      rates = { rawRate: b.noveltyRate("service"), rate, s: surprise(rate), summary: b.summary() };
    }
    return rates;
  };
  // The window's APIs by service, and the noun: built once a service is new (most windows have none).
  let byService: Map<string, Array<[string, WinStat]>> | undefined;
  let noun = "";
  const out: Array<{ score: number; draft: FindingDraft }> = [];
  for (const [service, sst] of win.services) {
    if (b.known("service", service)) continue;
    if (!byService) {
      byService = new Map();
      for (const [api, st] of win.apis) {
        const colon = api.indexOf(":");
        const service = colon > 0 ? api.slice(0, colon) : api;
        if (!byService.has(service)) byService.set(service, []);
        byService.get(service)!.push([api, st]);
      }
      noun = personNoun(subject, identityNoun(rolePrincipal));
    }
    const { rawRate, rate, s, summary } = history();
    const apis = (byService.get(service) ?? []).map(([api, st]) => ({ api, st, cls: apiClass(api) }));
    apis.sort((x, y) => API_WEIGHT[y.cls] - API_WEIGHT[x.cls] || y.st.n - x.st.n || (x.api < y.api ? -1 : 1));
    const wMax = apis.length ? API_WEIGHT[apis[0]!.cls] : API_WEIGHT.read;
    const w = Math.min(1, wMax + 0.05 * Math.min(4, Math.max(0, apis.length - 1)));
    const floor = wMax >= 0.6 ? 0.25 : 0;
    const failedOnly = sst.n > 0 && sst.err >= sst.n;
    let score = 100 * w * (floor + (1 - floor) * s);
    if (failedOnly) score *= 0.8;
    const routineForRole = subject.role?.known("service", service) === true;
    if (routineForRole) score *= 0.35;
    const severity = severityOf(score);
    if (!severity) continue;
    const names = apis.slice(0, LISTED).map((a) => a.api.slice(service.length + 1));
    const more = apis.length > LISTED ? ` and ${apis.length - LISTED} more` : "";
    const denied = sst.denied ? `, ${sst.denied} denied` : "";
    const why =
      `first use of ${service} by ${noun} in ${summary}: ${apis.length} API${apis.length === 1 ? "" : "s"} ` +
      `(${names.join(", ")}${more}), ${sst.n} call${sst.n === 1 ? "" : "s"}${denied}; ` +
      `it starts using a new service on about ${fmtNum(100 * (1 - Math.exp(-rate)))}% of active days (novelty rate ${fmtNum(rawRate)} new services/day).` +
      (routineForRole ? " Other people on this role use it (lowered)." : "");
    const ids: string[] = [];
    for (const a of apis) for (const id of a.st.ids) if (ids.length < 20 && !ids.includes(id)) ids.push(id);
    const draft: FindingDraft = {
      severity,
      score: Math.round(score),
      title: `First use of ${service} by ${noun.replace(/^(this|the) /, "")}`,
      why,
      fingerprint: [service],
      holds: [["service", service], ...apis.map((a): ["api", string] => ["api", a.api])],
      eventIds: ids.length ? ids : sst.ids.slice(),
      firstSeen: sst.first,
      lastSeen: sst.last,
      count: sst.n,
      evidence: {
        service,
        apis: apis.map((a) => ({ api: a.api, class: a.cls, calls: a.st.n, denied: a.st.denied })),
        noveltyRate: Number(rawRate.toFixed(3)),
        pNewServicePerDay: Number((1 - Math.exp(-rate)).toFixed(3)),
        knownServices: b.distinct("service"),
        historyDays: Math.round(b.historyDays),
      },
    };
    if (failedOnly) draft.failed = true;
    out.push({ score: draft.score ?? 0, draft });
  }
  return finishNovelty(
    win,
    out,
    MAX_FINDINGS,
    (rest) => `${rest.length} more services were used for the first time in this window (${rest.join(", ")}): a sweep across services.`,
    "moreNewServices",
  );
}

export default firstTimeService;
