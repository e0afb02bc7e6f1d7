import { SEVERITY_RANK, type Severity } from "../events/types.js";
import type { GeoInfo } from "../geo/types.js";
import type { IdentityWindow, WinStat } from "../detectors/types.js";
import { detectorById } from "../detectors/index.js";
import { classifySourceIp } from "../events/normalize.js";
import { combineScores } from "./findings.js";
import { REPORT_SCHEMA_VERSION, type Finding, type IdentitySummary, type Report, type SourceSummary } from "./report-types.js";
import { SENSITIVE_CALLS } from "./sensitive.js";

export interface ReportInput {
  now: number;
  version: string;
  window: { start: number; end: number };
  windows: IdentityWindow[];
  findings: Finding[];
  learning: string[];
  sources: SourceSummary[];
  partialReasons: string[];
  filters: Record<string, string | undefined>;
  stats: {
    recordsRead: number;
    baselineEvents: number;
    skipped: Record<string, number>;
    skipSamples: Array<{ origin: string; reason: string; detail?: string }>;
    duplicates: number;
    filteredOut: number;
    afterWindow: number;
  };
  geo: (ip: string) => GeoInfo | undefined;
  /** Whether an identity's baseline knew a value before the window. */
  known: (identityKey: string, dim: "region" | "ua" | "country" | "network" | "service", value: string) => boolean;
}

/** Identities listed per anomalous address (the first met). */
const IP_IDENTITIES = 20;

/** How many identities / IPs / deviations are listed in full; totals are always reported. */
export const LIST_LIMIT = 100;

function top(m: Map<string, number>, n: number): Array<{ name: string; count: number }> {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n)
    .map(([name, count]) => ({ name, count }));
}

function bump(m: Map<string, number>, k: string, n: number): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

const iso = (t: number) => new Date(t).toISOString();

/**
 * Told of every report built (tests validate each one against schema/report.schema.json: see
 * test/setup/report-schema.ts). Empty in production.
 */
export const reportObservers = new Set<(r: Report) => void>();

/**
 * What the report takes of one identity's window (ReportBuilder.add): its totals, its calls,
 * regions, error codes and addresses in the window's order, the event ids of its sensitive calls,
 * and the values its baseline did not know (none while learning). Plain data: a scan finished in
 * two threads (scan/fold-shard.ts) builds it where the window is and adds it where the report is.
 */
export interface ReportSlice {
  principal: IdentityWindow["principal"];
  sessions: string[];
  events: number;
  errors: number;
  denied: number;
  /** [api, events, errors, denied, first, last, event ids (sensitive calls only)]. */
  apis: Array<[string, number, number, number, number, number, string[] | undefined]>;
  regions: Array<[string, number, number]>;
  codes: Array<[string, number]>;
  ips: Array<[string, number, number]>;
  deviations: Array<[DeviationDim, string, number]>;
}

type DeviationDim = "region" | "ua" | "country" | "network" | "service";

/** ReportBuilder.add's view of one window (see ReportSlice); `known` as ReportInput's. */
export function reportSlice(w: IdentityWindow, learning: boolean, known: ReportInput["known"]): ReportSlice {
  const sl: ReportSlice = {
    principal: w.principal,
    sessions: w.sessions.slice(0, 20),
    events: w.events,
    errors: w.errors,
    denied: w.denied,
    apis: [],
    regions: [],
    codes: [],
    ips: [],
    deviations: [],
  };
  for (const [api, s] of w.apis) sl.apis.push([api, s.n, s.err, s.denied, s.first, s.last, SENSITIVE_CALLS[api] ? s.ids : undefined]);
  for (const [r, s] of w.regions) sl.regions.push([r, s.n, s.err]);
  for (const [c, s] of w.errorCodes) sl.codes.push([c, s.n]);
  for (const [ip, s] of w.ips) sl.ips.push([ip, s.n, s.err]);
  // Deviations: new values of identities that have a baseline (below finding thresholds too).
  if (learning) return sl;
  for (const [dim, m] of [
    ["region", w.regions],
    ["ua", w.uas],
    ["country", w.countries],
    ["network", w.networks],
    ["service", w.services],
  ] as Array<[DeviationDim, Map<string, WinStat>]>) {
    for (const [value, s] of m) if (!known(w.principal.key, dim, value)) sl.deviations.push([dim, value, s.n]);
  }
  return sl;
}

/** ReportBuilder's totals of one API (`service:EventName`). */
interface ApiTotal {
  name: string;
  source: string;
  service: string;
  n: number;
}

