/**
 * What a scan is made with and what it gives (Scanner's options and result), apart from the
 * Scanner so that the fold worker's side (fold-shard.ts) can name them without importing it.
 */
import type { BaselineConfig, Dim, Profile } from "../baseline/profile.js";
import type { DimSource } from "../baseline/merge.js";
import type { FindingStatusOf } from "../baseline/held.js";
import type { ScanFilters } from "../events/types.js";
import type { GeoResolver } from "../geo/types.js";
import type { Detector, DetectorConfig, FindingDraft, IdentityWindow } from "../detectors/types.js";
import type { SinceSpec } from "../ingest/window.js";
import type { Report } from "./report-types.js";
import type { ReportSlice } from "./report.js";

export interface ScanOptions {
  /** The time the report is generated (injected: the core reads no clock). */
  now: number;
  /** Start of the detection window; default: 24 hours before `until` or the newest event. */
  since?: SinceSpec;
  /** End of the detection window; default: the newest event. Later events are ignored. */
  until?: number;
  filters?: ScanFilters;
  baseline?: BaselineConfig;
  detectorConfig?: Partial<DetectorConfig>;
  detectors?: readonly Detector[];
  geo?: GeoResolver;
  /** The stored baseline of an identity, if any. */
  storedProfile?: (key: string) => Profile | undefined;
  /**
   * The stored baseline's `trainedUntil` alone, when the store can tell without decoding the
   * profile (the scanner needs it when it first meets an identity, and the whole profile only at
   * the end). Falls back to `storedProfile`.
   */
  storedTrainedUntil?: (key: string) => number | undefined;
  /**
   * One dimension of the stored baseline and the fields reading it needs, when the store can read
   * it without decoding the whole profile (the regions each account knew, asked before the
   * identities are settled); a whole Profile when it cannot. Falls back to `storedProfile`.
   */
  storedDim?: (key: string, dim: Dim) => DimSource | Profile | undefined;
  /**
   * Each persisted profile as soon as it is made (an identity settled), before the scan ends: a
   * store encodes it meanwhile (store/encode-off-thread.ts BaselineEncoder). Called again for a
   * profile the scan changes afterwards (values held back for a finding); no other change is
   * made to a profile once given. Not called for a scan finished in the fold worker.
   */
  onProfile?: (p: Profile) => void;
  version?: string;
  /**
   * Records that are certainly before the window only train baselines; by default they take a
   * lean path that builds no TrailEvent. Off: every record goes through the full path (tests
   * compare both).
   */
  fastPath?: boolean;
  /** Records before the window held back per batch (default 131,072; tests lower it to force many flushes). */
  deferBatch?: number;
  /**
   * A stored finding's status (open, acknowledged, suppressed, resolved), when the store knows it:
   * values held back from baselines for a finding are folded in once it is acknowledged or
   * suppressed. Without it every held finding counts as open.
   */
  findingStatus?: FindingStatusOf;
  /** Event ids listed per finding (default 20; `count` always has the total). The evaluation lifts it. */
  maxFindingEventIds?: number;
  /**
   * Return the updated baselines (ScanResult.profiles; default true). Off, for a scan that saves
   * nothing: each identity's baseline is dropped once the identity is judged, `profiles` is empty.
   */
  keepProfiles?: boolean;
  /**
   * Threads to fold and finish with (default 1). With 2 or more, and options that can be copied to
   * a thread (scan/fold-shard.ts `foldable`: no store, no caller's detectors, locations only
   * from the default resolver), the records' folding and the finish run in a worker thread: call
   * `finishAsync`. Same report and baselines. Without kept profiles (`keepProfiles: false`) the
   * identities are shared between this thread and the worker, and so is the finish.
   */
  foldThreads?: number;
  // A new data option must be passed on to the fold worker too (dataOptions in fold-shard.ts).
  /**
   * The environment the default geo resolver was made from (defaultGeoResolver), when `geo` is it:
   * the fold worker makes its own, and a file scan's read workers make their own to locate the
   * addresses they meet (Ingest.located).
   */
  foldGeoEnv?: Record<string, string>;
  /** Rows of folds per message to the fold worker (default 8,192; tests lower it). */
  foldBatch?: number;
  /** How long the main thread waits for the fold worker to fold a batch before it stops waiting (ms; default 30,000; tests lower it). */
  foldStallMs?: number;
}

export interface ScanResult {
  report: Report;
  /** Updated baselines to persist (every identity seen; none with `keepProfiles: false`). */
  profiles: Profile[];
}

/**
 * What settling one identity adds to the scan's result (Scanner.finish), in the order of
 * `ing.identities` (`at`): plain data, so that a finish in two threads (scan/fold-shard.ts) can
 * settle identities in each and add their outcomes in the one-thread order.
 */
export interface IdentityOutcome {
  at: number;
  key: string;
  baselineEvents: number;
  candidatesDropped: number;
  geoDropped: number;
  /** With events in the window: its baseline is still learning. */
  learning?: boolean;
  /** Its findings: [the detector's index in the scan's detectors, the draft, the principal]. */
  drafts?: Array<[number, FindingDraft, IdentityWindow["principal"]]>;
  /** With events in the window: its part of the report. */
  report?: ReportSlice;
  /** What the global detectors read of its window, if anything. */
  global?: IdentityWindow;
}
