import type { Severity } from "../events/types.js";
import type { SourceSummary } from "../sources/types.js";

/** What each source read (defined by the sources; part of the report). */
export type { SourceSummary };

/** Bump when the JSON report changes incompatibly. */
export const REPORT_SCHEMA_VERSION = 1 as const;

export interface FindingIdentity {
  key: string;
  arn?: string;
  type: string;
  userName?: string;
  sessionName?: string;
  accountId?: string;
  /** The person whose own baseline the finding was judged against (a shared role's session naming a person). */
  person?: string;
}

export interface Finding {
  /** Stable: the same finding in a later scan has the same id (hash of detector, identity, fingerprint). */
  id: string;
  detector: string;
  title: string;
  severity: Severity;
  /** 0-100. */
  score: number;
  identity: FindingIdentity;
  sourceIp?: string;
  region?: string;
  /** Up to 20 event ids; `count` says how many events in all. */
  eventIds: string[];
  firstSeen: string;
  lastSeen: string;
  count: number;
  why: string;
  attack: string[];
  investigate: string[];
  falsePositives: string[];
  /** Every event behind it failed: an attempt, not an action. */
  failed: boolean;
  evidence?: Record<string, unknown>;
}

export interface IdentitySummary {
  key: string;
  type: string;
  arn?: string;
  userName?: string;
  accountId?: string;
  sessions: string[];
  /** Combined suspicion score 0-100: 1 - prod(1 - s_i) over its findings. */
  score: number;
  events: number;
  errors: number;
  errorRate: number;
  findings: number;
  topSeverity?: Severity;
  learning: boolean;
}

export interface Report {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  generatedAt: string;
  tool: { name: "trailhound"; version: string };
  window: { start: string; end: string };
  sources: SourceSummary[];
  /** True when data is missing (throttled, cut short, capped); `partialReasons` says what. */
  partial: boolean;
  partialReasons: string[];
  filters: Record<string, string>;
  stats: {
    /** Events inside the detection window (after filters). */
    events: number;
    /** Records read in all (window + baseline). */
    recordsRead: number;
    baselineEvents: number;
    /** Malformed records skipped, by reason. */
    skipped: Record<string, number>;
    skippedTotal: number;
    duplicates: number;
    /** Records that did not match --user/--ip/--account/--region. */
    filteredOut: number;
    /** Records after --until. */
    afterWindow: number;
    identities: number;
    topEventNames: Array<{ name: string; count: number }>;
    topEventSources: Array<{ name: string; count: number }>;
    errors: number;
    errorRate: number;
    denied: number;
    perRegion: Array<{ region: string; events: number; errors: number }>;
  };
  findings: Finding[];
  identities: IdentitySummary[];
  /** Identities still learning (too little history for "first seen" findings). */
  learning: string[];
  anomalousIps: Array<{
    ip: string;
    kind: string;
    events: number;
    errors: number;
    identities: string[];
    findings: number;
    country?: string;
    asn?: number;
    asOrg?: string;
  }>;
  sensitiveCalls: Array<{
    eventName: string;
    eventSource: string;
    count: number;
    failed: number;
    identities: string[];
    firstSeen: string;
    lastSeen: string;
    eventIds: string[];
  }>;
  errorAnalysis: {
    errors: number;
    denied: number;
    errorRate: number;
    byCode: Array<{ code: string; count: number }>;
    byIdentity: Array<{ key: string; errors: number; denied: number; events: number; errorRate: number }>;
    byApi: Array<{ api: string; errors: number; denied: number }>;
  };
  baselineDeviations: Array<{ identity: string; dimension: string; value: string; detail: string }>;
  recommendations: string[];
  /** Findings hidden by active suppressions (counted, never silently dropped). */
  suppressed: { count: number; ids: string[] };
}