/** What the report keeps of each identity's window until its findings are known. */
interface WindowSummary {
  principal: IdentityWindow["principal"];
  sessions: string[];
  events: number;
  errors: number;
}

/**
 * The report, built one identity window at a time (`add`, in the scan's order), so that the scan
 * need not hold every window until the end; `build` finishes it once the findings are known.
 * `buildReport` is the same over a list of windows.
 */
export class ReportBuilder {
  private readonly regions = new Map<string, { events: number; errors: number }>();
  private readonly codes = new Map<string, number>();
  private readonly apiErrors = new Map<string, { errors: number; denied: number }>();
  private events = 0;
  private errors = 0;
  private denied = 0;
  private readonly summaries: WindowSummary[] = [];
  private readonly ipAgg = new Map<string, { events: number; errors: number; identities: Set<string> }>();
  private readonly sensitive = new Map<string, Report["sensitiveCalls"][number] & { _f: number; _l: number; _who: Set<string> }>();
  private readonly deviations: Report["baselineDeviations"] = [];
  private deviationsTotal = 0;
  /**
   * Each API's event name, event source and service, split once (every identity's window lists its
   * APIs), and its events in the windows added: summed per event name and source by `build`.
   */
  private readonly apiTotals = new Map<string, ApiTotal>();
  /** Identities with errors in the window (errorAnalysis.byIdentity), in the order added. */
  private readonly withErrors: Report["errorAnalysis"]["byIdentity"] = [];

  /** `known`: whether an identity's baseline knew a value before the window (asked during `add`). */
  constructor(private readonly known: ReportInput["known"]) {}

  /** One identity's window; `learning`: its baseline is still learning (no deviations listed). */
  add(w: IdentityWindow, learning: boolean): void {
    this.apply(reportSlice(w, learning, this.known));
  }

  /** What `reportSlice` took of one identity's window, added in the scan's order. */
  apply(sl: ReportSlice): void {
    const { apiTotals, apiErrors, sensitive, regions, codes, ipAgg } = this;
    const key = sl.principal.key;
    this.events += sl.events;
    this.errors += sl.errors;
    this.denied += sl.denied;
    for (const [api, n, err, denied, first, last, ids] of sl.apis) {
      let total = apiTotals.get(api);
      if (!total) {
        const i = api.indexOf(":");
        const svc = api.slice(0, i);
        apiTotals.set(api, (total = { name: api.slice(i + 1), source: svc.includes(".") ? svc : svc + ".amazonaws.com", service: svc, n: 0 }));
      }
      total.n += n;
      const { name, service: svc } = total;
      if (err > 0) {
        let cur = apiErrors.get(api);
        if (!cur) apiErrors.set(api, (cur = { errors: 0, denied: 0 }));
        cur.errors += err;
        cur.denied += denied;
      }
      if (ids === undefined) continue;
      const cur = sensitive.get(api);
      if (cur) {
        cur.count += n;
        cur.failed += err;
        if (!cur._who.has(key)) {
          cur._who.add(key);
          cur.identities.push(key);
        }
        cur._f = Math.min(cur._f, first);
        cur._l = Math.max(cur._l, last);
        for (const id of ids) if (cur.eventIds.length < 20) cur.eventIds.push(id);
      } else {
        sensitive.set(api, {
          eventName: name,
          eventSource: svc + ".amazonaws.com",
          count: n,
          failed: err,
          identities: [key],
          firstSeen: "",
          lastSeen: "",
          eventIds: [...ids],
          _f: first,
          _l: last,
          _who: new Set([key]),
        });
      }
    }
    for (const [r, n, err] of sl.regions) {
      let cur = regions.get(r);
      if (!cur) regions.set(r, (cur = { events: 0, errors: 0 }));
      cur.events += n;
      cur.errors += err;
    }
    for (const [c, n] of sl.codes) bump(codes, c, n);
    for (const [ip, n, err] of sl.ips) {
      let cur = ipAgg.get(ip);
      if (!cur) ipAgg.set(ip, (cur = { events: 0, errors: 0, identities: new Set<string>() }));
      cur.events += n;
      cur.errors += err;
      // The report lists the first 20 (anomalousIps): the set need not grow past them.
      if (cur.identities.size < IP_IDENTITIES) cur.identities.add(key);
    }
    this.summaries.push({ principal: sl.principal, sessions: sl.sessions, events: sl.events, errors: sl.errors });
    if (sl.errors > 0) this.withErrors.push({ key, errors: sl.errors, denied: sl.denied, events: sl.events, errorRate: round3(sl.errors / sl.events) });
    for (const [dim, value, n] of sl.deviations) {
      this.deviationsTotal++;
      if (this.deviations.length < LIST_LIMIT * 2) this.deviations.push({ identity: key, dimension: dim, value, detail: `${n} events in the window, never seen before it` });
    }
  }

