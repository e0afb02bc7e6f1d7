/**
 * The shared runner of the detector tables (test/detectors/tables/<detector id>.ts), in the
 * style of Panther's inline `Tests:` and typescript-eslint's valid/invalid lists: each detector
 * keeps a table of cases, a case being a record or a short sequence and the expected severity or
 * silence. New cases are one row.
 *
 * A case runs through the real scan (src/scan/scanner.ts, records as raw CloudTrail JSON, with
 * every detector, judging only the one under test's findings): the history before the window trains the baseline, the window
 * holds ordinary events and the anomaly. The runner checks
 *   - the highest severity of the detector's findings (or that there are none);
 *   - evidence: every cited event id is one of the case's `anomalous` records (never an ordinary
 *     or history event), first/last seen lie within the anomaly's span (10-minute buckets), and
 *     the identity shown did the cited events (its session, when the anomaly has one).
 *
 * History and timings are generated (seeded, fixed dates): the shared samples span one hour of one
 * account and carry no public addresses (see ../shared/data/cloudtrail/README.md).
 */
import { DAY, HOUR } from "../../../src/baseline/profile.js";
import { DETECTORS } from "../../../src/detectors/index.js";
import type { Detector } from "../../../src/detectors/types.js";
import { SEVERITY_RANK, type Severity } from "../../../src/events/types.js";
import type { Finding } from "../../../src/scan/report-types.js";
import { Scanner } from "../../../src/scan/scanner.js";
import { ACCOUNT, rawRecord, type RecordInput } from "../../helpers/events.js";
import { GEN_GEO } from "../../helpers/window.js";

/** Windows start here (a Monday, 00:00 UTC); history lies before. */
export const W = Date.parse("2024-06-03T00:00:00Z");
export const MIN = 60_000;
export { DAY, HOUR };

export type Rec = Record<string, unknown>;

export interface Case {
  name: string;
  /** Records before the window: they only train baselines. */
  history?: Rec[];
  /** Ordinary records in the window: never evidence. */
  normal?: Rec[];
  /** The anomaly: every event a finding cites must be one of these. */
  anomalous?: Rec[];
  /** The highest severity expected among the detector's findings, or null for silence. */
  expect: Severity | null;
  /** Accounts of the organisation (default: the test account). */
  ownAccounts?: string[];
}

let seq = 0;

/** A record (defaults of test/helpers/events.ts: IAM user alice, us-east-1) with a unique id. */
export function rec(input: Omit<RecordInput, "time"> & { time?: number }): Rec {
  return rawRecord({ ...input, eventId: input.eventId ?? `tbl-${++seq}`, time: input.time ?? W + 12 * HOUR } as RecordInput);
}

export interface RoutineInput {
  identity: Rec;
  /** [eventName, eventSource?] pairs done every active day, round robin. */
  calls: Array<[string, string?] | string>;
  days?: number;
  perDay?: number;
  ip?: string;
  ua?: string;
  region?: string;
  /** First working hour (UTC), default 8; calls spread over 8 hours. */
  hour?: number;
  /** Extra fields on every record (requestParameters, ...). */
  extra?: (i: number) => Partial<RecordInput>;
  /** Active days end this many days before the window (default 0: the day before it). */
  endDaysBefore?: number;
}

/** Days of routine before the window: enough history for the identity to leave learning. */
export function routine(r: RoutineInput): Rec[] {
  const out: Rec[] = [];
  const days = r.days ?? 14;
  const perDay = r.perDay ?? 24;
  const skip = r.endDaysBefore ?? 0;
  for (let d = days + skip; d > skip; d--) {
    for (let i = 0; i < perDay; i++) {
      const c = r.calls[(d * perDay + i) % r.calls.length]!;
      const [eventName, eventSource] = typeof c === "string" ? [c, undefined] : c;
      const t = W - d * DAY + (r.hour ?? 8) * HOUR + Math.floor((i * 8 * HOUR) / perDay);
      const input: RecordInput = { eventName, userIdentity: r.identity, time: t, ...(r.extra?.(i) ?? {}) };
      if (eventSource) input.eventSource = eventSource;
      if (r.ip) input.sourceIPAddress = r.ip;
      if (r.ua) input.userAgent = r.ua;
      if (r.region) input.region = r.region;
      out.push(rec(input));
    }
  }
  return out;
}

