import type { Profile } from "../baseline/profile.js";
import type { Severity } from "../events/types.js";
import type { Finding } from "../scan/report-types.js";
import type { Cursor } from "../sources/types.js";

/** A source's read position (defined by the sources; stored here). */
export type { Cursor };

/** Bump with a migration in migrations.ts. */
export const STORE_SCHEMA_VERSION = 1;

export type FindingStatus = "open" | "acknowledged" | "suppressed" | "resolved";

export interface StoredFinding {
  id: string;
  status: FindingStatus;
  firstSeen: string;
  lastSeen: string;
  /** Scans that reported it. */
  seenInScans: number;
  severity: Severity;
  severityHistory: Array<{ at: string; severity: Severity }>;
  acknowledged?: { by: string; at: string; severity: Severity };
  resolved?: { by: string; at: string };
  /** The active suppression that hides it (status "suppressed"). */
  suppressedBy?: string;
  /** Who did what to it, oldest first (bounded: the last FINDING_HISTORY_CAP actions). */
  history: FindingAction[];
  /** The latest report entry for this finding. */
  finding: Finding;
}

export const FINDING_HISTORY_CAP = 20;

export interface FindingAction {
  at: string;
  /** Slack user id, or "trailhound" for automatic changes (reopen, suppression expiry). */
  by: string;
  action: "ack" | "resolve" | "reopen" | "suppress" | "unsuppress";
  severity?: Severity;
  detail?: string;
}

export type SuppressionScope = "identity-detector" | "identity" | "ip" | "detector";

export interface Suppression {
  id: string;
  scope: SuppressionScope;
  identityKey?: string;
  detector?: string;
  sourceIp?: string;
  reason: string;
  /** Slack user id of who created it. */
  by: string;
  createdAt: string;
  until: string;
  /** Expiry has been announced (digests announce expiry once). */
  expiryAnnounced?: boolean;
  removed?: { by: string; at: string };
}

export type AuditAction =
  | "ack"
  | "suppress"
  | "unsuppress"
  | "refused"
  | "resolve"
  | "digest"
  | "scan"
  | "prune"
  // Containment (src/respond): each step of a containment, with the AWS request id in `detail`.
  | "contain-proposed"
  | "contain-approved"
  | "contain-executed"
  | "contain-failed"
  | "contain-dry-run"
  | "contain-refused"
  | "contain-undone"
  | "contain-expired";

export interface AuditEntry {
  at: string;
  actor: string;
  action: AuditAction;
  target: string;
  detail?: string;
}

/** LookupEvents / S3 position: newest event seen and the ids at that time (for overlap de-duplication). */
export interface ScanRecord {
  at: string;
  by: string;
  target: string;
  window: { start: string; end: string };
  events: number;
  findings: number;
  partial: boolean;
}

/** One message of a digest, exactly as it is posted. */
export interface DigestPart {
  /** Top-level text (notification and fallback). */
  text: string;
  /** Block Kit blocks (≤ 50). */
  blocks: unknown[];
  /** A reply in the thread of part 0 (part 0 itself is never one). */
  thread: boolean;
}

export interface DigestRecord {
  id: string;
  schedule: string;
  channel: string;
  window: { start: string; end: string };
  createdAt: string;
  state: "pending" | "sent" | "failed";
  /** Slack message ts per posted part, so a resend skips what went out. */
  posted: string[];
  findingIds: string[];
  error?: string;
  sentAt?: string;
  /**
   * The messages to post, in order, written before the first one is posted; `posted[i]` is the ts
   * of `parts[i]`. Dropped when the digest is marked sent (the ts and severities remain).
   */
  parts?: DigestPart[];
  /** Severity each finding was announced at: a later digest repeats a finding only if it got worse. */
  severities?: Record<string, Severity>;
  /** Suppressions whose expiry this digest announces (announced once). */
  expiries?: string[];
  /**
   * The part each finding is shown in (`posted[part]` is its message once posted; kept when the
   * parts are dropped): an acknowledgement in one message updates every other post of the finding.
   */
  findingParts?: Record<string, number>;
}

/** One IAM call of a containment, exactly as it is (or would be) sent. */
export interface ContainmentCall {
  /** `iam:UpdateAccessKey`, ... */
  api: string;
  input: Record<string, string>;
}

export type ContainmentState = "awaiting-approval" | "executing" | "executed" | "failed" | "dry-run" | "expired" | "undone";

export interface ContainmentStep {
  at: string;
  /** Slack user id, or the CLI's operator name. */
  by: string;
  step: "proposed" | "approved" | "executed" | "failed" | "dry-run" | "expired" | "undo-proposed" | "undo-approved" | "undo-expired" | "undo-executed" | "undo-failed";
  api?: string;
  /** The AWS request id of the call (executed or failed). */
  requestId?: string;
  error?: string;
}

/** A containment of a finding (src/respond): what was planned, who approved it, what AWS answered. */
export interface ContainmentRecord {
  id: string;
  findingId: string;
  /** deactivate-key | revoke-sessions | quarantine | delete-login-profile | detach-policy */
  action: string;
  account: string;
  /** The ARN acted on. */
  resource: string;
  /** "key AKIA...WXYZ deactivated" */
  summary: string;
  calls: ContainmentCall[];
  /** What the calls break, for the person approving. */
  breaks: string;
  /** The calls that undo it; absent: cannot be undone. */
  undo?: ContainmentCall[];
  dryRun: boolean;
  state: ContainmentState;
  proposedBy: string;
  proposedAt: string;
  /** Two-person rule: a second responder must approve before this time. */
  approvalDeadline?: string;
  approvedBy?: string;
  executedAt?: string;
  undone?: { by: string; at: string };
  /** Two-person rule: an undo asked for, waiting for another responder's approval until `deadline`. */
  undoRequest?: { by: string; at: string; deadline: string };
  steps: ContainmentStep[];
  /** Where it is shown in Slack (the finding's message and thread). */
  slack?: { team?: string; channel: string; ts: string };
}

export interface StoreData {
  schemaVersion: number;
  baselines: Record<string, Profile>;
  findings: Record<string, StoredFinding>;
  suppressions: Suppression[];
  audit: AuditEntry[];
  cursors: Record<string, Cursor>;
  scans: ScanRecord[];
  digests: DigestRecord[];
  /** Last run time per digest schedule name. */
  digestRuns: Record<string, string>;
  /** Containments by id (absent until the first one: stores without them stay byte-identical). */
  containments?: Record<string, ContainmentRecord>;
  /**
   * Slack requests accepted recently (HTTP receiver replay guard): hash of what was signed ->
   * forget after (epoch ms). Absent when empty, so that stores of CLI-only use are unchanged.
   */
  replay?: Record<string, number>;
}

export function emptyStoreData(): StoreData {
  return {
    schemaVersion: STORE_SCHEMA_VERSION,
    baselines: {},
    findings: {},
    suppressions: [],
    audit: [],
    cursors: {},
    scans: [],
    digests: [],
    digestRuns: {},
  };
}
