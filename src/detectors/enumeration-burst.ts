/**
 * enumeration-burst: many distinct read-only APIs (List/Describe/Get/...) across several services
 * within 10 minutes: the shape of account discovery with stolen credentials (Pacu, ScoutSuite,
 * enumerate-iam, a hand-driven CLI sweep).
 *
 * Measure: distinct read APIs per 10-minute bucket (`Bucket.reads`) and the services they span.
 * With a baseline (`profile.breadth` = the largest number of distinct reads in one bucket seen in
 * history, over at least 30 buckets) a bucket is a burst when it reaches max(15, 1.5 x usual maximum,
 * usual maximum + 8) distinct reads in >= 3 services. Without one (cold start, or too few buckets)
 * absolute thresholds apply: >= 25 distinct reads in >= 4 services.
 * Console pages and infrastructure-as-code refreshes read broadly too: when more than half of the
 * window's calls come from the console (`console`, `browser`, `internal` user-agent families) or
 * Terraform, warm thresholds are 1.5x higher, and at cold start such a burst needs corroboration
 * (>= 20% of the bucket's calls denied, or an offensive tool's user agent).
 * Severity: medium; high at twice the threshold, with an offensive-tool user agent, or with >= 30%
 * of the bucket denied (probing permissions).
 */
import type { DetectorContext, FindingDraft, IdentityWindow, WindowDetector, Bucket } from "./types.js";
import { fmtNum } from "./lib/stats.js";
import { identityNoun, isAwsManaged, plural, severityOf } from "./lib/novelty.js";
import { spreadIds } from "./lib/util.js";

export const ENUM = {
  warmMin: 15,
  warmFactor: 1.5,
  warmPlus: 8,
  warmServices: 3,
  warmMinBuckets: 30,
  coldMin: 25,
  coldServices: 4,
  noisyShare: 0.5,
  noisyFactor: 1.5,
  coldNoisyDeniedShare: 0.2,
} as const;

const NOISY_UA = /^(console|browser|internal|terraform)$/;

function hhmm(t: number): string {
  return new Date(t).toISOString().slice(11, 16);
}

function servicesOf(reads: readonly string[]): Set<string> {
  const s = new Set<string>();
  for (const r of reads) {
    const i = r.indexOf(":");
    s.add(i > 0 ? r.slice(0, i) : r);
  }
  return s;
}

