/**
 * What the Slack bot needs from the rest of trailhound, as small interfaces (ports). The real
 * implementations are wired in src/main.ts; tests pass in-memory twins.
 */
import type { Report } from "../scan/report-types.js";
import type { TrailStore } from "../store/store.js";

// ---------------------------------------------------------------- scan

export type ScanTargetKind = "user" | "ip" | "role" | "account";

export interface ScanTarget {
  kind: ScanTargetKind;
  /** User name, IP, role ARN (or name), account id; absent for "the whole account". */
  value?: string;
}

export interface ScanRequest {
  target: ScanTarget;
  /** "24h", "7d", or an ISO time. */
  since?: string;
  until?: string;
  /** Slack user id of whoever asked. */
  requestedBy: string;
}

export interface ScanProgress {
  message: string;
  /** 0..1 when known. */
  fraction?: number;
}

/**
 * Runs one scan. Contract: before resolving, the service has persisted what the scan produced
 * (baselines, findings, the scan record) in the store, so that a button carrying a finding id can
 * look the finding up. It rejects when `signal` aborts.
 */
export interface ScanService {
  scan(req: ScanRequest, onProgress: (p: ScanProgress) => void, signal?: AbortSignal): Promise<Report>;
}

// ---------------------------------------------------------------- store

/**
 * The store methods the bot uses: a narrow view of TrailStore (src/store/store.ts), which
 * satisfies it as is (tests use `TrailStore.memory()`). Notes on its contract that the bot relies
 * on: acknowledge / suppress / unsuppress write their own audit entries (the bot audits only
 * refusals, scans and foreign-workspace requests); unknown ids throw StoreError "not-found".
 */
export type BotStore = Pick<
  TrailStore,
  | "getFinding"
  | "listFindings"
  | "acknowledge"
  | "suppress"
  | "unsuppress"
  | "getSuppression"
  | "activeSuppressions"
  | "matchSuppression"
  | "audit"
  | "auditLog"
  | "replayKeys"
  | "rememberRequests"
  | "getBaseline"
  | "getBaselineFacts"
  | "stats"
  | "scans"
  | "digestRuns"
  | "pendingDigests"
  | "digests"
  // Containment (src/respond).
  | "getContainment"
  | "containmentsFor"
  | "putContainment"
>;

// ---------------------------------------------------------------- digest

/** What the Home tab shows about the digest schedule (provided by the digest scheduler). */
export interface DigestSchedule {
  /** Next run, or null when unknown (not scheduled yet). */
  nextRun(): Date | null;
  /** Undefined when nothing is scheduled (the scheduler's getters say so). */
  channel?: string | undefined;
  /** The cron expression and time zone, shown when the next run is unknown. */
  cron?: string | undefined;
  tz?: string | undefined;
  /** Each schedule's runs since start (`/cloudtrail status`). */
  figures?(): ScheduleFigures[];
}

/** A run's figures, for `/cloudtrail status` and the log. */
export interface RunFigures {
  trigger: "scheduled" | "catch-up" | "manual" | "push";
  startedAt: number;
  /** Start to end, posting included. */
  ms: number;
  status: "posted" | "quiet" | "silent" | "skipped" | "scan-failed";
  /** Account+region pairs and files read, when the source says. */
  accountRegions?: number;
  files?: number;
}

/** One schedule's runs since start. */
export interface ScheduleFigures {
  name: string;
  kind: "digest" | "alert";
  channel: string;
  last?: RunFigures;
  /** A run (not a push) queued or going now, since when. */
  running?: { trigger: RunFigures["trigger"]; since: number };
  /** Scheduled ticks skipped because the schedule's previous run was still queued or going. */
  skippedTicks: number;
  lastSkippedAt?: number;
  /** Runs that went past their schedule's next tick. */
  slowRuns: number;
  /** Alert schedule: from the landing of a finding's file in the source to its post (ms), newest last (at most 200). */
  landingToPost: number[];
}
