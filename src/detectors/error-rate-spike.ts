/**
 * error-rate-spike: an hour in which the identity failed far more often than it normally does,
 * above all authorisation failures (AccessDenied, AccessDeniedException, UnauthorizedOperation,
 * Client.UnauthorizedOperation, failed console logins: `TrailEvent.denied`) on APIs it never uses.
 *
 * Statistic: the busiest sliding hour of failures in the window (six 10-minute buckets) against
 * the identity's hourly failure counts before the window, with the same test as call-rate-spike
 * (lib/stats.ts `spikeTest`): expected = max(decayed mean of comparable hours, median active hour,
 * 1); a spike needs >= 10 failures, >= 5x expected, above median + 5 MAD, Poisson tail <= 1e-6 and
 * above the busiest baseline hour. Two more triggers, because failures are rarer than calls:
 *  - share: >= 50% of >= 20 calls failed in the hour while the identity's baseline failure share is
 *    under 10% (a working identity does not suddenly fail half its calls);
 *  - denied on unknown APIs: >= 10 denied calls on >= 5 APIs the identity has never called. This is
 *    the strongest signal (someone probing what stolen credentials can do) and is rated high.
 * At cold start (learning, or under 2 days of hourly history) only a storm counts: >= 20 denied
 * calls across >= 5 distinct APIs within an hour (recon pattern) is medium, and >= 25 denied calls
 * making up >= 80% of the hour's calls is low.
 */
import { HOUR } from "../baseline/profile.js";
import type { Bucket, DetectorContext, FindingDraft, IdentityWindow, WindowDetector, WinStat } from "./types.js";
import { bestSlidingWindow, fmtNum, fmtP, hourlyBaseline, spikeTest, type SpikeResult, type HourlyBaseline } from "./lib/stats.js";
import { identityNoun, isAwsManaged, severityOf } from "./lib/novelty.js";
import { spreadIds } from "./lib/util.js";

export const ERROR_SPIKE = {
  minCount: 10,
  minRatio: 5,
  madK: 5,
  maxP: 1e-6,
  overMax: 1,
  minSpanHours: 48,
  share: { minCalls: 20, minShare: 0.5, maxBaselineShare: 0.1, minErrors: 10 },
  unknown: { minApis: 5, minDenied: 10 },
  cold: { minDenied: 20, minApis: 5, allDenied: 25, allShare: 0.8 },
} as const;

function hhmm(t: number): string {
  return new Date(t).toISOString().slice(11, 16);
}

export const errorRateSpike: WindowDetector = {
  id: "error-rate-spike",
  kind: "window",
  title: "Failed and denied calls far above this identity's normal",
  description:
    "In one hour the identity's failed calls, and in particular AccessDenied / UnauthorizedOperation errors, rose far above its own history. " +
    "Denied calls on APIs the identity never uses are the typical trace of someone testing what stolen credentials can do.",
  severity: "medium",
  cites:
    "Failed calls of the worst hour only: of its 10-minute buckets with more failures than twice their expected share, up to 20 failed calls taken in turn from each; first/last seen are those buckets' bounds.",
  attack: ["T1078.004", "T1580", "T1087.004", "T1110"],
  investigate: [
    "Which APIs were denied (see evidence)? A sweep across many services is reconnaissance, not a broken deployment.",
    "Check the source IP and user agent of the denied calls: the identity's usual tools, or something new (a CLI, a pentest tool)?",
    "For failed console logins: was MFA used, and from where? Are other users failing from the same address?",
    "If it looks like probing: deactivate the access key or revoke the role's sessions, then look for what succeeded.",
  ],
  falsePositives: [
    "A deployment with a missing permission, retried in a loop.",
    "A policy change (SCP, permission boundary) that removed permissions an application still uses.",
    "Security scanners or posture tools running with a read-only role that lacks some permissions.",
  ],
  detect(win: IdentityWindow, ctx: DetectorContext): FindingDraft[] {
    if (isAwsManaged(win.principal) || win.errors === 0) return [];
    // The hour with the most failures and the hour with the most denials may differ (a retry storm
    // in the afternoon, a recon sweep at night): evaluate both, keep the stronger finding.
    const byErr = bestSlidingWindow(win.buckets, (x) => x.err);
    const byDenied = bestSlidingWindow(win.buckets, (x) => x.denied);
    const out: FindingDraft[] = [];
    const hours: number[] = [];
    for (const best of [byErr, byDenied]) {
      if (!best || best.sum === 0 || hours.includes(best.start)) continue;
      hours.push(best.start);
      const d = evaluate(win, ctx, { ...best, sum: best.members.reduce((a, x) => a + x.err, 0) });
      if (d) out.push(d);
    }
    out.sort((x, y) => (y.score ?? 0) - (x.score ?? 0));
    return out.slice(0, 1);
  },
};