export const enumerationBurst: WindowDetector = {
  id: "enumeration-burst",
  kind: "window",
  title: "Enumeration burst: many distinct read APIs in minutes",
  description:
    "Within 10 minutes the identity called many distinct List/Describe/Get APIs across several services, well beyond its usual breadth " +
    "(or beyond absolute thresholds for a new identity): the pattern of discovery tools run with stolen credentials.",
  severity: "medium",
  cites: "One event per distinct read API of the 10-minute buckets over the threshold (the widest bucket first); first/last seen are those buckets' bounds.",
  attack: ["T1580", "T1526", "T1087.004", "T1069.003"],
  investigate: [
    "Look at the user agent of the burst: a CLI, an SDK script or a known enumeration tool rather than the identity's usual client?",
    "Were many of the reads denied (probing permissions) or did they succeed (the caller now knows the account)?",
    "Check the source IP against the identity's usual networks; look for writes right after the burst (keys, policies, instances).",
  ],
  falsePositives: [
    "Cloud security posture tools, inventory and cost tools (add their roles to an allow-list or suppress).",
    "Terraform or CloudFormation refreshing a large estate; console dashboards that load many widgets.",
    "An engineer exploring an account with the CLI during an investigation.",
  ],
  detect(win: IdentityWindow, ctx: DetectorContext): FindingDraft[] {
    if (isAwsManaged(win.principal)) return [];
    const b = ctx.baseline;
    const cands = win.buckets.filter((x) => x.reads.length > 0);
    if (cands.length === 0) return [];

    let total = 0;
    let noisy = 0;
    let offensive: string | undefined;
    for (const [fam, st] of win.uas) {
      total += st.n;
      if (NOISY_UA.test(fam)) noisy += st.n;
      if (fam.startsWith("offensive:")) offensive = fam.slice("offensive:".length);
    }
    const noisyClient = total > 0 && noisy / total > ENUM.noisyShare;
    const breadth = b.profile?.breadth;
    const warm = !ctx.learning && breadth !== undefined && breadth[1] >= ENUM.warmMinBuckets;
    let thr: number;
    let thrSvc: number;
    if (warm) {
      thr = Math.max(ENUM.warmMin, Math.ceil(ENUM.warmFactor * breadth![0]), breadth![0] + ENUM.warmPlus);
      if (noisyClient) thr = Math.ceil(thr * ENUM.noisyFactor);
      thrSvc = ENUM.warmServices;
    } else {
      thr = ENUM.coldMin;
      thrSvc = ENUM.coldServices;
    }

    const hits: Array<{ bucket: Bucket; d: number; svcs: Set<string>; deniedShare: number }> = [];
    for (const bk of cands) {
      const d = bk.reads.length;
      if (d < thr) continue;
      const svcs = servicesOf(bk.reads);
      if (svcs.size < thrSvc) continue;
      const deniedShare = bk.n > 0 ? bk.denied / bk.n : 0;
      if (!warm && noisyClient && deniedShare < ENUM.coldNoisyDeniedShare && !offensive) continue;
      hits.push({ bucket: bk, d, svcs, deniedShare });
    }
    if (hits.length === 0) return [];
    hits.sort((x, y) => y.d - x.d || x.bucket.start - y.bucket.start);
    const top = hits[0]!;

    let score = 50;
    const notes: string[] = [];
    if (top.d >= 2 * thr) {
      score = 66;
      notes.push("twice the threshold");
    }
    if (offensive) {
      score = Math.max(score, 70);
      notes.push(`user agent of the offensive tool "${offensive}" in the window`);
    }
    if (top.deniedShare >= 0.3) {
      score = Math.max(score, 66);
      notes.push(`${Math.round(100 * top.deniedShare)}% of the bucket's calls denied (probing permissions)`);
    }
    const severity = severityOf(score)!;
    const unknownReads = warm ? top.bucket.reads.filter((r) => !b.known("api", r)) : [];
    const allReads = new Set<string>();
    for (const h of hits) for (const r of h.bucket.reads) allReads.add(r);
    const uaText = [...win.uas]
      .sort((x, y) => y[1].n - x[1].n)
      .slice(0, 3)
      .map(([f, st]) => `${f} ${Math.round((100 * st.n) / Math.max(1, total))}%`)
      .join(", ");
    const against = warm
      ? `against a usual maximum of ${breadth![0]} distinct reads per 10 minutes over ${breadth![1]} buckets of history (threshold ${thr}${noisyClient ? ", raised for console/Terraform clients" : ""})`
      : `with no usable breadth history (${b.summary()}), so the absolute threshold applies (${thr} reads in ${thrSvc} services${noisyClient ? ", corroborated for console/Terraform clients" : ""})`;
    const why =
      `${top.d} distinct read APIs across ${plural(top.svcs.size, "service")} (${[...top.svcs].slice(0, 8).join(", ")}) by ${identityNoun(win.principal)} ` +
      `in 10 minutes (${hhmm(top.bucket.start)}-${hhmm(top.bucket.start + 600_000)} UTC), ${against}` +
      (warm ? `; ${unknownReads.length} of them never called before` : "") +
      (hits.length > 1 ? `; ${hits.length} such buckets, ${allReads.size} distinct reads in all` : "") +
      `; user agents: ${uaText || "unknown"}` +
      (notes.length ? `; ${notes.join("; ")}` : "") +
      ".";
    // Evidence: one event per distinct read of the burst buckets (the top bucket first).
    const ids = spreadIds(
      [top, ...hits.filter((h) => h !== top)].map((h) => h.bucket.readIds),
      20,
    );
    return [
      {
        severity,
        score,
        title: `Enumeration burst: ${top.d} distinct reads in ${top.svcs.size} services in 10 minutes`,
        why,
        fingerprint: ["reads"],
        eventIds: ids,
        firstSeen: Math.min(...hits.map((h) => h.bucket.start)),
        lastSeen: Math.max(...hits.map((h) => h.bucket.start + 600_000)),
        count: hits.reduce((a, h) => a + h.bucket.n, 0),
        evidence: {
          bucketStart: new Date(top.bucket.start).toISOString(),
          distinctReads: top.d,
          services: [...top.svcs],
          reads: top.bucket.reads.slice(0, 60),
          threshold: thr,
          usualMaxReads: warm ? breadth![0] : undefined,
          neverCalledBefore: warm ? unknownReads.length : undefined,
          deniedShare: Number(top.deniedShare.toFixed(2)),
          buckets: hits.slice(0, 6).map((h) => ({ start: new Date(h.bucket.start).toISOString(), reads: h.d, services: h.svcs.size })),
          consoleOrTerraformClient: noisyClient,
          ratioToUsual: warm && breadth![0] > 0 ? Number(fmtNum(top.d / breadth![0])) : undefined,
        },
      },
    ];
  },
};

export default enumerationBurst;