  /** The report, from the windows added and the rest of `input` (its `windows` and `known` are not read). */
  build(input: Omit<ReportInput, "windows" | "known">): Report {
    const { findings } = input;
    const { events, errors, denied, regions, codes, apiErrors, ipAgg, sensitive, deviations } = this;
    // Events per event name and per event source (summed: the order does not change `top`'s lists).
    const names = new Map<string, number>();
    const sources = new Map<string, number>();
    for (const t of this.apiTotals.values()) {
      bump(names, t.name, t.n);
      bump(sources, t.source, t.n);
    }
    const findingsBy = new Map<string, Finding[]>();
    for (const f of findings) {
      const list = findingsBy.get(f.identity.key) ?? [];
      list.push(f);
      findingsBy.set(f.identity.key, list);
    }
    const learningSet = new Set(input.learning);

    const identities: IdentitySummary[] = [];
    const listed = new Set<string>();
    for (const w of this.summaries) {
      const fs = findingsBy.get(w.principal.key) ?? [];
      let topSev: Severity | undefined;
      for (const f of fs) if (!topSev || SEVERITY_RANK[f.severity] > SEVERITY_RANK[topSev]) topSev = f.severity;
      const p = w.principal;
      const summary: IdentitySummary = {
        key: p.key,
        type: p.type,
        sessions: w.sessions,
        score: combineScores(fs.map((f) => f.score)),
        events: w.events,
        errors: w.errors,
        errorRate: w.events ? round3(w.errors / w.events) : 0,
        findings: fs.length,
        learning: learningSet.has(p.key),
      };
      if (p.arn) summary.arn = p.arn;
      if (p.userName) summary.userName = p.userName;
      if (p.accountId) summary.accountId = p.accountId;
      if (topSev) summary.topSeverity = topSev;
      identities.push(summary);
      listed.add(p.key);
    }

    // Identities that appear only through global detectors (e.g. failed logins of unknown users).
    for (const [key, fs] of findingsBy) {
      if (listed.has(key)) continue;
      listed.add(key);
      const f = fs[0]!;
      identities.push({
        key,
        type: f.identity.type,
        sessions: [],
        score: combineScores(fs.map((x) => x.score)),
        events: 0,
        errors: 0,
        errorRate: 0,
        findings: fs.length,
        learning: true,
        topSeverity: fs.reduce<Severity>((a, x) => (SEVERITY_RANK[x.severity] > SEVERITY_RANK[a] ? x.severity : a), "info"),
      });
    }
    identities.sort((a, b) => b.score - a.score || b.events - a.events || a.key.localeCompare(b.key));

    const findingsByIp = new Map<string, number>();
    for (const f of findings) if (f.sourceIp) bump(findingsByIp, f.sourceIp, 1);
    const anomalousIps: Report["anomalousIps"] = [];
    for (const [ip, a] of ipAgg) {
      const nf = findingsByIp.get(ip) ?? 0;
      const errRate = a.events ? a.errors / a.events : 0;
      if (nf === 0 && !(a.errors >= 10 && errRate >= 0.5)) continue;
      const entry: Report["anomalousIps"][number] = {
        ip,
        kind: classifySourceIp(ip),
        events: a.events,
        errors: a.errors,
        identities: [...a.identities].slice(0, IP_IDENTITIES),
        findings: nf,
      };
      const g = input.geo(ip);
      if (g?.country) entry.country = g.country;
      if (g?.asn !== undefined) entry.asn = g.asn;
      if (g?.asOrg) entry.asOrg = g.asOrg;
      anomalousIps.push(entry);
    }
    anomalousIps.sort((a, b) => b.findings - a.findings || b.errors - a.errors || a.ip.localeCompare(b.ip));

    const skippedTotal = Object.values(input.stats.skipped).reduce((a, b) => a + b, 0);
    const partialReasons = [...input.partialReasons];
    if (identities.length > LIST_LIMIT) partialReasons.push(`identities list shows the top ${LIST_LIMIT} of ${identities.length}`);
    if (this.deviationsTotal > deviations.length) partialReasons.push(`baselineDeviations shows ${deviations.length} of ${this.deviationsTotal}`);

    const report: Report = {
      schemaVersion: REPORT_SCHEMA_VERSION,
      generatedAt: iso(input.now),
      tool: { name: "trailhound", version: input.version },
      window: { start: iso(input.window.start), end: iso(input.window.end) },
      sources: input.sources,
      partial: input.partialReasons.length > 0,
      partialReasons,
      filters: Object.fromEntries(Object.entries(input.filters).filter(([, v]) => v !== undefined && v !== "")) as Record<string, string>,
      stats: {
        events,
        recordsRead: input.stats.recordsRead,
        baselineEvents: input.stats.baselineEvents,
        skipped: input.stats.skipped,
        skippedTotal,
        duplicates: input.stats.duplicates,
        filteredOut: input.stats.filteredOut,
        afterWindow: input.stats.afterWindow,
        identities: this.summaries.length,
        topEventNames: top(names, 10),
        topEventSources: top(sources, 10),
        errors,
        errorRate: events ? round3(errors / events) : 0,
        denied,
        perRegion: [...regions.entries()].sort((a, b) => b[1].events - a[1].events).map(([region, r]) => ({ region, events: r.events, errors: r.errors })),
      },
      findings,
      identities: identities.slice(0, LIST_LIMIT),
      learning: input.learning.sort(),
      anomalousIps: anomalousIps.slice(0, LIST_LIMIT),
      sensitiveCalls: [...sensitive.values()]
        .sort(
          (a, b) =>
            SEVERITY_RANK[SENSITIVE_CALLS[b.eventSource.split(".")[0] + ":" + b.eventName] ?? "info"] -
              SEVERITY_RANK[SENSITIVE_CALLS[a.eventSource.split(".")[0] + ":" + a.eventName] ?? "info"] || b.count - a.count,
        )
        .map(({ _f, _l, _who, ...rest }) => ({ ...rest, firstSeen: iso(_f), lastSeen: iso(_l) })),
      errorAnalysis: {
        errors,
        denied,
        errorRate: events ? round3(errors / events) : 0,
        byCode: top(codes, 20).map((x) => ({ code: x.name, count: x.count })),
        byIdentity: [...this.withErrors].sort((a, b) => b.errors - a.errors).slice(0, 20),
        byApi: [...apiErrors.entries()]
          .map(([api, e]) => ({ api, errors: e.errors, denied: e.denied }))
          .sort((a, b) => b.errors - a.errors)
          .slice(0, 20),
      },
      baselineDeviations: deviations,
      recommendations: recommendations(input, findings, skippedTotal),
      suppressed: { count: 0, ids: [] },
    };
    for (const observe of reportObservers) observe(report);
    return report;
  }
}

