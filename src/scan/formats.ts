/**
 * The report's findings in the formats other tools read: `--format jsonl` (one finding per line,
 * for log shippers), `--format csv` (RFC 4180), and `--format ocsf` (one OCSF 1.8.0 Detection
 * Finding, class 2004, per line). The OCSF mapping is documented in docs/FORMATS.md.
 */
import type { Severity } from "../events/types.js";
import type { Finding, Report } from "./report-types.js";

export const OCSF_VERSION = "1.8.0";

export function findingsJsonl(report: Report): string {
  return report.findings.map((f) => JSON.stringify(f)).join("\n") + (report.findings.length ? "\n" : "");
}

export const CSV_COLUMNS = [
  "id",
  "severity",
  "score",
  "detector",
  "title",
  "identity_key",
  "identity_type",
  "identity_arn",
  "account",
  "source_ip",
  "region",
  "first_seen",
  "last_seen",
  "count",
  "failed",
  "attack",
  "event_ids",
  "why",
] as const;

/** A CSV field: quoted when needed; a leading = + - @ is prefixed with ' so spreadsheets do not run it as a formula. */
export function csvField(v: unknown): string {
  let s = v === undefined || v === null ? "" : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function findingsCsv(report: Report): string {
  const rows = [CSV_COLUMNS.join(",")];
  for (const f of report.findings) {
    const values: unknown[] = [
      f.id,
      f.severity,
      f.score,
      f.detector,
      f.title,
      f.identity.key,
      f.identity.type,
      f.identity.arn,
      f.identity.accountId,
      f.sourceIp,
      f.region,
      f.firstSeen,
      f.lastSeen,
      f.count,
      f.failed,
      f.attack.join(" "),
      f.eventIds.join(" "),
      f.why,
    ];
    rows.push(values.map(csvField).join(","));
  }
  return rows.join("\r\n") + "\r\n";
}

const SEVERITY_ID: Record<Severity, { id: number; caption: string }> = {
  info: { id: 1, caption: "Informational" },
  low: { id: 2, caption: "Low" },
  medium: { id: 3, caption: "Medium" },
  high: { id: 4, caption: "High" },
  critical: { id: 5, caption: "Critical" },
};

/** OCSF observable type ids used here. */
const OBS = { ip: 2, userName: 4, resourceUid: 10, credentialId: 19 } as const;

export interface OcsfOptions {
  version: string;
  /** OCSF status of each finding (from the store), default New. */
  status?: (id: string) => "open" | "acknowledged" | "suppressed" | "resolved" | undefined;
}

const STATUS: Record<string, { id: number; caption: string }> = {
  open: { id: 1, caption: "New" },
  acknowledged: { id: 2, caption: "In Progress" },
  suppressed: { id: 3, caption: "Suppressed" },
  resolved: { id: 4, caption: "Resolved" },
};

/** One finding as an OCSF Detection Finding (class 2004, activity Create). */
export function ocsfFinding(f: Finding, report: Pick<Report, "generatedAt">, o: OcsfOptions): Record<string, unknown> {
  const sev = SEVERITY_ID[f.severity] ?? { id: 0, caption: "Unknown" };
  const st = STATUS[o.status?.(f.id) ?? "open"] ?? STATUS.open!;
  const observables: Array<Record<string, unknown>> = [];
  if (f.sourceIp) observables.push({ name: "src_endpoint.ip", type_id: OBS.ip, value: f.sourceIp });
  if (f.identity.userName) observables.push({ name: "actor.user.name", type_id: OBS.userName, value: f.identity.userName });
  if (f.identity.arn) observables.push({ name: "actor.user.uid", type_id: OBS.resourceUid, value: f.identity.arn });
  const first = Date.parse(f.firstSeen);
  const last = Date.parse(f.lastSeen);
  return {
    class_uid: 2004,
    class_name: "Detection Finding",
    category_uid: 2,
    category_name: "Findings",
    activity_id: 1,
    activity_name: "Create",
    type_uid: 200401,
    type_name: "Detection Finding: Create",
    severity_id: sev.id,
    severity: sev.caption,
    time: Number.isFinite(last) ? last : Date.parse(report.generatedAt),
    status_id: st.id,
    status: st.caption,
    confidence_id: 0,
    is_alert: f.severity === "critical" || f.severity === "high",
    message: f.title,
    risk_score: f.score,
    metadata: {
      version: OCSF_VERSION,
      product: { name: "trailhound", vendor_name: "trailhound", version: o.version },
      profiles: ["cloud"],
      log_name: "trailhound findings",
    },
    cloud: {
      provider: "AWS",
      ...(f.region ? { region: f.region } : {}),
      ...(f.identity.accountId ? { account: { uid: f.identity.accountId, type_id: 10, type: "AWS Account" } } : {}),
    },
    finding_info: {
      uid: f.id,
      title: f.title,
      desc: f.why,
      ...(Number.isFinite(first) ? { first_seen_time: first } : {}),
      ...(Number.isFinite(last) ? { last_seen_time: last } : {}),
      analytic: { name: f.detector, uid: f.detector, type_id: 1, type: "Rule" },
      ...(f.attack.length ? { attacks: f.attack.filter((t) => /^T\d{4}/.test(t)).map((t) => ({ technique: { uid: t } })) } : {}),
      types: [f.detector],
    },
    actor: {
      user: {
        ...(f.identity.userName ? { name: f.identity.userName } : {}),
        ...(f.identity.arn ? { uid: f.identity.arn } : {}),
        type: f.identity.type,
        ...(f.identity.accountId ? { account: { uid: f.identity.accountId, type_id: 10, type: "AWS Account" } } : {}),
      },
      ...(f.identity.sessionName ? { session: { uid: f.identity.sessionName } } : {}),
    },
    ...(f.sourceIp ? { src_endpoint: { ip: f.sourceIp } } : {}),
    ...(observables.length ? { observables } : {}),
    evidences: [{ data: { event_ids: f.eventIds, count: f.count, failed: f.failed, ...(f.evidence ? { evidence: f.evidence } : {}) } }],
    unmapped: { identity_key: f.identity.key, investigate: f.investigate, false_positives: f.falsePositives },
  };
}

export function findingsOcsf(report: Report, o: OcsfOptions): string {
  return report.findings.map((f) => JSON.stringify(ocsfFinding(f, report, o))).join("\n") + (report.findings.length ? "\n" : "");
}
