/**
 * Store schema migrations. Each migration takes the parsed JSON of version `from` and returns the
 * JSON of version `from + 1`; `migrate` chains them up to STORE_SCHEMA_VERSION. They run on
 * plain JSON (not typed data) because old files do not match today's types.
 *
 * Before a migrated store is written, the original file is copied to
 * `<dir>/backups/trailhound.<timestamp>.v<from>.json` (see store.ts).
 *
 * To change the schema: bump STORE_SCHEMA_VERSION in types.ts, add a migration here with a
 * hand-written fixture of the old version in test/store/migrations.test.ts.
 */
import { STORE_SCHEMA_VERSION } from "./types.js";

type Json = Record<string, unknown>;

export interface Migration {
  from: number;
  description: string;
  up(data: Json): Json;
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function obj(v: unknown): Json {
  return isObject(v) ? v : {};
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/**
 * v0 is the unversioned prototype layout: no `schemaVersion`; acknowledgements kept apart from
 * findings in `acks: { [findingId]: { by, at } }`; stored findings without `status`,
 * `severityHistory` or `history`; no scans, digests or digest runs.
 */
const v0to1: Migration = {
  from: 0,
  description: "add schemaVersion, fold `acks` into findings (status, history), add scans/digests/digestRuns",
  up(d) {
    const findings: Json = {};
    const audit = arr(d.audit).slice();
    const acks = obj(d.acks);
    for (const [id, raw] of Object.entries(obj(d.findings))) {
      const f = obj(raw);
      const finding = obj(f.finding);
      const severity = f.severity ?? finding.severity ?? "info";
      const lastSeen = f.lastSeen ?? finding.lastSeen ?? "";
      const out: Json = {
        ...f,
        id,
        status: typeof f.status === "string" ? f.status : "open",
        firstSeen: f.firstSeen ?? finding.firstSeen ?? lastSeen,
        lastSeen,
        seenInScans: typeof f.seenInScans === "number" ? f.seenInScans : typeof f.count === "number" ? f.count : 1,
        severity,
        severityHistory: Array.isArray(f.severityHistory) ? f.severityHistory : [{ at: f.firstSeen ?? lastSeen, severity }],
        history: Array.isArray(f.history) ? f.history : [],
        finding,
      };
      delete out.count;
      const ack = acks[id];
      if (isObject(ack) && typeof ack.by === "string" && typeof ack.at === "string") {
        out.status = "acknowledged";
        out.acknowledged = { by: ack.by, at: ack.at, severity };
        (out.history as unknown[]).push({ at: ack.at, by: ack.by, action: "ack", severity, detail: "migrated from v0" });
      }
      findings[id] = out;
    }
    // An acknowledgement whose finding is no longer stored is still a decision: keep it in the audit log.
    for (const [id, ack] of Object.entries(acks)) {
      if (findings[id] || !isObject(ack)) continue;
      audit.push({
        at: typeof ack.at === "string" ? ack.at : "",
        actor: typeof ack.by === "string" ? ack.by : "unknown",
        action: "ack",
        target: id,
        detail: "migrated from v0 (finding no longer stored)",
      });
    }
    const { acks: _acks, ...rest } = d;
    return {
      ...rest,
      schemaVersion: 1,
      baselines: obj(d.baselines),
      findings,
      suppressions: arr(d.suppressions),
      audit,
      cursors: obj(d.cursors),
      scans: arr(d.scans),
      digests: arr(d.digests),
      digestRuns: obj(d.digestRuns),
    };
  },
};

export const MIGRATIONS: readonly Migration[] = [v0to1];

/** The schema version of a parsed store file: a missing `schemaVersion` is version 0. NaN when unusable. */
export function detectVersion(raw: Json): number {
  const v = raw.schemaVersion;
  if (v === undefined) return 0;
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : NaN;
}

export interface MigrationResult {
  data: Json;
  from: number;
  to: number;
  applied: string[];
}

/** Bring parsed JSON of version `from` (< target) up to `target`. Throws when a step is missing. */
export function migrate(raw: Json, target = STORE_SCHEMA_VERSION): MigrationResult {
  const from = detectVersion(raw);
  let data = raw;
  const applied: string[] = [];
  for (let v = from; v < target; v++) {
    const m = MIGRATIONS.find((x) => x.from === v);
    if (!m) throw new Error(`no migration from schema version ${v}`);
    data = m.up(data);
    data.schemaVersion = v + 1;
    applied.push(`v${v} -> v${v + 1}: ${m.description}`);
  }
  return { data, from, to: target, applied };
}