export function buildReport(input: ReportInput): Report {
  const b = new ReportBuilder(input.known);
  const learning = new Set(input.learning);
  for (const w of input.windows) b.add(w, learning.has(w.principal.key));
  return b.build(input);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function recommendations(input: Omit<ReportInput, "windows" | "known">, findings: Finding[], skippedTotal: number): string[] {
  const out: string[] = [];
  const byDetector = new Map<string, Finding[]>();
  for (const f of findings) {
    const l = byDetector.get(f.detector) ?? [];
    l.push(f);
    byDetector.set(f.detector, l);
  }
  const ordered = [...byDetector.entries()].sort((a, b) => SEVERITY_RANK[b[1][0]!.severity] - SEVERITY_RANK[a[1][0]!.severity] || b[1].length - a[1].length);
  for (const [id, fs] of ordered) {
    const det = detectorById(id);
    const step = det?.investigate[0];
    if (!step) continue;
    const who = [...new Set(fs.map((f) => f.identity.userName ?? f.identity.key))].slice(0, 3).join(", ");
    out.push(`${det!.title} (${fs.length} finding${fs.length === 1 ? "" : "s"}; ${who}): ${step}`);
    if (out.length >= 8) break;
  }
  if (skippedTotal > 0) out.push(`${skippedTotal} records could not be used (see stats.skipped); check the input files or the delivery pipeline.`);
  const odd = (input.stats.skipped["future-eventTime"] ?? 0) + (input.stats.skipped["pre-2013-eventTime"] ?? 0);
  if (odd > 0)
    out.push(
      `${odd} record${odd === 1 ? " is" : "s are"} dated after the scan time (beyond 15 minutes of clock skew) or before 2013: skipped, they did not move the detection window; a wrong clock or a tampered log file can cause this.`,
    );
  if (input.partialReasons.length) out.push("The data is partial (see partialReasons): rerun when the source is complete before concluding nothing happened.");
  if (input.learning.length)
    out.push(
      `${input.learning.length} identities are still learning: "first seen" checks start once each has ${"a few days"} of history; scan older data or keep the store to build baselines.`,
    );
  if (findings.length === 0) out.push("No findings in this window.");
  return out;
}