/** `n` copies of a record spread over `spreadMs` from `at`, each with a unique id. */
export function burst(n: number, at: number, spreadMs: number, make: (i: number) => Omit<RecordInput, "time">): Rec[] {
  return Array.from({ length: n }, (_, i) => rec({ ...make(i), time: at + Math.floor((i * spreadMs) / Math.max(1, n)) }));
}

export interface CaseResult {
  findings: Finding[];
  problems: string[];
}

const BUCKET = 10 * MIN;

/** Run one case through the scan with only `detector`; list what does not hold. */
export function runCase(detector: Detector, c: Case): CaseResult {
  const all = [...(c.history ?? []), ...(c.normal ?? []), ...(c.anomalous ?? [])];
  const times = all.map((r) => Date.parse(String(r.eventTime)));
  const last = Math.max(...times);
  const s = new Scanner({
    now: last + HOUR,
    since: { kind: "absolute", at: W },
    until: Math.max(last, W + DAY - 1),
    // Every detector runs, as in a real scan (window and global detectors read the candidates that
    // event detectors select); only the findings of the detector under test are judged.
    detectors: DETECTORS,
    geo: GEN_GEO,
    detectorConfig: { ownAccounts: new Set(c.ownAccounts ?? [ACCOUNT]) },
    maxFindingEventIds: 1000,
  });
  const sorted = all.map((r, i) => [r, times[i]!] as const).sort((a, b) => a[1] - b[1]);
  for (const [r] of sorted) s.record(r, "table");
  const findings = s.finish().report.findings.filter((f) => f.detector === detector.id);
  const problems: string[] = [];

  const top = findings.reduce<Severity | null>((m, f) => (m === null || SEVERITY_RANK[f.severity] > SEVERITY_RANK[m] ? f.severity : m), null);
  if (top !== c.expect) problems.push(`expected ${c.expect ?? "silence"}, got ${top ?? "silence"} (${findings.map((f) => `${f.severity}: ${f.title}`).join("; ")})`);

  const anomalous = new Map<string, Rec>();
  for (const r of c.anomalous ?? []) anomalous.set(String(r.eventID), r);
  const aTimes = (c.anomalous ?? []).map((r) => Date.parse(String(r.eventTime)));
  const lo = Math.floor(Math.min(...aTimes) / BUCKET) * BUCKET;
  const hi = (Math.floor(Math.max(...aTimes) / BUCKET) + 1) * BUCKET;
  for (const f of findings) {
    if (f.eventIds.length === 0) problems.push(`${f.title}: cites no event`);
    const stray = f.eventIds.filter((id) => !anomalous.has(id));
    if (stray.length > 0) problems.push(`${f.title}: cites ${stray.length} event(s) outside the anomaly (${stray.slice(0, 3).join(", ")})`);
    const fs = Date.parse(f.firstSeen);
    const ls = Date.parse(f.lastSeen);
    if (anomalous.size > 0 && (fs < lo || ls > hi)) problems.push(`${f.title}: first/last seen ${f.firstSeen}..${f.lastSeen} outside the anomaly's span`);
    // The identity shown did the cited events: the session of the cited records, when all of them
    // are one session's (a chain across identities is shown as the identity that started it).
    const cited = f.eventIds.map((id) => sessionOf(anomalous.get(id)));
    const sessions = new Set(cited);
    if (sessions.size === 1 && cited[0] !== undefined) {
      const s1 = [...sessions][0]!;
      if (f.identity.sessionName !== s1) problems.push(`${f.title}: shows session ${f.identity.sessionName ?? "(none)"} but the cited events are session ${s1}'s`);
    }
  }
  return { findings, problems };
}

function sessionOf(r: Rec | undefined): string | undefined {
  const ui = r?.userIdentity as Rec | undefined;
  if (ui?.type !== "AssumedRole") return undefined;
  const arn = String(ui.arn ?? "");
  const i = arn.lastIndexOf("/");
  return i >= 0 ? arn.slice(i + 1) : undefined;
}

/** A detector's table: the cases, and the detector they run against. */
export interface Table {
  detector: Detector;
  cases: Case[];
}
