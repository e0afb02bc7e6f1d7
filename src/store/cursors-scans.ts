/**
 * Cursors (how far each source has read) and scan records, and `commitScan`: a scan's
 * baselines, findings, record and cursors applied by one function, so that they are saved by
 * one write (a cursor never moves past events whose results are not saved).
 */
import type { Profile } from "../baseline/profile.js";
import type { Finding } from "../scan/report-types.js";
import { baselineTable, prepBaselines } from "./baselines.js";
import { BaselineEncoder } from "./encode-off-thread.js";
import { StoreError } from "./errors.js";
import { prepFindings, type RecordResult } from "./findings.js";
import type { Cursor, ScanRecord, StoreData } from "./types.js";
import { jsonClone, requireText, type When } from "./values.js";

/** Scan records kept. */
export const SCANS_KEPT = 50;

/** Structurally the cursor port of the sources: `store.cursors()` satisfies it. */
export interface CursorStore {
  get(key: string): Cursor | undefined;
  set(key: string, c: Cursor): void | Promise<void>;
}

export function getCursor(data: StoreData, key: string): Cursor | undefined {
  return Object.hasOwn(data.cursors, key) ? data.cursors[key] : undefined;
}

/** Validate (a key, newestTime and newestIds) and copy now; the returned function sets them. */
export function prepCursors(cursors: Readonly<Record<string, Cursor>>): (data: StoreData) => void {
  const clean: Array<[string, Cursor]> = Object.entries(cursors).map(([key, cursor]) => {
    requireText(key, "Cursor key");
    const c = jsonClone(cursor, `Cursor ${key}`);
    if (typeof c.newestTime !== "number" || !Array.isArray(c.newestIds)) throw new StoreError("invalid", `Cursor ${key} needs newestTime and newestIds`);
    return [key, c];
  });
  return (data) => {
    for (const [k, c] of clean) data.cursors[k] = c;
  };
}

/** Copy now; the returned function appends the record, keeping the last SCANS_KEPT. */
export function prepScan(scan: ScanRecord): (data: StoreData) => void {
  const s = jsonClone(scan, "Scan record");
  return (data) => {
    data.scans.push(s);
    if (data.scans.length > SCANS_KEPT) data.scans.splice(0, data.scans.length - SCANS_KEPT);
  };
}

/** The newest `limit` scan records, oldest first. */
export function recentScans(data: StoreData, limit = SCANS_KEPT): ScanRecord[] {
  return data.scans.slice(-limit);
}

export interface ScanCommit {
  profiles: readonly Profile[];
  /** Where the profiles were given as the scan made them (ScanOptions.onProfile): their encoding is mostly done. */
  encoder?: BaselineEncoder;
  findings: readonly Finding[];
  scan: ScanRecord;
  cursors?: Readonly<Record<string, Cursor>>;
}

/** Validate all of a scan's results now; the returned function applies them together (baselines, findings, record, cursors). */
export function prepCommitScan(input: ScanCommit, now: When): (data: StoreData) => RecordResult[] {
  const steps = {
    baselines: prepBaselines(input.profiles),
    findings: prepFindings(input.findings, now),
    scan: prepScan(input.scan),
    cursors: prepCursors(input.cursors ?? {}),
  };
  return (data) => {
    steps.baselines(data);
    const results = steps.findings(data);
    steps.scan(data);
    steps.cursors(data);
    return results;
  };
}

/**
 * prepCommitScan with the baselines' deflating shared with a worker thread (encode-off-thread.ts):
 * everything is validated now (throws as prepCommitScan does, nothing started), and the promise
 * gives the change to apply once the baselines are encoded. Same result, same bytes.
 */
export function prepCommitScanAsync(input: ScanCommit, now: When): Promise<(data: StoreData) => RecordResult[]> {
  const steps = {
    findings: prepFindings(input.findings, now),
    scan: prepScan(input.scan),
    cursors: prepCursors(input.cursors ?? {}),
  };
  // Validates each profile as it packs it (throws before anything is kept).
  return (input.encoder ?? new BaselineEncoder()).finish(input.profiles).then((encoded) => (data: StoreData) => {
    const t = baselineTable(data);
    for (const [k, e] of encoded) t.set(k, e);
    const results = steps.findings(data);
    steps.scan(data);
    steps.cursors(data);
    return results;
  });
}
