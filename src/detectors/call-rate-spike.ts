/**
 * call-rate-spike: an hour in which the identity made far more calls than its own history says is
 * normal.
 *
 * Statistic (lib/stats.ts): the busiest sliding hour of the window (six consecutive 10-minute
 * buckets, so a burst that straddles a clock hour counts whole) is compared with the identity's
 * hourly counts over the recent days before the window (`BaselineView.hourly()`, idle hours = 0).
 * The expected count is the larger of
 *   - the decayed mean of comparable hours (same UTC hour of day +-1 h, half-life 7 days), and
 *   - the median of the identity's active hours (how busy its busy hours are, whatever the time);
 * the hour is a spike only when ALL of these hold:
 *   - at least 60 calls (a person opening two console pages is never a spike),
 *   - at least 4x the expected count (3 calls instead of 0 is not a spike),
 *   - above median + 5 x 1.4826 x MAD of active hours (robust to the skew of CloudTrail counts),
 *   - Poisson P(X >= count | expected) <= 1e-6 (unlikely even for a rate this identity has),
 *   - above 1.25x the busiest hour of the baseline (it has never been this busy recently).
 * The Poisson tail alone is over-confident on bursty counts; the ratio, MAD and max conditions
 * keep it honest. Needs at least 2 days of hourly history: no finding while learning.
 */
import { HOUR } from "../baseline/profile.js";
import type { DetectorContext, FindingDraft, IdentityWindow, WindowDetector } from "./types.js";
import { bestSlidingWindow, fmtNum, fmtP, hourlyBaseline, spikeTest } from "./lib/stats.js";
import { identityNoun, isAwsManaged, severityOf } from "./lib/novelty.js";
import { spreadIds } from "./lib/util.js";

export const CALL_SPIKE = { minCount: 60, minRatio: 4, madK: 5, maxP: 1e-6, overMax: 1.25, minSpanHours: 48 } as const;

function hhmm(t: number): string {
  return new Date(t).toISOString().slice(11, 16);
}

export const callRateSpike: WindowDetector = {
  id: "call-rate-spike",
  kind: "window",
  title: "Call volume far above this identity's normal",
  description:
    "In one hour the identity made many times more calls than its comparable hours and its usual busy hours, more than in any recent hour. " +
    "Automated use of stolen credentials (mass download, resource creation, scripted enumeration) looks like this.",
  severity: "medium",
  cites:
    "Calls of the busiest sliding hour only: of its 10-minute buckets above twice their expected share, the calls of the APIs that grew " +
    "(window count over 3x their usual daily count + 10, or new), up to 20 taken in turn from each bucket; first/last seen are those buckets' bounds.",
  attack: ["T1078.004", "T1530", "T1496"],
  investigate: [
    "Which APIs make up the burst (see evidence)? Reads of data (GetObject, GetSecretValue) or creation of resources (RunInstances)?",
    "Is a batch job, migration or backfill scheduled for this identity at this time?",
    "Check the source IPs and user agents of the burst against the identity's usual ones.",
  ],
  falsePositives: [
    "Batch jobs, backfills, migrations and Terraform applies on large estates.",
    "A retry loop in an application after an outage.",
    "A new workload sharing the identity.",
  ],
  detect(win: IdentityWindow, ctx: DetectorContext): FindingDraft[] {
    if (ctx.learning || isAwsManaged(win.principal)) return [];
    // The busiest hour's calls are some of the window's buckets' calls: fewer than minCount in all
    // of them is no spike, whatever the history (most identities): nothing else is worked out.
    let calls = 0;
    for (const x of win.buckets) calls += x.n;
    if (calls < CALL_SPIKE.minCount) return [];
    const b = ctx.baseline;
    const span = b.hourlySpan();
    const hourly = b.hourly();
    if (span < CALL_SPIKE.minSpanHours || hourly.length < 3) return [];
    const best = bestSlidingWindow(win.buckets, (x) => x.n);
    if (!best || best.sum < CALL_SPIKE.minCount) return [];
    const base = hourlyBaseline(hourly, span, Math.floor(ctx.window.start / HOUR), Math.floor(best.start / HOUR), 1);
    const res = spikeTest(best.sum, base, CALL_SPIKE);
    if (!res.spike) return [];

    let score = 50;
    if (res.ratio >= 20 && best.sum >= 500 && best.sum >= 3 * base.maxHour) score = 68;
    const severity = severityOf(score)!;
    const top = [...win.apis]
      .filter(([, st]) => st.last >= best.start && st.first < best.end)
      .sort((x, y) => y[1].n - x[1].n)
      .slice(0, 5);
    const topText = top.map(([api, st]) => `${api} (${st.n})`).join(", ");
    // Evidence: the hour's buckets that carry the excess (over twice a bucket's expected share),
    // and in them the calls of the APIs that grew (window count above 3x their usual daily count
    // + 10, or never called before); all calls of those buckets when no API stands out.
    const perBucket = res.expected / 6;
    const hot = best.members.filter((m) => m.n > 2 * perBucket + 1);
    const burstBuckets = hot.length > 0 ? hot : best.members;
    const grew = new Set<string>();
    for (const [api, st] of win.apis) {
      const h = b.stat("api", api);
      const perDay = h ? h[0] / Math.max(1, b.activeDays) : 0;
      if (st.n > 3 * perDay + 10) grew.add(api);
    }
    const pick = (m: (typeof burstBuckets)[number]) => m.ids.filter((_, i) => grew.has(m.idApis[i]!));
    let ids = spreadIds(burstBuckets.map(pick));
    if (ids.length === 0) ids = spreadIds(burstBuckets.map((m) => m.ids));
    const burstStart = burstBuckets[0]!.start;
    const burstEnd = burstBuckets[burstBuckets.length - 1]!.start + 600_000;
    const days = Math.round(span / 24);
    const why =
      `${best.sum} calls by ${identityNoun(win.principal)} between ${hhmm(best.start)} and ${hhmm(best.end)} UTC against an expected ${fmtNum(res.expected)} ` +
      `(decayed mean of comparable hours ${fmtNum(base.comparableMean)}, median active hour ${fmtNum(base.medianActive)}, ` +
      `busiest hour in the last ${days} days ${base.maxHour}): ${fmtNum(res.ratio)}x, Poisson P(>= ${best.sum}) ${fmtP(res.p)}, ` +
      `robust bound (median + 5 MAD) ${fmtNum(res.robustUpper)}. Top APIs in the window: ${topText || "n/a"}.`;
    return [
      {
        severity,
        score,
        title: `Call spike: ${best.sum} calls in an hour (${fmtNum(res.ratio)}x normal)`,
        why,
        fingerprint: ["calls"],
        eventIds: ids,
        firstSeen: burstStart,
        lastSeen: Math.min(burstEnd, Math.max(burstStart, win.last)),
        count: best.sum,
        evidence: {
          statistic: "sliding-hour count vs max(decayed comparable-hour mean, median active hour); Poisson tail + median/MAD + baseline max",
          hourStart: new Date(best.start).toISOString(),
          count: best.sum,
          expected: Number(res.expected.toFixed(2)),
          comparableMean: Number(base.comparableMean.toFixed(2)),
          medianActiveHour: base.medianActive,
          madActiveHour: base.madActive,
          maxBaselineHour: base.maxHour,
          baselineHours: span,
          activeHours: base.activeHours,
          ratio: Number(res.ratio.toFixed(1)),
          poissonP: res.p,
          topApis: top.map(([api, st]) => ({ api, calls: st.n })),
        },
      },
    ];
  },
};

export default callRateSpike;