function evaluate(win: IdentityWindow, ctx: DetectorContext, best: { start: number; end: number; sum: number; members: Bucket[] }): FindingDraft | undefined {
  const b = ctx.baseline;
  const calls = best.members.reduce((a, x) => a + x.n, 0);
  const denied = best.members.reduce((a, x) => a + x.denied, 0);
  const inHour = (st: WinStat) => st.last >= best.start && st.first < best.end;
  const deniedApis = [...win.apis].filter(([, st]) => st.denied > 0 && inHour(st)).sort((x, y) => y[1].denied - x[1].denied);
  // Below every trigger whatever the history (most identities' worst hours): the spike and the
  // share need minCount / share.minErrors failures, the unknown APIs unknown.minApis denied APIs,
  // the cold start cold.minDenied or cold.allDenied denied calls.
  const E = ERROR_SPIKE;
  if (best.sum < Math.min(E.minCount, E.share.minErrors) && deniedApis.length < E.unknown.minApis && denied < Math.min(E.cold.minDenied, E.cold.allDenied)) return undefined;
  const span = b.hourlySpan();
  const hourly = b.hourly();
  const cold = ctx.learning || span < ERROR_SPIKE.minSpanHours || hourly.length < 3;
  const noun = identityNoun(win.principal);
  const apiList = (xs: Array<[string, WinStat]>) =>
    xs
      .slice(0, 8)
      .map(([api, st]) => `${api} (${st.denied})`)
      .join(", ") + (xs.length > 8 ? `, and ${xs.length - 8} more` : "");
  const codes = [...win.errorCodes].sort((x, y) => y[1].n - x[1].n).slice(0, 5);
  const codeText = codes.map(([c, st]) => `${c} x${st.n}`).join(", ");
  const span1 = `between ${hhmm(best.start)} and ${hhmm(best.end)} UTC`;

  let score = 0;
  let title = "";
  let why = "";
  let unknownDenied: Array<[string, WinStat]> = [];
  let res: SpikeResult | undefined;
  let base: HourlyBaseline | undefined;
  let shareTrig = false;
  if (cold) {
    const c = ERROR_SPIKE.cold;
    if (denied >= c.minDenied && deniedApis.length >= c.minApis) {
      score = 50;
      title = `Denied-call storm: ${denied} denied calls on ${deniedApis.length} APIs in an hour`;
    } else if (denied >= c.allDenied && denied >= c.allShare * calls) {
      score = 28;
      title = `Almost every call denied: ${denied} of ${calls} in an hour`;
    } else return undefined;
    why =
      `${denied} denied of ${calls} calls by ${noun} ${span1} across ${deniedApis.length} APIs: ${apiList(deniedApis)}` +
      `${codeText ? `; errors: ${codeText}` : ""}. The identity has ${b.historyDays > 0 ? "too little history" : "no history"} for a baseline ` +
      `(${b.summary()}), so only the absolute storm thresholds apply (>= ${c.minDenied} denied across >= ${c.minApis} APIs in an hour).`;
  } else {
    base = hourlyBaseline(hourly, span, Math.floor(ctx.window.start / HOUR), Math.floor(best.start / HOUR), 2);
    res = spikeTest(best.sum, base, ERROR_SPIKE);
    const sh = ERROR_SPIKE.share;
    const baseShare = base.totalCalls > 0 ? base.total / base.totalCalls : 0;
    shareTrig = calls >= sh.minCalls && best.sum >= sh.minErrors && best.sum / calls >= sh.minShare && baseShare < sh.maxBaselineShare;
    unknownDenied = deniedApis.filter(([api]) => !b.known("api", api));
    const unknownCount = unknownDenied.reduce((a, [, st]) => a + st.denied, 0);
    const unk = unknownDenied.length >= ERROR_SPIKE.unknown.minApis && unknownCount >= ERROR_SPIKE.unknown.minDenied;
    if (!res.spike && !shareTrig && !unk) return undefined;
    const parts: string[] = [];
    if (unk) {
      score = res.spike || shareTrig ? 78 : 70;
      title = `Denied calls on ${unknownDenied.length} APIs this identity never uses`;
      parts.push(`${unknownCount} denied calls on ${unknownDenied.length} APIs it has never called: ${apiList(unknownDenied)}`);
    } else {
      score = res.spike ? 50 : 40;
      title = `Error spike: ${best.sum} failed calls in an hour (${fmtNum(res.ratio)}x normal)`;
    }
    parts.push(
      `${best.sum} failed of ${calls} calls (${denied} denied) by ${noun} ${span1} against an expected ${fmtNum(res.expected)} failures ` +
        `(decayed mean of comparable hours ${fmtNum(base.comparableMean)}, median active hour ${fmtNum(base.medianActive)}, busiest hour ${base.maxHour}; ` +
        `${fmtNum(res.ratio)}x, Poisson P ${fmtP(res.p)}); baseline failure share ${fmtNum(100 * baseShare)}% of ${base.totalCalls} calls in ${Math.round(span / 24)} days`,
    );
    if (codeText) parts.push(`errors: ${codeText}`);
    why = parts.join("; ") + ".";
  }
  const severity = severityOf(score);
  if (!severity) return undefined;
  // Evidence: failed calls of the worst hour's buckets that carry the excess (more failures than
  // twice a bucket's expected share), taken in turn from each of them.
  const perBucket = (res?.expected ?? 0) / 6;
  const hot = best.members.filter((m) => m.err > 0 && m.err > 2 * perBucket);
  const burst = hot.length > 0 ? hot : best.members.filter((m) => m.err > 0);
  const ids = spreadIds(burst.map((m) => m.errIds));
  const burstStart = burst.length > 0 ? burst[0]!.start : best.start;
  const burstEnd = burst.length > 0 ? burst[burst.length - 1]!.start + 600_000 : best.end;
  const draft: FindingDraft = {
    severity,
    score,
    title,
    why,
    fingerprint: ["errors"],
    eventIds: ids,
    firstSeen: burstStart,
    lastSeen: Math.min(burstEnd, Math.max(burstStart, win.last)),
    count: best.sum,
    evidence: {
      hourStart: new Date(best.start).toISOString(),
      failed: best.sum,
      denied,
      calls,
      deniedApis: deniedApis.slice(0, 20).map(([api, st]) => ({ api, denied: st.denied, known: !cold && b.known("api", api) })),
      neverUsedDeniedApis: unknownDenied.map(([api]) => api),
      errorCodes: codes.map(([code, st]) => ({ code, count: st.n })),
      coldStart: cold,
      ...(res && base
        ? {
            expected: Number(res.expected.toFixed(2)),
            ratio: Number(res.ratio.toFixed(1)),
            poissonP: res.p,
            spike: res.spike,
            shareTrigger: shareTrig,
            maxBaselineHour: base.maxHour,
          }
        : {}),
    },
  };
  if (calls > 0 && best.sum >= calls) draft.failed = true;
  return draft;
}

export default errorRateSpike;
